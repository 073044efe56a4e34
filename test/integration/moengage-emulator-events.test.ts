/** The MoEngage emulator's Create Event endpoint and Bulk Import event elements. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MoEngageClient } from '../../functions/core/moengage/client';
import type { EventPayload } from '../../functions/core/moengage/types';
import { ERROR_BODIES, startMoEngageEmulator, SUCCESS_BODY, type MoEngageEmulator } from '../../local/moengage-emulator';

const WS = 'ws-ev';
const KEY = 'key-ev-123';
const AUTH = `Basic ${Buffer.from(`${WS}:${KEY}`).toString('base64')}`;
const EVENT_PATH = `/v1/event/${WS}?app_id=${WS}`;
const BULK_PATH = `/v1/transition/${WS}?app_id=${WS}`;

const signedUp = (id = 'user_1') => ({
  type: 'event',
  customer_id: id,
  actions: [{ action: 'Signed Up', attributes: { provider: 'clerk', signup_method: 'email_code' }, current_time: 1764400000, platform: 'web' }],
});

async function post(em: MoEngageEmulator, path: string, body: unknown, auth: string | null = AUTH, contentType = 'application/json') {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (auth) headers.authorization = auth;
  const res = await fetch(`${em.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

describe('MoEngage emulator: Create Event', () => {
  let em: MoEngageEmulator;
  const lines: string[] = [];
  beforeAll(async () => {
    em = await startMoEngageEmulator({ workspaceId: WS, apiKey: KEY, requestId: () => 'RID', log: (l) => lines.push(l), rateLimit: { eventsPerWindow: 3 } });
  });
  afterAll(async () => {
    await em.close();
  });
  beforeEach(() => {
    em.reset();
    lines.length = 0;
  });

  it('accepts a documented Create Event body with the documented answer, records and prints it', async () => {
    const r = await post(em, EVENT_PATH, signedUp());
    expect(r.status).toBe(200);
    expect(r.json).toEqual(SUCCESS_BODY);
    expect(r.headers.get('x-ratelimit-limit')).toBe('3');
    expect(em.accepted.map((a) => [a.api, a.path, a.payload])).toEqual([['event', EVENT_PATH, signedUp()]]);
    expect(lines[0]).toMatch(/^\[moengage-emulator\] accepted event \{"type":"event","customer_id":"user_1","actions":\[\{"action":"Signed Up"/);
    expect(em.stats().rateLimit.event).toEqual({ limit: 3, remaining: 2 });
  });

  it('the client of the sender reaches it (URL, auth, body)', async () => {
    const client = new MoEngageClient({ baseUrl: em.url, fetch: globalThis.fetch });
    const outcome = await client.createEvent({ workspaceId: WS, apiKey: KEY }, signedUp('user_c') as EventPayload);
    expect(outcome).toMatchObject({ kind: 'delivered', status: 200, confirmed: true });
    expect(em.accepted[0]?.path).toBe(EVENT_PATH);
  });

  it.each([
    [{ ...signedUp(), type: 'customer' }, 'type', "type must be 'event'"],
    [{ ...signedUp(), customer_id: undefined }, 'customer_id', 'customer_id is not found in the payload'],
    [{ ...signedUp(), customer_id: ' ' }, 'customer_id', 'customer_id can not be empty Unicode String'],
    [{ ...signedUp(), actions: [] }, 'actions', 'actions is not found in the payload'],
    [{ ...signedUp(), actions: [{ attributes: {} }] }, 'actions.0.action', 'action is not found in the payload'],
    [{ ...signedUp(), actions: [{ action: 'A', platform: 'toaster' }] }, 'actions.0.platform', 'platform must be one of ANDROID, iOS, web or unknown'],
    [{ ...signedUp(), actions: [{ action: 'A', current_time: 'yesterday' }] }, 'actions.0.current_time', 'current_time must be epoch seconds or an ISO 8601 time'],
    [{ ...signedUp(), actions: [{ action: 'A', user_timezone_offset: 99_999 }] }, 'actions.0.user_timezone_offset', expect.stringContaining('user_timezone_offset')],
  ])('400 naming the field: %j', async (body, attribute, message) => {
    const r = await post(em, EVENT_PATH, body);
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ status: 'fail', error: { attribute, message, request_id: 'RID' } });
    expect(em.accepted).toHaveLength(0);
  });

  it('401 without or with wrong credentials, 415 for another content type (documented bodies)', async () => {
    expect((await post(em, EVENT_PATH, signedUp(), null)).json).toEqual(ERROR_BODIES.authMissing('RID'));
    expect((await post(em, EVENT_PATH, signedUp(), `Basic ${Buffer.from(`${WS}:nope`).toString('base64')}`)).status).toBe(401);
    const r = await post(em, EVENT_PATH, signedUp(), AUTH, 'text/plain');
    expect(r.status).toBe(415);
    expect(r.json).toEqual(ERROR_BODIES.unsupportedMedia('RID'));
  });

  it('429 with Retry-After once the window holds more events than its budget (events, not requests, count)', async () => {
    const two = { ...signedUp(), actions: [signedUp().actions[0], { action: 'Second' }] };
    expect((await post(em, EVENT_PATH, two)).status).toBe(200);
    expect((await post(em, EVENT_PATH, signedUp())).status).toBe(200);
    const r = await post(em, EVENT_PATH, signedUp());
    expect(r.status).toBe(429);
    expect(r.json).toEqual(ERROR_BODIES.rateLimited('RID'));
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('Bulk Import takes event elements beside customer elements; a bad event element is dropped (the request is 200)', async () => {
    const ok = await post(em, BULK_PATH, { type: 'transition', elements: [{ type: 'customer', customer_id: 'user_1', attributes: { u_fn: 'Ada' } }, signedUp()] });
    expect(ok.status).toBe(200);
    expect(em.accepted.map((a) => `${a.api}:${(a.payload as { type: string }).type}`)).toEqual(['bulk:customer', 'bulk:event']);
    expect(em.users().get('user_1')?.attributes).toEqual({ u_fn: 'Ada' });
    const bad = await post(em, BULK_PATH, { type: 'transition', elements: [{ type: 'customer', customer_id: 'user_2' }, { type: 'event', customer_id: 'user_2' }] });
    expect(bad.status).toBe(200);
    expect(em.dropped.map((d) => [d.index, d.error.attribute])).toEqual([[1, 'actions']]);
    expect(em.users().has('user_2')).toBe(true);
  });
});
