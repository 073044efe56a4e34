import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Webhook as SvixWebhook } from 'svix';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { standardSourceOptionsSchema, type IdentityResolutionConfig } from '../../functions/core/config';
import { versionMs } from '../../functions/core/version';
import { clerkSource } from '../../functions/sources/clerk';
import { decodeWhsecSecret } from '../../functions/sources/crypto';
import type { ParsedEvent, SourceContext, WebhookRequest } from '../../functions/sources/types';
import { payloadOf, withBody } from '../helpers/source-test';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/clerk/${name}.json`, import.meta.url)), 'utf8');

const USER_CREATED = fixture('user.created');
const USER_UPDATED = fixture('user.updated');
const PHONE_ONLY = fixture('user.created.phone-only');
const SESSION_CREATED = fixture('session.created');
const USER_DELETED = fixture('user.deleted');

// Deterministic test secrets in Clerk's format (whsec_ + base64 of 24 bytes).
const SECRET = `whsec_${Buffer.alloc(24, 0x11).toString('base64')}`;
const NEW_SECRET = `whsec_${Buffer.alloc(24, 0x22).toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.alloc(24, 0x33).toString('base64')}`;
const NOW = new Date('2024-05-28T08:00:01.000Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const MSG_ID = 'msg_2hE8kDeliveryId0000000001';

/** Signs with decodeWhsecSecret and node's HMAC, independently of clerkSource.verify. */
function ourSignature(secret: string, id: string, timestamp: number | string, body: string | Buffer): string {
  const key = decodeWhsecSecret(secret);
  if (!key) throw new Error('bad test secret');
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
  return `v1,${createHmac('sha256', key).update(signed).digest('base64')}`;
}

function svixSignature(secret: string, id: string, timestamp: number, body: string): string {
  return new SvixWebhook(secret).sign(id, new Date(timestamp * 1000), body);
}

function request(body: string | Buffer, headers: Record<string, string | undefined>): WebhookRequest {
  const lower: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  return { method: 'POST', path: '/webhooks/clerk', headers: lower, rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8') };
}

function signed(body: string, opts: { secret?: string; id?: string; timestamp?: number } = {}): WebhookRequest {
  const id = opts.id ?? MSG_ID;
  const timestamp = opts.timestamp ?? NOW_S;
  return request(body, {
    'svix-id': id,
    'svix-timestamp': String(timestamp),
    'svix-signature': svixSignature(opts.secret ?? SECRET, id, timestamp, body),
  });
}

function ctx(options: Record<string, unknown> = {}, identityResolution?: IdentityResolutionConfig, now: Date = NOW): SourceContext {
  return { now, options: standardSourceOptionsSchema.parse(options), identityResolution };
}

function parsed(body: string, id = MSG_ID): ParsedEvent {
  const r = clerkSource.parse(signed(body, { id }));
  if (!r.ok) throw new Error(`parse failed: ${r.message}`);
  return r.event;
}

describe('clerk source: identity', () => {
  it('is named clerk with a ±300 s default tolerance', () => {
    expect(clerkSource.name).toBe('clerk');
    expect(clerkSource.defaultToleranceSeconds).toBe(300);
  });
});

describe('clerk source: verify', () => {
  it('accepts a delivery signed by the official svix library', () => {
    expect(clerkSource.verify(signed(USER_CREATED), [SECRET], ctx())).toEqual({ ok: true });
  });

  it('accepts the unbranded webhook-* headers', () => {
    const sig = svixSignature(SECRET, MSG_ID, NOW_S, USER_CREATED);
    const req = request(USER_CREATED, { 'webhook-id': MSG_ID, 'webhook-timestamp': String(NOW_S), 'webhook-signature': sig });
    expect(clerkSource.verify(req, [SECRET], ctx())).toEqual({ ok: true });
  });

  it('produces what the official svix library verifies (our signing path, their verification)', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(NOW);
      const headers = { 'svix-id': MSG_ID, 'svix-timestamp': String(NOW_S), 'svix-signature': ourSignature(SECRET, MSG_ID, NOW_S, USER_CREATED) };
      expect(new SvixWebhook(SECRET).verify(USER_CREATED, headers)).toEqual(JSON.parse(USER_CREATED));
      expect(clerkSource.verify(request(USER_CREATED, headers), [SECRET], ctx())).toEqual({ ok: true });
      // And the same signature over another body fails on both sides.
      expect(() => new SvixWebhook(SECRET).verify(USER_UPDATED, headers)).toThrow();
      expect(clerkSource.verify(request(USER_UPDATED, headers), [SECRET], ctx()).ok).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  describe('secret rotation', () => {
    it('accepts any of several configured secrets', () => {
      expect(clerkSource.verify(signed(USER_CREATED, { secret: NEW_SECRET }), [SECRET, NEW_SECRET], ctx())).toEqual({ ok: true });
      expect(clerkSource.verify(signed(USER_CREATED, { secret: SECRET }), [SECRET, NEW_SECRET], ctx())).toEqual({ ok: true });
    });

    it('accepts a header carrying several signatures when one matches', () => {
      const oldSig = svixSignature(SECRET, MSG_ID, NOW_S, USER_CREATED);
      const newSig = svixSignature(NEW_SECRET, MSG_ID, NOW_S, USER_CREATED);
      const req = request(USER_CREATED, { 'svix-id': MSG_ID, 'svix-timestamp': String(NOW_S), 'svix-signature': `${newSig} ${oldSig}` });
      expect(clerkSource.verify(req, [SECRET], ctx())).toEqual({ ok: true });
      expect(clerkSource.verify(req, [NEW_SECRET], ctx())).toEqual({ ok: true });
      expect(clerkSource.verify(req, [OTHER_SECRET], ctx())).toEqual({ ok: false, message: 'signature mismatch' });
    });

    it('ignores an unusable secret next to a good one', () => {
      expect(clerkSource.verify(signed(USER_CREATED), ['not-a-secret!', SECRET], ctx())).toEqual({ ok: true });
    });
  });

  describe('timestamp tolerance', () => {
    const at = (delta: number, options: Record<string, unknown> = {}) =>
      clerkSource.verify(signed(USER_CREATED, { timestamp: NOW_S + delta }), [SECRET], ctx(options));

    it('accepts exactly ±300 s and refuses one second more, past or future', () => {
      expect(at(-300)).toEqual({ ok: true });
      expect(at(300)).toEqual({ ok: true });
      expect(at(-301)).toEqual({ ok: false, message: 'signature timestamp outside the tolerance' });
      expect(at(301)).toEqual({ ok: false, message: 'signature timestamp outside the tolerance' });
    });

    it('agrees with the official svix library at the edges', () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        vi.setSystemTime(NOW);
        for (const delta of [-301, -300, 0, 300, 301]) {
          const req = signed(USER_CREATED, { timestamp: NOW_S + delta });
          let theirs = true;
          try {
            new SvixWebhook(SECRET).verify(USER_CREATED, req.headers as Record<string, string>);
          } catch {
            theirs = false;
          }
          expect(clerkSource.verify(req, [SECRET], ctx()).ok, `delta ${delta}`).toBe(theirs);
        }
      } finally {
        vi.useRealTimers();
      }
    });

    it('honours options.toleranceSeconds', () => {
      expect(at(-301, { toleranceSeconds: 600 })).toEqual({ ok: true });
      expect(at(600, { toleranceSeconds: 600 })).toEqual({ ok: true });
      expect(at(-601, { toleranceSeconds: 600 }).ok).toBe(false);
      expect(at(-61, { toleranceSeconds: 60 }).ok).toBe(false);
    });

    it('refuses a replay of a once-valid delivery ten minutes later', () => {
      const req = signed(USER_CREATED);
      expect(clerkSource.verify(req, [SECRET], ctx())).toEqual({ ok: true });
      const later = new Date(NOW.getTime() + 600_000);
      expect(clerkSource.verify(req, [SECRET], ctx({}, undefined, later))).toEqual({
        ok: false,
        message: 'signature timestamp outside the tolerance',
      });
    });

    it('refuses a timestamp in milliseconds', () => {
      const ms = NOW.getTime();
      const req = request(USER_CREATED, { 'svix-id': MSG_ID, 'svix-timestamp': String(ms), 'svix-signature': ourSignature(SECRET, MSG_ID, ms, USER_CREATED) });
      expect(clerkSource.verify(req, [SECRET], ctx()).ok).toBe(false);
    });
  });

  describe('refusals', () => {
    const good = signed(USER_CREATED);

    it('refuses a forged signature', () => {
      const forged = `v1,${Buffer.alloc(32, 0xab).toString('base64')}`;
      expect(clerkSource.verify({ ...good, headers: { ...good.headers, 'svix-signature': forged } }, [SECRET], ctx())).toEqual({
        ok: false,
        message: 'signature mismatch',
      });
    });

    it('refuses a signature made with another secret', () => {
      expect(clerkSource.verify(signed(USER_CREATED, { secret: OTHER_SECRET }), [SECRET], ctx())).toEqual({
        ok: false,
        message: 'signature mismatch',
      });
    });

    it('refuses a signature over another body', () => {
      expect(clerkSource.verify({ ...good, rawBody: Buffer.from(USER_UPDATED) }, [SECRET], ctx()).ok).toBe(false);
    });

    it('refuses a truncated body', () => {
      expect(clerkSource.verify({ ...good, rawBody: good.rawBody.subarray(0, good.rawBody.length - 1) }, [SECRET], ctx()).ok).toBe(false);
    });

    it('refuses a body with one byte changed', () => {
      const tampered = Buffer.from(good.rawBody);
      const at = tampered.indexOf('"plan": "pro"') + '"plan": "'.length;
      tampered[at] = 'P'.charCodeAt(0);
      expect(clerkSource.verify({ ...good, rawBody: tampered }, [SECRET], ctx())).toEqual({ ok: false, message: 'signature mismatch' });
    });

    it('refuses a changed message id or timestamp (both are signed)', () => {
      expect(clerkSource.verify({ ...good, headers: { ...good.headers, 'svix-id': 'msg_other' } }, [SECRET], ctx()).ok).toBe(false);
      expect(clerkSource.verify({ ...good, headers: { ...good.headers, 'svix-timestamp': String(NOW_S - 1) } }, [SECRET], ctx()).ok).toBe(false);
    });

    it('refuses missing headers', () => {
      for (const name of ['svix-id', 'svix-timestamp', 'svix-signature']) {
        const headers = { ...good.headers, [name]: undefined };
        expect(clerkSource.verify({ ...good, headers }, [SECRET], ctx()), name).toEqual({ ok: false, message: 'missing signature headers' });
      }
      expect(clerkSource.verify(request(USER_CREATED, {}), [SECRET], ctx())).toEqual({ ok: false, message: 'missing signature headers' });
    });

    it('refuses a header with no v1 signature', () => {
      const v1 = good.headers['svix-signature'] ?? '';
      const v2 = v1.replace(/^v1,/, 'v2,');
      expect(clerkSource.verify({ ...good, headers: { ...good.headers, 'svix-signature': v2 } }, [SECRET], ctx())).toEqual({
        ok: false,
        message: 'no v1 signature',
      });
    });

    it('refuses when no configured secret has the whsec_ format, without echoing it', () => {
      const secret = 'sk_live_this_is_not_a_signing_secret';
      const r = clerkSource.verify(good, [secret], ctx());
      expect(r).toEqual({ ok: false, message: 'no usable signing secret configured' });
      expect(clerkSource.verify(good, [], ctx())).toEqual({ ok: false, message: 'no usable signing secret configured' });
    });

    it('never puts the secret or the signature in a message', () => {
      const forged = { ...good, headers: { ...good.headers, 'svix-signature': 'v1,AAAA' } };
      const r = clerkSource.verify(forged, [SECRET], ctx());
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.message).not.toContain(SECRET.slice(6));
        expect(r.message).not.toContain('AAAA');
      }
    });
  });
});

describe('clerk source: parse', () => {
  it('takes the event id from svix-id, the type, the time and the user version', () => {
    const r = clerkSource.parse(signed(USER_CREATED));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event.id).toBe(MSG_ID);
    expect(r.event.type).toBe('user.created');
    expect(r.event.occurredAtMs).toBe(Date.parse('2024-05-28T08:00:00.789Z'));
    // data.updated_at 1716883200456 (2024-05-28T08:00:00.456Z), tie-broken by the svix-id.
    expect(r.event.version).toBe(`001716883200456~${MSG_ID}`);
    expect(r.event.body).toEqual(JSON.parse(USER_CREATED));
  });

  it('keeps the same id on a retry (same svix-id, new timestamp and signature)', () => {
    const first = clerkSource.parse(signed(USER_CREATED, { timestamp: NOW_S }));
    const retry = clerkSource.parse(signed(USER_CREATED, { timestamp: NOW_S + 120 }));
    expect(first.ok && retry.ok && first.event.id === retry.event.id).toBe(true);
  });

  it('falls back to webhook-id, and sets no version on non-user events', () => {
    const req = request(SESSION_CREATED, { 'webhook-id': 'msg_unbranded' });
    const r = clerkSource.parse(req);
    expect(r).toMatchObject({ ok: true, event: { id: 'msg_unbranded', type: 'session.created', occurredAtMs: Date.parse('2024-06-28T08:01:00.700Z') } });
    if (r.ok) expect(r.event.version).toBeUndefined();
  });

  it('leaves occurredAtMs out when the body has no timestamp', () => {
    const r = clerkSource.parse(signed(withBody(USER_CREATED, (b) => delete b.timestamp)));
    expect(r.ok && r.event.occurredAtMs).toBeUndefined();
  });

  it('refuses bodies that are not Clerk events', () => {
    const cases: [string | Buffer, string][] = [
      ['', 'body is empty'],
      ['{"type":', 'body is not valid JSON'],
      [Buffer.from([0x7b, 0xff, 0x7d]), 'body is not valid UTF-8'],
      ['[1,2]', 'body is not a Clerk event (not a JSON object)'],
      ['{"data":{}}', 'body is not a Clerk event (no "type")'],
      ['{"type":42,"data":{}}', 'body is not a Clerk event (no "type")'],
      ['{"type":"user.created"}', 'body is not a Clerk event (no "data" object)'],
      ['{"type":"user.created","data":[]}', 'body is not a Clerk event (no "data" object)'],
    ];
    for (const [body, message] of cases) {
      expect(clerkSource.parse(request(body, { 'svix-id': MSG_ID })), String(body)).toEqual({ ok: false, message });
    }
  });

  it('refuses a body nested too deeply', () => {
    const deep = `{"type":"user.created","data":${'['.repeat(100)}${']'.repeat(100)}}`;
    expect(clerkSource.parse(request(deep, { 'svix-id': MSG_ID })).ok).toBe(false);
  });

  it('refuses an event without a message id', () => {
    expect(clerkSource.parse(request(USER_CREATED, {}))).toEqual({ ok: false, message: 'missing svix-id header' });
  });
});

describe('clerk source: map', () => {
  it('maps user.created to the exact MoEngage payload', () => {
    const m = payloadOf(clerkSource.map(parsed(USER_CREATED), ctx()));
    expect(m.payload).toEqual({
      type: 'customer',
      customer_id: 'user_2hE8kAdaLovelace000000001',
      attributes: {
        // the primary address is the second one in the list
        u_em: 'ada.lovelace@example.com',
        u_mb: '+15555550142',
        u_fn: 'Ada',
        u_ln: 'Lovelace',
        u_n: 'Ada Lovelace',
        username: 'ada',
        image_url: 'https://img.clerk.com/eyJ0eXBlIjoicHJveHkiLCJzcmMiOiJleGFtcGxlIn0',
        clerk_created_at: '2024-05-28T08:00:00Z',
        clerk_updated_at: '2024-05-28T08:00:00Z',
        plan: 'pro',
        seats: 5,
        onboarding_completed: true,
        onboarding_step: 4,
        unsafe_metadata_theme: 'dark',
        unsafe_metadata_newsletter: true,
      },
    });
    expect(m.customerKey).toBe('user_2hE8kAdaLovelace000000001');
    expect(m.dropped).toEqual([]);
  });

  it('maps user.updated, following the new primary email', () => {
    const m = payloadOf(clerkSource.map(parsed(USER_UPDATED), ctx()));
    expect(m.payload).toEqual({
      type: 'customer',
      customer_id: 'user_2hE8kAdaLovelace000000001',
      attributes: {
        u_em: 'countess@example.org',
        u_mb: '+15555550142',
        u_fn: 'Augusta Ada',
        u_ln: 'King',
        u_n: 'Augusta Ada King',
        u_gd: 'female',
        u_bd: '1990-12-10',
        username: 'countess',
        image_url: 'https://img.clerk.com/eyJ0eXBlIjoicHJveHkiLCJzcmMiOiJleGFtcGxlIn0',
        clerk_created_at: '2024-05-28T08:00:00Z',
        clerk_updated_at: '2024-06-28T08:01:00Z',
        clerk_last_sign_in_at: '2024-06-28T07:58:20Z',
        plan: 'enterprise',
        seats: 25,
      },
    });
  });

  it('sends no u_em for a user without a primary email (phone sign-up)', () => {
    const m = payloadOf(clerkSource.map(parsed(PHONE_ONLY), ctx()));
    expect(m.payload).toEqual({
      type: 'customer',
      customer_id: 'user_2hEPhoneOnly00000000000007',
      attributes: {
        u_mb: '+15555550199',
        image_url: 'https://img.clerk.com/eyJ0eXBlIjoiZGVmYXVsdCJ9',
        clerk_created_at: '2024-05-28T09:00:00Z',
        clerk_updated_at: '2024-05-28T09:00:00Z',
      },
    });
  });

  it('never picks a non-primary address', () => {
    const noPrimary = withBody(USER_CREATED, (b) => {
      b.data.primary_email_address_id = null;
      b.data.primary_phone_number_id = null;
    });
    const dangling = withBody(USER_CREATED, (b) => {
      b.data.primary_email_address_id = 'idn_deleted_address';
      b.data.primary_phone_number_id = 'idn_deleted_phone';
    });
    for (const body of [noPrimary, dangling]) {
      const attrs = payloadOf(clerkSource.map(parsed(body), ctx())).payload.attributes ?? {};
      expect(attrs.u_em).toBeUndefined();
      expect(attrs.u_mb).toBeUndefined();
      expect(attrs.u_fn).toBe('Ada');
    }
  });

  it('never forwards private_metadata', () => {
    for (const body of [USER_CREATED, USER_UPDATED]) {
      const json = JSON.stringify(payloadOf(clerkSource.map(parsed(body), ctx())).payload);
      expect(json).not.toContain('cus_PRIVATE000001');
      expect(json).not.toContain('internal_risk_score');
      expect(json).not.toContain('private');
    }
  });

  it('lets neither metadata override Clerk fields or standard attributes', () => {
    const body = withBody(USER_CREATED, (b) => {
      b.data.public_metadata = { u_em: 'spoof@example.com', username: 'spoofed', plan: 'pro' };
      b.data.unsafe_metadata = { plan: 'enterprise', u_fn: 'Mallory', username: 'mallory' };
    });
    const attrs = payloadOf(clerkSource.map(parsed(body), ctx())).payload.attributes ?? {};
    expect(attrs.u_em).toBe('ada.lovelace@example.com');
    expect(attrs.u_fn).toBe('Ada');
    expect(attrs.username).toBe('ada');
    expect(attrs.plan).toBe('pro');
    expect(attrs.unsafe_metadata_plan).toBe('enterprise');
    expect(attrs.unsafe_metadata_username).toBe('mallory');
    expect(JSON.stringify(attrs)).not.toContain('spoof');
  });

  it('lets no metadata fill a standard attribute Clerk left empty', () => {
    const body = withBody(PHONE_ONLY, (b) => {
      b.data.public_metadata = { u_em: 'spoof@example.com', u_fn: 'Spoof' };
      b.data.unsafe_metadata = { u_ln: 'Spoof' };
    });
    const attrs = payloadOf(clerkSource.map(parsed(body), ctx())).payload.attributes ?? {};
    expect(attrs).not.toHaveProperty('u_em');
    expect(attrs).not.toHaveProperty('u_fn');
    expect(attrs).not.toHaveProperty('u_ln');
    expect(JSON.stringify(attrs)).not.toContain('Spoof');
  });

  it('builds u_n from whichever name part is present', () => {
    const firstOnly = withBody(USER_CREATED, (b) => (b.data.last_name = null));
    expect(payloadOf(clerkSource.map(parsed(firstOnly), ctx())).payload.attributes).toMatchObject({ u_fn: 'Ada', u_n: 'Ada' });
    const lastOnly = withBody(USER_CREATED, (b) => (b.data.first_name = '  '));
    const attrs = payloadOf(clerkSource.map(parsed(lastOnly), ctx())).payload.attributes ?? {};
    expect(attrs).toMatchObject({ u_ln: 'Lovelace', u_n: 'Lovelace' });
    expect(attrs.u_fn).toBeUndefined();
  });

  it('ignores the event types it does not act on', () => {
    const emailCreated = JSON.stringify({ data: { id: 'ema_1', object: 'email', status: 'queued' }, object: 'event', type: 'email.created' });
    const orgCreated = JSON.stringify({ data: { id: 'org_1', object: 'organization', name: 'Acme' }, object: 'event', type: 'organization.created' });
    for (const body of [SESSION_CREATED, USER_DELETED, emailCreated, orgCreated]) {
      const m = clerkSource.map(parsed(body), ctx());
      expect(m.kind, body.slice(0, 40)).toBe('ignored');
      if (m.kind === 'ignored') expect(m.reason).toContain(JSON.parse(body).type);
    }
  });

  it('rejects an acted-on event whose data is not a user', () => {
    const event: ParsedEvent = { id: MSG_ID, type: 'user.updated', body: { type: 'user.updated', data: 'nope' } };
    expect(clerkSource.map(event, ctx())).toEqual({ kind: 'rejected', field: 'data', message: 'the Clerk event has no user object in "data"' });
  });

  it('rejects a user without an id (422 naming customer_id)', () => {
    const body = withBody(USER_CREATED, (b) => delete b.data.id);
    const m = clerkSource.map(parsed(body), ctx());
    expect(m).toMatchObject({ kind: 'rejected', field: 'customer_id' });
  });

  describe('operator options', () => {
    it('customerIdField: email uses the primary email', () => {
      const m = payloadOf(clerkSource.map(parsed(USER_UPDATED), ctx({ customerIdField: 'email' })));
      expect(m.payload.customer_id).toBe('countess@example.org');
      expect(m.customerKey).toBe('countess@example.org');
    });

    it('customerIdField: email rejects a user without a primary email', () => {
      expect(clerkSource.map(parsed(PHONE_ONLY), ctx({ customerIdField: 'email' }))).toMatchObject({
        kind: 'rejected',
        field: 'customer_id (email)',
      });
    });

    it('customerIdField: phone uses the primary phone', () => {
      expect(payloadOf(clerkSource.map(parsed(PHONE_ONLY), ctx({ customerIdField: 'phone' }))).payload.customer_id).toBe('+15555550199');
    });

    it('customerIdField: a dot path (external_id)', () => {
      const m = payloadOf(clerkSource.map(parsed(USER_CREATED), ctx({ customerIdField: 'data.external_id' })));
      expect(m.payload.customer_id).toBe('acct-000418');
      expect(clerkSource.map(parsed(PHONE_ONLY), ctx({ customerIdField: 'data.external_id' }))).toMatchObject({
        kind: 'rejected',
        field: 'customer_id (data.external_id)',
      });
    });

    it('updateExistingOnly', () => {
      expect(payloadOf(clerkSource.map(parsed(USER_UPDATED), ctx({ updateExistingOnly: true }))).payload.update_existing_only).toBe(true);
      expect(payloadOf(clerkSource.map(parsed(USER_UPDATED), ctx())).payload).not.toHaveProperty('update_existing_only');
    });

    it('customAttributes: false sends the standard attributes only', () => {
      const m = payloadOf(clerkSource.map(parsed(USER_CREATED), ctx({ customAttributes: false })));
      expect(m.payload.attributes).toEqual({
        u_em: 'ada.lovelace@example.com',
        u_mb: '+15555550142',
        u_fn: 'Ada',
        u_ln: 'Lovelace',
        u_n: 'Ada Lovelace',
      });
    });

    it('identity resolution adds the identifiers', () => {
      const m = payloadOf(clerkSource.map(parsed(USER_CREATED), ctx({}, { identifiers: { moe_email: 'u_em', moe_mobile: 'u_mb' } })));
      expect(m.payload.attributes).toMatchObject({ moe_email: 'ada.lovelace@example.com', moe_mobile: '+15555550142' });
      expect(m.payload.customer_id).toBe('user_2hE8kAdaLovelace000000001');
    });
  });

  it('marks user.created as a create: create-only attributes pass there and only there', () => {
    const withFirstSeen = (raw: string) => withBody(raw, (b) => (b.data.public_metadata = { cr_t: 1716883200123 }));
    const created = payloadOf(clerkSource.map(parsed(withFirstSeen(USER_CREATED)), ctx()));
    expect(created.payload.attributes?.cr_t).toBe(1716883200123);
    const updated = payloadOf(clerkSource.map(parsed(withFirstSeen(USER_UPDATED)), ctx()));
    expect(updated.payload.attributes).not.toHaveProperty('cr_t');
    expect(updated.dropped).toEqual([{ name: 'cr_t', reason: 'create_only' }]);
  });
});

describe('clerk source: end to end', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('verify → parse → map on a delivery the svix library signs, with the unbranded headers too', () => {
    for (const branded of [true, false]) {
      const sig = svixSignature(SECRET, MSG_ID, NOW_S, USER_UPDATED);
      const p = branded ? 'svix' : 'webhook';
      const req = request(USER_UPDATED, { [`${p}-id`]: MSG_ID, [`${p}-timestamp`]: String(NOW_S), [`${p}-signature`]: sig });
      expect(clerkSource.verify(req, [OTHER_SECRET, SECRET], ctx())).toEqual({ ok: true });
      const r = clerkSource.parse(req);
      if (!r.ok) throw new Error(r.message);
      expect(payloadOf(clerkSource.map(r.event, ctx())).payload.attributes?.u_em).toBe('countess@example.org');
    }
  });
});

describe('clerk source: versions', () => {
  it('a later update of the user has a greater version than an earlier one, whatever the delivery order', () => {
    const earlier = parsed(withBody(USER_UPDATED, (b) => (b.data.updated_at = 1719561650000)), 'msg_b');
    const later = parsed(withBody(USER_UPDATED, (b) => (b.data.updated_at = 1719561660000)), 'msg_a');
    expect(later.version! > earlier.version!).toBe(true);
    expect(versionMs(later.version!)).toBe(1719561660000);
  });

  it('two events of the same millisecond are ordered by svix-id, and a retry keeps its version', () => {
    const a = parsed(USER_UPDATED, 'msg_a');
    const b = parsed(USER_UPDATED, 'msg_b');
    expect(a.version! < b.version!).toBe(true);
    expect(parsed(USER_UPDATED, 'msg_a').version).toBe(a.version);
  });

  it('a deletion is versioned by the event timestamp (its data has no updated_at)', () => {
    expect(parsed(USER_DELETED).version).toBe(`001722240000000~${MSG_ID}`);
  });

  it('no usable time: no version (the sender applies the event unguarded)', () => {
    for (const bad of [undefined, null, 'yesterday', -5, Number.NaN]) {
      const body = withBody(USER_UPDATED, (b) => (b.data.updated_at = bad));
      expect(parsed(body).version, String(bad)).toBeUndefined();
    }
    expect(parsed(withBody(USER_DELETED, (b) => delete b.timestamp)).version).toBeUndefined();
  });
});

describe('clerk source: deletions', () => {
  it('without deleteUsers, user.deleted stays ignored (200) and says how to propagate it', () => {
    const m = clerkSource.map(parsed(USER_DELETED), ctx());
    expect(m).toMatchObject({ kind: 'ignored' });
    if (m.kind === 'ignored') expect(m.reason).toContain('deleteUsers');
  });

  it('with deleteUsers, user.deleted is one Delete User of the customer_id an update would carry', () => {
    const deletion = clerkSource.map(parsed(USER_DELETED), ctx({ deleteUsers: true }));
    expect(deletion).toEqual({ kind: 'delete', customerId: 'user_2hE8kAdaLovelace000000001', customerKey: 'user_2hE8kAdaLovelace000000001' });
    const update = payloadOf(clerkSource.map(parsed(USER_UPDATED), ctx({ deleteUsers: true })));
    expect(update.customerKey).toBe('user_2hE8kAdaLovelace000000001');
  });

  it('deleteUsers changes nothing for updates', () => {
    expect(clerkSource.map(parsed(USER_UPDATED), ctx({ deleteUsers: true }))).toEqual(clerkSource.map(parsed(USER_UPDATED), ctx()));
  });

  it('customerIdField: a dot path the deletion carries is used; email (absent from a deletion) is ignored with a reason, not refused', () => {
    expect(clerkSource.map(parsed(USER_DELETED), ctx({ deleteUsers: true, customerIdField: 'data.id' }))).toMatchObject({
      kind: 'delete',
      customerId: 'user_2hE8kAdaLovelace000000001',
    });
    for (const customerIdField of ['email', 'phone', 'data.external_id']) {
      const m = clerkSource.map(parsed(USER_DELETED), ctx({ deleteUsers: true, customerIdField }));
      expect(m.kind, customerIdField).toBe('ignored');
      if (m.kind === 'ignored') expect(m.reason).toMatch(/user\.deleted not propagated: the deletion carries no customer_id \(.+\)/);
    }
  });

  it('a deletion without a usable id is ignored (a provider retries a 4xx forever)', () => {
    for (const id of [undefined, '', '   ', 'null', 42.5e300]) {
      const m = clerkSource.map(parsed(withBody(USER_DELETED, (b) => (b.data.id = id))), ctx({ deleteUsers: true }));
      expect(m.kind, String(id)).toBe('ignored');
    }
  });
});
