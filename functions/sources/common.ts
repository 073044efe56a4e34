/**
 * Helpers shared by the source mappers: safe JSON parsing, dot paths, the operator's
 * customer_id choice, identity resolution and the final payload build.
 */
import { isUtf8 } from 'node:buffer';
import type { IdentityResolutionConfig } from '../core/config';
import { isoString } from '../core/iso-time';
import { versionKey } from '../core/version';
import { keyIdentifier } from '../core/moengage/attributes';
import { buildCustomerPayload } from '../core/moengage/payload-builder';
import { STANDARD_ATTRIBUTE_KEYS, type CustomerInput, type PayloadRules } from '../core/moengage/types';
import type { Mapped, SourceContext, WebhookRequest } from './types';

/** Largest nesting depth accepted in a webhook body. Deeper bodies are refused (400) before parsing. */
export const MAX_JSON_DEPTH = 64;

/** Reads a header (names are lower-case in WebhookRequest). */
export function header(req: WebhookRequest, name: string): string | undefined {
  // The sources pass lower-case literals: looking up the literal itself is markedly faster than
  // looking up toLowerCase's copy of it.
  const lower = name.toLowerCase();
  const v = req.headers[lower === name ? name : lower];
  return v === undefined || v === '' ? undefined : v;
}

/** Counts the nesting depth of JSON text without parsing it (strings skipped), stopping early past `limit`. */
function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      if (depth > limit) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/**
 * True when a parsed JSON value nests deeper than `limit` (the top-level object or array is
 * depth 1). For valid JSON this is exactly jsonDepthExceeds of its text. Recursion stops at
 * `limit` levels, whatever the depth of the value.
 */
function valueDepthExceeds(value: unknown, limit: number): boolean {
  return nestsDeeper(value, limit);
}

function nestsDeeper(value: unknown, levelsLeft: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levelsLeft === 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (nestsDeeper(value[i], levelsLeft - 1)) return true;
    return false;
  }
  // JSON.parse makes plain objects whose properties are all own (a `__proto__` key included).
  const record = value as Record<string, unknown>;
  for (const key in record) if (nestsDeeper(record[key], levelsLeft - 1)) return true;
  return false;
}

export type JsonResult = { ok: true; value: unknown } | { ok: false; message: string };

/**
 * Parses a webhook body: strict UTF-8 (invalid bytes are refused; a leading byte order mark is
 * dropped, as the WHATWG decoder does), bounded depth, JSON. `__proto__` keys stay plain data
 * (JSON.parse defines them as own properties).
 *
 * V8's JSON.parse is not recursive (10,000 or 100,000 levels parse without a stack overflow), so
 * the depth is checked on the parsed value, which costs a walk over its containers instead of a
 * scan of every character; a body that does not parse is scanned (strings skipped) so that one
 * nesting deeper than MAX_JSON_DEPTH is still refused for its depth.
 */
export function parseJsonBody(raw: Buffer): JsonResult {
  if (!isUtf8(raw)) return { ok: false, message: 'body is not valid UTF-8' };
  const bom = raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf;
  const text = raw.toString('utf8', bom ? 3 : 0);
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    if (text.trim().length === 0) return { ok: false, message: 'body is empty' };
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) return tooDeep();
    return { ok: false, message: 'body is not valid JSON' };
  }
  if (valueDepthExceeds(value, MAX_JSON_DEPTH)) return tooDeep();
  return { ok: true, value };
}

function tooDeep(): JsonResult {
  return { ok: false, message: `body nests deeper than ${MAX_JSON_DEPTH} levels` };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a dot path (`data.object.id`, `items.0.name`) through own properties only. */
export function getPath(root: unknown, path: string): unknown {
  if (!path.includes('.')) return ownValue(root, path); // one segment (`type`, `timestamp`...)
  let cur: unknown = root;
  for (const seg of pathSegments(path)) {
    cur = ownValue(cur, seg);
    if (cur === undefined) return undefined;
  }
  return cur;
}

const DIGITS = /^\d+$/;

/** One step of getPath: an array's element (for a decimal index), an object's own property, else undefined. */
function ownValue(cur: unknown, seg: string): unknown {
  if (Array.isArray(cur)) return DIGITS.test(seg) ? cur[Number(seg)] : undefined;
  if (isRecord(cur)) return Object.prototype.hasOwnProperty.call(cur, seg) ? cur[seg] : undefined;
  return undefined;
}

/**
 * The segments of a dot path, split once: the paths are the sources' own and the operator's
 * (a handful, read for every webhook). Bounded, in case a caller passes paths from data.
 */
const segmentCache = new Map<string, readonly string[]>();
const SEGMENT_CACHE_LIMIT = 512;

function pathSegments(path: string): readonly string[] {
  let segments = segmentCache.get(path);
  if (segments === undefined) {
    segments = Object.freeze(path.split('.'));
    if (segmentCache.size >= SEGMENT_CACHE_LIMIT) segmentCache.clear();
    segmentCache.set(path, segments);
  }
  return segments;
}

/** A string field, or undefined (numbers are stringified; everything else is absent). */
export function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** A decimal number of seconds or milliseconds, as a header or a JSON string may carry it. */
const DECIMAL = /^\d{1,16}(\.\d{1,9})?$/;

/**
 * The epoch milliseconds (an integer) of a provider time: epoch seconds or milliseconds as a
 * number or a decimal string (below 1e12 read as seconds), or an ISO 8601 date-time. Undefined
 * when the value is not a time a Date can hold. A source that reads one time for two purposes
 * (its occurrence and its version) reads it once: Date.parse is a good part of a webhook's parsing.
 */
export function epochMs(value: unknown): number | undefined {
  let ms: number;
  if (typeof value === 'number' || (typeof value === 'string' && DECIMAL.test(value.trim()))) {
    const n = Number(value);
    ms = n < 1e12 ? Math.round(n * 1000) : Math.trunc(n);
  } else if (typeof value === 'string' && value.length <= 64) {
    ms = Date.parse(value);
  } else return undefined;
  // The range of a Date (TimeClip); beyond it, and for NaN / Infinity, there is no time.
  return Math.abs(ms) <= 8.64e15 ? ms : undefined;
}

/** The event version (core/version.ts) of epoch milliseconds from epochMs: undefined before 1970 or without a time. */
export function versionAt(ms: number | undefined, tie: string): string | undefined {
  return ms === undefined ? undefined : versionKey(ms, tie);
}

/** A provider time (see epochMs) as ISO 8601 (toISOString's form), or undefined. */
export function toIso(value: unknown): string | undefined {
  const ms = epochMs(value);
  return ms === undefined ? undefined : isoString(ms);
}

/** An event version (core/version.ts) of a provider time (see epochMs), or undefined. */
export function versionOf(value: unknown, tie: string): string | undefined {
  return versionAt(epochMs(value), tie);
}

const STANDARD_KEYS: ReadonlySet<string> = new Set(STANDARD_ATTRIBUTE_KEYS);

/**
 * A metadata object's own keys as custom attributes, leaving out the standard `u_*` keys
 * (metadata never sets identity) and any `alsoExclude` names the mapping sets itself.
 */
export function metadataAttributes(value: unknown, alsoExclude: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isRecord(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    if (!STANDARD_KEYS.has(k) && !alsoExclude.includes(k)) setOwn(out, k, v);
  }
  return out;
}

/**
 * Sets an own, enumerable property even for `__proto__`: a plain assignment of that key
 * would replace the object's prototype instead (the payload builder then drops the name).
 * Every other key is assigned: on the plain objects the mappers build, that defines the same
 * own, enumerable, writable, configurable property (no other setter is inherited).
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__' || !isPlainRecord(target)) {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function isPlainRecord(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The payload rules without identity resolution. */
const NO_RULES: PayloadRules = Object.freeze({ identityIdentifiers: Object.freeze([]) as readonly string[] });

export interface MappingDefaults {
  /** The source's default customer_id (contract.md's table). */
  customerId: unknown;
  /** The parsed body, for operator-chosen dot paths. */
  body: unknown;
  /** Whether the event creates the user (allows create-only attributes). */
  isCreate?: boolean;
  /**
   * The custom attributes were chosen explicitly by the operator (the `standard` source's
   * mapping), so `customAttributes: false` does not remove them.
   */
  explicitCustom?: boolean;
}

/**
 * The raw customer_id of an event under the operator's `customerIdField` (the mapped `u_em` /
 * `u_mb`, a dot path into the body, else the source's default) and the field name used in
 * messages. Shared by updates and deletions, so that a deletion names the user its updates did.
 */
function chooseCustomerId(
  opts: SourceContext['options'],
  standard: NonNullable<CustomerInput['standard']>,
  defaults: Pick<MappingDefaults, 'customerId' | 'body'>,
): { customerId: unknown; customerIdField: string } {
  if (opts.customerIdField === 'email') return { customerId: standard.u_em, customerIdField: 'customer_id (email)' };
  if (opts.customerIdField === 'phone') return { customerId: standard.u_mb, customerIdField: 'customer_id (phone)' };
  if (opts.customerIdField) return { customerId: getPath(defaults.body, opts.customerIdField), customerIdField: `customer_id (${opts.customerIdField})` };
  return { customerId: defaults.customerId, customerIdField: 'customer_id' };
}

export interface DeletionDefaults {
  /** The source's default customer_id of the deleted user (as its updates would use it). */
  customerId: unknown;
  /** The parsed body, for an operator-chosen `customerIdField` dot path. */
  body: unknown;
  /**
   * What the deletion body says of the user's email / phone (the values an update would map to
   * `u_em` / `u_mb`), for `customerIdField: email | phone`. Absent: the body does not carry them.
   */
  standard?: { u_em?: string | undefined; u_mb?: string | undefined };
  /** The event type, for the `ignored` reason. */
  eventType: string;
}

/**
 * A provider's deletion event with `deleteUsers` on: one MoEngage Delete User call for the
 * customer_id an update of the same user would carry (same `customerIdField`, same
 * normalisation), with the same FIFO / state key. When the deletion body does not carry what
 * the customer_id comes from (a Clerk deletion has no email, for instance), the event is
 * ignored with a reason rather than refused: a provider retries a 4xx, and no retry would
 * ever carry the missing field.
 */
export function finishDeletion(ctx: SourceContext, defaults: DeletionDefaults): Mapped {
  const { customerId: raw, customerIdField } = chooseCustomerId(ctx.options, defaults.standard ?? {}, defaults);
  const unresolved = (why: string): Mapped => ({
    kind: 'ignored',
    reason: `${defaults.eventType} not propagated: ${why}; MoEngage's Delete User API needs the user's customer_id (delete the user in MoEngage by hand)`,
  });
  if (typeof raw === 'number' && !Number.isSafeInteger(raw)) return unresolved(`${customerIdField} is a number too large to be exact`);
  const customerId = typeof raw === 'string' || (typeof raw === 'number' && Number.isFinite(raw)) ? str(raw) : undefined;
  if (customerId === undefined) return unresolved(`the deletion carries no ${customerIdField}`);
  // The same normalisation as an update's customer_id (trimmed; placeholders and oversized ids refused).
  const built = buildCustomerPayload({ customerId }, NO_RULES);
  if (!built.ok || built.payload.customer_id === undefined) {
    return unresolved(`${customerIdField} is not usable (${built.ok ? 'missing' : built.message})`);
  }
  const id = built.payload.customer_id;
  return { kind: 'delete', customerId: id, customerKey: id };
}

/**
 * Applies the operator's options and identity resolution to a mapper's input, then builds
 * and validates the MoEngage payload. Every source ends its map() here.
 */
export function finishMapping(input: CustomerInput, ctx: SourceContext, defaults: MappingDefaults): Mapped {
  const opts = ctx.options;
  const standard = input.standard ?? {};
  const { customerId, customerIdField } = chooseCustomerId(opts, standard, defaults);
  if (typeof customerId === 'number' && !Number.isSafeInteger(customerId)) {
    // 9007199254740993 arrives as ...992: another user's id. Refuse rather than merge users.
    return { kind: 'rejected', field: customerIdField, message: 'customer_id is a number too large to be exact; send it as a string' };
  }
  const identifiers = identityIdentifiers(ctx.identityResolution, standard);
  // Every field of CustomerInput, written out: `{ ...input, customerId, custom, ... }` (a spread
  // followed by keys it already copied) tripled map's time and doubled the receiver's on Node 20
  // (npm run bench -- --only hot-path: standard 4.5x -> 9.3x the floor, every source worse).
  const full: CustomerInput = {
    customerId: str(customerId),
    standard: input.standard,
    custom: opts.customAttributes || defaults.explicitCustom ? input.custom : undefined,
    identifiers,
    updateExistingOnly: opts.updateExistingOnly ?? input.updateExistingOnly,
    platforms: input.platforms,
    addToArray: input.addToArray,
    removeFromArray: input.removeFromArray,
    isCreate: defaults.isCreate ?? input.isCreate,
  };
  const result = buildCustomerPayload(full, ctx.identityResolution ? { identityIdentifiers: Object.keys(ctx.identityResolution.identifiers) } : NO_RULES);
  if (!result.ok) {
    const field = result.field === 'customer_id' ? customerIdField : result.field;
    return { kind: 'rejected', field, message: result.message };
  }
  const customerKey = result.payload.customer_id ?? (identifiers ? keyIdentifier(identifiers)?.entry : undefined);
  if (!customerKey) return { kind: 'rejected', field: customerIdField, message: 'no user identity: customer_id is missing' };
  return { kind: 'payload', payload: result.payload, customerKey, dropped: result.dropped };
}

function identityIdentifiers(
  ir: IdentityResolutionConfig | undefined,
  standard: NonNullable<CustomerInput['standard']>,
): Record<string, unknown> | undefined {
  if (!ir) return undefined;
  const out: Record<string, unknown> = {};
  for (const [identifier, fromKey] of Object.entries(ir.identifiers)) {
    const value = (standard as Record<string, unknown>)[fromKey];
    if (value !== undefined && value !== null && value !== '') out[identifier] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
