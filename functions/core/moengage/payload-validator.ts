/**
 * The strict validator of MoEngage Track User payloads: checks a payload from anywhere (tests,
 * the builder's property tests, the differential test against the emulator's own rules) as MoEngage will receive it,
 * size included. Pure: zod only. The rules follow ../shared/seeds/moengage-user-api.txt (the
 * MoEngage User API document); the naming rule is documented in payload-builder.ts.
 *
 * Rejections (`ok: false`, naming the field; the value is never echoed): a refused attribute
 * name (reserved keyword, `moe_` prefix other than an activated identifier, `id`, empty); a
 * create-only attribute when `isCreate` is false; a value of the wrong type or form (strings
 * over 512 characters, datetimes not in MoEngage's form, arrays over 50 values or of mixed
 * types, nested objects, null); malformed platforms / update_existing_only / array operations;
 * the same attribute both added to and removed from an array; no usable customer_id (unless an
 * activated identifier has a value); a payload over 128 KB.
 */
import * as z from 'zod/mini';
import { ensureZodLocale } from '../config';
import {
  CREATE_ONLY_KEY_SET,
  EPOCH_ATTRIBUTE_KEY_SET,
  MAX_ARRAY_VALUES,
  MAX_STRING_LENGTH,
  PLACEHOLDER_CUSTOMER_ID_MESSAGE,
  PLATFORM_NAMES,
  STANDARD_KEY_SET,
  arrayOpNameProblem,
  customerIdRequiredMessage,
  exceedsMaxChars,
  hasIdentifierValue,
  identifierSet,
  isBlockedCustomerId,
  isCanonicalDateTime,
  isEpochMillis,
  isPlainObject,
  looksLikeDateTime,
  nameProblem,
  nameProblemMessage,
  payloadTooLargeMessage,
  rejectPayload,
  type ArrayOp,
} from './attributes';
import { MAX_PAYLOAD_BYTES } from './limits';
import type { CustomerPayload, PayloadResult, PayloadRules } from './types';

/** Validation options: the payload rules, plus whether the payload creates the user. */
export interface ValidateOptions extends PayloadRules {
  /**
   * `false`: the create-only attributes (u_l_a, cr_t, publisher_name, campaign_name) are refused.
   * `true` or absent (the sender and the emulator cannot know): they are accepted, type-checked.
   */
  isCreate?: boolean;
}

ensureZodLocale();

/** The parts of the payload schema, built on first use. */
function buildSchemaParts() {
  const platform = z.strictObject(
    {
      platform: z.enum(PLATFORM_NAMES, { error: 'platform must be one of ANDROID, iOS, web' }),
      active: z.enum(['true', 'false'], { error: 'active must be the string "true" or "false"' }),
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? `a platform entry holds only "platform" and "active" (found "${iss.keys[0] ?? ''}")`
          : 'a platform entry must be an object {"platform": ..., "active": ...}',
    },
  );
  const platforms = z.array(platform, { error: 'platforms must be a list of {"platform", "active"} objects' });

  const customerId = z
    .string({ error: 'customer_id must be a string' })
    .check(
      z.refine((s) => s.trim() !== '', 'customer_id can not be empty'),
      z.refine(
        (s) => s.trim() === '' || !isBlockedCustomerId(s),
        PLACEHOLDER_CUSTOMER_ID_MESSAGE,
      ),
      z.refine((s) => !exceedsMaxChars(s), `customer_id must be at most ${MAX_STRING_LENGTH} characters`),
    );

  const updateExistingOnly = z.union([z.boolean(), z.enum(['true', 'false'])], {
    error: 'update_existing_only must be true or false',
  });
  return { platforms, customerId, updateExistingOnly };
}

let schemaParts: ReturnType<typeof buildSchemaParts> | undefined;

function parts(): ReturnType<typeof buildSchemaParts> {
  return (schemaParts ??= buildSchemaParts());
}

type Ctx = z.core.$RefinementCtx;
type Path = (string | number)[];

function issue(ctx: Ctx, path: Path, message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}

const DATETIME_FORM_MESSAGE = 'datetimes must be YYYY-MM-DDTHH:mm:ssZ or YYYY-MM-DD (a valid date)';
const STRING_LENGTH_MESSAGE = `strings must be at most ${MAX_STRING_LENGTH} characters`;

function checkString(ctx: Ctx, path: Path, s: string): void {
  if (exceedsMaxChars(s)) issue(ctx, path, STRING_LENGTH_MESSAGE);
  else if (looksLikeDateTime(s) && !isCanonicalDateTime(s)) issue(ctx, path, DATETIME_FORM_MESSAGE);
}

function checkPrimitive(ctx: Ctx, path: Path, value: unknown, what: string): boolean {
  if (typeof value === 'string') {
    checkString(ctx, path, value);
    return true;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) issue(ctx, path, `${what} must be a finite number`);
    return true;
  }
  if (typeof value === 'boolean') return true;
  return false;
}

function checkArray(ctx: Ctx, path: Path, values: unknown[]): void {
  if (values.length > MAX_ARRAY_VALUES) {
    issue(ctx, path, `arrays hold at most ${MAX_ARRAY_VALUES} values`);
    return;
  }
  let type: string | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!checkPrimitive(ctx, [...path, i], v, 'array values')) {
      issue(ctx, [...path, i], 'array values must be strings, numbers or booleans');
      return;
    }
    if (type === undefined) type = typeof v;
    else if (typeof v !== type) {
      issue(ctx, path, 'array values must all be of one type');
      return;
    }
  }
}

function checkCustomValue(ctx: Ctx, path: Path, value: unknown): void {
  if (Array.isArray(value)) {
    checkArray(ctx, path, value);
    return;
  }
  if (!checkPrimitive(ctx, path, value, 'attribute values')) {
    issue(ctx, path, 'attribute values must be a string, number, boolean or an array of them (no nested objects, no null)');
  }
}

function checkArrayOp(ctx: Ctx, op: ArrayOp, value: unknown, identifiers: ReadonlySet<string>): void {
  if (!isPlainObject(value)) {
    issue(ctx, [op], `${op} must be an object of attribute name -> array of values`);
    return;
  }
  for (const key of Object.keys(value)) {
    const path = [op, key];
    if (key === 'platforms') {
      issue(ctx, path, `platforms cannot be changed through ${op}`);
      continue;
    }
    const problem = arrayOpNameProblem(key, identifiers);
    if (problem) {
      issue(ctx, path, nameProblemMessage(key, problem));
      continue;
    }
    const values = value[key];
    if (!Array.isArray(values)) {
      issue(ctx, path, `${op} values must be arrays`);
      continue;
    }
    checkArray(ctx, path, values);
  }
}

function checkAttributes(raw: unknown, ctx: Ctx, identifiers: ReadonlySet<string>, isCreate: boolean | undefined): void {
  if (!isPlainObject(raw)) {
    issue(ctx, [], 'attributes must be a JSON object');
    return;
  }
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    const path = [key];
    if (key === 'platforms') {
      const parsed = parts().platforms.safeParse(value);
      if (!parsed.success) {
        for (const i of parsed.error.issues) {
          const sub = i.path as Path;
          const extra = i.code === 'unrecognized_keys' && i.keys[0] !== undefined ? [i.keys[0]] : [];
          issue(ctx, [key, ...sub, ...extra], i.message);
        }
      }
      continue;
    }
    if (key === 'addValueToArrayField' || key === 'removeValueFromArrayField') {
      checkArrayOp(ctx, key, value, identifiers);
      continue;
    }
    const problem = nameProblem(key, identifiers);
    if (problem) {
      issue(ctx, path, nameProblemMessage(key, problem));
      continue;
    }
    if (CREATE_ONLY_KEY_SET.has(key) && isCreate === false) {
      issue(ctx, path, `${key} can only be set when the user is created`);
      continue;
    }
    if (EPOCH_ATTRIBUTE_KEY_SET.has(key)) {
      if (!isEpochMillis(value)) issue(ctx, path, `${key} must be a time in epoch milliseconds`);
    } else if (key === 'u_bd') {
      if (typeof value !== 'string' || !isCanonicalDateTime(value)) issue(ctx, path, `u_bd must be a date: ${DATETIME_FORM_MESSAGE}`);
    } else if (STANDARD_KEY_SET.has(key) || CREATE_ONLY_KEY_SET.has(key) || identifiers.has(key)) {
      if (typeof value !== 'string') issue(ctx, path, `${key} must be a string`);
      else checkString(ctx, path, value);
    } else {
      checkCustomValue(ctx, path, value);
    }
  }
  const add = raw.addValueToArrayField;
  const remove = raw.removeValueFromArrayField;
  if (isPlainObject(add) && isPlainObject(remove)) {
    for (const key of Object.keys(add)) {
      if (Object.prototype.hasOwnProperty.call(remove, key)) {
        issue(ctx, ['addValueToArrayField', key], `cannot add and remove '${key}' at the same time`);
      }
    }
  }
}


/**
 * The payload schema for the given identity-resolution identifiers. `isCreate: false` refuses the
 * create-only attributes. Output is the (JSON) input itself when valid.
 */
export function createCustomerPayloadSchema(rules?: ValidateOptions): z.ZodMiniType<CustomerPayload> {
  const identifiers = identifierSet(rules);
  const isCreate = rules?.isCreate;
  const { customerId: customerIdSchema, updateExistingOnly: updateExistingOnlySchema } = parts();
  const attributesSchema = z.unknown().check(z.superRefine((raw, ctx) => checkAttributes(raw, ctx, identifiers, isCreate)));
  return z
    .strictObject(
      {
        type: z.literal('customer', { error: 'type must be "customer" (case-sensitive)' }),
        customer_id: z.optional(customerIdSchema),
        update_existing_only: z.optional(updateExistingOnlySchema),
        attributes: z.optional(attributesSchema),
      },
      {
        error: (iss) => {
          if (iss.code !== 'unrecognized_keys') return 'the payload must be a JSON object';
          const key = iss.keys[0] ?? '';
          return key === 'platforms'
            ? 'platforms belongs inside attributes'
            : `"${key}" is not a field of the MoEngage customer payload`;
        },
      },
    )
    .check(
      z.superRefine((p, ctx) => {
        if (p.customer_id === undefined && !hasIdentifierValue(p.attributes, identifiers)) {
          issue(ctx, ['customer_id'], customerIdRequiredMessage(identifiers));
        }
      }),
    ) as unknown as z.ZodMiniType<CustomerPayload>;
}

/** The schema without identity resolution (customer_id required); marked pure: a bundle that does not use it leaves it out. */
export const customerPayloadSchema = /* @__PURE__ */ createCustomerPayloadSchema();

const schemaCache = new Map<string, z.ZodMiniType<CustomerPayload>>();
const SCHEMA_CACHE_LIMIT = 32;

function schemaFor(rules?: ValidateOptions): z.ZodMiniType<CustomerPayload> {
  const ids = [...identifierSet(rules)].sort();
  const isCreate = rules?.isCreate;
  if (ids.length === 0 && isCreate === undefined) return customerPayloadSchema;
  const key = JSON.stringify([ids, isCreate ?? null]);
  let schema = schemaCache.get(key);
  if (!schema) {
    schema = createCustomerPayloadSchema({ identityIdentifiers: ids, isCreate });
    if (schemaCache.size >= SCHEMA_CACHE_LIMIT) schemaCache.clear();
    schemaCache.set(key, schema);
  }
  return schema;
}

function firstIssue(error: z.core.$ZodError): { field: string; message: string } {
  const first = error.issues[0];
  if (!first) return { field: 'payload', message: 'the payload is not a valid MoEngage customer payload' };
  const path = first.path.map((p) => String(p));
  if (first.code === 'unrecognized_keys' && first.keys[0] !== undefined) path.push(first.keys[0]);
  return { field: path.length > 0 ? path.join('.') : 'payload', message: first.message };
}

/**
 * Strict check of a built payload, as MoEngage will receive it (the JSON serialization of
 * `payload`), including its size. Never throws; never echoes a value in its message.
 */
export function validateCustomerPayload(payload: unknown, rules?: ValidateOptions): PayloadResult {
  try {
    let serialized: string | undefined;
    try {
      serialized = JSON.stringify(payload);
    } catch {
      return rejectPayload('payload', 'the payload cannot be serialized as JSON');
    }
    if (typeof serialized !== 'string') return rejectPayload('payload', 'the payload must be a JSON object');
    const bytes = Buffer.byteLength(serialized, 'utf8');
    if (bytes > MAX_PAYLOAD_BYTES) return rejectPayload('payload', payloadTooLargeMessage(bytes));
    const wire: unknown = JSON.parse(serialized);
    const parsed = schemaFor(rules).safeParse(wire);
    if (!parsed.success) {
      const { field, message } = firstIssue(parsed.error);
      return rejectPayload(field, message);
    }
    return { ok: true, payload: wire as CustomerPayload, dropped: [] };
  } catch {
    return rejectPayload('payload', 'the payload could not be validated');
  }
}
