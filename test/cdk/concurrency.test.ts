import { describe, expect, it } from 'vitest';
import { BULK_IMPORT_LIMIT_PER_MINUTE, TRACK_USER_LIMIT_PER_MINUTE } from '../../functions/core/moengage/limits';
import { deriveSenderConcurrency, expectedSlowestMs, MAX_SENDER_CONCURRENCY, MIN_SENDER_CONCURRENCY } from '../../lib/concurrency';

describe('deriveSenderConcurrency', () => {
  it('uses MoEngage documented workspace limits', () => {
    expect(TRACK_USER_LIMIT_PER_MINUTE).toBe(10_000);
    expect(BULK_IMPORT_LIMIT_PER_MINUTE).toBe(60_000);
  });

  it('the expected slowest of k lognormal response times (median 300 ms, p99 1.5 s)', () => {
    // The mean, median × exp(σ² / 2), σ = ln 5 / z.99: 381 ms; the slowest of 10: 949 ms.
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
    expect(deriveSenderConcurrency({ limitPerMinute: 60, latencyMs: 10, parallelism: 64 })).toBe(MIN_SENDER_CONCURRENCY);
    expect(MIN_SENDER_CONCURRENCY).toBe(2);
    expect(deriveSenderConcurrency({ limitPerMinute: 10_000_000, latencyMs: 5_000, parallelism: 1 })).toBe(MAX_SENDER_CONCURRENCY);
    expect(MAX_SENDER_CONCURRENCY).toBe(1000);
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
