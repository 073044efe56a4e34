/**
 * Segment Webhooks destination source: X-Signature (hex HMAC-SHA1, checked against node:crypto
 * and the RFC 2202 vector: Segment ships no verification library), parsing and the exact
 * payloads of identify calls (anonymous ones rejected unless identity resolution applies).
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IdentityResolutionConfig, type StandardSourceOptions, standardSourceOptionsSchema } from '../../functions/core/config';
import { versionTime } from '../../functions/core/version';
import { segmentSource } from '../../functions/sources/segment';
import type { Mapped, ParsedEvent, SourceContext, WebhookRequest } from '../../functions/sources/types';

const NOW = new Date('2025-03-14T14:03:22.000Z');
const SECRET = 'seg_shared_R7tQ2vX9mK4pL8wN';
const OLD_SECRET = 'seg_shared_Previous000000000';

function fixture(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/segment/${name}`, import.meta.url));
}

function fixtureJson(name: string): Record<string, unknown> {
  return JSON.parse(fixture(name).toString('utf8')) as Record<string, unknown>;
}

/** Independent computation of Segment's X-Signature. */
function sign(raw: Buffer | string, secret = SECRET): string {
  return createHmac('sha1', Buffer.from(secret, 'utf8')).update(raw).digest('hex');
}

function ctx(options: Partial<StandardSourceOptions> = {}, identityResolution?: IdentityResolutionConfig): SourceContext {
  return { now: NOW, options: standardSourceOptionsSchema.parse(options), ...(identityResolution ? { identityResolution } : {}) };
}

/** `null`: no X-Signature header. */
function request(rawBody: Buffer, signature: string | null = sign(rawBody)): WebhookRequest {
  const headers = { 'content-type': 'application/json', 'user-agent': 'Segment.io/1.0', 'x-signature': signature ?? undefined };
  return { method: 'POST', path: '/webhooks/segment', headers, rawBody };
}

function parsed(raw: Buffer): ParsedEvent {
  const p = segmentSource.parse(request(raw));
  if (!p.ok) throw new Error(p.message);
  return p.event;
}

function mapFixture(name: string, c: SourceContext = ctx()): Mapped {
  return segmentSource.map(parsed(fixture(name)), c);
}

function mapBody(body: unknown, c: SourceContext = ctx()): Mapped {
  return segmentSource.map(parsed(Buffer.from(JSON.stringify(body))), c);
}

const PETER_ATTRIBUTES = {
  u_em: 'peter@example.com',
  u_mb: '+15555550199',
  u_fn: 'Peter',
  u_ln: 'Gibbons',
  u_n: 'Peter Gibbons',
  u_gd: 'male',
  u_bd: '1971-02-19',
  plan: 'premium',
  logins: 5,
  address_street: '6th St',
  address_city: 'San Francisco',
  address_state: 'CA',
  address_postalCode: '94103',
  address_country: 'USA',
  company_name: 'Initech',
  company_industry: 'Technology',
  company_employee_count: 250,
  createdAt: '2024-08-12T09:00:00Z',
};

describe('segment verify: X-Signature', () => {
  const body = fixture('identify.json');
  const verify = (signature: string | null, secrets: string[] = [SECRET], raw: Buffer = body) => segmentSource.verify(request(raw, signature), secrets, ctx());

  it('accepts the hex HMAC-SHA1 of the exact raw bytes, in either hex case', () => {
    expect(verify(sign(body))).toEqual({ ok: true });
    expect(verify(sign(body).toUpperCase())).toEqual({ ok: true });
  });

  it('agrees with RFC 2202 test case 2 (HMAC-SHA1, key "Jefe")', () => {
    expect(verify('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79', ['Jefe'], Buffer.from('what do ya want for nothing?'))).toEqual({ ok: true });
  });

  it('keys the HMAC with the secret string as UTF-8', () => {
    const unicode = 'seg-clé-ключ-鍵';
    expect(verify(sign(body, unicode), [unicode])).toEqual({ ok: true });
    expect(verify(createHmac('sha1', Buffer.from('00ff00ff', 'hex')).update(body).digest('hex'), ['00ff00ff']).ok).toBe(false);
  });

  it('rotation: the old and the new secret are both accepted', () => {
    for (const secrets of [[SECRET, OLD_SECRET], [OLD_SECRET, SECRET]]) {
      expect(verify(sign(body, OLD_SECRET), secrets)).toEqual({ ok: true });
      expect(verify(sign(body, SECRET), secrets)).toEqual({ ok: true });
    }
    expect(verify(sign(body, OLD_SECRET), [SECRET])).toEqual({ ok: false, message: 'signature mismatch' });
  });

  it('refuses a forged signature, another body, a truncated body and a re-serialized body', () => {
    expect(verify('0'.repeat(40))).toEqual({ ok: false, message: 'signature mismatch' });
    expect(verify(sign(fixture('track.json')))).toEqual({ ok: false, message: 'signature mismatch' });
    expect(verify(sign(body), [SECRET], body.subarray(0, body.length - 2)).ok).toBe(false);
    expect(verify(sign(body), [SECRET], Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8'))))).ok).toBe(false);
    // SHA-256 instead of SHA-1, or another secret: refused.
    expect(verify(createHmac('sha256', SECRET).update(body).digest('hex').slice(0, 40)).ok).toBe(false);
    expect(verify(sign(body, 'attacker')).ok).toBe(false);
  });

  it('refuses any single tampered byte', () => {
    const signature = sign(body);
    fc.assert(
      fc.property(fc.nat({ max: body.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, xor) => {
        const tampered = Buffer.from(body);
        tampered[index] = tampered[index]! ^ xor;
        return verify(signature, [SECRET], tampered).ok === false;
      }),
      { seed: 20250314, numRuns: 300 },
    );
  });

  it('refuses missing, wrong-length, non-hex and base64 signatures', () => {
    expect(verify(null)).toEqual({ ok: false, message: 'missing X-Signature header' });
    expect(verify('')).toEqual({ ok: false, message: 'missing X-Signature header' });
    const good = sign(body);
    const malformed = { ok: false, message: 'malformed X-Signature header: expected a hex HMAC-SHA1' };
    for (const bad of [
      good.slice(0, 39),
      `${good}0`,
      createHmac('sha256', SECRET).update(body).digest('hex'),
      `${good.slice(0, 38)}zz`,
      Buffer.from(good, 'hex').toString('base64'),
      `sha1=${good}`,
      `${good.slice(0, 20)} ${good.slice(20)}`,
    ]) {
      expect(verify(bad), bad).toEqual(malformed);
    }
  });

  it('fails closed without a usable secret, never echoes secrets, has no tolerance', () => {
    expect(verify(sign(body), [])).toEqual({ ok: false, message: 'no usable signing secret configured' });
    expect(verify(sign(body, ''), ['']).ok).toBe(false);
    const r = verify(sign(body, 'attacker'), [SECRET, OLD_SECRET]);
    expect(JSON.stringify(r)).not.toMatch(/seg_shared_/);
    expect(segmentSource.defaultToleranceSeconds).toBeUndefined();
  });
});

describe('segment parse', () => {
  it('messageId, type, timestamp', () => {
    const event = parsed(fixture('identify.json'));
    expect({ ...event, body: undefined }).toEqual({
      id: 'ajs-next-1710425000000-8c1f2a7d-4b3e-4f6a-9d2c-0e5b7a1c3d9f',
      type: 'identify',
      occurredAtMs: Date.parse('2025-03-14T14:03:20.610Z'),
      version: `${String(Date.parse('2025-03-14T14:03:20.610Z')).padStart(15, '0')}~ajs-next-1710425000000-8c1f2a7d-4b3e-4f6a-9d2c-0e5b7a1c3d9f`,
      body: undefined,
    });
  });

  it('the version is timestamp, else originalTimestamp; none without either', () => {
    const base = fixtureJson('identify.json');
    const versionOf = (body: Record<string, unknown>) => parsed(Buffer.from(JSON.stringify(body))).version;
    expect(versionTime(versionOf({ ...base, timestamp: undefined })!)).toBe('2025-03-14T14:03:20.118Z');
    expect(versionTime(versionOf({ ...base, timestamp: 'not a time' })!)).toBe('2025-03-14T14:03:20.118Z');
    expect(versionOf({ ...base, timestamp: undefined, originalTimestamp: undefined })).toBeUndefined();
    // sentAt is the batch's send time, not the call's: never a version.
    expect(versionOf({ ...base, timestamp: undefined, originalTimestamp: undefined, sentAt: '2025-03-14T14:03:20.512Z' })).toBeUndefined();
  });

  it('occurredAtMs falls back to sentAt', () => {
    const body = { ...fixtureJson('identify.json'), timestamp: undefined };
    expect(parsed(Buffer.from(JSON.stringify(body))).occurredAtMs).toBe(Date.parse('2025-03-14T14:03:20.512Z'));
  });

  it('refuses bodies without messageId or type', () => {
    const base = fixtureJson('identify.json');
    for (const body of [{ ...base, messageId: undefined }, { ...base, messageId: 12 }, { ...base, messageId: ' ' }, { ...base, type: undefined }]) {
      expect(segmentSource.parse(request(Buffer.from(JSON.stringify(body)))).ok).toBe(false);
    }
    for (const raw of ['', '[]', 'null', '{"type":"identify"']) expect(segmentSource.parse(request(Buffer.from(raw))).ok, raw).toBe(false);
  });
});

describe('segment map', () => {
  it('identify: the exact payload (nested address flattened)', () => {
    expect(mapFixture('identify.json')).toEqual({
      kind: 'payload',
      partial: true,
      payload: { type: 'customer', customer_id: '97980cfea0067', attributes: PETER_ATTRIBUTES },
      customerKey: '97980cfea0067',
      dropped: [],
    });
  });

  it('context, integrations and anonymousId are not forwarded', () => {
    const json = JSON.stringify(mapFixture('identify.json'));
    expect(json).not.toMatch(/203\.0\.113\.7|analytics-node|507f191e810c19729de860ea|America\/Los_Angeles/);
  });

  it('an identify with only an anonymousId is rejected (422 customer_id)', () => {
    expect(mapFixture('identify.anonymous.json')).toEqual({ kind: 'rejected', field: 'customer_id', message: 'customer_id is required' });
    const noUserId = { ...fixtureJson('identify.json'), userId: undefined };
    expect(mapBody(noUserId)).toMatchObject({ kind: 'rejected', field: 'customer_id' });
    expect(mapBody({ ...fixtureJson('identify.json'), userId: '' })).toMatchObject({ kind: 'rejected', field: 'customer_id' });
  });

  it('... unless identity resolution finds an identifier in the mapped attributes', () => {
    const c = ctx({}, { identifiers: { moe_email: 'u_em', moe_mobile: 'u_mb' } });
    expect(mapFixture('identify.anonymous.json', c)).toEqual({
      kind: 'payload',
      partial: true,
      payload: { type: 'customer', attributes: { u_em: 'visitor@example.com', moe_email: 'visitor@example.com', utm_source: 'newsletter' } },
      customerKey: 'moe_email:visitor@example.com',
      dropped: [],
    });
    const noTraits = { ...fixtureJson('identify.anonymous.json'), traits: {} };
    expect(mapBody(noTraits, c)).toMatchObject({ kind: 'rejected', field: 'customer_id' });
  });

  it('a trait named like an identifier never sets it (traits are user data; MoEngage merges profiles by identifiers)', () => {
    const c = ctx({}, { identifiers: { moe_email: 'u_em' } });
    const body = { ...fixtureJson('identify.json'), userId: 'attacker-1', traits: { plan: 'pro', moe_email: 'victim@example.com' } };
    expect(mapBody(body, c)).toMatchObject({
      kind: 'payload',
      payload: { type: 'customer', customer_id: 'attacker-1', attributes: { plan: 'pro' } },
      dropped: [{ name: 'moe_email', reason: 'moe_prefix' }],
    });
    const anonymous = { ...fixtureJson('identify.anonymous.json'), traits: { moe_email: 'victim@example.com' } };
    expect(mapBody(anonymous, c)).toMatchObject({ kind: 'rejected', field: 'customer_id' });
  });

  it('ignores track, page, screen, group and alias', () => {
    expect(mapFixture('track.json')).toEqual({ kind: 'ignored', reason: 'type track is not acted on' });
    for (const type of ['page', 'screen', 'group', 'alias', 'Identify']) {
      expect(mapBody({ ...fixtureJson('identify.json'), type }).kind, type).toBe('ignored');
    }
  });

  it('snake_case first_name / last_name; camelCase wins when both are present', () => {
    const traits = { first_name: 'Joanna', last_name: 'Smith', email: 'joanna@example.com' };
    expect(mapBody({ type: 'identify', messageId: 'm1', userId: 'u-42', traits })).toEqual({
      kind: 'payload',
      partial: true,
      payload: { type: 'customer', customer_id: 'u-42', attributes: { u_em: 'joanna@example.com', u_fn: 'Joanna', u_ln: 'Smith' } },
      customerKey: 'u-42',
      dropped: [],
    });
    const both = { firstName: 'Jo', first_name: 'Joanna', lastName: 'S', last_name: 'Smith' };
    expect(mapBody({ type: 'identify', messageId: 'm2', userId: 'u-42', traits: both })).toEqual({
      kind: 'payload',
      partial: true,
      payload: { type: 'customer', customer_id: 'u-42', attributes: { u_fn: 'Jo', u_ln: 'S' } },
      customerKey: 'u-42',
      dropped: [],
    });
  });

  it('traits named like standard keys, null traits and traits without values are not passed on', () => {
    const traits = { u_em: 'spoof@example.com', u_mb: '+15550000000', plan: null, email: 'real@example.com', nickname: '', title: '  ' };
    const mapped = mapBody({ type: 'identify', messageId: 'm3', userId: 'u-7', traits });
    expect(mapped).toEqual({
      kind: 'payload',
      partial: true,
      payload: { type: 'customer', customer_id: 'u-7', attributes: { u_em: 'real@example.com' } },
      customerKey: 'u-7',
      dropped: [],
    });
  });

  it('a numeric userId becomes a string; no traits is fine', () => {
    expect(mapBody({ type: 'identify', messageId: 'm4', userId: 90210 })).toEqual({
      kind: 'payload',
      partial: true,
      payload: { type: 'customer', customer_id: '90210' },
      customerKey: '90210',
      dropped: [],
    });
  });

  it('customerIdField: email, or a dot path (e.g. anonymousId)', () => {
    expect(mapFixture('identify.json', ctx({ customerIdField: 'email' }))).toEqual({
      kind: 'payload',
      partial: true,
      payload: { type: 'customer', customer_id: 'peter@example.com', attributes: PETER_ATTRIBUTES },
      customerKey: 'peter@example.com',
      dropped: [],
    });
    expect(mapFixture('identify.anonymous.json', ctx({ customerIdField: 'anonymousId' }))).toMatchObject({
      kind: 'payload',
      partial: true,
      payload: { customer_id: '9c4e1a2b-7d3f-4e5a-8b6c-0d1e2f3a4b5c' },
    });
    expect(mapFixture('identify.json', ctx({ customerIdField: 'traits.company.name' }))).toMatchObject({ kind: 'payload', payload: { customer_id: 'Initech' } });
    expect(mapFixture('identify.json', ctx({ customerIdField: 'traits.missing' }))).toMatchObject({ kind: 'rejected', field: 'customer_id (traits.missing)' });
  });

  it('updateExistingOnly and customAttributes: false', () => {
    expect(mapFixture('identify.json', ctx({ updateExistingOnly: true }))).toEqual({
      kind: 'payload',
      partial: true,
      payload: { type: 'customer', customer_id: '97980cfea0067', update_existing_only: true, attributes: PETER_ATTRIBUTES },
      customerKey: '97980cfea0067',
      dropped: [],
    });
    expect(mapFixture('identify.json', ctx({ customAttributes: false }))).toEqual({
      kind: 'payload',
      partial: true,
      payload: {
        type: 'customer',
        customer_id: '97980cfea0067',
        attributes: { u_em: 'peter@example.com', u_mb: '+15555550199', u_fn: 'Peter', u_ln: 'Gibbons', u_n: 'Peter Gibbons', u_gd: 'male', u_bd: '1971-02-19' },
      },
      customerKey: '97980cfea0067',
      dropped: [],
    });
  });
});

describe('segment never throws', () => {
  it('on arbitrary headers and bodies', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.option(fc.string({ maxLength: 60 }), { nil: null }), (bytes, sig) => {
        const req = request(Buffer.from(bytes), sig);
        segmentSource.verify(req, [SECRET], ctx());
        const p = segmentSource.parse(req);
        if (p.ok) segmentSource.map(p.event, ctx());
      }),
      { seed: 7, numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(['payload', 'rejected']).toContain(segmentSource.map({ id: 'e', type: 'identify', body: value }, ctx()).kind);
      }),
      { seed: 8, numRuns: 300 },
    );
  });
});
