/**
 * Classifies every answer of the MoEngage User API (../shared/seeds/moengage-user-api.txt),
 * and every failure to get one (timeout, DNS, reset), into a `DeliveryOutcome`. Pure: never
 * throws, never logs; detail strings are cleaned and bounded.
 */
import type { FailureDetail } from '../dlq';
import type { DeliveryOutcome, OutcomeBase, RateLimitedOutcome, TransientOutcome } from './delivery-outcome';
import { parseRateLimitHeaders, parseRetryAfter, type HeadersLike } from './rate-limit-headers';

/** The longest string kept in a FailureDetail field. */
export const MAX_DETAIL_CHARS = 512;

function clip(value: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').trim();
  if (clean.length <= MAX_DETAIL_CHARS) return clean;
  let cut = clean.slice(0, MAX_DETAIL_CHARS - 3);
  // Do not leave half of a surrogate pair behind.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}...`;
}

function stringField(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : clip(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

interface ParsedBody {
  /** The body parsed as a JSON object, if it was one. */
  json?: Record<string, unknown>;
  /** `status` of the body, lower-cased. */
  status?: string;
  detail: FailureDetail;
}

function parseBody(bodyText: string, headers: HeadersLike): ParsedBody {
  let json: Record<string, unknown> | undefined;
  const trimmed = bodyText.trim();
  if (trimmed.startsWith('{')) {
    try {
      const value: unknown = JSON.parse(trimmed);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) json = value as Record<string, unknown>;
    } catch {
      json = undefined;
    }
  }
  const detail: FailureDetail = {};
  let status: string | undefined;
  if (json) {
    if (typeof json.status === 'string') status = json.status.trim().toLowerCase();
    const error = json.error;
    if (typeof error === 'object' && error !== null && !Array.isArray(error)) {
      const e = error as Record<string, unknown>;
      const type = stringField(e.type);
      const message = stringField(e.message);
      const requestId = stringField(e.request_id);
      const attribute = stringField(e.attribute);
      if (type !== undefined) detail.type = type;
      if (message !== undefined) detail.message = message;
      if (requestId !== undefined) detail.request_id = requestId;
      if (attribute !== undefined) detail.attribute = attribute;
    } else {
      const message = stringField(error) ?? stringField(json.message);
      if (message !== undefined) detail.message = message;
    }
    if (detail.request_id === undefined) {
      const requestId = stringField(json.request_id);
      if (requestId !== undefined) detail.request_id = requestId;
    }
  } else if (trimmed !== '') {
    // Not JSON (a proxy's HTML page, plain text): a short, whitespace-collapsed excerpt.
    detail.message = clip(trimmed.replace(/\s+/g, ' '));
  }
  if (detail.request_id === undefined) {
    const header = headers.get('x-request-id');
    if (header) detail.request_id = clip(header);
  }
  return { ...(json ? { json } : {}), ...(status !== undefined ? { status } : {}), detail };
}

function withDefaultMessage(detail: FailureDetail, message: string): FailureDetail {
  return detail.message === undefined && detail.type === undefined ? { ...detail, message } : detail;
}

const BLOCKED_TYPES = /blocked|suspended/i;
const AUTH_TYPES = /authenticat|unauthori[sz]ed|secret key/i;
const RATE_LIMIT_TYPES = /rate ?limit/i;
const SERVER_ERROR_TYPES = /server error|internal error/i;
const TOO_LARGE_TYPES = /payload too large|too large/i;
const MEDIA_TYPES = /unsupported media type/i;

/**
 * Classifies one HTTP answer of MoEngage.
 *
 * - 2xx: a JSON body with `"status":"fail"` is classified by its `error.type` ("Rate Limits
 *   Exceeded" -> rate_limited; "Authentication required" -> auth; "BlockedClient", "Account
 *   Suspended", "Account Temporarily Suspended" -> auth/account_blocked; "Server Error" ->
 *   transient; "Payload too large" / "Unsupported media type" -> their permanent reasons; any
 *   other type -> permanent moengage_rejected). Any other 2xx is delivered: `confirmed` tells
 *   whether the body said `"status":"success"` (MoEngage documents 200 as "accepted").
 * - 400 -> permanent moengage_rejected; 413 -> payload_too_large; 415 -> unsupported_media_type.
 * - 401 / 403 / 409 -> auth. 403 means account_blocked (the document's "Account Blocked") unless the
 *   body names an authentication error; 401 / 409 mean auth_failed unless the body names a
 *   blocked / suspended account.
 * - 429 -> rate_limited; retryAfterMs from Retry-After (seconds or HTTP date), else x-ratelimit-reset.
 * - 408 -> transient timeout (the request, not the payload, was the problem).
 * - 5xx -> transient server_error; other 4xx -> permanent moengage_rejected; 1xx / 3xx / nonsense
 *   -> transient unexpected_response.
 *
 * Never throws; detail strings are at most MAX_DETAIL_CHARS characters.
 */
export function classifyResponse(
  status: number,
  headers: HeadersLike,
  bodyText: string,
  latencyMs: number,
  nowMs: number = Date.now(),
): DeliveryOutcome {
  const latency = Number.isFinite(latencyMs) ? Math.max(0, Math.round(latencyMs)) : 0;
  const body = parseBody(typeof bodyText === 'string' ? bodyText : '', headers);
  const rateLimit = parseRateLimitHeaders(headers, nowMs);
  const base: OutcomeBase = { latencyMs: latency, ...(rateLimit ? { rateLimit } : {}) };
  const retryAfterHeader = parseRetryAfter(headers.get('retry-after'), nowMs);
  const detail = body.detail;
  const type = detail.type ?? '';

  const rateLimited = (): RateLimitedOutcome => {
    const retryAfterMs = retryAfterHeader ?? rateLimit?.resetMs;
    return {
      kind: 'rate_limited',
      status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      detail: withDefaultMessage(detail, 'rate limit exceeded'),
      ...base,
    };
  };

  // A Retry-After sent with a server error (e.g. 503) is honoured as a minimum wait.
  const serverError = (failed: FailureDetail): TransientOutcome => ({
    kind: 'transient',
    status,
    reason: 'server_error',
    ...(retryAfterHeader !== undefined ? { retryAfterMs: retryAfterHeader } : {}),
    detail: failed,
    ...base,
  });

  if (!Number.isInteger(status) || status < 100 || status > 599) {
    return {
      kind: 'transient',
      reason: 'unexpected_response',
      detail: withDefaultMessage(detail, `unexpected HTTP status ${String(status).slice(0, 16)}`),
      ...base,
    };
  }

  if (status >= 200 && status < 300) {
    if (body.status === 'fail' || body.status === 'failure' || body.status === 'error') {
      const failed = withDefaultMessage(detail, `HTTP ${status} with a failure body`);
      if (RATE_LIMIT_TYPES.test(type)) return rateLimited();
      if (BLOCKED_TYPES.test(type)) return { kind: 'auth', status, reason: 'account_blocked', detail: failed, ...base };
      if (AUTH_TYPES.test(type)) return { kind: 'auth', status, reason: 'auth_failed', detail: failed, ...base };
      if (SERVER_ERROR_TYPES.test(type)) return serverError(failed);
      if (TOO_LARGE_TYPES.test(type)) return { kind: 'permanent', status, reason: 'payload_too_large', detail: failed, ...base };
      if (MEDIA_TYPES.test(type)) return { kind: 'permanent', status, reason: 'unsupported_media_type', detail: failed, ...base };
      return { kind: 'permanent', status, reason: 'moengage_rejected', detail: failed, ...base };
    }
    return {
      kind: 'delivered',
      status,
      ...(detail.request_id !== undefined ? { requestId: detail.request_id } : {}),
      confirmed: body.status === 'success',
      ...base,
    };
  }

  const failed = withDefaultMessage(detail, body.json === undefined && detail.message === undefined ? `HTTP ${status} with no readable body` : `HTTP ${status}`);
  switch (status) {
    case 400:
      return { kind: 'permanent', status, reason: 'moengage_rejected', detail: failed, ...base };
    case 413:
      return { kind: 'permanent', status, reason: 'payload_too_large', detail: failed, ...base };
    case 415:
      return { kind: 'permanent', status, reason: 'unsupported_media_type', detail: failed, ...base };
    case 401:
    case 409:
      return { kind: 'auth', status, reason: BLOCKED_TYPES.test(type) ? 'account_blocked' : 'auth_failed', detail: failed, ...base };
    case 403:
      return { kind: 'auth', status, reason: AUTH_TYPES.test(type) && !BLOCKED_TYPES.test(type) ? 'auth_failed' : 'account_blocked', detail: failed, ...base };
    case 429:
      return rateLimited();
    case 408:
      return { kind: 'transient', status, reason: 'timeout', detail: failed, ...base };
  }
  if (status >= 500) return serverError(failed);
  if (status >= 400) return { kind: 'permanent', status, reason: 'moengage_rejected', detail: failed, ...base };
  return { kind: 'transient', status, reason: 'unexpected_response', detail: failed, ...base };
}

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

interface ErrorFacts {
  code?: string;
  name?: string;
  message?: string;
}

/** The most specific code / message in an error chain (fetch wraps the socket error in `cause`). */
function errorFacts(err: unknown): ErrorFacts {
  const facts: ErrorFacts = {};
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const e = current as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    if (typeof e.code === 'string' && e.code !== '') facts.code = e.code;
    if (facts.name === undefined && typeof e.name === 'string') facts.name = e.name;
    if (typeof e.message === 'string' && e.message !== '') facts.message = e.message;
    // AggregateError (e.g. every address of a host refused): look at the first one.
    const next = e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined);
    current = next;
  }
  if (typeof err === 'string') facts.message = err;
  return facts;
}

/**
 * A request that got no HTTP answer: `timedOut` (the client's own deadline) is a timeout; else
 * the error chain decides between timeout (socket / undici timeout codes, AbortError) and network.
 */
export function classifyTransportError(err: unknown, timedOut: boolean, timeoutMs: number, latencyMs: number): TransientOutcome {
  if (timedOut) {
    return {
      kind: 'transient',
      reason: 'timeout',
      detail: { type: 'Timeout', message: `no answer from MoEngage within ${timeoutMs} ms` },
      latencyMs,
    };
  }
  const facts = errorFacts(err);
  const isTimeout =
    (facts.code !== undefined && TIMEOUT_CODES.has(facts.code)) || facts.name === 'TimeoutError' || facts.name === 'AbortError';
  const detail: FailureDetail = { type: clip(facts.code ?? facts.name ?? 'NetworkError') };
  if (facts.message) detail.message = clip(facts.message);
  return { kind: 'transient', reason: isTimeout ? 'timeout' : 'network', detail, latencyMs };
}
