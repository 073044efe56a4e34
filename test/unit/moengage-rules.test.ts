/**
 * The emulator's acceptance rules (local/moengage-rules.ts), written from MoEngage's documents,
 * against the adapter's own validator (functions/core/moengage/payload.ts): a differential test.
 *
 * 1. Independence: the rules and the emulator import nothing from functions/, directly or
 *    through another local module.
 * 2. The documented rules, one example each.
 * 3. Differential: generated Track User payloads, valid and invalid in the documented ways, are
 *    judged by both. Every disagreement must be one of DIFFERENCES: a known, deliberate difference
 *    with its reason (the adapter is stricter on purpose). A disagreement outside the table fails
 *    the test and prints the payload: either the adapter has a wrong rule (fix it, with a unit
 *    test) or the table lacks a decision.
 * 4. What the adapter builds, the documented rules accept, with nothing left for MoEngage to cut.
 * 5. Answers: the adapter's response classification agrees with the documented outcome.
 *
 * `RULES_STATS=1 npx vitest run test/unit/moengage-rules.test.ts` prints the differential run's
 * figures (payloads both accept, both refuse, and how often each known difference occurred).
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyResponse } from '../../functions/core/moengage/classify';
import { buildCustomerPayload } from '../../functions/core/moengage/payload-builder';
import { validateCustomerPayload } from '../../functions/core/moengage/payload-validator';
import type { CustomerInput } from '../../functions/core/moengage/types';
import {
  BLOCKED_CUSTOMER_IDS,
  isAcceptedAnswer,
  isDocumentedDateTime,
  judgeCustomer,
  RESERVED_ATTRIBUTE_NAMES,
  TRACK_USER_MAX_BODY_BYTES,
  type CustomerVerdict,
} from '../../local/moengage-rules';

const ROOT = resolve(import.meta.dirname, '../..');
const IDENTIFIERS = ['moe_email'];

// ---------------------------------------------------------------------------------------------
// 1. Independence
// ---------------------------------------------------------------------------------------------

/** Every module `file` imports (static, dynamic and type imports), resolved; bare specifiers as they are. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm)].map(
    (m) => (m[1] ?? m[2] ?? m[3]) as string,
  );
  return specs.map((s) => (s.startsWith('.') ? resolve(dirname(file), s.endsWith('.ts') ? s : `${s}.ts`) : s));
}

/** The local files reachable from `entry` through relative imports. */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const dep of importsOf(file)) if (dep.startsWith('/')) todo.push(dep);
  }
  return seen;
}

describe('independence', () => {
  it.each(['local/moengage-rules.ts', 'local/moengage-emulator.ts'])('%s reaches no adapter code (nothing under functions/)', (entry) => {
    const files = [...reachable(resolve(ROOT, entry))].map((f) => relative(ROOT, f));
    expect(files).toContain(entry);
    expect(files.filter((f) => f.startsWith('functions/'))).toEqual([]);
  });

  it('local/moengage-rules.ts imports nothing at all', () => {
    expect(importsOf(resolve(ROOT, 'local/moengage-rules.ts'))).toEqual([]);
  });

  it('the import scan sees imports (it finds the emulator importing the rules)', () => {
    expect(importsOf(resolve(ROOT, 'local/moengage-emulator.ts'))).toContain(resolve(ROOT, 'local/moengage-rules.ts'));
  });
});

// ---------------------------------------------------------------------------------------------
// 2. The documented rules
// ---------------------------------------------------------------------------------------------

const ok = (attributes: Record<string, unknown>, extra: Record<string, unknown> = {}) => judgeCustomer({ type: 'customer', customer_id: 'u1', attributes, ...extra }, { identityIdentifiers: IDENTIFIERS });

function refused(verdict: CustomerVerdict): { type: string; attribute: string; message: string } {
  if (verdict.ok) throw new Error('expected a refusal');
  return verdict.error;
}

describe('the documented rules', () => {
  it('customer_id: the documented bodies for missing and empty; blocked values refused in any case; an identifier stands in for it', () => {
    expect(refused(judgeCustomer({ type: 'customer', attributes: {} }))).toEqual({
      type: 'MissingAttributeError',
      attribute: 'customer_id',
      message: 'customer_id is not found in the payload',
    });
    expect(refused(judgeCustomer({ type: 'customer', customer_id: ' ' }))).toEqual({
      type: 'MissingAttributeError',
      attribute: 'customer_id',
      message: 'customer_id can not be empty Unicode String',
    });
    for (const id of BLOCKED_CUSTOMER_IDS) {
      expect(refused(judgeCustomer({ type: 'customer', customer_id: ` ${id.toUpperCase()} ` })).attribute).toBe('customer_id');
    }
    expect(refused(judgeCustomer({ type: 'customer', customer_id: 42 })).message).toBe('customer_id can not be empty Unicode String');
    expect(judgeCustomer({ type: 'customer', customer_id: 'guest_42' }).ok).toBe(true);
    expect(judgeCustomer({ type: 'customer', attributes: { moe_email: 'a@example.com' } }, { identityIdentifiers: IDENTIFIERS }).ok).toBe(true);
    expect(judgeCustomer({ type: 'customer', attributes: { moe_email: 'a@example.com' } }).ok).toBe(false);
  });

  it('type is case-sensitive; the body holds only the documented fields (platforms among them)', () => {
    expect(refused(judgeCustomer({ type: 'Customer', customer_id: 'u1' })).attribute).toBe('type');
    expect(refused(judgeCustomer({ type: 'customer', customer_id: 'u1', surprise: 1 })).attribute).toBe('surprise');
    expect(judgeCustomer({ type: 'customer', customer_id: 'u1', platforms: [{ platform: 'iOS', active: 'true' }] })).toMatchObject({
      ok: true,
      stored: { platforms: [{ platform: 'iOS', active: 'true' }] },
    });
  });

  it('attribute names: id, _id, empty, the reserved keywords (exact spellings) and moe_ (identifiers aside) are refused', () => {
    for (const name of ['id', '_id', '', ...RESERVED_ATTRIBUTE_NAMES, 'moe_plan']) {
      expect(refused(ok({ [name]: 'v' }))).toMatchObject({ type: 'InvalidAttributeError', attribute: `attributes.${name}` });
    }
    expect(ok({ moe_email: 'a@example.com' }).ok).toBe(true);
  });

  it('values: strings cut at 512 characters (code points), datetimes in the two documented forms, arrays of at most 50 values of one type', () => {
    const long = `${'é'.repeat(511)}😀😀`;
    const v = ok({ note: long, tags: ['a', long] });
    expect(v).toMatchObject({ ok: true, cut: ['attributes.note', 'attributes.tags'] });
    if (!v.ok) return;
    expect(Array.from(v.stored.note as string)).toHaveLength(512);
    expect(v.stored.note).toBe(`${'é'.repeat(511)}😀`);

    expect(ok({ u_bd: '2019-05-21T03:47:35Z' }).ok).toBe(true);
    expect(ok({ u_bd: '2024-02-29' }).ok).toBe(true);
    for (const bad of ['2023-02-29', '2019-05-21T03:47:35.000Z', '2019-05-21T03:47:35+02:00', '2019-05-21 03:47:35', 'yesterday', 1_700_000_000_000]) {
      expect(refused(ok({ u_bd: bad })).attribute).toBe('attributes.u_bd');
    }
    expect(isDocumentedDateTime('2020-05-31T03:47:35Z')).toBe(true);
    expect(isDocumentedDateTime('2020-05-31T24:00:00Z')).toBe(false);

    expect(ok({ tags: Array.from({ length: 50 }, (_, i) => i) }).ok).toBe(true);
    expect(refused(ok({ tags: Array.from({ length: 51 }, (_, i) => i) })).attribute).toBe('attributes.tags');
    expect(refused(ok({ tags: ['a', 1] })).attribute).toBe('attributes.tags');
    expect(refused(ok({ address: { city: 'Paris' } })).attribute).toBe('attributes.address');
  });

  it('standard attributes by their documented types; create-only ones are accepted (the emulator applies them on create only)', () => {
    expect(refused(ok({ u_fn: 5 })).attribute).toBe('attributes.u_fn');
    expect(ok({ u_l_a: 1767092989259, cr_t: 1767092989259, publisher_name: 'p' }).ok).toBe(true);
    expect(refused(ok({ cr_t: '2024-05-01' })).attribute).toBe('attributes.cr_t');
  });

  it('array operations: the documented ArrayFieldError for adding and removing one attribute', () => {
    expect(ok({ addValueToArrayField: { tags: ['a'] }, removeValueFromArrayField: {} }).ok).toBe(true);
    expect(refused(ok({ addValueToArrayField: { first_name: ['a'] }, removeValueFromArrayField: { first_name: ['b'] } }))).toEqual({
      type: 'ArrayFieldError',
      attribute: 'addValueToArrayField',
      message: "Cannot add and remove 'first_name' at the same time",
    });
    expect(refused(ok({ removeValueFromArrayField: { tags: 'a' } }))).toMatchObject({ type: 'ArrayFieldError', attribute: 'attributes.removeValueFromArrayField.tags' });
    expect(refused(ok({ addValueToArrayField: { platforms: ['web'] } })).type).toBe('ArrayFieldError');
  });

  it('answers: 200 is success unless its body says "status": "fail"', () => {
    expect(isAcceptedAnswer(200, { status: 'success' })).toBe(true);
    expect(isAcceptedAnswer(200, { status: 'fail', error: { type: 'InvalidAttributeError', message: 'x' } })).toBe(false);
    expect(isAcceptedAnswer(400, { status: 'fail' })).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Differential: the adapter's validator against the documented rules
// ---------------------------------------------------------------------------------------------

type Payload = Record<string, unknown>;

/** The value at a dotted path of the adapter's `field` (e.g. `attributes.tags.3`). */
function at(payload: Payload, field: string): unknown {
  let cur: unknown = payload;
  for (const part of field.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** The name (last segment) of an attribute path `attributes.x` or `attributes.<op>.x`, if it is one. */
function attributeName(field: string): string | undefined {
  const parts = field.split('.');
  if (parts[0] !== 'attributes') return undefined;
  if (parts.length === 2) return parts[1];
  if (parts.length === 3 && (parts[1] === 'addValueToArrayField' || parts[1] === 'removeValueFromArrayField')) return parts[2];
  return undefined;
}

function withoutKey(payload: Payload, field: string): Payload {
  const copy = structuredClone(payload);
  const parts = field.split('.');
  const name = parts.pop() as string;
  const parent = parts.length > 0 ? at(copy, parts.join('.')) : copy;
  if (typeof parent === 'object' && parent !== null) delete (parent as Record<string, unknown>)[name];
  return copy;
}

function replaced(payload: Payload, field: string, value: unknown): Payload {
  const copy = structuredClone(payload);
  const parts = field.split('.');
  const name = parts.pop() as string;
  const parent = (parts.length > 0 ? at(copy, parts.join('.')) : copy) as Record<string, unknown>;
  parent[name] = value;
  return copy;
}

const codePoints = (s: string): number => Array.from(s).length;
const DATE_START = /^\d{4}-\d{2}-\d{2}/;
const UNSAFE = new Set(['__proto__', 'constructor', 'prototype']);
const EXACT_NAME_RULES = (name: string): boolean =>
  ['', 'id', '_id'].includes(name) || RESERVED_ATTRIBUTE_NAMES.has(name) || name.startsWith('moe_');

interface Difference {
  id: string;
  /** Where MoEngage's documents stand. */
  doc: string;
  /** Why the adapter differs on purpose. */
  reason: string;
  /** Whether the adapter's refusal (its `field`) is this difference. */
  explains: (payload: Payload, field: string) => boolean;
  /** The payload without this defect, to judge again (a second defect must be explained too). */
  repair: (payload: Payload, field: string) => Payload;
  /** A payload the adapter refuses and the documented rules accept. */
  example: Payload;
}

/**
 * Every place where the adapter's validator and MoEngage's documented rules disagree, decided.
 * In each the adapter is stricter on purpose; the emulator follows the documents.
 */
const DIFFERENCES: readonly Difference[] = [
  {
    id: 'string over 512 characters',
    doc: 'values cut at 512 characters ("Store the first 512 characters only"): MoEngage accepts and cuts',
    reason:
      'the builder cuts every value itself (email and phone numbers are dropped, not cut: a cut address is another identity), so an uncut value in a built payload is a builder regression; the validator checks built payloads',
    explains: (p, f) => f !== 'customer_id' && typeof at(p, f) === 'string' && codePoints(at(p, f) as string) > 512,
    repair: (p, f) => replaced(p, f, Array.from(at(p, f) as string).slice(0, 512).join('')),
    example: { type: 'customer', customer_id: 'u1', attributes: { note: 'x'.repeat(513) } },
  },
  {
    id: 'customer_id over 512 characters',
    doc: 'no documented length for customer_id',
    reason: 'MoEngage keeps at most 512 characters of a value; a customer_id cut to 512 would be another user, so the adapter refuses it whole',
    explains: (p, f) => f === 'customer_id' && typeof p.customer_id === 'string' && codePoints(p.customer_id) > 512,
    repair: (p) => ({ ...p, customer_id: 'user_repaired' }),
    example: { type: 'customer', customer_id: 'u'.repeat(513) },
  },
  {
    id: 'date-like string not in a documented datetime form',
    doc: 'datetimes are YYYY-MM-DDTHH:mm:ssZ or YYYY-MM-DD; any other string is a string',
    reason:
      'a date MoEngage does not read as a date is kept as text, useless in date segments; the builder normalizes every date-like string to a documented form, so one left in another form is a builder regression',
    explains: (p, f) => {
      const v = at(p, f);
      return typeof v === 'string' && DATE_START.test(v) && !isDocumentedDateTime(v);
    },
    repair: (p, f) => replaced(p, f, 'text'),
    example: { type: 'customer', customer_id: 'u1', attributes: { expiry_date: '2020-05-31T03:47:35.120Z' } },
  },
  {
    id: 'attribute name refused in another case or with spaces',
    doc: 'the reserved keywords, "moe_", "id", "_id" and empty names are written in one spelling',
    reason: 'the adapter keeps clear of them in any case and with surrounding spaces (`USER_ID`, `Source`, `MOE_x`, `ID`, " "), which MoEngage may fold',
    explains: (_p, f) => {
      const name = attributeName(f);
      if (name === undefined || EXACT_NAME_RULES(name) || UNSAFE.has(name)) return false;
      const folded = name.trim().toLowerCase();
      return EXACT_NAME_RULES(folded) || [...RESERVED_ATTRIBUTE_NAMES].some((r) => r.toLowerCase() === folded);
    },
    repair: withoutKey,
    example: { type: 'customer', customer_id: 'u1', attributes: { Source: 'ads' } },
  },
  {
    id: '__proto__, constructor, prototype as attribute names',
    doc: 'not named by MoEngage',
    reason: 'the adapter never lets a key reach an object\'s prototype machinery (prototype pollution)',
    explains: (_p, f) => UNSAFE.has(attributeName(f) ?? ''),
    repair: withoutKey,
    example: JSON.parse('{"type":"customer","customer_id":"u1","attributes":{"__proto__":"x"}}') as Payload,
  },
  {
    id: 'customer_id "undefined"',
    doc: 'not among the blocked values',
    reason: 'a JavaScript `String(undefined)`: the adapter refuses it as the placeholder it is',
    explains: (p, f) => f === 'customer_id' && typeof p.customer_id === 'string' && p.customer_id.trim().toLowerCase() === 'undefined',
    repair: (p) => ({ ...p, customer_id: 'user_repaired' }),
    example: { type: 'customer', customer_id: 'undefined' },
  },
  {
    id: 'customer_id null beside an identity-resolution identifier',
    doc: 'customer_id is "Not mandatory in Identity resolution enabled workspaces"; null reads as absent',
    reason: 'the adapter leaves customer_id out rather than sending null, and refuses a payload that carries one',
    explains: (p, f) => f === 'customer_id' && p.customer_id === null,
    repair: (p) => withoutKey(p, 'customer_id'),
    example: { type: 'customer', customer_id: null, attributes: { moe_email: 'a@example.com' } },
  },
  {
    id: 'platforms at the top level',
    doc: 'the Request Body Fields table lists platforms as a body field (every example puts it inside attributes)',
    reason: 'the adapter always writes platforms inside attributes, as every example does, and refuses the other place so that one shape is sent',
    explains: (_p, f) => f === 'platforms',
    repair: (p) => withoutKey(p, 'platforms'),
    example: { type: 'customer', customer_id: 'u1', platforms: [{ platform: 'web', active: 'true' }] },
  },
];

type Judgement = { ok: true } | { ok: false; field: string };

function adapterJudges(payload: Payload): Judgement {
  const r = validateCustomerPayload(payload, { identityIdentifiers: IDENTIFIERS });
  return r.ok ? { ok: true } : { ok: false, field: r.field };
}

/** The emulator: the 413 size check of the HTTP layer, then the documented rules. */
function emulatorJudges(payload: Payload): Judgement {
  if (Buffer.byteLength(JSON.stringify(payload)) > TRACK_USER_MAX_BODY_BYTES) return { ok: false, field: 'payload' };
  const v = judgeCustomer(payload, { identityIdentifiers: IDENTIFIERS });
  return v.ok ? { ok: true } : { ok: false, field: v.error.attribute };
}

type Outcome = { kind: 'agree'; both: boolean; explainedBy: string[] } | { kind: 'unexplained'; adapter: Judgement; emulator: Judgement; payload: Payload };

/** Compares both judges; explains a disagreement through DIFFERENCES, repairing and judging again. */
function compare(payload: Payload): Outcome {
  const explainedBy: string[] = [];
  let current = payload;
  for (let step = 0; step < 20; step++) {
    const adapter = adapterJudges(current);
    const emulator = emulatorJudges(current);
    if (adapter.ok === emulator.ok) return { kind: 'agree', both: adapter.ok, explainedBy };
    const difference = !adapter.ok && emulator.ok ? DIFFERENCES.find((d) => d.explains(current, adapter.field)) : undefined;
    if (!difference || adapter.ok) return { kind: 'unexplained', adapter, emulator, payload: current };
    explainedBy.push(difference.id);
    current = difference.repair(current, adapter.field);
  }
  return { kind: 'unexplained', adapter: adapterJudges(current), emulator: emulatorJudges(current), payload: current };
}

// Payloads, valid and invalid in the documented ways.
const longText = fc.string({ minLength: 505, maxLength: 530, unit: 'grapheme' });
const dateLike = fc.constantFrom(
  '2020-05-31T03:47:35Z',
  '2024-02-29',
  '2020-05-31T03:47:35.120Z',
  '2020-05-31T03:47:35+05:30',
  '2020-05-31 03:47',
  '2023-02-29',
  '2020-13-01',
  '2020-05-31T03:47:35Z trailing',
);
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('John', 'browsers', 'a@example.com', '+15555550100'));
const primitive = fc.oneof(text, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean());
const array = fc.oneof(
  fc.array(text, { maxLength: 4 }),
  fc.array(fc.integer(), { maxLength: 4 }),
  fc.array(fc.boolean(), { maxLength: 3 }),
  fc.array(primitive, { maxLength: 4 }), // often mixed
  fc.array(fc.integer(), { minLength: 49, maxLength: 52 }),
  fc.array(fc.oneof(text, longText), { minLength: 1, maxLength: 3 }),
  fc.array(dateLike, { minLength: 1, maxLength: 2 }),
  fc.constant([null]),
  fc.constant([{ a: 1 }]),
);
const customValue = fc.oneof(
  { weight: 4, arbitrary: primitive },
  { weight: 2, arbitrary: array },
  { weight: 1, arbitrary: longText },
  { weight: 2, arbitrary: dateLike },
  { weight: 1, arbitrary: fc.constantFrom(null, { city: 'Paris' }, {}) },
);
const customName = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('plan', 'points', 'super_user', 'user_persona', 'expiry_date', 'tags', 'address_city', 'name', 'first_name') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('id', '_id', '', ' ', 'ID', 'Id', ' id', 'user_id', 'USER_ID', 'source', 'Source', 'statusUPDATE', 'statusupdate', 'MOE_GAID', 'moe_gaid'),
  },
  { weight: 1, arbitrary: fc.constantFrom('moe_plan', 'MOE_plan', 'Moe_plan', 'moe_email', '__proto__', 'constructor', 'prototype') },
);
const epoch = fc.oneof(fc.integer({ min: 0, max: 2_000_000_000_000 }), fc.constantFrom(1.5, '1767092989259', '2024-05-01'));
const standard = fc.oneof(
  fc.record({ u_em: fc.oneof(text, longText, fc.integer()) }),
  fc.record({ u_fn: fc.oneof(text, longText, fc.integer(), fc.constant(null)) }),
  fc.record({ u_mb: fc.oneof(text, fc.integer()) }),
  fc.record({ u_bd: fc.oneof(dateLike, fc.integer({ min: 0, max: 2_000_000_000_000 })) }),
  fc.record({ uid: text }),
  fc.record({ u_l_a: epoch }),
  fc.record({ cr_t: epoch }),
  fc.record({ publisher_name: fc.oneof(text, fc.integer()) }),
  fc.record({ moe_email: fc.oneof(text, dateLike, fc.integer(), longText) }),
);
const platform = fc.record({
  platform: fc.constantFrom('ANDROID', 'iOS', 'web', 'android', 'IOS', 'windows'),
  active: fc.constantFrom('true', 'false', true, 'yes'),
});
const platforms = fc.oneof(fc.array(platform, { maxLength: 2 }), fc.constant('web'), fc.constant([{ platform: 'web', active: 'true', extra: 1 }]));
const arrayOp = fc.dictionary(fc.oneof(customName, fc.constantFrom('u_fn', 'platforms', 'cr_t')), fc.oneof({ weight: 5, arbitrary: array }, { weight: 1, arbitrary: primitive }), {
  maxKeys: 2,
});
const attributes = fc
  .tuple(
    fc.array(fc.tuple(customName, customValue), { maxLength: 4 }),
    fc.array(standard, { maxLength: 2 }),
    fc.option(platforms, { nil: undefined }),
    fc.option(arrayOp, { nil: undefined }),
    fc.option(arrayOp, { nil: undefined }),
  )
  .map(([custom, std, plats, add, remove]) => {
    const out = Object.fromEntries(custom) as Record<string, unknown>;
    for (const s of std) Object.assign(out, s);
    if (plats !== undefined) out.platforms = plats;
    if (add !== undefined) out.addValueToArrayField = add;
    if (remove !== undefined) out.removeValueFromArrayField = remove;
    return out;
  });
const customerId = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('john@example.com', '123', 'user_42', ' user_7 ', 'guest_42') },
  { weight: 2, arbitrary: fc.constantFrom(...BLOCKED_CUSTOMER_IDS, 'Unknown', ' GUEST ', 'N/A', 'undefined', 'Undefined', '2', 'dummy_seller_code') },
  { weight: 1, arbitrary: fc.constantFrom('', '  ', null, 42, true) },
  { weight: 1, arbitrary: fc.string({ minLength: 510, maxLength: 520 }).filter((s) => s.trim() !== '') },
);
// Payloads without a documented defect (both judges should accept them, bar the known differences).
const cleanName = fc.constantFrom('plan', 'points', 'super_user', 'user_persona', 'expiry_date', 'tags', 'address_city', 'name', 'first_name');
const cleanArray = fc.oneof(fc.array(text, { maxLength: 4 }), fc.array(fc.integer(), { maxLength: 50 }), fc.array(fc.boolean(), { maxLength: 3 }));
const cleanValue = fc.oneof(primitive, cleanArray, fc.constantFrom('2020-05-31T03:47:35Z', '2024-02-29'));
const cleanOp = fc.dictionary(cleanName, cleanArray, { maxKeys: 2 });
const cleanAttributes = fc
  .tuple(
    fc.dictionary(cleanName, cleanValue, { maxKeys: 4 }),
    fc.record(
      {
        u_em: fc.constantFrom('john@example.com'),
        u_fn: text,
        u_bd: fc.constantFrom('2019-05-21T03:47:35Z', '1990-01-31'),
        u_l_a: fc.integer({ min: 0, max: 2_000_000_000_000 }),
        moe_email: fc.constantFrom('a@example.com'),
        platforms: fc.array(fc.record({ platform: fc.constantFrom('ANDROID', 'iOS', 'web'), active: fc.constantFrom('true', 'false') }), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    ),
    fc.option(cleanOp, { nil: undefined }),
  )
  .map(([custom, standardOnes, add]) => ({ ...custom, ...standardOnes, ...(add ? { addValueToArrayField: add } : {}) }));
const cleanPayload: fc.Arbitrary<Payload> = fc
  .record(
    {
      type: fc.constant('customer'),
      customer_id: fc.constantFrom('john@example.com', '123', 'user_42', ' user_7 ', 'guest_42'),
      update_existing_only: fc.constantFrom(true, false, 'true', 'false'),
      attributes: cleanAttributes,
    },
    { requiredKeys: ['type', 'customer_id'] },
  )
  .map((p) => JSON.parse(JSON.stringify(p)) as Payload);

/** `arb` one time in `every`, else absent. */
const rarely = <T,>(arb: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: every - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
const payloadArb: fc.Arbitrary<Payload> = fc
  .record({
    type: fc.oneof({ weight: 30, arbitrary: fc.constant('customer') }, { weight: 1, arbitrary: fc.constantFrom('Customer', 'event', undefined) }),
    customer_id: fc.oneof({ weight: 8, arbitrary: customerId }, { weight: 1, arbitrary: fc.constant(undefined) }),
    update_existing_only: rarely(fc.constantFrom(true, false, 'true', 'false', 'yes', 1), 4),
    attributes: fc.oneof({ weight: 30, arbitrary: attributes }, { weight: 1, arbitrary: fc.constantFrom([], 'x', null, undefined) }),
    platforms: rarely(platforms, 10),
    surprise: rarely(fc.constant(1), 30),
  })
  // The wire form: absent keys and undefined values gone, as MoEngage receives it.
  .map((p) => JSON.parse(JSON.stringify(p)) as Payload);

/** A clean payload with one documented defect (or one of the known differences) put in. */
type Mutation = (p: Payload) => Payload;
const withAttribute = (name: string, value: unknown): Mutation => (p) => ({ ...p, attributes: { ...(p.attributes as Payload), [name]: value } });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  customerId.map((id): Mutation => (p) => ({ ...p, customer_id: id })),
  fc.constantFrom<Mutation>(
    (p) => ({ ...p, customer_id: null }),
    (p) => {
      const { customer_id: _drop, ...rest } = p;
      return rest;
    },
  ),
  platforms.map((pl): Mutation => (p) => ({ ...p, platforms: pl })),
  platforms.map((pl) => withAttribute('platforms', pl)),
  fc.constantFrom<Mutation>((p) => ({ ...p, surprise: 1 }), (p) => ({ ...p, type: 'Customer' }), (p) => ({ ...p, update_existing_only: 'yes' })),
  fc.tuple(customName, customValue).map(([name, value]) => withAttribute(name, value)),
  standard.map((one): Mutation => (p) => ({ ...p, attributes: { ...(p.attributes as Payload), ...one } })),
  fc.tuple(fc.constantFrom('addValueToArrayField', 'removeValueFromArrayField'), arrayOp).map(([op, value]) => withAttribute(op, value)),
);
const oneDefect: fc.Arbitrary<Payload> = fc
  .tuple(cleanPayload, mutation)
  .map(([p, mutate]) => JSON.parse(JSON.stringify(mutate(p))) as Payload);

const DIFFERENTIAL_RUNS = { numRuns: 3_000, seed: 20_261_207 } as const;

describe('differential: the adapter validator against the documented rules', () => {
  it.each(DIFFERENCES.map((d) => [d.id, d] as const))('known difference "%s": its example shows it', (_id, d) => {
    const adapter = adapterJudges(d.example);
    expect(adapter.ok).toBe(false);
    expect(emulatorJudges(d.example).ok).toBe(true);
    expect(d.explains(d.example, (adapter as { field: string }).field)).toBe(true);
  });

  it('every disagreement on generated payloads is a known, deliberate difference; each known one occurs', () => {
    const seen = new Map<string, number>();
    let bothAccept = 0;
    let bothRefuse = 0;
    fc.assert(
      fc.property(fc.oneof(cleanPayload, oneDefect, payloadArb), (payload) => {
        const outcome = compare(payload);
        if (outcome.kind === 'unexplained') {
          // Printed by fast-check with the shrunk payload: a disagreement nobody decided.
          expect({ adapter: outcome.adapter, emulator: outcome.emulator, payload: outcome.payload }).toBe('a known difference');
          return;
        }
        if (outcome.explainedBy.length === 0) {
          if (outcome.both) bothAccept++;
          else bothRefuse++;
        }
        for (const id of outcome.explainedBy) seen.set(id, (seen.get(id) ?? 0) + 1);
      }),
      DIFFERENTIAL_RUNS,
    );
    if (process.env.RULES_STATS) console.log(JSON.stringify({ bothAccept, bothRefuse, seen: Object.fromEntries(seen) }));
    // The generator reaches both verdicts often, and every decided difference (so none is stale).
    expect(bothAccept).toBeGreaterThan(300);
    expect(bothRefuse).toBeGreaterThan(300);
    expect(DIFFERENCES.map((d) => d.id).filter((id) => !seen.has(id))).toEqual([]);
  });

  it('payload size: both refuse a payload over 128 KB, and accept one at it', () => {
    const base = JSON.stringify({ type: 'customer', customer_id: 'u1', attributes: { a: '' } });
    const padding = TRACK_USER_MAX_BODY_BYTES - Buffer.byteLength(base);
    // 300 attributes of up to 512 characters fill 128 KB without a long value.
    const fill = (bytes: number): Payload => {
      const attrs: Record<string, string> = {};
      let left = bytes + Buffer.byteLength('"a":""');
      for (let i = 0; left > 0; i++) {
        const name = `k${i}`;
        const room = left - Buffer.byteLength(`"${name}":""`) - (i === 0 ? 0 : 1);
        const len = Math.max(0, Math.min(512, room));
        attrs[name] = 'x'.repeat(len);
        left -= Buffer.byteLength(`"${name}":""`) + len + (i === 0 ? 0 : 1);
      }
      return { type: 'customer', customer_id: 'u1', attributes: attrs };
    };
    const atLimit = fill(padding);
    expect(Buffer.byteLength(JSON.stringify(atLimit))).toBe(TRACK_USER_MAX_BODY_BYTES);
    expect(compare(atLimit)).toEqual({ kind: 'agree', both: true, explainedBy: [] });
    const over = fill(padding + 1);
    expect(Buffer.byteLength(JSON.stringify(over))).toBe(TRACK_USER_MAX_BODY_BYTES + 1);
    expect(compare(over)).toEqual({ kind: 'agree', both: false, explainedBy: [] });
  });
});

// ---------------------------------------------------------------------------------------------
// 4. What the adapter builds
// ---------------------------------------------------------------------------------------------

describe('what the adapter builds, the documented rules accept as it is', () => {
  const anyValue = fc.oneof(primitive, longText, dateLike, array, fc.date({ noInvalidDate: true }), fc.constant(null), fc.dictionary(customName, primitive, { maxKeys: 2 }));
  const input: fc.Arbitrary<CustomerInput> = fc.record(
    {
      customerId: fc.oneof(fc.constantFrom('user_1', ' user_2 ', 'guest', 'undefined'), fc.integer(), longText),
      standard: fc.dictionary(fc.constantFrom('u_em', 'u_mb', 'u_fn', 'u_ln', 'u_n', 'u_gd', 'u_bd', 'uid', 'u_l_a', 'cr_t', 'publisher_name'), anyValue, { maxKeys: 4 }),
      custom: fc.dictionary(customName, anyValue, { maxKeys: 5 }),
      identifiers: fc.dictionary(fc.constantFrom('moe_email', 'moe_mobile'), anyValue, { maxKeys: 1 }),
      updateExistingOnly: fc.boolean(),
      platforms: fc.array(fc.record({ platform: fc.constantFrom('ANDROID' as const, 'iOS' as const, 'web' as const), active: fc.constantFrom('true' as const, 'false' as const) }), { maxLength: 2 }),
      addToArray: fc.dictionary(customName, anyValue, { maxKeys: 2 }),
      removeFromArray: fc.dictionary(customName, anyValue, { maxKeys: 2 }),
      isCreate: fc.boolean(),
    },
    { requiredKeys: [] },
  ) as fc.Arbitrary<CustomerInput>;

  it('never refused, never cut (the builder does the cutting)', () => {
    let built = 0;
    fc.assert(
      fc.property(input, (raw) => {
        const result = buildCustomerPayload(raw, { identityIdentifiers: IDENTIFIERS });
        if (!result.ok) return;
        built++;
        const wire = JSON.parse(JSON.stringify(result.payload)) as Payload;
        expect(judgeCustomer(wire, { identityIdentifiers: IDENTIFIERS })).toMatchObject({ ok: true, cut: [] });
      }),
      { numRuns: 1_000, seed: 20_261_208 },
    );
    expect(built).toBeGreaterThan(300);
  });
});

// ---------------------------------------------------------------------------------------------
// 5. Answers
// ---------------------------------------------------------------------------------------------

describe('answers: the adapter classifies as the documents say', () => {
  const noHeaders = { get: () => null };
  const documented = [200, 400, 401, 403, 413, 415, 429, 500];
  const bodies = [
    { status: 'success', message: 'Your request has been accepted and will be processed soon.' },
    { status: 'fail', error: { attribute: 'customer_id', message: 'customer_id is not found in the payload', type: 'MissingAttributeError', request_id: 'ZbPXtKFL' } },
    { status: 'fail', error: { attribute: 'addValueToArrayField', message: "Cannot add and remove 'first_name' at the same time", type: 'ArrayFieldError', request_id: 'WPDAbugh' } },
    { status: 'fail', error: { message: 'Rate limits for customers exceeded. Please Try After Some Time', type: 'Rate Limits Exceeded', request_id: 'onqucLYL' } },
    { status: 'fail', error: { message: 'Your account is suspended. Please contact MoEngage team.', type: 'BlockedClient', request_id: 'ofHUEaEQ' } },
  ];
  it.each(documented.flatMap((status) => bodies.map((body) => [status, body.status, body] as const)))('HTTP %i, "status": "%s"', (status, _s, body) => {
    const delivered = classifyResponse(status, noHeaders, JSON.stringify(body), 1, 0).kind === 'delivered';
    expect(delivered).toBe(isAcceptedAnswer(status, body));
  });
});
