/** Helpers of the readers. */
import { ConfigError, UsageError } from '../../dlq/errors';

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The API base: --api-url, else the provider's. No trailing slash. */
export function apiBase(apiUrl: string | undefined, fallback: string): string {
  const raw = apiUrl ?? fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--api-url must be a URL such as https://api.example.com (got "${raw.slice(0, 80)}")`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError('--api-url must be an http(s) URL');
  if (url.username || url.password) throw new UsageError('--api-url must not carry credentials (they come from the environment)');
  return raw.replace(/\/+$/, '');
}

/** A required environment variable (named in the error, its value never shown). */
export function requireEnv(env: Record<string, string | undefined>, name: string, what: string): string {
  const v = env[name]?.trim();
  if (!v) throw new ConfigError(`Set ${name} to ${what}.`);
  return v;
}

import { type Attempt, classifyResponse, networkAttempt, type ProviderPolicy, readTime } from '../http';

/** GET a JSON list page under the policy; `parse` turns the JSON into the page (or an attempt failure). */
export async function getJson<T>(
  policy: ProviderPolicy,
  fetchFn: typeof fetch,
  what: string,
  url: string,
  headers: Record<string, string>,
  parse: (json: unknown, readAt: number) => Attempt<T>,
  init: { method?: string; body?: string } = {},
): Promise<T> {
  return policy.call(what, async () => {
    const startedAt = policy.opts.clock.now();
    let res: Response;
    try {
      res = await fetchFn(url, {
        method: init.method ?? 'GET',
        headers: { accept: 'application/json', 'user-agent': 'moengage-adapter-backfill', ...headers },
        ...(init.body !== undefined ? { body: init.body } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const e = err as { name?: string };
      if (e?.name === 'TimeoutError') return { ok: false, kind: 'transient', message: 'no answer within 30 s' };
      return networkAttempt(err);
    }
    const readAt = readTime(startedAt, res.headers.get('date'));
    return classifyResponse(res, policy.opts.clock.now(), (json) => parse(json, readAt));
  });
}

/** Epoch ms of an ISO string or of epoch ms / s; undefined when unusable. */
export function timeMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e11 ? v * 1000 : v;
  if (typeof v === 'string' && v !== '') {
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : undefined;
  }
  return undefined;
}
