import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ERROR_BODIES,
  startMoEngageEmulator,
  SUCCESS_BODY,
  type AcceptedRecord,
  type MoEngageEmulator,
} from '../../local/moengage-emulator';
import { TRACK_USER_MAX_BODY_BYTES } from '../../local/moengage-rules';

const WS = 'ws-test';
const KEY = 'key-test-123';
const RID = 'ReqIdAbc';
const AUTH = `Basic ${Buffer.from(`${WS}:${KEY}`).toString('base64')}`;
const CUSTOMER_PATH = `/v1/customer/${WS}?app_id=${WS}`;
const BULK_PATH = `/v1/transition/${WS}?app_id=${WS}`;

interface Reply {
  status: number;
  headers: Headers;
  json: unknown;
}

async function post(
  em: MoEngageEmulator,
  path: string,
  body: unknown,
  opts: { auth?: string | null; contentType?: string; raw?: string; signal?: AbortSignal } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json', 'x-forwarded-for': '203.0.113.9' };
  const auth = opts.auth === undefined ? AUTH : opts.auth;
  if (auth !== null) headers.authorization = auth;
  const res = await fetch(`${em.url}${path}`, {
    method: 'POST',
    headers,
    body: opts.raw ?? JSON.stringify(body),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, headers: res.headers, json };
}

const customer = (id: string, attributes: Record<string, unknown> = { u_em: 'jane@example.com', u_fn: 'Jane' }) => ({
  type: 'customer',
  customer_id: id,
  attributes,
});

describe('MoEngage emulator: documented behaviour', () => {
  let em: MoEngageEmulator;
  const seen: AcceptedRecord[] = [];
  const logLines: string[] = [];

  beforeAll(async () => {
    em = await startMoEngageEmulator({
      port: 0,
      workspaceId: WS,
      apiKey: KEY,
      requestId: () => RID,
      identityIdentifiers: ['moe_email'],
      onAccepted: (r) => seen.push(r),
      log: (line) => logLines.push(line),
    });
  });
  afterAll(async () => {
    await em.close();
  });
  afterEach(() => {
    em.reset();
    seen.length = 0;
    logLines.length = 0;
  });

  it('accepts a Track User payload: 200, the documented body, a record without the Authorization header', async () => {
    const r = await post(em, CUSTOMER_PATH, customer('u1'));
    expect(r.status).toBe(200);
    expect(r.json).toEqual(SUCCESS_BODY);
    expect(r.headers.get('x-ratelimit-limit')).toBe('10000');
    expect(r.headers.get('x-ratelimit-remaining')).toBe('9999');
    expect(Number(r.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    expect(em.requests).toBe(1);
    expect(em.accepted).toHaveLength(1);
    const rec = em.accepted[0]!;
    expect(rec.api).toBe('customer');
    expect(rec.payload).toEqual(customer('u1'));
    expect(rec.path).toBe(CUSTOMER_PATH);
    expect(rec.requestId).toBe(RID);
    expect(rec.headers.authorization).toBeUndefined();
    expect(rec.headers['x-forwarded-for']).toBe('203.0.113.9');
    expect(seen).toHaveLength(1);
    // The printed line masks the email.
    expect(logLines).toHaveLength(1);
    expect(logLines[0]).not.toContain('jane@example.com');
    expect(logLines[0]).toContain('j***@example.com');
  });

  it('answers 401 "Authentication Header Required" without an Authorization header', async () => {
    const r = await post(em, CUSTOMER_PATH, customer('u1'), { auth: null });
    expect(r.status).toBe(401);
    expect(r.json).toEqual(ERROR_BODIES.authMissing(RID));
    expect(r.json).toEqual({
      status: 'fail',
      error: { message: 'Authentication Header Required', type: 'Authentication required', request_id: RID },
    });
    expect(em.accepted).toHaveLength(0);
  });

  it.each([
    ['a wrong API key', `Basic ${Buffer.from(`${WS}:wrong`).toString('base64')}`, CUSTOMER_PATH],
    ['a wrong workspace id', `Basic ${Buffer.from(`other:${KEY}`).toString('base64')}`, CUSTOMER_PATH],
    ['a Bearer token', `Bearer ${KEY}`, CUSTOMER_PATH],
    ['another workspace in the path', AUTH, `/v1/customer/other?app_id=other`],
  ])('answers 401 "App Secret key mismatch" for %s', async (_name, auth, path) => {
    const r = await post(em, path, customer('u1'), { auth });
    expect(r.status).toBe(401);
    expect(r.json).toEqual({
      status: 'fail',
      error: {
        message: 'App Secret key mismatch. Please login to the dashboard to verify key',
        type: 'Authentication required',
        request_id: RID,
      },
    });
  });

  it('answers 400 when app_id is missing or differs from the workspace in the path', async () => {
    const missing = await post(em, `/v1/customer/${WS}`, customer('u1'));
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ status: 'fail', error: { attribute: 'app_id', request_id: RID } });
    const other = await post(em, `/v1/customer/${WS}?app_id=elsewhere`, customer('u1'));
    expect(other.status).toBe(400);
    expect(other.json).toMatchObject({ status: 'fail', error: { attribute: 'app_id' } });
    expect(em.accepted).toHaveLength(0);
  });

  it('answers 415 for a content type other than application/json (charset allowed)', async () => {
    const r = await post(em, CUSTOMER_PATH, customer('u1'), { contentType: 'text/plain' });
    expect(r.status).toBe(415);
    expect(r.json).toEqual({
      status: 'fail',
      error: { message: 'Content type is not supported', type: 'Unsupported media type', request_id: RID },
    });
    const ok = await post(em, CUSTOMER_PATH, customer('u1'), { contentType: 'application/json; charset=utf-8' });
    expect(ok.status).toBe(200);
  });

  it('answers 413 with the documented body above 128 KB (Track User) and 100,000 bytes (Bulk Import)', async () => {
    const limit = TRACK_USER_MAX_BODY_BYTES;
    const base = JSON.stringify(customer('u1', { note: '' }));
    const fits = JSON.stringify(customer('u1', { note: 'x'.repeat(limit - base.length) }));
    expect(Buffer.byteLength(fits)).toBe(limit);
    // Exactly at the limit: accepted; the long value is kept cut to its first 512 characters.
    const atLimit = await post(em, CUSTOMER_PATH, undefined, { raw: fits });
    expect(atLimit.status).toBe(200);
    expect(em.profiles().get('u1')?.note).toBe('x'.repeat(512));
    const over = await post(em, CUSTOMER_PATH, undefined, { raw: JSON.stringify(customer('u1', { note: 'x'.repeat(limit) })) });
    expect(over.status).toBe(413);
    expect(over.json).toEqual({
      status: 'fail',
      error: { message: 'Payload can not exceed 128KB', type: 'Payload too large', request_id: RID },
    });

    const elements = Array.from({ length: 200 }, (_, i) => customer(`user-${i}`, { bio: 'y'.repeat(500) }));
    const bulk = await post(em, BULK_PATH, { type: 'transition', elements });
    expect(Buffer.byteLength(JSON.stringify({ type: 'transition', elements }))).toBeGreaterThan(100_000);
    expect(bulk.status).toBe(413);
    expect(bulk.json).toMatchObject({ status: 'fail', error: { type: 'Payload too large', request_id: RID } });
    expect(em.accepted).toHaveLength(1); // the one at the limit
  });

  it('answers the documented MissingAttributeError bodies for bad JSON, a missing and an empty customer_id', async () => {
    const missingBody = {
      status: 'fail',
      error: { attribute: 'customer_id', message: 'customer_id is not found in the payload', type: 'MissingAttributeError', request_id: RID },
    };
    const badJson = await post(em, CUSTOMER_PATH, undefined, { raw: '{"type":"customer",' });
    expect(badJson.status).toBe(400);
    expect(badJson.json).toEqual(missingBody);

    const missing = await post(em, CUSTOMER_PATH, { type: 'customer', attributes: { u_fn: 'Jane' } });
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual(missingBody);

    const empty = await post(em, CUSTOMER_PATH, { type: 'customer', customer_id: '', attributes: {} });
    expect(empty.status).toBe(400);
    expect(empty.json).toEqual({
      status: 'fail',
      error: {
        attribute: 'customer_id',
        message: 'customer_id can not be empty Unicode String',
        type: 'MissingAttributeError',
        request_id: RID,
      },
    });
    expect(em.accepted).toHaveLength(0);
  });

  it('answers 400 when type is not "customer"', async () => {
    const r = await post(em, CUSTOMER_PATH, { type: 'Customer', customer_id: 'u1' });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ status: 'fail', error: { attribute: 'type', request_id: RID } });
  });

  it('accepts a payload without customer_id when it carries an activated identity-resolution identifier', async () => {
    const r = await post(em, CUSTOMER_PATH, { type: 'customer', attributes: { moe_email: 'ir@example.com', u_fn: 'Ir' } });
    expect(r.status).toBe(200);
    expect([...em.users().keys()]).toEqual(['moe_email:ir@example.com']);
  });

  it('refuses what the documented rules refuse (reserved keywords, moe_ attributes, unknown fields), naming the field', async () => {
    const reserved = await post(em, CUSTOMER_PATH, customer('u1', { user_id: 'x' }));
    expect(reserved.status).toBe(400);
    expect(reserved.json).toMatchObject({ status: 'fail', error: { attribute: 'attributes.user_id', request_id: RID } });
    const moe = await post(em, CUSTOMER_PATH, customer('u1', { moe_foo: 1 }));
    expect(moe.status).toBe(400);
    expect(moe.json).toMatchObject({ error: { attribute: 'attributes.moe_foo' } });
    const extra = await post(em, CUSTOMER_PATH, { ...customer('u1'), surprise: true });
    expect(extra.status).toBe(400);
    expect(extra.json).toMatchObject({ error: { attribute: 'surprise' } });
    expect(em.accepted).toHaveLength(0);
  });

  it('Bulk Import: accepts a transition of customers (one record per user); a bad element is dropped, its request still 200', async () => {
    const ok = await post(em, BULK_PATH, { type: 'transition', elements: [customer('b1'), customer('b2'), customer('b3')] });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual(SUCCESS_BODY);
    expect(ok.headers.get('x-ratelimit-limit')).toBe('60000');
    expect(ok.headers.get('x-ratelimit-remaining')).toBe('59997');
    expect(em.accepted.map((r) => [r.api, r.payload.customer_id])).toEqual([
      ['bulk', 'b1'],
      ['bulk', 'b2'],
      ['bulk', 'b3'],
    ]);

    // MoEngage: "All bulk API requests return a 200 response code": the bad element is not applied.
    const bad = await post(em, BULK_PATH, { type: 'transition', elements: [customer('b4'), { type: 'customer', customer_id: '' }] });
    expect(bad.status).toBe(200);
    expect(bad.json).toEqual(SUCCESS_BODY);
    expect(em.dropped).toEqual([
      {
        index: 1,
        element: { type: 'customer', customer_id: '' },
        error: { type: 'MissingAttributeError', attribute: 'customer_id', message: 'customer_id can not be empty Unicode String' },
        receivedAt: expect.any(Number),
        requestId: RID,
      },
    ]);
    expect(em.stats().droppedElements).toBe(1);
    expect(em.profiles().has('b4')).toBe(true);
    const notTransition = await post(em, BULK_PATH, { type: 'customer', elements: [customer('b5')] });
    expect(notTransition.status).toBe(400);
    const noElements = await post(em, BULK_PATH, { type: 'transition', elements: [] });
    expect(noElements.status).toBe(400);
    expect(em.accepted).toHaveLength(4);
  });

  it('documented value handling: strings cut at 512, create-only attributes on create only, the documented ArrayFieldError', async () => {
    const long = 'z'.repeat(600);
    expect((await post(em, CUSTOMER_PATH, customer('c1', { bio: long, tags: [long], cr_t: 1_700_000_000_000, publisher_name: 'first' }))).status).toBe(200);
    // "Update through Track User API: no": accepted, not applied to an existing user.
    expect((await post(em, CUSTOMER_PATH, customer('c1', { cr_t: 1_800_000_000_000, publisher_name: 'second', u_fn: 'Cy' }))).status).toBe(200);
    expect(em.profiles().get('c1')).toEqual({ bio: 'z'.repeat(512), tags: ['z'.repeat(512)], cr_t: 1_700_000_000_000, publisher_name: 'first', u_fn: 'Cy' });
    // What was sent is recorded as sent.
    expect(em.accepted[0]?.payload.attributes).toMatchObject({ bio: long });

    const both = await post(em, CUSTOMER_PATH, customer('c1', { addValueToArrayField: { first_name: ['a'] }, removeValueFromArrayField: { first_name: ['b'] } }));
    expect(both.status).toBe(400);
    expect(both.json).toEqual({
      status: 'fail',
      error: { attribute: 'addValueToArrayField', message: "Cannot add and remove 'first_name' at the same time", type: 'ArrayFieldError', request_id: RID },
    });
  });

  it('users(): merges updates per user, applies array operations and update_existing_only', async () => {
    await post(em, CUSTOMER_PATH, customer('m1', { u_fn: 'Ann', tags: ['a'] }));
    await post(em, CUSTOMER_PATH, customer('m1', { u_ln: 'Lee', addValueToArrayField: { tags: ['b', 'a'] } }));
    const notArray = await post(em, CUSTOMER_PATH, customer('m1', { removeValueFromArrayField: { tags: 'a' } }));
    expect(notArray.status).toBe(400);
    expect(notArray.json).toMatchObject({ error: { type: 'ArrayFieldError', attribute: 'attributes.removeValueFromArrayField.tags' } });
    await post(em, CUSTOMER_PATH, customer('m1', { removeValueFromArrayField: { tags: ['a'] } }));
    await post(em, CUSTOMER_PATH, { ...customer('ghost'), update_existing_only: true });
    await post(em, CUSTOMER_PATH, { ...customer('m1', { u_fn: 'Anne' }), update_existing_only: true });
    const users = em.users();
    expect(users.has('ghost')).toBe(false);
    const m1 = users.get('m1');
    expect(m1?.updates).toBe(4);
    expect(m1?.attributes).toEqual({ u_fn: 'Anne', u_ln: 'Lee', tags: ['b'] });
    expect(em.accepted).toHaveLength(5);
  });

  it('unknown paths answer 404 and other methods 405; GET /_emulator/state returns counts', async () => {
    const notFound = await fetch(`${em.url}/v2/customer/${WS}`, { method: 'POST', body: '{}' });
    expect(notFound.status).toBe(404);
    await notFound.text();
    const wrongMethod = await fetch(`${em.url}${CUSTOMER_PATH}`);
    expect(wrongMethod.status).toBe(405);
    await wrongMethod.text();

    await post(em, CUSTOMER_PATH, customer('s1'));
    await post(em, CUSTOMER_PATH, customer('s1'), { auth: null });
    const state = (await (await fetch(`${em.url}/_emulator/state`)).json()) as Record<string, unknown>;
    expect(state).toMatchObject({
      requests: 2,
      acceptedRequests: 1,
      acceptedUsers: 1,
      uniqueUsers: 1,
      byStatus: { '200': 1, '401': 1 },
      mode: 'accept',
    });
    expect(JSON.stringify(state)).not.toContain('jane@example.com');
  });

  it('reject mode refuses well-formed payloads with 400 until accept mode; blocked mode answers 403', async () => {
    em.setMode('reject');
    const refused = await post(em, CUSTOMER_PATH, customer('r1'));
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ status: 'fail', error: { request_id: RID } });
    const custom = { status: 'fail', error: { attribute: 'addValueToArrayField', message: 'nope', type: 'ArrayFieldError', request_id: 'X' } };
    em.setMode('reject', { body: custom });
    expect((await post(em, CUSTOMER_PATH, customer('r1'))).json).toEqual(custom);
    em.setMode('blocked');
    const blocked = await post(em, CUSTOMER_PATH, customer('r1'));
    expect(blocked.status).toBe(403);
    expect(blocked.json).toEqual(ERROR_BODIES.blocked(RID));
    expect(em.accepted).toHaveLength(0);
    em.setMode('accept');
    expect((await post(em, CUSTOMER_PATH, customer('r1'))).status).toBe(200);
    expect(em.accepted).toHaveLength(1);
  });
});

describe('MoEngage emulator: rate limit', () => {
  let em: MoEngageEmulator;
  let clock = 1_000_000;

  beforeAll(async () => {
    em = await startMoEngageEmulator({
      workspaceId: WS,
      apiKey: KEY,
      requestId: () => RID,
      now: () => clock,
      rateLimit: { customerPerWindow: 2, bulkUsersPerWindow: 3, windowMs: 10_000 },
    });
  });
  afterAll(async () => {
    await em.close();
  });

  it('counts Track User requests per window: 429 with the documented body, Retry-After and x-ratelimit-* headers', async () => {
    clock = 1_000_000; // a window boundary: the window ends at 1,010,000
    const a = await post(em, CUSTOMER_PATH, customer('r1'));
    expect(a.status).toBe(200);
    expect(a.headers.get('x-ratelimit-limit')).toBe('2');
    expect(a.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(a.headers.get('x-ratelimit-reset')).toBe('10');
    clock += 2_500;
    const b = await post(em, CUSTOMER_PATH, customer('r2'));
    expect(b.status).toBe(200);
    expect(b.headers.get('x-ratelimit-remaining')).toBe('0');
    const c = await post(em, CUSTOMER_PATH, customer('r3'));
    expect(c.status).toBe(429);
    expect(c.json).toEqual({
      status: 'fail',
      error: { message: 'Rate limits for customers exceeded. Please Try After Some Time', type: 'Rate Limits Exceeded', request_id: RID },
    });
    expect(c.headers.get('retry-after')).toBe('8');
    expect(c.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(c.headers.get('x-ratelimit-reset')).toBe('8');
    // Errors carry the headers too.
    const unauth = await post(em, CUSTOMER_PATH, customer('r3'), { auth: null });
    expect(unauth.headers.get('x-ratelimit-limit')).toBe('2');

    clock = 1_010_000; // the next window
    const d = await post(em, CUSTOMER_PATH, customer('r3'));
    expect(d.status).toBe(200);
    expect(d.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(em.stats().rateLimited).toBe(1);
    expect(em.accepted.map((r) => r.payload.customer_id)).toEqual(['r1', 'r2', 'r3']);
  });

  it('counts Bulk Import users (elements), all or nothing per request', async () => {
    clock = 2_000_000;
    const two = await post(em, BULK_PATH, { type: 'transition', elements: [customer('x1'), customer('x2')] });
    expect(two.status).toBe(200);
    expect(two.headers.get('x-ratelimit-remaining')).toBe('1');
    const tooMany = await post(em, BULK_PATH, { type: 'transition', elements: [customer('x3'), customer('x4')] });
    expect(tooMany.status).toBe(429);
    expect(tooMany.headers.get('retry-after')).toBe('10');
    const one = await post(em, BULK_PATH, { type: 'transition', elements: [customer('x3')] });
    expect(one.status).toBe(200);
    expect(one.headers.get('x-ratelimit-remaining')).toBe('0');
  });
});

describe('MoEngage emulator: fault injection', () => {
  let em: MoEngageEmulator;

  beforeAll(async () => {
    em = await startMoEngageEmulator({ workspaceId: WS, apiKey: KEY, requestId: () => RID });
  });
  afterAll(async () => {
    await em.close();
  });
  afterEach(() => em.reset());

  it('applies queued faults in order, one per request, then answers normally', async () => {
    const failBody = { status: 'fail', error: { message: 'partial', type: 'Server Error', request_id: 'Q' } };
    em.faults.push({ status: 500 }, { status: 429, retryAfterSeconds: 1 }, { status: 200, body: failBody }, { status: 503, body: 'upstream down' });
    expect(em.faults.length).toBe(4);

    const r500 = await post(em, CUSTOMER_PATH, customer('f1'));
    expect(r500.status).toBe(500);
    expect(r500.json).toEqual(ERROR_BODIES.serverError(RID));
    const r429 = await post(em, CUSTOMER_PATH, customer('f1'));
    expect(r429.status).toBe(429);
    expect(r429.headers.get('retry-after')).toBe('1');
    expect(r429.json).toEqual(ERROR_BODIES.rateLimited(RID));
    const r200 = await post(em, CUSTOMER_PATH, customer('f1'));
    expect(r200.status).toBe(200);
    expect(r200.json).toEqual(failBody);
    const r503 = await post(em, CUSTOMER_PATH, customer('f1'));
    expect(r503.status).toBe(503);
    expect(r503.json).toBe('upstream down');

    expect(em.accepted).toHaveLength(0);
    const normal = await post(em, CUSTOMER_PATH, customer('f1'));
    expect(normal.status).toBe(200);
    expect(em.accepted).toHaveLength(1);
    expect(em.stats().faultsInjected).toBe(4);
  });

  it('reset: the connection is destroyed without an answer; acceptFirst records the payload first', async () => {
    em.faults.push({ kind: 'reset' }, { kind: 'reset', acceptFirst: true });
    await expect(post(em, CUSTOMER_PATH, customer('c1'))).rejects.toThrow();
    expect(em.accepted).toHaveLength(0);
    await expect(post(em, CUSTOMER_PATH, customer('c2'))).rejects.toThrow();
    expect(em.accepted.map((r) => r.payload.customer_id)).toEqual(['c2']);
    expect(em.stats().resets).toBe(2);
    expect((await post(em, CUSTOMER_PATH, customer('c3'))).status).toBe(200);
  });

  it('timeout: never answers (the client gives up); delay answers late', async () => {
    em.faults.push({ kind: 'timeout', acceptFirst: true });
    const started = Date.now();
    await expect(post(em, CUSTOMER_PATH, customer('t1'), { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(em.accepted.map((r) => r.payload.customer_id)).toEqual(['t1']);
    expect(em.stats().timeouts).toBe(1);

    em.faults.push({ kind: 'delay', ms: 150 });
    const t0 = Date.now();
    const late = await post(em, CUSTOMER_PATH, customer('t2'));
    expect(late.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('probabilistic faults follow the injected random source', async () => {
    // Draws: 0.1 < 0.3 → fault, index floor(0.6 * 2) = 1; 0.9 → none; 0.2 → fault, index floor(0.1 * 2) = 0.
    const draws = [0.1, 0.6, 0.9, 0.2, 0.1];
    em.faults.setProbabilistic({ rate: 0.3, kinds: [{ status: 500 }, { status: 502 }], random: () => draws.shift() ?? 0.99 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(em, CUSTOMER_PATH, customer(`p${i}`))).status);
    expect(statuses).toEqual([502, 200, 500, 200]);
    // Queued faults take precedence over the probabilistic mode.
    em.faults.push({ status: 401 });
    expect((await post(em, CUSTOMER_PATH, customer('p9'))).status).toBe(401);
    expect(() => em.faults.setProbabilistic({ rate: 2, kinds: [{ status: 500 }] })).toThrow();
  });
});

const DELETE_PATH = `/v1/customer/delete?app_id=${WS}`;
const deletion = (id: string) => ({ identity_type: 'customer_id', identity_value: id });

describe('MoEngage emulator: Delete User and profiles', () => {
  let em: MoEngageEmulator;
  const logLines: string[] = [];
  let clock = 2_000_000;

  beforeAll(async () => {
    em = await startMoEngageEmulator({
      workspaceId: WS,
      apiKey: KEY,
      requestId: () => RID,
      now: () => clock,
      log: (line) => logLines.push(line),
      rateLimit: { customerPerWindow: 100, deletePerWindow: 2, windowMs: 10_000 },
    });
  });
  afterAll(async () => {
    await em.close();
  });
  afterEach(() => {
    em.reset();
    logLines.length = 0;
    clock = 2_000_000;
  });

  it('accepts a deletion with the documented success body, removes the profile and counts it per customer_id', async () => {
    await post(em, CUSTOMER_PATH, customer('d1'));
    await post(em, CUSTOMER_PATH, customer('d2'));
    expect([...em.profiles().keys()].sort()).toEqual(['d1', 'd2']);
    const r = await post(em, DELETE_PATH, deletion('d1'));
    expect(r.status).toBe(200);
    expect(r.json).toEqual(SUCCESS_BODY);
    expect(r.headers.get('x-ratelimit-limit')).toBe('2');
    expect([...em.profiles().keys()]).toEqual(['d2']);
    expect(em.deletes().get('d1')).toBe(1);
    expect(em.deletions).toEqual([{ identityType: 'customer_id', identityValue: 'd1', receivedAt: 2_000_000, requestId: RID, existed: true }]);
    expect(em.stats()).toMatchObject({ deletes: 1, acceptedRequests: 3, uniqueUsers: 1 });
    // The deletion is not an accepted user payload.
    expect(em.accepted.map((a) => a.payload.customer_id)).toEqual(['d1', 'd2']);
    expect(logLines.at(-1)).toBe('[moengage-emulator] accepted delete {"identity_type":"customer_id","identity_value":"d1"}');
  });

  it('a deletion of an unknown user is accepted too (MoEngage processes deletions later) and counted', async () => {
    expect((await post(em, DELETE_PATH, deletion('nobody'))).status).toBe(200);
    expect(em.deletes().get('nobody')).toBe(1);
    expect(em.deletions[0]?.existed).toBe(false);
  });

  it('a later update re-creates a deleted user, with only the attributes sent since', async () => {
    await post(em, CUSTOMER_PATH, customer('d3', { u_em: 'a@example.com', plan: 'pro' }));
    await post(em, DELETE_PATH, deletion('d3'));
    expect(em.profiles().has('d3')).toBe(false);
    await post(em, CUSTOMER_PATH, customer('d3', { u_fn: 'Late' }));
    expect(em.profiles().get('d3')).toEqual({ u_fn: 'Late' });
    // update_existing_only does not re-create it.
    await post(em, DELETE_PATH, deletion('d3'));
    await post(em, CUSTOMER_PATH, { ...customer('d3', { u_fn: 'Later' }), update_existing_only: true });
    expect(em.profiles().has('d3')).toBe(false);
    expect(em.deletes().get('d3')).toBe(2);
  });

  it('profiles merge Track User and Bulk Import elements, attributes overwriting, arrays added and removed; copies are returned', async () => {
    await post(em, CUSTOMER_PATH, customer('p1', { u_em: 'a@example.com', tags: ['x'] }));
    await post(em, BULK_PATH, {
      type: 'transition',
      elements: [customer('p1', { u_em: 'b@example.com', addValueToArrayField: { tags: ['y'] } }), customer('p2', { u_fn: 'Two' })],
    });
    await post(em, CUSTOMER_PATH, customer('p1', { removeValueFromArrayField: { tags: ['x'] } }));
    const profiles = em.profiles();
    expect(profiles.get('p1')).toEqual({ u_em: 'b@example.com', tags: ['y'] });
    expect(profiles.get('p2')).toEqual({ u_fn: 'Two' });
    (profiles.get('p1') as { tags: string[] }).tags.push('mutated');
    expect(em.profiles().get('p1')).toEqual({ u_em: 'b@example.com', tags: ['y'] });
  });

  it('answers 401, 400 (app_id, identity), 415 and 413 like Track User, before deleting anything', async () => {
    await post(em, CUSTOMER_PATH, customer('keep'));
    expect((await post(em, DELETE_PATH, deletion('keep'), { auth: null })).json).toEqual(ERROR_BODIES.authMissing(RID));
    const wrongKey = `Basic ${Buffer.from(`${WS}:nope`).toString('base64')}`;
    expect((await post(em, DELETE_PATH, deletion('keep'), { auth: wrongKey })).status).toBe(401);
    expect((await post(em, '/v1/customer/delete', deletion('keep'))).status).toBe(400);
    expect((await post(em, '/v1/customer/delete?app_id=other', deletion('keep'))).status).toBe(400);
    expect((await post(em, DELETE_PATH, deletion('keep'), { contentType: 'text/plain' })).status).toBe(415);
    expect((await post(em, DELETE_PATH, null, { raw: `{"identity_type":"customer_id","identity_value":"${'x'.repeat(130 * 1024)}"}` })).status).toBe(413);
    const cases: [unknown, string, string][] = [
      [{ identity_value: 'keep' }, 'identity_type', 'MissingAttributeError'],
      [{ identity_type: 'email', identity_value: 'keep' }, 'identity_type', 'InvalidAttributeError'],
      [{ identity_type: 'customer_id' }, 'identity_value', 'MissingAttributeError'],
      [{ identity_type: 'customer_id', identity_value: '  ' }, 'identity_value', 'MissingAttributeError'],
      [{ identity_type: 'customer_id', identity_value: 42 }, 'identity_value', 'MissingAttributeError'],
      ['not an object', 'identity_type', 'MissingAttributeError'],
    ];
    for (const [body, attribute, type] of cases) {
      const r = await post(em, DELETE_PATH, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json).toMatchObject({ status: 'fail', error: { attribute, type, request_id: RID } });
    }
    expect((await post(em, DELETE_PATH, null, { raw: '{nope' })).status).toBe(400);
    expect(em.profiles().has('keep')).toBe(true);
    expect(em.stats().deletes).toBe(0);
  });

  it('has its own rate limit (5,000 a minute by default): 429 with Retry-After, Track User unaffected', async () => {
    expect((await post(em, DELETE_PATH, deletion('r1'))).status).toBe(200);
    expect((await post(em, DELETE_PATH, deletion('r2'))).status).toBe(200);
    const limited = await post(em, DELETE_PATH, deletion('r3'));
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual(ERROR_BODIES.rateLimited(RID));
    expect(limited.headers.get('retry-after')).toBe('10');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect((await post(em, CUSTOMER_PATH, customer('r3'))).status).toBe(200);
    clock += 10_000;
    expect((await post(em, DELETE_PATH, deletion('r3'))).status).toBe(200);
    expect(em.stats().rateLimit.delete).toEqual({ limit: 2, remaining: 1 });
    const defaults = await startMoEngageEmulator({});
    try {
      expect(defaults.stats().rateLimit.delete.limit).toBe(5_000);
    } finally {
      await defaults.close();
    }
  });

  it('reject and blocked modes and queued faults apply to deletions too', async () => {
    await post(em, CUSTOMER_PATH, customer('m1'));
    em.setMode('reject');
    expect((await post(em, DELETE_PATH, deletion('m1'))).status).toBe(400);
    em.setMode('blocked');
    expect((await post(em, DELETE_PATH, deletion('m1'))).status).toBe(403);
    em.setMode('accept');
    clock += 10_000; // a new window: the limit is 2 deletions per window here
    em.faults.push({ status: 500 });
    expect((await post(em, DELETE_PATH, deletion('m1'))).status).toBe(500);
    expect(em.profiles().has('m1')).toBe(true);
    expect((await post(em, DELETE_PATH, deletion('m1'))).status).toBe(200);
    expect(em.profiles().has('m1')).toBe(false);
  });

  it('masks an email-like customer_id in the printed line', async () => {
    await post(em, DELETE_PATH, deletion('jane@example.com'));
    expect(logLines.at(-1)).toBe('[moengage-emulator] accepted delete {"identity_type":"customer_id","identity_value":"j***@example.com"} (no such user)');
  });
});

describe('MoEngage emulator: per-user fault rules', () => {
  let em: MoEngageEmulator;

  beforeAll(async () => {
    em = await startMoEngageEmulator({ workspaceId: WS, apiKey: KEY, requestId: () => RID });
  });
  afterAll(async () => {
    await em.close();
  });
  afterEach(() => em.reset());

  it('fails every Track User request of one user whose attribute matches; the user’s other updates pass', async () => {
    em.faults.addUserRule({ customerId: 'u1', attribute: 'u_em', equals: 'a@example.com', status: 500 });
    for (let i = 0; i < 3; i++) {
      const e1 = await post(em, CUSTOMER_PATH, customer('u1', { u_em: 'a@example.com' }));
      expect(e1.status).toBe(500);
      expect(e1.json).toEqual(ERROR_BODIES.serverError(RID));
    }
    expect((await post(em, CUSTOMER_PATH, customer('u1', { u_em: 'b@example.com' }))).status).toBe(200);
    expect((await post(em, CUSTOMER_PATH, customer('u1', { u_fn: 'No email' }))).status).toBe(200);
    expect((await post(em, CUSTOMER_PATH, customer('u2', { u_em: 'a@example.com' }))).status).toBe(200);
    expect(em.profiles().get('u1')).toEqual({ u_em: 'b@example.com', u_fn: 'No email' });
    expect(em.stats().faultsInjected).toBe(3);
    expect(em.faults.userRules).toHaveLength(1);
  });

  it('without attribute: every request of the user; times: only the first N; deep equality; a bulk with a matching element fails whole', async () => {
    em.faults.setUserRules([
      { customerId: 'u1', status: 429, retryAfterSeconds: 3, times: 2 },
      { customerId: 'u2', attribute: 'tags', equals: ['a', 'b'], status: 400 },
    ]);
    const first = await post(em, CUSTOMER_PATH, customer('u1'));
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('3');
    expect((await post(em, CUSTOMER_PATH, customer('u1'))).status).toBe(429);
    expect((await post(em, CUSTOMER_PATH, customer('u1'))).status).toBe(200);
    expect(em.faults.userRules.map((r) => r.customerId)).toEqual(['u2']);

    expect((await post(em, CUSTOMER_PATH, customer('u2', { tags: ['a'] }))).status).toBe(200);
    const bulk = await post(em, BULK_PATH, { type: 'transition', elements: [customer('u3'), customer('u2', { tags: ['a', 'b'] })] });
    expect(bulk.status).toBe(400);
    expect(em.profiles().has('u3')).toBe(false);
  });

  it('the request checks come first; invalid rules are refused with a message; reset and clear remove the rules', async () => {
    em.faults.addUserRule({ customerId: 'u1', status: 503 });
    expect((await post(em, CUSTOMER_PATH, customer('u1'), { auth: null })).status).toBe(401);
    expect((await post(em, CUSTOMER_PATH, customer('u1'))).status).toBe(503);
    for (const bad of [
      { customerId: '', status: 500 },
      { customerId: 'u', status: 99 },
      { customerId: 'u', status: 500, attribute: 'u_em' },
      { customerId: 'u', status: 500, equals: 'x' },
      { customerId: 'u', status: 500, times: 0 },
      { customerId: 'u', status: 500, colour: 'red' },
    ]) {
      expect(() => em.faults.addUserRule(bad as never), JSON.stringify(bad)).toThrow(RangeError);
    }
    expect(() => em.faults.setUserRules([{ customerId: 'ok', status: 500 }, { customerId: '', status: 500 }])).toThrow(RangeError);
    expect(em.faults.userRules).toHaveLength(1);
    em.faults.clear();
    expect(em.faults.userRules).toHaveLength(0);
    em.faults.addUserRule({ customerId: 'u1', status: 503 });
    em.reset();
    expect((await post(em, CUSTOMER_PATH, customer('u1'))).status).toBe(200);
  });
});
