/**
 * The local run's MoEngage control routes (local/http.ts with the emulator's helpers, as
 * local/dev.ts wires them): `POST /_dev/moengage/mode` (mode and per-user fault rules) and
 * `GET /_dev/moengage/profiles`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer, type HttpServerHandle } from '../../local/http';
import { applyMoEngageMode, moengageProfiles, startMoEngageEmulator, type MoEngageEmulator } from '../../local/moengage-emulator';

describe('local run: /_dev/moengage routes', () => {
  let em: MoEngageEmulator;
  let http: HttpServerHandle;
  const auth = () => `Basic ${Buffer.from(`${em.workspaceId}:${em.apiKey}`).toString('base64')}`;
  const track = (body: unknown) =>
    fetch(`${em.url}/v1/customer/${em.workspaceId}?app_id=${em.workspaceId}`, {
      method: 'POST',
      headers: { authorization: auth(), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const mode = async (body: string) => {
    const res = await fetch(`${http.url}/_dev/moengage/mode`, { method: 'POST', body });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    em = await startMoEngageEmulator({});
    http = await startHttpServer({
      receiverHandler: () => ({ statusCode: 404, body: '' }),
      setMoEngageMode: (request) => applyMoEngageMode(em, request),
      moengageProfiles: () => moengageProfiles(em),
    });
  });
  afterAll(async () => {
    await http?.close();
    await em?.close();
  });

  it('sets per-user fault rules and the mode, answering the state in force', async () => {
    const rule = { customerId: 'u1', attribute: 'u_em', equals: 'a@example.com', status: 500 };
    const set = await mode(JSON.stringify({ userRules: [rule] }));
    expect(set).toEqual({ status: 200, json: { mode: 'accept', userRules: [rule] } });
    expect((await track({ type: 'customer', customer_id: 'u1', attributes: { u_em: 'a@example.com' } })).status).toBe(500);
    expect((await track({ type: 'customer', customer_id: 'u1', attributes: { u_em: 'b@example.com' } })).status).toBe(200);

    expect(await mode('{"mode":"blocked"}')).toEqual({ status: 200, json: { mode: 'blocked', userRules: [rule] } });
    expect(await mode('{"mode":"accept","userRules":[]}')).toEqual({ status: 200, json: { mode: 'accept', userRules: [] } });
    expect((await track({ type: 'customer', customer_id: 'u1', attributes: { u_em: 'a@example.com' } })).status).toBe(200);
  });

  it('refuses a request it cannot apply as a whole (400, nothing changed)', async () => {
    for (const body of ['{}', '[]', 'nope', '{"mode":"chaos"}', '{"userRules":{}}', '{"mode":"reject","userRules":[{"customerId":"u1"}]}']) {
      const r = await mode(body);
      expect(r.status, body).toBe(400);
      expect(r.json).toMatchObject({ error: { type: 'bad_request' } });
    }
    expect(em.mode).toBe('accept');
    expect((await mode('{"mode":"reject","userRules":[{"customerId":"u1"}]}')).json).toMatchObject({
      error: { message: expect.stringContaining('userRules.0: status must be an HTTP status') },
    });
  });

  it('GET /_dev/moengage/profiles lists the profiles and the Delete User calls per customer_id', async () => {
    em.reset();
    await track({ type: 'customer', customer_id: 'p1', attributes: { u_fn: 'Pat' } });
    await track({ type: 'customer', customer_id: 'p2', attributes: { u_fn: 'Sam' } });
    const deleted = await fetch(`${em.url}/v1/customer/delete?app_id=${em.workspaceId}`, {
      method: 'POST',
      headers: { authorization: auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ identity_type: 'customer_id', identity_value: 'p2' }),
    });
    expect(deleted.status).toBe(200);
    const res = await fetch(`${http.url}/_dev/moengage/profiles`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ profiles: { p1: { u_fn: 'Pat' } }, deletes: { p2: 1 } });
    const post = await fetch(`${http.url}/_dev/moengage/profiles`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    await post.text();
  });
});
