import { describe, expect, it } from 'vitest';
import { deriveSenderConcurrency, expectedSlowestMs } from '../../lib/concurrency';
import { resource, synthAdapter } from './synth';

/**
 * The standard normal quantile, by Acklam's rational approximation (relative error < 1.2e-9):
 * an implementation independent of lib/concurrency.ts, which goes the other way (the CDF, by erf).
 */
function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/**
 * E[max of k] response times, lognormal with this median and p99, as ∫₀¹ Q(u) d(uᵏ) (Q the
 * quantile function: the slowest of k is at quantile u with density k·uᵏ⁻¹), by the midpoint rule.
 */
function slowestOfK(medianMs: number, p99Ms: number, k: number): number {
  const sigma = Math.log(p99Ms / medianMs) / normalQuantile(0.99);
  const steps = 200_000;
  let sum = 0;
  for (let i = 0; i < steps; i++) {
    const u = (i + 0.5) / steps;
    sum += k * u ** (k - 1) * medianMs * Math.exp(sigma * normalQuantile(u));
  }
  return sum / steps;
}

/**
 * lib/concurrency.ts's model written out: invocations/s × invocation time × 1.25, up. The
 * invocation's time besides MoEngage: 100 ms, plus 3 ms of CPU per message at the memory's CPU
 * share (one vCPU at 1,769 MB).
 */
function byHand(o: {
  limitPerMinute: number;
  medianMs: number;
  p99Ms: number;
  usersPerRequest: number;
  requests: number;
  parallelism: number;
  memoryMb: number;
}): number {
  const k = Math.min(o.parallelism, o.requests);
  const mean = slowestOfK(o.medianMs, o.p99Ms, 1);
  const overheadMs = 100 + (3 * o.requests * o.usersPerRequest * 1769) / o.memoryMb;
  // a pool of k workers over `requests` requests: requests / k mean response times, then the wait for the slowest of the last k
  const invocationSeconds = ((o.requests / k) * mean + (slowestOfK(o.medianMs, o.p99Ms, k) - mean) + overheadMs) / 1000;
  const invocationsPerSecond = o.limitPerMinute / 60 / o.usersPerRequest / o.requests;
  return Math.ceil(invocationsPerSecond * invocationSeconds * 1.25);
}

describe('deriveSenderConcurrency', () => {
  it('the independent quantile function agrees with published values', () => {
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 8);
    expect(normalQuantile(0.99)).toBeCloseTo(2.326347874, 8);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306, 8);
  });

  it('the expected slowest of k lognormal response times, against an independent integration', () => {
    for (const [median, p99] of [
      [300, 1500],
      [600, 3000],
      [100, 250],
    ] as const) {
      // k = 1: the mean, median × exp(σ² / 2) in closed form
      const sigma = Math.log(p99 / median) / normalQuantile(0.99);
      expect(expectedSlowestMs(median, p99, 1) / (median * Math.exp(sigma ** 2 / 2))).toBeCloseTo(1, 3);
      for (const k of [2, 4, 10, 64]) expect(expectedSlowestMs(median, p99, k) / slowestOfK(median, p99, k)).toBeCloseTo(1, 3);
    }
    // Median 300 ms, p99 1.5 s: the mean is 381 ms, the slowest of 10 949 ms.
    expect(expectedSlowestMs(300, 1500, 1)).toBeCloseTo(381.1, 0);
    expect(expectedSlowestMs(300, 1500, 10)).toBeCloseTo(949.3, 0);
    // A constant response time: the slowest is the median.
    expect(expectedSlowestMs(300, 300, 10)).toBe(300);
    // More requests at once, a longer wait for the slowest.
    expect(expectedSlowestMs(300, 1500, 20)).toBeGreaterThan(expectedSlowestMs(300, 1500, 10));
  });

  it('Track User, batches of 10 all in flight (the default): 16.67/s × (0.949 + 0.1) s × 1.25 = 21.9 → 22', () => {
    expect(deriveSenderConcurrency({ limitPerMinute: 10_000, latencyMs: 300, latencyP99Ms: 1500, parallelism: 10, requestsPerInvocation: 10 })).toBe(22);
  });

  it('Track User, 4 at a time over 10: 16.67/s × (2.5 × 0.381 + (0.692 − 0.381) + 0.1) s × 1.25 = 28.4 → 29', () => {
    expect(deriveSenderConcurrency({ limitPerMinute: 10_000, latencyMs: 300, latencyP99Ms: 1500, parallelism: 4, requestsPerInvocation: 10 })).toBe(29);
  });

  it('Bulk Import, one request of 100 users per invocation: 10/s × (0.381 + 0.1) s × 1.25 = 6.0 → 7', () => {
    expect(
      deriveSenderConcurrency({ limitPerMinute: 60_000, latencyMs: 300, latencyP99Ms: 1500, parallelism: 1, usersPerRequest: 100, requestsPerInvocation: 1 }),
    ).toBe(7);
  });

  it('the sender\'s CPU share: 3 ms per message at memory / 1,769 of a vCPU lengthens each invocation (customer 128 MB: + 415 ms → 31; bulk 256 MB: + 2,073 ms → 32)', () => {
    const customer = { limitPerMinute: 10_000, latencyMs: 300, latencyP99Ms: 1500, parallelism: 10, requestsPerInvocation: 10 };
    const bulk = { limitPerMinute: 60_000, latencyMs: 300, latencyP99Ms: 1500, parallelism: 1, usersPerRequest: 100, requestsPerInvocation: 1 };
    // 16.67/s × (0.949 + 0.1 + 0.003 × 10 × 1769 / 128) s × 1.25 = 30.5
    expect(deriveSenderConcurrency({ ...customer, memoryMb: 128 })).toBe(31);
    // 10/s × (0.381 + 0.1 + 0.003 × 100 × 1769 / 256) s × 1.25 = 31.9
    expect(deriveSenderConcurrency({ ...bulk, memoryMb: 256 })).toBe(32);
    // More memory, a larger CPU share, fewer invocations; never fewer than without the CPU term.
    expect(deriveSenderConcurrency({ ...customer, memoryMb: 1024 })).toBeLessThan(deriveSenderConcurrency({ ...customer, memoryMb: 128 }));
    expect(deriveSenderConcurrency({ ...customer, memoryMb: 10_240 })).toBeGreaterThanOrEqual(deriveSenderConcurrency(customer));
    expect(() => deriveSenderConcurrency({ ...customer, memoryMb: 0 })).toThrow(/memoryMb/);
  });

  it('without spread, overhead or headroom it is the plain Little\'s law: requests/s × latency / parallelism', () => {
    const plain = { overheadMs: 0, headroom: 1 };
    expect(deriveSenderConcurrency({ limitPerMinute: 10_000, latencyMs: 300, parallelism: 4, ...plain })).toBe(13); // 12.5 → 13
    expect(deriveSenderConcurrency({ limitPerMinute: 10_000, latencyMs: 600, parallelism: 4, ...plain })).toBe(25);
    expect(deriveSenderConcurrency({ limitPerMinute: 60_000, latencyMs: 300, parallelism: 1, usersPerRequest: 10, ...plain })).toBe(30);
    // Exact quotients are not rounded up by floating-point noise: 100/s × 0.3 s / 3 = 10; 200/s × 0.7 s / 7 = 20.
    expect(deriveSenderConcurrency({ limitPerMinute: 6_000, latencyMs: 300, parallelism: 3, ...plain })).toBe(10);
    expect(deriveSenderConcurrency({ limitPerMinute: 12_000, latencyMs: 700, parallelism: 7, ...plain })).toBe(20);
  });

  it('grows with the latency and its spread, shrinks with parallelism', () => {
    const base = { limitPerMinute: 10_000, latencyMs: 300, latencyP99Ms: 1500, parallelism: 10, requestsPerInvocation: 10 };
    expect(deriveSenderConcurrency({ ...base, latencyMs: 600 })).toBeGreaterThan(deriveSenderConcurrency(base));
    expect(deriveSenderConcurrency({ ...base, latencyP99Ms: 3000 })).toBeGreaterThan(deriveSenderConcurrency(base));
    expect(deriveSenderConcurrency({ ...base, parallelism: 2 })).toBeGreaterThan(deriveSenderConcurrency(base));
  });

  it('clamps to Lambda\'s SQS event source bounds [2, 1000]', () => {
    expect(deriveSenderConcurrency({ limitPerMinute: 60, latencyMs: 10, parallelism: 64 })).toBe(2);
    expect(deriveSenderConcurrency({ limitPerMinute: 10_000_000, latencyMs: 5_000, parallelism: 1 })).toBe(1000);
  });

  it('rejects non-positive or non-finite inputs, naming the input', () => {
    expect(() => deriveSenderConcurrency({ limitPerMinute: 0, latencyMs: 300, parallelism: 4 })).toThrow(/limitPerMinute/);
    expect(() => deriveSenderConcurrency({ limitPerMinute: 10_000, latencyMs: -1, parallelism: 4 })).toThrow(/latencyMs/);
    expect(() => deriveSenderConcurrency({ limitPerMinute: 10_000, latencyMs: 300, parallelism: Number.NaN })).toThrow(/parallelism/);
    expect(() => deriveSenderConcurrency({ limitPerMinute: 10_000, latencyMs: 300, parallelism: 4, usersPerRequest: 0 })).toThrow(/usersPerRequest/);
    expect(() => deriveSenderConcurrency({ limitPerMinute: 10_000, latencyMs: 300, latencyP99Ms: 200, parallelism: 4 })).toThrow(/latencyP99Ms/);
    expect(() => deriveSenderConcurrency({ limitPerMinute: 10_000, latencyMs: 300, parallelism: 4, overheadMs: -1 })).toThrow(/overheadMs/);
    expect(() => deriveSenderConcurrency({ limitPerMinute: 10_000, latencyMs: 300, parallelism: 4, headroom: 0 })).toThrow(/headroom/);
  });

  it('is monotonic: more budget never means fewer invocations', () => {
    let previous = 0;
    for (let limit = 1_000; limit <= 200_000; limit += 7_919) {
      const n = deriveSenderConcurrency({ limitPerMinute: limit, latencyMs: 300, parallelism: 4 });
      expect(n).toBeGreaterThanOrEqual(previous);
      previous = n;
    }
  });
});

describe("the template's sender maxConcurrency, against the model worked by hand", () => {
  const maxConcurrency = (context: Record<string, unknown>): unknown =>
    resource(synthAdapter(context), 'AWS::Lambda::EventSourceMapping', 'AdapterSender').props.ScalingConfig?.MaximumConcurrency;

  it('defaults (Track User 10,000/min, FIFO batches of 10 all in flight, median 300 ms, p99 1.5 s, 128 MB): 31', () => {
    const expected = byHand({ limitPerMinute: 10_000, medianMs: 300, p99Ms: 1_500, usersPerRequest: 1, requests: 10, parallelism: 10, memoryMb: 128 });
    expect(expected).toBe(31);
    expect(maxConcurrency({})).toBe(expected);
  });

  it('a slower MoEngage (median 600 ms, p99 4 s), 4 requests at a time, 512 MB: the model at those settings', () => {
    const expected = byHand({ limitPerMinute: 10_000, medianMs: 600, p99Ms: 4_000, usersPerRequest: 1, requests: 10, parallelism: 4, memoryMb: 512 });
    expect(expected).toBeGreaterThan(31);
    expect(maxConcurrency({ expectedMoEngageLatencyMs: '600', expectedMoEngageLatencyP99Ms: '4000', senderParallelism: '4', senderMemoryMb: '512' })).toBe(expected);
  });

  it('bulk mode (Bulk Import 60,000/min, one request of 100 users per invocation, 256 MB): 32', () => {
    const expected = byHand({ limitPerMinute: 60_000, medianMs: 300, p99Ms: 1_500, usersPerRequest: 100, requests: 1, parallelism: 1, memoryMb: 256 });
    expect(expected).toBe(32);
    expect(maxConcurrency({ deliveryMode: 'bulk' })).toBe(expected);
  });
});
