/**
 * Clerk (delivered by Svix).
 *
 * Signature: headers `svix-id`, `svix-timestamp` (epoch seconds) and `svix-signature`
 * (space-separated `v1,<base64>`), or their unbranded twins `webhook-id`, `webhook-timestamp`,
 * `webhook-signature`. HMAC-SHA256 over `${id}.${timestamp}.${rawBody}`, keyed with the
 * base64-decoded part of the `whsec_…` secret. Timestamp within ±300 s by default
 * (`toleranceSeconds` overrides). Several signatures in the header and several configured
 * secrets are accepted, so that secret rotation never drops an event.
 *
 * Event id: the `svix-id` header, Svix's message id, which stays the same on retries (the
 * FIFO deduplication key). Acted on: `user.created`, `user.updated`, and with `deleteUsers`
 * `user.deleted` (one MoEngage Delete User call for `data.id`, or for the body path named by
 * `customerIdField`; a deletion carries only the id, so `customerIdField: email | phone` cannot
 * name the user and the deletion is ignored with that reason). Everything else (`user.deleted`
 * without `deleteUsers`, `session.*`, `email.created`, organisation events...) is ignored.
 *
 * Version (core/version.ts): `data.updated_at` (epoch ms, Clerk's write time of the user), for
 * `user.deleted` (whose data has no updated_at) the event's `timestamp`; tie-break: the svix-id.
 *
 * Default mapping (documented in the README):
 * - customer_id: `data.id`
 * - `u_em`: the address of `data.email_addresses[]` whose id is `data.primary_email_address_id`
 *   (no primary → no `u_em`; never another of the user's addresses)
 * - `u_mb`: likewise through `data.primary_phone_number_id` and `data.phone_numbers[]`
 * - `u_fn` / `u_ln`: `first_name` / `last_name`; `u_n`: both joined by a space (whichever is present)
 * - `u_gd`: `gender`, `u_bd`: `birthday` (when Clerk has them)
 * - custom attributes: every `public_metadata` key as its own attribute (nested objects are
 *   flattened by the payload builder's rule); `unsafe_metadata` under the `unsafe_metadata`
 *   prefix, because the user can write it from the browser and must not be able to overwrite
 *   the application's attributes; `username`, `image_url`, and `clerk_created_at`,
 *   `clerk_updated_at`, `clerk_last_sign_in_at` as ISO 8601 dates. Clerk's own fields win
 *   over a `public_metadata` key of the same name, and metadata never sets a standard `u_*` key.
 * - `private_metadata` is never read: it is private to the application's backend.
 */
import { epochMs, finishDeletion, finishMapping, metadataAttributes, getPath, setOwn, header, isRecord, parseJsonBody, str, toIso, versionOf } from './common';
import { verifySvixStyle } from './crypto';
import type { Mapped, Parsed, ParsedEvent, SourceContext, Verification, WebhookRequest, WebhookSource } from './types';

const CLERK_DEFAULT_TOLERANCE_SECONDS = 300;

/** The Clerk event types that become MoEngage user updates. */
export const CLERK_EVENTS: readonly string[] = ['user.created', 'user.updated'];

/** The Clerk deletion event (a MoEngage Delete User call with `deleteUsers`). */
const CLERK_DELETE_EVENT = 'user.deleted';

/** The Svix headers, branded (`svix-*`, what Clerk sends) first, unbranded (`webhook-*`) second. */
function svixHeaders(req: WebhookRequest): { id?: string; timestamp?: string; signature?: string } {
  return {
    id: header(req, 'svix-id') ?? header(req, 'webhook-id'),
    timestamp: header(req, 'svix-timestamp') ?? header(req, 'webhook-timestamp'),
    signature: header(req, 'svix-signature') ?? header(req, 'webhook-signature'),
  };
}

/** The `field` of the entry of `list` whose `id` is `primaryId`; undefined when there is no such entry. */
function primaryEntryField(list: unknown, primaryId: unknown, field: string): unknown {
  if (typeof primaryId !== 'string' || primaryId === '' || !Array.isArray(list)) return undefined;
  for (const entry of list) {
    if (isRecord(entry) && entry.id === primaryId) return getPath(entry, field);
  }
  return undefined;
}



function fullName(first: string | undefined, last: string | undefined): string | undefined {
  const a = first?.trim();
  const b = last?.trim();
  if (a && b) return `${a} ${b}`;
  return a || b || undefined;
}

function verify(req: WebhookRequest, secrets: readonly string[], ctx: SourceContext): Verification {
  const h = svixHeaders(req);
  return verifySvixStyle({
    id: h.id,
    timestamp: h.timestamp,
    signatureHeader: h.signature,
    rawBody: req.rawBody,
    secrets,
    now: ctx.now,
    toleranceSeconds: ctx.options.toleranceSeconds ?? CLERK_DEFAULT_TOLERANCE_SECONDS,
  });
}

function parse(req: WebhookRequest): Parsed {
  const json = parseJsonBody(req.rawBody);
  if (!json.ok) return json;
  const body = json.value;
  if (!isRecord(body)) return { ok: false, message: 'body is not a Clerk event (not a JSON object)' };
  if (typeof body.type !== 'string' || body.type === '') return { ok: false, message: 'body is not a Clerk event (no "type")' };
  if (!isRecord(body.data)) return { ok: false, message: 'body is not a Clerk event (no "data" object)' };
  const id = svixHeaders(req).id;
  if (!id) return { ok: false, message: 'missing svix-id header' };
  const event: ParsedEvent = { id, type: body.type, body };
  const occurredAtMs = epochMs(body.timestamp);
  if (occurredAtMs !== undefined) event.occurredAtMs = occurredAtMs;
  // A user's updated_at (ms) only grows: it orders that user's events. A deletion has none:
  // the event's timestamp (ms) is when Clerk deleted the user.
  if (body.type.startsWith('user.')) {
    const version = versionOf(body.type === CLERK_DELETE_EVENT ? body.timestamp : body.data.updated_at, id);
    if (version) event.version = version;
  }
  return { ok: true, event };
}

function map(event: ParsedEvent, ctx: SourceContext): Mapped {
  if (event.type === CLERK_DELETE_EVENT && ctx.options.deleteUsers) {
    const data = getPath(event.body, 'data');
    return finishDeletion(ctx, { customerId: isRecord(data) ? data.id : undefined, body: event.body, eventType: event.type });
  }
  if (!CLERK_EVENTS.includes(event.type)) {
    const hint = event.type === CLERK_DELETE_EVENT ? ` (set deleteUsers to delete the user in MoEngage)` : '';
    return { kind: 'ignored', reason: `Clerk event type ${event.type} is not acted on (only ${CLERK_EVENTS.join(', ')})${hint}` };
  }
  const user = getPath(event.body, 'data');
  if (!isRecord(user)) return { kind: 'rejected', field: 'data', message: 'the Clerk event has no user object in "data"' };

  const firstName = str(user.first_name);
  const lastName = str(user.last_name);
  // Clerk's own fields first: on a name clash (also after flattening) the first one wins.
  const custom: Record<string, unknown> = {};
  const username = str(user.username);
  if (username !== undefined) custom.username = username;
  const imageUrl = str(user.image_url);
  if (imageUrl !== undefined) custom.image_url = imageUrl;
  for (const [from, to] of [
    ['created_at', 'clerk_created_at'],
    ['updated_at', 'clerk_updated_at'],
    ['last_sign_in_at', 'clerk_last_sign_in_at'],
  ] as const) {
    const iso = toIso(user[from]);
    if (iso !== undefined) custom[to] = iso;
  }
  for (const [key, value] of Object.entries(metadataAttributes(user.public_metadata))) {
    if (!Object.prototype.hasOwnProperty.call(custom, key)) setOwn(custom, key, value);
  }
  const unsafe = metadataAttributes(user.unsafe_metadata);
  if (Object.keys(unsafe).length > 0 && !Object.prototype.hasOwnProperty.call(custom, 'unsafe_metadata')) {
    custom.unsafe_metadata = unsafe;
  }

  const isCreate = event.type === 'user.created';
  return finishMapping(
    {
      standard: {
        u_em: str(primaryEntryField(user.email_addresses, user.primary_email_address_id, 'email_address')),
        u_mb: str(primaryEntryField(user.phone_numbers, user.primary_phone_number_id, 'phone_number')),
        u_fn: firstName,
        u_ln: lastName,
        u_n: fullName(firstName, lastName),
        u_gd: str(user.gender),
        u_bd: str(user.birthday),
      },
      custom,
      isCreate,
    },
    ctx,
    { customerId: user.id, body: event.body, isCreate },
  );
}

export const clerkSource: WebhookSource = {
  name: 'clerk',
  defaultToleranceSeconds: CLERK_DEFAULT_TOLERANCE_SECONDS,
  verify,
  parse,
  map,
};
