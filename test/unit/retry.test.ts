import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/config';
import type { DeliveryOutcome } from '../../functions/core/moengage/delivery-outcome';
import {
  DEFAULT_RETRY_POLICY,
  SQS_MAX_VISIBILITY_SECONDS,
  backoffDelayMs,
  decide,
  retryPolicy,
  retryWithPolicy,
  visibilityTimeoutSeconds,
  type RetryContext,
  type RetryPolicy,
} from '../../functions/core/retry';

const P: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
const zero = () => 0;
const top = () => 0.999;
const half = () => 0.5;

const delivered: DeliveryOutcome = { kind: 'delivered', status: 200, confirmed: true, latencyMs: 10 };
const rejected: DeliveryOutcome = { kind: 'permanent', status: 400, reason: 'moengage_rejected', detail: { type: 'MissingAttributeError' }, latencyMs: 10 };
const tooLarge: DeliveryOutcome = { kind: 'permanent', status: 413, reason: 'payload_too_large', detail: {}, latencyMs: 10 };
const media: DeliveryOutcome = { kind: 'permanent', status: 415, reason: 'unsupported_media_type', detail: {}, latencyMs: 10 };
const authFailed: DeliveryOutcome = { kind: 'auth', status: 401, reason: 'auth_failed', detail: {}, latencyMs: 10 };
const blocked: DeliveryOutcome = { kind: 'auth', status: 403, reason: 'account_blocked', detail: {}, latencyMs: 10 };
const limited = (retryAfterMs?: number): DeliveryOutcome => ({
  kind: 'rate_limited',
  status: 429,
  ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  detail: {},
  latencyMs: 10,
});
const serverError: DeliveryOutcome = { kind: 'transient', status: 500, reason: 'server_error', detail: {}, latencyMs: 10 };
const timeout: DeliveryOutcome = { kind: 'transient', reason: 'timeout', detail: {}, latencyMs: 10_000 };

const ctx = (over: Partial<RetryContext> = {}): RetryContext => ({
  attempt: 1,
  receiveCount: 1,
  maxReceiveCount: 5,
  remainingMs: 60_000,
  credentialsRefreshed: false,
  ...over,
});
const FIRST = { receiveCount: 1 };
const MIDDLE = { receiveCount: 3 };
const LAST = { receiveCount: 5 };

describe('backoffDelayMs: exponential with full jitter', () => {
  it('is 0 with random() = 0 and just under the ceiling with 0.999', () => {
    for (let attempt = 1; attempt <= 12; attempt++) expect(backoffDelayMs(attempt, P, zero)).toBe(0);
    expect(backoffDelayMs(1, P, top)).toBe(199); // 0.999 * 200
    expect(backoffDelayMs(2, P, top)).toBe(399);
    expect(backoffDelayMs(3, P, top)).toBe(799);
    expect(backoffDelayMs(5, P, top)).toBe(3196);
    expect(backoffDelayMs(6, P, top)).toBe(4995); // capped at maxDelayMs 5000
    expect(backoffDelayMs(60, P, top)).toBe(4995);
  });

  it('stays in [0, min(max, base * 2^(attempt-1))) for any random value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
        const d = backoffDelayMs(attempt, P, () => r);
        const ceiling = Math.min(P.maxDelayMs, P.baseDelayMs * 2 ** (attempt - 1));
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
      }),
    );
  });

  it('tolerates a misbehaving random source and nonsense attempts', () => {
    expect(backoffDelayMs(1, P, () => 1)).toBeLessThan(200);
    expect(backoffDelayMs(1, P, () => 7)).toBeLessThan(200);
    expect(backoffDelayMs(1, P, () => Number.NaN)).toBe(0);
    expect(backoffDelayMs(1, P, () => -1)).toBe(0);
    expect(backoffDelayMs(0, P, top)).toBe(199);
    expect(backoffDelayMs(Number.NaN, P, top)).toBe(199);
  });
});

describe('visibilityTimeoutSeconds', () => {
  it('grows with the receive count, with jitter, within [min, max]', () => {
    const range = (rc: number) => [visibilityTimeoutSeconds(rc, P, zero), visibilityTimeoutSeconds(rc, P, top)];
    expect(range(1)).toEqual([30, 30]);
    expect(range(2)).toEqual([30, 60]);
    expect(range(3)).toEqual([60, 120]);
    expect(range(4)).toEqual([120, 240]);
    expect(range(5)).toEqual([240, 480]);
    expect(range(6)).toEqual([450, 900]);
    expect(range(50)).toEqual([450, 900]);
    let previousLow = 0;
    for (let rc = 1; rc <= 20; rc++) {
      const [low, high] = range(rc) as [number, number];
      expect(low).toBeGreaterThanOrEqual(previousLow);
      expect(low).toBeGreaterThanOrEqual(P.minVisibilitySeconds);
      expect(high).toBeLessThanOrEqual(P.maxVisibilitySeconds);
      previousLow = low;
    }
  });

  it('never exceeds SQS maximum, even with a careless policy', () => {
    const wild = { ...P, maxVisibilitySeconds: 10_000_000 };
    expect(visibilityTimeoutSeconds(40, wild, () => 1)).toBe(SQS_MAX_VISIBILITY_SECONDS);
    expect(visibilityTimeoutSeconds(40, wild, zero)).toBe(SQS_MAX_VISIBILITY_SECONDS / 2);
  });
});

describe('decide', () => {
  it('delivered -> done', () => {
    for (const at of [FIRST, MIDDLE, LAST]) expect(decide(delivered, ctx(at), P, half)).toEqual({ action: 'done' });
  });

  it('permanent answers are parked at once, whatever the receive and the time left', () => {
    for (const [outcome, reason] of [
      [rejected, 'moengage_rejected'],
      [tooLarge, 'payload_too_large'],
      [media, 'unsupported_media_type'],
    ] as const) {
      for (const at of [FIRST, MIDDLE, LAST]) {
        expect(decide(outcome, ctx({ ...at, remainingMs: 900_000 }), P, half)).toEqual({ action: 'park', reason });
      }
    }
  });

  describe('auth', () => {
    it('retries at once, once, after re-reading the credentials', () => {
      for (const at of [FIRST, MIDDLE, LAST]) {
        expect(decide(authFailed, ctx(at), P, half)).toEqual({ action: 'retry_now', delayMs: 0 });
        // Never a 4th call in one invocation (contract: up to 3 attempts).
        expect(decide(blocked, ctx({ ...at, attempt: 3 }), P, half).action).toBe(at === LAST ? 'park' : 'retry_later');
      }
    });

    it('then goes through SQS, and is parked on the last receive with its reason', () => {
      const refreshed = { credentialsRefreshed: true };
      expect(decide(authFailed, ctx({ ...FIRST, ...refreshed }), P, zero)).toEqual({ action: 'retry_later', visibilityTimeoutSeconds: 30 });
      expect(decide(authFailed, ctx({ ...MIDDLE, ...refreshed }), P, top)).toEqual({ action: 'retry_later', visibilityTimeoutSeconds: 120 });
      expect(decide(authFailed, ctx({ ...LAST, ...refreshed }), P, half)).toEqual({ action: 'park', reason: 'auth_failed' });
      expect(decide(blocked, ctx({ ...LAST, ...refreshed }), P, half)).toEqual({ action: 'park', reason: 'account_blocked' });
    });

    it('without time for another request, skips the in-invocation retry', () => {
      expect(decide(authFailed, ctx({ ...FIRST, remainingMs: 5_000 }), P, zero)).toEqual({ action: 'retry_later', visibilityTimeoutSeconds: 30 });
      expect(decide(blocked, ctx({ ...LAST, remainingMs: 5_000 }), P, zero)).toEqual({ action: 'park', reason: 'account_blocked' });
    });
  });

  describe('rate_limited', () => {
    it('waits Retry-After in the invocation while attempts and time remain', () => {
      for (const at of [FIRST, MIDDLE, LAST]) {
        expect(decide(limited(2_000), ctx({ ...at, attempt: 1 }), P, half)).toEqual({ action: 'retry_now', delayMs: 2_000 });
        expect(decide(limited(2_000), ctx({ ...at, attempt: 2 }), P, half)).toEqual({ action: 'retry_now', delayMs: 2_000 });
      }
    });

    it('uses the backoff when MoEngage sent no Retry-After', () => {
      expect(decide(limited(), ctx({ attempt: 2 }), P, top)).toEqual({ action: 'retry_now', delayMs: 399 });
    });

    it('goes through SQS with a visibility timeout >= Retry-After when attempts or time run out', () => {
      // attempts used up
      expect(decide(limited(2_000), ctx({ ...FIRST, attempt: 3 }), P, zero)).toEqual({ action: 'retry_later', visibilityTimeoutSeconds: 30 });
      // the wait does not leave the safety margin (2 s + 11 s > 12 s)
      expect(decide(limited(2_000), ctx({ ...MIDDLE, remainingMs: 12_000 }), P, zero)).toEqual({ action: 'retry_later', visibilityTimeoutSeconds: 60 });
      // too long to wait in the invocation, longer than the receive's visibility timeout
      expect(decide(limited(120_500), ctx({ ...FIRST, remainingMs: 800_000 }), P, top)).toEqual({ action: 'retry_later', visibilityTimeoutSeconds: 121 });
      // never beyond what SQS accepts
      expect(decide(limited(10 * 86_400_000), ctx(FIRST), P, top)).toEqual({ action: 'retry_later', visibilityTimeoutSeconds: SQS_MAX_VISIBILITY_SECONDS });
    });

    it('is parked as rate_limited on the last receive once it cannot retry now', () => {
      expect(decide(limited(2_000), ctx({ ...LAST, attempt: 3 }), P, half)).toEqual({ action: 'park', reason: 'rate_limited' });
      expect(decide(limited(60_000), ctx({ ...LAST, attempt: 1 }), P, half)).toEqual({ action: 'park', reason: 'rate_limited' });
      expect(decide(limited(), ctx({ ...LAST, remainingMs: 1_000 }), P, half)).toEqual({ action: 'park', reason: 'rate_limited' });
    });
  });

  describe('transient', () => {
    it('retries in the invocation with backoff while attempts and time remain', () => {
      for (const at of [FIRST, MIDDLE, LAST]) {
        expect(decide(serverError, ctx({ ...at, attempt: 1 }), P, top)).toEqual({ action: 'retry_now', delayMs: 199 });
        expect(decide(timeout, ctx({ ...at, attempt: 2 }), P, top)).toEqual({ action: 'retry_now', delayMs: 399 });
      }
    });

    it('honours a 5xx Retry-After as the least wait', () => {
      const unavailable: DeliveryOutcome = { ...serverError, status: 503, retryAfterMs: 3_000 };
      expect(decide(unavailable, ctx({ attempt: 1 }), P, top)).toEqual({ action: 'retry_now', delayMs: 3_000 });
      const longer: DeliveryOutcome = { ...serverError, status: 503, retryAfterMs: 300_000 };
      expect(decide(longer, ctx({ attempt: 1, remainingMs: 900_000 }), P, zero)).toEqual({ action: 'retry_later', visibilityTimeoutSeconds: 300 });
    });

    it('goes through SQS when attempts or time run out, and parks on the last receive', () => {
      expect(decide(serverError, ctx({ ...FIRST, attempt: 3 }), P, zero)).toEqual({ action: 'retry_later', visibilityTimeoutSeconds: 30 });
      expect(decide(timeout, ctx({ ...MIDDLE, attempt: 3 }), P, top)).toEqual({ action: 'retry_later', visibilityTimeoutSeconds: 120 });
      expect(decide(serverError, ctx({ ...MIDDLE, attempt: 1, remainingMs: 11_100 }), P, top)).toEqual({ action: 'retry_later', visibilityTimeoutSeconds: 120 });
      expect(decide(serverError, ctx({ ...LAST, attempt: 3 }), P, half)).toEqual({ action: 'park', reason: 'retries_exhausted' });
      expect(decide(timeout, ctx({ ...LAST, attempt: 1, remainingMs: 500 }), P, half)).toEqual({ action: 'park', reason: 'retries_exhausted' });
      expect(decide(timeout, ctx({ receiveCount: 9, maxReceiveCount: 5, attempt: 3 }), P, half)).toEqual({ action: 'park', reason: 'retries_exhausted' });
    });

    it('a retry_now always leaves the safety margin', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 40_000 }), fc.double({ min: 0, max: 0.9999, noNaN: true }), (attempt, remainingMs, r) => {
          const d = decide(serverError, ctx({ attempt, remainingMs }), P, () => r);
          if (d.action === 'retry_now') {
            expect(attempt).toBeLessThan(P.maxAttemptsPerInvocation);
            expect(d.delayMs + P.safetyMarginMs).toBeLessThanOrEqual(remainingMs);
          } else {
            expect(d.action).toBe('retry_later');
          }
        }),
      );
    });
  });
});

describe('retryPolicy', () => {
  it('applies overrides and validates them', () => {
    expect(retryPolicy()).toEqual(DEFAULT_RETRY_POLICY);
    expect(retryPolicy({ maxAttemptsPerInvocation: 5 }).maxAttemptsPerInvocation).toBe(5);
    expect(() => retryPolicy({ maxAttemptsPerInvocation: 0 })).toThrow(ConfigError);
    expect(() => retryPolicy({ maxVisibilitySeconds: 50_000 })).toThrow(/maxVisibilitySeconds/);
    expect(() => retryPolicy({ maxVisibilitySeconds: 10 })).toThrow(ConfigError);
    expect(() => retryPolicy({ maxDelayMs: 100 })).toThrow(/maxDelayMs/);
    expect(() => retryPolicy({ baseDelayMs: Number.NaN })).toThrow(ConfigError);
  });
});

describe('retryWithPolicy', () => {
  /** A fake invocation clock: sleeping consumes the remaining time. */
  function harness(outcomes: DeliveryOutcome[], remaining = 60_000) {
    let left = remaining;
    const sleeps: number[] = [];
    const attempts: number[] = [];
    const seen: [string, number][] = [];
    let refreshes = 0;
    const fn = async (attempt: number) => {
      attempts.push(attempt);
      const next = outcomes.shift();
      if (!next) throw new Error('more attempts than scripted');
      left -= next.latencyMs;
      seen.push([next.kind, attempt]);
      return next;
    };
    const deps = {
      sleep: async (ms: number) => {
        sleeps.push(ms);
        left -= ms;
      },
      random: top,
      remainingMs: () => left,
      refreshCredentials: async () => {
        refreshes++;
      },
    };
    return { fn, deps, sleeps, attempts, seen, refreshes: () => refreshes };
  }

  it('retries transient failures with backoff until delivered', async () => {
    const t = harness([serverError, timeout, delivered]);
    const r = await retryWithPolicy(t.fn, { receiveCount: 1, maxReceiveCount: 5 }, P, t.deps);
    expect(r).toEqual({ outcome: delivered, attempts: 3, decision: { action: 'done' } });
    expect(t.refreshes()).toBe(0);
    expect(t.attempts).toEqual([1, 2, 3]);
    expect(t.sleeps).toEqual([199, 399]);
    expect(t.seen).toEqual([
      ['transient', 1],
      ['transient', 2],
      ['delivered', 3],
    ]);
  });

  it('stops after maxAttemptsPerInvocation and hands over to SQS', async () => {
    const t = harness([serverError, serverError, serverError]);
    const r = await retryWithPolicy(t.fn, { receiveCount: 2, maxReceiveCount: 5 }, P, t.deps);
    expect(r.attempts).toBe(3);
    expect(r.decision).toEqual({ action: 'retry_later', visibilityTimeoutSeconds: 60 });
  });

  it('parks on the last receive once the attempts are used', async () => {
    const t = harness([serverError, serverError, serverError]);
    const r = await retryWithPolicy(t.fn, { receiveCount: 5, maxReceiveCount: 5 }, P, t.deps);
    expect(r.decision).toEqual({ action: 'park', reason: 'retries_exhausted' });
  });

  it('parks permanent answers after a single attempt, without sleeping', async () => {
    const t = harness([rejected]);
    const r = await retryWithPolicy(t.fn, { receiveCount: 1, maxReceiveCount: 5 }, P, t.deps);
    expect(r).toMatchObject({ attempts: 1, decision: { action: 'park', reason: 'moengage_rejected' } });
    expect(t.sleeps).toEqual([]);
  });

  it('re-reads the credentials after a 401 even when the retry has to go through SQS', async () => {
    const t = harness([authFailed], 5_000);
    const r = await retryWithPolicy(t.fn, { receiveCount: 1, maxReceiveCount: 5 }, P, t.deps);
    expect(r.attempts).toBe(1);
    expect(r.decision.action).toBe('retry_later');
    expect(t.refreshes()).toBe(1);
  });

  it('re-reads the credentials once on an auth failure', async () => {
    const ok = harness([authFailed, delivered]);
    const r1 = await retryWithPolicy(ok.fn, { receiveCount: 1, maxReceiveCount: 5 }, P, ok.deps);
    expect(r1).toMatchObject({ attempts: 2, decision: { action: 'done' } });
    expect(ok.refreshes()).toBe(1);
    expect(ok.sleeps).toEqual([]);

    const still = harness([authFailed, authFailed]);
    const r2 = await retryWithPolicy(still.fn, { receiveCount: 1, maxReceiveCount: 5 }, P, still.deps);
    expect(r2).toMatchObject({ attempts: 2, decision: { action: 'retry_later' } });
    expect(still.refreshes()).toBe(1);

    // a 403 that persists after the re-read, on the last receive: parked with its reason
    const blockedTwice = harness([blocked, blocked]);
    const r3 = await retryWithPolicy(blockedTwice.fn, { receiveCount: 5, maxReceiveCount: 5 }, P, blockedTwice.deps);
    expect(r3).toMatchObject({ attempts: 2, decision: { action: 'park', reason: 'account_blocked' } });
    expect(blockedTwice.refreshes()).toBe(1);
  });

  it('a failing credential refresh sends the message through SQS instead of throwing', async () => {
    const t = harness([authFailed]);
    let refreshes = 0;
    const r = await retryWithPolicy(t.fn, { receiveCount: 2, maxReceiveCount: 5 }, P, {
      ...t.deps,
      refreshCredentials: () => {
        refreshes++;
        return Promise.reject(new Error('Secrets Manager unavailable'));
      },
    });
    expect(r).toMatchObject({ attempts: 1, decision: { action: 'retry_later' } });
    expect(refreshes).toBe(1); // tried once, not again
  });

  it('sleeps exactly Retry-After on a 429, then gives up when the invocation runs short', async () => {
    const t = harness([limited(1_500), delivered]);
    const r = await retryWithPolicy(t.fn, { receiveCount: 1, maxReceiveCount: 5 }, P, t.deps);
    expect(r).toMatchObject({ attempts: 2, decision: { action: 'done' } });
    expect(t.sleeps).toEqual([1_500]);

    const short = harness([limited(3_000), limited(3_000)], 17_000);
    const r2 = await retryWithPolicy(short.fn, { receiveCount: 1, maxReceiveCount: 5 }, P, short.deps);
    // 17 000 - 10 (latency) - 3 000 (sleep) - 10 leaves < 3 000 + 11 000 for the next wait
    expect(short.sleeps).toEqual([3_000]);
    expect(r2).toMatchObject({ attempts: 2, decision: { action: 'retry_later', visibilityTimeoutSeconds: 30 } });
  });
});
