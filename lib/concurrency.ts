/**
 * How many sender invocations may run at once (the SQS event source's maxConcurrency).
 * Pure: no CDK here, so the formula is unit-tested on its own.
 */

/**
 * The sender's memory when none is configured, in MB. The sender waits on MoEngage for almost
 * all of its invocation, and Lambda bills that wait by memory: customer mode (batches of at most
 * 10 messages) runs in 128 MB; bulk mode, whose batches hold up to 100 messages (up to 6 MB of
 * payload), gets 256 MB. BENCHMARKS.md figure 5 prices the measured runs at other sizes.
 */
export function defaultSenderMemoryMb(deliveryMode: 'customer' | 'bulk'): number {
  return deliveryMode === 'bulk' ? 256 : 128;
}

/** Lambda's bounds for an SQS event source's maximum concurrency. */
export const MIN_SENDER_CONCURRENCY = 2;
export const MAX_SENDER_CONCURRENCY = 1000;

export interface SenderConcurrencyInput {
  /** Users per minute MoEngage accepts for the workspace (Track User 10,000; Bulk Import 60,000). */
  limitPerMinute: number;
  /** MoEngage's median response time of one request, in milliseconds (e.g. 300). */
  latencyMs: number;
  /**
   * MoEngage's 99th-percentile response time, in milliseconds (e.g. 1,500): with the median it
   * fixes a lognormal distribution. Default: `latencyMs` (every request takes the median).
   */
  latencyP99Ms?: number;
  /** MoEngage requests one invocation keeps in flight at once (SENDER_PARALLELISM). */
  parallelism: number;
  /** Users carried by one request: 1 for Track User, the batch size for Bulk Import. Default 1. */
  usersPerRequest?: number;
  /** MoEngage requests one invocation makes: the batch size for Track User, 1 for Bulk Import. Default: `parallelism`. */
  requestsPerInvocation?: number;
  /**
   * The sender's memory in MB. Lambda gives a function CPU in proportion to its memory (one vCPU
   * at 1,769 MB), and the sender's CPU work per message (decoding, the AWS SDK's state-table
   * calls, logs) takes longer at a small share. Absent: the CPU work is left out (the construct
   * always passes the sender's memory).
   */
  memoryMb?: number;
  /**
   * Time an invocation spends besides waiting on MoEngage, in ms. Default: 100 ms (SQS, the state
   * table's round trips) + SENDER_CPU_MS_PER_MESSAGE per message at the memory's CPU share.
   */
  overheadMs?: number;
  /** Spare capacity over the bare estimate, so that pacing, not latency, binds. Default 1.25. */
  headroom?: number;
}

/** Memory at which a Lambda function has the equivalent of one vCPU (AWS Lambda developer guide). */
export const MB_PER_VCPU = 1769;

/**
 * The sender's CPU time per message on one vCPU, in ms, as the deployed bundle spends it in a warm
 * container (BENCHMARKS.md figure 6: "CPU ms / invocation" over messages per invocation, state
 * store on): what a smaller CPU share stretches.
 */
const SENDER_CPU_MS_PER_MESSAGE = 3;

/** z of the standard normal distribution's 99th percentile. */
const Z99 = 2.3263478740408408;

/** The error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

/**
 * The expected longest of `k` response times drawn from the lognormal distribution with this
 * median and p99: how long `k` requests sent together keep an invocation waiting.
 * E[max] = ∫₀^∞ (1 − F(x)^k) dx, by the midpoint rule in steps of median / 200.
 */
export function expectedSlowestMs(medianMs: number, p99Ms: number, k: number): number {
  if (p99Ms <= medianMs || k <= 0) return medianMs;
  const sigma = Math.log(p99Ms / medianMs) / Z99;
  const cdf = (x: number) => 0.5 * (1 + erf(Math.log(x / medianMs) / (sigma * Math.SQRT2)));
  const step = medianMs / 200;
  let sum = 0;
  for (let x = step / 2; ; x += step) {
    const tail = 1 - cdf(x) ** k;
    sum += tail * step;
    if (x > p99Ms && tail < 1e-7) break;
  }
  return sum;
}

/**
 * The sender's maxConcurrency: enough invocations to use the workspace's whole MoEngage budget
 * at MoEngage's response time, with some headroom, and not many more (each container paces
 * itself at 1/maxConcurrency of the budget: far more would only spread it thinner).
 *
 * An invocation sends its `requestsPerInvocation` requests through a pool of `parallelism`
 * workers and lasts until the slowest has answered, so by Little's law:
 *
 * ```
 * invocationsPerSecond = (limitPerMinute / 60) / usersPerRequest / requestsPerInvocation
 * invocationMs         = (requests / k) × E[response time] + (E[slowest of k] − E[response time]) + overheadMs
 *                        (k = min(parallelism, requestsPerInvocation); all at once: E[slowest of k] + overheadMs)
 * maxConcurrency       = ceil(invocationsPerSecond × invocationMs / 1000 × headroom), clamped to [2, 1000]
 * ```
 *
 * overheadMs = 100 + SENDER_CPU_MS_PER_MESSAGE × messages per invocation × MB_PER_VCPU / memoryMb
 * (the CPU work at the memory's CPU share, counted as not overlapping the wait: conservative).
 *
 * Examples (median 300 ms, p99 1,500 ms; E[slowest of 10] = 949 ms, E[one] = 381 ms):
 * - Track User (`customer` mode), 10,000/min, batches of 10 all in flight, 128 MB: 16.67/s × (0.949 + 0.1 + 0.415) s × 1.25 = 30.5 → **31**.
 * - Bulk Import (`bulk` mode), 60,000/min, one request of 100 users per invocation, 256 MB: 10/s × (0.381 + 0.1 + 2.073) s × 1.25 = 31.9 → **32**.
 * Without the CPU term (memoryMb absent): 22 and 7; BENCHMARKS.md figure 6 measured the deployed
 * sender at 128 MB taking ~0.4 s longer per batch of 10, and bulk mode at 256 MB ~2 s longer per 100.
 *
 * Measured (BENCHMARKS.md, figure 3): the older formula, `requests/s × median / parallelism`
 * (13 for Track User with parallelism 4), reached about half the Track User limit at this
 * latency: it counted every request at the median and every invocation's pool as always full.
 *
 * The lower bound 2 is Lambda's minimum for an SQS event source; the upper bound 1,000 its maximum.
 */
export function deriveSenderConcurrency(input: SenderConcurrencyInput): number {
  const { limitPerMinute, latencyMs, parallelism } = input;
  const usersPerRequest = input.usersPerRequest ?? 1;
  const latencyP99Ms = input.latencyP99Ms ?? latencyMs;
  const requestsPerInvocation = input.requestsPerInvocation ?? parallelism;
  const { memoryMb } = input;
  if (memoryMb !== undefined && (!Number.isFinite(memoryMb) || memoryMb <= 0)) {
    throw new RangeError(`deriveSenderConcurrency: memoryMb must be a positive number, not ${String(memoryMb)}`);
  }
  const messagesPerInvocation = (input.requestsPerInvocation ?? parallelism) * usersPerRequest;
  const cpuMs = memoryMb === undefined ? 0 : SENDER_CPU_MS_PER_MESSAGE * messagesPerInvocation * (MB_PER_VCPU / memoryMb);
  const overheadMs = input.overheadMs ?? 100 + cpuMs;
  const headroom = input.headroom ?? 1.25;
  for (const [name, value] of [
    ['limitPerMinute', limitPerMinute],
    ['latencyMs', latencyMs],
    ['parallelism', parallelism],
    ['usersPerRequest', usersPerRequest],
    ['requestsPerInvocation', requestsPerInvocation],
    ['headroom', headroom],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`deriveSenderConcurrency: ${name} must be a positive number, not ${String(value)}`);
    }
  }
  if (!Number.isFinite(latencyP99Ms) || latencyP99Ms < latencyMs) {
    throw new RangeError(`deriveSenderConcurrency: latencyP99Ms must be a number ≥ latencyMs, not ${String(latencyP99Ms)}`);
  }
  if (!Number.isFinite(overheadMs) || overheadMs < 0) {
    throw new RangeError(`deriveSenderConcurrency: overheadMs must be a number ≥ 0, not ${String(overheadMs)}`);
  }
  const k = Math.min(parallelism, requestsPerInvocation);
  // A pool of k workers over n requests: n / k mean response times, plus the wait for the slowest of the last k.
  const meanMs = expectedSlowestMs(latencyMs, latencyP99Ms, 1);
  const invocationMs = (requestsPerInvocation / k) * meanMs + (expectedSlowestMs(latencyMs, latencyP99Ms, k) - meanMs) + overheadMs;
  const invocationsPerSecond = limitPerMinute / 60 / usersPerRequest / requestsPerInvocation;
  // Round away floating-point noise (e.g. 12.000000000000002) before taking the ceiling.
  const invocations = Math.ceil(Math.round(invocationsPerSecond * (invocationMs / 1000) * headroom * 1e9) / 1e9);
  return Math.min(MAX_SENDER_CONCURRENCY, Math.max(MIN_SENDER_CONCURRENCY, invocations));
}
