/**
 * What one MoEngage request came to: a `DeliveryOutcome` (delivered, permanent, auth,
 * rate_limited or transient), and the DLQ reason of a failed one. Types only, plus that mapping.
 */
import type { FailureDetail, FailureReason } from '../dlq';
import type { RateLimitInfo } from './rate-limit-headers';

export interface OutcomeBase {
  /** Milliseconds from sending the request to having read the answer (injected clock). */
  latencyMs: number;
  /** MoEngage's rate-limit headers, when the answer had any. */
  rateLimit?: RateLimitInfo;
}

export type PermanentReason = 'moengage_rejected' | 'payload_too_large' | 'unsupported_media_type';
export type AuthReason = 'auth_failed' | 'account_blocked';
export type TransientReason = 'server_error' | 'timeout' | 'network' | 'unexpected_response';

export interface DeliveredOutcome extends OutcomeBase {
  kind: 'delivered';
  status: number;
  requestId?: string;
  /**
   * False when MoEngage answered 2xx without a JSON `"status":"success"` body (empty or not JSON).
   * MoEngage documents a 200 as "accepted for processing", so such an answer still counts as
   * delivered (re-sending would only duplicate the update); the sender's `delivered` log line
   * carries it.
   */
  confirmed: boolean;
}

export interface PermanentOutcome extends OutcomeBase {
  kind: 'permanent';
  /** The HTTP status (200 when a 200 body said `"status":"fail"`). */
  status: number;
  reason: PermanentReason;
  detail: FailureDetail;
}

export interface AuthOutcome extends OutcomeBase {
  kind: 'auth';
  /** 401 / 403 / 409 (200 when a 200 body named an auth error; absent when no request was made). */
  status?: number;
  reason: AuthReason;
  detail: FailureDetail;
}

export interface RateLimitedOutcome extends OutcomeBase {
  kind: 'rate_limited';
  /** 429 (200 when a 200 body said "Rate Limits Exceeded"). */
  status: number;
  /** From Retry-After, else from x-ratelimit-reset. */
  retryAfterMs?: number;
  detail: FailureDetail;
}

export interface TransientOutcome extends OutcomeBase {
  kind: 'transient';
  /** Absent when there was no HTTP answer (timeout, DNS, reset). */
  status?: number;
  reason: TransientReason;
  /** A Retry-After sent with a 5xx (e.g. 503), honoured as a minimum wait. */
  retryAfterMs?: number;
  detail: FailureDetail;
}

export type DeliveryOutcome = DeliveredOutcome | PermanentOutcome | AuthOutcome | RateLimitedOutcome | TransientOutcome;
export type FailedOutcome = Exclude<DeliveryOutcome, DeliveredOutcome>;

/**
 * The DLQ `failure_reason` of a failed outcome when it is parked: permanent and auth outcomes
 * carry theirs; a 429 parks as `rate_limited`; 5xx / timeouts / resets as `retries_exhausted`.
 */
export function failureReasonFor(outcome: FailedOutcome): FailureReason {
  switch (outcome.kind) {
    case 'permanent':
    case 'auth':
      return outcome.reason;
    case 'rate_limited':
      return 'rate_limited';
    case 'transient':
      return 'retries_exhausted';
  }
}
