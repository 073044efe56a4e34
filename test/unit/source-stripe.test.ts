import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { standardSourceOptionsSchema, type IdentityResolutionConfig } from '../../functions/core/config';
import { STRIPE_VERSION_RANK, stripeSignature, stripeSource } from '../../functions/sources/stripe';
import type { ParsedEvent, SourceContext, WebhookRequest } from '../../functions/sources/types';
import { payloadOf, withBody } from '../helpers/source-test';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/stripe/${name}.json`, import.meta.url)), 'utf8');

const CUSTOMER_CREATED = fixture('customer.created');
const CUSTOMER_UPDATED = fixture('customer.updated');
const CUSTOMER_DELETED = fixture('customer.deleted');
const INVOICE_PAID = fixture('invoice.paid');

// Deterministic test secrets in Stripe's format.
const SECRET = 'whsec_0123456789abcdefghijklmnopqrstuv';
const NEW_SECRET = 'whsec_vutsrqponmlkjihgfedcba9876543210';
const OTHER_SECRET = 'whsec_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ';
const NOW = new Date('2024-05-28T08:01:01.000Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);

// The client is only used for its offline webhook helpers; it never makes a request.
const stripe = new Stripe('sk_test_offline_only');

function stripeHeader(secret: string, timestamp: number, payload: string, scheme?: string): string {
  return stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp, scheme });
}

/** Our own signing path: the hex HMAC of `${t}.${body}` keyed with the whole secret. */
function ourHeader(secrets: string[], timestamp: number, payload: string): string {
  return [`t=${timestamp}`, ...secrets.map((s) => `v1=${stripeSignature(s, String(timestamp), Buffer.from(payload))}`)].join(',');
}

function request(body: string | Buffer, signature?: string): WebhookRequest {
  return {
    method: 'POST',
    path: '/webhooks/stripe',
    headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature },
    rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
  };
}

function signed(body: string, opts: { secret?: string; timestamp?: number } = {}): WebhookRequest {
  return request(body, stripeHeader(opts.secret ?? SECRET, opts.timestamp ?? NOW_S, body));
}

function ctx(options: Record<string, unknown> = {}, identityResolution?: IdentityResolutionConfig, now: Date = NOW): SourceContext {
  return { now, options: standardSourceOptionsSchema.parse(options), identityResolution };
}

function parsed(body: string): ParsedEvent {
  const r = stripeSource.parse(signed(body));
  if (!r.ok) throw new Error(`parse failed: ${r.message}`);
  return r.event;
}

describe('stripe source: identity', () => {
  it('is named stripe with a 300 s default tolerance', () => {
    expect(stripeSource.name).toBe('stripe');
    expect(stripeSource.defaultToleranceSeconds).toBe(300);
  });
});

describe('stripe source: verify', () => {
  it('accepts a header made by the official stripe library', () => {
    expect(stripeSource.verify(signed(CUSTOMER_CREATED), [SECRET], ctx())).toEqual({ ok: true });
  });

  it('produces what stripe.webhooks.constructEvent accepts (our signing path, their verification)', () => {
    const header = ourHeader([SECRET], NOW_S, CUSTOMER_CREATED);
    const event = stripe.webhooks.constructEvent(CUSTOMER_CREATED, header, SECRET, 300, undefined, NOW.getTime());
    expect(event.id).toBe('evt_1PLxQ2ExampleCustCreated01');
    expect(stripeSource.verify(request(CUSTOMER_CREATED, header), [SECRET], ctx())).toEqual({ ok: true });
    expect(() => stripe.webhooks.constructEvent(CUSTOMER_UPDATED, header, SECRET, 300, undefined, NOW.getTime())).toThrow();
    expect(stripeSource.verify(request(CUSTOMER_UPDATED, header), [SECRET], ctx()).ok).toBe(false);
  });

  it('keys the HMAC with the whole whsec_ string, not a decoded key', () => {
    const decodedKey = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    const wrong = createHmac('sha256', decodedKey).update(`${NOW_S}.${CUSTOMER_CREATED}`).digest('hex');
    expect(stripeSource.verify(request(CUSTOMER_CREATED, `t=${NOW_S},v1=${wrong}`), [SECRET], ctx())).toEqual({
      ok: false,
      message: 'signature mismatch',
    });
  });

  describe('secret rotation', () => {
    it('accepts any of several configured secrets', () => {
      expect(stripeSource.verify(signed(CUSTOMER_CREATED, { secret: NEW_SECRET }), [SECRET, NEW_SECRET], ctx())).toEqual({ ok: true });
      expect(stripeSource.verify(signed(CUSTOMER_CREATED, { secret: SECRET }), [SECRET, NEW_SECRET], ctx())).toEqual({ ok: true });
    });

    it('accepts a header with one v1 per secret while Stripe rolls the secret', () => {
      const header = ourHeader([NEW_SECRET, SECRET], NOW_S, CUSTOMER_CREATED);
      expect(stripeSource.verify(request(CUSTOMER_CREATED, header), [SECRET], ctx())).toEqual({ ok: true });
      expect(stripeSource.verify(request(CUSTOMER_CREATED, header), [NEW_SECRET], ctx())).toEqual({ ok: true });
      expect(stripeSource.verify(request(CUSTOMER_CREATED, header), [OTHER_SECRET], ctx())).toEqual({ ok: false, message: 'signature mismatch' });
      // the official library agrees
      expect(stripe.webhooks.constructEvent(CUSTOMER_CREATED, header, SECRET, 300, undefined, NOW.getTime()).type).toBe('customer.created');
    });

    it('trims a configured secret read with a trailing newline', () => {
      expect(stripeSource.verify(signed(CUSTOMER_CREATED), [`${SECRET}\n`], ctx())).toEqual({ ok: true });
    });
  });

  describe('timestamp tolerance', () => {
    const at = (delta: number, options: Record<string, unknown> = {}) =>
      stripeSource.verify(signed(CUSTOMER_CREATED, { timestamp: NOW_S + delta }), [SECRET], ctx(options));

    it('accepts exactly ±300 s and refuses one second more, past or future', () => {
      expect(at(-300)).toEqual({ ok: true });
      expect(at(300)).toEqual({ ok: true });
      expect(at(-301)).toEqual({ ok: false, message: 'signature timestamp outside the tolerance' });
      expect(at(301)).toEqual({ ok: false, message: 'signature timestamp outside the tolerance' });
    });

    it('agrees with the official library on past timestamps', () => {
      for (const delta of [-301, -300, -1, 0]) {
        const header = stripeHeader(SECRET, NOW_S + delta, CUSTOMER_CREATED);
        let theirs = true;
        try {
          stripe.webhooks.constructEvent(CUSTOMER_CREATED, header, SECRET, 300, undefined, NOW.getTime());
        } catch {
          theirs = false;
        }
        expect(stripeSource.verify(request(CUSTOMER_CREATED, header), [SECRET], ctx()).ok, `delta ${delta}`).toBe(theirs);
      }
    });

    it('honours options.toleranceSeconds', () => {
      expect(at(-301, { toleranceSeconds: 900 })).toEqual({ ok: true });
      expect(at(-901, { toleranceSeconds: 900 }).ok).toBe(false);
      expect(at(-31, { toleranceSeconds: 30 }).ok).toBe(false);
    });

    it('refuses a replay of a once-valid delivery an hour later', () => {
      const req = signed(CUSTOMER_CREATED);
      expect(stripeSource.verify(req, [SECRET], ctx())).toEqual({ ok: true });
      expect(stripeSource.verify(req, [SECRET], ctx({}, undefined, new Date(NOW.getTime() + 3_600_000))).ok).toBe(false);
    });
  });

  describe('refusals', () => {
    const good = signed(CUSTOMER_CREATED);

    it('refuses a forged signature', () => {
      expect(stripeSource.verify(request(CUSTOMER_CREATED, `t=${NOW_S},v1=${'ab'.repeat(32)}`), [SECRET], ctx())).toEqual({
        ok: false,
        message: 'signature mismatch',
      });
    });

    it('refuses a signature made with another secret', () => {
      expect(stripeSource.verify(signed(CUSTOMER_CREATED, { secret: OTHER_SECRET }), [SECRET], ctx()).ok).toBe(false);
    });

    it('refuses a signature over another body, a truncated body and a changed byte', () => {
      expect(stripeSource.verify({ ...good, rawBody: Buffer.from(CUSTOMER_UPDATED) }, [SECRET], ctx()).ok).toBe(false);
      expect(stripeSource.verify({ ...good, rawBody: good.rawBody.subarray(0, -2) }, [SECRET], ctx()).ok).toBe(false);
      const tampered = Buffer.from(good.rawBody);
      tampered[tampered.indexOf('cus_Q8x') + 4] = 'R'.charCodeAt(0);
      expect(stripeSource.verify({ ...good, rawBody: tampered }, [SECRET], ctx())).toEqual({ ok: false, message: 'signature mismatch' });
    });

    it('refuses a changed timestamp (it is signed)', () => {
      const header = (good.headers['stripe-signature'] ?? '').replace(`t=${NOW_S}`, `t=${NOW_S - 1}`);
      expect(stripeSource.verify(request(CUSTOMER_CREATED, header), [SECRET], ctx())).toEqual({ ok: false, message: 'signature mismatch' });
    });

    it('refuses a missing header', () => {
      expect(stripeSource.verify(request(CUSTOMER_CREATED), [SECRET], ctx())).toEqual({ ok: false, message: 'missing Stripe-Signature header' });
      expect(stripeSource.verify(request(CUSTOMER_CREATED, ''), [SECRET], ctx())).toEqual({ ok: false, message: 'missing Stripe-Signature header' });
    });

    it('refuses a header without a usable timestamp', () => {
      const sig = stripeSignature(SECRET, String(NOW_S), good.rawBody);
      for (const header of [`v1=${sig}`, `t=,v1=${sig}`, `t=1e9,v1=${sig}`, `t=-${NOW_S},v1=${sig}`, `t=${NOW_S}000000,v1=${sig}`]) {
        expect(stripeSource.verify(request(CUSTOMER_CREATED, header), [SECRET], ctx()), header).toEqual({
          ok: false,
          message: 'invalid signature timestamp',
        });
      }
    });

    it('refuses a header with only other schemes (v0, test mode)', () => {
      const v0 = stripeHeader(SECRET, NOW_S, CUSTOMER_CREATED, 'v0');
      expect(v0).toMatch(/^t=\d+,v0=[0-9a-f]{64}$/);
      expect(stripeSource.verify(request(CUSTOMER_CREATED, v0), [SECRET], ctx())).toEqual({ ok: false, message: 'no v1 signature' });
    });

    it('ignores v0 next to a valid v1', () => {
      const v1 = good.headers['stripe-signature'] ?? '';
      expect(stripeSource.verify(request(CUSTOMER_CREATED, `${v1},v0=${'00'.repeat(32)}`), [SECRET], ctx())).toEqual({ ok: true });
    });

    it('refuses an oversized header', () => {
      const v1 = good.headers['stripe-signature'] ?? '';
      expect(stripeSource.verify(request(CUSTOMER_CREATED, `${v1}${',x=1'.repeat(2000)}`), [SECRET], ctx())).toEqual({
        ok: false,
        message: 'malformed Stripe-Signature header',
      });
    });

    it('never uses a configured secret that is not a whsec_ signing secret', () => {
      // An API key pasted by mistake must not become a signing key, even if a signature was made with it.
      const apiKey = 'sk_test_51ExampleApiKeyNotASigningSecret';
      const header = ourHeader([apiKey], NOW_S, CUSTOMER_CREATED);
      for (const secrets of [[apiKey], [''], ['   '], ['whsec_'], ['whsec_has space'], []]) {
        expect(stripeSource.verify(request(CUSTOMER_CREATED, header), secrets, ctx()), JSON.stringify(secrets)).toEqual({
          ok: false,
          message: 'no usable signing secret configured',
        });
      }
    });

    it('never puts the secret or a signature in a message', () => {
      const header = `t=${NOW_S},v1=${'cd'.repeat(32)}`;
      const r = stripeSource.verify(request(CUSTOMER_CREATED, header), [SECRET], ctx());
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.message).not.toContain(SECRET);
        expect(r.message).not.toContain('cdcd');
      }
    });
  });
});

describe('stripe source: parse', () => {
  it('takes id, type and created from the event', () => {
    const r = stripeSource.parse(signed(CUSTOMER_CREATED));
    expect(r).toEqual({
      ok: true,
      event: {
        id: 'evt_1PLxQ2ExampleCustCreated01',
        type: 'customer.created',
        occurredAtMs: Date.parse('2024-05-28T08:01:00.000Z'),
        // created (seconds) as ms; tie-break rank 0 (a creation) and the event id.
        version: '001716883260000~0:evt_1PLxQ2ExampleCustCreated01',
        body: JSON.parse(CUSTOMER_CREATED),
      },
    });
  });

  it('parses events it will ignore (thin events included) without failing', () => {
    expect(stripeSource.parse(signed(INVOICE_PAID))).toMatchObject({ ok: true, event: { id: 'evt_1PMyS1ExampleInvoicePaid1', type: 'invoice.paid' } });
    const thin = JSON.stringify({ id: 'evt_test_65R0', object: 'v2.core.event', type: 'v1.billing.meter.error_report_triggered', created: '2024-09-17T06:20:52.246Z' });
    const r = stripeSource.parse(signed(thin));
    expect(r).toMatchObject({ ok: true, event: { id: 'evt_test_65R0' } });
    if (r.ok) expect(r.event.occurredAtMs).toBeUndefined();
  });

  it('refuses bodies that are not Stripe events', () => {
    const cases: [string | Buffer, string][] = [
      ['', 'body is empty'],
      ['{"id":"evt_1"', 'body is not valid JSON'],
      [Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), 'body is not valid UTF-8'],
      ['"evt_1"', 'body is not a Stripe event (not a JSON object)'],
      ['{"type":"customer.created"}', 'body is not a Stripe event (no "id")'],
      ['{"id":"","type":"customer.created"}', 'body is not a Stripe event (no "id")'],
      ['{"id":"evt_1"}', 'body is not a Stripe event (no "type")'],
      ['{"id":"evt_1","type":null}', 'body is not a Stripe event (no "type")'],
    ];
    for (const [body, message] of cases) expect(stripeSource.parse(request(body)), String(body)).toEqual({ ok: false, message });
  });
});

describe('stripe source: map', () => {
  it('maps customer.created to the exact MoEngage payload', () => {
    const m = payloadOf(stripeSource.map(parsed(CUSTOMER_CREATED), ctx()));
    expect(m.payload).toEqual({
      type: 'customer',
      customer_id: 'cus_Q8xExampleAda001',
      attributes: {
        u_em: 'ada.lovelace@example.com',
        u_mb: '+15555550142',
        u_n: 'Ada Lovelace',
        address_city: 'London',
        address_country: 'GB',
        address_line1: "12 St James's Square",
        address_postal_code: 'SW1Y 4JH',
        preferred_locales: ['en-GB', 'fr'],
        delinquent: false,
        stripe_created_at: '2024-05-28T08:00:59Z',
        app_user_id: 'user_2hE8kAdaLovelace000000001',
        signup_channel: 'web',
      },
    });
    expect(m.customerKey).toBe('cus_Q8xExampleAda001');
    expect(m.dropped).toEqual([]);
  });

  it('maps customer.updated to the exact MoEngage payload', () => {
    const m = payloadOf(stripeSource.map(parsed(CUSTOMER_UPDATED), ctx()));
    expect(m.payload).toEqual({
      type: 'customer',
      customer_id: 'cus_Q8xExampleAda001',
      attributes: {
        u_em: 'countess@example.org',
        u_n: 'Augusta Ada King',
        address_city: 'London',
        address_country: 'GB',
        address_line1: "12 St James's Square",
        address_line2: 'Flat 3',
        address_postal_code: 'SW1Y 4JH',
        currency: 'gbp',
        delinquent: true,
        stripe_created_at: '2024-05-28T08:00:59Z',
        app_user_id: 'user_2hE8kAdaLovelace000000001',
        signup_channel: 'web',
        plan: 'enterprise',
      },
    });
  });

  it('forwards neither the description, the shipping recipient, balances nor previous_attributes', () => {
    for (const body of [CUSTOMER_CREATED, CUSTOMER_UPDATED]) {
      const attrs = payloadOf(stripeSource.map(parsed(body), ctx())).payload.attributes ?? {};
      const json = JSON.stringify(attrs);
      expect(json).not.toContain('pricing page');
      expect(Object.keys(attrs).filter((k) => /shipping|balance|previous|livemode|invoice|description/.test(k))).toEqual([]);
    }
  });

  it('ignores the event types it does not act on, customer.deleted included', () => {
    for (const body of [CUSTOMER_DELETED, INVOICE_PAID]) {
      const m = stripeSource.map(parsed(body), ctx());
      expect(m.kind).toBe('ignored');
      if (m.kind === 'ignored') expect(m.reason).toContain(JSON.parse(body).type);
    }
  });

  it('lets metadata override neither customer fields nor standard attributes', () => {
    const body = withBody(CUSTOMER_UPDATED, (b) => {
      b.data.object.metadata = { u_em: 'spoof@example.com', currency: 'xxx', address_city: 'Nowhere', tier: 'gold' };
    });
    const attrs = payloadOf(stripeSource.map(parsed(body), ctx())).payload.attributes ?? {};
    expect(attrs).toMatchObject({ u_em: 'countess@example.org', currency: 'gbp', address_city: 'London', tier: 'gold' });
    expect(JSON.stringify(attrs)).not.toContain('spoof');
    expect(JSON.stringify(attrs)).not.toContain('Nowhere');
  });

  it('lets no metadata fill a standard attribute the customer lacks', () => {
    const body = withBody(CUSTOMER_UPDATED, (b) => (b.data.object.metadata = { u_mb: '+15555550100', u_fn: 'Spoof' }));
    const attrs = payloadOf(stripeSource.map(parsed(body), ctx())).payload.attributes ?? {};
    expect(attrs).not.toHaveProperty('u_mb');
    expect(attrs).not.toHaveProperty('u_fn');
  });

  it('lets a metadata key fill a customer field Stripe left empty', () => {
    // customer.created has currency null: no currency attribute from the customer itself.
    const body = withBody(CUSTOMER_CREATED, (b) => (b.data.object.metadata = { currency: 'eur' }));
    expect(payloadOf(stripeSource.map(parsed(body), ctx())).payload.attributes?.currency).toBe('eur');
    expect(payloadOf(stripeSource.map(parsed(CUSTOMER_CREATED), ctx())).payload.attributes).not.toHaveProperty('currency');
  });

  it('rejects an acted-on event without a customer object', () => {
    const event: ParsedEvent = { id: 'evt_1', type: 'customer.updated', body: { id: 'evt_1', type: 'customer.updated', data: {} } };
    expect(stripeSource.map(event, ctx())).toEqual({
      kind: 'rejected',
      field: 'data.object',
      message: 'the Stripe event has no customer object in "data.object"',
    });
  });

  it('rejects a customer without an id (422 naming customer_id)', () => {
    const body = withBody(CUSTOMER_CREATED, (b) => delete b.data.object.id);
    expect(stripeSource.map(parsed(body), ctx())).toMatchObject({ kind: 'rejected', field: 'customer_id' });
  });

  describe('operator options', () => {
    it('customerIdField: email', () => {
      expect(payloadOf(stripeSource.map(parsed(CUSTOMER_UPDATED), ctx({ customerIdField: 'email' }))).payload.customer_id).toBe(
        'countess@example.org',
      );
    });

    it('customerIdField: a metadata dot path (the application user id)', () => {
      const m = payloadOf(stripeSource.map(parsed(CUSTOMER_CREATED), ctx({ customerIdField: 'data.object.metadata.app_user_id' })));
      expect(m.payload.customer_id).toBe('user_2hE8kAdaLovelace000000001');
      expect(m.customerKey).toBe('user_2hE8kAdaLovelace000000001');
      const withoutIt = withBody(CUSTOMER_CREATED, (b) => (b.data.object.metadata = {}));
      expect(stripeSource.map(parsed(withoutIt), ctx({ customerIdField: 'data.object.metadata.app_user_id' }))).toMatchObject({
        kind: 'rejected',
        field: 'customer_id (data.object.metadata.app_user_id)',
      });
    });

    it('customerIdField: phone on a customer without a phone is rejected', () => {
      expect(stripeSource.map(parsed(CUSTOMER_UPDATED), ctx({ customerIdField: 'phone' }))).toMatchObject({
        kind: 'rejected',
        field: 'customer_id (phone)',
      });
    });

    it('updateExistingOnly', () => {
      expect(payloadOf(stripeSource.map(parsed(CUSTOMER_UPDATED), ctx({ updateExistingOnly: true }))).payload.update_existing_only).toBe(true);
    });

    it('customAttributes: false sends the standard attributes only', () => {
      expect(payloadOf(stripeSource.map(parsed(CUSTOMER_CREATED), ctx({ customAttributes: false }))).payload).toEqual({
        type: 'customer',
        customer_id: 'cus_Q8xExampleAda001',
        attributes: { u_em: 'ada.lovelace@example.com', u_mb: '+15555550142', u_n: 'Ada Lovelace' },
      });
    });

    it('identity resolution adds the identifiers', () => {
      const m = payloadOf(stripeSource.map(parsed(CUSTOMER_CREATED), ctx({}, { identifiers: { moe_email: 'u_em' } })));
      expect(m.payload.attributes?.moe_email).toBe('ada.lovelace@example.com');
    });
  });

  it('end to end: verify → parse → map', () => {
    const req = signed(CUSTOMER_UPDATED, { secret: NEW_SECRET, timestamp: NOW_S - 12 });
    expect(stripeSource.verify(req, [SECRET, NEW_SECRET], ctx())).toEqual({ ok: true });
    const r = stripeSource.parse(req);
    if (!r.ok) throw new Error(r.message);
    expect(payloadOf(stripeSource.map(r.event, ctx())).payload.attributes?.u_em).toBe('countess@example.org');
  });
});

describe('stripe source: versions (created in seconds; rank created < updated < deleted, then event id)', () => {
  const event = (type: string, id: string, created: number) =>
    parsed(
      withBody(type === 'customer.deleted' ? CUSTOMER_DELETED : CUSTOMER_UPDATED, (b) => {
        b.type = type;
        b.id = id;
        b.created = created;
      }),
    );

  it('a later second wins whatever the types and ids', () => {
    const later = event('customer.created', 'evt_A', 1722240001);
    const earlier = event('customer.deleted', 'evt_Z', 1722240000);
    expect(later.version! > earlier.version!).toBe(true);
    expect(later.version).toBe('001722240001000~0:evt_A');
  });

  it('within one second: created before updated before deleted, whatever the event ids', () => {
    const created = event('customer.created', 'evt_zzz', 1722240000);
    const updated = event('customer.updated', 'evt_mmm', 1722240000);
    const deleted = event('customer.deleted', 'evt_aaa', 1722240000);
    expect(created.version! < updated.version!).toBe(true);
    expect(updated.version! < deleted.version!).toBe(true);
    expect(STRIPE_VERSION_RANK).toEqual({ 'customer.created': 0, 'customer.updated': 1, 'customer.deleted': 2 });
  });

  it('two updates of the same second are ordered by event id, the same way on every delivery', () => {
    const a = event('customer.updated', 'evt_1PaaaExample', 1722240000);
    const b = event('customer.updated', 'evt_1PbbbExample', 1722240000);
    expect(a.version! < b.version!).toBe(true);
    expect(event('customer.updated', 'evt_1PbbbExample', 1722240000).version).toBe(b.version);
    expect(a.version).not.toBe(b.version);
  });

  it('no version for events it does not act on, or without a usable created', () => {
    expect(parsed(INVOICE_PAID).version).toBeUndefined();
    for (const created of ['2024-09-17T06:20:52.246Z', -1, 1.5, null]) {
      expect(parsed(withBody(CUSTOMER_UPDATED, (b) => (b.created = created))).version, String(created)).toBeUndefined();
    }
  });
});

describe('stripe source: deletions', () => {
  it('without deleteUsers, customer.deleted stays ignored and says how to propagate it', () => {
    const m = stripeSource.map(parsed(CUSTOMER_DELETED), ctx());
    expect(m.kind).toBe('ignored');
    if (m.kind === 'ignored') expect(m.reason).toContain('deleteUsers');
  });

  it('with deleteUsers: one Delete User of data.object.id, the key an update of that customer uses', () => {
    expect(stripeSource.map(parsed(CUSTOMER_DELETED), ctx({ deleteUsers: true }))).toEqual({
      kind: 'delete',
      customerId: 'cus_Q8xExampleAda001',
      customerKey: 'cus_Q8xExampleAda001',
    });
    const update = withBody(CUSTOMER_UPDATED, (b) => (b.data.object.id = 'cus_Q8xExampleAda001'));
    expect(payloadOf(stripeSource.map(parsed(update), ctx({ deleteUsers: true }))).customerKey).toBe('cus_Q8xExampleAda001');
  });

  it('customerIdField applies as for an update: the deleted customer object is complete', () => {
    expect(stripeSource.map(parsed(CUSTOMER_DELETED), ctx({ deleteUsers: true, customerIdField: 'email' }))).toEqual({
      kind: 'delete',
      customerId: 'countess@example.org',
      customerKey: 'countess@example.org',
    });
    const update = payloadOf(
      stripeSource.map(parsed(withBody(CUSTOMER_UPDATED, (b) => (b.data.object.email = 'countess@example.org'))), ctx({ customerIdField: 'email' })),
    );
    expect(update.customerKey).toBe('countess@example.org');
    expect(stripeSource.map(parsed(CUSTOMER_DELETED), ctx({ deleteUsers: true, customerIdField: 'data.object.metadata.app_user_id' }))).toMatchObject({
      kind: 'ignored',
    });
    // phone is null in the deletion: nothing to name the user with, ignored rather than refused.
    const m = stripeSource.map(parsed(CUSTOMER_DELETED), ctx({ deleteUsers: true, customerIdField: 'phone' }));
    expect(m.kind).toBe('ignored');
    if (m.kind === 'ignored') expect(m.reason).toContain('customer_id (phone)');
  });

  it('a deletion without a customer object is ignored, not refused', () => {
    const m = stripeSource.map(parsed(withBody(CUSTOMER_DELETED, (b) => delete b.data.object)), ctx({ deleteUsers: true }));
    expect(m.kind).toBe('ignored');
  });
});
