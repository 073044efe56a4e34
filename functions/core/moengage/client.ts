/**
 * The MoEngage HTTP client (Track User, Bulk Import, Create Event and Delete User) and the classifier that turns every
 * answer of the MoEngage User API (../shared/seeds/moengage-user-api.txt) into a
 * `DeliveryOutcome`. Pure: fetch and the clock are injected; nothing here logs.
 *
 * Never throws for anything the network or MoEngage does: timeouts, DNS failures, resets and
 * unexpected answers all become outcomes. Failure details never carry the API key or the
 * Authorization header.
 */
import { ConfigError } from '../config';
import type { FailureDetail, FailureReason } from '../dlq';
import type { BulkElement, CustomerPayload, EventPayload } from './types';

// ---------------------------------------------------------------------------------------------
// Data centers and base URL
// ---------------------------------------------------------------------------------------------

export const DATA_CENTERS = ['01', '02', '03', '04', '05', '06', '101'] as const;
export type DataCenter = (typeof DATA_CENTERS)[number];

export function isDataCenter(value: string): value is DataCenter {
  return (DATA_CENTERS as readonly string[]).includes(value);
}

/** A value shown in a one-line error message: no control characters, bounded length. */
function shown(value: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 24 ? `${clean.slice(0, 24)}...` : clean;
}

/** `https://api-{DC}.moengage.com`. Strict: `1` is not `01` (the message suggests the fix). */
export function baseUrlForDc(dc: string): string {
  const value = dc.trim();
  if (isDataCenter(value)) return `https://api-${value}.moengage.com`;
  const hint = /^[1-6]$/.test(value) ? ` (did you mean "0${value}"?)` : '';
  throw new ConfigError(`MOENGAGE_DC must be one of ${DATA_CENTERS.join(', ')}; got "${shown(value)}"${hint}`);
}

/**
 * The base URL requests go to: `baseUrl` (MOENGAGE_BASE_URL: an http(s) URL without
 * credentials, query or fragment; trailing slashes trimmed) wins, else the data center's URL.
 */
export function resolveBaseUrl(input: { dc?: string | undefined; baseUrl?: string | undefined }): string {
  const raw = input.baseUrl?.trim();
  if (raw) {
    const example = 'an absolute http(s) URL such as http://127.0.0.1:4010';
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      // The value itself is not echoed: a malformed URL may well contain a password.
      throw new ConfigError(`MOENGAGE_BASE_URL must be ${example}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(`MOENGAGE_BASE_URL must be ${example} (got the scheme "${shown(url.protocol)}")`);
    }
    if (url.username || url.password) {
      throw new ConfigError('MOENGAGE_BASE_URL must not contain credentials: the API key is sent in the Authorization header');
    }
    if (url.search || url.hash) {
      throw new ConfigError('MOENGAGE_BASE_URL must not have a query string or a fragment');
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  }
  const dc = input.dc?.trim();
  if (dc) return baseUrlForDc(dc);
  throw new ConfigError(`set MOENGAGE_DC (one of ${DATA_CENTERS.join(', ')}) or MOENGAGE_BASE_URL`);
}

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

export interface MoEngageCredentials {
  workspaceId: string;
  apiKey: string;
}

export interface HeadersLike {
  get(name: string): string | null;
}

/** The part of `fetch` the client uses; the global fetch satisfies it. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{ status: number; headers: HeadersLike; text(): Promise<string> }>;

/** MoEngage's rate-limit headers, parsed. `resetMs`: milliseconds until the window resets. */
export interface RateLimitInfo {
  limit?: number;
  remaining?: number;
  resetMs?: number;
}

interface OutcomeBase {
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
   * delivered (re-sending would only duplicate the update); the sender should log it.
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

// ---------------------------------------------------------------------------------------------
// Header parsing
// ---------------------------------------------------------------------------------------------

/** The longest string kept in a FailureDetail field. */
export const MAX_DETAIL_CHARS = 512;

function leadingNumber(value: string | null): number | undefined {
  if (value === null) return undefined;
  // Values like "100", "100, 100;w=60" (IETF draft) or "1.5": the first number counts.
  const match = /^\s*(\d+(?:\.\d+)?)/.exec(value);
  if (!match?.[1]) return undefined;
  const n = Number(match[1]);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * x-ratelimit-reset is read as seconds until the reset, or as an epoch timestamp when it is
 * too big to be a delay: >= 1e12 is epoch milliseconds, >= 1e9 epoch seconds (any delay that
 * big would exceed 30 years). A reset in the past counts as 0.
 */
function resetToMs(value: number, nowMs: number): number {
  if (value >= 1e12) return Math.max(0, Math.round(value - nowMs));
  if (value >= 1e9) return Math.max(0, Math.round(value * 1000 - nowMs));
  return Math.round(value * 1000);
}

/** x-ratelimit-limit / -remaining / -reset (or the IETF `ratelimit-*` names); undefined when none. */
export function parseRateLimitHeaders(headers: HeadersLike, nowMs: number = Date.now()): RateLimitInfo | undefined {
  const read = (name: string) => leadingNumber(headers.get(`x-ratelimit-${name}`) ?? headers.get(`ratelimit-${name}`));
  const limit = read('limit');
  const remaining = read('remaining');
  const reset = read('reset');
  if (limit === undefined && remaining === undefined && reset === undefined) return undefined;
  const info: RateLimitInfo = {};
  if (limit !== undefined) info.limit = limit;
  if (remaining !== undefined) info.remaining = remaining;
  if (reset !== undefined) info.resetMs = resetToMs(reset, nowMs);
  return info;
}

/** Retry-After as delay-seconds (`120`, `1.5`) or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  // An HTTP date has letters (day / month names); plain garbage like "-5" must not parse.
  if (!/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

// ---------------------------------------------------------------------------------------------
// Response classification
// ---------------------------------------------------------------------------------------------

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
      if (SERVER_ERROR_TYPES.test(type)) {
        return {
          kind: 'transient',
          status,
          reason: 'server_error',
          ...(retryAfterHeader !== undefined ? { retryAfterMs: retryAfterHeader } : {}),
          detail: failed,
          ...base,
        };
      }
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
  if (status >= 500) {
    return {
      kind: 'transient',
      status,
      reason: 'server_error',
      ...(retryAfterHeader !== undefined ? { retryAfterMs: retryAfterHeader } : {}),
      detail: failed,
      ...base,
    };
  }
  if (status >= 400) return { kind: 'permanent', status, reason: 'moengage_rejected', detail: failed, ...base };
  return { kind: 'transient', status, reason: 'unexpected_response', detail: failed, ...base };
}

// ---------------------------------------------------------------------------------------------
// Transport failures
// ---------------------------------------------------------------------------------------------

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

function transportOutcome(err: unknown, timedOut: boolean, timeoutMs: number, latencyMs: number): TransientOutcome {
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

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

export interface MoEngageClientOptions {
  /** From resolveBaseUrl(). */
  baseUrl: string;
  fetch: FetchLike;
  /** Per request, covering the answer's body too. Default 10 s. */
  timeoutMs?: number;
  /** Wall clock in epoch milliseconds (latency, HTTP-date Retry-After). Default Date.now. */
  now?: () => number;
}

export interface RequestOptions {
  /** Overrides the client's timeout for this request (e.g. to fit the invocation's remaining time). */
  timeoutMs?: number;
}

/** The MoEngage endpoints the client calls: Track User, Bulk Import, Create Event, Delete User. */
export type MoEngageEndpoint = 'customer' | 'transition' | 'event' | 'delete';

/** Only IP-address lists are forwarded; anything else (CR/LF, names, junk) is dropped. */
const FORWARDED_FOR = /^[0-9A-Fa-f.:]+(\s*,\s*[0-9A-Fa-f.:]+)*$/;

class TimeoutSignal extends Error {
  override name = 'TimeoutSignal';
}

export class MoEngageClient {
  readonly baseUrl: string;
  private readonly fetchFn: FetchLike;
  /** The default timeout of one request, in ms. */
  readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(options: MoEngageClientOptions) {
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new ConfigError('the MoEngage request timeout must be a positive number of milliseconds');
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchFn = options.fetch;
    this.timeoutMs = timeoutMs;
    this.now = options.now ?? Date.now;
  }

  /** Track User: `POST {base}/v1/customer/{workspaceId}?app_id={workspaceId}`. */
  trackUser(
    creds: MoEngageCredentials,
    payload: CustomerPayload,
    opts: RequestOptions & { forwardedFor?: string } = {},
  ): Promise<DeliveryOutcome> {
    const extra: Record<string, string> = {};
    const forwardedFor = opts.forwardedFor?.trim();
    if (forwardedFor && forwardedFor.length <= 512 && FORWARDED_FOR.test(forwardedFor)) extra['X-Forwarded-For'] = forwardedFor;
    return this.post(creds, 'customer', JSON.stringify(payload), extra, opts.timeoutMs);
  }

  /** Bulk Import: `POST {base}/v1/transition/{workspaceId}?app_id={workspaceId}` (see bulk.ts for packing). */
  bulkImport(creds: MoEngageCredentials, elements: BulkElement[], opts: RequestOptions = {}): Promise<DeliveryOutcome> {
    if (elements.length === 0) return Promise.reject(new RangeError('bulkImport needs at least one element'));
    return this.post(creds, 'transition', JSON.stringify({ type: 'transition', elements }), {}, opts.timeoutMs);
  }

  /**
   * Delete User: `POST {base}/v1/customer/delete?app_id={workspaceId}` with
   * `{"identity_type":"customer_id","identity_value":<customerId>}`, one user per request
   * (MoEngage's limit: 5,000 requests a minute). MoEngage answers `"status":"success"` when it
   * accepted the deletion, which it carries out after a 24-hour buffer during which the user can
   * still be updated (and any later update re-creates a deleted user). The answer is classified
   * exactly like Track User's (classifyResponse): an empty customer_id is sent as it is, and
   * MoEngage's refusal (400) is the outcome; nothing here throws.
   */
  deleteUser(creds: MoEngageCredentials, customerId: string, opts: RequestOptions = {}): Promise<DeliveryOutcome> {
    return this.post(creds, 'delete', JSON.stringify({ identity_type: 'customer_id', identity_value: customerId }), {}, opts.timeoutMs);
  }

  /**
   * Create Event: `POST {base}/v1/event/{workspaceId}?app_id={workspaceId}` with
   * `{"type":"event","customer_id":...,"actions":[...]}`; answers classified as Track User's.
   */
  createEvent(creds: MoEngageCredentials, payload: EventPayload, opts: RequestOptions = {}): Promise<DeliveryOutcome> {
    return this.post(creds, 'event', JSON.stringify(payload), {}, opts.timeoutMs);
  }

  /** The URL of an endpoint (Track User `customer`, Bulk Import `transition`, Create Event `event`, Delete User `delete`) for a workspace. */
  urlFor(endpoint: MoEngageEndpoint, workspaceId: string): string {
    const ws = encodeURIComponent(workspaceId);
    if (endpoint === 'delete') return `${this.baseUrl}/v1/customer/delete?app_id=${ws}`;
    return `${this.baseUrl}/v1/${endpoint}/${ws}?app_id=${ws}`;
  }

  private async post(
    creds: MoEngageCredentials,
    endpoint: MoEngageEndpoint,
    body: string,
    extraHeaders: Record<string, string>,
    timeoutOverride: number | undefined,
  ): Promise<DeliveryOutcome> {
    const workspaceId = (creds.workspaceId ?? '').trim();
    const apiKey = (creds.apiKey ?? '').trim();
    if (workspaceId === '' || apiKey === '') {
      // Nothing is sent; the retry policy treats it like a 401 (re-read the secret, then wait).
      return {
        kind: 'auth',
        reason: 'auth_failed',
        detail: { type: 'MissingCredentials', message: 'the MoEngage workspace ID or API key is empty' },
        latencyMs: 0,
      };
    }
    const token = Buffer.from(`${workspaceId}:${apiKey}`, 'utf8').toString('base64');
    const headers: Record<string, string> = {
      Authorization: `Basic ${token}`,
      'Content-Type': 'application/json',
      ...extraHeaders,
    };
    const timeoutMs =
      timeoutOverride !== undefined && Number.isFinite(timeoutOverride) && timeoutOverride > 0
        ? Math.min(timeoutOverride, this.timeoutMs)
        : this.timeoutMs;

    const controller = new AbortController();
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Raced against the fetch and the body read, so that a fetch ignoring its signal still ends.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
        reject(new TimeoutSignal('timeout'));
      }, timeoutMs);
    });
    deadline.catch(() => undefined);

    const start = this.now();
    const elapsed = () => Math.max(0, Math.round(this.now() - start));
    let outcome: DeliveryOutcome;
    try {
      const response = await Promise.race([
        this.fetchFn(this.urlFor(endpoint, workspaceId), { method: 'POST', headers, body, signal: controller.signal }),
        deadline,
      ]);
      let text = '';
      try {
        text = await Promise.race([response.text(), deadline]);
      } catch {
        // The status line arrived but the body did not: classify on the status alone
        // (a 200 then counts as delivered, unconfirmed).
        text = '';
      }
      outcome = classifyResponse(response.status, response.headers, text, elapsed(), this.now());
    } catch (err) {
      outcome = transportOutcome(err, timedOut, timeoutMs, elapsed());
    } finally {
      clearTimeout(timer);
    }
    return redactOutcome(outcome, [apiKey, token, `${workspaceId}:${apiKey}`]);
  }
}

/** Removes every occurrence of the given secrets from the outcome's detail strings. */
function redactOutcome(outcome: DeliveryOutcome, secrets: string[]): DeliveryOutcome {
  if (outcome.kind === 'delivered') return outcome;
  const present = secrets.filter((s) => s.length >= 4);
  const scrub = (value: string | undefined) => {
    if (value === undefined) return undefined;
    let out = value;
    for (const secret of present) out = out.split(secret).join('[redacted]');
    return out;
  };
  const detail: FailureDetail = {};
  for (const key of ['type', 'message', 'request_id', 'attribute'] as const) {
    const value = scrub(outcome.detail[key]);
    if (value !== undefined) detail[key] = value;
  }
  return { ...outcome, detail };
}
