import { afterEach, describe, expect, it } from 'vitest';
import {
  BLOCKED_CUSTOMER_IDS,
  MAX_ARRAY_VALUES,
  MAX_STRING_LENGTH,
  RESERVED_ATTRIBUTE_KEYS,
  attributeNameProblem,
  isBlockedCustomerId,
  normalizeDateTime,
  toEpochMillis,
  truncateChars,
} from '../../functions/core/moengage/attributes';
import { MAX_PAYLOAD_BYTES } from '../../functions/core/moengage/limits';
import { buildCustomerPayload, payloadBytes } from '../../functions/core/moengage/payload-builder';
import { createCustomerPayloadSchema, customerPayloadSchema, validateCustomerPayload } from '../../functions/core/moengage/payload-validator';
import type { CustomerInput, CustomerPayload, DroppedAttribute, PayloadResult, PayloadRules } from '../../functions/core/moengage/types';

type Ok = Extract<PayloadResult, { ok: true }>;
type Rejected = Extract<PayloadResult, { ok: false }>;

function expectOk(r: PayloadResult): Ok {
  if (!r.ok) throw new Error(`expected ok, got rejection ${r.field}: ${r.message}`);
  return r;
}

function expectRejected(r: PayloadResult, field: string): Rejected {
  if (r.ok) throw new Error(`expected a rejection of ${field}, got ok: ${JSON.stringify(r.payload)}`);
  expect(r.field).toBe(field);
  expect(r.message.length).toBeGreaterThan(0);
  return r;
}

function attrs(r: PayloadResult): Record<string, unknown> {
  return (expectOk(r).payload.attributes ?? {}) as Record<string, unknown>;
}

function build(input: CustomerInput, rules?: PayloadRules): PayloadResult {
  return buildCustomerPayload(input, rules);
}

function custom(values: Record<string, unknown>, rules?: PayloadRules): Ok {
  return expectOk(build({ customerId: 'user_1', custom: values }, rules));
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const codePoints = (s: string): number => [...s].length;

/** The reserved keywords, verbatim from the MoEngage User API document. */
const DOC_RESERVED = [
  'USER_ATTRIBUTE_UNIQUE_ID',
  'USER_ATTRIBUTE_USER_EMAIL',
  'USER_ATTRIBUTE_USER_MOBILE',
  'USER_ATTRIBUTE_USER_NAME',
  'USER_ATTRIBUTE_USER_GENDER',
  'USER_ATTRIBUTE_USER_FIRST_NAME',
  'USER_ATTRIBUTE_USER_LAST_NAME',
  'USER_ATTRIBUTE_USER_BDAY',
  'USER_ATTRIBUTE_NOTIFICATION_PREF',
  'USER_ATTRIBUTE_OLD_ID',
  'MOE_TIME_FORMAT',
  'MOE_TIME_TIMEZONE',
  'USER_ATTRIBUTE_DND_START_TIME',
  'USER_ATTRIBUTE_DND_END_TIME',
  'MOE_GAID',
  'MOE_ISLATINSTALL',
  'statusUPDATE',
  'MOE_ISLAT',
  'user_idstatus',
  'user_id',
  'source',
];

const BLOCKED = [
  'unknown',
  'guest',
  'null',
  'undefined',
  '0',
  '1',
  '-1',
  'true',
  'false',
  'na',
  'n/a',
  'none',
  'id',
  'uid',
  'userid',
  'user_id',
  'customer_id',
];

describe('constants', () => {
  it('has the documented limits', () => {
    expect(MAX_PAYLOAD_BYTES).toBe(128_000); // "exceeds 128 KB", the smaller reading
    expect(MAX_ARRAY_VALUES).toBe(50);
    expect(MAX_STRING_LENGTH).toBe(512);
  });

  it('lists exactly the reserved keywords of the document', () => {
    expect([...RESERVED_ATTRIBUTE_KEYS]).toEqual(DOC_RESERVED);
  });

  it('lists exactly the blocked customer ids (plus empty)', () => {
    expect([...BLOCKED_CUSTOMER_IDS].sort()).toEqual(['', ...BLOCKED].sort());
  });
});

describe('the MoEngage document examples', () => {
  const examples: [string, unknown, PayloadRules?][] = [
    [
      'request body sample',
      { type: 'customer', customer_id: 'john@example.com', attributes: { name: 'John', platforms: [{ platform: 'ANDROID', active: 'true' }] } },
    ],
    [
      'custom attribute types with update_existing_only "true"',
      {
        type: 'customer',
        customer_id: 'john@example.com',
        update_existing_only: 'true',
        attributes: {
          points: 20,
          expiry_date: '2020-05-31T03:47:35Z',
          super_user: true,
          user_persona: 'browsers',
          platforms: [{ platform: 'ANDROID', active: 'true' }],
        },
      },
    ],
    [
      'cURL sample',
      { type: 'customer', customer_id: '123', attributes: { name: 'JohnDoe', first_name: 'John', platforms: [{ platform: 'iOS', active: 'true' }] } },
    ],
    [
      'array support sample',
      {
        type: 'customer',
        customer_id: '123',
        attributes: {
          removeValueFromArrayField: {},
          addValueToArrayField: { attribute1: ['abc', 'def'], attribute2: ['a'], attribute3: ['123'] },
          platforms: [{ platform: 'iOS', active: 'true' }],
        },
      },
    ],
    ['array attribute', { type: 'customer', customer_id: '123', attributes: { Array_attributeName: ['abc', '123'] } }],
    [
      'identity resolution sample',
      { type: 'customer', attributes: { moe_mobile: '{{Mobile_Number}}', first_name: 'John' } },
      { identityIdentifiers: ['moe_mobile'] },
    ],
    ['standard attributes', { type: 'customer', customer_id: 'c1', attributes: { u_bd: '2019-05-21T03:47:35Z', u_em: 'john@example.com', u_mb: '239697005661', uid: 'yTbVEc', u_n: 'John Doe', u_fn: 'John', u_ln: 'Doe', u_gd: 'M' } }],
    ['create-only attributes', { type: 'customer', customer_id: 'c1', attributes: { u_l_a: 1767092989259, cr_t: 1767092989259 } }],
  ];

  it.each(examples)('%s validates', (_name, payload, rules) => {
    const r = expectOk(validateCustomerPayload(payload, rules));
    expect(r.payload).toEqual(payload);
    expect(customerPayloadSchema.safeParse(payload).success).toBe(rules === undefined);
  });

  it('the identity resolution sample needs the identifier to be configured', () => {
    const payload = { type: 'customer', attributes: { moe_mobile: '+15550100', first_name: 'John' } };
    expectRejected(validateCustomerPayload(payload), 'attributes.moe_mobile');
    expectRejected(validateCustomerPayload({ type: 'customer', attributes: { first_name: 'John' } }, { identityIdentifiers: ['moe_mobile'] }), 'customer_id');
  });
});

describe('blocked customer ids', () => {
  it.each(BLOCKED)('%s is blocked in any case and with whitespace', (id) => {
    for (const variant of [id, id.toUpperCase(), ` ${id} `, `\t${id[0]?.toUpperCase() ?? ''}${id.slice(1)}\n`]) {
      expect(isBlockedCustomerId(variant)).toBe(true);
      const r = expectRejected(build({ customerId: variant, standard: { u_fn: 'Ann' } }), 'customer_id');
      expect(r.message).toMatch(/placeholder/);
      expectRejected(validateCustomerPayload({ type: 'customer', customer_id: variant }), 'customer_id');
    }
  });

  it.each(['', ' ', '\t\n', '\u00a0'])('empty / whitespace %j is blocked', (id) => {
    expect(isBlockedCustomerId(id)).toBe(true);
    expectRejected(build({ customerId: id }), 'customer_id');
    expectRejected(validateCustomerPayload({ type: 'customer', customer_id: id }), 'customer_id');
  });

  it.each([0, 1, -1])('the number %d is blocked too', (id) => {
    expectRejected(build({ customerId: id }), 'customer_id');
  });

  it.each(['user_123', '10', 'guest1', 'unknown-user', 'idx', '00', 'null0'])('%s is a real id', (id) => {
    expect(isBlockedCustomerId(id)).toBe(false);
    expect(expectOk(build({ customerId: id })).payload.customer_id).toBe(id);
    expectOk(validateCustomerPayload({ type: 'customer', customer_id: id }));
  });
});

describe('customer_id', () => {
  it('turns numbers into strings and trims strings', () => {
    expect(expectOk(build({ customerId: 7390185562345 })).payload.customer_id).toBe('7390185562345');
    expect(expectOk(build({ customerId: '  cus_123 ' })).payload.customer_id).toBe('cus_123');
  });

  it('is required without identity resolution', () => {
    for (const customerId of [undefined, null]) {
      const r = expectRejected(build({ customerId: customerId as undefined, standard: { u_em: 'a@example.com' } }), 'customer_id');
      expect(r.message).toBe('customer_id is required');
    }
    expectRejected(validateCustomerPayload({ type: 'customer', attributes: { a: 1 } }), 'customer_id');
  });

  it('refuses other types and non-finite numbers', () => {
    for (const customerId of [{}, ['a'], true, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectRejected(build({ customerId: customerId as string }), 'customer_id');
    }
    expectRejected(validateCustomerPayload({ type: 'customer', customer_id: 123 }), 'customer_id');
    expectRejected(validateCustomerPayload({ type: 'customer', customer_id: null }), 'customer_id');
  });

  it('is at most 512 characters, never cut', () => {
    const max = '😀'.repeat(MAX_STRING_LENGTH);
    expect(expectOk(build({ customerId: max })).payload.customer_id).toBe(max);
    expectOk(validateCustomerPayload({ type: 'customer', customer_id: max }));
    const long = 'x'.repeat(MAX_STRING_LENGTH + 1);
    const r = expectRejected(build({ customerId: long }), 'customer_id');
    expect(r.message).not.toContain(long);
    expectRejected(validateCustomerPayload({ type: 'customer', customer_id: long }), 'customer_id');
  });
});

describe('identity resolution', () => {
  const rules: PayloadRules = { identityIdentifiers: ['moe_email', 'moe_mobile'] };

  it('lets an identifier stand in for customer_id', () => {
    const r = expectOk(build({ identifiers: { moe_email: ' ann@example.com ' }, standard: { u_fn: 'Ann' } }, rules));
    expect(r.payload).toEqual({ type: 'customer', attributes: { u_fn: 'Ann', moe_email: 'ann@example.com' } });
    expect(r.dropped).toEqual([]);
    expectOk(validateCustomerPayload(r.payload, rules));
  });

  it('omits a placeholder customer_id when an identifier is present', () => {
    const r = expectOk(build({ customerId: 'guest', identifiers: { moe_mobile: 15550100 } }, rules));
    expect(r.payload.customer_id).toBeUndefined();
    expect(r.payload.attributes).toEqual({ moe_mobile: '15550100' });
  });

  it('keeps customer_id alongside identifiers', () => {
    const r = expectOk(build({ customerId: 'u1', identifiers: { moe_email: 'a@example.com' } }, rules));
    expect(r.payload).toEqual({ type: 'customer', customer_id: 'u1', attributes: { moe_email: 'a@example.com' } });
  });

  it('still needs customer_id when the identifiers have no value', () => {
    for (const value of ['', '   ', null, undefined]) {
      const r = expectRejected(build({ identifiers: { moe_email: value } }, rules), 'customer_id');
      expect(r.message).toContain('moe_email');
    }
    expectRejected(validateCustomerPayload({ type: 'customer', attributes: { moe_email: ' ' } }, rules), 'customer_id');
  });

  it('keeps only the configured identifiers', () => {
    const r = expectOk(build({ customerId: 'u1', identifiers: { moe_email: 'a@example.com', moe_phone: '1', email: 'x' } }, rules));
    expect(r.payload.attributes).toEqual({ moe_email: 'a@example.com' });
    expect(r.dropped).toEqual([
      { name: 'moe_phone', reason: 'moe_prefix' },
      { name: 'email', reason: 'invalid_name' },
    ]);
  });

  it('identifiers without rules are dropped, and customer_id is then required', () => {
    const r = expectRejected(build({ identifiers: { moe_email: 'a@example.com' } }), 'customer_id');
    expect(r.message).not.toContain('a@example.com');
    const ok = expectOk(build({ customerId: 'u1', identifiers: { moe_email: 'a@example.com' } }));
    expect(ok.payload.attributes).toBeUndefined();
    expect(ok.dropped).toEqual([{ name: 'moe_email', reason: 'moe_prefix' }]);
  });

  it('an identifier must be a string in a payload', () => {
    expectRejected(validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { moe_email: 5 } }, rules), 'attributes.moe_email');
  });

  it('drops identifiers that are objects or too long (never cut)', () => {
    const r = expectOk(build({ customerId: 'u1', identifiers: { moe_email: { a: 1 }, moe_mobile: '1'.repeat(513) } }, rules));
    expect(r.payload.attributes).toBeUndefined();
    expect(r.dropped).toEqual([
      { name: 'moe_email', reason: 'unsupported_type' },
      { name: 'moe_mobile', reason: 'unsupported_type' },
    ]);
  });
});

describe('attribute names', () => {
  it.each(DOC_RESERVED)('reserved keyword %s is dropped in any case and refused by the validator', (key) => {
    for (const variant of [key, key.toLowerCase(), key.toUpperCase()]) {
      const r = custom({ [variant]: 'v', ok_attr: 1 });
      expect(r.payload.attributes).toEqual({ ok_attr: 1 });
      expect(r.dropped).toEqual([{ name: variant, reason: 'reserved_keyword' }]);
      expect(attributeNameProblem(variant)).toBe('reserved_keyword');
      const v = expectRejected(validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { [variant]: 'v' } }), `attributes.${variant}`);
      expect(v.message).toMatch(/reserved/);
    }
  });

  it('drops moe_ prefixed names in any case; identifiers come only from the identity mapping (exact name)', () => {
    const rules: PayloadRules = { identityIdentifiers: ['moe_email'] };
    const without = custom({ moe_email: 'a@example.com', MOE_foo: 1, Moe_bar: true, moex: 1 });
    expect(without.payload.attributes).toEqual({ moex: 1 });
    expect(without.dropped.map((d) => d.reason)).toEqual(['moe_prefix', 'moe_prefix', 'moe_prefix']);

    // A custom attribute (a Segment trait, a metadata key: user data) never sets an identifier,
    // even one the workspace activated: it would name another user to MoEngage's identity resolution.
    const withRules = custom({ moe_email: 'victim@example.com', MOE_EMAIL: 'b@example.com', moe_foo: 1 }, rules);
    expect(withRules.payload.attributes).toBeUndefined();
    expect(withRules.dropped).toEqual([
      { name: 'moe_email', reason: 'moe_prefix' },
      { name: 'MOE_EMAIL', reason: 'moe_prefix' },
      { name: 'moe_foo', reason: 'moe_prefix' },
    ]);
    const mapped = buildCustomerPayload(
      { customerId: 'u1', identifiers: { moe_email: 'a@example.com' }, custom: { moe_email: 'victim@example.com', plan: 'pro' } },
      rules,
    );
    expect(mapped.ok && mapped.payload.attributes).toEqual({ moe_email: 'a@example.com', plan: 'pro' });
    const noEmail = buildCustomerPayload({ customerId: 'u1', custom: { moe_email: 'victim@example.com', plan: 'pro' } }, rules);
    expect(noEmail.ok && noEmail.payload.attributes).toEqual({ plan: 'pro' });
    const arrayOp = buildCustomerPayload({ customerId: 'u1', addToArray: { moe_email: ['victim@example.com'] } }, rules);
    expect(arrayOp.ok && arrayOp.dropped).toEqual([{ name: 'addValueToArrayField.moe_email', reason: 'moe_prefix' }]);

    expectRejected(validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { moe_email: 'a' } }), 'attributes.moe_email');
    expectRejected(validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { MOE_EMAIL: 'a' } }, rules), 'attributes.MOE_EMAIL');
    expectOk(validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { moe_email: 'a' } }, rules));
  });

  it.each(['id', '_id', 'ID', '_Id', '', '  ', ' id '])('drops the name %j', (name) => {
    const r = custom({ [name]: 'v' });
    expect(r.payload.attributes).toBeUndefined();
    expect(r.dropped).toEqual([{ name, reason: 'invalid_name' }]);
    expectRejected(validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { [name]: 'v' } }), `attributes.${name}`);
  });

  it('drops custom attributes named like the payload structure', () => {
    const r = custom({ platforms: ['x'], addValueToArrayField: ['a'], removeValueFromArrayField: 'x', keep: 1, nested: { platforms: 1 } });
    expect(r.payload.attributes).toEqual({ keep: 1, nested_platforms: 1 });
    expect(r.dropped).toEqual([
      { name: 'platforms', reason: 'invalid_name' },
      { name: 'addValueToArrayField', reason: 'invalid_name' },
      { name: 'removeValueFromArrayField', reason: 'invalid_name' },
    ]);
  });

  it('checks names after flattening', () => {
    const r = custom({ user: { id: 'x' }, moe: { x: 1 }, so: { urce: 1 }, Id: { '': 2 } });
    expect(r.payload.attributes).toEqual({ so_urce: 1, Id_: 2 });
    expect(r.dropped).toEqual([
      { name: 'user_id', reason: 'reserved_keyword' },
      { name: 'moe_x', reason: 'moe_prefix' },
    ]);
  });
});

describe('prototype keys', () => {
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('drops __proto__, constructor and prototype keys without polluting anything', () => {
    const input = JSON.parse(
      '{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}, "prototype": 1, "nested": {"__proto__": {"polluted": 1}, "ok": 2}}',
    ) as Record<string, unknown>;
    const r = custom(input);
    expect(r.payload.attributes).toEqual({ nested_ok: 2 });
    expect(Object.getPrototypeOf(r.payload.attributes)).toBe(Object.prototype);
    expect(r.dropped).toEqual([
      { name: '__proto__', reason: 'invalid_name' },
      { name: 'constructor', reason: 'invalid_name' },
      { name: 'prototype', reason: 'invalid_name' },
      { name: 'nested___proto__', reason: 'invalid_name' },
    ]);
    expect(JSON.stringify(r.payload)).toBe('{"type":"customer","customer_id":"user_1","attributes":{"nested_ok":2}}');
  });

  it('drops them from standard, identifiers and array operations too', () => {
    const r = expectOk(
      build(
        {
          customerId: 'u1',
          standard: JSON.parse('{"__proto__": {"polluted": 1}, "u_fn": "Ann"}'),
          identifiers: JSON.parse('{"__proto__": "x", "moe_email": "a@example.com"}'),
          addToArray: JSON.parse('{"__proto__": ["x"], "tags": "a"}'),
        },
        { identityIdentifiers: ['moe_email'] },
      ),
    );
    expect(r.payload.attributes).toEqual({ u_fn: 'Ann', moe_email: 'a@example.com', addValueToArrayField: { tags: ['a'] } });
    expect(r.dropped.map((d) => d.reason)).toEqual(['invalid_name', 'invalid_name', 'invalid_name']);
  });

  it('accepts null-prototype objects', () => {
    const obj = Object.create(null) as Record<string, unknown>;
    obj.city = 'Paris';
    expect(custom({ address: obj }).payload.attributes).toEqual({ address_city: 'Paris' });
  });

  it('the validator refuses them wherever they are', () => {
    const cases: [string, string][] = [
      ['{"type":"customer","customer_id":"u","attributes":{"__proto__":{"polluted":1}}}', 'attributes.__proto__'],
      ['{"type":"customer","customer_id":"u","attributes":{"constructor":"x"}}', 'attributes.constructor'],
      ['{"type":"customer","customer_id":"u","__proto__":{"polluted":1}}', '__proto__'],
      ['{"type":"customer","customer_id":"u","attributes":{"addValueToArrayField":{"__proto__":["x"]}}}', 'attributes.addValueToArrayField.__proto__'],
      ['{"type":"customer","customer_id":"u","attributes":{"platforms":[{"platform":"web","active":"true","__proto__":{}}]}}', 'attributes.platforms.0.__proto__'],
    ];
    for (const [json, field] of cases) expectRejected(validateCustomerPayload(JSON.parse(json)), field);
  });
});

describe('flattening', () => {
  it('joins nested keys with _', () => {
    const r = custom({ address: { city: 'Paris', geo: { lat: 48.85, lng: 2.35 } }, plan: 'pro' });
    expect(r.payload.attributes).toEqual({ address_city: 'Paris', address_geo_lat: 48.85, address_geo_lng: 2.35, plan: 'pro' });
    expect(r.dropped).toEqual([]);
  });

  it('keeps 5 levels and drops deeper objects as too_deep', () => {
    const r = custom({ a: { b: { c: { d: { e: 1, f: { g: 2 } } } } } });
    expect(r.payload.attributes).toEqual({ a_b_c_d_e: 1 });
    expect(r.dropped).toEqual([{ name: 'a_b_c_d_f', reason: 'too_deep' }]);
  });

  it('skips null, undefined and empty objects silently', () => {
    const r = custom({ a: null, b: undefined, c: {}, d: { e: null }, f: 0, g: false });
    expect(r.payload.attributes).toEqual({ f: 0, g: false });
    expect(r.dropped).toEqual([]);
  });

  it('keeps empty strings of custom attributes', () => {
    expect(custom({ note: '' }).payload.attributes).toEqual({ note: '' });
  });

  it('first one wins when two flatten to the same name', () => {
    const r = custom({ a_b: 1, a: { b: 2 } });
    expect(r.payload.attributes).toEqual({ a_b: 1 });
    expect(r.dropped).toEqual([{ name: 'a_b', reason: 'invalid_name' }]);
  });

  it('drops functions, symbols, bigints, NaN and class instances', () => {
    class Money {
      amount = 1;
    }
    const r = custom({ f: () => 1, s: Symbol('x'), b: BigInt(1), n: Number.NaN, i: Number.NEGATIVE_INFINITY, m: new Map([['a', 1]]), c: new Money(), ok: 'x' });
    expect(r.payload.attributes).toEqual({ ok: 'x' });
    expect(r.dropped).toEqual(['f', 's', 'b', 'n', 'i', 'm', 'c'].map((name) => ({ name, reason: 'unsupported_type' })));
  });

  it('normalizes Dates and datetime strings', () => {
    const r = custom({ at: new Date(Date.UTC(2024, 4, 1, 10, 20, 30, 999)), iso: '2024-05-01T10:20:30.123+02:00', day: '2024-05-01', text: '2024-05-01 was a Wednesday' });
    expect(r.payload.attributes).toEqual({ at: '2024-05-01T10:20:30Z', iso: '2024-05-01T08:20:30Z', day: '2024-05-01', text: '2024-05-01 was a Wednesday' });
  });

  it('drops datetime strings that cannot be read', () => {
    const r = custom({ bad: '2024-13-01', bad2: '2024-05-01T25:00:00Z', bad3: '2024-02-30 10:00', bad4: '2024-05-01T10:00:00+25:00' });
    expect(r.payload.attributes).toBeUndefined();
    expect(r.dropped.map((d) => d.reason)).toEqual(['unsupported_type', 'unsupported_type', 'unsupported_type', 'unsupported_type']);
  });

  it('keeps text that only begins with a date as text (a string MoEngage stores as it is)', () => {
    const note = '2024-01-15 10:30 left voicemail';
    const r = custom({ note, later: '2024-05-01T10:00:00 tomorrow', release: '2024-13-01 (postponed)' });
    expect(r.payload.attributes).toEqual({ note, later: '2024-05-01T10:00:00 tomorrow', release: '2024-13-01 (postponed)' });
    expect(r.dropped).toEqual([]);
    expectOk(validateCustomerPayload(r.payload));
  });

  it('rejects a custom input that is not an object', () => {
    expectRejected(build({ customerId: 'u', custom: 'x' as unknown as Record<string, unknown> }), 'attributes');
    expectRejected(build({ customerId: 'u', custom: ['x'] as unknown as Record<string, unknown> }), 'attributes');
  });
});

describe('standard attributes', () => {
  it('skips empty values and trims strings', () => {
    const r = expectOk(build({ customerId: 'u', standard: { u_em: ' a@example.com ', u_mb: '', u_fn: null, u_ln: undefined, u_n: '  ', u_gd: ' F ' } }));
    expect(r.payload.attributes).toEqual({ u_em: 'a@example.com', u_gd: 'F' });
    expect(r.dropped).toEqual([]);
  });

  it('u_em and u_mb take strings only, and are dropped rather than cut', () => {
    const r = expectOk(build({ customerId: 'u', standard: { u_em: 5, u_mb: 15550100 } }));
    expect(r.payload.attributes).toBeUndefined();
    expect(r.dropped).toEqual([
      { name: 'u_em', reason: 'unsupported_type' },
      { name: 'u_mb', reason: 'unsupported_type' },
    ]);
    const long = expectOk(build({ customerId: 'u', standard: { u_em: `${'a'.repeat(520)}@example.com` } }));
    expect(long.dropped).toEqual([{ name: 'u_em', reason: 'unsupported_type' }]);
  });

  it('names and uid accept numbers as strings and are cut to 512 characters', () => {
    const r = expectOk(build({ customerId: 'u', standard: { uid: 12345, u_fn: 'é'.repeat(600), u_ln: { a: 1 } } }));
    const a = r.payload.attributes as Record<string, string>;
    expect(a.uid).toBe('12345');
    expect(a.u_fn).toBe('é'.repeat(512));
    expect(r.dropped).toEqual([{ name: 'u_ln', reason: 'unsupported_type' }]);
  });

  it('a custom attribute colliding with a standard key loses', () => {
    const r = expectOk(build({ customerId: 'u', standard: { u_em: 'std@example.com' }, custom: { u_em: 'custom@example.com', u_fn: 'Ann' } }));
    expect(r.payload.attributes).toEqual({ u_em: 'std@example.com', u_fn: 'Ann' });
    expect(r.dropped).toEqual([{ name: 'u_em', reason: 'invalid_name' }]);
  });

  it('a custom attribute named like a standard key follows its rules', () => {
    const r = expectOk(build({ customerId: 'u', custom: { u_bd: '1990-05-01T00:00:00+02:00', u_mb: 123 } }));
    expect(r.payload.attributes).toEqual({ u_bd: '1990-04-30T22:00:00Z' });
    expect(r.dropped).toEqual([{ name: 'u_mb', reason: 'unsupported_type' }]);
  });

  it('unknown keys in standard follow the custom rules', () => {
    const r = expectOk(build({ customerId: 'u', standard: { plan: 'pro', moe_x: 1 } as Record<string, unknown> }));
    expect(r.payload.attributes).toEqual({ plan: 'pro' });
    expect(r.dropped).toEqual([{ name: 'moe_x', reason: 'moe_prefix' }]);
  });

  it('validator: standard keys must be strings', () => {
    for (const key of ['u_em', 'u_mb', 'u_fn', 'u_ln', 'u_n', 'u_gd', 'uid']) {
      expectRejected(validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { [key]: 1 } }), `attributes.${key}`);
      expectOk(validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { [key]: 'x' } }));
    }
  });
});

describe('dates', () => {
  const table: [unknown, string | undefined][] = [
    ['2024-05-01T10:20:30Z', '2024-05-01T10:20:30Z'],
    ['2024-05-01T10:20:30.123Z', '2024-05-01T10:20:30Z'],
    ['2024-05-01T10:20:30.999999+02:00', '2024-05-01T08:20:30Z'],
    ['2024-05-01T10:20:30.123+02:00', '2024-05-01T08:20:30Z'],
    ['2024-05-01T01:20:30-05:30', '2024-05-01T06:50:30Z'],
    ['2024-05-01T23:30:00-02:00', '2024-05-02T01:30:00Z'],
    ['2024-01-01T00:30:00+01:00', '2023-12-31T23:30:00Z'],
    ['2024-05-01T10:20:30+0200', '2024-05-01T08:20:30Z'],
    ['2024-05-01T10:20:30+02', '2024-05-01T08:20:30Z'],
    ['2024-05-01T10:20:30,5Z', '2024-05-01T10:20:30Z'],
    ['2024-05-01t10:20:30z', '2024-05-01T10:20:30Z'],
    ['2024-05-01 10:20', '2024-05-01T10:20:00Z'],
    ['2024-05-01T10:20:30', '2024-05-01T10:20:30Z'],
    ['  2024-05-01T10:20:30Z  ', '2024-05-01T10:20:30Z'],
    ['2024-05-01', '2024-05-01'],
    ['2024-02-29', '2024-02-29'],
    ['2000-02-29', '2000-02-29'],
    ['0099-01-01T00:00:00Z', '0099-01-01T00:00:00Z'],
    ['2023-02-29', undefined],
    ['1900-02-29', undefined],
    ['2024-04-31', undefined],
    ['2024-13-01', undefined],
    ['2024-00-10', undefined],
    ['2024-05-01T24:00:00Z', undefined],
    ['2024-05-01T10:60:00Z', undefined],
    ['2024-05-01T10:20:60Z', undefined],
    ['2024-05-01T10:20:30+24:00', undefined],
    ['2024-05-01T10:20:30+02:60', undefined],
    ['2024-05-01T10:20:30 +02:00', undefined],
    ['May 1, 2024', undefined],
    ['20240501', undefined],
    ['2024-5-1', undefined],
    ['1714558830000', undefined],
    ['', undefined],
    ['yesterday', undefined],
    [new Date(Date.UTC(2024, 4, 1, 10, 20, 30, 999)), '2024-05-01T10:20:30Z'],
    [new Date(Number.NaN), undefined],
    [new Date(-1), '1969-12-31T23:59:59Z'],
    [1714558830123, '2024-05-01T10:20:30Z'],
    [0, '1970-01-01T00:00:00Z'],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    [253402300800000, undefined],
    [null, undefined],
    [undefined, undefined],
    [true, undefined],
    [{}, undefined],
  ];

  it.each(table)('normalizeDateTime(%j) = %j', (input, expected) => {
    expect(normalizeDateTime(input)).toBe(expected);
  });

  describe('independent of the machine time zone', () => {
    const saved = process.env.TZ;
    afterEach(() => {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    });
    it('reads a datetime without offset as UTC', () => {
      for (const tz of ['America/New_York', 'Asia/Kolkata', 'UTC']) {
        process.env.TZ = tz;
        expect(normalizeDateTime('2024-05-01T10:20')).toBe('2024-05-01T10:20:00Z');
        expect(normalizeDateTime('2024-05-01T10:20:30+02:00')).toBe('2024-05-01T08:20:30Z');
        expect(normalizeDateTime('2024-05-01')).toBe('2024-05-01');
      }
    });
  });

  it('u_bd: Date, ISO string with offset, epoch ms, date-only', () => {
    const cases: [unknown, string][] = [
      [new Date(Date.UTC(1990, 4, 1)), '1990-05-01T00:00:00Z'],
      ['1990-05-01T10:20:30.123+02:00', '1990-05-01T08:20:30Z'],
      [641563230000, '1990-05-01T12:00:30Z'],
      ['1990-05-01', '1990-05-01'],
    ];
    for (const [u_bd, expected] of cases) {
      expect(attrs(build({ customerId: 'u', standard: { u_bd } })).u_bd).toBe(expected);
    }
  });

  it('an unreadable u_bd is dropped, not a rejection', () => {
    for (const u_bd of ['01/05/1990', '1990-02-30', true, { y: 1990 }, Number.NaN]) {
      const r = expectOk(build({ customerId: 'u', standard: { u_bd, u_fn: 'Ann' } }));
      expect(r.payload.attributes).toEqual({ u_fn: 'Ann' });
      expect(r.dropped).toEqual([{ name: 'u_bd', reason: 'unsupported_type' }]);
    }
    expect(expectOk(build({ customerId: 'u', standard: { u_bd: ' ' } })).dropped).toEqual([]);
  });

  it('validator: u_bd must be YYYY-MM-DDTHH:mm:ssZ or YYYY-MM-DD', () => {
    const check = (u_bd: unknown): PayloadResult => validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { u_bd } });
    expectOk(check('1990-05-01'));
    expectOk(check('2019-05-21T03:47:35Z'));
    for (const bad of ['1990-05-01T10:20:30+02:00', '1990-05-01T10:20:30.123Z', '1990-02-30', '01/05/1990', 641563230000, '']) {
      expectRejected(check(bad), 'attributes.u_bd');
    }
  });

  it('validator: any datetime string attribute must be in a MoEngage form', () => {
    const check = (value: unknown): PayloadResult => validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { when: value } });
    expectOk(check('2020-05-31T03:47:35Z'));
    expectOk(check('2020-05-31'));
    expectOk(check('2020-05-31 is the day'));
    expectRejected(check('2020-05-31T03:47:35+02:00'), 'attributes.when');
    expectRejected(check('2020-05-31T03:47:35.000Z'), 'attributes.when');
    expectRejected(check('2020-05-31 03:47'), 'attributes.when');
    expectRejected(check('2020-02-30'), 'attributes.when');
    expectRejected(check(['2020-05-31', '2020-05-31T03:47']), 'attributes.when.1');
  });

  it('toEpochMillis reads numbers, Dates and ISO strings', () => {
    expect(toEpochMillis(1767092989259)).toBe(1767092989259);
    expect(toEpochMillis(1767092989259.7)).toBe(1767092989259);
    expect(toEpochMillis(new Date(1767092989259))).toBe(1767092989259);
    expect(toEpochMillis('2024-05-01T10:20:30+02:00')).toBe(Date.UTC(2024, 4, 1, 8, 20, 30));
    expect(toEpochMillis('2024-05-01')).toBe(Date.UTC(2024, 4, 1));
    expect(toEpochMillis('soon')).toBeUndefined();
    expect(toEpochMillis(Number.NaN)).toBeUndefined();
  });
});

describe('create-only attributes', () => {
  const now = 1767092989259;

  it('u_l_a and cr_t are kept as epoch ms on create', () => {
    const r = expectOk(build({ customerId: 'u', isCreate: true, custom: { u_l_a: now, cr_t: new Date(now), publisher_name: 'p', campaign_name: ' c ' } }));
    expect(r.payload.attributes).toEqual({ u_l_a: now, cr_t: now, publisher_name: 'p', campaign_name: 'c' });
    expect(r.dropped).toEqual([]);
  });

  it('are dropped on update', () => {
    for (const isCreate of [false, undefined]) {
      const r = expectOk(build({ customerId: 'u', isCreate, custom: { u_l_a: now, cr_t: now, publisher_name: 'p', campaign_name: 'c', keep: 1 } }));
      expect(r.payload.attributes).toEqual({ keep: 1 });
      expect(r.dropped.map((d) => d.reason)).toEqual(['create_only', 'create_only', 'create_only', 'create_only']);
    }
  });

  it('an unreadable time is dropped', () => {
    const r = expectOk(build({ customerId: 'u', isCreate: true, custom: { u_l_a: 'later', cr_t: true } }));
    expect(r.dropped).toEqual([
      { name: 'u_l_a', reason: 'unsupported_type' },
      { name: 'cr_t', reason: 'unsupported_type' },
    ]);
  });

  it('validator: refused with isCreate false, type-checked otherwise', () => {
    const payload = { type: 'customer', customer_id: 'u', attributes: { u_l_a: now } };
    expectOk(validateCustomerPayload(payload));
    expectOk(validateCustomerPayload(payload, { isCreate: true }));
    expectRejected(validateCustomerPayload(payload, { isCreate: false }), 'attributes.u_l_a');
    expectRejected(validateCustomerPayload({ ...payload, attributes: { cr_t: '2024-05-01' } }), 'attributes.cr_t');
    expectRejected(validateCustomerPayload({ ...payload, attributes: { cr_t: 1.5 } }), 'attributes.cr_t');
    expectRejected(validateCustomerPayload({ ...payload, attributes: { publisher_name: 'p' } }, { isCreate: false }), 'attributes.publisher_name');
  });
});

describe('arrays', () => {
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

  it('keeps 50 values', () => {
    const r = custom({ nums: range(50) });
    expect(r.payload.attributes).toEqual({ nums: range(50) });
    expect(r.dropped).toEqual([]);
  });

  it('cuts 51 values to 50 and reports too_many_values', () => {
    const r = custom({ nums: range(51) });
    expect(r.payload.attributes).toEqual({ nums: range(50) });
    expect(r.dropped).toEqual([{ name: 'nums', reason: 'too_many_values' }]);
  });

  it('leaves null elements out before counting', () => {
    const r = custom({ nums: [null, ...range(50), undefined] });
    expect(r.payload.attributes).toEqual({ nums: range(50) });
    expect(r.dropped).toEqual([]);
  });

  it('drops mixed types', () => {
    for (const mixed of [[1, 'a'], ['a', true], [1, false]]) {
      const r = custom({ mixed });
      expect(r.payload.attributes).toBeUndefined();
      expect(r.dropped).toEqual([{ name: 'mixed', reason: 'mixed_array_types' }]);
    }
  });

  it('drops arrays of objects or arrays', () => {
    for (const value of [[{ a: 1 }], [['a']], ['a', () => 1]]) {
      const r = custom({ value });
      expect(r.dropped).toEqual([{ name: 'value', reason: 'unsupported_type' }]);
    }
  });

  it('normalizes Dates and datetime strings in arrays, and cuts long strings', () => {
    const r = custom({ days: [new Date(Date.UTC(2024, 0, 2)), '2024-01-03T00:00:00+01:00'], words: ['x'.repeat(600)] });
    expect(r.payload.attributes).toEqual({ days: ['2024-01-02T00:00:00Z', '2024-01-02T23:00:00Z'], words: ['x'.repeat(512)] });
  });

  it('keeps empty arrays', () => {
    expect(custom({ tags: [] }).payload.attributes).toEqual({ tags: [] });
  });

  it('validator: at most 50 values of one primitive type', () => {
    const check = (value: unknown): PayloadResult => validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { list: value } });
    expectOk(check(range(50)));
    expectOk(check([]));
    expectRejected(check(range(51)), 'attributes.list');
    expectRejected(check([1, '1']), 'attributes.list');
    expectRejected(check([{ a: 1 }]), 'attributes.list.0');
    expectRejected(check([null]), 'attributes.list.0');
    expectRejected(check(['x'.repeat(513)]), 'attributes.list.0');
  });

  it('validator: no nested objects or null values', () => {
    expectRejected(validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { address: { city: 'x' } } }), 'attributes.address');
    expectRejected(validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { a: null } }), 'attributes.a');
    expectRejected(validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: [] }), 'attributes');
  });
});

describe('512-character strings', () => {
  it('keeps 512 characters and cuts 513', () => {
    expect(custom({ s: 'a'.repeat(512) }).payload.attributes).toEqual({ s: 'a'.repeat(512) });
    expect(custom({ s: 'a'.repeat(513) }).payload.attributes).toEqual({ s: 'a'.repeat(512) });
  });

  it('cuts by characters, never inside a surrogate pair', () => {
    const emoji = '😀'.repeat(600);
    const cut = (custom({ s: emoji }).payload.attributes as Record<string, string>).s ?? '';
    expect(codePoints(cut)).toBe(512);
    expect(cut.length).toBe(1024);
    expect(LONE_SURROGATE.test(cut)).toBe(false);

    const shifted = `a${'😀'.repeat(600)}`;
    const cut2 = truncateChars(shifted);
    expect(codePoints(cut2)).toBe(512);
    expect(LONE_SURROGATE.test(cut2)).toBe(false);
    expect(cut2.endsWith('😀')).toBe(true);

    expect(truncateChars('𝄞'.repeat(3), 2)).toBe('𝄞𝄞');
    expect(truncateChars('ab', 5)).toBe('ab');
  });

  it('validator counts characters, not UTF-16 units', () => {
    const check = (s: string): PayloadResult => validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { s } });
    expectOk(check('😀'.repeat(512)));
    expectRejected(check('😀'.repeat(513)), 'attributes.s');
    expectRejected(check('a'.repeat(513)), 'attributes.s');
  });
});

describe('platforms', () => {
  it('normalizes the platform name and active flag', () => {
    const r = expectOk(
      build({
        customerId: 'u',
        platforms: [
          { platform: 'android', active: true },
          { platform: 'IOS', active: 'FALSE' },
          { platform: 'web', active: 'true' },
        ] as unknown as CustomerInput['platforms'],
      }),
    );
    expect(r.payload.attributes).toEqual({
      platforms: [
        { platform: 'ANDROID', active: 'true' },
        { platform: 'iOS', active: 'false' },
        { platform: 'web', active: 'true' },
      ],
    });
  });

  it('rejects unknown platforms and flags', () => {
    const bad = (platforms: unknown, field: string): void => {
      expectRejected(build({ customerId: 'u', platforms: platforms as CustomerInput['platforms'] }), field);
    };
    bad([{ platform: 'windows', active: 'true' }], 'attributes.platforms.0.platform');
    bad([{ platform: 'web', active: 'yes' }], 'attributes.platforms.0.active');
    bad([{ platform: 'web' }], 'attributes.platforms.0.active');
    bad(['web'], 'attributes.platforms.0');
    bad({ platform: 'web', active: 'true' }, 'attributes.platforms');
  });

  it('omits an empty list', () => {
    expect(expectOk(build({ customerId: 'u', platforms: [] })).payload.attributes).toBeUndefined();
  });

  it('validator: exactly the documented shape', () => {
    const check = (platforms: unknown): PayloadResult => validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { platforms } });
    expectOk(check([{ platform: 'ANDROID', active: 'true' }, { platform: 'iOS', active: 'false' }, { platform: 'web', active: 'true' }]));
    expectRejected(check([{ platform: 'android', active: 'true' }]), 'attributes.platforms.0.platform');
    expectRejected(check([{ platform: 'web', active: true }]), 'attributes.platforms.0.active');
    expectRejected(check([{ platform: 'web', active: 'true', extra: 1 }]), 'attributes.platforms.0.extra');
    expectRejected(check({ platform: 'web', active: 'true' }), 'attributes.platforms');
    const top = expectRejected(validateCustomerPayload({ type: 'customer', customer_id: 'u', platforms: [] }), 'platforms');
    expect(top.message).toMatch(/inside attributes/);
  });
});

describe('array operations', () => {
  it('maps addToArray / removeFromArray, wrapping single values', () => {
    const r = expectOk(build({ customerId: 'u', addToArray: { tags: 'vip', scores: [1, 2] }, removeFromArray: { old_tags: ['a', 'b'], gone: null } }));
    expect(r.payload.attributes).toEqual({
      addValueToArrayField: { tags: ['vip'], scores: [1, 2] },
      removeValueFromArrayField: { old_tags: ['a', 'b'] },
    });
    expectOk(validateCustomerPayload(r.payload));
  });

  it('rejects the same attribute in both, naming it', () => {
    const r = expectRejected(build({ customerId: 'u', addToArray: { tags: 'a' }, removeFromArray: { tags: 'b' } }), 'attributes.addValueToArrayField.tags');
    expect(r.message).toContain("'tags'");
    expectOk(build({ customerId: 'u', addToArray: { tags: 'a' }, removeFromArray: { tags: null } }));
    const v = expectRejected(
      validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { addValueToArrayField: { tags: ['a'] }, removeValueFromArrayField: { tags: ['b'] } } }),
      'attributes.addValueToArrayField.tags',
    );
    expect(v.message).toBe("cannot add and remove 'tags' at the same time");
  });

  it('rejects platforms in either', () => {
    expectRejected(build({ customerId: 'u', addToArray: { platforms: 'web' } }), 'attributes.addValueToArrayField.platforms');
    expectRejected(build({ customerId: 'u', removeFromArray: { platforms: ['web'] } }), 'attributes.removeValueFromArrayField.platforms');
    expectRejected(
      validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { addValueToArrayField: { platforms: ['web'] } } }),
      'attributes.addValueToArrayField.platforms',
    );
    expectRejected(
      validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { removeValueFromArrayField: { platforms: ['web'] } } }),
      'attributes.removeValueFromArrayField.platforms',
    );
  });

  it('drops refused names and unsupported values', () => {
    const r = expectOk(build({ customerId: 'u', addToArray: { moe_x: 'a', source: 'b', u_em: 'c', tags: { a: 1 }, mixed: [1, 'a'], many: Array.from({ length: 60 }, (_, i) => `t${i}`) } }));
    expect(r.payload.attributes).toEqual({ addValueToArrayField: { many: Array.from({ length: 50 }, (_, i) => `t${i}`) } });
    expect(r.dropped).toEqual([
      { name: 'addValueToArrayField.moe_x', reason: 'moe_prefix' },
      { name: 'addValueToArrayField.source', reason: 'reserved_keyword' },
      { name: 'addValueToArrayField.u_em', reason: 'invalid_name' },
      { name: 'addValueToArrayField.tags', reason: 'unsupported_type' },
      { name: 'addValueToArrayField.mixed', reason: 'mixed_array_types' },
      { name: 'addValueToArrayField.many', reason: 'too_many_values' },
    ]);
  });

  it('validator: values are arrays of primitives', () => {
    const check = (op: unknown): PayloadResult => validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { addValueToArrayField: op } });
    expectOk(check({}));
    expectRejected(check({ tags: 'a' }), 'attributes.addValueToArrayField.tags');
    expectRejected(check({ tags: [{}] }), 'attributes.addValueToArrayField.tags.0');
    expectRejected(check(['a']), 'attributes.addValueToArrayField');
    expectRejected(check({ moe_tags: ['a'] }), 'attributes.addValueToArrayField.moe_tags');
  });
});

describe('update_existing_only', () => {
  it('is set only when given, as a boolean', () => {
    expect(expectOk(build({ customerId: 'u' })).payload).toEqual({ type: 'customer', customer_id: 'u' });
    const cases: [unknown, boolean][] = [
      [true, true],
      [false, false],
      ['true', true],
      ['FALSE', false],
      [' True ', true],
    ];
    for (const [given, expected] of cases) {
      const p = expectOk(build({ customerId: 'u', updateExistingOnly: given as boolean })).payload;
      expect(p.update_existing_only).toBe(expected);
    }
  });

  it('rejects anything else', () => {
    for (const given of ['yes', 1, {}]) {
      expectRejected(build({ customerId: 'u', updateExistingOnly: given as boolean }), 'update_existing_only');
    }
  });

  it('validator: boolean or the strings "true" / "false"', () => {
    for (const v of [true, false, 'true', 'false']) expectOk(validateCustomerPayload({ type: 'customer', customer_id: 'u', update_existing_only: v }));
    for (const v of ['TRUE', 'yes', 1, null]) {
      expectRejected(validateCustomerPayload({ type: 'customer', customer_id: 'u', update_existing_only: v }), 'update_existing_only');
    }
  });
});

describe('validateCustomerPayload', () => {
  it('type is "customer", case-sensitive', () => {
    expectRejected(validateCustomerPayload({ type: 'Customer', customer_id: 'u' }), 'type');
    expectRejected(validateCustomerPayload({ customer_id: 'u' }), 'type');
  });

  it('refuses unknown top-level fields and non-objects', () => {
    expectRejected(validateCustomerPayload({ type: 'customer', customer_id: 'u', extra: 1 }), 'extra');
    for (const v of [undefined, null, 5, 'x', [], () => 1]) expectRejected(validateCustomerPayload(v), 'payload');
  });

  it('never throws', () => {
    const cyclic: Record<string, unknown> = { type: 'customer' };
    cyclic.self = cyclic;
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const inputs: unknown[] = [
      cyclic,
      { type: 'customer', customer_id: 'u', big: BigInt(1) },
      {
        toJSON() {
          throw new Error('boom');
        },
      },
      deep,
      Symbol('x'),
      { type: 'customer', customer_id: 'u', attributes: { s: 'x'.repeat(2_000_000) } },
    ];
    for (const input of inputs) {
      const r = validateCustomerPayload(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.field).toBe('payload');
    }
  });

  it('validates what goes on the wire (undefined fields vanish, Dates become strings)', () => {
    const r = expectOk(validateCustomerPayload({ type: 'customer', customer_id: 'u', update_existing_only: undefined, attributes: { a: 1, b: undefined } }));
    expect(r.payload).toEqual({ type: 'customer', customer_id: 'u', attributes: { a: 1 } });
    expectRejected(validateCustomerPayload({ type: 'customer', customer_id: 'u', attributes: { at: new Date(0) } }), 'attributes.at');
  });

  it('never echoes values in messages', () => {
    const secret = 'ann.secret@example.com';
    const payloads: unknown[] = [
      { type: 'customer', customer_id: secret.repeat(30) },
      { type: 'customer', customer_id: 'u', attributes: { u_bd: secret } },
      { type: 'customer', customer_id: 'u', attributes: { u_em: [secret] } },
      { type: 'customer', customer_id: 'u', attributes: { x: { y: secret } } },
      { type: 'customer', customer_id: 'u', attributes: { x: [secret, 1] } },
      { type: 'customer', customer_id: 'u', attributes: { platforms: [{ platform: secret, active: 'true' }] } },
      { type: secret, customer_id: 'u' },
      { type: 'customer', customer_id: 'u', update_existing_only: secret },
    ];
    for (const payload of payloads) {
      const r = validateCustomerPayload(payload);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).not.toContain(secret);
    }
    const built = buildCustomerPayload({ customerId: secret.repeat(30) });
    expect(!built.ok && built.message.includes(secret)).toBe(false);
  });

  it('accepts PayloadRules and caches per-rules schemas without mixing them', () => {
    const payload = { type: 'customer', attributes: { moe_email: 'a@example.com' } };
    for (let i = 0; i < 40; i++) {
      expectOk(validateCustomerPayload(payload, { identityIdentifiers: ['moe_email', `moe_x${i}`] }));
      expectRejected(validateCustomerPayload(payload, { identityIdentifiers: [`moe_x${i}`] }), 'attributes.moe_email');
    }
    const schema = createCustomerPayloadSchema({ identityIdentifiers: ['moe_email'] });
    expect(schema.safeParse(payload).success).toBe(true);
    expect(customerPayloadSchema.safeParse(payload).success).toBe(false);
  });
});

describe('size limit', () => {
  /** A valid payload whose JSON is exactly `target` bytes. */
  function payloadOfSize(target: number): CustomerPayload {
    const attributes: Record<string, string> = {};
    const p: CustomerPayload = { type: 'customer', customer_id: 'u', attributes };
    let i = 0;
    while (target - payloadBytes(p) > 519) attributes[`a${i++}`] = 'x'.repeat(500);
    const rest = target - payloadBytes(p) - ',"z":""'.length;
    attributes.z = 'x'.repeat(rest);
    expect(payloadBytes(p)).toBe(target);
    return p;
  }

  it('validator accepts exactly 128 KB and refuses one byte more', () => {
    expectOk(validateCustomerPayload(payloadOfSize(MAX_PAYLOAD_BYTES)));
    const over = expectRejected(validateCustomerPayload(payloadOfSize(MAX_PAYLOAD_BYTES + 1)), 'payload');
    expect(over.message).toContain(String(MAX_PAYLOAD_BYTES + 1));
  });

  it('builder rejects a payload over 128 KB', () => {
    const big: Record<string, string> = {};
    for (let i = 0; i < 300; i++) big[`attr_${i}`] = 'y'.repeat(500);
    const r = expectRejected(build({ customerId: 'u', custom: big }), 'payload');
    expect(r.message).not.toContain('yyyy');
    const fits: Record<string, string> = {};
    for (let i = 0; i < 200; i++) fits[`attr_${i}`] = 'y'.repeat(500);
    const ok = expectOk(build({ customerId: 'u', custom: fits }));
    expect(payloadBytes(ok.payload)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
  });

  it('counts UTF-8 bytes', () => {
    const p: CustomerPayload = { type: 'customer', customer_id: 'é', attributes: { s: '😀' } };
    expect(payloadBytes(p)).toBe(JSON.stringify(p).length - 1 - 2 + 2 + 4);
  });
});

describe('buildCustomerPayload', () => {
  it('builds a full payload in a stable order and reports nothing dropped', () => {
    const r = expectOk(
      build(
        {
          customerId: 'user_2abc',
          standard: { u_em: 'ann@example.com', u_mb: '+15550100', u_fn: 'Ann', u_ln: 'Lee', u_n: 'Ann Lee', u_gd: 'F', u_bd: '1990-05-01', uid: 'a1' },
          identifiers: { moe_email: 'ann@example.com' },
          custom: { plan: 'pro', seats: 3, trial: false, address: { city: 'Paris' }, tags: ['a', 'b'] },
          platforms: [{ platform: 'web', active: 'true' }],
          addToArray: { badges: 'early' },
          updateExistingOnly: false,
          isCreate: true,
        },
        { identityIdentifiers: ['moe_email'] },
      ),
    );
    expect(r.dropped).toEqual<DroppedAttribute[]>([]);
    expect(r.payload).toEqual({
      type: 'customer',
      customer_id: 'user_2abc',
      update_existing_only: false,
      attributes: {
        u_em: 'ann@example.com',
        u_mb: '+15550100',
        u_fn: 'Ann',
        u_ln: 'Lee',
        u_n: 'Ann Lee',
        u_gd: 'F',
        u_bd: '1990-05-01',
        uid: 'a1',
        moe_email: 'ann@example.com',
        plan: 'pro',
        seats: 3,
        trial: false,
        address_city: 'Paris',
        tags: ['a', 'b'],
        platforms: [{ platform: 'web', active: 'true' }],
        addValueToArrayField: { badges: ['early'] },
      },
    });
    expect(Object.keys(r.payload.attributes ?? {})[0]).toBe('u_em');
    expectOk(validateCustomerPayload(r.payload, { identityIdentifiers: ['moe_email'], isCreate: true }));
  });

  it('never throws on hostile input', () => {
    const throwing = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('boom');
        },
      },
    );
    const getter = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const inputs: unknown[] = [null, undefined, 5, 'x', [], { customerId: 'u', custom: throwing }, { customerId: 'u', custom: getter }, { customerId: 'u', custom: cyclic }];
    for (const input of inputs) {
      const r = buildCustomerPayload(input as CustomerInput);
      if (!r.ok) expect(r.field.length).toBeGreaterThan(0);
    }
    const c = buildCustomerPayload({ customerId: 'u', custom: cyclic });
    expect(expectOk(c).dropped).toEqual([{ name: 'self_self_self_self_self', reason: 'too_deep' }]);
  });

  it('rejects non-object standard / identifiers / array-op inputs', () => {
    expectRejected(build({ customerId: 'u', standard: 'x' as unknown as CustomerInput['standard'] }), 'attributes');
    expectRejected(build({ customerId: 'u', identifiers: 5 as unknown as Record<string, unknown> }), 'attributes');
    expectRejected(build({ customerId: 'u', addToArray: ['a'] as unknown as Record<string, unknown> }), 'attributes.addValueToArrayField');
    expectRejected(build({ customerId: 'u', removeFromArray: 'a' as unknown as Record<string, unknown> }), 'attributes.removeValueFromArrayField');
  });
});
