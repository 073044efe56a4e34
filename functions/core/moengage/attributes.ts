/**
 * MoEngage attribute and payload rules shared by the payload builder (payload-builder.ts, which
 * documents the naming / flattening rule) and the payload validator (payload-validator.ts).
 * Pure: no I/O, no clock.
 *
 * "Characters" are Unicode code points throughout: a cut never splits a surrogate pair.
 */
import { isoString } from '../iso-time';
import type { AttributePrimitive, DropReason, PayloadResult, PayloadRules } from './types';
import { MAX_PAYLOAD_BYTES } from './limits';
import { STANDARD_ATTRIBUTE_KEYS } from './types';

/** Values in one array attribute. */
export const MAX_ARRAY_VALUES = 50;
/** Characters (code points) in one string value, and in customer_id. */
export const MAX_STRING_LENGTH = 512;
/** Key segments in one flattened custom attribute name (`a_b_c_d_e` is the deepest kept). */
export const MAX_FLATTEN_DEPTH = 5;

/**
 * Placeholder customer ids that would merge unrelated users into one MoEngage profile.
 * Compared trimmed and lower-cased; '' stands for empty / whitespace-only.
 */
export const BLOCKED_CUSTOMER_IDS: ReadonlySet<string> = new Set([
  '',
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
]);

/** True for empty / whitespace-only ids and the placeholders in BLOCKED_CUSTOMER_IDS (any case). */
export function isBlockedCustomerId(id: string): boolean {
  if (typeof id !== 'string') return true;
  return BLOCKED_CUSTOMER_IDS.has(id.trim().toLowerCase());
}

/** "Reserved Keywords for User Attributes", verbatim from the MoEngage User API document. */
export const RESERVED_ATTRIBUTE_KEYS = [
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
] as const;

const RESERVED_LOWER: ReadonlySet<string> = new Set(RESERVED_ATTRIBUTE_KEYS.map((k) => k.toLowerCase()));

/** Names refused outright (compared trimmed and lower-cased), besides the reserved keywords. */
const REFUSED_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set(['', 'id', '_id']);

/**
 * Whether `key` could reach an object's prototype machinery (`__proto__`, `constructor`,
 * `prototype`): never used as an attribute name. Three comparisons: checked for every key the
 * builder reads.
 */
export function isUnsafeKey(key: string): boolean {
  return key === '__proto__' || key === 'constructor' || key === 'prototype';
}

/** Keys of `attributes` with a structure of their own (not user attributes). */
const STRUCTURAL_ATTRIBUTE_KEYS = ['platforms', 'addValueToArrayField', 'removeValueFromArrayField'] as const;
const STRUCTURAL_KEY_SET: ReadonlySet<string> = new Set(STRUCTURAL_ATTRIBUTE_KEYS);

/** STRUCTURAL_KEY_SET.has(key), as three comparisons. */
export function isStructuralKey(key: string): boolean {
  return key === 'platforms' || key === 'addValueToArrayField' || key === 'removeValueFromArrayField';
}

/** Attributes the document marks "Create through Track User API: yes, Update: no". */
const CREATE_ONLY_ATTRIBUTE_KEYS = ['u_l_a', 'cr_t', 'publisher_name', 'campaign_name'] as const;
export const CREATE_ONLY_KEY_SET: ReadonlySet<string> = new Set(CREATE_ONLY_ATTRIBUTE_KEYS);
/** The create-only attributes that hold a time in epoch milliseconds. */
export const EPOCH_ATTRIBUTE_KEY_SET: ReadonlySet<string> = new Set(['u_l_a', 'cr_t']);

export const STANDARD_KEY_SET: ReadonlySet<string> = new Set(STANDARD_ATTRIBUTE_KEYS);

export const MOE_PREFIX = 'moe_';

export const NO_IDENTIFIERS: ReadonlySet<string> = new Set();

/**
 * The identifier a user without customer_id is keyed on (its FIFO group and its state item): of
 * the entries of `record` that `include` accepts (all by default), the one with the smallest
 * `name:value`. Undefined when there is none.
 */
export function keyIdentifier(
  record: Record<string, unknown>,
  include: (name: string, value: unknown) => boolean = () => true,
): { name: string; entry: string } | undefined {
  let first: { name: string; entry: string } | undefined;
  for (const name of Object.keys(record)) {
    const value = record[name];
    if (!include(name, value)) continue;
    const entry = `${name}:${String(value)}`;
    if (first === undefined || entry < first.entry) first = { name, entry };
  }
  return first;
}

/** The identity-resolution identifier names of the rules (exact names, e.g. `moe_email`). */
export function identifierSet(rules?: PayloadRules): ReadonlySet<string> {
  const list = rules?.identityIdentifiers;
  if (!Array.isArray(list) || list.length === 0) return NO_IDENTIFIERS;
  return new Set(list.filter((n): n is string => typeof n === 'string' && n.trim() !== ''));
}

/**
 * Why an attribute name is refused, or undefined when it is acceptable:
 * empty, `id`, `_id`, `__proto__` / `constructor` / `prototype` → invalid_name;
 * a reserved keyword (any case) → reserved_keyword; a `moe_` prefix (any case) that is not one
 * of the identity-resolution identifiers (exact name) → moe_prefix.
 */
export function nameProblem(name: string, identifiers: ReadonlySet<string>): DropReason | undefined {
  if (typeof name !== 'string') return 'invalid_name';
  const problem = nameProblemOf(name);
  return problem === 'moe_prefix' && identifiers.has(name) ? undefined : problem;
}

/**
 * nameProblem without the identifiers (a `moe_` name is moe_prefix here), remembered per name:
 * the same few names come with every webhook, and the verdict never changes. Bounded, since the
 * names come from user data.
 */
const nameProblems = new Map<string, DropReason | null>();
const NAME_PROBLEM_CACHE_LIMIT = 2_048;

function nameProblemOf(name: string): DropReason | undefined {
  let problem = nameProblems.get(name);
  if (problem === undefined) {
    problem = computeNameProblem(name) ?? null;
    if (nameProblems.size >= NAME_PROBLEM_CACHE_LIMIT) nameProblems.clear();
    nameProblems.set(name, problem);
  }
  return problem ?? undefined;
}

function computeNameProblem(name: string): DropReason | undefined {
  if (isUnsafeKey(name)) return 'invalid_name';
  const folded = name.trim().toLowerCase();
  if (REFUSED_ATTRIBUTE_NAMES.has(folded)) return 'invalid_name';
  if (RESERVED_LOWER.has(folded)) return 'reserved_keyword';
  if (folded.startsWith(MOE_PREFIX)) return 'moe_prefix';
  return undefined;
}

/** Public form of nameProblem, taking the payload rules. */
export function attributeNameProblem(name: string, rules?: PayloadRules): DropReason | undefined {
  return nameProblem(name, identifierSet(rules));
}

/** A human-readable reason for a refused name (names are not values: they may be shown). */
export function nameProblemMessage(name: string, reason: DropReason): string {
  switch (reason) {
    case 'reserved_keyword':
      return `"${name}" is a MoEngage reserved keyword and cannot be used as an attribute name`;
    case 'moe_prefix':
      return `"${name}" uses the MoEngage system prefix "moe_", allowed only for the workspace's identity-resolution identifiers`;
    default:
      if (name.trim() === '') return 'attribute names must not be empty';
      return `"${name}" is not accepted as an attribute name`;
  }
}

/** The array operations of `attributes`: `{ name: [values] }` added to / removed from array attributes. */
export type ArrayOp = 'addValueToArrayField' | 'removeValueFromArrayField';

/**
 * Why a name inside an array operation is refused: nameProblem's reasons, and invalid_name for
 * the structural, standard and create-only keys (array operations apply to custom attributes).
 */
export function arrayOpNameProblem(name: string, identifiers: ReadonlySet<string>): DropReason | undefined {
  return (
    nameProblem(name, identifiers) ??
    (STRUCTURAL_KEY_SET.has(name) || STANDARD_KEY_SET.has(name) || CREATE_ONLY_KEY_SET.has(name) ? 'invalid_name' : undefined)
  );
}

// ---------------------------------------------------------------------------------------------
// Payload-level rules

/** The `platform` values of `attributes.platforms` entries (case-sensitive on the wire). */
export const PLATFORM_NAMES = ['ANDROID', 'iOS', 'web'] as const;

export const PLACEHOLDER_CUSTOMER_ID_MESSAGE =
  'customer_id is a placeholder value (such as "unknown", "guest", "null" or "0") that would merge unrelated users';

/** True when `attributes` holds a non-empty string value for one of the identity-resolution identifiers. */
export function hasIdentifierValue(attributes: unknown, identifiers: ReadonlySet<string>): boolean {
  if (!isPlainObject(attributes)) return false;
  for (const id of identifiers) {
    if (!Object.prototype.hasOwnProperty.call(attributes, id)) continue;
    const v = attributes[id];
    if (typeof v === 'string' && v.trim() !== '') return true;
  }
  return false;
}

export function customerIdRequiredMessage(identifiers: ReadonlySet<string>): string {
  return identifiers.size > 0
    ? `customer_id is required unless attributes hold one of the identity-resolution identifiers (${[...identifiers].join(', ')})`
    : 'customer_id is required';
}

export function payloadTooLargeMessage(bytes: number): string {
  return `the payload is ${bytes} bytes; MoEngage accepts at most ${MAX_PAYLOAD_BYTES} bytes (128 KB)`;
}

/** A refused payload, naming the field (never the value). */
export function rejectPayload(field: string, message: string): PayloadResult {
  return { ok: false, field, message };
}

// ---------------------------------------------------------------------------------------------
// Characters

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Index just past the first `max` code points of `s` (s.length when it has fewer). */
function codePointBoundary(s: string, max: number): number {
  let count = 0;
  let i = 0;
  while (i < s.length) {
    if (count === max) return i;
    const pair = isHighSurrogate(s.charCodeAt(i)) && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1));
    i += pair ? 2 : 1;
    count++;
  }
  return s.length;
}

/** True when `s` has more than `max` characters (code points). Stops counting early. */
export function exceedsMaxChars(s: string, max: number = MAX_STRING_LENGTH): boolean {
  if (s.length <= max) return false;
  return codePointBoundary(s, max) < s.length;
}

/** The first `max` characters (code points) of `s`; never splits a surrogate pair. */
export function truncateChars(s: string, max: number = MAX_STRING_LENGTH): string {
  if (s.length <= max) return s;
  return s.slice(0, codePointBoundary(s, max));
}

// ---------------------------------------------------------------------------------------------
// Dates and times

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const CANONICAL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;
/**
 * A UTC date-time with seconds, an optional fraction and `Z`: the canonical form, and what
 * Date#toISOString writes (`.sssZ`). Its normal form is its first 19 characters and `Z`.
 */
const UTC_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?Z$/;
/** ISO 8601 / RFC 3339 date-time, extended format; seconds, fraction and offset optional. */
const ISO_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the span of four-digit years. */
const MIN_EPOCH_MS = -62_167_219_200_000;
const MAX_EPOCH_MS = 253_402_300_799_999;

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

export function isValidCalendarDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = m === 2 && isLeapYear(y) ? 29 : (DAYS_IN_MONTH[m - 1] ?? 0);
  return d <= days;
}

/**
 * True for a string that reads as a date or date-time as a whole (and must then be in a MoEngage
 * form): the shape of `YYYY-MM-DD` or of an ISO 8601 date-time, valid or not. A string that only
 * begins with one (`2024-01-15 10:30 called back`) is text.
 */
export function looksLikeDateTime(s: string): boolean {
  // At least `YYYY-MM-DD`: most strings are ruled out without the regular expressions.
  return s.length >= 10 && s.charCodeAt(4) === 45 /* - */ && (DATE_ONLY.test(s) || ISO_DATETIME.test(s));
}

/** True for a valid `YYYY-MM-DD` or `YYYY-MM-DDTHH:mm:ssZ` (the forms MoEngage accepts). */
export function isCanonicalDateTime(s: string): boolean {
  const date = DATE_ONLY.exec(s);
  if (date) return isValidCalendarDate(Number(date[1]), Number(date[2]), Number(date[3]));
  const dt = CANONICAL_DATETIME.exec(s);
  if (!dt) return false;
  return (
    isValidCalendarDate(Number(dt[1]), Number(dt[2]), Number(dt[3])) &&
    Number(dt[4]) <= 23 &&
    Number(dt[5]) <= 59 &&
    Number(dt[6]) <= 59
  );
}

/** Epoch milliseconds of an ISO 8601 date-time; no offset means UTC. Undefined when invalid. */
function parseIsoDateTime(s: string): number | undefined {
  const m = ISO_DATETIME.exec(s);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (!isValidCalendarDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  const tz = m[7];
  if (tz !== undefined && tz !== 'Z' && tz !== 'z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = sign * (oh * 60 + om);
  }
  // setUTCFullYear: Date.UTC would map years 0-99 to 1900-1999.
  const base = new Date(0);
  base.setUTCFullYear(year, month - 1, day);
  base.setUTCHours(hour, minute, second, 0);
  return base.getTime() - offsetMinutes * 60_000;
}

function formatEpochMs(ms: number): string | undefined {
  if (!Number.isFinite(ms) || ms < MIN_EPOCH_MS || ms > MAX_EPOCH_MS) return undefined;
  // YYYY-MM-DDTHH:mm:ss.sssZ for four-digit years; the fraction is cut, not rounded.
  return `${isoString(ms).slice(0, 19)}Z`;
}

/**
 * Normalizes a date / time to a form MoEngage accepts:
 * - a Date, or a number (epoch milliseconds) → `YYYY-MM-DDTHH:mm:ssZ` (UTC, fraction cut);
 * - an ISO 8601 string with `T` or a space, optional seconds, fraction and offset
 *   (`Z`, `±HH`, `±HHmm`, `±HH:mm`; none means UTC) → `YYYY-MM-DDTHH:mm:ssZ` in UTC;
 * - a date-only `YYYY-MM-DD` → unchanged.
 * Undefined for anything else: invalid calendar dates, other formats, years outside 0000-9999.
 */
export function normalizeDateTime(value: unknown): string | undefined {
  if (value instanceof Date) return formatEpochMs(value.getTime());
  if (typeof value === 'number') return formatEpochMs(value);
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  const date = DATE_ONLY.exec(s);
  if (date) return isValidCalendarDate(Number(date[1]), Number(date[2]), Number(date[3])) ? s : undefined;
  // Fast path (the sources hand over toISOString output): for a valid date and time in UTC, the
  // general path below computes the same fields back, i.e. these 19 characters and `Z`.
  const utc = UTC_DATETIME.exec(s);
  if (utc) {
    const valid =
      isValidCalendarDate(Number(utc[1]), Number(utc[2]), Number(utc[3])) && Number(utc[4]) <= 23 && Number(utc[5]) <= 59 && Number(utc[6]) <= 59;
    if (!valid) return undefined;
    return s.length === 20 ? s : `${s.slice(0, 19)}Z`;
  }
  const ms = parseIsoDateTime(s);
  return ms === undefined ? undefined : formatEpochMs(ms);
}

/** Epoch milliseconds (integer) of a number, Date or ISO 8601 string, within four-digit years. */
export function toEpochMillis(value: unknown): number | undefined {
  let ms: number | undefined;
  if (typeof value === 'number') ms = value;
  else if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'string') {
    const s = value.trim();
    const date = DATE_ONLY.exec(s);
    ms = date ? parseIsoDateTime(`${s}T00:00:00Z`) : parseIsoDateTime(s);
  }
  if (ms === undefined || !Number.isFinite(ms)) return undefined;
  ms = Math.trunc(ms) + 0; // + 0: no -0 (JSON writes it as 0)
  return ms < MIN_EPOCH_MS || ms > MAX_EPOCH_MS ? undefined : ms;
}

/** True for an integer epoch-milliseconds number within four-digit years. */
export function isEpochMillis(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= MIN_EPOCH_MS && value <= MAX_EPOCH_MS;
}

// ---------------------------------------------------------------------------------------------
// Values (builder side)

export type ValueOutcome<T> =
  | { kind: 'value'; value: T; truncated?: boolean }
  | { kind: 'skip' }
  | { kind: 'drop'; reason: DropReason };

const SKIP = { kind: 'skip' } as const;
function drop(reason: DropReason): { kind: 'drop'; reason: DropReason } {
  return { kind: 'drop', reason };
}

/** A plain object (`{}` / JSON / null prototype): what the builder flattens. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A string value: a datetime is normalized (dropped when it cannot be), anything else is cut
 * to MAX_STRING_LENGTH characters.
 */
export function normalizeStringValue(s: string): ValueOutcome<string> {
  if (looksLikeDateTime(s)) {
    const dt = normalizeDateTime(s);
    return dt === undefined ? drop('unsupported_type') : { kind: 'value', value: dt };
  }
  return { kind: 'value', value: truncateChars(s) };
}

/** One primitive: string, finite number, boolean, or a Date (→ datetime string). */
export function normalizePrimitive(value: unknown): ValueOutcome<AttributePrimitive> {
  if (value === undefined || value === null) return SKIP;
  if (typeof value === 'string') return normalizeStringValue(value);
  if (typeof value === 'number') return Number.isFinite(value) ? { kind: 'value', value: value + 0 } : drop('unsupported_type');
  if (typeof value === 'boolean') return { kind: 'value', value };
  if (value instanceof Date) {
    const dt = normalizeDateTime(value);
    return dt === undefined ? drop('unsupported_type') : { kind: 'value', value: dt };
  }
  return drop('unsupported_type');
}

/**
 * An array attribute: null / undefined elements are left out; the first MAX_ARRAY_VALUES
 * remaining values are kept (`truncated` when there were more); an element that is not a
 * primitive (object, array, function, ...) drops the attribute (unsupported_type), and so do
 * values of more than one type (mixed_array_types).
 */
export function normalizeArray(values: readonly unknown[]): ValueOutcome<AttributePrimitive[]> {
  const out: AttributePrimitive[] = [];
  let truncated = false;
  for (let i = 0; i < values.length; i++) {
    const element = values[i];
    if (element === undefined || element === null) continue;
    if (out.length === MAX_ARRAY_VALUES) {
      truncated = true;
      break;
    }
    const n = normalizePrimitive(element);
    if (n.kind === 'drop') return n;
    if (n.kind === 'value') out.push(n.value);
  }
  if (out.length > 1) {
    const type = typeof out[0];
    for (let i = 1; i < out.length; i++) if (typeof out[i] !== type) return drop('mixed_array_types');
  }
  return { kind: 'value', value: out, truncated };
}
