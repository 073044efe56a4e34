/**
 * Stripe: `GET /v1/customers?limit=100&starting_after=cus_…` through Stripe's official client
 * (the `stripe` package, which takes the API host, port and protocol: --api-url). Deleted
 * customers are not listed. Stripe customers carry no update time: --since filters on
 * `created[gte]`. Rate: Stripe allows 100 read requests per second in live mode and 25 in test
 * mode; the default of 20 stays under both.
 */
import Stripe from 'stripe';
import type { ParsedEvent } from '../../../functions/sources/types';
import { type Attempt, ProviderPolicy, readTime } from '../http';
import type { ListedPage, Reader, ReaderInfo, ToEvent } from '../types';
import { UsageError } from '../../dlq/errors';
import { apiBase, isRecord, requireEnv } from './common';

export const STRIPE_INFO: ReaderInfo = {
  source: 'stripe',
  provider: 'Stripe',
  env: ['STRIPE_API_KEY'],
  defaultRate: 20,
  sinceNote: 'customers created since then (Stripe records no update time on a customer)',
};

const STRIPE_API = 'https://api.stripe.com';

export function stripeReader(opts: { env: Record<string, string | undefined>; apiUrl?: string; policy: (secrets: string[], authHint: string) => ProviderPolicy }): Reader {
  const key = requireEnv(opts.env, 'STRIPE_API_KEY', 'a Stripe secret key (sk_…) or a restricted key (rk_…) with Customers: Read');
  const base = apiBase(opts.apiUrl, STRIPE_API);
  const url = new URL(base);
  if (url.pathname !== '/' && url.pathname !== '') throw new UsageError("--api-url for Stripe is a host (Stripe's client takes a host, port and protocol, not a path).");
  const policy = opts.policy([key], 'STRIPE_API_KEY (a restricted key needs the Customers: Read permission)');
  const stripe = new Stripe(key, {
    host: url.hostname,
    ...(url.port ? { port: url.port } : {}),
    protocol: url.protocol === 'http:' ? 'http' : 'https',
    // The pacing and the 429 / Retry-After policy are ours (ProviderPolicy), one for all readers.
    maxNetworkRetries: 0,
    timeout: 30_000,
    telemetry: false,
  });

  return {
    source: 'stripe',
    apiUrl: base,
    pageSize: 100,
    async page(cursor, size, since): Promise<ListedPage> {
      const params: Stripe.CustomerListParams = { limit: Math.min(100, size) };
      if (typeof cursor === 'string') params.starting_after = cursor;
      if (since) params.created = { gte: Math.floor(since.getTime() / 1000) };
      return policy.call('listing customers', async (): Promise<Attempt<ListedPage>> => {
        const startedAt = policy.opts.clock.now();
        try {
          const list = await stripe.customers.list(params);
          const objects = list.data as unknown[];
          const last = list.data[list.data.length - 1];
          const date = (list.lastResponse?.headers as Record<string, string | undefined> | undefined)?.date;
          return { ok: true, value: { objects, next: list.has_more && last ? last.id : null, readAt: readTime(startedAt, date) } };
        } catch (err) {
          return stripeAttempt(err, policy.opts.clock.now());
        }
      });
    },
    toEvent(object): ToEvent {
      if (!isRecord(object) || typeof object.id !== 'string' || object.id === '') {
        return { ok: false, objectId: undefined, reason: 'not a Stripe customer (no id)' };
      }
      // What a `customer.updated` webhook carries: the customer in data.object.
      const event: ParsedEvent = { id: `backfill:${object.id}`, type: 'customer.updated', body: { object: 'event', type: 'customer.updated', data: { object } } };
      return { ok: true, objectId: object.id, event };
    },
  };
}

function stripeAttempt(err: unknown, nowMs: number): Attempt<never> {
  const e = err as { type?: string; statusCode?: number; message?: string; code?: string; headers?: Record<string, string>; name?: string };
  const status = e?.statusCode;
  const message = e?.message ?? e?.code ?? 'error';
  if (status === 401 || status === 403 || e?.type === 'StripeAuthenticationError' || e?.type === 'StripePermissionError') {
    return { ok: false, kind: 'auth', ...(status ? { status } : {}), message };
  }
  if (status === 429 || e?.type === 'StripeRateLimitError') {
    const ra = e.headers?.['retry-after'];
    const after = ra !== undefined && /^\d+(\.\d+)?$/.test(ra) ? Number(ra) * 1000 : undefined;
    void nowMs;
    return { ok: false, kind: 'rate', status: 429, message, ...(after !== undefined ? { retryAfterMs: after } : {}) };
  }
  if (status === undefined || status >= 500 || e?.type === 'StripeConnectionError' || e?.type === 'StripeAPIError') {
    return { ok: false, kind: 'transient', ...(status ? { status } : {}), message };
  }
  return { ok: false, kind: 'fatal', status, message };
}
