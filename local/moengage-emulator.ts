/**
 * A local MoEngage Data API emulator (node:http) behaving like the documented User API
 * (../shared/seeds/moengage-user-api.txt): Track User `POST /v1/customer/{workspaceId}`,
 * Create Event `POST /v1/event/{workspaceId}`, Bulk Import `POST /v1/transition/{workspaceId}`
 * (customer and event elements) and Delete User
 * `POST /v1/customer/delete?app_id={workspaceId}`, Basic auth, 400/401/413/415/429 answers
 * with the documented bodies, per-window rate limits with rate-limit headers (Delete User and
 * Create Event have their own: 5,000 requests and 30,000 events a minute), fault injection
 * (status codes, timeouts, connection resets, and per-user rules: a status for the requests of
 * one customer_id whose attributes match) and records of what was accepted.
 *
 * Payloads are judged by MoEngage's documented rules, written on their own in
 * ./moengage-rules.ts (never by the adapter's validator): a bad Track User or Create Event
 * payload is answered 400; a bad Bulk Import element is dropped while its request is answered
 * 200, as MoEngage documents ("All bulk API requests return a 200 response code"), and listed
 * in `dropped`.
 *
 * Profiles: every accepted Track User payload and Bulk Import element is merged into the
 * profile of its user (attributes overwrite, strings cut at 512 characters; add/remove-to-array
 * applied; the create-only attributes only when the payload creates the user), as MoEngage does.
 * Delete User removes the profile at once (MoEngage keeps it updatable for a 24-hour buffer
 * before the hard delete; the emulator models the end state) and counts the deletion per
 * customer_id; any later update re-creates the user, as MoEngage does.
 *
 * Used by `npm run dev` (prints accepted payloads, with emails, phone numbers, names and birth dates masked), the integration tests and
 * the benchmarks (scaled time through `rateLimit.windowMs`). Listens on 127.0.0.1 only.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  BULK_IMPORT_MAX_BODY_BYTES,
  CREATE_EVENT_MAX_BODY_BYTES,
  CREATE_ONLY_ATTRIBUTES,
  judgeCustomer,
  judgeEvent,
  TRACK_USER_MAX_BODY_BYTES,
  type RuleError,
} from './moengage-rules';

// ---------------------------------------------------------------------------------------------
// Documented bodies
// ---------------------------------------------------------------------------------------------

export const SUCCESS_BODY = {
  status: 'success',
  message: 'Your request has been accepted and will be processed soon.',
} as const;

export interface MoEngageErrorBody {
  status: 'fail';
  error: { attribute?: string; message: string; type: string; request_id: string };
}

function failBody(type: string, message: string, requestId: string, attribute?: string): MoEngageErrorBody {
  return { status: 'fail', error: { ...(attribute !== undefined ? { attribute } : {}), message, type, request_id: requestId } };
}

/** The documented error bodies, by case. */
export const ERROR_BODIES = {
  customerIdMissing: (rid: string) => failBody('MissingAttributeError', 'customer_id is not found in the payload', rid, 'customer_id'),
  customerIdEmpty: (rid: string) => failBody('MissingAttributeError', 'customer_id can not be empty Unicode String', rid, 'customer_id'),
  authMismatch: (rid: string) =>
    failBody('Authentication required', 'App Secret key mismatch. Please login to the dashboard to verify key', rid),
  authMissing: (rid: string) => failBody('Authentication required', 'Authentication Header Required', rid),
  blocked: (rid: string) => failBody('BlockedClient', 'Your account is suspended. Please contact MoEngage team.', rid),
  tooLarge: (rid: string, limitLabel = '128KB') => failBody('Payload too large', `Payload can not exceed ${limitLabel}`, rid),
  unsupportedMedia: (rid: string) => failBody('Unsupported media type', 'Content type is not supported', rid),
  rateLimited: (rid: string) =>
    failBody('Rate Limits Exceeded', 'Rate limits for customers exceeded. Please Try After Some Time', rid),
  serverError: (rid: string) =>
    failBody(
      'Server Error',
      'An unexpected error was encountered while processing this request. Please contact MoEngage Team',
      rid,
    ),
} as const;

/** Bodies larger than this are not buffered at all (answered 413 once drained). */
const HARD_READ_CAP_BYTES = 2 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

export type ApiKind = 'customer' | 'bulk' | 'delete' | 'event';

/**
 * An injected refusal (a fault of the test's choosing, beyond MoEngage's documented rules):
 * `ok: false` answers 400 naming `field`, for Track User and for a whole Bulk Import request.
 */
export type PayloadValidator = (
  payload: unknown,
  rules?: { identityIdentifiers?: readonly string[] },
) => { ok: true } | { ok: false; field: string; message: string };

/** One injected fault: replaces the normal answer of one request. */
export type Fault =
  | {
      kind?: 'status';
      status: number;
      /** Response body (JSON-encoded unless a string); default: the documented body for the status. */
      body?: unknown;
      /** Adds `Retry-After` (seconds). */
      retryAfterSeconds?: number;
      headers?: Record<string, string>;
    }
  | {
      /** Never answers; the client's own timeout fires. `acceptFirst`: the payload is accepted before the silence. */
      kind: 'timeout';
      acceptFirst?: boolean;
    }
  | {
      /** Destroys the connection without an answer (ECONNRESET / "socket hang up" at the client). */
      kind: 'reset';
      acceptFirst?: boolean;
    }
  | {
      /** Answers normally after `ms`. */
      kind: 'delay';
      ms: number;
    };

export interface ProbabilisticFaults {
  /** Probability in [0, 1] that a request (with no queued fault) gets one of `kinds`. */
  rate: number;
  kinds: readonly Fault[];
  /** Injectable randomness; default Math.random. */
  random?: () => number;
}

export interface AcceptedRecord {
  api: ApiKind;
  /** One user's Track User payload, a Create Event payload, or a Bulk Import element (for bulk). */
  payload: Record<string, unknown>;
  /** Epoch ms, from the injected clock. */
  receivedAt: number;
  /** Request path and query, e.g. `/v1/customer/dev-workspace?app_id=dev-workspace`. */
  path: string;
  requestId: string;
  /** Request headers, lower-case, without `authorization`. */
  headers: Record<string, string>;
}

/** A Bulk Import element MoEngage's documented rules refuse: its request was answered 200, the element not applied. */
export interface DroppedRecord {
  element: unknown;
  /** Position in the request's `elements`. */
  index: number;
  /** The error MoEngage would have answered for it alone (Track User / Create Event). */
  error: RuleError;
  receivedAt: number;
  requestId: string;
}

/** One accepted Delete User request. */
export interface DeleteRecord {
  /** `customer_id` (what the adapter sends) or `moengage_id`. */
  identityType: string;
  identityValue: string;
  /** Epoch ms, from the injected clock. */
  receivedAt: number;
  requestId: string;
  /** Whether a profile existed (and was removed). */
  existed: boolean;
}

/**
 * A per-user fault: requests carrying this customer_id (Track User, or a Bulk Import with such
 * an element), and, with `attribute`, only those whose `attributes[attribute]` equals `equals`
 * (deep equality of JSON values), are answered `status` (with the documented body for it,
 * unless `body`) instead of being accepted. The checks of the request itself (auth, content
 * type, size, payload rules) come first. `times`: only the first N matching requests (default:
 * every one). E.g. `{ customerId: 'u1', attribute: 'u_em', equals: 'a@example.com', status: 500 }`
 * fails every update of u1 that sets that email, and lets u1's other updates through.
 */
export interface UserFaultRule {
  customerId: string;
  attribute?: string;
  equals?: unknown;
  status: number;
  body?: unknown;
  retryAfterSeconds?: number;
  times?: number;
}

export interface EmulatedUser {
  /** customer_id, or `moe_email:<value>` style when identified by an identity-resolution identifier. */
  key: string;
  customerId?: string;
  attributes: Record<string, unknown>;
  /** Accepted updates for this user (including create). */
  updates: number;
  firstSeenAt: number;
  lastSeenAt: number;
}

export type EmulatorMode = 'accept' | 'reject' | 'blocked';

export interface RateLimitOptions {
  /** Track User requests (one user each) per window. Default 10,000. */
  customerPerWindow?: number;
  /** Bulk Import users (elements) per window. Default 60,000. */
  bulkUsersPerWindow?: number;
  /** Delete User requests (one user each) per window. Default 5,000 (MoEngage's documented limit per minute). */
  deletePerWindow?: number;
  /** Create Event events (actions) per window. Default 30,000. */
  eventsPerWindow?: number;
  /** Window length in ms (fixed windows). Default 60,000; scale it down for tests and benchmarks. */
  windowMs?: number;
}

export interface MoEngageEmulatorOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default `dev-workspace`. */
  workspaceId?: string;
  /** Default `dev-api-key`. */
  apiKey?: string;
  rateLimit?: RateLimitOptions;
  /** Identity-resolution identifiers activated in the emulated workspace (e.g. moe_email). */
  identityIdentifiers?: readonly string[];
  /**
   * An injected refusal after the documented rules (./moengage-rules.ts): a failure answers 400
   * naming the field (Track User; a Bulk Import request with such an element is refused whole).
   * Default: none (`false` too).
   */
  validate?: PayloadValidator | false;
  /** One line per accepted user; emails, phone numbers, names and birth dates are masked unless `logRawPayloads`. Default: silent. */
  log?: (line: string) => void;
  logRawPayloads?: boolean;
  onAccepted?: (record: AcceptedRecord) => void;
  /** Called for every accepted Delete User request. */
  onDeleted?: (record: DeleteRecord) => void;
  /** Injectable request_id generator (8 letters by default). */
  requestId?: () => string;
  /** Injectable clock (epoch ms). */
  now?: () => number;
  /** Keep at most this many accepted records (oldest dropped). Default 100,000. */
  maxRecords?: number;
  /**
   * Response time of every API request: the request is judged and counted against the rate
   * limit on arrival, and the answer leaves after a delay drawn from this lognormal
   * distribution (`LatencyModel`: median and p99), or from a sampler returning milliseconds.
   * A queued `delay` fault waits before the request is judged, in addition. Default: none.
   */
  latency?: LatencyModel | (() => number);
}

/**
 * A lognormal response-time distribution, given by its median and its 99th percentile, as
 * MoEngage's answer times are described (e.g. median 300 ms, p99 1,500 ms). `seed` makes the
 * draws reproducible (the same seed, the same sequence); without it they come from Math.random.
 */
export interface LatencyModel {
  medianMs: number;
  p99Ms: number;
  seed?: number;
}

export interface EmulatorStats {
  requests: number;
  acceptedRequests: number;
  acceptedUsers: number;
  uniqueUsers: number;
  /** Accepted Delete User requests. */
  deletes: number;
  /** Bulk Import elements dropped by the documented rules. */
  droppedElements: number;
  byStatus: Record<string, number>;
  rateLimited: number;
  faultsInjected: number;
  resets: number;
  timeouts: number;
  mode: EmulatorMode;
  rateLimit: {
    windowMs: number;
    customer: { limit: number; remaining: number };
    bulk: { limit: number; remaining: number };
    delete: { limit: number; remaining: number };
    event: { limit: number; remaining: number };
  };
}

export interface FaultQueue {
  /** Queues faults, applied in order to the next requests (one each). */
  push(...faults: Fault[]): number;
  /** Queued faults not yet applied. */
  readonly length: number;
  /** Sets (or, with undefined, removes) the probabilistic mode, used when the queue is empty. */
  setProbabilistic(config: ProbabilisticFaults | undefined): void;
  /** Adds a per-user fault rule (validated; throws a RangeError naming the problem). */
  addUserRule(rule: UserFaultRule): void;
  /** Replaces every per-user fault rule (an empty list removes them). */
  setUserRules(rules: readonly UserFaultRule[]): void;
  /** The per-user fault rules in force (with `times` counting down). */
  readonly userRules: readonly UserFaultRule[];
  /** Empties the queue, removes the probabilistic mode and the per-user rules. */
  clear(): void;
}

export interface MoEngageEmulator {
  /** `http://127.0.0.1:PORT`: the `MOENGAGE_BASE_URL` to use. */
  readonly url: string;
  readonly port: number;
  readonly workspaceId: string;
  readonly apiKey: string;
  /** Every accepted user payload, in arrival order. */
  readonly accepted: readonly AcceptedRecord[];
  /** API requests received (all outcomes). */
  readonly requests: number;
  readonly faults: FaultQueue;
  readonly mode: EmulatorMode;
  /** `reject`: every well-formed request is refused with 400 (`body` to choose it); `blocked`: 403; `accept`: normal. */
  setMode(mode: EmulatorMode, options?: { body?: unknown }): void;
  /** Deduplicated users, merged in arrival order (a deleted user is absent until updated again). */
  users(): ReadonlyMap<string, EmulatedUser>;
  /** The profile of every user: user key (customer_id) -> a copy of its merged attributes. */
  profiles(): Map<string, Record<string, unknown>>;
  /** Accepted Delete User requests per customer_id. */
  deletes(): ReadonlyMap<string, number>;
  /** Every accepted Delete User request, in arrival order. */
  readonly deletions: readonly DeleteRecord[];
  /** Bulk Import elements the documented rules refused (their requests answered 200), in arrival order. */
  readonly dropped: readonly DroppedRecord[];
  stats(): EmulatorStats;
  /** Clears records, profiles, deletions, counters, faults and rules, the rate-limit windows, and sets mode `accept`. */
  reset(): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * The transient fault mix of the reliability tests and the soak: every kind the issue names
 * (429 with Retry-After, 500/502/503, timeouts, resets), timeouts and resets with and without
 * the payload accepted first.
 */
export const TRANSIENT_FAULTS: readonly Fault[] = [
  { status: 429, retryAfterSeconds: 1 },
  { status: 500 },
  { status: 502 },
  { status: 503 },
  { kind: 'timeout' },
  { kind: 'timeout', acceptFirst: true },
  { kind: 'reset' },
  { kind: 'reset', acceptFirst: true },
];

/** Deterministic PRNG (mulberry32) for `faults.setProbabilistic`: the same seed draws the same faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** z of the standard normal distribution's 99th percentile. */
const Z99 = 2.3263478740408408;

/** Checks a latency model; throws a RangeError naming the problem. */
function checkLatencyModel(model: LatencyModel): void {
  if (!(Number.isFinite(model.medianMs) && model.medianMs >= 0)) throw new RangeError('latency: medianMs must be a number ≥ 0');
  if (!(Number.isFinite(model.p99Ms) && model.p99Ms >= model.medianMs)) throw new RangeError('latency: p99Ms must be a number ≥ medianMs');
  if (model.p99Ms > 0 && model.medianMs === 0) throw new RangeError('latency: a p99 above 0 needs a median above 0');
  if (model.seed !== undefined && !Number.isInteger(model.seed)) throw new RangeError('latency: seed must be an integer');
}

/**
 * A sampler of the lognormal distribution with the model's median and p99, in ms:
 * `median × exp(σ z)`, σ = ln(p99 / median) / z₀.₉₉, z standard normal (Box–Muller over the
 * seeded PRNG, or Math.random without a seed). Median = p99 gives a constant.
 */
export function lognormalLatency(model: LatencyModel): () => number {
  checkLatencyModel(model);
  const { medianMs, p99Ms } = model;
  if (medianMs === p99Ms) return () => medianMs;
  const sigma = Math.log(p99Ms / medianMs) / Z99;
  const random = model.seed !== undefined ? seededRandom(model.seed) : Math.random;
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    // 1 - u is in (0, 1]: its log is finite.
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const theta = 2 * Math.PI * random();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
  return () => medianMs * Math.exp(sigma * normal());
}

/**
 * Parses `MOENGAGE_EMULATOR_LATENCY_MS` style specifications: `300` (always 300 ms),
 * `300,1500` (median 300 ms, p99 1,500 ms), `300,1500,42` (the same, seeded). Throws a
 * RangeError naming the problem.
 */
export function parseLatencySpec(spec: string): LatencyModel {
  const parts = spec.split(',').map((x) => x.trim());
  const nums = parts.map((x) => (/^\d+(\.\d+)?$/.test(x) ? Number(x) : Number.NaN));
  if (parts.length < 1 || parts.length > 3 || nums.some((n) => Number.isNaN(n))) {
    throw new RangeError('latency: expected MEDIAN_MS[,P99_MS[,SEED]], e.g. 300,1500');
  }
  const [medianMs = 0, p99Ms = medianMs, seed] = nums;
  const model: LatencyModel = { medianMs, p99Ms, ...(seed !== undefined ? { seed } : {}) };
  checkLatencyModel(model);
  return model;
}

/** Deep equality of JSON values (for UserFaultRule.equals). */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Checks a per-user fault rule (e.g. one posted to `/_dev/moengage/mode`); returns it typed, or a message. */
function parseUserFaultRule(input: unknown): { ok: true; rule: UserFaultRule } | { ok: false; message: string } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { ok: false, message: 'a rule is an object' };
  const r = input as Record<string, unknown>;
  const known = new Set(['customerId', 'attribute', 'equals', 'status', 'body', 'retryAfterSeconds', 'times']);
  const unknown = Object.keys(r).filter((k) => !known.has(k));
  if (unknown.length > 0) return { ok: false, message: `unknown rule field(s): ${unknown.join(', ')}` };
  if (typeof r.customerId !== 'string' || r.customerId === '') return { ok: false, message: 'customerId must be a non-empty string' };
  if (!Number.isInteger(r.status) || (r.status as number) < 100 || (r.status as number) > 599) {
    return { ok: false, message: 'status must be an HTTP status (100-599)' };
  }
  if (r.attribute !== undefined && (typeof r.attribute !== 'string' || r.attribute === '')) return { ok: false, message: 'attribute must be a non-empty string' };
  if (r.attribute === undefined && r.equals !== undefined) return { ok: false, message: 'equals needs attribute' };
  if (r.attribute !== undefined && !Object.prototype.hasOwnProperty.call(r, 'equals')) return { ok: false, message: 'attribute needs equals' };
  for (const key of ['retryAfterSeconds', 'times'] as const) {
    if (r[key] !== undefined && !(Number.isInteger(r[key]) && (r[key] as number) >= (key === 'times' ? 1 : 0))) {
      return { ok: false, message: `${key} must be a ${key === 'times' ? 'positive' : 'non-negative'} integer` };
    }
  }
  const rule: UserFaultRule = { customerId: r.customerId, status: r.status as number };
  if (r.attribute !== undefined) {
    rule.attribute = r.attribute as string;
    rule.equals = r.equals;
  }
  if (r.body !== undefined) rule.body = r.body;
  if (r.retryAfterSeconds !== undefined) rule.retryAfterSeconds = r.retryAfterSeconds as number;
  if (r.times !== undefined) rule.times = r.times as number;
  return { ok: true, rule };
}

/** Whether a rule matches one customer payload. */
function ruleMatches(rule: UserFaultRule, payload: Record<string, unknown>): boolean {
  if (payload.customer_id !== rule.customerId) return false;
  if (rule.attribute === undefined) return true;
  const attrs = payload.attributes;
  if (!isPlainObject(attrs) || !Object.prototype.hasOwnProperty.call(attrs, rule.attribute)) return false;
  return jsonEqual(attrs[rule.attribute], rule.equals);
}

function randomRequestId(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += LETTERS[randomInt(LETTERS.length)];
  return s;
}

function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

type BasicAuth = { kind: 'missing' } | { kind: 'invalid' } | { kind: 'basic'; user: string; password: string };

function parseBasicAuth(header: string | undefined): BasicAuth {
  if (header === undefined || header.trim() === '') return { kind: 'missing' };
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header.trim());
  if (!m?.[1]) return { kind: 'invalid' };
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { kind: 'invalid' };
  return { kind: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Fixed-window limiter: `limit` units per window of `windowMs`, windows aligned to multiples of windowMs. */
class FixedWindowLimiter {
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = 0;
  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number,
  ) {
    if (!(windowMs > 0)) throw new Error('rate-limit windowMs must be > 0');
    if (!(limit >= 0)) throw new Error('rate limit must be >= 0');
  }
  private roll(): number {
    const t = this.now();
    const start = Math.floor(t / this.windowMs) * this.windowMs;
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.used = 0;
    }
    return t;
  }
  /** Takes `units` if all fit; otherwise takes nothing. */
  take(units: number): { allowed: boolean; remaining: number; resetMs: number } {
    const t = this.roll();
    const allowed = this.used + units <= this.limit;
    if (allowed) this.used += units;
    return { allowed, remaining: Math.max(0, this.limit - this.used), resetMs: this.windowStart + this.windowMs - t };
  }
  peek(): { remaining: number; resetMs: number } {
    const t = this.roll();
    return { remaining: Math.max(0, this.limit - this.used), resetMs: this.windowStart + this.windowMs - t };
  }
  reset(): void {
    this.windowStart = Number.NEGATIVE_INFINITY;
    this.used = 0;
  }
}

const PII_KEYS = new Set(['u_em', 'u_mb', 'moe_email', 'moe_mobile', 'moe_phone', 'email', 'phone', 'mobile']);
/** Names and birth dates: shown as their first character and `***`. */
const NAME_KEYS = new Set(['u_fn', 'u_ln', 'u_n', 'u_bd', 'first_name', 'last_name', 'given_name', 'family_name', 'full_name', 'name', 'birthday']);

/** What the printed payloads mask (the dev server's banner says so). */
export const MASKED_IN_LOG = 'emails, phone numbers, names and birth dates masked';
const EMAIL_LIKE = /^[^@\s]+@[^@\s]+$/;
/** E.164-style numbers (a leading +); bare digit strings are ids, not masked unless under a phone key. */
const PHONE_LIKE = /^\+\d[\d\s().-]{6,}$/;

function maskString(value: string): string {
  if (EMAIL_LIKE.test(value)) {
    const [local = '', domain = ''] = value.split('@');
    return `${local.slice(0, 1)}***@${domain}`;
  }
  const digits = value.replace(/\D/g, '');
  if (digits.length >= 4) return `***${digits.slice(-2)}`;
  return '***';
}

/** A copy of `value` with emails, phone numbers, names and birth dates masked (for logs). */
export function maskPii(value: unknown, key?: string): unknown {
  if (typeof value === 'string') {
    if ((key !== undefined && PII_KEYS.has(key)) || EMAIL_LIKE.test(value) || PHONE_LIKE.test(value)) return maskString(value);
    if (key !== undefined && NAME_KEYS.has(key)) return value === '' ? value : `${Array.from(value)[0]}***`;
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => maskPii(v, key));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = maskPii(v, k);
    return out;
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasIdentifier(payload: Record<string, unknown>, identifiers: readonly string[]): string | undefined {
  const attrs = payload.attributes;
  if (!isPlainObject(attrs)) return undefined;
  for (const id of identifiers) {
    const v = attrs[id];
    if ((typeof v === 'string' && v.trim() !== '') || typeof v === 'number') return id;
  }
  return undefined;
}

/** An accepted payload, with its attributes as MoEngage keeps them (customer payloads). */
type JudgedPayload = { payload: Record<string, unknown>; stored?: Record<string, unknown> };

type Judged = { ok: true; stored?: Record<string, unknown> } | { ok: false; error: RuleError };

function bodyOf(error: RuleError, requestId: string, at = ''): MoEngageErrorBody {
  return failBody(error.type, error.message, requestId, `${at}${error.attribute}`);
}

/** MoEngage's documented rules for one Track User payload or customer element (./moengage-rules.ts). */
function judgeCustomerPayload(payload: unknown, identifiers: readonly string[]): Judged {
  const verdict = judgeCustomer(payload, { identityIdentifiers: identifiers });
  return verdict.ok ? { ok: true, stored: verdict.stored } : verdict;
}

/** The injected refusal (`validate`), as a documented 400 body. */
function injectedRefusal(validate: PayloadValidator | undefined, payload: unknown, identifiers: readonly string[]): RuleError | undefined {
  if (!validate) return undefined;
  const result = validate(payload, { identityIdentifiers: identifiers });
  if (result.ok) return undefined;
  const type = /not found|empty/i.test(result.message) ? 'MissingAttributeError' : /ArrayField/.test(result.field) ? 'ArrayFieldError' : 'InvalidAttributeError';
  return { type, attribute: result.field, message: result.message };
}

function userKey(payload: Record<string, unknown>, identifiers: readonly string[]): string | undefined {
  if (typeof payload.customer_id === 'string' && payload.customer_id !== '') return payload.customer_id;
  const id = hasIdentifier(payload, identifiers);
  if (id === undefined) return undefined;
  const attrs = payload.attributes as Record<string, unknown>;
  return `${id}:${String(attrs[id])}`;
}

function toArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/**
 * Applies one accepted payload to the user view, the way MoEngage would update the profile:
 * `stored` holds its attributes as MoEngage keeps them (moengage-rules.ts: strings cut), and the
 * create-only attributes apply only when the payload creates the user.
 */
function applyToUser(
  users: Map<string, EmulatedUser>,
  payload: Record<string, unknown>,
  stored: Record<string, unknown>,
  identifiers: readonly string[],
  at: number,
): void {
  const key = userKey(payload, identifiers);
  if (key === undefined) return;
  let user = users.get(key);
  const creates = user === undefined;
  const updateExistingOnly = payload.update_existing_only === true || payload.update_existing_only === 'true';
  if (!user) {
    if (updateExistingOnly) return; // accepted, but MoEngage creates nobody
    user = {
      key,
      ...(typeof payload.customer_id === 'string' ? { customerId: payload.customer_id } : {}),
      attributes: {},
      updates: 0,
      firstSeenAt: at,
      lastSeenAt: at,
    };
    users.set(key, user);
  }
  user.updates++;
  user.lastSeenAt = at;
  for (const [name, value] of Object.entries(stored)) {
    if (!creates && CREATE_ONLY_ATTRIBUTES.has(name)) continue; // "Update through Track User API: no"
    if (name === 'addValueToArrayField' && isPlainObject(value)) {
      for (const [field, add] of Object.entries(value)) {
        const current = toArray(user.attributes[field] ?? []);
        for (const v of toArray(add)) if (!current.includes(v)) current.push(v);
        user.attributes[field] = current;
      }
    } else if (name === 'removeValueFromArrayField' && isPlainObject(value)) {
      for (const [field, remove] of Object.entries(value)) {
        const drop = toArray(remove);
        user.attributes[field] = toArray(user.attributes[field] ?? []).filter((v) => !drop.includes(v));
      }
    } else {
      user.attributes[name] = value;
    }
  }
}

function defaultBodyFor(status: number, rid: string): unknown {
  switch (status) {
    case 200:
      return SUCCESS_BODY;
    case 400:
      return ERROR_BODIES.customerIdMissing(rid);
    case 401:
      return ERROR_BODIES.authMismatch(rid);
    case 403:
      return ERROR_BODIES.blocked(rid);
    case 413:
      return ERROR_BODIES.tooLarge(rid);
    case 415:
      return ERROR_BODIES.unsupportedMedia(rid);
    case 429:
      return ERROR_BODIES.rateLimited(rid);
    default:
      return ERROR_BODIES.serverError(rid);
  }
}

const ROUTE = /^\/v1\/(customer|transition|event)\/([^/?#]+)$/;
/** Delete User (matched before ROUTE, whose `customer/{workspaceId}` it would otherwise look like). */
const DELETE_PATH = '/v1/customer/delete';
/** Delete User's identity types (MoEngage's documented allowed values). */
const DELETE_IDENTITY_TYPES = ['customer_id', 'moengage_id'];

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

export async function startMoEngageEmulator(opts: MoEngageEmulatorOptions = {}): Promise<MoEngageEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const workspaceId = opts.workspaceId ?? 'dev-workspace';
  const apiKey = opts.apiKey ?? 'dev-api-key';
  const now = opts.now ?? Date.now;
  const newRequestId = opts.requestId ?? randomRequestId;
  const log = opts.log ?? (() => {});
  const identifiers = opts.identityIdentifiers ?? [];
  const maxRecords = opts.maxRecords ?? 100_000;
  const validate = opts.validate === false ? undefined : opts.validate;
  const latency = typeof opts.latency === 'function' ? opts.latency : opts.latency ? lognormalLatency(opts.latency) : undefined;
  const windowMs = opts.rateLimit?.windowMs ?? 60_000;
  const limiters: Record<ApiKind, FixedWindowLimiter> = {
    customer: new FixedWindowLimiter(opts.rateLimit?.customerPerWindow ?? 10_000, windowMs, now),
    bulk: new FixedWindowLimiter(opts.rateLimit?.bulkUsersPerWindow ?? 60_000, windowMs, now),
    delete: new FixedWindowLimiter(opts.rateLimit?.deletePerWindow ?? 5_000, windowMs, now),
    event: new FixedWindowLimiter(opts.rateLimit?.eventsPerWindow ?? 30_000, windowMs, now),
  };

  const accepted: AcceptedRecord[] = [];
  const users = new Map<string, EmulatedUser>();
  const deletions: DeleteRecord[] = [];
  const dropped: DroppedRecord[] = [];
  const deleteCounts = new Map<string, number>();
  const userRules: UserFaultRule[] = [];
  const queue: Fault[] = [];
  let probabilistic: ProbabilisticFaults | undefined;
  let mode: EmulatorMode = 'accept';
  let rejectBody: unknown;
  const counters = {
    requests: 0,
    acceptedRequests: 0,
    acceptedUsers: 0,
    deletes: 0,
    droppedElements: 0,
    rateLimited: 0,
    faultsInjected: 0,
    resets: 0,
    timeouts: 0,
    byStatus: {} as Record<string, number>,
  };
  const held = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const faults: FaultQueue = {
    push(...f: Fault[]) {
      queue.push(...f);
      return queue.length;
    },
    get length() {
      return queue.length;
    },
    setProbabilistic(config) {
      if (config && !(config.rate >= 0 && config.rate <= 1)) throw new Error('fault rate must be within [0, 1]');
      if (config && config.kinds.length === 0) throw new Error('list at least one fault kind');
      probabilistic = config;
    },
    addUserRule(rule) {
      const checked = parseUserFaultRule(rule);
      if (!checked.ok) throw new RangeError(`invalid user fault rule: ${checked.message}`);
      userRules.push(checked.rule);
    },
    setUserRules(rules) {
      const checked = rules.map((r) => parseUserFaultRule(r));
      const bad = checked.find((c) => !c.ok);
      if (bad && !bad.ok) throw new RangeError(`invalid user fault rule: ${bad.message}`);
      userRules.length = 0;
      for (const c of checked) if (c.ok) userRules.push(c.rule);
    },
    get userRules() {
      return userRules;
    },
    clear() {
      queue.length = 0;
      probabilistic = undefined;
      userRules.length = 0;
    },
  };

  /** The first per-user rule matching one of the payloads (its `times` counted down), if any. */
  function userRuleFor(payloads: readonly Record<string, unknown>[]): UserFaultRule | undefined {
    for (let i = 0; i < userRules.length; i++) {
      const rule = userRules[i] as UserFaultRule;
      if (!payloads.some((p) => ruleMatches(rule, p))) continue;
      if (rule.times !== undefined) {
        rule.times--;
        if (rule.times <= 0) userRules.splice(i, 1);
      }
      return rule;
    }
    return undefined;
  }

  function nextFault(): Fault | undefined {
    const queued = queue.shift();
    if (queued) return queued;
    if (!probabilistic) return undefined;
    const random = probabilistic.random ?? Math.random;
    if (random() >= probabilistic.rate) return undefined;
    const index = Math.min(probabilistic.kinds.length - 1, Math.floor(random() * probabilistic.kinds.length));
    return probabilistic.kinds[index];
  }

  function rateHeaders(api: ApiKind, remaining?: number, resetMs?: number): Record<string, string> {
    const peek = remaining === undefined || resetMs === undefined ? limiters[api].peek() : { remaining, resetMs };
    return {
      'x-ratelimit-limit': String(limiters[api].limit),
      'x-ratelimit-remaining': String(peek.remaining),
      'x-ratelimit-reset': String(Math.max(1, Math.ceil(peek.resetMs / 1000))),
    };
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    counters.byStatus[String(status)] = (counters.byStatus[String(status)] ?? 0) + 1;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  }

  function statsNow(): EmulatorStats {
    const c = limiters.customer.peek();
    const b = limiters.bulk.peek();
    const d = limiters.delete.peek();
    const e = limiters.event.peek();
    return {
      requests: counters.requests,
      acceptedRequests: counters.acceptedRequests,
      acceptedUsers: counters.acceptedUsers,
      uniqueUsers: users.size,
      deletes: counters.deletes,
      droppedElements: counters.droppedElements,
      byStatus: { ...counters.byStatus },
      rateLimited: counters.rateLimited,
      faultsInjected: counters.faultsInjected,
      resets: counters.resets,
      timeouts: counters.timeouts,
      mode,
      rateLimit: {
        windowMs,
        customer: { limit: limiters.customer.limit, remaining: c.remaining },
        bulk: { limit: limiters.bulk.limit, remaining: b.remaining },
        delete: { limit: limiters.delete.limit, remaining: d.remaining },
        event: { limit: limiters.event.limit, remaining: e.remaining },
      },
    };
  }

  function readBody(req: IncomingMessage): Promise<{ body: Buffer; tooLarge: boolean }> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > HARD_READ_CAP_BYTES) {
          tooLarge = true;
          chunks.length = 0;
          return;
        }
        if (!tooLarge) chunks.push(chunk);
      });
      req.on('end', () => resolve({ body: Buffer.concat(chunks), tooLarge }));
      req.on('error', reject);
    });
  }

  function record(api: ApiKind, { payload, stored }: JudgedPayload, req: IncomingMessage, requestId: string, at: number): void {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (k === 'authorization' || v === undefined) continue;
      headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    const rec: AcceptedRecord = { api, payload, receivedAt: at, path: req.url ?? '', requestId, headers };
    accepted.push(rec);
    if (accepted.length > maxRecords) accepted.splice(0, accepted.length - maxRecords);
    counters.acceptedUsers++;
    // An event changes no attribute of the profile.
    if (payload.type !== 'event') applyToUser(users, payload, stored ?? {}, identifiers, at);
    const shown = opts.logRawPayloads ? payload : maskPii(payload);
    log(`[moengage-emulator] accepted ${api} ${JSON.stringify(shown)}`);
    opts.onAccepted?.(rec);
  }

  function recordDropped(r: { index: number; element: unknown; error: RuleError }, requestId: string, at: number): void {
    counters.droppedElements++;
    dropped.push({ ...r, receivedAt: at, requestId });
    if (dropped.length > maxRecords) dropped.splice(0, dropped.length - maxRecords);
    log(`[moengage-emulator] dropped bulk element ${r.index} (${r.error.type} ${r.error.attribute}: ${r.error.message})`);
  }

  function recordDelete(identityType: string, identityValue: string, requestId: string, at: number): void {
    let existed = false;
    if (identityType === 'customer_id') {
      existed = users.delete(identityValue);
      deleteCounts.set(identityValue, (deleteCounts.get(identityValue) ?? 0) + 1);
    }
    counters.deletes++;
    const rec: DeleteRecord = { identityType, identityValue, receivedAt: at, requestId, existed };
    deletions.push(rec);
    if (deletions.length > maxRecords) deletions.splice(0, deletions.length - maxRecords);
    const shown = { identity_type: identityType, identity_value: identityValue };
    log(`[moengage-emulator] accepted delete ${JSON.stringify(opts.logRawPayloads ? shown : maskPii(shown))}${existed ? '' : ' (no such user)'}`);
    opts.onDeleted?.(rec);
  }

  /** The checks of a Delete User body; its identity, or the 400 answer. */
  function checkDelete(json: unknown, requestId: string): { ok: true; type: string; value: string } | { ok: false; body: MoEngageErrorBody } {
    if (!isPlainObject(json)) return { ok: false, body: failBody('MissingAttributeError', 'identity_type is not found in the payload', requestId, 'identity_type') };
    const type = json.identity_type;
    if (type === undefined || type === null) {
      return { ok: false, body: failBody('MissingAttributeError', 'identity_type is not found in the payload', requestId, 'identity_type') };
    }
    if (typeof type !== 'string' || !DELETE_IDENTITY_TYPES.includes(type)) {
      return {
        ok: false,
        body: failBody('InvalidAttributeError', `identity_type must be one of ${DELETE_IDENTITY_TYPES.join(', ')}`, requestId, 'identity_type'),
      };
    }
    const value = json.identity_value;
    if (value === undefined || value === null) {
      return { ok: false, body: failBody('MissingAttributeError', 'identity_value is not found in the payload', requestId, 'identity_value') };
    }
    if (typeof value !== 'string' || value.trim() === '') {
      return { ok: false, body: failBody('MissingAttributeError', 'identity_value can not be empty Unicode String', requestId, 'identity_value') };
    }
    return { ok: true, type, value };
  }

  /** Runs the documented checks; returns the answer, or accepts (records) and returns 200. */
  /** 429 with the window's headers and a Retry-After until the window resets (counted). */
  function rateLimitedAnswer(headers: Record<string, string>, resetMs: number, requestId: string) {
    counters.rateLimited++;
    return { status: 429, body: ERROR_BODIES.rateLimited(requestId), headers: { ...headers, 'retry-after': String(Math.max(1, Math.ceil(resetMs / 1000))) } };
  }

  function evaluate(
    req: IncomingMessage,
    api: ApiKind,
    pathWorkspace: string,
    query: URLSearchParams,
    raw: { body: Buffer; tooLarge: boolean },
    requestId: string,
  ): { status: number; body: unknown; headers: Record<string, string> } {
    const auth = parseBasicAuth(req.headers.authorization);
    const rate = rateHeaders(api);
    if (auth.kind === 'missing') return { status: 401, body: ERROR_BODIES.authMissing(requestId), headers: rate };
    // Every comparison runs, so the timing says nothing about which part was wrong.
    const userOk = auth.kind === 'basic' && constantTimeEqual(auth.user, workspaceId);
    const passOk = auth.kind === 'basic' && constantTimeEqual(auth.password, apiKey);
    // Delete User names the workspace in app_id only (checked below).
    const pathOk = api === 'delete' || constantTimeEqual(pathWorkspace, workspaceId);
    if (!(userOk && passOk && pathOk)) return { status: 401, body: ERROR_BODIES.authMismatch(requestId), headers: rate };

    const appId = query.get('app_id');
    if (appId === null || appId === '') {
      return { status: 400, body: failBody('MissingAttributeError', 'app_id is not found in the request', requestId, 'app_id'), headers: rate };
    }
    if (api === 'delete' ? !constantTimeEqual(appId, workspaceId) : appId !== pathWorkspace) {
      return {
        status: 400,
        body: failBody('InvalidAttributeError', 'app_id does not match the workspace in the URL', requestId, 'app_id'),
        headers: rate,
      };
    }

    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/json') return { status: 415, body: ERROR_BODIES.unsupportedMedia(requestId), headers: rate };

    const limit = api === 'bulk' ? BULK_IMPORT_MAX_BODY_BYTES : api === 'event' ? CREATE_EVENT_MAX_BODY_BYTES : TRACK_USER_MAX_BODY_BYTES;
    if (raw.tooLarge || raw.body.length > limit) {
      return { status: 413, body: ERROR_BODIES.tooLarge(requestId, api === 'bulk' ? '100000 bytes' : '128KB'), headers: rate };
    }

    let json: unknown;
    try {
      json = JSON.parse(raw.body.toString('utf8'));
    } catch {
      const body =
        api === 'delete'
          ? failBody('MissingAttributeError', 'identity_type is not found in the payload', requestId, 'identity_type')
          : ERROR_BODIES.customerIdMissing(requestId);
      return { status: 400, body, headers: rate };
    }

    if (api === 'delete') {
      const identity = checkDelete(json, requestId);
      if (!identity.ok) return { status: 400, body: identity.body, headers: rate };
      const taken = limiters.delete.take(1);
      const headers = rateHeaders('delete', taken.remaining, taken.resetMs);
      if (!taken.allowed) return rateLimitedAnswer(headers, taken.resetMs, requestId);
      if (mode === 'reject') {
        const body = rejectBody ?? failBody('InvalidAttributeError', 'The request was refused (emulator reject mode)', requestId, 'identity_value');
        return { status: 400, body, headers };
      }
      if (mode === 'blocked') return { status: 403, body: ERROR_BODIES.blocked(requestId), headers };
      counters.acceptedRequests++;
      recordDelete(identity.type, identity.value, requestId, now());
      return { status: 200, body: SUCCESS_BODY, headers };
    }

    let payloads: JudgedPayload[];
    const refused: { index: number; element: unknown; error: RuleError }[] = [];
    if (api === 'event') {
      const verdict = judgeEvent(json);
      if (!verdict.ok) return { status: 400, body: bodyOf(verdict.error, requestId), headers: rate };
      payloads = [{ payload: json as Record<string, unknown> }];
    } else if (api === 'customer') {
      const verdict = judgeCustomerPayload(json, identifiers);
      const error = verdict.ok ? injectedRefusal(validate, json, identifiers) : verdict.error;
      if (error) return { status: 400, body: bodyOf(error, requestId), headers: rate };
      payloads = [{ payload: json as Record<string, unknown>, ...(verdict.ok ? { stored: verdict.stored } : {}) }];
    } else {
      if (!isPlainObject(json) || json.type !== 'transition') {
        return { status: 400, body: failBody('MissingAttributeError', "type must be 'transition'", requestId, 'type'), headers: rate };
      }
      const elements = json.elements;
      if (!Array.isArray(elements) || elements.length === 0) {
        return { status: 400, body: failBody('MissingAttributeError', 'elements is not found in the payload', requestId, 'elements'), headers: rate };
      }
      // "All bulk API requests return a 200 response code": an element the documented rules
      // refuse is dropped, the others are applied.
      payloads = [];
      for (let i = 0; i < elements.length; i++) {
        const element: unknown = elements[i];
        const verdict: Judged = isPlainObject(element) && element.type === 'event' ? judgeEvent(element) : judgeCustomerPayload(element, identifiers);
        if (!verdict.ok) {
          refused.push({ index: i, element, error: verdict.error });
          continue;
        }
        // The injected refusal is a fault: it refuses the whole request.
        const injected = injectedRefusal(isPlainObject(element) && element.type === 'event' ? undefined : validate, element, identifiers);
        if (injected) return { status: 400, body: bodyOf(injected, requestId, `elements.${i}.`), headers: rate };
        payloads.push({ payload: element as Record<string, unknown>, ...(verdict.stored ? { stored: verdict.stored } : {}) });
      }
    }

    const rule = userRuleFor(payloads.map((p) => p.payload));
    if (rule) {
      counters.faultsInjected++;
      if (rule.status === 429) counters.rateLimited++;
      const headers: Record<string, string> = { ...rate };
      if (rule.retryAfterSeconds !== undefined) headers['retry-after'] = String(rule.retryAfterSeconds);
      return { status: rule.status, body: rule.body ?? defaultBodyFor(rule.status, requestId), headers };
    }

    // Create Event's budget counts events (actions); the others count users.
    const units = api === 'event' ? ((json as { actions: unknown[] }).actions.length) : payloads.length + refused.length;
    const taken = limiters[api].take(units);
    const headers = rateHeaders(api, taken.remaining, taken.resetMs);
    if (!taken.allowed) return rateLimitedAnswer(headers, taken.resetMs, requestId);

    if (mode === 'reject') {
      const body =
        rejectBody ?? failBody('InvalidAttributeError', 'The payload was refused (emulator reject mode)', requestId, 'attributes');
      return { status: 400, body, headers };
    }
    if (mode === 'blocked') return { status: 403, body: ERROR_BODIES.blocked(requestId), headers };

    const at = now();
    counters.acceptedRequests++;
    for (const p of payloads) record(api, p, req, requestId, at);
    for (const r of refused) recordDropped(r, requestId, at);
    return { status: 200, body: SUCCESS_BODY, headers };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator.local');
    if (url.pathname === '/_emulator/state') {
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET', 'content-type': 'application/json' }).end('{"error":"method not allowed"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(statsNow()));
      return;
    }
    const route = url.pathname === DELETE_PATH ? ([DELETE_PATH, 'delete', ''] as const) : ROUTE.exec(url.pathname);
    if (!route) {
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'fail', error: { message: 'Not Found', type: 'Not Found' } }));
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' }).end(
        JSON.stringify({ status: 'fail', error: { message: 'Method Not Allowed', type: 'Method Not Allowed' } }),
      );
      return;
    }
    const api: ApiKind = route[1] === 'delete' ? 'delete' : route[1] === 'customer' ? 'customer' : route[1] === 'event' ? 'event' : 'bulk';
    const pathWorkspace = decodeURIComponent(route[2] ?? '');
    counters.requests++;
    const requestId = newRequestId();
    const raw = await readBody(req);

    let fault = nextFault();
    if (fault) counters.faultsInjected++;
    if (fault?.kind === 'delay') {
      await wait(fault.ms);
      if (res.destroyed) return;
      fault = undefined;
    }

    if (fault && (fault.kind === 'timeout' || fault.kind === 'reset')) {
      if (fault.acceptFirst) evaluate(req, api, pathWorkspace, url.searchParams, raw, requestId);
      if (fault.kind === 'reset') {
        counters.resets++;
        req.socket.destroy();
      } else {
        counters.timeouts++;
        held.add(res);
        res.on('close', () => held.delete(res));
      }
      return;
    }
    // The modelled response time: the request is judged (and counted against the rate limit) on
    // arrival, as MoEngage counts it; the answer leaves after the drawn delay.
    const delayMs = latency ? Math.max(0, latency()) : 0;
    if (fault) {
      const status = fault.status;
      const headers: Record<string, string> = { ...rateHeaders(api), ...(fault.headers ?? {}) };
      if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
      if (status === 429) counters.rateLimited++;
      if (delayMs > 0) await wait(delayMs);
      if (res.destroyed) return;
      send(res, status, fault.body ?? defaultBodyFor(status, requestId), headers);
      return;
    }

    const answer = evaluate(req, api, pathWorkspace, url.searchParams, raw, requestId);
    // A refusal for the rate limit leaves at once: it costs the server nothing, and its Retry-After
    // names the end of the window the request was refused in. Written after the modelled delay,
    // it would name the end of the next window whenever the delay crossed into it, and tell the
    // sender to sit out a whole window it may use (BENCHMARKS.md figure 3 showed such a window of 0).
    if (delayMs > 0 && answer.status !== 429) {
      await wait(delayMs);
      if (res.destroyed) return;
      send(res, answer.status, answer.body, freshRateHeaders(api, answer.headers));
      return;
    }
    send(res, answer.status, answer.body, answer.headers);
  }

  /** A delayed answer states the rate-limit window as it is when the answer is written, as a server writes its headers. */
  function freshRateHeaders(api: ApiKind, headers: Record<string, string> | undefined): Record<string, string> | undefined {
    if (!headers || headers['x-ratelimit-limit'] === undefined) return headers;
    const fresh = rateHeaders(api);
    const out = { ...headers, ...fresh };
    return out;
  }

  function wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, ERROR_BODIES.serverError(newRequestId()));
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  let closed = false;

  return {
    url,
    port,
    workspaceId,
    apiKey,
    accepted,
    get requests() {
      return counters.requests;
    },
    faults,
    get mode() {
      return mode;
    },
    setMode(next, options) {
      mode = next;
      rejectBody = options?.body;
    },
    users: () => users,
    profiles() {
      const out = new Map<string, Record<string, unknown>>();
      for (const [key, user] of users) out.set(key, structuredClone(user.attributes));
      return out;
    },
    deletes: () => deleteCounts,
    deletions,
    dropped,
    stats: statsNow,
    reset() {
      accepted.length = 0;
      users.clear();
      deletions.length = 0;
      dropped.length = 0;
      deleteCounts.clear();
      faults.clear();
      mode = 'accept';
      rejectBody = undefined;
      limiters.customer.reset();
      limiters.bulk.reset();
      limiters.delete.reset();
      limiters.event.reset();
      counters.requests = 0;
      counters.acceptedRequests = 0;
      counters.acceptedUsers = 0;
      counters.deletes = 0;
      counters.droppedElements = 0;
      counters.rateLimited = 0;
      counters.faultsInjected = 0;
      counters.resets = 0;
      counters.timeouts = 0;
      counters.byStatus = {};
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const res of held) res.destroy();
      held.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The local run's control routes (local/http.ts serves them, local/dev.ts wires them)
// ---------------------------------------------------------------------------------------------

const MODES: readonly EmulatorMode[] = ['accept', 'reject', 'blocked'];

/**
 * `POST /_dev/moengage/mode`: `mode` switches the emulator's mode, `userRules` replaces its
 * per-user fault rules (`[]` removes them). Validated as a whole first: a request with one bad
 * part changes nothing. Answers the state in force (`mode`, `userRules`).
 */
export function applyMoEngageMode(
  emulator: MoEngageEmulator,
  request: { mode?: unknown; userRules?: unknown },
): { ok: true; state: { mode: EmulatorMode; userRules: UserFaultRule[] } } | { ok: false; message: string } {
  const { mode, userRules } = request;
  if (mode !== undefined && !MODES.includes(mode as EmulatorMode)) return { ok: false, message: `unknown mode ${JSON.stringify(mode)?.slice(0, 40)}` };
  let rules: UserFaultRule[] | undefined;
  if (userRules !== undefined) {
    if (!Array.isArray(userRules)) return { ok: false, message: 'userRules must be a list of rules' };
    rules = [];
    for (const [i, input] of userRules.entries()) {
      const checked = parseUserFaultRule(input);
      if (!checked.ok) return { ok: false, message: `userRules.${i}: ${checked.message}` };
      rules.push(checked.rule);
    }
  }
  if (mode !== undefined) emulator.setMode(mode as EmulatorMode);
  if (rules) emulator.faults.setUserRules(rules);
  return { ok: true, state: { mode: emulator.mode, userRules: emulator.faults.userRules.map((r) => ({ ...r })) } };
}

/**
 * `GET /_dev/moengage/profiles`: every profile the emulated MoEngage holds (user key ->
 * attributes, raw: this is the local run's own MoEngage) and the Delete User calls per customer_id.
 */
export function moengageProfiles(emulator: MoEngageEmulator): {
  profiles: Record<string, Record<string, unknown>>;
  deletes: Record<string, number>;
} {
  return { profiles: Object.fromEntries(emulator.profiles()), deletes: Object.fromEntries(emulator.deletes()) };
}
