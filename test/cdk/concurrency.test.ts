import { describe, expect, it } from 'vitest';
import {
  BULK_IMPORT_LIMIT_PER_MINUTE,
  deriveSenderConcurrency,
  MAX_SENDER_CONCURRENCY,
  MIN_SENDER_CONCURRENCY,
  TRACK_USER_LIMIT_PER_MINUTE,
} from '../../lib/concurrency';

describe('deriveSenderConcurrency', () => {
  it('uses MoEngage documented workspace limits', () => {
    expect(TRACK_USER_LIMIT_PER_MINUTE).toBe(10_000);
    expect(BULK_IMPORT_LIMIT_PER_MINUTE).toBe(60_000);
  });

  it('Track User at 300 ms with 4 requests per invocation: ceil(166.67 × 0.3 / 4) = 13', () => {
    expect(deriveSenderConcurrency({ limitPerMinute: 10_000, latencyMs: 300, parallelism: 4 })).toBe(13);
  });

  it('Bulk Import, one request of 10 users per invocation: ceil(1000 / 10 × 0.3) = 30', () => {
    expect(deriveSenderConcurrency({ limitPerMinute: 60_000, latencyMs: 300, parallelism: 1, usersPerRequest: 10 })).toBe(30);
  });

  it('grows with latency and shrinks with parallelism (Little\'s law)', () => {
    const base = { limitPerMinute: 10_000, parallelism: 4 };
    expect(deriveSenderConcurrency({ ...base, latencyMs: 600 })).toBe(25); // 166.67 × 0.6 / 4 = 25
    expect(deriveSenderConcurrency({ ...base, latencyMs: 1200 })).toBe(50);
    expect(deriveSenderConcurrency({ ...base, latencyMs: 300, parallelism: 8 })).toBe(7); // 6.25 → 7
    expect(deriveSenderConcurrency({ ...base, latencyMs: 300, parallelism: 1 })).toBe(50);
  });

  it('an exact quotient is not rounded up by floating-point noise', () => {
    // 6,000/min = 100/s; × 0.3 s = 30 in flight; / 3 = exactly 10.
    expect(deriveSenderConcurrency({ limitPerMinute: 6_000, latencyMs: 300, parallelism: 3 })).toBe(10);
    // 0.1 + 0.2 style: 12,000/min × 0.7 s = 140 in flight / 7 = 20.
    expect(deriveSenderConcurrency({ limitPerMinute: 12_000, latencyMs: 700, parallelism: 7 })).toBe(20);
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
