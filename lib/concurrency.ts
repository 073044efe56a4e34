/**
 * How many sender invocations may run at once (the SQS event source's maxConcurrency).
 * Pure: no CDK here, so the formula is unit-tested on its own.
 */

/** MoEngage's documented per-workspace ceiling for Track User: user updates per minute. */
export const TRACK_USER_LIMIT_PER_MINUTE = 10_000;
/** MoEngage's documented per-workspace ceiling for Bulk Import: users per minute. */
export const BULK_IMPORT_LIMIT_PER_MINUTE = 60_000;

/** Lambda's bounds for an SQS event source's maximum concurrency. */
export const MIN_SENDER_CONCURRENCY = 2;
export const MAX_SENDER_CONCURRENCY = 1000;

export interface SenderConcurrencyInput {
  /** Users per minute MoEngage accepts for the workspace (Track User 10,000; Bulk Import 60,000). */
  limitPerMinute: number;
  /** Expected MoEngage response time of one request, in milliseconds (e.g. 300). */
  latencyMs: number;
  /** MoEngage requests one invocation keeps in flight at once (SENDER_PARALLELISM; 1 in bulk mode). */
  parallelism: number;
  /** Users carried by one request: 1 for Track User, the batch size for Bulk Import. Default 1. */
  usersPerRequest?: number;
}

/**
 * The sender's maxConcurrency: just enough invocations to use the workspace's whole MoEngage
 * budget, and no more (more would only collect 429s).
 *
 * By Little's law, the number of requests in flight needed to sustain a throughput is
 * `requests per second × seconds per request`. So:
 *
 * ```
 * requestsPerSecond   = (limitPerMinute / 60) / usersPerRequest
 * requestsInFlight    = requestsPerSecond × (latencyMs / 1000)
 * maxConcurrency      = ceil(requestsInFlight / parallelism), clamped to [2, 1000]
 * ```
 *
 * Examples (latency 300 ms):
 * - Track User (`customer` mode), 10,000/min, parallelism 4: 166.7 × 0.3 / 4 = 12.5 → **13**.
 * - Bulk Import (`bulk` mode), 60,000/min, batches of 10 users in one request each,
 *   parallelism 1: 1,000 / 10 × 0.3 / 1 = 30 → **30**.
 *
 * The lower bound 2 is Lambda's minimum for an SQS event source; the upper bound 1,000 its maximum.
 * The sender paces itself at `limitPerMinute / maxConcurrency` per container, so a larger value
 * than needed does not exceed MoEngage's limit, it only spreads the budget thinner.
 */
export function deriveSenderConcurrency(input: SenderConcurrencyInput): number {
  const { limitPerMinute, latencyMs, parallelism } = input;
  const usersPerRequest = input.usersPerRequest ?? 1;
  for (const [name, value] of [
    ['limitPerMinute', limitPerMinute],
    ['latencyMs', latencyMs],
    ['parallelism', parallelism],
    ['usersPerRequest', usersPerRequest],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`deriveSenderConcurrency: ${name} must be a positive number, not ${String(value)}`);
    }
  }
  const requestsPerSecond = limitPerMinute / 60 / usersPerRequest;
  const requestsInFlight = requestsPerSecond * (latencyMs / 1000);
  // Round away floating-point noise (e.g. 12.000000000000002) before taking the ceiling.
  const invocations = Math.ceil(Math.round((requestsInFlight / parallelism) * 1e9) / 1e9);
  return Math.min(MAX_SENDER_CONCURRENCY, Math.max(MIN_SENDER_CONCURRENCY, invocations));
}
