/**
 * Shopify Admin GraphQL: the `customers` connection (`first: 100`, `after: <endCursor>`,
 * `sortKey: UPDATED_AT`) at `https://$SHOPIFY_SHOP/admin/api/2025-04/graphql.json` with
 * `X-Shopify-Access-Token: $SHOPIFY_ADMIN_TOKEN` (an Admin API token with `read_customers`).
 *
 * Each customer is turned into the REST shape of a `customers/update` webhook body (the shape
 * the source's mapping reads): numeric id, email, phone, names, state, verified_email, currency
 * and the default address. Fields that 2025-01+ webhooks no longer carry (tags, marketing
 * consent, order count, amount spent) are not read: a value that no webhook ever updates would
 * go stale in MoEngage. --since becomes `query: "updated_at:>='<time>'"`.
 *
 * Rate: GraphQL calls cost points from a bucket refilled at the store's restore rate (100 points
 * per second on standard plans, more on Advanced and Plus); a throttled call answers 200 with a THROTTLED error, and the
 * reader then waits for the points it needs (from `extensions.cost.throttleStatus`). 429 and
 * Retry-After are honoured as well. The default of 0.5 requests per second (a page of 100
 * customers costs about 102 points) uses about half of a standard plan's restore rate, leaving
 * the rest to the shop's other apps.
 */
import type { ParsedEvent } from '../../../functions/sources/types';
import type { Attempt, ProviderPolicy } from '../http';
import type { ListedPage, Reader, ReaderInfo, ToEvent } from '../types';
import { apiBase, getJson, isRecord, requireEnv } from './common';

export const SHOPIFY_INFO: ReaderInfo = {
  source: 'shopify',
  provider: 'Shopify',
  env: ['SHOPIFY_SHOP', 'SHOPIFY_ADMIN_TOKEN'],
  defaultRate: 0.5,
  sinceNote: "customers updated at or after it (query: updated_at:>='…')",
};

const SHOPIFY_API_VERSION = '2025-04';
const PAGE = 100;

const SHOPIFY_CUSTOMERS_QUERY = `query Backfill($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id
      legacyResourceId
      firstName
      lastName
      state
      verifiedEmail
      createdAt
      updatedAt
      defaultEmailAddress { emailAddress }
      defaultPhoneNumber { phoneNumber }
      amountSpent { currencyCode }
      defaultAddress { company city province provinceCode country countryCodeV2 zip }
    }
    pageInfo { hasNextPage endCursor }
  }
}`;

const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);

/** A GraphQL Customer as the REST-shaped body of a customers/update webhook. */
function restCustomer(node: Record<string, unknown>): Record<string, unknown> {
  const gid = typeof node.id === 'string' ? node.id : undefined;
  const legacy = typeof node.legacyResourceId === 'string' ? node.legacyResourceId : /\/(\d+)$/.exec(gid ?? '')?.[1];
  const out: Record<string, unknown> = {
    id: legacy,
    admin_graphql_api_id: gid,
    email: isRecord(node.defaultEmailAddress) ? node.defaultEmailAddress.emailAddress : null,
    phone: isRecord(node.defaultPhoneNumber) ? node.defaultPhoneNumber.phoneNumber : null,
    first_name: node.firstName ?? null,
    last_name: node.lastName ?? null,
    state: lower(node.state),
    verified_email: node.verifiedEmail,
    created_at: node.createdAt,
    updated_at: node.updatedAt,
    currency: isRecord(node.amountSpent) ? node.amountSpent.currencyCode : undefined,
  };
  if (isRecord(node.defaultAddress)) {
    const a = node.defaultAddress;
    out.default_address = { company: a.company, city: a.city, province: a.province, province_code: a.provinceCode, country: a.country, country_code: a.countryCodeV2, zip: a.zip };
  }
  return out;
}

export function shopifyReader(opts: { env: Record<string, string | undefined>; apiUrl?: string; fetch: typeof fetch; policy: (secrets: string[], authHint: string) => ProviderPolicy }): Reader {
  const token = requireEnv(opts.env, 'SHOPIFY_ADMIN_TOKEN', 'an Admin API access token (shpat_…) with the read_customers scope');
  let fallback = 'https://invalid.myshopify.com';
  if (opts.apiUrl === undefined) {
    const shop = requireEnv(opts.env, 'SHOPIFY_SHOP', 'the shop domain, e.g. your-shop.myshopify.com');
    const host = shop.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    fallback = `https://${host.includes('.') ? host : `${host}.myshopify.com`}`;
  }
  const base = apiBase(opts.apiUrl, fallback);
  const policy = opts.policy([token], "SHOPIFY_ADMIN_TOKEN (an Admin API token of the app installed on SHOPIFY_SHOP, with the read_customers scope)");
  const endpoint = `${base}/admin/api/${SHOPIFY_API_VERSION}/graphql.json`;
  const headers = { 'x-shopify-access-token': token, 'content-type': 'application/json' };

  const run = <T>(what: string, variables: Record<string, unknown>, pick: (data: Record<string, unknown>, readAt: number) => T) =>
    getJson<T>(policy, opts.fetch, what, endpoint, headers, (json, readAt): Attempt<T> => {
      if (!isRecord(json)) return { ok: false, kind: 'fatal', message: 'the answer is not a GraphQL response' };
      const errors = Array.isArray(json.errors) ? (json.errors as unknown[]) : [];
      if (errors.length > 0) {
        const first = isRecord(errors[0]) ? errors[0] : {};
        const code = isRecord(first.extensions) ? first.extensions.code : undefined;
        if (code === 'THROTTLED') {
          const status = isRecord(json.extensions) && isRecord(json.extensions.cost) ? json.extensions.cost : {};
          const t = isRecord(status.throttleStatus) ? status.throttleStatus : {};
          const need = typeof status.requestedQueryCost === 'number' ? status.requestedQueryCost : PAGE;
          const have = typeof t.currentlyAvailable === 'number' ? t.currentlyAvailable : 0;
          const restore = typeof t.restoreRate === 'number' && t.restoreRate > 0 ? t.restoreRate : 50;
          return { ok: false, kind: 'rate', status: 200, message: 'THROTTLED', retryAfterMs: Math.ceil((Math.max(0, need - have) / restore) * 1000) };
        }
        if (code === 'ACCESS_DENIED') return { ok: false, kind: 'auth', status: 200, message: typeof first.message === 'string' ? first.message : 'access denied' };
        return { ok: false, kind: 'fatal', status: 200, message: typeof first.message === 'string' ? first.message : 'GraphQL error' };
      }
      if (!isRecord(json.data)) return { ok: false, kind: 'fatal', message: 'the answer has no data' };
      return { ok: true, value: pick(json.data, readAt) };
    }, { method: 'POST', body: JSON.stringify({ query: SHOPIFY_CUSTOMERS_QUERY, variables }) });

  return {
    source: 'shopify',
    apiUrl: base,
    pageSize: PAGE,
    async page(cursor, size, since): Promise<ListedPage> {
      const variables: Record<string, unknown> = { first: Math.min(PAGE, size), after: typeof cursor === 'string' ? cursor : null, query: since ? `updated_at:>='${since.toISOString()}'` : null };
      return run('listing customers', variables, (data, readAt) => {
        const conn = isRecord(data.customers) ? data.customers : {};
        const nodes = Array.isArray(conn.nodes) ? (conn.nodes as unknown[]) : [];
        const info = isRecord(conn.pageInfo) ? conn.pageInfo : {};
        const next = info.hasNextPage === true && typeof info.endCursor === 'string' ? info.endCursor : null;
        return { objects: nodes, next, readAt };
      });
    },
    toEvent(object): ToEvent {
      if (!isRecord(object) || typeof object.id !== 'string') return { ok: false, objectId: undefined, reason: 'not a Shopify customer (no id)' };
      const body = restCustomer(object);
      const id = typeof body.id === 'string' ? body.id : object.id;
      const event: ParsedEvent = { id: `backfill:${id}`, type: 'customers/update', body };
      return { ok: true, objectId: id, event };
    },
  };
}
