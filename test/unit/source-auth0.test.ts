/**
 * Auth0 Event Streams source: bearer-token authentication (constant time, rotation, RFC 7235 /
 * RFC 6750 header syntax), CloudEvents parsing with versions, deletions, and the exact payloads
 * (app_metadata never forwarded).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type StandardSourceOptions, standardSourceOptionsSchema } from '../../functions/core/config';
import { versionTime } from '../../functions/core/version';
import { auth0EventType, auth0Source } from '../../functions/sources/auth0';
import type { Mapped, ParsedEvent, SourceContext, WebhookRequest } from '../../functions/sources/types';

const NOW = new Date('2025-03-14T14:02:12.000Z');
const TOKEN = 'a0_evs_6Yq2Lm9Xr4Tb8Wn1Kc7Vz3Hp5Jd0Fs';
const OLD_TOKEN = 'a0_evs_Old0Token0Rotated0Out0000000';

function fixture(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/auth0/${name}`, import.meta.url));
}

function fixtureJson(name: string): Record<string, unknown> {
  return JSON.parse(fixture(name).toString('utf8')) as Record<string, unknown>;
}

function ctx(options: Partial<StandardSourceOptions> = {}): SourceContext {
  return { now: NOW, options: standardSourceOptionsSchema.parse(options) };
}

/** `null`: no Authorization header at all. */
function request(rawBody: Buffer, authorization: string | null = `Bearer ${TOKEN}`): WebhookRequest {
  const headers = { 'content-type': 'application/json', authorization: authorization ?? undefined };
  return { method: 'POST', path: '/webhooks/auth0', headers, rawBody };
}

function parsed(raw: Buffer): ParsedEvent {
  const p = auth0Source.parse(request(raw));
  if (!p.ok) throw new Error(p.message);
  return p.event;
}

function mapFixture(name: string, c: SourceContext = ctx()): Mapped {
  return auth0Source.map(parsed(fixture(name)), c);
}

function mapBody(body: unknown, c: SourceContext = ctx()): Mapped {
  return auth0Source.map(parsed(Buffer.from(JSON.stringify(body))), c);
}

const JANE_PAYLOAD = {
  type: 'customer',
  customer_id: 'auth0|67d4371f2b9a3c1e5d8f0a24',
  attributes: {
    u_em: 'jane.doe@example.com',
    u_mb: '+14155550123',
    u_fn: 'Jane',
    u_ln: 'Doe',
    u_n: 'Jane Doe',
    email_verified: false,
    phone_verified: false,
    user_metadata_preferred_language: 'fr',
    user_metadata_newsletter: true,
    user_metadata_preferences_theme: 'dark',
  },
};

describe('auth0 verify: Authorization: Bearer <token>', () => {
  const body = fixture('user.created.json');
  const verify = (authorization: string | null, tokens: string[] = [TOKEN]) => auth0Source.verify(request(body, authorization), tokens, ctx());

  it('accepts the configured token', () => {
    expect(verify(`Bearer ${TOKEN}`)).toEqual({ ok: true });
  });

  it('the scheme is case-insensitive (RFC 7235)', () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      expect(verify(`${scheme} ${TOKEN}`), scheme).toEqual({ ok: true });
    }
  });

  it('spaces: one or more between scheme and token, surrounding whitespace ignored; none inside the token', () => {
    expect(verify(`Bearer  ${TOKEN}`)).toEqual({ ok: true });
    expect(verify(`Bearer    ${TOKEN}`)).toEqual({ ok: true });
    expect(verify(`  Bearer ${TOKEN}  `)).toEqual({ ok: true });
    const malformed = { ok: false, message: 'Authorization header is not of the form "Bearer <token>"' };
    expect(verify(`Bearer\t${TOKEN}`)).toEqual(malformed);
    expect(verify(`Bearer${TOKEN}`)).toEqual(malformed);
    expect(verify(`Bearer ${TOKEN.slice(0, 10)} ${TOKEN.slice(10)}`)).toEqual(malformed);
    expect(verify(`Bearer ${TOKEN} extra`)).toEqual(malformed);
    expect(verify('Bearer')).toEqual(malformed);
    expect(verify('Bearer   ')).toEqual(malformed);
  });

  it('refuses other schemes and a bare token', () => {
    const malformed = { ok: false, message: 'Authorization header is not of the form "Bearer <token>"' };
    expect(verify(`Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}`)).toEqual(malformed);
    expect(verify(`Basic ${TOKEN}`)).toEqual(malformed);
    expect(verify(`Token ${TOKEN}`)).toEqual(malformed);
    expect(verify(`Bearer: ${TOKEN}`)).toEqual(malformed);
    expect(verify(`Bearers ${TOKEN}`)).toEqual(malformed);
    expect(verify(TOKEN)).toEqual(malformed);
  });

  it('the token itself is compared exactly', () => {
    const mismatch = { ok: false, message: 'bearer token mismatch' };
    expect(verify(`Bearer ${TOKEN.toUpperCase()}`)).toEqual(mismatch);
    expect(verify(`Bearer ${TOKEN.slice(0, -1)}`)).toEqual(mismatch);
    expect(verify(`Bearer ${TOKEN}x`)).toEqual(mismatch);
    expect(verify(`Bearer x${TOKEN}`)).toEqual(mismatch);
    expect(verify(`Bearer ${TOKEN.slice(1)}${TOKEN[0]}`)).toEqual(mismatch);
    expect(verify(`Bearer ${Buffer.from(TOKEN).toString('base64')}`)).toEqual(mismatch);
  });

  it('refuses every other token of the same length', () => {
    fc.assert(
      fc.property(fc.string({ minLength: TOKEN.length, maxLength: TOKEN.length, unit: 'grapheme-ascii' }), (candidate) => {
        fc.pre(candidate !== TOKEN && !/\s/.test(candidate));
        return verify(`Bearer ${candidate}`).ok === false;
      }),
      { seed: 20250314, numRuns: 300 },
    );
  });

  it('rotation: the old and the new token are both accepted', () => {
    for (const tokens of [[TOKEN, OLD_TOKEN], [OLD_TOKEN, TOKEN]]) {
      expect(verify(`Bearer ${TOKEN}`, tokens)).toEqual({ ok: true });
      expect(verify(`Bearer ${OLD_TOKEN}`, tokens)).toEqual({ ok: true });
    }
    expect(verify(`Bearer ${OLD_TOKEN}`, [TOKEN])).toEqual({ ok: false, message: 'bearer token mismatch' });
  });

  it('a configured token with surrounding whitespace (a pasted newline) still matches', () => {
    expect(verify(`Bearer ${TOKEN}`, [`${TOKEN}\n`])).toEqual({ ok: true });
  });

  it('refuses a missing header and fails closed without a configured token', () => {
    expect(verify(null)).toEqual({ ok: false, message: 'missing Authorization header' });
    expect(verify('')).toEqual({ ok: false, message: 'missing Authorization header' });
    expect(verify(`Bearer ${TOKEN}`, [])).toEqual({ ok: false, message: 'no usable bearer token configured' });
    expect(verify('Bearer  ', ['', ' '])).toEqual({ ok: false, message: 'Authorization header is not of the form "Bearer <token>"' });
    expect(verify(`Bearer ${TOKEN}`, ['', ' '])).toEqual({ ok: false, message: 'no usable bearer token configured' });
  });

  it('never echoes the presented or configured token', () => {
    for (const r of [verify(`Bearer ${TOKEN}x`), verify(`Basic ${TOKEN}`), verify(`Bearer ${OLD_TOKEN}`, [TOKEN])]) {
      expect(r.ok).toBe(false);
      expect(JSON.stringify(r)).not.toContain('a0_evs_');
    }
  });

  it('has no timestamp tolerance (Auth0 signs no timestamp)', () => {
    expect(auth0Source.defaultToleranceSeconds).toBeUndefined();
  });
});

describe('auth0 parse', () => {
  it('CloudEvent id, type, time, and data.object.updated_at as the version (tie-break: the event id)', () => {
    const event = parsed(fixture('user.updated.json'));
    expect({ ...event, body: undefined }).toEqual({
      id: 'evt_Q4wE6rT8yU0iO2pA',
      type: 'user.updated',
      occurredAtMs: Date.parse('2025-03-14T14:40:55.021Z'),
      version: `${String(Date.parse('2025-03-14T14:40:54.702Z')).padStart(15, '0')}~evt_Q4wE6rT8yU0iO2pA`,
      body: undefined,
    });
  });

  it('the version orders out-of-order deliveries of one user', () => {
    const older = fixtureJson('user.updated.json');
    const newer = structuredClone(older);
    (newer.data as { object: { updated_at: string } }).object.updated_at = '2025-03-14T14:41:03.118Z';
    const a = parsed(Buffer.from(JSON.stringify(older))).version!;
    const b = parsed(Buffer.from(JSON.stringify({ ...newer, id: 'evt_A' }))).version!;
    expect(a < b).toBe(true);
  });

  it('an update without a usable updated_at has no version', () => {
    for (const updatedAt of [undefined, null, 'soon', {}]) {
      const body = fixtureJson('user.updated.json');
      (body.data as { object: Record<string, unknown> }).object.updated_at = updatedAt;
      expect(parsed(Buffer.from(JSON.stringify(body))).version, String(updatedAt)).toBeUndefined();
    }
  });

  it('a deletion is versioned by the event time (the deleted object has no updated_at)', () => {
    expect(versionTime(parsed(fixture('user.deleted.json')).version!)).toBe('2025-03-14T15:00:00.450Z');
    const older = { ...fixtureJson('user.deleted.json'), type: 'com.auth0.user.deleted' };
    expect(parsed(Buffer.from(JSON.stringify(older))).version).toBe(parsed(fixture('user.deleted.json')).version);
  });

  it('refuses bodies without id or type', () => {
    const base = fixtureJson('user.created.json');
    for (const body of [{ ...base, id: undefined }, { ...base, id: 7 }, { ...base, type: '' }, { ...base, type: undefined }]) {
      expect(auth0Source.parse(request(Buffer.from(JSON.stringify(body)))).ok).toBe(false);
    }
    for (const raw of ['', '[]', 'x', '{"id":"evt_1"']) expect(auth0Source.parse(request(Buffer.from(raw))).ok, raw).toBe(false);
  });
});

describe('auth0 map', () => {
  it('user.created: the exact payload', () => {
    expect(mapFixture('user.created.json')).toEqual({ kind: 'payload', payload: JANE_PAYLOAD, customerKey: 'auth0|67d4371f2b9a3c1e5d8f0a24', dropped: [] });
  });

  it('user.updated: the exact payload (empty user_metadata left out)', () => {
    expect(mapFixture('user.updated.json')).toEqual({
      kind: 'payload',
      payload: {
        type: 'customer',
        customer_id: 'google-oauth2|108234567890123456789',
        attributes: { u_em: 'sam.rivera@example.com', u_fn: 'Sam', u_ln: 'Rivera', u_n: 'Sam Rivera', email_verified: true },
      },
      customerKey: 'google-oauth2|108234567890123456789',
      dropped: [],
    });
  });

  it('app_metadata is never forwarded, whatever the options', () => {
    for (const c of [ctx(), ctx({ customAttributes: true }), ctx({ customerIdField: 'email' })]) {
      for (const name of ['user.created.json', 'user.updated.json']) {
        const json = JSON.stringify(mapFixture(name, c));
        expect(json).not.toMatch(/app_metadata|roles|admin|enterprise|cus_RkX81aZq0bB7|permissions|tenant_role|owner/);
      }
    }
  });

  it('identities and other profile fields are not forwarded', () => {
    const mapped = mapFixture('user.updated.json');
    expect(mapped.kind).toBe('payload');
    const attributes = JSON.stringify(mapped.kind === 'payload' ? mapped.payload.attributes : null);
    expect(attributes).not.toMatch(/identities|108234567890123456789|logins|last_login|picture|googleusercontent|nickname|sam\.rivera"/);
  });

  it('user.deleted (without deleteUsers) and other events are ignored', () => {
    expect(mapFixture('user.deleted.json')).toEqual({
      kind: 'ignored',
      reason: 'event user.deleted is not acted on (set deleteUsers to delete the user in MoEngage)',
    });
    for (const type of ['organization.created', 'com.auth0.user.deleted', 'user.login']) {
      expect(mapBody({ ...fixtureJson('user.created.json'), type }).kind, type).toBe('ignored');
    }
  });

  it('accepts the older documented type form com.auth0.user.created', () => {
    expect(auth0EventType('com.auth0.user.updated')).toBe('user.updated');
    expect(auth0EventType('user.updated')).toBe('user.updated');
    expect(mapBody({ ...fixtureJson('user.created.json'), type: 'com.auth0.user.created' })).toEqual({
      kind: 'payload',
      payload: JANE_PAYLOAD,
      customerKey: 'auth0|67d4371f2b9a3c1e5d8f0a24',
      dropped: [],
    });
  });

  it('u_n is skipped when Auth0 filled name with the email address', () => {
    const body = fixtureJson('user.created.json');
    const user = { user_id: 'auth0|abc123def456', email: 'no.name@example.com', name: 'no.name@example.com', nickname: 'no.name' };
    expect(mapBody({ ...body, data: { object: user } })).toEqual({
      kind: 'payload',
      payload: { type: 'customer', customer_id: 'auth0|abc123def456', attributes: { u_em: 'no.name@example.com' } },
      customerKey: 'auth0|abc123def456',
      dropped: [],
    });
  });

  it('rejects an event without data.object.user_id (422 customer_id)', () => {
    const body = fixtureJson('user.created.json');
    expect(mapBody({ ...body, data: { object: { email: 'x@example.com' } } })).toMatchObject({ kind: 'rejected', field: 'customer_id' });
    expect(mapBody({ ...body, data: null })).toMatchObject({ kind: 'rejected', field: 'customer_id' });
  });

  it('customerIdField: email, or a dot path', () => {
    expect(mapFixture('user.created.json', ctx({ customerIdField: 'email' }))).toEqual({
      kind: 'payload',
      payload: { ...JANE_PAYLOAD, customer_id: 'jane.doe@example.com' },
      customerKey: 'jane.doe@example.com',
      dropped: [],
    });
    expect(mapFixture('user.created.json', ctx({ customerIdField: 'phone' }))).toMatchObject({ kind: 'payload', payload: { customer_id: '+14155550123' } });
    expect(mapFixture('user.created.json', ctx({ customerIdField: 'data.object.identities.0.user_id' }))).toMatchObject({
      kind: 'payload',
      payload: { customer_id: '67d4371f2b9a3c1e5d8f0a24' },
    });
    expect(mapFixture('user.updated.json', ctx({ customerIdField: 'phone' }))).toMatchObject({ kind: 'rejected', field: 'customer_id (phone)' });
  });

  it('updateExistingOnly and customAttributes: false', () => {
    expect(mapFixture('user.created.json', ctx({ updateExistingOnly: true }))).toEqual({
      kind: 'payload',
      payload: { ...JANE_PAYLOAD, update_existing_only: true },
      customerKey: 'auth0|67d4371f2b9a3c1e5d8f0a24',
      dropped: [],
    });
    expect(mapFixture('user.created.json', ctx({ customAttributes: false }))).toEqual({
      kind: 'payload',
      payload: {
        type: 'customer',
        customer_id: 'auth0|67d4371f2b9a3c1e5d8f0a24',
        attributes: { u_em: 'jane.doe@example.com', u_mb: '+14155550123', u_fn: 'Jane', u_ln: 'Doe', u_n: 'Jane Doe' },
      },
      customerKey: 'auth0|67d4371f2b9a3c1e5d8f0a24',
      dropped: [],
    });
  });
});

describe('auth0 never throws', () => {
  it('on arbitrary headers and bodies', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.option(fc.string({ maxLength: 80 }), { nil: null }), (bytes, authorization) => {
        const req = request(Buffer.from(bytes), authorization);
        auth0Source.verify(req, [TOKEN], ctx());
        const p = auth0Source.parse(req);
        if (p.ok) auth0Source.map(p.event, ctx());
      }),
      { seed: 7, numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom('user.created', 'user.updated'), (value, type) => {
        expect(['payload', 'rejected']).toContain(auth0Source.map({ id: 'e', type, body: value }, ctx()).kind);
      }),
      { seed: 8, numRuns: 300 },
    );
  });
});

describe('auth0 deletions (deleteUsers)', () => {
  it('user.deleted is one Delete User of data.object.user_id, the key an update of that user uses', () => {
    expect(mapFixture('user.deleted.json', ctx({ deleteUsers: true }))).toEqual({
      kind: 'delete',
      customerId: 'auth0|67d4371f2b9a3c1e5d8f0a24',
      customerKey: 'auth0|67d4371f2b9a3c1e5d8f0a24',
    });
    const update = { ...fixtureJson('user.updated.json') };
    (update.data as { object: Record<string, unknown> }).object.user_id = 'auth0|67d4371f2b9a3c1e5d8f0a24';
    expect(mapBody(update, ctx({ deleteUsers: true }))).toMatchObject({ kind: 'payload', customerKey: 'auth0|67d4371f2b9a3c1e5d8f0a24' });
  });

  it('the older type form com.auth0.user.deleted is a deletion too', () => {
    expect(mapBody({ ...fixtureJson('user.deleted.json'), type: 'com.auth0.user.deleted' }, ctx({ deleteUsers: true }))).toMatchObject({ kind: 'delete' });
  });

  it('customerIdField: email or phone cannot be resolved from a deletion (ignored with a reason); a carried path is used', () => {
    for (const customerIdField of ['email', 'phone'] as const) {
      const m = mapFixture('user.deleted.json', ctx({ deleteUsers: true, customerIdField }));
      expect(m.kind, customerIdField).toBe('ignored');
      if (m.kind === 'ignored') expect(m.reason).toContain(`customer_id (${customerIdField})`);
    }
    expect(mapFixture('user.deleted.json', ctx({ deleteUsers: true, customerIdField: 'data.object.user_id' }))).toMatchObject({ kind: 'delete' });
    // An Action that adds the email to the deletion makes it resolvable.
    const withEmail = fixtureJson('user.deleted.json');
    (withEmail.data as { object: Record<string, unknown> }).object.email = 'sam.rivera@example.com';
    expect(mapBody(withEmail, ctx({ deleteUsers: true, customerIdField: 'email' }))).toEqual({
      kind: 'delete',
      customerId: 'sam.rivera@example.com',
      customerKey: 'sam.rivera@example.com',
    });
  });

  it('a deletion without a user id is ignored, not refused', () => {
    const body = fixtureJson('user.deleted.json');
    (body.data as { object: Record<string, unknown> }).object.user_id = 7;
    expect(mapBody(body, ctx({ deleteUsers: true })).kind).toBe('ignored');
  });
});
