/**
 * Rate-limit awareness shared by the concurrent MoEngage calls of one sender invocation.
 * Pure: the clock and sleep are injected.
 *
 * A token bucket, with two refinements driven by MoEngage's answers:
 *
 * 1. Configured pace. Tokens refill at `r0 = capacityPerMinute / 60 000` per ms, up to `burst`
 *    (default: 10 seconds' worth). acquire(n) takes n tokens (one token = one user update).
 *
 * 2. Proactive pacing (observe). When an answer carries `remaining` R and `resetMs` W, the
 *    bucket may not spend more than this limiter's share of R before the window resets:
 *        paced rate  rp = share * R / W            (tokens per ms, until now + W)
 *        effective   r  = min(r0, rp)              (never faster than configured)
 *        tokens         = min(tokens, share * R)   (no burst beyond what is left)
 *    So with plenty left nothing changes, and as R runs low relative to the time until the
 *    reset the pace drops so that the window's budget lasts exactly until it resets, and
 *    MoEngage never has to answer 429. R <= 0 pauses everyone until the reset.
 *    `share` (default 1) is this limiter's part of the workspace budget when several
 *    invocations share it (e.g. 1 / reserved concurrency).
 *
 * 3. Penalty (penalize). A 429 pauses every acquirer for Retry-After (default 1 s); the
 *    bucket restarts empty when the pause ends (tokens = min(tokens, 0), refill from the end of
 *    the pause), so the resumption is paced, not a burst.
 *
 * Waiters are served first come, first served by a single pump: only the head waiter sleeps,
 * for exactly the computed time until its tokens exist (recomputed after every sleep, so a
 * penalty or a slower pace that arrives meanwhile is honoured). Nothing busy-loops. A request
 * for more than `burst` tokens waits for a full bucket and leaves the bucket in debt, which
 * the next waiters pay for.
 */
import { ConfigError } from '../config';
import { parseRateLimitHeaders, type HeadersLike, type RateLimitInfo } from './rate-limit-headers';

export interface RateLimiterOptions {
  /** User updates per minute this limiter may use (MOENGAGE_RATE_LIMIT_PER_MINUTE). */
  capacityPerMinute: number;
  /** Clock in milliseconds (Date.now or a fake one). */
  now: () => number;
  /** Waits the given milliseconds. */
  sleep: (ms: number) => Promise<void>;
  /** Bucket size. Default: 10 seconds of capacity, at least 1. */
  burst?: number;
  /** Part (0, 1] of MoEngage's reported remaining budget this limiter may pace. Default 1. */
  share?: number;
  /** Pause after a 429 without Retry-After, in ms. Default 1000. */
  defaultPenaltyMs?: number;
}

interface Waiter {
  n: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const EPSILON = 1e-9;

export class RateLimiter {
  readonly capacityPerMinute: number;
  readonly burst: number;
  private readonly baseRate: number; // tokens per ms
  private readonly share: number;
  private readonly defaultPenaltyMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  private tokens: number;
  /** Tokens are exact as of this instant (may be in the future during a pause). */
  private updatedAt: number;
  private pausedUntil = 0;
  /** Proactive pace (tokens per ms) and until when it holds. */
  private pacedRate = Infinity;
  private pacedUntil = 0;
  private readonly queue: Waiter[] = [];
  private pumping = false;

  constructor(options: RateLimiterOptions) {
    const { capacityPerMinute } = options;
    if (typeof capacityPerMinute !== 'number' || !Number.isFinite(capacityPerMinute) || capacityPerMinute <= 0) {
      throw new ConfigError('the MoEngage rate limit (MOENGAGE_RATE_LIMIT_PER_MINUTE) must be a positive number');
    }
    const burst = options.burst ?? Math.max(1, Math.ceil(capacityPerMinute / 6));
    if (!Number.isFinite(burst) || burst < 1) throw new ConfigError('the rate limiter burst must be >= 1');
    const share = options.share ?? 1;
    if (!Number.isFinite(share) || share <= 0 || share > 1) throw new ConfigError('the rate limiter share must be in (0, 1]');
    this.capacityPerMinute = capacityPerMinute;
    this.burst = burst;
    this.baseRate = capacityPerMinute / 60_000;
    this.share = share;
    this.defaultPenaltyMs = Math.max(0, options.defaultPenaltyMs ?? 1_000);
    this.now = options.now;
    this.sleep = options.sleep;
    this.tokens = burst;
    this.updatedAt = this.now();
  }

  /** Resolves once n tokens were taken (FIFO with the other acquirers). */
  acquire(n = 1): Promise<void> {
    if (!Number.isFinite(n) || n <= 0) return Promise.resolve();
    if (this.queue.length === 0 && this.tryTake(n)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ n, resolve, reject });
      void this.pump();
    });
  }

  /**
   * Takes MoEngage's rate-limit information of an answer (its headers, or parseRateLimitHeaders'
   * result) into account; see the formula at the top of this file.
   */
  observe(info: HeadersLike | RateLimitInfo | undefined): void {
    const parsed = isHeaders(info) ? parseRateLimitHeaders(info, this.now()) : info;
    if (!parsed || parsed.remaining === undefined || !Number.isFinite(parsed.remaining)) return;
    this.refill();
    const t = this.now();
    const budget = this.share * Math.max(0, parsed.remaining);
    const resetMs = parsed.resetMs;
    if (budget < 1) {
      // Nothing left: wait for the window to reset (or a default penalty when it is unknown).
      this.pause(resetMs !== undefined && resetMs > 0 ? resetMs : this.defaultPenaltyMs);
      return;
    }
    this.tokens = Math.min(this.tokens, budget);
    if (resetMs !== undefined && resetMs > 0) {
      this.pacedRate = budget / resetMs;
      this.pacedUntil = t + resetMs;
    }
  }

  /** A 429: pause every acquirer for retryAfterMs (default defaultPenaltyMs). */
  penalize(retryAfterMs?: number): void {
    const ms = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0 ? retryAfterMs : this.defaultPenaltyMs;
    this.refill();
    this.pause(ms);
  }

  /**
   * Milliseconds an `acquire(n)` made now would wait, counting the acquirers already queued
   * (an estimate: a 429 or new headers meanwhile can lengthen it). Lets a caller with a
   * deadline defer work instead of waiting past it.
   */
  expectedWaitMs(n = 1): number {
    const queued = this.queue.reduce((sum, w) => sum + w.n, 0);
    return Math.max(0, this.waitMs(n + queued));
  }

  private pause(ms: number): void {
    const until = this.now() + ms;
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    this.tokens = Math.min(this.tokens, 0);
    this.updatedAt = Math.max(this.updatedAt, until);
  }

  /** Brings `tokens` up to now, across the end of the proactive pace if it ended meanwhile. */
  private refill(): void {
    const t = this.now();
    if (t <= this.updatedAt) return;
    let from = this.updatedAt;
    let tokens = this.tokens;
    if (from < this.pacedUntil) {
      const until = Math.min(t, this.pacedUntil);
      tokens += (until - from) * Math.min(this.baseRate, this.pacedRate);
      from = until;
    }
    if (t > from) tokens += (t - from) * this.baseRate;
    this.tokens = Math.min(this.burst, tokens);
    this.updatedAt = t;
  }

  private tryTake(n: number): boolean {
    this.refill();
    if (this.now() < this.pausedUntil) return false;
    const need = Math.min(n, this.burst);
    if (this.tokens + EPSILON < need) return false;
    this.tokens -= n;
    return true;
  }

  /** Milliseconds until tryTake(n) can succeed, given the current pause and pace. */
  private waitMs(n: number): number {
    this.refill();
    const t = this.now();
    let at = Math.max(t, this.updatedAt, this.pausedUntil);
    let deficit = Math.min(n, this.burst) - this.tokens;
    if (deficit <= EPSILON) return at - t;
    if (at < this.pacedUntil) {
      const rate = Math.min(this.baseRate, this.pacedRate);
      const span = this.pacedUntil - at;
      if (rate > 0 && rate * span >= deficit) return at + deficit / rate - t;
      deficit -= rate * span;
      at = this.pacedUntil;
    }
    return at + deficit / this.baseRate - t;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const head = this.queue[0];
        if (!head) break;
        if (this.tryTake(head.n)) {
          this.queue.shift();
          head.resolve();
          continue;
        }
        // At least 1 ms, so that rounding can never make this spin.
        await this.sleep(Math.max(1, Math.ceil(this.waitMs(head.n))));
      }
    } catch (err) {
      for (const waiter of this.queue.splice(0)) waiter.reject(err);
    } finally {
      this.pumping = false;
    }
  }
}

function isHeaders(value: unknown): value is HeadersLike {
  return typeof value === 'object' && value !== null && typeof (value as { get?: unknown }).get === 'function';
}
