/**
 * Local emulators of the providers' user list APIs, written from their documentation, for the
 * backfill's tests and for a rehearsal against `npm run dev`:
 *
 *   npm run provider-emulator -- stripe --users 250
 *   STRIPE_API_KEY=sk_test_emulator npx --no-install moengage-adapter backfill stripe --local --api-url http://127.0.0.1:PORT
 *
 * Each emulator checks the credential the way its provider sends it, pages the way the provider
 * documents, and answers errors in the provider's shape:
 * - stripe  `GET /v1/customers` (`limit` 1-100, `starting_after`, `created[gte]`), newest first,
 *           `{object: 'list', data, has_more}`; 401 `{error: {type, message}}`.
 * - clerk   `GET /v1/users` (`limit` 1-500, `offset`, `order_by`), a bare array; `GET /v1/users/count`;
 *           401 `{errors: [{message, long_message, code}]}`.
 * - auth0   `GET /api/v2/users` (`per_page` ≤ 100, `page`, `include_totals`, `sort=updated_at:1`,
 *           `q=updated_at:["<iso>" TO *]`), 400 beyond the first 1,000 results of a search.
 * - workos  `GET /user_management/users` (`limit` 1-100, `order`, `after`), `{data, list_metadata}`.
 * - shopify `POST /admin/api/<version>/graphql.json`, the `customers` connection (`first` ≤ 250,
 *           `after`, `query: "updated_at:>='<iso>'"`), `X-Shopify-Access-Token`; throttling as a 200
 *           with a THROTTLED error and `extensions.cost.throttleStatus`.
 * Faults for tests: `failNext(kind, times)` answers the next requests with 429 (Retry-After),
 * 500, or (Shopify) THROTTLED. `rateLimit` enforces a fixed window like the providers do.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { TOOL_COMMAND } from '../lib/tool-command';

export type ProviderName = 'stripe' | 'clerk' | 'auth0' | 'workos' | 'shopify';
export const PROVIDERS: readonly ProviderName[] = ['stripe', 'clerk', 'auth0', 'workos', 'shopify'];

/** The credential each emulator accepts by default. */
export const EMULATOR_KEYS: Readonly<Record<ProviderName, string>> = {
  stripe: 'sk_test_emulator_0000000000',
  clerk: 'sk_test_emulator_clerk_0000',
  auth0: 'emulator-management-token-0000',
  workos: 'sk_test_emulator_workos_000',
  shopify: 'shpat_emulator_000000000000',
};

export type FaultKind = '429' | '500' | 'throttled';

export interface ProviderEmulatorOptions {
  provider: ProviderName;
  /** The provider's objects (Shopify: GraphQL Customer nodes). Default: none. */
  objects?: Record<string, unknown>[];
  /** The accepted credential. Default EMULATOR_KEYS[provider]. */
  key?: string;
  port?: number;
  host?: string;
  /** Retry-After seconds of a 429 (default 1). */
  retryAfterSeconds?: number;
  /** At most `requests` per `windowMs`; beyond, 429 with Retry-After (the window's rest). */
  rateLimit?: { requests: number; windowMs: number };
  now?: () => number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** GraphQL variables (Shopify). */
  variables?: Record<string, unknown>;
  status: number;
  at: number;
}

export interface ProviderEmulator {
  url: string;
  port: number;
  provider: ProviderName;
  key: string;
  objects: Record<string, unknown>[];
  requests: RecordedRequest[];
  /** The next `times` list requests answer this fault. */
  failNext(kind: FaultKind, times?: number): void;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const unb64 = (s: string) => Buffer.from(s, 'base64url').toString('utf8');

function timeOf(v: unknown): number {
  if (typeof v === 'number') return v < 1e11 ? v * 1000 : v;
  if (typeof v === 'string') return Date.parse(v);
  return NaN;
}

export async function startProviderEmulator(opts: ProviderEmulatorOptions): Promise<ProviderEmulator> {
  const provider = opts.provider;
  const key = opts.key ?? EMULATOR_KEYS[provider];
  const now = opts.now ?? Date.now;
  const objects = opts.objects ?? [];
  const requests: RecordedRequest[] = [];
  const faults: FaultKind[] = [];
  let windowStart = 0;
  let windowCount = 0;

  const authorized = (req: IncomingMessage): boolean => {
    if (provider === 'shopify') return req.headers['x-shopify-access-token'] === key;
    const auth = req.headers.authorization ?? '';
    // Stripe's client sends Bearer (Basic with the key as user is accepted by Stripe too).
    if (provider === 'stripe' && auth.startsWith('Basic ')) return Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')[0] === key;
    return auth === `Bearer ${key}`;
  };

  const unauthorized = (res: ServerResponse) => {
    switch (provider) {
      case 'stripe':
        return send(res, 401, { error: { type: 'invalid_request_error', message: `Invalid API Key provided: ${'*'.repeat(8)}` } });
      case 'clerk':
        return send(res, 401, { errors: [{ message: 'Invalid authentication', long_message: 'The provided secret key is invalid.', code: 'authentication_invalid' }] });
      case 'auth0':
        return send(res, 401, { statusCode: 401, error: 'Unauthorized', message: 'Invalid token', attributes: { error: 'Invalid token' } });
      case 'workos':
        return send(res, 401, { message: 'Could not authorize the request. Maybe your API key is invalid?' });
      case 'shopify':
        return send(res, 401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
    }
  };

  const rateLimited = (res: ServerResponse, seconds: number) => {
    const headers = { 'retry-after': String(seconds) };
    switch (provider) {
      case 'stripe':
        return send(res, 429, { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests hit the API too quickly.' } }, headers);
      case 'clerk':
        return send(res, 429, { errors: [{ message: 'Too Many Requests', code: 'too_many_requests' }] }, headers);
      case 'auth0':
        return send(res, 429, { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached' }, { ...headers, 'x-ratelimit-reset': String(Math.ceil(now() / 1000) + seconds) });
      case 'workos':
        return send(res, 429, { message: 'Too many requests' }, headers);
      case 'shopify':
        return send(res, 429, { errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' }, headers);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams.entries());
    const rec: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query, status: 200, at: now() };
    requests.push(rec);
    const body = req.method === 'POST' ? await readBody(req) : '';
    const reply = (status: number, json: unknown, headers?: Record<string, string>) => {
      rec.status = status;
      send(res, status, json, headers);
    };
    if (!authorized(req)) {
      rec.status = 401;
      return unauthorized(res);
    }
    if (opts.rateLimit) {
      const t = now();
      if (t - windowStart >= opts.rateLimit.windowMs) {
        windowStart = t;
        windowCount = 0;
      }
      if (++windowCount > opts.rateLimit.requests) {
        rec.status = 429;
        return rateLimited(res, Math.max(1, Math.ceil((windowStart + opts.rateLimit.windowMs - t) / 1000)));
      }
    }
    const fault = faults.shift();
    if (fault === '429' || (fault === 'throttled' && provider !== 'shopify')) {
      rec.status = 429;
      return rateLimited(res, opts.retryAfterSeconds ?? 1);
    }
    if (fault === '500') return reply(500, { error: { message: 'internal error' } });

    switch (provider) {
      case 'stripe':
        return stripe(url, query, reply);
      case 'clerk':
        return clerk(url, query, reply);
      case 'auth0':
        return auth0(url, query, reply);
      case 'workos':
        return workos(url, query, reply);
      case 'shopify': {
        let parsed: { query?: string; variables?: Record<string, unknown> } = {};
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          return reply(400, { errors: 'Bad Request: body is not JSON' });
        }
        rec.variables = parsed.variables ?? {};
        return shopify(url, parsed, reply, fault === 'throttled');
      }
    }
  };

  type Reply = (status: number, json: unknown, headers?: Record<string, string>) => void;
  const notFound = (reply: Reply) => reply(404, { error: { message: 'Unrecognized request URL' } });

  function intParam(v: string | undefined, def: number, min: number, max: number): number | undefined {
    if (v === undefined) return def;
    const n = Number(v);
    return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
  }

  function stripe(url: URL, q: Record<string, string>, reply: Reply) {
    if (url.pathname !== '/v1/customers') return notFound(reply);
    const limit = intParam(q.limit, 10, 1, 100);
    if (limit === undefined) return reply(400, { error: { type: 'invalid_request_error', param: 'limit', message: 'Invalid integer: limit must be between 1 and 100' } });
    // Newest first (created desc, then id desc), as Stripe lists.
    let list = [...objects].sort((a, b) => Number(b.created) - Number(a.created) || String(b.id).localeCompare(String(a.id)));
    const gte = q['created[gte]'];
    if (gte !== undefined) list = list.filter((c) => Number(c.created) >= Number(gte));
    if (q.starting_after) {
      const i = list.findIndex((c) => c.id === q.starting_after);
      if (i < 0) return reply(400, { error: { type: 'invalid_request_error', param: 'starting_after', message: `No such customer: '${q.starting_after}'` } });
      list = list.slice(i + 1);
    }
    reply(200, { object: 'list', url: '/v1/customers', has_more: list.length > limit, data: list.slice(0, limit) });
  }

  function clerk(url: URL, q: Record<string, string>, reply: Reply) {
    const sorted = [...objects].sort((a, b) => Number(a.created_at) - Number(b.created_at) || String(a.id).localeCompare(String(b.id)));
    if (url.pathname === '/v1/users/count') return reply(200, { object: 'total_count', total_count: objects.length });
    if (url.pathname !== '/v1/users') return reply(404, { errors: [{ message: 'not found', code: 'resource_not_found' }] });
    const limit = intParam(q.limit, 10, 1, 500);
    const offset = intParam(q.offset, 0, 0, Number.MAX_SAFE_INTEGER);
    if (limit === undefined || offset === undefined) return reply(422, { errors: [{ message: 'is invalid', long_message: 'limit must be 1-500, offset 0 or more', code: 'form_param_value_invalid' }] });
    const list = q.order_by === '-created_at' || q.order_by === undefined ? [...sorted].reverse() : sorted;
    reply(200, list.slice(offset, offset + limit));
  }

  function auth0(url: URL, q: Record<string, string>, reply: Reply) {
    if (url.pathname !== '/api/v2/users') return reply(404, { statusCode: 404, error: 'Not Found', message: 'Not Found' });
    const perPage = intParam(q.per_page, 50, 0, 100);
    const page = intParam(q.page, 0, 0, 10_000);
    if (perPage === undefined || page === undefined) return reply(400, { statusCode: 400, error: 'Bad Request', message: 'Query validation error: per_page must be at most 100', errorCode: 'invalid_query_string' });
    if ((page + 1) * perPage > 1000) {
      return reply(400, { statusCode: 400, error: 'Bad Request', message: 'You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation', errorCode: 'invalid_paging' });
    }
    let list = [...objects];
    if (q.q) {
      const m = /^updated_at:\["?([^"\]]+?)"? TO \*\]$/.exec(q.q);
      if (!m) return reply(400, { statusCode: 400, error: 'Bad Request', message: 'Query validation error: unsupported query in the emulator', errorCode: 'invalid_query_string' });
      const from = Date.parse(m[1]!);
      list = list.filter((u) => timeOf(u.updated_at) >= from);
    }
    if (q.sort === 'updated_at:1') list.sort((a, b) => timeOf(a.updated_at) - timeOf(b.updated_at) || String(a.user_id).localeCompare(String(b.user_id)));
    const users = list.slice(page * perPage, page * perPage + perPage);
    if (q.include_totals === 'true') return reply(200, { start: page * perPage, limit: perPage, length: users.length, total: list.length, users });
    reply(200, users);
  }

  function workos(url: URL, q: Record<string, string>, reply: Reply) {
    if (url.pathname !== '/user_management/users') return reply(404, { message: 'Not Found' });
    const limit = intParam(q.limit, 10, 1, 100);
    if (limit === undefined) return reply(422, { message: 'Validation failed', errors: [{ field: 'limit', code: 'limit must be 1-100' }] });
    let list = [...objects].sort((a, b) => timeOf(a.created_at) - timeOf(b.created_at) || String(a.id).localeCompare(String(b.id)));
    if (q.order !== 'asc') list.reverse();
    if (q.after) {
      const i = list.findIndex((u) => u.id === q.after);
      list = i < 0 ? [] : list.slice(i + 1);
    }
    const data = list.slice(0, limit);
    const after = list.length > limit ? String(data[data.length - 1]?.id) : null;
    reply(200, { object: 'list', data, list_metadata: { before: null, after } });
  }

  function shopify(url: URL, body: { query?: string; variables?: Record<string, unknown> }, reply: Reply, throttled: boolean) {
    if (!/^\/admin\/api\/\d{4}-\d{2}\/graphql\.json$/.test(url.pathname)) return reply(404, { errors: 'Not Found' });
    const v = body.variables ?? {};
    const first = typeof v.first === 'number' ? v.first : NaN;
    const cost = { requestedQueryCost: Number.isFinite(first) ? first + 2 : 0, actualQueryCost: null as number | null, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: throttled ? 0 : 1900, restoreRate: 100 } };
    if (throttled) {
      return reply(200, { errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }], extensions: { cost } });
    }
    if (typeof body.query !== 'string' || !/customers\s*\(/.test(body.query)) return reply(200, { errors: [{ message: 'the emulator answers the customers query only' }] });
    if (!Number.isInteger(first) || first < 1 || first > 250) return reply(200, { errors: [{ message: 'The first argument must be between 1 and 250', extensions: { code: 'BAD_REQUEST' } }] });
    let list = [...objects].sort((a, b) => timeOf(a.updatedAt) - timeOf(b.updatedAt) || String(a.id).localeCompare(String(b.id)));
    if (typeof v.query === 'string') {
      const m = /^updated_at:>='([^']+)'$/.exec(v.query);
      if (m) list = list.filter((c) => timeOf(c.updatedAt) >= Date.parse(m[1]!));
    }
    let start = 0;
    if (typeof v.after === 'string') {
      const n = Number(unb64(v.after).replace(/^cursor:/, ''));
      if (!Number.isInteger(n)) return reply(200, { errors: [{ message: 'Invalid cursor', extensions: { code: 'BAD_REQUEST' } }] });
      start = n;
    }
    const nodes = list.slice(start, start + first);
    const end = start + nodes.length;
    cost.actualQueryCost = nodes.length + 2;
    reply(200, {
      data: { customers: { nodes, pageInfo: { hasNextPage: end < list.length, endCursor: nodes.length > 0 ? b64(`cursor:${end}`) : null } } },
      extensions: { cost },
    });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: 'emulator error' });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    provider,
    key,
    objects,
    requests,
    failNext(kind, times = 1) {
      for (let i = 0; i < times; i++) faults.push(kind);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `n` plausible objects of a provider, deterministic: ids and times from `i`; times before `baseMs`. */
export function sampleObjects(provider: ProviderName, n: number, baseMs = Date.UTC(2025, 0, 1)): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const num = String(i + 1).padStart(6, '0');
    const created = baseMs - (n - i) * 60_000;
    const updated = created + 30_000;
    const email = `user${num}@example.com`;
    switch (provider) {
      case 'stripe':
        out.push({
          id: `cus_emu${num}`,
          object: 'customer',
          email,
          name: `User ${num}`,
          phone: null,
          created: Math.floor(created / 1000),
          currency: 'usd',
          delinquent: false,
          description: null,
          livemode: false,
          metadata: { plan: i % 2 === 0 ? 'pro' : 'free' },
          preferred_locales: [],
          address: { city: 'Berlin', country: 'DE', line1: null, line2: null, postal_code: '10115', state: null },
        });
        break;
      case 'clerk':
        out.push({
          id: `user_emu${num}`,
          object: 'user',
          first_name: 'User',
          last_name: num,
          primary_email_address_id: `idn_${num}`,
          email_addresses: [{ id: `idn_${num}`, object: 'email_address', email_address: email }],
          primary_phone_number_id: null,
          phone_numbers: [],
          public_metadata: { plan: 'pro' },
          private_metadata: { internal: 'never forwarded' },
          unsafe_metadata: {},
          created_at: created,
          updated_at: updated,
          last_sign_in_at: null,
        });
        break;
      case 'auth0':
        out.push({
          user_id: `auth0|emu${num}`,
          email,
          email_verified: true,
          name: `User ${num}`,
          given_name: 'User',
          family_name: num,
          created_at: new Date(created).toISOString(),
          updated_at: new Date(updated).toISOString(),
          user_metadata: { plan: 'pro' },
          app_metadata: { roles: ['admin'] },
          identities: [{ provider: 'auth0', user_id: `emu${num}`, connection: 'Username-Password-Authentication', isSocial: false }],
        });
        break;
      case 'workos':
        out.push({
          object: 'user',
          id: `user_emu${num}`,
          email,
          first_name: 'User',
          last_name: num,
          email_verified: true,
          profile_picture_url: null,
          last_sign_in_at: null,
          external_id: null,
          metadata: { plan: 'pro' },
          locale: null,
          created_at: new Date(created).toISOString(),
          updated_at: new Date(updated).toISOString(),
        });
        break;
      case 'shopify':
        out.push({
          id: `gid://shopify/Customer/${1000 + i}`,
          legacyResourceId: String(1000 + i),
          firstName: 'User',
          lastName: num,
          state: 'ENABLED',
          verifiedEmail: true,
          createdAt: new Date(created).toISOString(),
          updatedAt: new Date(updated).toISOString(),
          defaultEmailAddress: { emailAddress: email },
          defaultPhoneNumber: null,
          amountSpent: { currencyCode: 'EUR' },
          defaultAddress: { company: null, city: 'Berlin', province: null, provinceCode: null, country: 'Germany', countryCodeV2: 'DE', zip: '10115' },
        });
        break;
    }
  }
  return out;
}

/** The environment a backfill against this emulator needs. */
export function emulatorEnv(e: Pick<ProviderEmulator, 'provider' | 'key'>): Record<string, string> {
  switch (e.provider) {
    case 'stripe':
      return { STRIPE_API_KEY: e.key };
    case 'clerk':
      return { CLERK_SECRET_KEY: e.key };
    case 'auth0':
      return { AUTH0_MANAGEMENT_TOKEN: e.key, AUTH0_DOMAIN: 'emulator.auth0.local' };
    case 'workos':
      return { WORKOS_API_KEY: e.key };
    case 'shopify':
      return { SHOPIFY_ADMIN_TOKEN: e.key, SHOPIFY_SHOP: 'emulator.myshopify.com' };
  }
}

async function cli(argv: string[]): Promise<void> {
  const provider = argv[0] as ProviderName;
  if (!PROVIDERS.includes(provider)) {
    process.stderr.write(`Usage: npm run provider-emulator -- <${PROVIDERS.join('|')}> [--users N] [--port P]\n`);
    process.exitCode = 2;
    return;
  }
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const users = Number(flag('--users') ?? 250);
  const port = Number(flag('--port') ?? 0);
  const e = await startProviderEmulator({ provider, objects: sampleObjects(provider, Number.isInteger(users) && users >= 0 ? users : 250), port });
  const env = Object.entries(emulatorEnv(e))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  process.stdout.write(
    `${provider} list API emulator on ${e.url} with ${e.objects.length} users (credential: the emulator's test key, below)\n` +
      `rehearse a backfill against \`npm run dev\`:\n  ${env} ${TOOL_COMMAND} backfill ${provider} --local --api-url ${e.url}\n`,
  );
  const stop = () => void e.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await cli(process.argv.slice(2));
