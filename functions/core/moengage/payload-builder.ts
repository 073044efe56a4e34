/**
 * The MoEngage Track User payload builder the source mappers call: raw source values in, a
 * payload MoEngage accepts out (or a rejection naming the field). Pure: no zod, no I/O.
 * The rules follow ../shared/seeds/moengage-user-api.txt (the MoEngage User API document).
 *
 * The builder's payloads are valid by construction: every rule payload-validator.ts checks is
 * applied while building (the property tests check the builder's output against the
 * validator), so the receiver does not pay for a JSON round trip and a schema walk per
 * webhook; the builder only measures the size (the length of its JSON).
 *
 * ## Attribute naming and flattening rule
 *
 * Custom attributes (CustomerInput.custom) become MoEngage attributes as follows.
 *
 * 1. Flattening. Nested plain objects are flattened by joining their keys with `_`:
 *    `{ address: { city: 'Paris' } }` becomes `address_city`. At most 5 key segments are kept
 *    (`a_b_c_d_e`); an object found at the fifth level is dropped (`too_deep`). Empty objects,
 *    `null` and `undefined` values are skipped silently.
 * 2. Values. Strings, finite numbers and booleans are kept; strings are cut to 512 characters
 *    (Unicode code points: a surrogate pair is never split). A Date, and any string that reads
 *    as a date or date-time (`YYYY-MM-DD`, optionally followed by `T` or a space and `HH:mm`,
 *    seconds, fraction, offset), is normalized to UTC `YYYY-MM-DDTHH:mm:ssZ` (a date-only
 *    string stays `YYYY-MM-DD`; a date-time without offset is read as UTC); one that cannot
 *    be parsed (`2024-13-01`) is dropped (`unsupported_type`); a string that only begins with a
 *    date (`2024-01-15 10:30 called back`) is text. Arrays keep their primitive values (null
 *    elements are left out): at most 50 (the first 50 are kept, the attribute is reported as
 *    `too_many_values`), all of one type (else `mixed_array_types`); an array holding objects or
 *    arrays is dropped (`unsupported_type`). Functions, symbols, bigints, NaN/Infinity, class
 *    instances other than Date: dropped (`unsupported_type`).
 * 3. Names, after flattening. Dropped: MoEngage's reserved keywords, compared case-insensitively
 *    (`reserved_keyword`); names starting with `moe_` in any case (`moe_prefix`): the
 *    identity-resolution identifiers the workspace activated (exact names, e.g. `moe_email`) are
 *    set only from CustomerInput.identifiers (the adapter's identityResolution mapping), never by
 *    a custom attribute or an array operation (a trait named `moe_email` would name another user);
 *    `id`, `_id` and empty names (`invalid_name`); any key segment `__proto__`, `constructor` or
 *    `prototype` (`invalid_name`, the subtree is not read); `platforms`,
 *    `addValueToArrayField`, `removeValueFromArrayField`, which have a structure of their own
 *    (`invalid_name`). The create-only attributes (`u_l_a`, `cr_t`, `publisher_name`,
 *    `campaign_name`) are dropped unless the input is a create (`create_only`).
 * 4. Collisions. Standard attributes win over identity identifiers, which win over custom
 *    attributes; between custom attributes the first one in input order wins. A custom attribute
 *    whose name is a standard key (`u_em`, `u_bd`, ...) fills it only when the standard input has
 *    no value for it, and follows that key's rules. Every losing attribute is reported as
 *    `invalid_name`.
 *
 * Every dropped attribute is listed in the result's `dropped` (name and reason: never the value)
 * so that the caller can count it; a dropped attribute never rejects the payload.
 *
 * Standard attributes: empty values are skipped, strings trimmed; `u_em`, `u_mb` take strings
 * only (longer than 512 characters: dropped, never cut); `u_fn`, `u_ln`, `u_n`, `u_gd`, `uid`
 * take strings or numbers (cut to 512 characters); `u_bd` takes a Date, an ISO 8601 string or
 * epoch milliseconds, normalized as above, and is dropped when it cannot be parsed.
 *
 * Rejections (`ok: false`, naming the field; the value is never echoed): no usable customer_id
 * (missing, empty, a placeholder such as `unknown` / `guest` / `0` / `null`, see
 * BLOCKED_CUSTOMER_IDS) unless identity resolution is configured and an identifier has a value;
 * a customer_id longer than 512 characters; the same attribute both added to and removed from
 * an array; `platforms` in the array operations; malformed platforms / update_existing_only;
 * a payload over 128 KB.
 */
import {
  CREATE_ONLY_KEY_SET,
  EPOCH_ATTRIBUTE_KEY_SET,
  MAX_FLATTEN_DEPTH,
  MAX_STRING_LENGTH,
  MOE_PREFIX,
  NO_IDENTIFIERS,
  PLACEHOLDER_CUSTOMER_ID_MESSAGE,
  PLATFORM_NAMES,
  STANDARD_KEY_SET,
  arrayOpNameProblem,
  customerIdRequiredMessage,
  exceedsMaxChars,
  hasIdentifierValue,
  identifierSet,
  isBlockedCustomerId,
  isPlainObject,
  isStructuralKey,
  isUnsafeKey,
  nameProblem,
  normalizeArray,
  normalizeDateTime,
  normalizePrimitive,
  normalizeStringValue,
  payloadTooLargeMessage,
  rejectPayload,
  toEpochMillis,
  type ArrayOp,
  type ValueOutcome,
} from './attributes';
import { MAX_PAYLOAD_BYTES } from './limits';
import type {
  AttributePrimitive,
  AttributeValue,
  CustomerInput,
  CustomerPayload,
  DropReason,
  DroppedAttribute,
  PayloadResult,
  PayloadRules,
  Platform,
} from './types';

/** UTF-8 bytes of the JSON body MoEngage receives. */
export function payloadBytes(p: CustomerPayload): number {
  return Buffer.byteLength(JSON.stringify(p), 'utf8');
}

/**
 * At least payloadBytes of a JSON value, without writing its JSON: a string writes each UTF-16
 * unit in at most 6 bytes (`\uXXXX`; a character of 3 UTF-8 bytes is one unit, a surrogate pair
 * of 4 bytes is two) between its quotes, a finite number in at most 24 characters
 * (`-2.2250738585072014e-308`). Writing the JSON costs several times this walk (on Node 24, for a
 * Clerk user: 574 against 75 ns), and most payloads are a small fraction of the limit: build()
 * writes it only when this bound is over the limit.
 */
export function jsonBytesAtMost(value: unknown): number {
  if (typeof value === 'string') return 6 * value.length + 2;
  if (typeof value === 'number') return 24;
  if (typeof value === 'boolean') return 5;
  if (value === null || typeof value !== 'object') return 4;
  let n = 2;
  if (Array.isArray(value)) {
    for (const v of value) n += jsonBytesAtMost(v) + 1;
  } else {
    const record = value as Record<string, unknown>;
    for (const key in record) n += 6 * key.length + 3 + jsonBytesAtMost(record[key]) + 1;
  }
  return n;
}

const PLATFORM_BY_FOLDED: ReadonlyMap<string, Platform['platform']> = new Map(PLATFORM_NAMES.map((p) => [p.toLowerCase(), p]));
/** Standard keys taking strings only. */
const STRICT_STRING_KEYS: ReadonlySet<string> = new Set(['u_em', 'u_mb']);

/**
 * The value rule of each standard and create-only key (AttributeCollector.normalize): the
 * epoch-millisecond create-only keys, the other create-only keys, u_bd, the strings-only
 * standard keys, the other standard keys.
 */
type ValueRule = 'createOnlyEpoch' | 'createOnly' | 'birthday' | 'strictString' | 'standardString';
const VALUE_RULES: ReadonlyMap<string, ValueRule> = new Map<string, ValueRule>([
  ...[...STANDARD_KEY_SET].map((k): [string, ValueRule] => [k, k === 'u_bd' ? 'birthday' : STRICT_STRING_KEYS.has(k) ? 'strictString' : 'standardString']),
  ...[...CREATE_ONLY_KEY_SET].map((k): [string, ValueRule] => [k, EPOCH_ATTRIBUTE_KEY_SET.has(k) ? 'createOnlyEpoch' : 'createOnly']),
]);

type Origin = 'standard' | 'identifier' | 'custom';
type AttributeOut = AttributeValue | Platform[] | Record<string, AttributePrimitive[]>;

class Rejection {
  constructor(
    readonly field: string,
    readonly message: string,
  ) {}
}

class AttributeCollector {
  /**
   * The kept attributes, in the order they were kept. A plain object (not a Map turned into one
   * at the end): every name that reaches it passed nameProblem, so no `__proto__`,
   * `constructor` or `prototype` key is ever assigned.
   */
  readonly attributes: Record<string, AttributeOut> = {};
  size = 0;
  readonly dropped: DroppedAttribute[] = [];

  constructor(
    private readonly identifiers: ReadonlySet<string>,
    private readonly isCreate: boolean,
  ) {}

  drop(name: string, reason: DropReason): void {
    this.dropped.push({ name, reason });
  }

  /** Keeps an attribute under a name that is not kept yet. */
  set(name: string, value: AttributeOut): void {
    this.attributes[name] = value;
    this.size++;
  }

  /** Sets one attribute (a leaf: flattening happens before), applying the naming and value rules. */
  put(name: string, raw: unknown, origin: Origin): void {
    if (raw === undefined || raw === null) return;
    if (origin === 'identifier' && !this.identifiers.has(name)) {
      this.drop(name, name.toLowerCase().startsWith(MOE_PREFIX) ? 'moe_prefix' : 'invalid_name');
      return;
    }
    // Only the adapter's own identity mapping (origin `identifier`) may set an identifier: a
    // custom value named `moe_email` (a Segment trait, a metadata key) would otherwise name
    // another user to MoEngage's identity resolution, which merges profiles by it.
    const problem = nameProblem(name, origin === 'identifier' ? this.identifiers : NO_IDENTIFIERS);
    if (problem || isStructuralKey(name)) {
      this.drop(name, problem ?? 'invalid_name');
      return;
    }
    if (hasOwn(this.attributes, name)) {
      this.drop(name, 'invalid_name');
      return;
    }
    const outcome = this.normalize(name, raw);
    if (outcome.kind === 'drop') this.drop(name, outcome.reason);
    else if (outcome.kind === 'value') {
      this.set(name, outcome.value);
      if (outcome.truncated) this.drop(name, 'too_many_values');
    }
  }

  private normalize(name: string, raw: unknown): ValueOutcome<AttributeValue> {
    // One lookup: custom names (most of them) have no rule of their own.
    const rule = VALUE_RULES.get(name);
    if ((rule === 'createOnlyEpoch' || rule === 'createOnly') && !this.isCreate) return { kind: 'drop', reason: 'create_only' };
    if (rule === 'createOnlyEpoch') {
      if (raw === '') return { kind: 'skip' };
      const ms = toEpochMillis(raw);
      return ms === undefined ? { kind: 'drop', reason: 'unsupported_type' } : { kind: 'value', value: ms };
    }
    if (rule === 'birthday') {
      if (typeof raw === 'string' && raw.trim() === '') return { kind: 'skip' };
      const dt = normalizeDateTime(raw);
      return dt === undefined ? { kind: 'drop', reason: 'unsupported_type' } : { kind: 'value', value: dt };
    }
    if (rule === 'strictString' || (this.identifiers.size > 0 && this.identifiers.has(name))) {
      return normalizeIdentityString(raw, rule === 'strictString');
    }
    if (rule !== undefined) return normalizeStandardString(raw); // the other standard and create-only keys
    if (Array.isArray(raw)) return normalizeArray(raw);
    return normalizePrimitive(raw);
  }

  /** Custom attributes: flattened (see the rule at the top of this file), then put. */
  flatten(obj: Record<string, unknown>, prefix: string | undefined, depth: number): void {
    for (const key of Object.keys(obj)) {
      const name = prefix === undefined ? key : `${prefix}_${key}`;
      if (isUnsafeKey(key)) {
        this.drop(name, 'invalid_name');
        continue;
      }
      const value = obj[key];
      if (value === undefined || value === null) continue;
      if (isPlainObject(value)) {
        if (Object.keys(value).length === 0) continue;
        if (depth >= MAX_FLATTEN_DEPTH) {
          this.drop(name, 'too_deep');
          continue;
        }
        this.flatten(value, name, depth + 1);
        continue;
      }
      this.put(name, value, 'custom');
    }
  }
}

/** u_fn, u_ln, u_n, u_gd, uid, publisher_name, campaign_name: strings (or numbers), trimmed, cut. */
function normalizeStandardString(raw: unknown): ValueOutcome<string> {
  let s: string;
  if (typeof raw === 'string') s = raw.trim();
  else if (typeof raw === 'number' && Number.isFinite(raw)) s = String(raw);
  else return { kind: 'drop', reason: 'unsupported_type' };
  if (s === '') return { kind: 'skip' };
  return normalizeStringValue(s);
}

/**
 * u_em, u_mb (strings only) and identity identifiers (strings or numbers): trimmed, and dropped
 * rather than cut when too long (a cut email or phone number would be another identity).
 */
function normalizeIdentityString(raw: unknown, stringsOnly: boolean): ValueOutcome<string> {
  let s: string;
  if (typeof raw === 'string') s = raw.trim();
  else if (!stringsOnly && typeof raw === 'number' && Number.isFinite(raw)) s = String(raw);
  else return { kind: 'drop', reason: 'unsupported_type' };
  if (s === '') return { kind: 'skip' };
  if (exceedsMaxChars(s)) return { kind: 'drop', reason: 'unsupported_type' };
  return normalizeStringValue(s);
}

function hasOwn(record: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(record, key);
}

function objectInput(value: unknown, field: string, what: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) throw new Rejection(field, `${what} must be an object`);
  return value;
}

function buildArrayOp(op: ArrayOp, raw: Record<string, unknown>, collector: AttributeCollector): Record<string, AttributePrimitive[]> | undefined {
  // Keys passed nameProblem before being assigned (no `__proto__`): see AttributeCollector.
  const out: Record<string, AttributePrimitive[]> = {};
  let size = 0;
  for (const key of Object.keys(raw)) {
    const label = `${op}.${key}`;
    if (key === 'platforms') throw new Rejection(`attributes.${label}`, `platforms cannot be changed through ${op}`);
    const problem = arrayOpNameProblem(key, NO_IDENTIFIERS); // never an identity-resolution identifier (see put)
    if (problem) {
      collector.drop(label, problem);
      continue;
    }
    const value = raw[key];
    if (value === undefined || value === null) continue;
    const outcome = normalizeArray(Array.isArray(value) ? value : [value]);
    if (outcome.kind === 'drop') collector.drop(label, outcome.reason);
    else if (outcome.kind === 'value' && outcome.value.length > 0) {
      out[key] = outcome.value;
      size++;
      if (outcome.truncated) collector.drop(label, 'too_many_values');
    }
  }
  return size > 0 ? out : undefined;
}

function buildPlatforms(raw: unknown): Platform[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw new Rejection('attributes.platforms', 'platforms must be a list of {platform, active}');
  const out: Platform[] = [];
  for (let i = 0; i < raw.length; i++) {
    const entry: unknown = raw[i];
    const field = `attributes.platforms.${i}`;
    if (!isPlainObject(entry)) throw new Rejection(field, 'a platform entry must be an object {platform, active}');
    const platform = typeof entry.platform === 'string' ? PLATFORM_BY_FOLDED.get(entry.platform.trim().toLowerCase()) : undefined;
    if (!platform) throw new Rejection(`${field}.platform`, 'platform must be one of ANDROID, iOS, web');
    const active = booleanish(entry.active);
    if (active === undefined) throw new Rejection(`${field}.active`, 'active must be true or false');
    out.push({ platform, active: active ? 'true' : 'false' });
  }
  return out.length > 0 ? out : undefined;
}

/** true / false, or the strings "true" / "false" (any case, trimmed). */
function booleanish(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  const folded = value.trim().toLowerCase();
  return folded === 'true' ? true : folded === 'false' ? false : undefined;
}

/** The customer id as MoEngage gets it: undefined when missing or a placeholder. */
function customerIdOf(raw: unknown): { id?: string; placeholder: boolean } {
  if (raw === undefined || raw === null) return { placeholder: false };
  let s: string;
  if (typeof raw === 'string') s = raw.trim();
  else if (typeof raw === 'number' && Number.isFinite(raw)) s = String(raw);
  else throw new Rejection('customer_id', 'customer_id must be a string or a finite number');
  if (s === '') return { placeholder: false };
  if (isBlockedCustomerId(s)) return { placeholder: true };
  if (exceedsMaxChars(s)) throw new Rejection('customer_id', `customer_id must be at most ${MAX_STRING_LENGTH} characters`);
  return { id: s, placeholder: false };
}

function build(input: CustomerInput, rules: PayloadRules | undefined): PayloadResult {
  if (!isPlainObject(input)) return rejectPayload('payload', 'the customer input must be an object');
  const identifiers = identifierSet(rules);
  const isCreate = input.isCreate === true;
  const collector = new AttributeCollector(identifiers, isCreate);

  const customer = customerIdOf(input.customerId);

  let updateExistingOnly: boolean | undefined;
  if (input.updateExistingOnly !== undefined && input.updateExistingOnly !== null) {
    updateExistingOnly = booleanish(input.updateExistingOnly);
    if (updateExistingOnly === undefined) return rejectPayload('update_existing_only', 'update_existing_only must be true or false');
  }

  const standard = objectInput(input.standard, 'attributes', 'standard attributes');
  if (standard) {
    for (const key of Object.keys(standard)) {
      if (isUnsafeKey(key)) collector.drop(key, 'invalid_name');
      else if (VALUE_RULES.has(key)) collector.put(key, standard[key], 'standard'); // a standard or create-only key
      else collector.flatten({ [key]: standard[key] }, undefined, 1);
    }
  }
  const ids = objectInput(input.identifiers, 'attributes', 'identifiers');
  if (ids) {
    for (const key of Object.keys(ids)) {
      if (isUnsafeKey(key)) collector.drop(key, 'invalid_name');
      else collector.put(key, ids[key], 'identifier');
    }
  }
  const custom = objectInput(input.custom, 'attributes', 'custom attributes');
  if (custom) collector.flatten(custom, undefined, 1);

  const platforms = buildPlatforms(input.platforms);
  if (platforms) collector.set('platforms', platforms);

  const addRaw = objectInput(input.addToArray, 'attributes.addValueToArrayField', 'addToArray');
  const removeRaw = objectInput(input.removeFromArray, 'attributes.removeValueFromArrayField', 'removeFromArray');
  if (addRaw && removeRaw) {
    for (const key of Object.keys(addRaw)) {
      if (addRaw[key] === undefined || addRaw[key] === null) continue;
      if (!Object.prototype.hasOwnProperty.call(removeRaw, key)) continue;
      if (removeRaw[key] === undefined || removeRaw[key] === null) continue;
      return rejectPayload(`attributes.addValueToArrayField.${key}`, `cannot add and remove '${key}' at the same time`);
    }
  }
  const add = addRaw && buildArrayOp('addValueToArrayField', addRaw, collector);
  const remove = removeRaw && buildArrayOp('removeValueFromArrayField', removeRaw, collector);
  if (add) collector.set('addValueToArrayField', add);
  if (remove) collector.set('removeValueFromArrayField', remove);

  const attributes = collector.attributes as NonNullable<CustomerPayload['attributes']>;
  if (customer.id === undefined && !hasIdentifierValue(attributes, identifiers)) {
    const message = customer.placeholder ? PLACEHOLDER_CUSTOMER_ID_MESSAGE : customerIdRequiredMessage(identifiers);
    return rejectPayload('customer_id', message);
  }

  const payload: CustomerPayload = { type: 'customer' };
  if (customer.id !== undefined) payload.customer_id = customer.id;
  if (updateExistingOnly !== undefined) payload.update_existing_only = updateExistingOnly;
  if (collector.size > 0) payload.attributes = attributes;

  // Valid by construction: every rule validateCustomerPayload (payload-validator.ts) checks
  // holds for what the collector keeps (names, value types and forms, lengths, create-only keys,
  // array operations, platforms, identity), and the payload holds no -0, NaN or undefined, so
  // that its JSON parses back to the same payload. Only the size depends on the whole: it is
  // measured on the JSON MoEngage will receive, when its bound does not already settle it.
  if (jsonBytesAtMost(payload) > MAX_PAYLOAD_BYTES) {
    const bytes = payloadBytes(payload);
    if (bytes > MAX_PAYLOAD_BYTES) return rejectPayload('payload', payloadTooLargeMessage(bytes));
  }
  return { ok: true, payload, dropped: collector.dropped };
}

/**
 * Normalizes a source mapper's input into a MoEngage customer payload and validates it.
 * `dropped` lists the attributes left out by the naming / value rules (see the top of this file).
 * Never throws.
 */
export function buildCustomerPayload(input: CustomerInput, rules?: PayloadRules): PayloadResult {
  try {
    return build(input, rules);
  } catch (err) {
    if (err instanceof Rejection) return rejectPayload(err.field, err.message);
    return rejectPayload('payload', 'the customer input could not be turned into a MoEngage payload');
  }
}
