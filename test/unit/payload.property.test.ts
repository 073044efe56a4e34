import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_STRING_LENGTH,
  RESERVED_ATTRIBUTE_KEYS,
  isCanonicalDateTime,
  normalizeDateTime,
  truncateChars,
} from '../../functions/core/moengage/attributes';
import { buildCustomerPayload, jsonBytesAtMost, payloadBytes } from '../../functions/core/moengage/payload-builder';
import { MAX_PAYLOAD_BYTES } from '../../functions/core/moengage/limits';
import { validateCustomerPayload } from '../../functions/core/moengage/payload-validator';
import type { CustomerInput, PayloadRules } from '../../functions/core/moengage/types';

const RUNS = { numRuns: 300, seed: 20240501 } as const;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const IDENTIFIERS = ['moe_email', 'moe_mobile'] as const;

/** Attribute names that exercise every naming rule, plus arbitrary ones. */
const key = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'id',
      '_id',
      'ID',
      '',
      ' ',
      'moe_email',
      'moe_mobile',
      'MOE_EMAIL',
      'moe_other',
      'u_em',
      'u_mb',
      'u_fn',
      'u_bd',
      'uid',
      'u_l_a',
      'cr_t',
      'publisher_name',
      'platforms',
      'addValueToArrayField',
      'removeValueFromArrayField',
      'user',
      'tags',
      ...RESERVED_ATTRIBUTE_KEYS,
    ),
  },
);

const dateTimeString = fc
  .tuple(
    fc.date({ min: new Date(Date.UTC(1, 0, 1)), max: new Date(Date.UTC(9998, 11, 31)), noInvalidDate: true }),
    fc.integer({ min: -14 * 60, max: 14 * 60 }),
    fc.constantFrom('Z', 'offset', 'none', 'dateonly', 'space'),
  )
  .map(([d, offset, style]) => formatWithOffset(d, offset, style));

const longString = fc.string({ minLength: 500, maxLength: 700, unit: 'binary' });

const primitiveish = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ maxLength: 20, unit: 'binary' }),
  longString,
  dateTimeString,
  fc.constantFrom('2024-13-01', '2024-05-01T25:00', '2024-02-30', 'null', 'unknown', ''),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.date(),
  fc.constant(null),
  fc.constant(undefined),
);

const valueish = fc.oneof(
  { weight: 4, arbitrary: primitiveish },
  { weight: 2, arbitrary: fc.array(primitiveish, { maxLength: 60 }) },
  { weight: 1, arbitrary: fc.array(fc.integer(), { minLength: 45, maxLength: 60 }) },
  {
    weight: 1,
    arbitrary: fc.anything({
      key,
      maxDepth: 7,
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withTypedArray: true,
      withSparseArray: true,
      withBoxedValues: true,
    }),
  },
);

const nested = fc.letrec((tie) => ({
  obj: fc.dictionary(key, fc.oneof({ depthSize: 'small' }, valueish, tie('obj')), { maxKeys: 6 }),
})).obj;

const customerId = fc.oneof(
  { weight: 4, arbitrary: fc.string({ minLength: 3, maxLength: 20 }) },
  fc.string({ maxLength: 20 }),
  fc.constantFrom('unknown', ' Guest ', 'NULL', '0', 'n/a', '', '   ', 'user_1', 'x'.repeat(513)),
  fc.integer(),
  fc.double(),
  fc.constant(undefined),
  fc.constant(null),
);

const platformEntry = fc.record({
  platform: fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom('ANDROID', 'android', 'iOS', 'IOS', 'web', 'Web') },
    { weight: 1, arbitrary: fc.constant('windows') },
  ),
  active: fc.oneof(
    { weight: 9, arbitrary: fc.oneof(fc.boolean(), fc.constantFrom('true', 'false', 'TRUE')) },
    { weight: 1, arbitrary: fc.constant('yes') },
  ),
});

const input = fc.record(
  {
    customerId,
    standard: fc.dictionary(fc.constantFrom('u_em', 'u_mb', 'u_fn', 'u_ln', 'u_n', 'u_gd', 'u_bd', 'uid', 'u_l_a', 'cr_t', 'other'), valueish, {
      maxKeys: 6,
    }),
    custom: nested,
    identifiers: fc.dictionary(fc.constantFrom('moe_email', 'moe_mobile', 'moe_other', 'email'), primitiveish, { maxKeys: 3 }),
    updateExistingOnly: fc.oneof(fc.boolean(), fc.constantFrom('true', 'false', 'TRUE', 'yes')),
    platforms: fc.array(platformEntry, { maxLength: 3 }),
    addToArray: fc.dictionary(key, valueish, { maxKeys: 4 }),
    removeFromArray: fc.dictionary(key, valueish, { maxKeys: 4 }),
    isCreate: fc.boolean(),
  },
  { requiredKeys: [] },
);

const rules = fc.option(fc.record({ identityIdentifiers: fc.subarray([...IDENTIFIERS]) }), { nil: undefined });

describe('buildCustomerPayload (properties)', () => {
  it('never throws; ok payloads pass the validator, rejections name a field', () => {
    fc.assert(
      fc.property(input, rules, (raw, r) => {
        const result = buildCustomerPayload(raw as CustomerInput, r as PayloadRules | undefined);
        if (result.ok) {
          const checked = validateCustomerPayload(result.payload, { ...r, isCreate: raw.isCreate === true });
          expect(checked.ok, checked.ok ? '' : `${checked.field}: ${checked.message}`).toBe(true);
          expect(payloadBytes(result.payload)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
          expect(JSON.parse(JSON.stringify(result.payload))).toEqual(result.payload);
          for (const d of result.dropped) expect(d.name).toEqual(expect.any(String));
        } else {
          expect(typeof result.field).toBe('string');
          expect(result.field.length).toBeGreaterThan(0);
          expect(result.message.length).toBeGreaterThan(0);
          // Only the input itself may be refused: never an attribute the builder normalized
          // (that would be the builder producing what its own validator refuses).
          expect(isInputRejection(result.field, result.message), `${result.field}: ${result.message}`).toBe(true);
        }
      }),
      RUNS,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never puts a refused name into the payload', () => {
    fc.assert(
      fc.property(fc.dictionary(key, primitiveish, { maxKeys: 8 }), (custom) => {
        const result = buildCustomerPayload({ customerId: 'user_1', custom });
        if (!result.ok) return;
        for (const name of Object.keys(result.payload.attributes ?? {})) {
          const folded = name.trim().toLowerCase();
          expect(['', 'id', '_id', '__proto__', 'constructor', 'prototype']).not.toContain(folded);
          expect(folded.startsWith('moe_')).toBe(false);
          expect(RESERVED_ATTRIBUTE_KEYS.map((k) => k.toLowerCase())).not.toContain(folded);
        }
      }),
      RUNS,
    );
  });

  it('never echoes a value in a rejection message', () => {
    const marker = 'PIIMARKER';
    const marked = fc.string({ maxLength: 10 }).map((s) => `${marker}${s}`);
    fc.assert(
      fc.property(
        fc.record({
          customerId: fc.oneof(marked, marked.map((s) => s.repeat(60))),
          standard: fc.record({ u_em: marked, u_bd: marked }),
          custom: fc.dictionary(fc.constantFrom('a', 'b', 'moe_x', 'source'), fc.oneof(marked, fc.array(marked))),
          updateExistingOnly: marked,
        }),
        (raw) => {
          const result = buildCustomerPayload(raw as unknown as CustomerInput);
          if (!result.ok) expect(result.message).not.toContain(marker);
        },
      ),
      RUNS,
    );
  });
});

describe('validateCustomerPayload (properties)', () => {
  it('never throws on anything, and names a field when refusing', () => {
    fc.assert(
      fc.property(fc.anything({ key, withBigInt: true, withDate: true, withNullPrototype: true, withSparseArray: true }), (value) => {
        const result = validateCustomerPayload(value);
        if (!result.ok) expect(result.field.length).toBeGreaterThan(0);
      }),
      RUNS,
    );
  });

  it('never throws on payload-shaped input', () => {
    const payloadish = fc.record(
      {
        type: fc.constantFrom('customer', 'Customer', 1),
        customer_id: customerId,
        update_existing_only: fc.oneof(fc.boolean(), fc.constantFrom('true', 'false', 'TRUE')),
        attributes: fc.dictionary(key, fc.oneof(valueish, fc.array(platformEntry)), { maxKeys: 8 }),
      },
      { requiredKeys: ['type'] },
    );
    fc.assert(
      fc.property(payloadish, rules, (value, r) => {
        const result = validateCustomerPayload(value, r as PayloadRules | undefined);
        if (!result.ok) expect(result.field.length).toBeGreaterThan(0);
        else expect(Buffer.byteLength(JSON.stringify(value))).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
      }),
      RUNS,
    );
  });
});

describe('helpers (properties)', () => {
  it('normalizeDateTime of a Date is canonical, UTC, cut to the second; undefined outside years 0000-9999', () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), (d) => {
        const s = normalizeDateTime(d);
        const year = d.getUTCFullYear();
        if (year < 0 || year > 9999) {
          expect(s).toBeUndefined();
          return;
        }
        expect(s).toBeDefined();
        expect(isCanonicalDateTime(s ?? '')).toBe(true);
        expect(normalizeDateTime(s)).toBe(s);
        expect(new Date(`${s?.slice(0, 19) ?? ''}.000Z`).getTime()).toBe(Math.floor(d.getTime() / 1000) * 1000);
      }),
      RUNS,
    );
  });

  it('normalizeDateTime of an ISO string with any offset gives the same instant', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date(Date.UTC(1000, 0, 2)), max: new Date(Date.UTC(9998, 11, 30)), noInvalidDate: true }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        (d, offset) => {
          const s = normalizeDateTime(formatWithOffset(d, offset, 'offset'));
          expect(s).toBeDefined();
          expect(isCanonicalDateTime(s ?? '')).toBe(true);
          expect(Date.parse(s ?? '')).toBe(Math.floor(d.getTime() / 1000) * 1000);
        },
      ),
      RUNS,
    );
  });

  it('truncateChars keeps a prefix of at most 512 code points and never splits a pair', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 1200, unit: fc.constantFrom('a', 'é', '😀', '𝄞', '中') }), (s) => {
        const cut = truncateChars(s);
        expect(s.startsWith(cut)).toBe(true);
        expect([...cut].length).toBe(Math.min([...s].length, MAX_STRING_LENGTH));
        expect(LONE_SURROGATE.test(cut)).toBe(false);
      }),
      RUNS,
    );
  });
});

/** The rejections that come from the input (no identity, malformed options), not from normalized attributes. */
function isInputRejection(field: string, message: string): boolean {
  if (field === 'customer_id' || field === 'update_existing_only') return true;
  if (field === 'payload') return /bytes/.test(message);
  if (field.startsWith('attributes.platforms')) return true;
  if (/^attributes\.(add|remove)Value(To|From)ArrayField\./.test(field)) return /cannot add and remove|platforms cannot/.test(message);
  return false;
}

/** `d` written in local time at `offsetMinutes` from UTC, in one of several ISO 8601 styles. */
function formatWithOffset(d: Date, offsetMinutes: number, style: string): string {
  const local = new Date(d.getTime() + offsetMinutes * 60_000);
  const iso = local.toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ (four-digit years in range)
  const base = iso.slice(0, 23);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const tz = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  switch (style) {
    case 'Z':
      return d.toISOString();
    case 'none':
      return d.toISOString().slice(0, 19);
    case 'dateonly':
      return d.toISOString().slice(0, 10);
    case 'space':
      return d.toISOString().slice(0, 16).replace('T', ' ');
    default:
      return `${base}${tz}`;
  }
}

describe('jsonBytesAtMost', () => {
  it('is never below the UTF-8 bytes of the JSON (any string, lone surrogates and control characters included)', () => {
    const text = fc.string({ unit: 'binary' });
    const leaf = fc.oneof(text, fc.double(), fc.integer(), fc.boolean(), fc.constant(null));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node')), fc.dictionary(text, tie('node'))),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect(jsonBytesAtMost(v)).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(v), 'utf8'));
      }),
      { numRuns: 1000, seed: 20261207 },
    );
  });
});
