import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/config';
import { RateLimiter, type RateLimiterOptions } from '../../functions/core/moengage/rate-limit';

/**
 * A fake clock: sleeping advances it, nothing really waits. The clock moves on a later
 * macrotask, so that everything already resolved observes the time it was resolved at.
 */
function fakeTime(start = 1_700_000_000_000) {
  const clock = { t: start, sleeps: [] as number[], onSleep: undefined as ((ms: number) => void) | undefined };
  return {
    clock,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.onSleep?.(ms);
      await new Promise<void>((resolve) => setImmediate(resolve));
      clock.t += ms;
    },
  };
}

function limiter(options: Partial<RateLimiterOptions> & { capacityPerMinute: number }) {
  const time = fakeTime();
  const rl = new RateLimiter({ now: time.now, sleep: time.sleep, ...options });
  return { rl, ...time, start: time.clock.t };
}

/** Starts acquirers together; resolves with the (relative) time each one got its tokens. */
async function timesOf(rl: RateLimiter, clock: { t: number }, start: number, ns: number[]): Promise<number[]> {
  return Promise.all(ns.map((n) => rl.acquire(n).then(() => clock.t - start)));
}

describe('RateLimiter: token bucket', () => {
  it('lets a burst through without sleeping, then paces at the configured rate, first come first served', async () => {
    const { rl, clock, start } = limiter({ capacityPerMinute: 60, burst: 3 }); // 1 per second
    const times = await timesOf(rl, clock, start, [1, 1, 1, 1, 1, 1]);
    expect(times).toEqual([0, 0, 0, 1000, 2000, 3000]);
    // one sleep per waiter: no busy loop
    expect(clock.sleeps).toEqual([1000, 1000, 1000]);
  });

  it('defaults the burst to ten seconds of capacity', () => {
    expect(new RateLimiter({ capacityPerMinute: 600, now: () => 0, sleep: async () => undefined }).burst).toBe(100);
    expect(new RateLimiter({ capacityPerMinute: 1, now: () => 0, sleep: async () => undefined }).burst).toBe(1);
  });

  it('refills with time and never beyond the burst', async () => {
    const { rl, clock, start } = limiter({ capacityPerMinute: 60, burst: 2 });
    await timesOf(rl, clock, start, [1, 1]);
    clock.t += 60_000; // a long idle minute
    expect(rl.expectedWaitMs(2)).toBe(0);
    const times = await timesOf(rl, clock, clock.t, [1, 1, 1]);
    expect(times).toEqual([0, 0, 1000]);
  });

  it('serves multi-token requests and lets a request larger than the burst run into debt', async () => {
    const { rl, clock, start } = limiter({ capacityPerMinute: 600, burst: 10 }); // 10 per second
    const times = await timesOf(rl, clock, start, [4, 4, 25, 1]);
    // 8 taken; 25 waits for a full bucket (10 tokens: 0.8 s), takes 25 (debt -15); 1 waits for 1.6 s of refill
    expect(times).toEqual([0, 0, 800, 2400]);
    expect(clock.sleeps.every((ms) => ms >= 1)).toBe(true);
  });

  it('ignores non-positive requests', async () => {
    const { rl, clock, start } = limiter({ capacityPerMinute: 60, burst: 1 });
    await rl.acquire(0);
    await rl.acquire(-3);
    // the one token is still there (not taken by 0, not multiplied by -3): then 1 per second
    expect(await timesOf(rl, clock, start, [1, 1])).toEqual([0, 1000]);
  });

  it('refuses nonsensical configurations', () => {
    const base = { now: () => 0, sleep: async () => undefined };
    expect(() => new RateLimiter({ ...base, capacityPerMinute: 0 })).toThrow(ConfigError);
    expect(() => new RateLimiter({ ...base, capacityPerMinute: Number.NaN })).toThrow(ConfigError);
    expect(() => new RateLimiter({ ...base, capacityPerMinute: 10, burst: 0.5 })).toThrow(ConfigError);
    expect(() => new RateLimiter({ ...base, capacityPerMinute: 10, share: 0 })).toThrow(ConfigError);
    expect(() => new RateLimiter({ ...base, capacityPerMinute: 10, share: 1.5 })).toThrow(ConfigError);
  });

  it('rejects the waiters instead of hanging when sleep fails', async () => {
    let t = 0;
    const rl = new RateLimiter({
      capacityPerMinute: 60,
      burst: 1,
      now: () => t,
      sleep: () => Promise.reject(new Error('timer gone')),
    });
    await rl.acquire();
    await expect(rl.acquire()).rejects.toThrow('timer gone');
    t += 1000;
    await expect(rl.acquire()).resolves.toBeUndefined();
  });
});

describe('RateLimiter: penalize (429)', () => {
  it('pauses every acquirer for Retry-After, then resumes paced, not in a burst', async () => {
    const { rl, clock, start } = limiter({ capacityPerMinute: 60, burst: 5 });
    rl.penalize(5_000);
    // the pause, then an empty bucket: the first token exists 1 s after the pause ends
    expect(rl.expectedWaitMs()).toBe(6_000);
    const times = await timesOf(rl, clock, start, [1, 1, 1]);
    expect(times).toEqual([6_000, 7_000, 8_000]);
    expect(rl.expectedWaitMs()).toBe(1_000); // paused no longer: the configured pace
  });

  it('a penalty arriving while a waiter sleeps is honoured when it wakes', async () => {
    const { rl, clock, start } = limiter({ capacityPerMinute: 60, burst: 1 });
    await rl.acquire(); // empties the bucket
    let penalized = false;
    clock.onSleep = () => {
      if (!penalized) {
        penalized = true;
        rl.penalize(10_000); // at start + 0, while the waiter sleeps its 1 s
      }
    };
    const times = await timesOf(rl, clock, start, [1, 1]);
    expect(times).toEqual([11_000, 12_000]);
  });

  it('uses the default penalty without Retry-After and never shortens a longer pause', async () => {
    const { rl, start, clock } = limiter({ capacityPerMinute: 60, defaultPenaltyMs: 2_500 });
    rl.penalize();
    expect(rl.expectedWaitMs()).toBe(2_500 + 1_000); // the pause, then one token at 1 per second
    rl.penalize(30_000);
    rl.penalize(1_000);
    expect(rl.expectedWaitMs()).toBe(30_000 + 1_000);
    await rl.acquire();
    expect(clock.t - start).toBeGreaterThanOrEqual(30_000);
  });
});

describe('RateLimiter: observe (proactive pacing)', () => {
  it('leaves the pace alone while plenty is left', async () => {
    const { rl } = limiter({ capacityPerMinute: 600 });
    rl.observe(new Headers({ 'x-ratelimit-limit': '10000', 'x-ratelimit-remaining': '9000', 'x-ratelimit-reset': '30' }));
    expect(rl.expectedWaitMs(100)).toBe(0); // the whole burst
    await rl.acquire(100);
    expect(rl.expectedWaitMs(1)).toBe(100); // then 600 a minute
  });

  it('paces the remaining budget over the time until the reset, then returns to the configured pace', async () => {
    const { rl, clock, start } = limiter({ capacityPerMinute: 600, burst: 100 });
    rl.observe({ limit: 1000, remaining: 10, resetMs: 60_000 });
    expect(rl.expectedWaitMs(10)).toBe(0); // no burst beyond what MoEngage has left
    expect(rl.expectedWaitMs(11)).toBeCloseTo(6_000); // then 10 tokens over the minute left
    const times = await timesOf(rl, clock, start, Array(13).fill(1));
    expect(times.slice(0, 10)).toEqual(Array(10).fill(0));
    expect(times.slice(10)).toEqual([6_000, 12_000, 18_000]);
    clock.t = start + 120_000; // the window reset long ago: a full bucket, the configured pace
    await rl.acquire(100);
    expect(rl.expectedWaitMs(1)).toBeCloseTo(100);
  });

  it('pauses until the reset when nothing is left', async () => {
    const { rl, clock, start } = limiter({ capacityPerMinute: 600 });
    rl.observe(new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '30' }));
    expect(rl.expectedWaitMs()).toBe(30_000 + 100); // the reset, then one token at 10 per second
    await rl.acquire();
    expect(clock.t - start).toBeGreaterThanOrEqual(30_000);
  });

  it('uses only its share of the remaining budget', () => {
    const { rl } = limiter({ capacityPerMinute: 6000, share: 0.25 });
    rl.observe({ remaining: 400, resetMs: 60_000 });
    expect(rl.expectedWaitMs(100)).toBe(0); // a quarter of 400 now
    expect(rl.expectedWaitMs(101)).toBeCloseTo(600); // then 100 a minute
  });

  it('ignores answers without rate-limit information', async () => {
    const { rl } = limiter({ capacityPerMinute: 600 });
    rl.observe(undefined);
    rl.observe(new Headers({ 'content-type': 'application/json' }));
    rl.observe({ limit: 5 });
    expect(rl.expectedWaitMs(100)).toBe(0); // the whole burst, no pause
    await rl.acquire(100);
    expect(rl.expectedWaitMs(1)).toBe(100); // then 600 a minute
  });

  it('keeps a misconfigured sender under a MoEngage fixed-window limit: no 429, near-full use', async () => {
    // MoEngage allows 600 per minute (fixed windows); the sender was configured for 1200 per minute.
    const { rl, clock, start } = limiter({ capacityPerMinute: 1200, burst: 200 });
    const LIMIT = 600;
    const counts = new Map<number, number>();
    let throttled = 0;
    let sent = 0;
    const horizon = start + 5 * 60_000;
    while (clock.t < horizon) {
      await rl.acquire();
      if (clock.t >= horizon) break;
      const window = Math.floor((clock.t - start) / 60_000);
      const count = (counts.get(window) ?? 0) + 1;
      counts.set(window, count);
      const resetSeconds = Math.ceil((start + (window + 1) * 60_000 - clock.t) / 1000);
      if (count > LIMIT) {
        throttled++;
        rl.penalize(resetSeconds * 1000);
        continue;
      }
      sent++;
      clock.t += 5; // request latency
      rl.observe(new Headers({ 'x-ratelimit-limit': String(LIMIT), 'x-ratelimit-remaining': String(LIMIT - count), 'x-ratelimit-reset': String(resetSeconds) }));
    }
    expect(throttled).toBe(0);
    expect(sent).toBeGreaterThan(0.9 * 5 * LIMIT);
  });
});
