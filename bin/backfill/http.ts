/**
 * What every provider reader shares: pacing at `--rate` requests per second, and one answer to
 * each kind of failure. 401/403 stop the run at once with one line naming the credential
 * (exit 3); 429 waits for Retry-After (or backs off when the provider sends none) and tries
 * again; 5xx and network errors back off exponentially a few times, then stop (exit 1, the
 * checkpoint kept). Credentials never reach a message: each message is scrubbed of them.
 */
import { ConfigError, CliError, OperationError } from '../dlq/errors';
import type { Clock } from '../dlq/types';

/** What one attempt of a provider call gave. */
export type Attempt<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      kind: 'auth' | 'rate' | 'transient' | 'fatal';
      status?: number;
      /** The provider's one-line reason (its error message or code), without credentials. */
      message: string;
      /** From Retry-After (or the provider's own throttle figures), when given. */
      retryAfterMs?: number;
    };

export interface PolicyOptions {
  clock: Clock;
  signal?: AbortSignal;
  /** Provider name for messages ("Stripe"). */
  provider: string;
  /** What to check on 401/403, e.g. "STRIPE_API_KEY (a restricted key needs Customers: Read)". */
  authHint: string;
  /** Values never to print (the credentials). */
  secrets: readonly string[];
  /** Requests per second. */
  rate: number;
  /** Attempts of one request on 5xx / network errors. Default 6. */
  transientAttempts?: number;
  /** Retries of one request on 429. Default 20. */
  rateLimitRetries?: number;
  /** Longest wait honoured for one Retry-After. Default 10 minutes. */
  maxRetryAfterMs?: number;
  /** Told about each wait (the progress line shows it). */
  onWait?: (ms: number, why: string) => void;
}

export class Interrupted extends Error {
  override name = 'Interrupted';
}

/** Removes every credential from a text (and anything that looks like a bearer token after "Bearer"). */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out.replace(/(Bearer\s+)[^\s"',]+/gi, '$1[redacted]');
}

/** Retry-After as milliseconds: seconds (integer or decimal) or an HTTP date. */
export function retryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined;
}

/** Paces requests and applies the failure policy. One per run. */
export class ProviderPolicy {
  private nextSlot = 0;
  /** Requests sent (every attempt). */
  requests = 0;
  /** 429 answers met. */
  rateLimited = 0;
  constructor(readonly opts: PolicyOptions) {}

  private async pace(): Promise<void> {
    const { clock } = this.opts;
    const now = clock.now();
    const at = Math.max(now, this.nextSlot);
    this.nextSlot = at + 1000 / this.opts.rate;
    await this.sleep(at - now);
  }

  private async sleep(ms: number): Promise<void> {
    if (ms > 0) await this.opts.clock.sleep(ms, this.opts.signal);
    if (this.opts.signal?.aborted) throw new Interrupted('interrupted');
  }

  /** Runs one provider call under the pacing and the policy; returns its value or throws a CliError / Interrupted. */
  async call<T>(what: string, attempt: () => Promise<Attempt<T>>): Promise<T> {
    const o = this.opts;
    const transientAttempts = o.transientAttempts ?? 6;
    const rateRetries = o.rateLimitRetries ?? 20;
    const maxWait = o.maxRetryAfterMs ?? 600_000;
    let transient = 0;
    let limited = 0;
    for (;;) {
      await this.pace();
      this.requests++;
      const r = await attempt();
      if (r.ok) return r.value;
      const reason = scrub(r.message, o.secrets).split('\n')[0]!.slice(0, 200);
      const status = r.status !== undefined ? `HTTP ${r.status}` : 'no answer';
      if (r.kind === 'auth') {
        throw new ConfigError(`${o.provider} refused the credentials (${status}${reason ? `: ${reason}` : ''}): check ${o.authHint}.`);
      }
      if (r.kind === 'fatal') throw new OperationError(`${o.provider} answered ${status} ${what}${reason ? `: ${reason}` : ''}.`);
      if (r.kind === 'rate') {
        this.rateLimited++;
        if (++limited > rateRetries) throw new OperationError(`${o.provider} kept answering 429 (rate limited) ${what} after ${rateRetries} retries; lower --rate and run again with --resume.`);
        const wait = Math.min(maxWait, r.retryAfterMs ?? Math.min(60_000, 1000 * 2 ** Math.min(limited - 1, 6)));
        o.onWait?.(wait, `${o.provider} rate limit (429)`);
        // Nothing else may go out before the wait is over.
        this.nextSlot = Math.max(this.nextSlot, o.clock.now() + wait);
        await this.sleep(wait);
        continue;
      }
      if (++transient >= transientAttempts) {
        throw new OperationError(`${o.provider} failed ${what} ${transientAttempts} times (${status}${reason ? `: ${reason}` : ''}); run again with --resume.`);
      }
      const wait = Math.min(30_000, 500 * 2 ** transient);
      o.onWait?.(wait, `${o.provider} ${status}`);
      await this.sleep(wait);
    }
  }
}

/** Classifies an HTTP answer of a provider list API (the fetch readers). */
export async function classifyResponse<T>(res: Response, nowMs: number, parse: (json: unknown) => Attempt<T>): Promise<Attempt<T>> {
  if (res.ok) {
    let json: unknown;
    try {
      json = await res.json();
    } catch {
      return { ok: false, kind: 'transient', status: res.status, message: 'the answer is not JSON' };
    }
    return parse(json);
  }
  const text = await res.text().catch(() => '');
  const message = errorMessageOf(text);
  const kind: Exclude<Attempt<T>, { ok: true }>['kind'] =
    res.status === 401 || res.status === 403 ? 'auth' : res.status === 429 ? 'rate' : res.status >= 500 || res.status === 408 ? 'transient' : 'fatal';
  // Retry-After, else (Auth0) X-RateLimit-Reset: the epoch second the limit resets.
  let after = retryAfterMs(res.headers.get('retry-after'), nowMs);
  const reset = res.headers.get('x-ratelimit-reset');
  if (after === undefined && res.status === 429 && reset && /^\d{9,11}$/.test(reset)) after = Math.max(0, Number(reset) * 1000 - nowMs);
  return { ok: false, kind, status: res.status, message, ...(after !== undefined ? { retryAfterMs: after } : {}) };
}

/** The provider's error message from a JSON error body (each has its own shape), else a short text. */
function errorMessageOf(text: string): string {
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const candidates: unknown[] = [
      (j.errors as { message?: unknown; long_message?: unknown }[] | undefined)?.[0]?.long_message,
      (j.errors as { message?: unknown }[] | undefined)?.[0]?.message,
      typeof j.errors === 'string' ? j.errors : undefined,
      (j.error as { message?: unknown } | undefined)?.message,
      j.message,
      j.error_description,
      typeof j.error === 'string' ? j.error : undefined,
      j.code,
    ];
    const found = candidates.find((c) => typeof c === 'string' && c.trim() !== '');
    if (typeof found === 'string') return found.trim();
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 120);
}

/** A thrown fetch error (network) as an attempt: transient; a CliError or Interrupted passes through. */
export function networkAttempt(err: unknown): Attempt<never> {
  if (err instanceof CliError || err instanceof Interrupted) throw err;
  const e = err as { name?: string; message?: string; cause?: { code?: string } };
  if (e?.name === 'AbortError') throw new Interrupted('interrupted');
  return { ok: false, kind: 'transient', message: e?.cause?.code ?? e?.message ?? 'network error' };
}

/** The early side of "when the provider read it": the request's start, or the answer's Date header less a second. */
export function readTime(startedAt: number, dateHeader: string | null | undefined): number {
  if (!dateHeader) return startedAt;
  const d = Date.parse(dateHeader);
  return Number.isFinite(d) ? Math.min(startedAt, d - 1000) : startedAt;
}
