/**
 * Any Standard Webhooks sender (https://www.standardwebhooks.com), mapped declaratively.
 *
 * Signature: headers `webhook-id`, `webhook-timestamp` (epoch seconds), `webhook-signature`
 * (space-separated `v1,<base64>`); HMAC-SHA256 over `${id}.${timestamp}.${rawBody}` keyed with
 * the base64-decoded part of a `whsec_…` secret; timestamp within ±300 s by default
 * (`toleranceSeconds` overrides); several signatures and several secrets accepted (rotation).
 *
 * Event id: the `webhook-id` header (the spec makes it the idempotency key, unchanged on
 * retries). Event type: the value at `mapping.eventTypePath` (default `type`, the spec's
 * recommended payload shape `{type, timestamp, data}`); occurredAtMs: the value at
 * `mapping.occurredAtPath`, else the body's `timestamp`.
 *
 * Everything else comes from the operator's mapping (`sources.standard.mapping`, see
 * `standardMappingSchema` in core/config.ts):
 * - only types listed in `events` are acted on; others are ignored (200);
 * - customer_id is read at `customerId` (the source option `customerIdField` still overrides);
 * - `attributes` maps a MoEngage attribute key to a body path: standard keys (`u_em`, `u_mb`,
 *   `u_fn`, `u_ln`, `u_n`, `u_gd`, `u_bd`, `uid`) become standard attributes, any other key a
 *   custom attribute (objects are flattened by the payload builder's rule);
 * - `constants` sets fixed values (applied after `attributes`);
 * - `passThrough` names an object whose fields all become custom attributes (applied first, so
 *   explicit `attributes` and `constants` win; never a standard key);
 * - `addToArray` / `removeFromArray` map an array attribute to a path holding a value or a list;
 * - `updateExistingOnly` sends `update_existing_only` (the source option overrides it);
 * - `version` names the body path of the event's version (ISO 8601, epoch seconds or epoch
 *   milliseconds: when the sender wrote this state of the user); without it the version is the
 *   `webhook-timestamp` header, which is the time of the delivery ATTEMPT: a sender's retry of an
 *   older event is signed anew and then looks newer than it is, so map `version` whenever the
 *   payload has an update time. Tie-break: the webhook-id. A configured path that is missing or
 *   unreadable in a body leaves the event without a version (applied unguarded, counted);
 * - `partial: true` says the events carry only changed attributes (judged one by one);
 * - `deleteEvents` lists the types that mean "this user was deleted": with the source option
 *   `deleteUsers`, one MoEngage Delete User call for the customer_id an update would carry
 *   (`customerId`, or `customerIdField` with the `u_em` / `u_mb` attribute paths); ignored
 *   without it, and ignored with a reason when the deletion does not carry the customer_id.
 *
 * With no mapping configured every event is rejected (422, field `mapping`) with a message that
 * tells the operator to configure `sources.standard.mapping`: silently ignoring a sender's
 * events would hide a misconfiguration, and a 4xx keeps the sender's retries visible.
 */
import { configSchema, formatIssues, type StandardMapping } from '../core/config';
import { STANDARD_ATTRIBUTE_KEYS, type CustomerInput } from '../core/moengage/types';
import { epochMs, finishDeletion, finishMapping, getPath, setOwn, header, isRecord, parseJsonBody, str, versionAt } from './common';
import { verifySvixStyle } from './crypto';
import type { Mapped, Parsed, ParsedEvent, SourceContext, Verification, WebhookRequest, WebhookSource } from './types';

const STANDARD_DEFAULT_TOLERANCE_SECONDS = 300;
const DEFAULT_EVENT_TYPE_PATH = 'type';
/** Where the occurrence time is read when the mapping names no `occurredAtPath` (the spec's `timestamp`). */
const DEFAULT_OCCURRED_AT_PATH = 'timestamp';
/**
 * The event type recorded when parse() runs without the mapping (no context) and the body has
 * no `type`: map() always re-reads the type through the mapping before acting.
 */
export const UNKNOWN_EVENT_TYPE = 'unknown';

/** Where the mapping lives in the adapter configuration (used in every message). */
export const MAPPING_CONFIG_PATH = 'sources.standard.mapping';

const STANDARD_KEYS: ReadonlySet<string> = new Set(STANDARD_ATTRIBUTE_KEYS);

export type StandardMappingValidation = { ok: true; mapping: StandardMapping } | { ok: false; message: string };

/**
 * Validates an operator's mapping. Messages give one line per problem, each naming its path
 * (e.g. `sources.standard.mapping.attributes.u_em: ...`).
 */
export function validateStandardMapping(input: unknown): StandardMappingValidation {
  // The schema carries every rule (also applied when the whole adapter configuration is parsed).
  const result = configSchema('standardMapping').safeParse(input);
  if (!result.success) return { ok: false, message: formatIssues(result.error, MAPPING_CONFIG_PATH) };
  return { ok: true, mapping: result.data };
}

function verify(req: WebhookRequest, secrets: readonly string[], ctx: SourceContext): Verification {
  return verifySvixStyle({
    id: header(req, 'webhook-id'),
    timestamp: header(req, 'webhook-timestamp'),
    signatureHeader: header(req, 'webhook-signature'),
    rawBody: req.rawBody,
    secrets,
    now: ctx.now,
    toleranceSeconds: ctx.options.toleranceSeconds ?? STANDARD_DEFAULT_TOLERANCE_SECONDS,
  });
}

function eventTypeAt(body: unknown, path: string): string | undefined {
  return str(getPath(body, path));
}

/**
 * `ctx` is optional: with it, the type and time are read through the operator's mapping and a
 * body without a type at `eventTypePath` is refused (400); without it, the default paths are
 * used and map() re-reads the type through the mapping.
 */
export function parseStandardEvent(req: WebhookRequest, ctx?: SourceContext): Parsed {
  const json = parseJsonBody(req.rawBody);
  if (!json.ok) return json;
  const body = json.value;
  if (!isRecord(body)) return { ok: false, message: 'body is not a JSON object' };
  const id = header(req, 'webhook-id');
  if (!id) return { ok: false, message: 'missing webhook-id header' };
  const mapping = ctx?.options.mapping;
  const typePath = mapping?.eventTypePath ?? DEFAULT_EVENT_TYPE_PATH;
  const type = eventTypeAt(body, typePath);
  if (type === undefined && mapping) return { ok: false, message: `body has no event type at "${typePath}"` };
  const event: ParsedEvent = { id, type: type ?? UNKNOWN_EVENT_TYPE, body };
  const occurredRaw = getPath(body, mapping?.occurredAtPath ?? DEFAULT_OCCURRED_AT_PATH);
  const occurredMs = epochMs(occurredRaw);
  if (occurredMs !== undefined) event.occurredAtMs = occurredMs;
  const versionRaw = mapping?.version ? getPath(body, mapping.version) : header(req, 'webhook-timestamp');
  // A sender's one write time, mapped as both, is read once.
  const version = versionAt(versionRaw === occurredRaw ? occurredMs : epochMs(versionRaw), id);
  if (version) event.version = version;
  return { ok: true, event };
}

/** A mapped value: standard keys into `standard`, any other into `custom` (undefined: nothing). */
function put(standard: Record<string, unknown>, custom: Record<string, unknown>, key: string, isStandard: boolean, value: unknown): void {
  if (value === undefined) return;
  if (isStandard) standard[key] = value;
  else setOwn(custom, key, value);
}

/** A mapping's attributes, constants and array operations as lists, every attribute key classified once (standard or custom). */
interface MappingPlan {
  attributes: readonly { key: string; path: string; isStandard: boolean }[];
  constants: readonly { key: string; value: unknown; isStandard: boolean }[];
  addToArray: readonly { key: string; path: string }[];
  removeFromArray: readonly { key: string; path: string }[];
}

/**
 * The plan of a mapping, made once per mapping object: the mapping comes from the parsed adapter
 * configuration (sourceOptions keeps one options object per configuration) and is not changed.
 */
const plans = new WeakMap<StandardMapping, MappingPlan>();

function mappingPlan(mapping: StandardMapping): MappingPlan {
  let plan = plans.get(mapping);
  if (!plan) {
    const attributes = mapping.attributes ?? {};
    const constants = mapping.constants ?? {};
    const paths = (record: Record<string, string> = {}) => Object.keys(record).map((key) => ({ key, path: record[key] as string }));
    plan = {
      attributes: Object.keys(attributes).map((key) => ({ key, path: attributes[key] as string, isStandard: STANDARD_KEYS.has(key) })),
      constants: Object.keys(constants).map((key) => ({ key, value: constants[key], isStandard: STANDARD_KEYS.has(key) })),
      addToArray: paths(mapping.addToArray),
      removeFromArray: paths(mapping.removeFromArray),
    };
    plans.set(mapping, plan);
  }
  return plan;
}

/** The values at the paths of an addToArray / removeFromArray mapping; undefined when none has one. */
function arrayValues(body: unknown, paths: readonly { key: string; path: string }[]): Record<string, unknown> | undefined {
  if (paths.length === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const { key, path } of paths) {
    const value = getPath(body, path);
    if (value !== undefined && value !== null) out[key] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function map(event: ParsedEvent, ctx: SourceContext): Mapped {
  const mapping = ctx.options.mapping;
  if (!mapping) {
    return {
      kind: 'rejected',
      field: 'mapping',
      message: `the standard source has no mapping: configure ${MAPPING_CONFIG_PATH} (events, customerId, attributes) in the adapter configuration`,
    };
  }
  const body = event.body;
  const typePath = mapping.eventTypePath ?? DEFAULT_EVENT_TYPE_PATH;
  const type = eventTypeAt(body, typePath);
  if (type === undefined) {
    return { kind: 'rejected', field: typePath, message: `the event has no type at "${typePath}" (${MAPPING_CONFIG_PATH}.eventTypePath)` };
  }
  if (mapping.deleteEvents.includes(type)) {
    if (!ctx.options.deleteUsers) {
      return { kind: 'ignored', reason: `event type ${type} is a deletion (${MAPPING_CONFIG_PATH}.deleteEvents) and deleteUsers is off` };
    }
    const attributes = mapping.attributes;
    const at = (key: string) => (Object.prototype.hasOwnProperty.call(attributes, key) ? str(getPath(body, attributes[key] as string)) : undefined);
    return finishDeletion(ctx, {
      customerId: mapping.customerId ? getPath(body, mapping.customerId) : undefined,
      body,
      eventType: type,
      standard: { u_em: at('u_em'), u_mb: at('u_mb') },
    });
  }
  if (!mapping.events.includes(type)) {
    return { kind: 'ignored', reason: `event type ${type} is not listed in ${MAPPING_CONFIG_PATH}.events` };
  }

  const plan = mappingPlan(mapping);
  const standard: Record<string, unknown> = {};
  const custom: Record<string, unknown> = {};
  if (mapping.passThrough) {
    const passed = getPath(body, mapping.passThrough);
    if (isRecord(passed)) {
      for (const key of Object.keys(passed)) {
        if (!STANDARD_KEYS.has(key)) setOwn(custom, key, passed[key]);
      }
    }
  }
  for (const { key, path, isStandard } of plan.attributes) put(standard, custom, key, isStandard, getPath(body, path));
  for (const { key, value, isStandard } of plan.constants) put(standard, custom, key, isStandard, value);

  const input: CustomerInput = {
    standard: standard as CustomerInput['standard'],
    custom,
    addToArray: arrayValues(body, plan.addToArray),
    removeFromArray: arrayValues(body, plan.removeFromArray),
    updateExistingOnly: mapping.updateExistingOnly,
  };
  const mapped = finishMapping(input, ctx, {
    customerId: mapping.customerId ? getPath(body, mapping.customerId) : undefined,
    body,
    explicitCustom: true,
  });
  if (mapped.kind === 'payload' && mapping.partial) mapped.partial = true;
  return mapped;
}

export const standardSource: WebhookSource = {
  name: 'standard',
  defaultToleranceSeconds: STANDARD_DEFAULT_TOLERANCE_SECONDS,
  verify,
  parse: parseStandardEvent,
  map,
};
