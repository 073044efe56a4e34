/**
 * MoEngage's rate-limit headers (`x-ratelimit-*`, or the IETF `ratelimit-*` names) and
 * Retry-After, parsed. Pure: the current time is a parameter (default Date.now()).
 */

export interface HeadersLike {
  get(name: string): string | null;
}

/** MoEngage's rate-limit headers, parsed. `resetMs`: milliseconds until the window resets. */
export interface RateLimitInfo {
  limit?: number;
  remaining?: number;
  resetMs?: number;
}

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
