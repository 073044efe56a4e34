/**
 * The MoEngage emulator's acceptance rules: what MoEngage's documentation says its Data API does
 * with a payload, written here on their own so that the emulator judges the adapter with a
 * second implementation, never with the adapter's own validator (functions/core/moengage). This
 * module imports nothing from functions/ (test/unit/moengage-rules.test.ts checks it, and shows
 * every place where the two implementations disagree).
 *
 * Sources, quoted beside each rule:
 * - [user-api] the User API (Track User) document, ../shared/seeds/moengage-user-api.txt, by line;
 * - [facts] the project's list of MoEngage facts: blocked customer_id values; attribute names
 *   `id`, `_id` and empty refused; datetimes `YYYY-MM-DDTHH:mm:ssZ` or `YYYY-MM-DD`; arrays of at
 *   most 50 values of one type; values cut at 512 characters; Bulk Import at most 100 KB per
 *   call, always answered 200; a Track User 200 whose body says `"status":"fail"` is a failure;
 * - [policy] MoEngage's "Data Tracking Policies" help page ("User attribute value length | 512 |
 *   Store the first 512 characters only"; "Attribute values sent as dictionary data types will
 *   be rejected"; "Arrays must be homogeneous");
 * - [bulk] MoEngage's Bulk Import reference ("a batch request of a maximum of 100 kB in a single
 *   API call"; "All bulk API requests return a 200 response code").
 *
 * What MoEngage does with a bad value follows the documents: a request the User API document
 * calls bad ("required parameters are missing from the request, attributes are not found, and
 * incorrect values are passed", [user-api] 145) is refused with 400 and an error body of the
 * documented shape; a string value that is only too long is accepted and cut ("Store the first
 * 512 characters only"); a create-only attribute sent for an existing user is accepted and not
 * applied ("Update through Track User API: no"); a bad Bulk Import element is accepted with the
 * request (200) and never applied ("All bulk API requests return a 200 response code. Debugging
 * should be done on the user profile on the dashboard"). Where a document names a value without
 * saying how it is compared, the rule takes it literally (exact spelling and case).
 *
 * Pure: no I/O, no clock.
 */

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

/**
 * [user-api] 157: "This response is returned when the payload size exceeds 128 KB." Read as
 * 128,000 bytes, the smaller reading (as Bulk Import's 100 KB, contract.md).
 */
export const TRACK_USER_MAX_BODY_BYTES = 128_000;
/** Create Event: taken as Track User's (the User API document is the only size given). */
export const CREATE_EVENT_MAX_BODY_BYTES = 128_000;
/** [bulk] "a batch request of a maximum of 100 kB in a single API call" (contract.md: 100,000 bytes). */
export const BULK_IMPORT_MAX_BODY_BYTES = 100_000;
/** [facts] "values cut at 512 chars"; [policy] "User attribute value length | 512 | Store the first 512 characters only". */
const MAX_VALUE_CHARS = 512;
/** [facts] "arrays ≤ 50 values"; [policy] "up to 50 elements in each array". */
const MAX_ARRAY_VALUES = 50;

// ---------------------------------------------------------------------------------------------
// Names and values from the documents
// ---------------------------------------------------------------------------------------------

/**
 * [facts] the customer_id values MoEngage blocks (they would merge unrelated users), compared
 * trimmed and lower-cased: the list is written in lower case and `Unknown` is the same
 * placeholder as `unknown`.
 */
export const BLOCKED_CUSTOMER_IDS: ReadonlySet<string> = new Set([
  'unknown', 'guest', 'null', '0', '1', '-1', 'true', 'false', 'na', 'n/a', 'none', 'id', 'uid', 'userid', 'user_id', 'customer_id',
]);

/** [user-api] 110-132 "Reserved Keywords for User Attributes ... keys that should not be used" (exact spellings). */
export const RESERVED_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set([
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
]);

/** [facts] "attribute names `id`, `_id` and empty refused". */
const REFUSED_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set(['', 'id', '_id']);

/** [user-api] 134: 'You can not use "moe_" as a prefix while naming events, event attributes, or user attributes.' */
const SYSTEM_PREFIX = 'moe_';

/**
 * [user-api] 76-91 "Standard User Attributes": key → documented data type. `Create through
 * Track User API: yes, Update: no` for publisher_name, campaign_name, u_l_a and cr_t.
 */
const STANDARD_ATTRIBUTES: ReadonlyMap<string, 'string' | 'epoch' | 'datetime'> = new Map([
  ['publisher_name', 'string'],
  ['campaign_name', 'string'],
  ['u_l_a', 'epoch'], // "Time in epoch format | 1767092989259"
  ['cr_t', 'epoch'],
  ['u_mb', 'string'],
  ['uid', 'string'],
  ['u_bd', 'datetime'], // "Information in ISO 8601 format ... For example: 2019-05-21T03:47:35Z"
  ['u_em', 'string'],
  ['u_n', 'string'],
  ['u_ln', 'string'],
  ['u_gd', 'string'],
  ['u_fn', 'string'],
]);

/** [user-api] 78-81: "Update through Track User API | no": applied when the payload creates the user, ignored after. */
export const CREATE_ONLY_ATTRIBUTES: ReadonlySet<string> = new Set(['publisher_name', 'campaign_name', 'u_l_a', 'cr_t']);

/** [user-api] 60-71 "Request Body Fields": type, customer_id, update_existing_only, attributes, platforms. */
const BODY_FIELDS: ReadonlySet<string> = new Set(['type', 'customer_id', 'update_existing_only', 'attributes', 'platforms']);

/** [user-api] 71: "associated platforms out of ANDROID, iOS, and web". */
const PLATFORM_NAMES: ReadonlySet<string> = new Set(['ANDROID', 'iOS', 'web']);

/** [user-api] 316-318: the two array operations of `attributes`. */
const ARRAY_OPS = ['addValueToArrayField', 'removeValueFromArrayField'] as const;

// ---------------------------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------------------------

/** The `error` of MoEngage's documented failure body, without the request_id. */
export interface RuleError {
  type: 'MissingAttributeError' | 'InvalidAttributeError' | 'ArrayFieldError';
  /** The field, as a dotted path from the payload (e.g. `attributes.u_bd`). */
  attribute: string;
  message: string;
}

export type CustomerVerdict =
  | {
      ok: true;
      /**
       * The attributes as MoEngage keeps them: strings longer than 512 characters cut (in plain
       * values, arrays and array operations), the top-level `platforms` list folded into them.
       */
      stored: Record<string, unknown>;
      /** Attribute paths whose values were cut. */
      cut: string[];
    }
  | { ok: false; error: RuleError };

export type EventVerdict = { ok: true } | { ok: false; error: RuleError };

export interface CustomerRules {
  /** [user-api] 327: the identity-resolution identifiers activated in the workspace (e.g. moe_mobile). */
  identityIdentifiers?: readonly string[];
}

class Refusal {
  constructor(readonly error: RuleError) {}
}

function refuse(type: RuleError['type'], attribute: string, message: string): never {
  throw new Refusal({ type, attribute, message });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/** The first 512 characters (code points) of `s`, and whether it was longer. */
function cutValue(s: string): { value: string; cut: boolean } {
  if (s.length <= MAX_VALUE_CHARS) return { value: s, cut: false };
  const chars = Array.from(s);
  if (chars.length <= MAX_VALUE_CHARS) return { value: s, cut: false };
  return { value: chars.slice(0, MAX_VALUE_CHARS).join(''), cut: true };
}

const DATE_FORM = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_FORM = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/**
 * [facts] "datetimes `YYYY-MM-DDTHH:mm:ssZ` or `YYYY-MM-DD`" naming a real day and time
 * ([user-api] 101 "expiry_date":"2020-05-31T03:47:35Z" is "a date type attribute").
 */
export function isDocumentedDateTime(s: string): boolean {
  const m = DATETIME_FORM.exec(s) ?? DATE_FORM.exec(s);
  if (!m) return false;
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1).map(Number) as number[];
  if (hour > 23 || minute > 59 || second > 59) return false;
  const d = new Date(0);
  d.setUTCFullYear(year as number, (month as number) - 1, day as number);
  return d.getUTCFullYear() === year && d.getUTCMonth() === (month as number) - 1 && d.getUTCDate() === day;
}

type Kind = 'string' | 'number' | 'boolean';

function primitiveKind(value: unknown): Kind | undefined {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number' && Number.isFinite(value)) return 'number';
  if (typeof value === 'boolean') return 'boolean';
  return undefined;
}

/**
 * An array value: [facts] "arrays ≤ 50 values of one type"; [user-api] 307 `["abc","123"]`
 * (strings, numbers or booleans: the data types of [user-api] 94); each string cut at 512.
 */
function storedArray(values: unknown[], path: string, type: RuleError['type'], cut: string[]): unknown[] {
  if (values.length > MAX_ARRAY_VALUES) refuse(type, path, `an array holds at most ${MAX_ARRAY_VALUES} values`);
  let kind: Kind | undefined;
  let wasCut = false;
  const out = values.map((v) => {
    const k = primitiveKind(v);
    if (k === undefined) refuse(type, path, 'array values are strings, numbers or booleans');
    if (kind !== undefined && k !== kind) refuse(type, path, 'array values are all of one type');
    kind = k;
    if (typeof v !== 'string') return v;
    const c = cutValue(v);
    wasCut ||= c.cut;
    return c.value;
  });
  if (wasCut) cut.push(path);
  return out;
}

/** A custom attribute's value ([user-api] 94: "string, numeric, boolean, and date"; 307: arrays). */
function storedCustomValue(value: unknown, path: string, cut: string[]): unknown {
  if (Array.isArray(value)) return storedArray(value, path, 'InvalidAttributeError', cut);
  if (isObject(value)) refuse('InvalidAttributeError', path, 'dictionary values are rejected');
  const kind = primitiveKind(value);
  if (kind === undefined) refuse('InvalidAttributeError', path, 'a value is a string, a number, a boolean or an array of them');
  if (kind !== 'string') return value;
  const c = cutValue(value as string);
  if (c.cut) cut.push(path);
  return c.value;
}

/** A standard attribute's value, by its documented data type ([user-api] 76-91). */
function storedStandardValue(name: string, value: unknown, path: string, cut: string[]): unknown {
  const type = STANDARD_ATTRIBUTES.get(name);
  if (type === 'epoch') {
    if (!(typeof value === 'number' && Number.isInteger(value))) refuse('InvalidAttributeError', path, `${name} is a time in epoch format (e.g. 1767092989259)`);
    return value;
  }
  if (typeof value !== 'string') refuse('InvalidAttributeError', path, `${name} is a String`);
  if (type === 'datetime') {
    if (!isDocumentedDateTime(value)) refuse('InvalidAttributeError', path, `${name} is a date: YYYY-MM-DDTHH:mm:ssZ or YYYY-MM-DD`);
    return value;
  }
  const c = cutValue(value);
  if (c.cut) cut.push(path);
  return c.value;
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/** Why an attribute name is refused ([facts], [user-api] 110-134), or undefined. */
function nameProblem(name: string, identifiers: ReadonlySet<string>): string | undefined {
  if (REFUSED_ATTRIBUTE_NAMES.has(name)) return name === '' ? 'attribute names can not be empty' : `"${name}" can not be an attribute name`;
  if (RESERVED_ATTRIBUTE_NAMES.has(name)) return `"${name}" is a reserved keyword`;
  if (name.startsWith(SYSTEM_PREFIX) && !identifiers.has(name)) return `"${SYSTEM_PREFIX}" is a system prefix`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Track User
// ---------------------------------------------------------------------------------------------

/**
 * [user-api] 56, 71, 104: `[{"platform":"ANDROID", "active":"true"}]`, a list of dictionaries
 * with the platform (ANDROID, iOS or web) and its status.
 */
function checkPlatforms(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) refuse('InvalidAttributeError', path, 'platforms is a list of {"platform", "active"}');
  value.forEach((entry: unknown, i) => {
    const at = `${path}.${i}`;
    if (!isObject(entry)) refuse('InvalidAttributeError', at, 'a platform is a dictionary {"platform", "active"}');
    for (const key of Object.keys(entry)) {
      if (key !== 'platform' && key !== 'active') refuse('InvalidAttributeError', `${at}.${key}`, 'a platform holds "platform" and "active" only');
    }
    if (typeof entry.platform !== 'string' || !PLATFORM_NAMES.has(entry.platform)) refuse('InvalidAttributeError', `${at}.platform`, 'platform is one of ANDROID, iOS, web');
    if (entry.active !== 'true' && entry.active !== 'false') refuse('InvalidAttributeError', `${at}.active`, 'active is "true" or "false"');
  });
  return value;
}

/** [user-api] 305-325 "Array Support": `addValueToArrayField` / `removeValueFromArrayField`. */
function storedArrayOp(op: (typeof ARRAY_OPS)[number], value: unknown, identifiers: ReadonlySet<string>, cut: string[]): Record<string, unknown> {
  const path = `attributes.${op}`;
  if (!isObject(value)) refuse('ArrayFieldError', path, `${op} is a dictionary of attribute name -> list of values`);
  const out: Record<string, unknown> = {};
  for (const [name, values] of Object.entries(value)) {
    const at = `${path}.${name}`;
    const problem = nameProblem(name, identifiers);
    if (problem) refuse('ArrayFieldError', at, problem);
    // Attributes with a structure or a scalar type of their own are not arrays.
    if (name === 'platforms' || (ARRAY_OPS as readonly string[]).includes(name) || STANDARD_ATTRIBUTES.has(name)) {
      refuse('ArrayFieldError', at, `${name} is not an array attribute`);
    }
    if (!Array.isArray(values)) refuse('ArrayFieldError', at, `${op} takes a list of values per attribute`);
    out[name] = storedArray(values, at, 'ArrayFieldError', cut);
  }
  return out;
}

/**
 * Judges one Track User payload (or Bulk Import customer element) as MoEngage's documentation
 * describes it. Never throws.
 */
export function judgeCustomer(payload: unknown, rules: CustomerRules = {}): CustomerVerdict {
  try {
    return judge(payload, new Set(rules.identityIdentifiers ?? []));
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, error: err.error };
    throw err;
  }
}

function judge(payload: unknown, identifiers: ReadonlySet<string>): CustomerVerdict {
  if (!isObject(payload)) refuse('MissingAttributeError', 'customer_id', 'customer_id is not found in the payload');
  // [user-api] 63: "Allowed Value: customer ... This field is case-sensitive."
  if (payload.type === undefined) refuse('MissingAttributeError', 'type', 'type is not found in the payload');
  if (payload.type !== 'customer') refuse('MissingAttributeError', 'type', "type must be 'customer'");
  for (const key of Object.keys(payload)) {
    if (!BODY_FIELDS.has(key)) refuse('InvalidAttributeError', key, `${key} is not a field of the request body`);
  }

  const attributes = payload.attributes;
  // [user-api] 70: "attributes | JSON Object | Optional".
  if (attributes !== undefined && !isObject(attributes)) refuse('InvalidAttributeError', 'attributes', 'attributes must be a JSON object');

  // [user-api] 64-65: "customer_id | String | Yes ... Not mandatory in Identity resolution enabled
  // workspaces"; 327: "the attribute parameters in the payload must contain at least one of the
  // identifiers you have activated"; 176-195: the two documented bodies.
  const cid = payload.customer_id;
  if (cid === undefined || cid === null) {
    const identified = [...identifiers].some((id) => {
      const v = attributes?.[id];
      return typeof v === 'string' && v.trim() !== '';
    });
    if (!identified) refuse('MissingAttributeError', 'customer_id', 'customer_id is not found in the payload');
  } else {
    // "customer_id can not be empty Unicode String": what is not a (non-empty) string gets that answer.
    if (typeof cid !== 'string' || cid.trim() === '') refuse('MissingAttributeError', 'customer_id', 'customer_id can not be empty Unicode String');
    if (BLOCKED_CUSTOMER_IDS.has(cid.trim().toLowerCase())) refuse('InvalidAttributeError', 'customer_id', 'customer_id is a blocked value');
  }

  // [user-api] 66: "update_existing_only | Boolean/String"; 98: "update_existing_only":"true".
  const ueo = payload.update_existing_only;
  if (ueo !== undefined && typeof ueo !== 'boolean' && ueo !== 'true' && ueo !== 'false') {
    refuse('InvalidAttributeError', 'update_existing_only', 'update_existing_only is true or false');
  }

  const cut: string[] = [];
  const stored: Record<string, unknown> = {};
  // [user-api] 71: "platforms | List | Optional", a field of the body; every example puts it in attributes.
  if (payload.platforms !== undefined) stored.platforms = checkPlatforms(payload.platforms, 'platforms');

  for (const [name, value] of Object.entries(attributes ?? {})) {
    const path = `attributes.${name}`;
    if (name === 'platforms') {
      stored.platforms = checkPlatforms(value, path);
    } else if (name === 'addValueToArrayField' || name === 'removeValueFromArrayField') {
      stored[name] = storedArrayOp(name, value, identifiers, cut);
    } else {
      const problem = nameProblem(name, identifiers);
      if (problem) refuse('InvalidAttributeError', path, problem);
      if (STANDARD_ATTRIBUTES.has(name)) stored[name] = storedStandardValue(name, value, path, cut);
      else if (identifiers.has(name)) {
        // [user-api] 331: "moe_mobile": "{{Mobile_Number}}", an identifier is a string.
        if (typeof value !== 'string') refuse('InvalidAttributeError', path, `${name} is a String`);
        const c = cutValue(value);
        if (c.cut) cut.push(path);
        stored[name] = c.value;
      } else stored[name] = storedCustomValue(value, path, cut);
    }
  }

  // [user-api] 197-205: the documented ArrayFieldError.
  const add = stored.addValueToArrayField as Record<string, unknown> | undefined;
  const remove = stored.removeValueFromArrayField as Record<string, unknown> | undefined;
  if (add && remove) {
    const both = Object.keys(add).find((k) => Object.prototype.hasOwnProperty.call(remove, k));
    if (both !== undefined) refuse('ArrayFieldError', 'addValueToArrayField', `Cannot add and remove '${both}' at the same time`);
  }
  return { ok: true, stored, cut };
}

// ---------------------------------------------------------------------------------------------
// Create Event (not in the User API document: MoEngage's Create Event reference, as the
// emulator has always judged it)
// ---------------------------------------------------------------------------------------------

const EVENT_PLATFORMS = new Set(['android', 'ios', 'web', 'unknown']);
/** Create Event `user_timezone_offset` range, in seconds. */
const MAX_TIMEZONE_OFFSET_SECONDS = 54_000;

/** A Create Event time: epoch seconds, or an ISO 8601 string. */
function isEventTime(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0;
  return typeof value === 'string' && (/^\d+$/.test(value) || !Number.isNaN(Date.parse(value)));
}

/** Judges one Create Event payload (or Bulk Import event element). Never throws. */
export function judgeEvent(payload: unknown): EventVerdict {
  const invalid = (attribute: string, message: string): EventVerdict => ({ ok: false, error: { type: 'InvalidAttributeError', attribute, message } });
  const missing = (attribute: string, message: string): EventVerdict => ({ ok: false, error: { type: 'MissingAttributeError', attribute, message } });
  if (!isObject(payload)) return missing('type', 'type is not found in the payload');
  if (payload.type !== 'event') return payload.type === undefined ? missing('type', 'type is not found in the payload') : missing('type', "type must be 'event'");
  const cid = payload.customer_id;
  if (cid === undefined || cid === null) return missing('customer_id', 'customer_id is not found in the payload');
  if (typeof cid !== 'string' || cid.trim() === '') return missing('customer_id', 'customer_id can not be empty Unicode String');
  const actions = payload.actions;
  if (!Array.isArray(actions) || actions.length === 0) return missing('actions', 'actions is not found in the payload');
  for (let i = 0; i < actions.length; i++) {
    const a: unknown = actions[i];
    const path = `actions.${i}.`;
    if (!isObject(a) || typeof a.action !== 'string' || a.action.trim() === '') return missing(`${path}action`, 'action is not found in the payload');
    if (a.attributes !== undefined && !isObject(a.attributes)) return invalid(`${path}attributes`, 'attributes must be a JSON object');
    if (a.platform !== undefined && !(typeof a.platform === 'string' && EVENT_PLATFORMS.has(a.platform.toLowerCase()))) {
      return invalid(`${path}platform`, 'platform must be one of ANDROID, iOS, web or unknown');
    }
    for (const field of ['current_time', 'user_time'] as const) {
      if (a[field] !== undefined && !isEventTime(a[field])) return invalid(`${path}${field}`, `${field} must be epoch seconds or an ISO 8601 time`);
    }
    const offset = a.user_timezone_offset;
    if (offset !== undefined && !(typeof offset === 'number' && Math.abs(offset) <= MAX_TIMEZONE_OFFSET_SECONDS)) {
      return invalid(`${path}user_timezone_offset`, `user_timezone_offset must be a number of seconds between -${MAX_TIMEZONE_OFFSET_SECONDS} and ${MAX_TIMEZONE_OFFSET_SECONDS}`);
    }
  }
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

/**
 * Whether an answer of MoEngage accepted the request: [user-api] 139-141 "200 | Success"; [facts]
 * "Track User 200 with body `"status":"fail"` is a failure" (the documented failure bodies all
 * carry `"status": "fail"`, [user-api] 176-286).
 */
export function isAcceptedAnswer(status: number, body: unknown): boolean {
  if (status !== 200) return false;
  return !(isObject(body) && body.status === 'fail');
}
