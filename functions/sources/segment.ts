/**
 * Segment Webhooks destination (identify calls).
 *
 * Signature: with a shared secret configured, Segment sends `X-Signature`, the hex HMAC-SHA1 of
 * the raw body keyed with the secret (its UTF-8 bytes). Every configured secret is tried
 * (rotation). Segment signs no timestamp: no tolerance applies; messageId deduplication is the
 * replay defence.
 *
 * Only `identify` is acted on; track, page, screen, group and alias are ignored.
 * Event id = messageId; occurredAtMs = timestamp, else sentAt.
 *
 * Version (core/version.ts): `timestamp` (when the call happened, corrected by Segment for the
 * device's clock), else `originalTimestamp`; tie-break: the messageId. An identify carries only
 * the traits the caller passed, not the whole user: its mapping is `partial`, so the sender
 * judges it attribute by attribute (an older identify still sets the traits no newer one set).
 *
 * Mapping: customer_id `userId`. An identify that carries only an anonymousId has no
 * customer_id and is rejected (422, customer_id) unless identity resolution supplies an
 * identifier from the mapped attributes. Traits: email -> u_em, phone -> u_mb,
 * firstName / first_name -> u_fn, lastName / last_name -> u_ln, name -> u_n, gender -> u_gd,
 * birthday -> u_bd; every other trait (address, company, plan, ...) becomes a custom attribute,
 * nested objects flattened by the payload builder (`address.city` -> `address_city`). A trait
 * named like a standard key (`u_em`, ...) is not passed on: only the mapping above sets those.
 * Null and empty-string traits are left out.
 */
import { STANDARD_ATTRIBUTE_KEYS } from '../core/moengage/types';
import { epochMs, finishMapping, header, setOwn, isRecord, parseJsonBody, str, versionAt, versionOf } from './common';
import { hmacEncoded, matchAnySignature } from './crypto';
import type { Mapped, Parsed, ParsedEvent, SourceContext, Verification, WebhookRequest, WebhookSource } from './types';

export const SEGMENT_ACTED_ON_TYPES: readonly string[] = ['identify'];

const HEX_SHA1 = /^[0-9a-fA-F]{40}$/;

/** Traits that become standard attributes, in order of preference per attribute. */
const STANDARD_TRAITS = {
  u_em: ['email'],
  u_mb: ['phone'],
  u_fn: ['firstName', 'first_name'],
  u_ln: ['lastName', 'last_name'],
  u_n: ['name'],
  u_gd: ['gender'],
  u_bd: ['birthday'],
} as const;

/** Traits never passed on as custom attributes: the mapped ones, and standard keys (a trait never sets identity). */
const CONSUMED_TRAITS = new Set<string>([...Object.values(STANDARD_TRAITS).flat(), ...STANDARD_ATTRIBUTE_KEYS]);

function verify(req: WebhookRequest, secrets: readonly string[], _ctx: SourceContext): Verification {
  const signature = header(req, 'x-signature')?.trim();
  if (!signature) return { ok: false, message: 'missing X-Signature header' };
  if (!HEX_SHA1.test(signature)) return { ok: false, message: 'malformed X-Signature header: expected a hex HMAC-SHA1' };
  const expected: Buffer[] = [];
  for (const secret of secrets) {
    if (secret.length > 0) expected.push(Buffer.from(hmacEncoded('sha1', secret, req.rawBody, 'hex'), 'utf8'));
  }
  // 'no usable signing secret configured' when none is left; 'signature mismatch' otherwise.
  return matchAnySignature([signature.toLowerCase()], expected);
}

function parse(req: WebhookRequest): Parsed {
  const json = parseJsonBody(req.rawBody);
  if (!json.ok) return json;
  const body = json.value;
  if (!isRecord(body)) return { ok: false, message: 'body is not a JSON object' };
  if (typeof body.messageId !== 'string' || body.messageId.trim() === '') return { ok: false, message: 'body has no messageId' };
  if (typeof body.type !== 'string' || body.type.trim() === '') return { ok: false, message: 'body has no type' };
  const event: ParsedEvent = { id: body.messageId, type: body.type, body };
  const timestampMs = epochMs(body.timestamp);
  const occurredAtMs = timestampMs ?? epochMs(body.sentAt);
  if (occurredAtMs !== undefined) event.occurredAtMs = occurredAtMs;
  const version = versionAt(timestampMs, body.messageId) ?? versionOf(body.originalTimestamp, body.messageId);
  if (version) event.version = version;
  return { ok: true, event };
}

function map(event: ParsedEvent, ctx: SourceContext): Mapped {
  if (!SEGMENT_ACTED_ON_TYPES.includes(event.type)) {
    return { kind: 'ignored', reason: `type ${event.type} is not acted on` };
  }
  const body = isRecord(event.body) ? event.body : {};
  const traits = isRecord(body.traits) ? body.traits : {};

  const standard: Record<string, unknown> = {};
  for (const [key, names] of Object.entries(STANDARD_TRAITS)) {
    for (const name of names) {
      const value = Object.prototype.hasOwnProperty.call(traits, name) ? str(traits[name]) : undefined;
      if (value !== undefined) {
        standard[key] = value;
        break;
      }
    }
  }
  const custom: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(traits)) {
    if (CONSUMED_TRAITS.has(name) || value === null || value === undefined) continue;
    if (typeof value === 'string' && value.trim() === '') continue;
    setOwn(custom, name, value);
  }

  const mapped = finishMapping({ standard, custom }, ctx, { customerId: body.userId, body });
  // An identify carries the traits it names, not the user's whole state.
  if (mapped.kind === 'payload') mapped.partial = true;
  return mapped;
}

export const segmentSource: WebhookSource = {
  name: 'segment',
  verify,
  parse,
  map,
};
