/**
 * WorkOS source: verification cross-checked with the official SDK (@workos-inc/node 8.13) in
 * both directions, tolerance edges (t in milliseconds), parsing and the exact payloads.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { WorkOS } from '@workos-inc/node';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type StandardSourceOptions, standardSourceOptionsSchema } from '../../functions/core/config';
import type { Mapped, ParsedEvent, SourceContext, WebhookRequest } from '../../functions/sources/types';
import { versionTime } from '../../functions/core/version';
import { WORKOS_DEFAULT_TOLERANCE_SECONDS, workosSource } from '../../functions/sources/workos';

const NOW = new Date('2025-03-14T13:06:00.000Z');
const NOW_MS = NOW.getTime();
const SECRET = 'wh_sec_Jk3nR8pW2xL6vB9qT4mZ7cY1';
const OLD_SECRET = 'wh_sec_0ldS3cr3tRotatedAway55';

// The SDK needs an API key to be constructed; it makes no request in these tests.
const workos = new WorkOS('sk_test_a1b2c3d4e5f6');

function fixtureJson(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../fixtures/workos/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
}

/** WorkOS sends the compact JSON serialization: the SDK signs JSON.stringify(payload). */
function rawOf(payload: unknown): Buffer {
  return Buffer.from(JSON.stringify(payload), 'utf8');
}

/** Independent computation of WorkOS's v1 signature. */
function hexSig(t: number | string, raw: Buffer | string, secret = SECRET): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${t}.`).update(raw).digest('hex');
}

function ctx(options: Partial<StandardSourceOptions> = {}): SourceContext {
  return { now: NOW, options: standardSourceOptionsSchema.parse(options) };
}

function request(rawBody: Buffer, signatureHeader: string | undefined): WebhookRequest {
  return { method: 'POST', path: '/webhooks/workos', headers: { 'content-type': 'application/json', 'workos-signature': signatureHeader }, rawBody };
}

function signed(rawBody: Buffer, t: number = NOW_MS, secret = SECRET): WebhookRequest {
  return request(rawBody, `t=${t}, v1=${hexSig(t, rawBody, secret)}`);
}

function parsed(raw: Buffer): ParsedEvent {
  const p = workosSource.parse(request(raw, undefined));
  if (!p.ok) throw new Error(p.message);
  return p.event;
}

function mapFixture(name: string, c: SourceContext = ctx()): Mapped {
  return workosSource.map(parsed(rawOf(fixtureJson(name))), c);
}

const CREATED_PAYLOAD = {
  type: 'customer',
  customer_id: 'user_01JPA6TZQ8M4N2B7C5V3X1K9HD',
  attributes: {
    u_em: 'marcelina.davis@example.com',
    u_fn: 'Marcelina',
    u_ln: 'Davis',
    timezone: 'America/New_York',
    plan: 'team',
    email_verified: false,
    external_id: 'f1ffa2b2-c20b-4d39-be5c-212726e11222',
    profile_picture_url: 'https://workoscdn.com/images/v1/4nLNzNvG3w',
    locale: 'en-US',
  },
};

afterEach(() => {
  vi.useRealTimers();
});

describe('workos verify: cross-checked with @workos-inc/node', () => {
  const payload = fixtureJson('user.created.json');
  const raw = rawOf(payload);

  it('a header signed by the official SDK (computeSignature) is accepted', async () => {
    const sig = await workos.webhooks.computeSignature(NOW_MS, payload, SECRET);
    expect(sig).toBe(hexSig(NOW_MS, raw));
    expect(workosSource.verify(request(raw, `t=${NOW_MS}, v1=${sig}`), [SECRET], ctx())).toEqual({ ok: true });
  });

  it('the SDK and this source agree on secrets in UTF-8, as given', async () => {
    const secret = 'wh_sec_clé-ключ-鍵';
    const sig = await workos.webhooks.computeSignature(NOW_MS, payload, secret);
    expect(workosSource.verify(request(raw, `t=${NOW_MS}, v1=${sig}`), [secret], ctx())).toEqual({ ok: true });
    expect(workosSource.verify(request(raw, `t=${NOW_MS}, v1=${sig}`), [SECRET], ctx()).ok).toBe(false);
  });

  it('our header format is accepted by the SDK constructEvent, which yields the same event', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    const sigHeader = `t=${NOW_MS}, v1=${hexSig(NOW_MS, raw)}`;
    expect(workosSource.verify(request(raw, sigHeader), [SECRET], ctx())).toEqual({ ok: true });
    const event = await workos.webhooks.constructEvent({ payload, sigHeader, secret: SECRET });
    expect(event).toMatchObject({ id: 'event_01JPA6V2W3X4Y5Z6A7B8C9D0EF', event: 'user.created', data: { id: 'user_01JPA6TZQ8M4N2B7C5V3X1K9HD' } });
    expect(parsed(raw)).toMatchObject({ id: event.id, type: event.event });
  });

  it('the SDK and this source give the same verdict on valid, tampered, foreign-secret and stale deliveries', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    const tamperedPayload = { ...payload, data: { ...(payload.data as object), email: 'attacker@example.com' } };
    const cases: { label: string; body: Record<string, unknown>; sigHeader: string; ok: boolean }[] = [
      { label: 'valid', body: payload, sigHeader: `t=${NOW_MS}, v1=${hexSig(NOW_MS, raw)}`, ok: true },
      { label: 'valid, 179 s old', body: payload, sigHeader: `t=${NOW_MS - 179_000}, v1=${hexSig(NOW_MS - 179_000, raw)}`, ok: true },
      { label: 'tampered body', body: tamperedPayload, sigHeader: `t=${NOW_MS}, v1=${hexSig(NOW_MS, raw)}`, ok: false },
      { label: 'foreign secret', body: payload, sigHeader: `t=${NOW_MS}, v1=${hexSig(NOW_MS, raw, 'other')}`, ok: false },
      { label: 'stale (181 s)', body: payload, sigHeader: `t=${NOW_MS - 181_000}, v1=${hexSig(NOW_MS - 181_000, raw)}`, ok: false },
      { label: 'timestamp changed', body: payload, sigHeader: `t=${NOW_MS - 1}, v1=${hexSig(NOW_MS, raw)}`, ok: false },
    ];
    for (const c of cases) {
      const ours = workosSource.verify(request(rawOf(c.body), c.sigHeader), [SECRET], ctx()).ok;
      const theirs = await workos.webhooks
        .constructEvent({ payload: c.body, sigHeader: c.sigHeader, secret: SECRET })
        .then(() => true)
        .catch(() => false);
      expect({ label: c.label, ours, theirs }).toEqual({ label: c.label, ours: c.ok, theirs: c.ok });
    }
  });
});

describe('workos verify', () => {
  const raw = rawOf(fixtureJson('user.updated.json'));

  it('uses a 180 s default tolerance, t in milliseconds, inclusive edges on both sides', () => {
    expect(workosSource.defaultToleranceSeconds).toBe(180);
    expect(WORKOS_DEFAULT_TOLERANCE_SECONDS).toBe(180);
    for (const [offset, ok] of [
      [0, true],
      [-180_000, true],
      [180_000, true],
      [-180_001, false],
      [180_001, false],
      [-3_600_000, false],
    ] as const) {
      const result = workosSource.verify(signed(raw, NOW_MS + offset), [SECRET], ctx());
      expect({ offset, ok: result.ok }).toEqual({ offset, ok });
    }
    expect(workosSource.verify(signed(raw, NOW_MS - 180_001), [SECRET], ctx())).toEqual({
      ok: false,
      message: 'signature timestamp outside the tolerance',
    });
  });

  it('toleranceSeconds overrides the default', () => {
    const c = ctx({ toleranceSeconds: 600 });
    expect(workosSource.verify(signed(raw, NOW_MS - 600_000), [SECRET], c)).toEqual({ ok: true });
    expect(workosSource.verify(signed(raw, NOW_MS - 600_001), [SECRET], c).ok).toBe(false);
    expect(workosSource.verify(signed(raw, NOW_MS - 31_000), [SECRET], ctx({ toleranceSeconds: 30 })).ok).toBe(false);
  });

  it('a timestamp in seconds (not milliseconds) is far outside the tolerance', () => {
    const seconds = Math.floor(NOW_MS / 1000);
    expect(workosSource.verify(signed(raw, seconds), [SECRET], ctx())).toEqual({ ok: false, message: 'signature timestamp outside the tolerance' });
  });

  it('rotation: old and new secret both accepted', () => {
    for (const secrets of [[SECRET, OLD_SECRET], [OLD_SECRET, SECRET]]) {
      expect(workosSource.verify(signed(raw, NOW_MS, OLD_SECRET), secrets, ctx())).toEqual({ ok: true });
      expect(workosSource.verify(signed(raw, NOW_MS, SECRET), secrets, ctx())).toEqual({ ok: true });
    }
    expect(workosSource.verify(signed(raw, NOW_MS, OLD_SECRET), [SECRET], ctx())).toEqual({ ok: false, message: 'signature mismatch' });
  });

  it('accepts several v1 entries when one matches, header spacing variants and upper-case hex', () => {
    const good = hexSig(NOW_MS, raw);
    const forged = 'a'.repeat(64);
    for (const header of [
      `t=${NOW_MS},v1=${good}`,
      `t=${NOW_MS}, v1=${forged}, v1=${good}`,
      ` t=${NOW_MS} ,  v1=${good} `,
      `v1=${good}, t=${NOW_MS}`,
      `t=${NOW_MS}, v1=${good.toUpperCase()}`,
    ]) {
      expect(workosSource.verify(request(raw, header), [SECRET], ctx()), header).toEqual({ ok: true });
    }
  });

  it('refuses forged signatures, another body, truncated bodies and a changed timestamp', () => {
    const other = rawOf(fixtureJson('user.created.json'));
    expect(workosSource.verify(request(raw, `t=${NOW_MS}, v1=${'0'.repeat(64)}`), [SECRET], ctx())).toEqual({ ok: false, message: 'signature mismatch' });
    expect(workosSource.verify(request(raw, `t=${NOW_MS}, v1=${hexSig(NOW_MS, other)}`), [SECRET], ctx()).ok).toBe(false);
    expect(workosSource.verify(request(raw.subarray(0, raw.length - 1), `t=${NOW_MS}, v1=${hexSig(NOW_MS, raw)}`), [SECRET], ctx()).ok).toBe(false);
    expect(workosSource.verify(request(raw, `t=${NOW_MS + 1}, v1=${hexSig(NOW_MS, raw)}`), [SECRET], ctx()).ok).toBe(false);
    // The signed string is `${t}.${body}`: a signature over the body alone is refused.
    const bodyOnly = createHmac('sha256', SECRET).update(raw).digest('hex');
    expect(workosSource.verify(request(raw, `t=${NOW_MS}, v1=${bodyOnly}`), [SECRET], ctx()).ok).toBe(false);
  });

  it('refuses any single tampered byte', () => {
    const header = `t=${NOW_MS}, v1=${hexSig(NOW_MS, raw)}`;
    fc.assert(
      fc.property(fc.nat({ max: raw.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, xor) => {
        const tampered = Buffer.from(raw);
        tampered[index] = tampered[index]! ^ xor;
        return workosSource.verify(request(tampered, header), [SECRET], ctx()).ok === false;
      }),
      { seed: 20250314, numRuns: 300 },
    );
  });

  it('refuses missing and malformed headers with a reason', () => {
    const good = hexSig(NOW_MS, raw);
    expect(workosSource.verify(request(raw, undefined), [SECRET], ctx())).toEqual({ ok: false, message: 'missing WorkOS-Signature header' });
    expect(workosSource.verify(request(raw, ''), [SECRET], ctx())).toEqual({ ok: false, message: 'missing WorkOS-Signature header' });
    const noTimestamp = { ok: false, message: 'WorkOS-Signature has no valid timestamp (t=<unix milliseconds>)' };
    const noSignature = { ok: false, message: 'WorkOS-Signature has no well-formed v1 signature' };
    const cases: [string, unknown][] = [
      [`v1=${good}`, noTimestamp],
      [`t=, v1=${good}`, noTimestamp],
      [`t=abc, v1=${good}`, noTimestamp],
      [`t=-${NOW_MS}, v1=${good}`, noTimestamp],
      [`t=${NOW_MS}.5, v1=${good}`, noTimestamp],
      [`t=${NOW_MS}`, noSignature],
      [`t=${NOW_MS}, v0=${good}`, noSignature],
      [`t=${NOW_MS}, v1=${good.slice(0, 63)}`, noSignature],
      [`t=${NOW_MS}, v1=${good}0`, noSignature],
      [`t=${NOW_MS}, v1=${good.slice(0, 62)}zz`, noSignature],
      [`t=${NOW_MS}, v1=${Buffer.from(good, 'hex').toString('base64')}`, noSignature],
      [`t=${NOW_MS} v1=${good}`, noTimestamp],
    ];
    for (const [header, expected] of cases) {
      expect(workosSource.verify(request(raw, header), [SECRET], ctx()), header).toEqual(expected);
    }
  });

  it('fails closed without a usable secret, and never echoes secrets', () => {
    expect(workosSource.verify(signed(raw), [], ctx())).toEqual({ ok: false, message: 'no usable signing secret configured' });
    expect(workosSource.verify(signed(raw, NOW_MS, ''), [''], ctx()).ok).toBe(false);
    const r = workosSource.verify(signed(raw, NOW_MS, 'other'), [SECRET, OLD_SECRET], ctx());
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toMatch(/wh_sec_/);
  });
});

describe('workos parse', () => {
  it('event id, type, created_at and the user updated_at', () => {
    const event = parsed(rawOf(fixtureJson('user.updated.json')));
    expect({ ...event, body: undefined }).toEqual({
      id: 'event_01JPA7C4D5E6F7G8H9J0K1M2NP',
      type: 'user.updated',
      occurredAtMs: Date.parse('2025-03-14T13:21:17.260Z'),
      version: `${String(Date.parse('2025-03-14T13:21:17.004Z')).padStart(15, '0')}~event_01JPA7C4D5E6F7G8H9J0K1M2NP`,
      body: undefined,
    });
  });

  it('no version for non-user events', () => {
    expect(parsed(rawOf(fixtureJson('dsync.user.created.json'))).version).toBeUndefined();
  });

  it('an update without updated_at falls back to the event created_at; without either, no version', () => {
    const body = fixtureJson('user.updated.json');
    delete (body.data as Record<string, unknown>).updated_at;
    expect(versionTime(parsed(rawOf(body)).version!)).toBe('2025-03-14T13:21:17.260Z');
    delete body.created_at;
    expect(parsed(rawOf(body)).version).toBeUndefined();
  });

  it('a deletion sorts after the last update it reports: the later of data.updated_at and the event created_at', () => {
    const deletion = parsed(rawOf(fixtureJson('user.deleted.json')));
    expect(versionTime(deletion.version!)).toBe('2025-03-14T14:02:30.871Z');
    expect(deletion.version! > parsed(rawOf(fixtureJson('user.updated.json'))).version!).toBe(true);
    const noCreatedAt = fixtureJson('user.deleted.json');
    delete noCreatedAt.created_at;
    expect(versionTime(parsed(rawOf(noCreatedAt)).version!)).toBe('2025-03-14T13:21:17.004Z');
  });

  it('refuses bodies without an event id or type', () => {
    const base = fixtureJson('user.created.json');
    for (const body of [{ ...base, id: undefined }, { ...base, id: 42 }, { ...base, id: '' }, { ...base, event: undefined }, { ...base, event: ' ' }]) {
      expect(workosSource.parse(request(rawOf(body), undefined)).ok).toBe(false);
    }
    for (const raw of ['', '[]', 'nope', '{"id":"event_1"']) {
      expect(workosSource.parse(request(Buffer.from(raw), undefined)).ok, raw).toBe(false);
    }
  });
});

describe('workos map', () => {
  it('user.created: the exact payload', () => {
    expect(mapFixture('user.created.json')).toEqual({ kind: 'payload', payload: CREATED_PAYLOAD, customerKey: 'user_01JPA6TZQ8M4N2B7C5V3X1K9HD', dropped: [] });
  });

  it('user.updated: the exact payload (nulls and empty metadata left out, dates normalized)', () => {
    expect(mapFixture('user.updated.json')).toEqual({
      kind: 'payload',
      payload: {
        type: 'customer',
        customer_id: 'user_01JPA6TZQ8M4N2B7C5V3X1K9HD',
        attributes: {
          u_em: 'marcelina@davis.example.org',
          u_fn: 'Marcelina',
          u_ln: 'Davis-Okafor',
          email_verified: true,
          last_sign_in_at: '2025-03-14T13:20:02Z',
        },
      },
      customerKey: 'user_01JPA6TZQ8M4N2B7C5V3X1K9HD',
      dropped: [],
    });
  });

  it('ignores Directory Sync users, sessions and other events', () => {
    expect(mapFixture('dsync.user.created.json')).toEqual({ kind: 'ignored', reason: 'event dsync.user.created is not acted on' });
    for (const type of ['session.created', 'user.deleted', 'organization_membership.created', 'authentication.email_verification_succeeded']) {
      const body = { ...fixtureJson('user.created.json'), event: type };
      expect(workosSource.map(parsed(rawOf(body)), ctx()).kind, type).toBe('ignored');
    }
  });

  it('metadata never overrides identity or the mapped fields', () => {
    const body = fixtureJson('user.created.json');
    const data = { ...(body.data as Record<string, unknown>), metadata: { u_em: 'spoof@example.com', u_mb: '+15550000000', email_verified: 'yes', external_id: 'spoof', tier: 'gold' } };
    const mapped = workosSource.map(parsed(rawOf({ ...body, data })), ctx());
    expect(mapped).toMatchObject({
      kind: 'payload',
      payload: { attributes: { u_em: 'marcelina.davis@example.com', email_verified: false, external_id: 'f1ffa2b2-c20b-4d39-be5c-212726e11222', tier: 'gold' } },
    });
    expect(JSON.stringify(mapped)).not.toMatch(/spoof|\+15550000000/);
  });

  it('rejects a user event without a user id (422 customer_id)', () => {
    const body = fixtureJson('user.created.json');
    const data = { ...(body.data as Record<string, unknown>), id: undefined };
    expect(workosSource.map(parsed(rawOf({ ...body, data })), ctx())).toMatchObject({ kind: 'rejected', field: 'customer_id' });
  });

  it('customerIdField: email, or a dot path', () => {
    expect(mapFixture('user.created.json', ctx({ customerIdField: 'email' }))).toEqual({
      kind: 'payload',
      payload: { ...CREATED_PAYLOAD, customer_id: 'marcelina.davis@example.com' },
      customerKey: 'marcelina.davis@example.com',
      dropped: [],
    });
    expect(mapFixture('user.created.json', ctx({ customerIdField: 'data.external_id' }))).toMatchObject({
      kind: 'payload',
      payload: { customer_id: 'f1ffa2b2-c20b-4d39-be5c-212726e11222' },
    });
    // user.updated has external_id null: nothing to use.
    expect(mapFixture('user.updated.json', ctx({ customerIdField: 'data.external_id' }))).toMatchObject({
      kind: 'rejected',
      field: 'customer_id (data.external_id)',
    });
  });

  it('updateExistingOnly and customAttributes: false', () => {
    expect(mapFixture('user.created.json', ctx({ updateExistingOnly: true }))).toEqual({
      kind: 'payload',
      payload: { ...CREATED_PAYLOAD, update_existing_only: true },
      customerKey: 'user_01JPA6TZQ8M4N2B7C5V3X1K9HD',
      dropped: [],
    });
    expect(mapFixture('user.created.json', ctx({ customAttributes: false }))).toEqual({
      kind: 'payload',
      payload: { type: 'customer', customer_id: 'user_01JPA6TZQ8M4N2B7C5V3X1K9HD', attributes: { u_em: 'marcelina.davis@example.com', u_fn: 'Marcelina', u_ln: 'Davis' } },
      customerKey: 'user_01JPA6TZQ8M4N2B7C5V3X1K9HD',
      dropped: [],
    });
  });
});

describe('workos never throws', () => {
  it('on arbitrary headers and bodies', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.option(fc.string({ maxLength: 120 }), { nil: undefined }), (bytes, header) => {
        const req = request(Buffer.from(bytes), header);
        workosSource.verify(req, [SECRET], ctx());
        const p = workosSource.parse(req);
        if (p.ok) workosSource.map(p.event, ctx());
      }),
      { seed: 7, numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom('user.created', 'user.updated'), (value, type) => {
        expect(['payload', 'rejected']).toContain(workosSource.map({ id: 'e', type, body: value }, ctx()).kind);
      }),
      { seed: 8, numRuns: 300 },
    );
  });
});

describe('workos deletions (deleteUsers)', () => {
  it('without deleteUsers, user.deleted is ignored and says how to propagate it', () => {
    const m = mapFixture('user.deleted.json');
    expect(m).toEqual({ kind: 'ignored', reason: 'event user.deleted is not acted on (set deleteUsers to delete the user in MoEngage)' });
  });

  it('with deleteUsers: one Delete User of data.id, the key an update of that user uses', () => {
    expect(mapFixture('user.deleted.json', ctx({ deleteUsers: true }))).toEqual({
      kind: 'delete',
      customerId: 'user_01JPA6TZQ8M4N2B7C5V3X1K9HD',
      customerKey: 'user_01JPA6TZQ8M4N2B7C5V3X1K9HD',
    });
    expect(mapFixture('user.updated.json', ctx({ deleteUsers: true }))).toMatchObject({ kind: 'payload', customerKey: 'user_01JPA6TZQ8M4N2B7C5V3X1K9HD' });
  });

  it('customerIdField email: the deleted user carries its email, so the deletion names the same user as its updates', () => {
    const options = { deleteUsers: true, customerIdField: 'email' as const };
    expect(mapFixture('user.deleted.json', ctx(options))).toEqual({
      kind: 'delete',
      customerId: 'marcelina@davis.example.org',
      customerKey: 'marcelina@davis.example.org',
    });
    expect(mapFixture('user.updated.json', ctx(options))).toMatchObject({ customerKey: 'marcelina@davis.example.org' });
    // phone: WorkOS users have none, ignored rather than refused.
    expect(mapFixture('user.deleted.json', ctx({ deleteUsers: true, customerIdField: 'phone' })).kind).toBe('ignored');
    expect(mapFixture('user.deleted.json', ctx({ deleteUsers: true, customerIdField: 'data.external_id' })).kind).toBe('ignored');
  });
});
