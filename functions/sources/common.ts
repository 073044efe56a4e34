/**
 * Helpers shared by the source mappers: safe JSON parsing, dot paths, the operator's
 * customer_id choice, identity resolution and the final payload build.
 */
import { isUtf8 } from 'node:buffer';
import type { IdentityResolutionConfig } from '../core/config';
import { buildCustomerPayload } from '../core/moengage/payload';
import { STANDARD_ATTRIBUTE_KEYS, type CustomerInput, type PayloadRules } from '../core/moengage/types';
import type { Mapped, SourceContext, WebhookRequest } from './types';

/** Largest nesting depth accepted in a webhook body. Deeper bodies are refused (400) before parsing. */
export const MAX_JSON_DEPTH = 64;

/** Reads a header (names are lower-case in WebhookRequest). */
export function header(req: WebhookRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return v === undefined || v === '' ? undefined : v;
}

/** Counts the nesting depth of JSON text without parsing it (strings skipped), stopping early past `limit`. */
export function jsonDepthExceeds(text: string, limit: number): boolean {
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
export function valueDepthExceeds(value: unknown, limit: number): boolean {
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
  let cur: unknown = root;
  for (const seg of path.split('.')) {
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(seg)) return undefined;
      cur = cur[Number(seg)];
    } else if (isRecord(cur)) {
      if (!Object.prototype.hasOwnProperty.call(cur, seg)) return undefined;
      cur = cur[seg];
    } else {
      return undefined;
    }
  }
  return cur;
}

/** A string field, or undefined (numbers are stringified; everything else is absent). */
export function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Converts epoch seconds / milliseconds / ISO strings into ISO 8601, or undefined. */
export function toIso(value: unknown): string | undefined {
  let d: Date;
  if (typeof value === 'number') {
    const ms = value < 1e12 ? value * 1000 : value;
    // The range of a Date (TimeClip): beyond it, or NaN / Infinity, there is no time to write.
    if (!(Math.abs(ms) <= 8.64e15)) return undefined;
    d = new Date(ms);
  } else if (typeof value === 'string' && value.length <= 64) {
    d = new Date(value);
  } else {
    return undefined;
  }
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
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
 * Applies the operator's options and identity resolution to a mapper's input, then builds
 * and validates the MoEngage payload. Every source ends its map() here.
 */
export function finishMapping(input: CustomerInput, ctx: SourceContext, defaults: MappingDefaults): Mapped {
  const opts = ctx.options;
  const standard = input.standard ?? {};
  let customerId: unknown = defaults.customerId;
  let customerIdField = 'customer_id';
  if (opts.customerIdField === 'email') {
    customerId = standard.u_em;
    customerIdField = 'customer_id (email)';
  } else if (opts.customerIdField === 'phone') {
    customerId = standard.u_mb;
    customerIdField = 'customer_id (phone)';
  } else if (opts.customerIdField) {
    customerId = getPath(defaults.body, opts.customerIdField);
    customerIdField = `customer_id (${opts.customerIdField})`;
  }
  if (typeof customerId === 'number' && !Number.isSafeInteger(customerId)) {
    // 9007199254740993 arrives as ...992: another user's id. Refuse rather than merge users.
    return { kind: 'rejected', field: customerIdField, message: 'customer_id is a number too large to be exact; send it as a string' };
  }
  const identifiers = identityIdentifiers(ctx.identityResolution, standard);
  // Every field of CustomerInput, written out (an object spread of `input` followed by
  // overrides is several times slower in V8, and this runs for every webhook).
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
  const customerKey =
    result.payload.customer_id ??
    Object.entries(identifiers ?? {})
      .map(([k, v]) => `${k}:${String(v)}`)
      .sort()[0];
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
