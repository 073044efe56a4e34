/**
 * Property tests of the seven sources' parse + map, with bodies shaped like each provider's
 * events but filled with arbitrary values: odd strings, unknown fields, metadata / traits made
 * of anything, huge arrays, nested objects, dates in many formats, ids of every type.
 *
 * Properties:
 * 1. parse never throws: `ok: false` carries a message; `ok: true` an event with an id and a type.
 * 2. map never throws and returns a payload that validateCustomerPayload accepts, `ignored` with a
 *    reason, or `rejected` naming a non-empty field.
 * 3. Through receiveWebhook with correctly signed bodies the status is always 200, 202, 400 or
 *    422 (never 5xx, never a throw), and only a 202 queues a message.
 *
 * Deterministic: fixed seeds, an injected clock.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAdapterConfig, SOURCE_NAMES, sourceOptions, type AdapterConfig, type SourceName } from '../../functions/core/config';
import { decodeEnvelope } from '../../functions/core/envelope';
import { validateCustomerPayload } from '../../functions/core/moengage/payload-validator';
import { receiveWebhook, type QueueMessage, type ReceiverDeps } from '../../functions/receiver/receive';
import { recordingTelemetry } from '../../functions/shared/observability';
import { SOURCES } from '../../functions/sources';
import type { SourceContext, WebhookRequest } from '../../functions/sources/types';
import { TEST_SECRETS, TEST_STANDARD_MAPPING, signedRequest } from '../helpers/sign';

const NOW = new Date('2026-11-29T10:00:00.000Z');
const SEED = 20_261_129;
const RUNS = 200;

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

const ODD_STRINGS = [
  '',
  ' ',
  '\t\n',
  '\u0000',
  'a\u0000b',
  '\u202eevil\u202c',
  '\u200f\u200e',
  'zero\u200bwidth\u200djoiner',
  '\ufeffbom',
  '\ud800',
  'lone \udfff low',
  '\uffff\ufffe',
  '👩‍👩‍👧‍👦',
  '🏳️‍🌈',
  '𝒳'.repeat(600),
  'x'.repeat(600),
  '__proto__',
  'constructor',
  'prototype',
  'null',
  'undefined',
  'unknown',
  'guest',
  '0',
  '-1',
  'NaN',
  'Infinity',
  '[REDACTED]',
  'moe_email',
  'u_em',
  'USER_ATTRIBUTE_USER_EMAIL',
  'platforms',
  '<script>alert(1)</script>',
  "'; DROP TABLE users;--",
  '${jndi:ldap://x/a}',
  '%s%s%n',
  '../../etc/passwd',
  '2026-11-29',
  '2026-11-29T10:00:00Z',
];

const KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'u_em',
  'u_mb',
  'u_bd',
  'moe_email',
  'MOE_x',
  'id',
  '_id',
  '',
  ' ',
  'user_id',
  'source',
  'platforms',
  'addValueToArrayField',
  'cr_t',
  'u_l_a',
  'a.b',
  'a_b',
  'USER_ATTRIBUTE_USER_EMAIL',
  'plan',
  'address',
];

const oddString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 3, arbitrary: fc.constantFrom(...ODD_STRINGS) },
);

const key = fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 16 }) }, { weight: 2, arbitrary: fc.constantFrom(...KEYS) });

/** Dates and times in many formats, valid and not. */
const dateLike: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .date({ min: new Date('0001-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true })
    .chain((d) =>
      fc.constantFrom<unknown>(
        d.toISOString(),
        d.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        d.toISOString().replace(/\.(\d{3})Z$/, '.$1456789Z'),
        d.toISOString().replace('Z', '+05:30'),
        d.toISOString().replace('Z', '-0800'),
        d.toISOString().slice(0, 10),
        d.toISOString().slice(0, 16).replace('T', ' '),
        d.toISOString().replace('Z', '').replace('T', 't'),
        d.toUTCString(),
        d.toString(),
        d.getTime(),
        Math.floor(d.getTime() / 1000),
        d.getTime() / 1000,
        String(d.getTime()),
        d.toLocaleDateString('en-US'),
      ),
    ),
  fc.constantFrom<unknown>(
    '2026-02-30',
    '2026-02-29T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '0000-00-00',
    '0000-01-01T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T23:59:60Z',
    '2026-06-15T12:00:00+24:00',
    '+275760-09-13T00:00:00.000Z',
    '-000001-01-01T00:00:00Z',
    'yesterday',
    '',
    '1e309',
    8.64e15 + 1,
    -8.64e15,
    1e21,
    -1,
    0,
  ),
  fc.integer(),
  fc.double(),
  fc.constant(null),
);

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: oddString },
  { weight: 2, arbitrary: dateLike },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(9_007_199_254_740_993, -0, 1e21, 1e308, Number.MAX_SAFE_INTEGER, -1) },
);

/** An object nested `depth` levels, with a leaf (and sometimes hostile keys) at the bottom. */
const nested: fc.Arbitrary<unknown> = fc
  .tuple(fc.integer({ min: 1, max: 12 }), fc.constantFrom('a', '__proto__', 'constructor', 'x_y'), leaf)
  .map(([depth, k, v]) => {
    let out: unknown = v;
    for (let i = 0; i < depth; i++) out = Object.fromEntries([[k, out], ['n', i]]);
    return out;
  });

/** Anything, as a JSON encoder would send it. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: leaf },
  {
    weight: 2,
    arbitrary: fc.anything({
      key,
      maxDepth: 3,
      maxKeys: 5,
      withBoxedValues: true,
      withDate: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
      withMap: true,
      withSet: true,
    }),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 80 }) },
  { weight: 1, arbitrary: fc.array(fc.integer(), { minLength: 200, maxLength: 1500 }) },
  { weight: 1, arbitrary: nested },
);

/** An object of arbitrary entries; `Object.fromEntries` keeps `__proto__` an own, serialized key. */
const metadata: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.tuple(key, anyValue), { maxLength: 10 }).map((entries) => Object.fromEntries(entries)) },
  { weight: 1, arbitrary: anyValue },
);

/** `base` plus arbitrary unknown fields (the known ones win). */
function withUnknownFields<T extends object>(base: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc
    .tuple(base, fc.array(fc.tuple(key, anyValue), { maxLength: 3 }))
    .map(([known, extra]) => ({ ...Object.fromEntries(extra), ...known }) as T);
}

/** Mostly `usual`, sometimes anything at all. */
function mostly<T>(usual: fc.Arbitrary<T>, weight = 5): fc.Arbitrary<unknown> {
  return fc.oneof({ weight, arbitrary: usual as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyValue });
}

function typeOf(acted: string[], other: string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...acted) },
    { weight: 2, arbitrary: fc.constantFrom(...other) },
    { weight: 1, arbitrary: anyValue },
  );
}

const email = fc.oneof(
  { weight: 5, arbitrary: fc.emailAddress() },
  { weight: 1, arbitrary: fc.constant(`${'x'.repeat(600)}@example.com`) },
  { weight: 2, arbitrary: anyValue },
);
const phone = fc.oneof(
  { weight: 5, arbitrary: fc.stringMatching(/^\+[1-9]\d{6,14}$/) },
  { weight: 1, arbitrary: fc.integer({ min: 0 }) },
  { weight: 2, arbitrary: anyValue },
);
const name = mostly(fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('Jane', 'José', 'Zoë', '李', 'O\u2019Brien')), 3);
const bool = mostly(fc.boolean(), 3);

function idLike(pattern: RegExp): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.stringMatching(pattern) },
    { weight: 1, arbitrary: fc.integer() },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(null, '', ' ', 'unknown', '0', -0, 1e21, 9_007_199_254_740_993, 'x'.repeat(600)) },
    { weight: 2, arbitrary: anyValue },
  );
}

/** A string usable as an HTTP header value (the event ids that travel in headers). */
const headerId = fc.oneof(
  { weight: 5, arbitrary: fc.stringMatching(/^msg_[A-Za-z0-9]{8,27}$/) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 60 }).filter((s) => s.trim() !== '') },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(300), '\u202emsg', 'msg with spaces') },
);

// ---------------------------------------------------------------------------------------------
// Provider-shaped bodies
// ---------------------------------------------------------------------------------------------

interface Generated {
  body: unknown;
  /** Header-carried event id / topic (clerk, standard, shopify). */
  eventId?: string;
  topic?: string;
}

const entryList = (field: string, value: fc.Arbitrary<unknown>) =>
  mostly(fc.array(mostly(fc.record({ id: fc.constantFrom('idn_1', 'idn_2', 'idn_3'), [field]: value, verification: anyValue }, { requiredKeys: ['id'] })), { maxLength: 4 }));

const BODIES: Record<SourceName, fc.Arbitrary<Generated>> = {
  clerk: fc
    .tuple(
      withUnknownFields(
        fc.record(
          {
            type: typeOf(['user.created', 'user.updated'], ['user.deleted', 'session.created', 'email.created', 'organization.created']),
            object: fc.constant('event'),
            timestamp: dateLike,
            data: mostly(
              withUnknownFields(
                fc.record(
                  {
                    id: idLike(/^user_[A-Za-z0-9]{10,27}$/),
                    object: fc.constant('user'),
                    first_name: name,
                    last_name: name,
                    username: name,
                    image_url: oddString,
                    gender: oddString,
                    birthday: dateLike,
                    email_addresses: entryList('email_address', email),
                    primary_email_address_id: mostly(fc.constantFrom('idn_1', 'idn_2', 'idn_9'), 4),
                    phone_numbers: entryList('phone_number', phone),
                    primary_phone_number_id: mostly(fc.constantFrom('idn_1', 'idn_2', 'idn_9'), 4),
                    public_metadata: metadata,
                    unsafe_metadata: metadata,
                    private_metadata: metadata,
                    created_at: dateLike,
                    updated_at: dateLike,
                    last_sign_in_at: dateLike,
                  },
                  { requiredKeys: ['id'] },
                ),
              ),
              8,
            ),
          },
          { requiredKeys: ['type', 'data'] },
        ),
      ),
      headerId,
    )
    .map(([body, eventId]) => ({ body, eventId })),

  stripe: withUnknownFields(
    fc.record(
      {
        id: idLike(/^evt_[A-Za-z0-9]{8,24}$/),
        object: fc.constant('event'),
        type: typeOf(['customer.created', 'customer.updated'], ['customer.deleted', 'invoice.paid', 'charge.succeeded']),
        created: dateLike,
        livemode: bool,
        data: mostly(
          fc.record(
            {
              object: mostly(
                withUnknownFields(
                  fc.record(
                    {
                      id: idLike(/^cus_[A-Za-z0-9]{8,14}$/),
                      object: fc.constant('customer'),
                      email,
                      phone,
                      name,
                      metadata,
                      address: mostly(fc.record({ city: oddString, country: oddString, line1: oddString, postal_code: oddString, state: anyValue }, { requiredKeys: [] }), 3),
                      preferred_locales: mostly(fc.array(oddString, { maxLength: 60 }), 3),
                      currency: oddString,
                      delinquent: bool,
                      created: dateLike,
                      description: oddString,
                      shipping: anyValue,
                    },
                    { requiredKeys: ['id'] },
                  ),
                ),
                8,
              ),
              previous_attributes: anyValue,
            },
            { requiredKeys: ['object'] },
          ),
          8,
        ),
      },
      { requiredKeys: ['id', 'type', 'data'] },
    ),
  ).map((body) => ({ body })),

  shopify: fc
    .tuple(
      withUnknownFields(
        fc.record(
          {
            id: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) }, { weight: 2, arbitrary: idLike(/^\d{1,20}$/) }),
            admin_graphql_api_id: mostly(fc.stringMatching(/^gid:\/\/shopify\/Customer\/\d{1,20}$/), 3),
            email,
            phone,
            first_name: name,
            last_name: name,
            state: mostly(fc.constantFrom('enabled', 'disabled', 'invited', 'declined'), 3),
            verified_email: bool,
            currency: oddString,
            tags: fc.oneof(fc.array(oddString, { maxLength: 70 }).map((t) => t.join(',')), fc.array(anyValue, { maxLength: 70 }), anyValue),
            orders_count: mostly(fc.integer(), 3),
            total_spent: mostly(fc.double().map(String), 3),
            email_marketing_consent: mostly(fc.record({ state: oddString, opt_in_level: oddString, consent_updated_at: dateLike }, { requiredKeys: [] }), 3),
            sms_marketing_consent: mostly(fc.record({ state: oddString, opt_in_level: oddString }, { requiredKeys: [] }), 3),
            default_address: mostly(
              fc.record(
                { company: oddString, city: oddString, province: oddString, province_code: oddString, country: oddString, country_code: oddString, zip: oddString, phone, address1: oddString },
                { requiredKeys: [] },
              ),
              3,
            ),
            created_at: dateLike,
            updated_at: dateLike,
          },
          { requiredKeys: [] },
        ),
      ),
      fc.uuid(),
      fc.oneof({ weight: 6, arbitrary: fc.constantFrom('customers/create', 'customers/update') }, { weight: 2, arbitrary: fc.constantFrom('orders/create', 'customers/delete', 'app/uninstalled') }, { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== '') }),
    )
    .map(([body, eventId, topic]) => ({ body, eventId, topic })),

  workos: withUnknownFields(
    fc.record(
      {
        id: idLike(/^event_[A-Z0-9]{10,26}$/),
        event: typeOf(['user.created', 'user.updated'], ['dsync.user.created', 'session.created', 'user.deleted']),
        created_at: dateLike,
        data: mostly(
          withUnknownFields(
            fc.record(
              {
                object: fc.constant('user'),
                id: idLike(/^user_[A-Z0-9]{10,26}$/),
                email,
                email_verified: bool,
                first_name: name,
                last_name: name,
                profile_picture_url: oddString,
                external_id: mostly(oddString, 3),
                locale: oddString,
                last_sign_in_at: dateLike,
                metadata,
                created_at: dateLike,
                updated_at: dateLike,
              },
              { requiredKeys: ['id'] },
            ),
          ),
          8,
        ),
      },
      { requiredKeys: ['id', 'event', 'data'] },
    ),
  ).map((body) => ({ body })),

  auth0: withUnknownFields(
    fc.record(
      {
        specversion: fc.constant('1.0'),
        id: idLike(/^evt_[a-z0-9]{8,20}$/),
        type: typeOf(['user.created', 'user.updated', 'com.auth0.user.created'], ['user.deleted', 'com.auth0.user.deleted', 'organization.created']),
        source: oddString,
        time: dateLike,
        data: mostly(
          fc.record(
            {
              object: mostly(
                withUnknownFields(
                  fc.record(
                    {
                      user_id: idLike(/^auth0\|[a-f0-9]{10,24}$/),
                      email,
                      email_verified: bool,
                      given_name: name,
                      family_name: name,
                      name,
                      nickname: name,
                      phone_number: phone,
                      phone_verified: bool,
                      user_metadata: metadata,
                      app_metadata: metadata,
                      identities: anyValue,
                      created_at: dateLike,
                      updated_at: dateLike,
                    },
                    { requiredKeys: ['user_id'] },
                  ),
                ),
                8,
              ),
            },
            { requiredKeys: ['object'] },
          ),
          8,
        ),
      },
      { requiredKeys: ['id', 'type', 'data'] },
    ),
  ).map((body) => ({ body })),

  segment: withUnknownFields(
    fc.record(
      {
        type: typeOf(['identify'], ['track', 'page', 'screen', 'group', 'alias']),
        messageId: idLike(/^ajs-next-[a-f0-9]{16,32}$/),
        userId: idLike(/^[a-z0-9-]{4,36}$/),
        anonymousId: oddString,
        timestamp: dateLike,
        sentAt: dateLike,
        traits: mostly(
          fc
            .tuple(
              fc.record(
                {
                  email,
                  phone,
                  firstName: name,
                  first_name: name,
                  lastName: name,
                  last_name: name,
                  name,
                  gender: oddString,
                  birthday: dateLike,
                  createdAt: dateLike,
                  address: mostly(fc.record({ city: oddString, country: oddString, street: oddString }, { requiredKeys: [] }), 3),
                  company: anyValue,
                },
                { requiredKeys: [] },
              ),
              metadata,
            )
            .map(([known, extra]) => ({ ...(typeof extra === 'object' && extra !== null ? extra : {}), ...known })),
          8,
        ),
        context: anyValue,
      },
      { requiredKeys: ['type', 'messageId'] },
    ),
  ).map((body) => ({ body })),

  standard: fc
    .tuple(
      withUnknownFields(
        fc.record(
          {
            type: typeOf(['user.created', 'user.updated'], ['workspace.created', 'user.deleted']),
            timestamp: dateLike,
            data: mostly(
              withUnknownFields(
                fc.record(
                  {
                    id: idLike(/^usr_[a-z0-9_]{4,24}$/),
                    email,
                    phone,
                    first_name: name,
                    last_name: name,
                    birthday: dateLike,
                    plan: anyValue,
                    address: anyValue,
                    traits: metadata,
                    tags: fc.oneof(fc.array(leaf, { maxLength: 70 }), leaf, anyValue),
                    removed: fc.oneof(fc.array(leaf, { maxLength: 70 }), leaf, anyValue),
                  },
                  { requiredKeys: ['id'] },
                ),
              ),
              8,
            ),
          },
          { requiredKeys: ['type', 'data'] },
        ),
      ),
      headerId,
    )
    .map(([body, eventId]) => ({ body, eventId })),
};

// ---------------------------------------------------------------------------------------------
// Configurations
// ---------------------------------------------------------------------------------------------

const RICH_STANDARD_MAPPING = {
  events: ['user.created', 'user.updated'],
  occurredAtPath: 'timestamp',
  customerId: 'data.id',
  attributes: { u_em: 'data.email', u_mb: 'data.phone', u_fn: 'data.first_name', u_ln: 'data.last_name', u_bd: 'data.birthday', plan: 'data.plan', address: 'data.address' },
  constants: { synced_by: 'moengage-adapter', sync_version: 2 },
  passThrough: 'data.traits',
  addToArray: { tags: 'data.tags' },
  removeFromArray: { old_tags: 'data.removed' },
};

const IDENTITY_RESOLUTION = { identifiers: { moe_email: 'u_em', moe_mobile: 'u_mb' } };

function configsFor(source: SourceName): AdapterConfig[] {
  const standard = (extra: Record<string, unknown> = {}) => ({ standard: { mapping: TEST_STANDARD_MAPPING, ...extra } });
  const own = (options: Record<string, unknown>) =>
    source === 'standard' ? { standard: { mapping: RICH_STANDARD_MAPPING, ...options } } : { ...standard(), [source]: options };
  return [
    parseAdapterConfig({ sources: standard() }),
    parseAdapterConfig({ sources: own({}) }),
    parseAdapterConfig({ sources: own({ customerIdField: 'email' }) }),
    parseAdapterConfig({ sources: own({ customerIdField: 'phone', updateExistingOnly: true }) }),
    parseAdapterConfig({ sources: own({ customAttributes: false }) }),
    parseAdapterConfig({ sources: own({}), identityResolution: IDENTITY_RESOLUTION }),
    parseAdapterConfig({ sources: own({ deleteUsers: true }) }),
    parseAdapterConfig({ sources: own({ deleteUsers: true, customerIdField: 'email' }) }),
  ];
}

function contextFor(config: AdapterConfig, source: SourceName): SourceContext {
  return {
    now: NOW,
    options: sourceOptions(config, source),
    ...(config.identityResolution ? { identityResolution: config.identityResolution } : {}),
  };
}

function unsignedRequestOf(source: SourceName, g: Generated): WebhookRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (source === 'clerk') headers['svix-id'] = g.eventId ?? 'msg_default';
  if (source === 'standard') headers['webhook-id'] = g.eventId ?? 'msg_default';
  if (source === 'shopify') {
    headers['x-shopify-topic'] = g.topic ?? 'customers/create';
    headers['x-shopify-event-id'] = g.eventId ?? 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043';
  }
  return { method: 'POST', path: `/webhooks/${source}`, headers, rawBody: Buffer.from(JSON.stringify(g.body) ?? '', 'utf8') };
}

const UNSAFE_NAME = /(^|_)(__proto__|constructor|prototype)($|_)/;

function assertPrototypesClean(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_NAMES);
}
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('source.parse + source.map on arbitrary provider-shaped bodies', () => {
  it.each(SOURCE_NAMES.map((s, i) => [s, i] as const))('%s: never throws; payload valid, ignored, or rejected with a field', (source, index) => {
    const src = SOURCES[source];
    const configs = configsFor(source);
    const outcomes = { parseFailed: 0, payload: 0, ignored: 0, rejected: 0 };
    fc.assert(
      fc.property(BODIES[source], fc.nat({ max: configs.length - 1 }), (generated, configIndex) => {
        const config = configs[configIndex]!;
        const ctx = contextFor(config, source);
        const req = unsignedRequestOf(source, generated);

        const parsed = src.parse(req, ctx);
        if (!parsed.ok) {
          expect(typeof parsed.message).toBe('string');
          expect(parsed.message.length).toBeGreaterThan(0);
          outcomes.parseFailed++;
          return;
        }
        expect(typeof parsed.event.id).toBe('string');
        expect(parsed.event.id.length).toBeGreaterThan(0);
        expect(typeof parsed.event.type).toBe('string');
        expect(parsed.event.type.length).toBeGreaterThan(0);
        // A time a Date holds, as an integer number of milliseconds.
        if (parsed.event.occurredAtMs !== undefined) {
          expect(Number.isSafeInteger(parsed.event.occurredAtMs)).toBe(true);
          expect(Number.isNaN(new Date(parsed.event.occurredAtMs).getTime())).toBe(false);
        }
        // A version is versionKey's form: 15 digits of epoch ms, `~`, a printable-ASCII tie-break.
        if (parsed.event.version !== undefined) expect(parsed.event.version).toMatch(/^\d{15}~[\x21-\x7d]{1,200}$/);

        const mapped = src.map(parsed.event, ctx);
        switch (mapped.kind) {
          case 'payload': {
            outcomes.payload++;
            const rules = config.identityResolution ? { identityIdentifiers: Object.keys(config.identityResolution.identifiers) } : undefined;
            const check = validateCustomerPayload(mapped.payload, rules);
            expect(check, JSON.stringify(mapped.payload).slice(0, 300)).toMatchObject({ ok: true });
            expect(typeof mapped.customerKey).toBe('string');
            expect(mapped.customerKey.length).toBeGreaterThan(0);
            for (const attribute of Object.keys(mapped.payload.attributes ?? {})) expect(attribute).not.toMatch(UNSAFE_NAME);
            for (const d of mapped.dropped) {
              expect(typeof d.name).toBe('string');
              expect(typeof d.reason).toBe('string');
            }
            break;
          }
          case 'delete':
            // Only with deleteUsers, for a deletion event: a usable customer_id, also the user's key.
            expect(ctx.options.deleteUsers).toBe(true);
            expect(mapped.customerId.trim()).toBe(mapped.customerId);
            expect(mapped.customerId.length).toBeGreaterThan(0);
            expect(mapped.customerKey).toBe(mapped.customerId);
            break;
          case 'ignored':
            outcomes.ignored++;
            expect(mapped.reason.length).toBeGreaterThan(0);
            break;
          case 'rejected':
            outcomes.rejected++;
            expect(typeof mapped.field).toBe('string');
            expect(mapped.field.length).toBeGreaterThan(0);
            expect(mapped.message.length).toBeGreaterThan(0);
            break;
          default:
            throw new Error(`unexpected mapping result ${JSON.stringify(mapped)}`);
        }
      }),
      { seed: SEED + index, numRuns: RUNS },
    );
    assertPrototypesClean();
    // The generators reach every branch: otherwise the property would prove little.
    expect(outcomes.payload, JSON.stringify(outcomes)).toBeGreaterThan(RUNS / 10);
    expect(outcomes.ignored, JSON.stringify(outcomes)).toBeGreaterThan(0);
    expect(outcomes.rejected, JSON.stringify(outcomes)).toBeGreaterThan(0);
  });
});

describe('receiveWebhook on arbitrary, correctly signed provider-shaped bodies', () => {
  it.each(SOURCE_NAMES.map((s, i) => [s, i] as const))('%s: answers 200, 202, 400 or 422; only a 202 queues', async (source, index) => {
    const configs = configsFor(source);
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(BODIES[source], fc.nat({ max: configs.length - 1 }), async (generated, configIndex) => {
        const sent: QueueMessage[] = [];
        const deps: ReceiverDeps = {
          sources: SOURCES,
          config: configs[configIndex]!,
          secrets: async (s) => [TEST_SECRETS[s]],
          enqueue: async (m) => {
            sent.push(m);
          },
          queueType: 'fifo',
          now: () => NOW,
          telemetry: recordingTelemetry(),
        };
        const text = JSON.stringify(generated.body) ?? '';
        const req = signedRequest(source, text, {
          now: NOW,
          ...(generated.eventId !== undefined ? { eventId: generated.eventId } : {}),
          ...(generated.topic !== undefined ? { topic: generated.topic } : {}),
        });
        const res = await receiveWebhook(req, deps);
        seen.add(res.statusCode);
        expect([200, 202, 400, 422], res.body.slice(0, 300)).toContain(res.statusCode);
        if (res.statusCode >= 400) {
          expect(JSON.parse(res.body)).toMatchObject({ error: { type: expect.any(String), message: expect.any(String) } });
        }
        if (res.statusCode === 202) {
          expect(sent).toHaveLength(1);
          const decoded = decodeEnvelope(sent[0]!.body);
          expect(decoded.ok).toBe(true);
          if (decoded.ok) {
            const config = configs[configIndex]!;
            const rules = config.identityResolution ? { identityIdentifiers: Object.keys(config.identityResolution.identifiers) } : undefined;
            expect(validateCustomerPayload(decoded.envelope.payload, rules).ok).toBe(true);
          }
        } else {
          expect(sent).toHaveLength(0);
        }
      }),
      { seed: SEED + 100 + index, numRuns: RUNS },
    );
    assertPrototypesClean();
    expect(seen.has(202), [...seen].join(',')).toBe(true);
  });
});
