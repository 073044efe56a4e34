/**
 * The retry policy of the sender (contract.md, "Retries"): up to `maxAttemptsPerInvocation`
 * attempts inside one invocation (exponential backoff with full jitter, honouring Retry-After
 * while the invocation has time); later attempts through SQS redelivery with a visibility
 * timeout that grows with the receive count; on the last allowed receive the sender parks the
 * message itself, with its reason. Permanent answers are parked at once.
 *
 * Pure: randomness, sleeping and the invocation's remaining time are injected.
 */
import { ConfigError } from './config';
import type { FailureReason } from './dlq';
import { failureReasonFor, type DeliveryOutcome } from './moengage/delivery-outcome';

/** SQS's largest visibility timeout (12 hours). */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

export interface RetryPolicy {
  /** Attempts within one invocation, the first one included. */
  maxAttemptsPerInvocation: number;
  /** Backoff ceiling of the first retry; doubles per attempt. */
  baseDelayMs: number;
  /** Largest backoff ceiling. */
  maxDelayMs: number;
  /** Smallest visibility timeout set for a redelivery. */
  minVisibilitySeconds: number;
  /** Largest visibility timeout set for a redelivery (at most 43,200). */
  maxVisibilitySeconds: number;
  /**
   * Time that must remain in the invocation after an in-invocation wait: one more request (its
   * timeout) plus settling the batch. A wait that does not leave this much goes through SQS.
   */
  safetyMarginMs: number;
  /**
   * Longest in-invocation wait for a Retry-After; longer ones go through SQS rather than
   * keeping the invocation (and its batch) idle.
   */
  maxInlineWaitMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttemptsPerInvocation: 3,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  minVisibilitySeconds: 30,
  maxVisibilitySeconds: 900,
  safetyMarginMs: 11_000, // the client's default 10 s timeout + 1 s
  maxInlineWaitMs: 10_000,
});

/** Defaults overridden by `overrides`, validated (ConfigError naming the bad field). */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  for (const [key, value] of Object.entries(overrides) as [keyof RetryPolicy, number | undefined][]) {
    if (value !== undefined) policy[key] = value;
  }
  const check = (key: keyof RetryPolicy, ok: (v: number) => boolean, what: string) => {
    const v = policy[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new ConfigError(`retry policy ${key} must be ${what}`);
  };
  check('maxAttemptsPerInvocation', (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1');
  check('baseDelayMs', (v) => v >= 0, '>= 0');
  check('maxDelayMs', (v) => v >= policy.baseDelayMs, '>= baseDelayMs');
  check('minVisibilitySeconds', (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
  check(
    'maxVisibilitySeconds',
    (v) => Number.isInteger(v) && v >= policy.minVisibilitySeconds && v <= SQS_MAX_VISIBILITY_SECONDS,
    `an integer between minVisibilitySeconds and ${SQS_MAX_VISIBILITY_SECONDS}`,
  );
  check('safetyMarginMs', (v) => v >= 0, '>= 0');
  check('maxInlineWaitMs', (v) => v >= 0, '>= 0');
  return policy;
}

/** random() clamped into [0, 1), so that a misbehaving source cannot exceed the bounds. */
function unit(random: () => number): number {
  const r = random();
  if (!Number.isFinite(r) || r <= 0) return 0;
  return r >= 1 ? 1 - Number.EPSILON : r;
}

/**
 * Exponential backoff with full jitter, before attempt `attempt + 1`:
 * `floor(random() * min(maxDelayMs, baseDelayMs * 2^(attempt-1)))`, so in [0, ceiling).
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const n = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(n - 1, 52));
  return Math.floor(unit(random) * ceiling);
}

/**
 * Visibility timeout for the redelivery after receive `receiveCount` ("equal jitter", so that
 * it grows with every receive while spreading redeliveries):
 *   ceiling = min(max, min * 2^(receiveCount-1));  value = ceiling/2 + random() * ceiling/2
 * clamped to [minVisibilitySeconds, maxVisibilitySeconds] and rounded up to whole seconds.
 * With the defaults: 30, 30-60, 60-120, 120-240, 240-480, 450-900, 450-900 ...
 */
export function visibilityTimeoutSeconds(receiveCount: number, policy: RetryPolicy, random: () => number): number {
  const n = Number.isFinite(receiveCount) ? Math.max(1, Math.floor(receiveCount)) : 1;
  const max = Math.min(policy.maxVisibilitySeconds, SQS_MAX_VISIBILITY_SECONDS);
  const min = Math.min(policy.minVisibilitySeconds, max);
  const ceiling = Math.min(max, Math.max(min, 1) * 2 ** Math.min(n - 1, 30));
  const value = ceiling / 2 + (unit(random) * ceiling) / 2;
  return Math.min(max, Math.max(min, Math.ceil(value)));
}

export type RetryDecision =
  | { action: 'done' }
  | { action: 'retry_now'; delayMs: number }
  | { action: 'retry_later'; visibilityTimeoutSeconds: number }
  | { action: 'park'; reason: FailureReason };

export interface RetryContext {
  /** 1-based attempt number within this invocation (the attempt that produced the outcome). */
  attempt: number;
  /** SQS ApproximateReceiveCount of the message (1 on the first receive). */
  receiveCount: number;
  /** The queue's maxReceiveCount: on that receive the sender parks the message itself. */
  maxReceiveCount: number;
  /** Milliseconds left in the invocation. */
  remainingMs: number;
  /** Whether the credentials were already re-read in this invocation. */
  credentialsRefreshed: boolean;
}

/**
 * What to do after an outcome:
 * - delivered -> done; permanent -> park at once with its reason.
 * - auth -> retry_now (no delay) once if the credentials were not re-read yet (the caller
 *   re-reads the secret first) and the invocation has time; else redeliver later, or park
 *   (`auth_failed` / `account_blocked`) on the last allowed receive.
 * - rate_limited -> retry_now after Retry-After (or a backoff when none was sent) if attempts
 *   remain, the wait is at most maxInlineWaitMs and leaves safetyMarginMs of the invocation;
 *   else redeliver with a visibility timeout >= Retry-After, or park `rate_limited` on the last receive.
 * - transient -> retry_now after the backoff (at least a 5xx's Retry-After) under the same
 *   conditions; else redeliver later, or park `retries_exhausted` on the last receive.
 */
export function decide(outcome: DeliveryOutcome, ctx: RetryContext, policy: RetryPolicy, random: () => number): RetryDecision {
  if (outcome.kind === 'delivered') return { action: 'done' };
  if (outcome.kind === 'permanent') return { action: 'park', reason: outcome.reason };

  const lastReceive = ctx.receiveCount >= ctx.maxReceiveCount;
  const fits = (delayMs: number) => delayMs + policy.safetyMarginMs <= ctx.remainingMs;
  const attemptsLeft = ctx.attempt < policy.maxAttemptsPerInvocation;
  const later = (minWaitMs = 0): RetryDecision => {
    if (lastReceive) return { action: 'park', reason: failureReasonFor(outcome) };
    const base = visibilityTimeoutSeconds(ctx.receiveCount, policy, random);
    const atLeast = Math.ceil(Math.max(0, minWaitMs) / 1000);
    return { action: 'retry_later', visibilityTimeoutSeconds: Math.min(SQS_MAX_VISIBILITY_SECONDS, Math.max(base, atLeast)) };
  };

  switch (outcome.kind) {
    case 'auth':
      if (!ctx.credentialsRefreshed && attemptsLeft && fits(0)) return { action: 'retry_now', delayMs: 0 };
      return later();
    case 'rate_limited': {
      const wait = outcome.retryAfterMs ?? backoffDelayMs(ctx.attempt, policy, random);
      if (attemptsLeft && wait <= policy.maxInlineWaitMs && fits(wait)) return { action: 'retry_now', delayMs: wait };
      return later(outcome.retryAfterMs);
    }
    case 'transient': {
      const wait = Math.max(backoffDelayMs(ctx.attempt, policy, random), outcome.retryAfterMs ?? 0);
      if (attemptsLeft && wait <= Math.max(policy.maxDelayMs, policy.maxInlineWaitMs) && fits(wait)) {
        return { action: 'retry_now', delayMs: wait };
      }
      return later(outcome.retryAfterMs);
    }
  }
}

export interface RetryLoopDeps {
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  /** Milliseconds left in the invocation (e.g. Lambda's context.getRemainingTimeInMillis). */
  remainingMs: () => number;
  /** Re-reads the MoEngage secret; called at most once per loop, before the retry of an auth failure. */
  refreshCredentials: () => Promise<void>;
}

export interface RetryLoopResult {
  /** The last outcome. */
  outcome: DeliveryOutcome;
  /** Attempts made in this invocation. */
  attempts: number;
  /** What the caller does now: done, retry_later (change visibility) or park. Never retry_now. */
  decision: Exclude<RetryDecision, { action: 'retry_now' }>;
}

/**
 * Runs the in-invocation attempts of one delivery: calls `fn(attempt)`, asks `decide`, sleeps /
 * refreshes credentials as decided, and stops at the first decision that is not retry_now.
 * A failing refreshCredentials is not fatal: the auth failure then goes through SQS.
 */
export async function retryWithPolicy(
  fn: (attempt: number) => Promise<DeliveryOutcome>,
  ctx: { receiveCount: number; maxReceiveCount: number },
  policy: RetryPolicy,
  deps: RetryLoopDeps,
): Promise<RetryLoopResult> {
  let refreshed = false;
  // Hard stop: even a policy that keeps answering retry_now (auth refresh) ends.
  const maxAttempts = policy.maxAttemptsPerInvocation + 1;
  for (let attempt = 1; ; attempt++) {
    const outcome = await fn(attempt);
    const decideNow = () =>
      decide(
        outcome,
        {
          attempt,
          receiveCount: ctx.receiveCount,
          maxReceiveCount: ctx.maxReceiveCount,
          remainingMs: deps.remainingMs(),
          credentialsRefreshed: refreshed,
        },
        policy,
        deps.random,
      );
    let decision = decideNow();
    if (decision.action === 'retry_now' && outcome.kind === 'auth' && !refreshed) {
      refreshed = true;
      try {
        await deps.refreshCredentials();
      } catch {
        decision = decideNow(); // now with credentialsRefreshed: retry_later or park
      }
    }
    if (decision.action !== 'retry_now' && outcome.kind === 'auth' && !refreshed) {
      // No retry in this invocation, but re-read the secret anyway: the next receive (in this
      // container) then uses a rotated key instead of the cached one for up to 5 minutes.
      refreshed = true;
      try {
        await deps.refreshCredentials();
      } catch {
        // the failure goes through SQS either way
      }
    }
    if (decision.action === 'retry_now' && attempt >= maxAttempts) {
      decision = decide(
        outcome,
        { attempt, receiveCount: ctx.receiveCount, maxReceiveCount: ctx.maxReceiveCount, remainingMs: 0, credentialsRefreshed: true },
        policy,
        deps.random,
      );
    }
    if (decision.action !== 'retry_now') return { outcome, attempts: attempt, decision };
    if (decision.delayMs > 0) await deps.sleep(decision.delayMs);
  }
}
