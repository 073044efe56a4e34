/**
 * Shopify source: HMAC verification (against independent node:crypto computations and published
 * HMAC-SHA256 vectors: Shopify ships no standalone verification library), Triggered-At max age,
 * parsing and the exact MoEngage payloads, including redacted protected customer data.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IdentityResolutionConfig, type StandardSourceOptions, standardSourceOptionsSchema } from '../../functions/core/config';
import { versionTime } from '../../functions/core/version';
import { SHOPIFY_MAX_TAGS, parseShopifyTimestamp, shopifySource, shopifyTags } from '../../functions/sources/shopify';
import type { Mapped, ParsedEvent, SourceContext, WebhookRequest } from '../../functions/sources/types';

const NOW = new Date('2025-03-14T13:15:00.000Z');
const SECRET = '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';
const OLD_SECRET = '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';

function fixture(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/shopify/${name}`, import.meta.url));
}

/** The header value Shopify sends, computed independently of the code under test. */
function sign(body: Buffer | string, secret = SECRET): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('base64');
}

function ctx(options: Partial<StandardSourceOptions> = {}, identityResolution?: IdentityResolutionConfig): SourceContext {
  return { now: NOW, options: standardSourceOptionsSchema.parse(options), ...(identityResolution ? { identityResolution } : {}) };
}

interface ReqOpts {
  topic?: string;
  signature?: string | null;
  eventId?: string | null;
  webhookId?: string | null;
  triggeredAt?: string | null;
}

function request(rawBody: Buffer, o: ReqOpts = {}): WebhookRequest {
  const headers: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'x-shopify-topic': o.topic ?? 'customers/create',
    'x-shopify-shop-domain': 'norman-outdoor.myshopify.com',
    'x-shopify-api-version': '2024-10',
    'x-shopify-webhook-id': o.webhookId === null ? undefined : (o.webhookId ?? 'b54557e4-8a5f-4bf7-9d70-bcd0432d1c3e'),
    'x-shopify-event-id': o.eventId === null ? undefined : (o.eventId ?? '98880550-7158-44d4-b7cd-2c97c8a091b5'),
    'x-shopify-triggered-at': o.triggeredAt === null ? undefined : (o.triggeredAt ?? '2025-03-14T13:12:45.877041743Z'),
    'x-shopify-hmac-sha256': o.signature === null ? undefined : (o.signature ?? sign(rawBody)),
  };
  return { method: 'POST', path: '/webhooks/shopify', headers, rawBody };
}

function parsed(req: WebhookRequest): ParsedEvent {
  const p = shopifySource.parse(req);
  if (!p.ok) throw new Error(`parse failed: ${p.message}`);
  return p.event;
}

function mapFixture(name: string, topic: string, c: SourceContext = ctx()): Mapped {
  return shopifySource.map(parsed(request(fixture(name), { topic })), c);
}

function withBody(body: Record<string, unknown>, topic = 'customers/update', c: SourceContext = ctx()): Mapped {
  return shopifySource.map(parsed(request(Buffer.from(JSON.stringify(body)), { topic })), c);
}

const BOB_CREATE_PAYLOAD = {
  type: 'customer',
  customer_id: '7431698612345',
  attributes: {
    u_em: 'bob.norman@example.com',
    u_mb: '+16135551111',
    u_fn: 'Bob',
    u_ln: 'Norman',
    tags: ['newsletter', 'vip', 'wholesale'],
    state: 'enabled',
    verified_email: true,
    currency: 'USD',
    email_marketing_state: 'subscribed',
    email_marketing_opt_in_level: 'single_opt_in',
    sms_marketing_state: 'not_subscribed',
    orders_count: 0,
    total_spent: 0,
    default_address_company: 'Norman Outdoor Supply',
    default_address_city: 'Louisville',
    default_address_province: 'Kentucky',
    default_address_province_code: 'KY',
    default_address_country: 'United States',
    default_address_country_code: 'US',
    default_address_zip: '40202',
  },
};

describe('shopify verify: X-Shopify-Hmac-Sha256', () => {
  const body = fixture('customers.create.json');

  it('accepts the base64 HMAC-SHA256 of the exact raw bytes, keyed with the client secret', () => {
    expect(shopifySource.verify(request(body), [SECRET], ctx())).toEqual({ ok: true });
  });

  it('agrees with a published example (third-party Shopify test vector)', () => {
    const raw = Buffer.from('{"id":1234567890,"email":"customer@example.com","total_price":"123.45"}');
    const req = request(raw, { signature: 'QNyObTlKbMx2qDlPF/ZOZcBqg5OgPg+2oky3zldc0Gw=' });
    expect(shopifySource.verify(req, ['test-webhook-secret'], ctx())).toEqual({ ok: true });
  });

  it('agrees with RFC 4231 test case 2 (HMAC-SHA256, key "Jefe"), base64-encoded', () => {
    const req = request(Buffer.from('what do ya want for nothing?'), { signature: 'W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=' });
    expect(shopifySource.verify(req, ['Jefe'], ctx())).toEqual({ ok: true });
    expect(Buffer.from('W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=', 'base64').toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('keys the HMAC with the secret string as UTF-8 (not hex- or base64-decoded)', () => {
    const unicode = 'shpss_clé-ключ-鍵';
    expect(shopifySource.verify(request(body, { signature: sign(body, unicode) }), [unicode], ctx())).toEqual({ ok: true });
    const hexSecret = '8e1c3a5d7b9f0e2c9f3b1c0e7a2d4b6f';
    const hexDecoded = createHmac('sha256', Buffer.from(hexSecret, 'hex')).update(body).digest('base64');
    expect(shopifySource.verify(request(body, { signature: hexDecoded }), [hexSecret], ctx()).ok).toBe(false);
  });

  it('rotation: the old and the new secret are both accepted, in any order', () => {
    for (const secrets of [[SECRET, OLD_SECRET], [OLD_SECRET, SECRET]]) {
      expect(shopifySource.verify(request(body, { signature: sign(body, OLD_SECRET) }), secrets, ctx())).toEqual({ ok: true });
      expect(shopifySource.verify(request(body, { signature: sign(body, SECRET) }), secrets, ctx())).toEqual({ ok: true });
    }
    expect(shopifySource.verify(request(body, { signature: sign(body, OLD_SECRET) }), [SECRET], ctx())).toEqual({
      ok: false,
      message: 'signature mismatch',
    });
  });

  it('refuses a forged signature and a signature made with another secret', () => {
    const forged = Buffer.alloc(32, 7).toString('base64');
    expect(shopifySource.verify(request(body, { signature: forged }), [SECRET], ctx())).toEqual({ ok: false, message: 'signature mismatch' });
    expect(shopifySource.verify(request(body, { signature: sign(body, 'shpss_attacker') }), [SECRET], ctx()).ok).toBe(false);
  });

  it('refuses a valid signature of another body, a truncated body, and a body with one extra byte', () => {
    const other = fixture('customers.update.json');
    expect(shopifySource.verify(request(body, { signature: sign(other) }), [SECRET], ctx()).ok).toBe(false);
    const truncated = body.subarray(0, body.length - 1);
    expect(shopifySource.verify(request(truncated, { signature: sign(body) }), [SECRET], ctx()).ok).toBe(false);
    const extended = Buffer.concat([body, Buffer.from('\n')]);
    expect(shopifySource.verify(request(extended, { signature: sign(body) }), [SECRET], ctx()).ok).toBe(false);
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8'))));
    expect(shopifySource.verify(request(reserialized, { signature: sign(body) }), [SECRET], ctx()).ok).toBe(false);
  });

  it('refuses any single tampered byte', () => {
    const signature = sign(body);
    fc.assert(
      fc.property(fc.nat({ max: body.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, xor) => {
        const tampered = Buffer.from(body);
        tampered[index] = tampered[index]! ^ xor;
        return shopifySource.verify(request(tampered, { signature }), [SECRET], ctx()).ok === false;
      }),
      { seed: 20250314, numRuns: 300 },
    );
  });

  it('refuses a missing or empty header', () => {
    expect(shopifySource.verify(request(body, { signature: null }), [SECRET], ctx())).toEqual({
      ok: false,
      message: 'missing X-Shopify-Hmac-Sha256 header',
    });
    expect(shopifySource.verify(request(body, { signature: '' }), [SECRET], ctx()).ok).toBe(false);
  });

  it('refuses wrong-length, non-base64, hex, URL-safe and case-altered signatures', () => {
    const good = sign(body);
    const digest = Buffer.from(good, 'base64');
    const cases: [string, string][] = [
      ['31 bytes', digest.subarray(0, 31).toString('base64')],
      ['33 bytes', Buffer.concat([digest, Buffer.from([0])]).toString('base64')],
      ['unpadded', good.replace(/=$/, '')],
      ['hex digest', digest.toString('hex')],
      ['non-base64 characters', `${good.slice(0, 40)}!@#=`],
      ['URL-safe character', `-${good.slice(1)}`],
      ['trailing garbage after padding', `${good}=`],
      ['inner space', `${good.slice(0, 20)} ${good.slice(21)}`],
      ['two signatures', `${good},${good}`],
      ['sha256= prefix', `sha256=${good}`],
    ];
    for (const [label, signature] of cases) {
      const result = shopifySource.verify(request(body, { signature }), [SECRET], ctx());
      expect(result.ok, label).toBe(false);
    }
    const flippedCase = good.replace(/[a-z]/, (c) => c.toUpperCase());
    expect(flippedCase).not.toBe(good);
    expect(shopifySource.verify(request(body, { signature: flippedCase }), [SECRET], ctx())).toEqual({ ok: false, message: 'signature mismatch' });
  });

  it('fails closed without a usable secret', () => {
    expect(shopifySource.verify(request(body), [], ctx())).toEqual({ ok: false, message: 'no usable signing secret configured' });
    expect(shopifySource.verify(request(body, { signature: sign(body, '') }), [''], ctx()).ok).toBe(false);
  });

  it('never echoes a secret or the signature in its messages', () => {
    const results = [
      shopifySource.verify(request(body, { signature: sign(body, 'shpss_attacker') }), [SECRET, OLD_SECRET], ctx()),
      shopifySource.verify(request(body, { signature: 'x' }), [SECRET], ctx()),
      shopifySource.verify(request(body, { triggeredAt: '2025-03-14T12:00:00Z' }), [SECRET], ctx({ maxAgeSeconds: 60 })),
    ];
    for (const r of results) {
      expect(r.ok).toBe(false);
      const message = r.ok ? '' : r.message;
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain(OLD_SECRET);
      expect(message).not.toContain(sign(body));
    }
  });

  it('has no signature timestamp tolerance (Shopify signs none)', () => {
    expect(shopifySource.defaultToleranceSeconds).toBeUndefined();
    // Without maxAgeSeconds, an old X-Shopify-Triggered-At does not matter.
    expect(shopifySource.verify(request(body, { triggeredAt: '2020-01-01T00:00:00Z' }), [SECRET], ctx())).toEqual({ ok: true });
    expect(shopifySource.verify(request(body, { triggeredAt: null }), [SECRET], ctx())).toEqual({ ok: true });
  });
});

describe('shopify verify: maxAgeSeconds on X-Shopify-Triggered-At', () => {
  const body = fixture('customers.update.json');
  const at = (offsetSeconds: number) => new Date(NOW.getTime() + offsetSeconds * 1000).toISOString();
  const check = (triggeredAt: string | null, maxAgeSeconds = 300) =>
    shopifySource.verify(request(body, { topic: 'customers/update', triggeredAt }), [SECRET], ctx({ maxAgeSeconds }));

  it('accepts deliveries up to exactly maxAgeSeconds old or ahead', () => {
    expect(check(at(0))).toEqual({ ok: true });
    expect(check(at(-300))).toEqual({ ok: true });
    expect(check(at(300))).toEqual({ ok: true });
    expect(check(at(-299.999))).toEqual({ ok: true });
  });

  it('refuses a stale (replayed) delivery with a clear message', () => {
    expect(check(at(-301))).toEqual({
      ok: false,
      message: 'stale delivery: X-Shopify-Triggered-At is 301 s old, more than maxAgeSeconds (300 s)',
    });
    expect(check(at(-300.001)).ok).toBe(false);
    expect(check(at(-86_400), 3600)).toMatchObject({ ok: false, message: expect.stringContaining('stale delivery') });
  });

  it('refuses a Triggered-At too far in the future', () => {
    expect(check(at(301))).toEqual({ ok: false, message: 'X-Shopify-Triggered-At is more than maxAgeSeconds (300 s) in the future' });
  });

  it('requires a well-formed Triggered-At once maxAgeSeconds is set', () => {
    expect(check(null)).toEqual({ ok: false, message: 'missing X-Shopify-Triggered-At header (required because maxAgeSeconds is set)' });
    for (const bad of ['yesterday', '1741958100', '2025-03-14', '2025-03-14 13:15:00Z', '2025-03-14T13:15:00']) {
      expect(check(bad), bad).toEqual({ ok: false, message: 'X-Shopify-Triggered-At is not an ISO 8601 date-time' });
    }
  });

  it('accepts Shopify nanosecond precision and zone offsets', () => {
    expect(check('2025-03-14T13:14:59.123456789Z')).toEqual({ ok: true });
    expect(check('2025-03-14T09:14:00-04:00')).toEqual({ ok: true });
  });

  it('checks the signature first: a forged stale delivery is a signature mismatch', () => {
    const req = request(body, { topic: 'customers/update', triggeredAt: at(-10_000), signature: sign(body, 'shpss_attacker') });
    expect(shopifySource.verify(req, [SECRET], ctx({ maxAgeSeconds: 300 }))).toEqual({ ok: false, message: 'signature mismatch' });
  });

  it('parses timestamps strictly', () => {
    expect(parseShopifyTimestamp('2023-03-29T18:00:27.877041743Z')).toBe(Date.parse('2023-03-29T18:00:27.877Z'));
    expect(parseShopifyTimestamp('2023-03-29T18:00:27Z')).toBe(Date.parse('2023-03-29T18:00:27Z'));
    expect(parseShopifyTimestamp('2023-03-29T18:00:27.8+02:00')).toBe(Date.parse('2023-03-29T16:00:27.800Z'));
    expect(parseShopifyTimestamp('2023-02-30T18:00:27Z')).toBeUndefined();
    expect(parseShopifyTimestamp('2024-02-29T23:59:59Z')).toBe(Date.parse('2024-02-29T23:59:59Z'));
    expect(parseShopifyTimestamp('2023-13-01T00:00:00Z')).toBeUndefined();
    expect(parseShopifyTimestamp('2023-01-01T24:00:00Z')).toBeUndefined();
    expect(parseShopifyTimestamp('12')).toBeUndefined();
    expect(parseShopifyTimestamp(undefined)).toBeUndefined();
  });
});

describe('shopify parse', () => {
  it('takes the topic, the event id, Triggered-At and the customer updated_at', () => {
    const event = parsed(request(fixture('customers.update.json'), { topic: 'customers/update' }));
    expect({ ...event, body: undefined }).toEqual({
      id: '98880550-7158-44d4-b7cd-2c97c8a091b5',
      type: 'customers/update',
      occurredAtMs: Date.parse('2025-03-14T13:12:45.877Z'),
      // The customer's updated_at (2025-03-14T09:12:45-04:00), tie-broken by the topic's rank (update: 1), then the event id.
      version: `${String(Date.parse('2025-03-14T13:12:45.000Z')).padStart(15, '0')}~1:98880550-7158-44d4-b7cd-2c97c8a091b5`,
      body: undefined,
    });
    expect(event.body).toEqual(JSON.parse(fixture('customers.update.json').toString('utf8')));
  });

  it('falls back to X-Shopify-Webhook-Id, then refuses without either (400)', () => {
    const body = fixture('customers.create.json');
    expect(parsed(request(body, { eventId: null })).id).toBe('b54557e4-8a5f-4bf7-9d70-bcd0432d1c3e');
    expect(parsed(request(body, { eventId: '' })).id).toBe('b54557e4-8a5f-4bf7-9d70-bcd0432d1c3e');
    expect(shopifySource.parse(request(body, { eventId: null, webhookId: null }))).toEqual({
      ok: false,
      message: 'missing X-Shopify-Event-Id and X-Shopify-Webhook-Id headers',
    });
  });

  it('occurredAtMs falls back to the body updated_at; orders carry no per-customer version', () => {
    const event = parsed(request(fixture('orders.create.json'), { topic: 'orders/create', triggeredAt: null }));
    expect(event.occurredAtMs).toBe(Date.parse('2025-03-14T13:30:13.000Z'));
    expect(event.version).toBeUndefined();
  });

  it('refuses a missing topic and bodies that are not a JSON object', () => {
    const body = fixture('customers.create.json');
    expect(shopifySource.parse(request(body, { topic: '' }))).toEqual({ ok: false, message: 'missing X-Shopify-Topic header' });
    for (const raw of ['', 'not json', '[1,2]', '"x"', 'null', '{"id":1']) {
      expect(shopifySource.parse(request(Buffer.from(raw))).ok, raw).toBe(false);
    }
    expect(shopifySource.parse(request(Buffer.from([0x7b, 0xff, 0x7d]))).ok).toBe(false);
  });
});

describe('shopify map', () => {
  it('customers/create: the exact payload', () => {
    expect(mapFixture('customers.create.json', 'customers/create')).toEqual({
      kind: 'payload',
      payload: BOB_CREATE_PAYLOAD,
      customerKey: '7431698612345',
      dropped: [],
    });
  });

  it('customers/update (API 2025-01+: no tags, consent or order totals in the payload): the exact payload', () => {
    expect(mapFixture('customers.update.json', 'customers/update')).toEqual({
      kind: 'payload',
      payload: {
        type: 'customer',
        customer_id: '7431698612345',
        attributes: {
          u_em: 'robert.norman@example.com',
          u_mb: '+16135559876',
          u_fn: 'Robert',
          u_ln: 'Norman',
          state: 'enabled',
          verified_email: true,
          currency: 'CAD',
          default_address_city: 'Ottawa',
          default_address_province: 'Ontario',
          default_address_province_code: 'ON',
          default_address_country: 'Canada',
          default_address_country_code: 'CA',
          default_address_zip: 'K2P 2L8',
        },
      },
      customerKey: '7431698612345',
      dropped: [],
    });
  });

  it('redacted protected customer data (null fields) is left out, never sent as a placeholder', () => {
    const mapped = mapFixture('customers.update.redacted.json', 'customers/update');
    expect(mapped).toEqual({
      kind: 'payload',
      payload: { type: 'customer', customer_id: '7431698654321', attributes: { state: 'disabled', verified_email: false, currency: 'EUR' } },
      customerKey: '7431698654321',
      dropped: [],
    });
    const json = JSON.stringify(mapped);
    expect(json).not.toMatch(/null|redacted|undefined/i);
  });

  it('redaction markers, "null" strings and missing fields are never sent', () => {
    const mapped = withBody({
      id: 7431698654321,
      email: '[REDACTED]',
      phone: 'null',
      first_name: 'REDACTED',
      last_name: 'undefined',
      state: '',
      currency: '   ',
      tags: 'null, [redacted], vip',
      email_marketing_consent: { state: 'redacted', opt_in_level: null, consent_updated_at: null },
      sms_marketing_consent: null,
      total_spent: null,
      orders_count: null,
      default_address: { city: '[REDACTED]', country: null, zip: 'null', country_code: 'DE' },
      updated_at: '2025-03-14T09:20:03-04:00',
    });
    expect(mapped).toEqual({
      kind: 'payload',
      payload: { type: 'customer', customer_id: '7431698654321', attributes: { tags: ['vip'], default_address_country_code: 'DE' } },
      customerKey: '7431698654321',
      dropped: [],
    });
  });

  it('a customer with only an id still becomes a payload without attributes', () => {
    expect(withBody({ id: 1234567890123 })).toEqual({
      kind: 'payload',
      payload: { type: 'customer', customer_id: '1234567890123' },
      customerKey: '1234567890123',
      dropped: [],
    });
  });

  it('u_mb is the customer phone only: default_address.phone is not a fallback', () => {
    const mapped = withBody({ id: 1234567890123, email: 'a@example.com', phone: null, default_address: { phone: '+15026251199', city: 'Louisville' } });
    expect(mapped).toMatchObject({ kind: 'payload', payload: { attributes: { u_em: 'a@example.com', default_address_city: 'Louisville' } } });
    expect(JSON.stringify(mapped)).not.toContain('+15026251199');
  });

  it('forwards only the coarse default_address fields (no street lines, names or phone)', () => {
    const mapped = mapFixture('customers.create.json', 'customers/create');
    const json = JSON.stringify(mapped);
    for (const leaked of ['Chestnut Street', 'Apartment 2', '+15026251199', 'Bob Norman', 'Met at the Louisville']) {
      expect(json).not.toContain(leaked);
    }
  });

  it('tags: comma string split and trimmed, duplicates and empties removed, at most 50', () => {
    expect(shopifyTags('a, b ,, c,a')).toEqual(['a', 'b', 'c']);
    expect(shopifyTags('')).toBeUndefined();
    expect(shopifyTags(' , ')).toBeUndefined();
    expect(shopifyTags(['x', ' y ', null, 3])).toEqual(['x', 'y', '3']);
    expect(shopifyTags(42)).toBeUndefined();
    const many = Array.from({ length: 80 }, (_, i) => `tag${i}`).join(', ');
    const tags = shopifyTags(many);
    expect(tags).toHaveLength(SHOPIFY_MAX_TAGS);
    expect(tags?.[49]).toBe('tag49');
    const mapped = withBody({ id: 1234567890123, tags: many });
    expect(mapped.kind === 'payload' && mapped.payload.attributes?.tags).toEqual(Array.from({ length: 50 }, (_, i) => `tag${i}`));
    expect(mapped.kind === 'payload' && mapped.dropped).toEqual([]);
    // No tags (""): no tags attribute at all.
    expect(withBody({ id: 1234567890123, tags: '' })).toMatchObject({ payload: { customer_id: '1234567890123' } });
    expect((withBody({ id: 1234567890123, tags: '' }) as { payload: { attributes?: unknown } }).payload.attributes).toBeUndefined();
  });

  it('total_spent becomes a number; a non-numeric value is left out', () => {
    const m1 = withBody({ id: 1234567890123, total_spent: '1024.50', orders_count: 7 });
    expect(m1.kind === 'payload' && m1.payload.attributes).toEqual({ total_spent: 1024.5, orders_count: 7 });
    const m2 = withBody({ id: 1234567890123, total_spent: 'n/a' });
    expect(m2.kind === 'payload' && m2.payload.attributes).toBeUndefined();
  });

  it('customer_id is String(id); an id beyond 2^53 is read exactly from admin_graphql_api_id', () => {
    const raw = Buffer.from(
      '{"id":706405506930370084,"email":"bob@example.com","admin_graphql_api_id":"gid://shopify/Customer/706405506930370084"}',
    );
    const mapped = shopifySource.map(parsed(request(raw, { topic: 'customers/update' })), ctx());
    expect(mapped).toMatchObject({ kind: 'payload', payload: { customer_id: '706405506930370084' }, customerKey: '706405506930370084' });
    // Without the gid, an inexact number is not guessed at.
    const inexact = shopifySource.map(parsed(request(Buffer.from('{"id":706405506930370084}'), { topic: 'customers/update' })), ctx());
    expect(inexact).toMatchObject({ kind: 'rejected', field: 'customer_id' });
    const noId = withBody({ email: 'x@example.com' });
    expect(noId).toMatchObject({ kind: 'rejected', field: 'customer_id' });
  });

  it('ignores every other topic (orders/create, customers/delete, customers/redact, ...)', () => {
    expect(mapFixture('orders.create.json', 'orders/create')).toEqual({ kind: 'ignored', reason: 'topic orders/create is not acted on' });
    for (const topic of ['customers/delete', 'customers/redact', 'customers/enable', 'customers_marketing_consent/update', 'CUSTOMERS_CREATE']) {
      expect(mapFixture('customers.create.json', topic).kind, topic).toBe('ignored');
    }
  });

  it('customerIdField: email, or a dot path into the body', () => {
    expect(mapFixture('customers.create.json', 'customers/create', ctx({ customerIdField: 'email' }))).toEqual({
      kind: 'payload',
      payload: { ...BOB_CREATE_PAYLOAD, customer_id: 'bob.norman@example.com' },
      customerKey: 'bob.norman@example.com',
      dropped: [],
    });
    expect(mapFixture('customers.create.json', 'customers/create', ctx({ customerIdField: 'admin_graphql_api_id' }))).toMatchObject({
      kind: 'payload',
      payload: { customer_id: 'gid://shopify/Customer/7431698612345' },
    });
    expect(mapFixture('customers.create.json', 'customers/create', ctx({ customerIdField: 'addresses.0.customer_id' }))).toMatchObject({
      kind: 'payload',
      payload: { customer_id: '7431698612345' },
    });
    // The email is redacted: no customer_id, a 422 naming the field.
    expect(mapFixture('customers.update.redacted.json', 'customers/update', ctx({ customerIdField: 'email' }))).toMatchObject({
      kind: 'rejected',
      field: 'customer_id (email)',
    });
  });

  it('updateExistingOnly and customAttributes: false', () => {
    expect(mapFixture('customers.create.json', 'customers/create', ctx({ updateExistingOnly: true }))).toEqual({
      kind: 'payload',
      payload: { ...BOB_CREATE_PAYLOAD, update_existing_only: true },
      customerKey: '7431698612345',
      dropped: [],
    });
    expect(mapFixture('customers.create.json', 'customers/create', ctx({ customAttributes: false }))).toEqual({
      kind: 'payload',
      payload: {
        type: 'customer',
        customer_id: '7431698612345',
        attributes: { u_em: 'bob.norman@example.com', u_mb: '+16135551111', u_fn: 'Bob', u_ln: 'Norman' },
      },
      customerKey: '7431698612345',
      dropped: [],
    });
  });

  it('identity resolution adds the configured identifiers', () => {
    const mapped = mapFixture('customers.create.json', 'customers/create', ctx({}, { identifiers: { moe_email: 'u_em' } }));
    expect(mapped).toMatchObject({ kind: 'payload', payload: { customer_id: '7431698612345', attributes: { moe_email: 'bob.norman@example.com' } } });
  });
});

describe('shopify never throws', () => {
  it('on arbitrary headers and bodies', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        (bytes, sig, topic, triggeredAt) => {
          const req: WebhookRequest = {
            method: 'POST',
            path: '/webhooks/shopify',
            headers: { 'x-shopify-hmac-sha256': sig, 'x-shopify-topic': topic, 'x-shopify-triggered-at': triggeredAt, 'x-shopify-event-id': 'e' },
            rawBody: Buffer.from(bytes),
          };
          shopifySource.verify(req, [SECRET], ctx({ maxAgeSeconds: 60 }));
          const p = shopifySource.parse(req);
          if (p.ok) shopifySource.map(p.event, ctx());
        },
      ),
      { seed: 7, numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom('customers/create', 'customers/update'), (value, topic) => {
        const m = shopifySource.map({ id: 'e', type: topic, body: value }, ctx());
        expect(['payload', 'rejected']).toContain(m.kind);
      }),
      { seed: 8, numRuns: 300 },
    );
  });
});

describe('shopify versions and deletions', () => {
  const DELETE = fixture('customers.delete.json');

  it('a later updated_at of the customer has a greater version, whatever the shop time zone', () => {
    const at = (updatedAt: string, eventId: string) => {
      const body = Buffer.from(JSON.stringify({ ...JSON.parse(fixture('customers.update.json').toString('utf8')), updated_at: updatedAt }));
      return parsed(request(body, { topic: 'customers/update', eventId })).version!;
    };
    expect(at('2025-03-14T09:12:46-04:00', 'a') > at('2025-03-14T13:12:45Z', 'z')).toBe(true);
    expect(at('2025-03-14T09:12:45-04:00', 'a') < at('2025-03-14T13:12:45Z', 'z')).toBe(true); // same second: event id
  });

  it('within one second of updated_at: create < update < delete, whatever their (UUID) event ids', () => {
    const body = () => Buffer.from(JSON.stringify({ ...JSON.parse(fixture('customers.update.json').toString('utf8')), updated_at: '2025-03-14T13:12:45Z' }));
    const version = (topic: string, eventId: string) => parsed(request(body(), { topic, eventId })).version!;
    const create = version('customers/create', 'f3a1c2d4-0000-4000-8000-000000000001');
    const update = version('customers/update', '0b7e9a10-0000-4000-8000-000000000002');
    const deletion = version('customers/delete', '00000000-0000-4000-8000-000000000003');
    expect(create < update && update < deletion).toBe(true);
  });

  it('customers/delete (no updated_at) is versioned by X-Shopify-Triggered-At; without it, no version', () => {
    const event = parsed(request(DELETE, { topic: 'customers/delete', triggeredAt: '2025-03-14T14:00:01.250Z' }));
    expect(versionTime(event.version!)).toBe('2025-03-14T14:00:01.250Z');
    expect(parsed(request(DELETE, { topic: 'customers/delete', triggeredAt: null })).version).toBeUndefined();
    // Should a delete payload carry the last updated_at, the deletion still sorts after that update.
    const withUpdatedAt = Buffer.from(JSON.stringify({ id: 7431698612345, updated_at: '2025-03-14T13:59:59-00:00' }));
    const deletion = parsed(request(withUpdatedAt, { topic: 'customers/delete', triggeredAt: '2025-03-14T14:00:01.250Z', eventId: 'a' }));
    expect(versionTime(deletion.version!)).toBe('2025-03-14T14:00:01.250Z');
    // An update is never versioned by the delivery header: a retry would look newer than it is.
    const noUpdatedAt = Buffer.from(JSON.stringify({ id: 7431698612345, email: 'x@example.com' }));
    expect(parsed(request(noUpdatedAt, { topic: 'customers/update' })).version).toBeUndefined();
  });

  it('without deleteUsers, customers/delete stays ignored and says how to propagate it', () => {
    const m = mapFixture('customers.delete.json', 'customers/delete');
    expect(m).toEqual({ kind: 'ignored', reason: 'topic customers/delete is not acted on (set deleteUsers to delete the customer in MoEngage)' });
  });

  it('with deleteUsers: one Delete User of String(id), the key an update of that customer uses', () => {
    expect(mapFixture('customers.delete.json', 'customers/delete', ctx({ deleteUsers: true }))).toEqual({
      kind: 'delete',
      customerId: '7431698612345',
      customerKey: '7431698612345',
    });
    expect(mapFixture('customers.update.json', 'customers/update', ctx({ deleteUsers: true }))).toMatchObject({ customerKey: '7431698612345' });
    // Only the GraphQL id: its numeric tail, as for an update.
    const gidOnly = { admin_graphql_api_id: 'gid://shopify/Customer/7431698612345' };
    expect(withBody(gidOnly, 'customers/delete', ctx({ deleteUsers: true }))).toMatchObject({ kind: 'delete', customerId: '7431698612345' });
  });

  it('customerIdField email: the delete payload has no email, so the deletion is ignored with a reason (never a 4xx)', () => {
    const m = mapFixture('customers.delete.json', 'customers/delete', ctx({ deleteUsers: true, customerIdField: 'email' }));
    expect(m.kind).toBe('ignored');
    if (m.kind === 'ignored') expect(m.reason).toBe(
      "customers/delete not propagated: the deletion carries no customer_id (email); MoEngage's Delete User API needs the user's customer_id (delete the user in MoEngage by hand)",
    );
    expect(withBody({ id: 1, email: 'bob@example.com' }, 'customers/delete', ctx({ deleteUsers: true, customerIdField: 'email' }))).toMatchObject({
      kind: 'delete',
      customerId: 'bob@example.com',
    });
    expect(withBody({}, 'customers/delete', ctx({ deleteUsers: true })).kind).toBe('ignored');
  });
});
