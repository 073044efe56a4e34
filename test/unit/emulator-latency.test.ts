import { afterEach, describe, expect, it } from 'vitest';
import { lognormalLatency, parseLatencySpec, startMoEngageEmulator, type MoEngageEmulator } from '../../local/moengage-emulator';
import { emulatorLatencyFrom as resolveDevEmulatorLatency } from '../../local/dev';

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

describe('emulator latency model (lognormal from median and p99)', () => {
  it('draws with the configured median and p99 (200,000 seeded draws, within 2 % and 5 %)', () => {
    const draw = lognormalLatency({ medianMs: 300, p99Ms: 1500, seed: 7 });
    const xs = Array.from({ length: 200_000 }, draw).sort((a, b) => a - b);
    expect(quantile(xs, 0.5)).toBeGreaterThan(300 * 0.98);
    expect(quantile(xs, 0.5)).toBeLessThan(300 * 1.02);
    expect(quantile(xs, 0.99)).toBeGreaterThan(1500 * 0.95);
    expect(quantile(xs, 0.99)).toBeLessThan(1500 * 1.05);
    // The lognormal's mean, median × exp(σ² / 2), σ = ln 5 / z.99: 381 ms.
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean).toBeGreaterThan(381 * 0.98);
    expect(mean).toBeLessThan(381 * 1.02);
    expect(xs[0]).toBeGreaterThan(0);
  });

  it('is deterministic with a seed, and different seeds draw differently', () => {
    const a = Array.from({ length: 100 }, lognormalLatency({ medianMs: 300, p99Ms: 1500, seed: 42 }));
    const b = Array.from({ length: 100 }, lognormalLatency({ medianMs: 300, p99Ms: 1500, seed: 42 }));
    const c = Array.from({ length: 100 }, lognormalLatency({ medianMs: 300, p99Ms: 1500, seed: 43 }));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('is a constant when the median is the p99', () => {
    const draw = lognormalLatency({ medianMs: 120, p99Ms: 120 });
    expect(new Set(Array.from({ length: 50 }, draw))).toEqual(new Set([120]));
  });

  it('refuses impossible models', () => {
    expect(() => lognormalLatency({ medianMs: 300, p99Ms: 200 })).toThrow(/p99Ms must be a number ≥ medianMs/);
    expect(() => lognormalLatency({ medianMs: -1, p99Ms: 200 })).toThrow(/medianMs/);
    expect(() => lognormalLatency({ medianMs: 0, p99Ms: 200 })).toThrow(/needs a median above 0/);
    expect(() => lognormalLatency({ medianMs: 1, p99Ms: 2, seed: 1.5 })).toThrow(/seed must be an integer/);
  });

  it('parses MEDIAN[,P99[,SEED]]', () => {
    expect(parseLatencySpec('300')).toEqual({ medianMs: 300, p99Ms: 300 });
    expect(parseLatencySpec('300,1500')).toEqual({ medianMs: 300, p99Ms: 1500 });
    expect(parseLatencySpec(' 300 , 1500 , 9 ')).toEqual({ medianMs: 300, p99Ms: 1500, seed: 9 });
    for (const bad of ['', 'fast', '300,', '300,1500,1,2', '-5', '300,100']) expect(() => parseLatencySpec(bad), bad).toThrow(RangeError);
  });

  it('npm run dev reads MOENGAGE_EMULATOR_LATENCY_MS and names it when wrong', () => {
    expect(resolveDevEmulatorLatency({ MOENGAGE_EMULATOR_LATENCY_MS: '300,1500,1' })).toEqual({ medianMs: 300, p99Ms: 1500, seed: 1 });
    expect(resolveDevEmulatorLatency({})).toBeUndefined();
    expect(() => resolveDevEmulatorLatency({ MOENGAGE_EMULATOR_LATENCY_MS: 'slow' })).toThrow(/MOENGAGE_EMULATOR_LATENCY_MS: latency: expected/);
  });
});

/** One Track User call to the emulator with its own credentials. */
function trackUser(em: MoEngageEmulator): Promise<Response> {
  const auth = `Basic ${Buffer.from(`${em.workspaceId}:${em.apiKey}`).toString('base64')}`;
  return fetch(`${em.url}/v1/customer/${em.workspaceId}?app_id=${em.workspaceId}`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'customer', customer_id: 'u1', attributes: { name: 'A' } }),
  });
}

describe('emulator answers after the drawn response time', () => {
  let em: MoEngageEmulator | undefined;
  afterEach(async () => {
    await em?.close();
    em = undefined;
  });

  it('waits the sampled time on every API request, none on its own state route', async () => {
    let draws = 0;
    let acceptedAt = 0;
    em = await startMoEngageEmulator({
      port: 0,
      latency: () => {
        draws++;
        return 60;
      },
      // Judged on arrival (and counted against the rate limit then), answered after the delay.
      onAccepted: () => (acceptedAt = performance.now()),
    });
    const t = performance.now();
    const res = await trackUser(em);
    await res.text();
    // Timers never fire early by more than their millisecond rounding.
    const answeredAt = performance.now();
    expect(answeredAt - t).toBeGreaterThanOrEqual(58);
    expect(res.status).toBe(200);
    expect(acceptedAt).toBeGreaterThan(0);
    expect(answeredAt - acceptedAt).toBeGreaterThanOrEqual(58);
    expect(em.stats().rateLimit.customer.remaining).toBe(em.stats().rateLimit.customer.limit - 1);
    await (await fetch(`${em.url}/_emulator/state`)).text();
    expect(draws).toBe(1);
  });

  it('refuses over the rate limit at once, with a Retry-After that names the end of the refusing window', async () => {
    // A response time far longer than the window: a 429 written after it would describe the next window.
    let now = 10_000;
    em = await startMoEngageEmulator({ port: 0, latency: () => 5_000, rateLimit: { windowMs: 2_000, customerPerWindow: 0 }, now: () => now });
    now = 11_500; // 0.5 s left in the window [10 s, 12 s)
    const t = performance.now();
    const res = await trackUser(em);
    await res.text();
    expect(res.status).toBe(429);
    expect(performance.now() - t).toBeLessThan(4_000);
    expect(res.headers.get('retry-after')).toBe('1');
  });
});
