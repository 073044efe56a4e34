/**
 * MoEngage's published limits, written once: the per-workspace rate limits the sender paces
 * itself under by default, and the size caps of a request body. Everything else (the CDK
 * construct's defaults, the sender's pacing, the payload builder and validator, Bulk Import
 * packing) imports them from here.
 *
 * The rate limits are defaults: a workspace's own limits are configured (rateLimitPerMinute,
 * bulkRateLimitPerMinute; MOENGAGE_*_RATE_LIMIT_PER_MINUTE), and MoEngage's x-ratelimit headers
 * correct the pacing at run time (rate-limit.ts).
 *
 * Sources: MoEngage's Data API reference, https://www.moengage.com/docs/api/ (pages named
 * below), and the User API document in ../shared/seeds/moengage-user-api.txt.
 */

/** Track User (`POST /v1/customer`): user updates per minute for the workspace. */
export const TRACK_USER_LIMIT_PER_MINUTE = 10_000;

/**
 * Bulk Import (`POST /v1/transition`): users per minute. The current reference
 * (api/bulk/bulk-import-users-and-events) gives 60,000 users and 60,000 events a minute; an older
 * copy gives 10,000 and 30,000 (README, "Delivery modes").
 */
export const BULK_IMPORT_LIMIT_PER_MINUTE = 60_000;

/** Delete User (`POST /v1/customer/delete`): requests per minute, one user each (api/user/delete-users). */
export const DELETE_USER_LIMIT_PER_MINUTE = 5_000;

/** Create Event (`POST /v1/event`): events per minute, a budget apart from Track User's (api/event/track-event). */
export const CREATE_EVENT_LIMIT_PER_MINUTE = 30_000;

/**
 * Bulk Import: UTF-8 bytes of one request body. MoEngage says "a maximum of 100 KB in a single
 * API call"; the adapter reads it as 100,000 bytes, the smaller reading (contract.md).
 */
export const MAX_BULK_REQUEST_BYTES = 100_000;

/**
 * Track User: UTF-8 bytes of one JSON body. MoEngage answers 413 when "the payload size exceeds
 * 128 KB" (the User API document); the adapter reads it as 128,000 bytes, the smaller reading,
 * as for Bulk Import's 100 KB: what it sends fits either reading.
 */
export const MAX_PAYLOAD_BYTES = 128_000;
