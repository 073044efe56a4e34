/**
 * The queue message: a small versioned envelope around the MoEngage payload.
 * Written by the receiver, read by the sender and by the DLQ tool.
 */
import * as z from 'zod/mini';
import { SOURCE_NAMES } from './config';
import { EVENT_PLATFORMS, type CustomerPayload } from './moengage/types';
import { sha256 } from './sha256';

export const ENVELOPE_VERSION = 1 as const;

/** The queue message body's schema. */
export const envelopeSchema = z.object({
  v: z.literal(ENVELOPE_VERSION),
  source: z.enum(SOURCE_NAMES),
  eventId: z.string().check(z.minLength(1)),
  eventType: z.string().check(z.minLength(1)),
  /** When the receiver accepted the webhook (ISO 8601). */
  receivedAt: z.string(),
  /**
   * The event's version (core/version.ts): when the provider wrote this state of the user, as
   * a sortable key. Absent when the event carries no usable version (applied unguarded, counted).
   */
  version: z.optional(z.string().check(z.minLength(1))),
  /**
   * The user's key in the per-user state store and the FIFO MessageGroupId: a hash of the
   * user's identity (never the identity itself). Written by receivers since envelope
   * version 1's `version` field; older messages fall back to the group id or customer_id.
   */
  userKey: z.optional(z.string().check(z.minLength(1))),
  /** `delete`: a MoEngage Delete User call for payload.customer_id (deleteUsers on); absent: a Track User update. */
  op: z.optional(z.literal('delete')),
  /**
   * True when the event carries only the attributes that changed (Segment identify, a
   * `partial` standard mapping): the sender judges it attribute by attribute. Absent: the
   * event carries the user's whole state (a snapshot).
   */
  partial: z.optional(z.literal(true)),
  /**
   * MoEngage events of this provider event (the source's `events` option): sent as one Create
   * Event call (in bulk mode, a `{"type":"event"}` element) after the user's attributes, once
   * per provider event id. Absent: none.
   */
  events: z.optional(
    z
      .array(
        z.object({
          action: z.string().check(z.minLength(1)),
          attributes: z.optional(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
          current_time: z.number(),
          platform: z.optional(z.enum(EVENT_PLATFORMS)),
        }),
      )
      .check(z.minLength(1)),
  ),
  /** The MoEngage payload, already validated by the receiver (for `op: delete`, `{type, customer_id}` only). */
  payload: z.custom<CustomerPayload>((p) => typeof p === 'object' && p !== null && (p as { type?: unknown }).type === 'customer', {
    message: 'payload must be a MoEngage customer payload',
  }),
});

export type Envelope = z.infer<typeof envelopeSchema>;

/** Characters SQS (or an emulator) refuses in a message body: lone or paired surrogates, U+FFFE, U+FFFF. */
const SQS_UNSAFE_CHARS = /[\uD800-\uDFFF\uFFFE\uFFFF]/;
const SQS_UNSAFE_CHARS_ALL = /[\uD800-\uDFFF\uFFFE\uFFFF]/g;

/**
 * JSON text SQS accepts: SQS refuses U+FFFE / U+FFFF (and some emulators any character outside
 * the BMP), so those are written as JSON escapes, which parse back to the same string.
 */
export function encodeEnvelope(envelope: Envelope): string {
  const json = JSON.stringify(envelope);
  // Most bodies have none of them: a test is cheaper than a replace that finds nothing.
  if (!SQS_UNSAFE_CHARS.test(json)) return json;
  return json.replace(SQS_UNSAFE_CHARS_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export type DecodedEnvelope = { ok: true; envelope: Envelope } | { ok: false; message: string };

export function decodeEnvelope(body: string): DecodedEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, message: 'message body is not JSON' };
  }
  const result = envelopeSchema.safeParse(json);
  if (!result.success) {
    return { ok: false, message: `message body is not an adapter envelope: ${result.error.issues[0]?.message ?? 'invalid'}` };
  }
  return { ok: true, envelope: result.data };
}

const SQS_ID_ALLOWED = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;

/** SQS ids (group and dedup) are at most 128 characters of ASCII punctuation and alphanumerics. */
function sqsSafeId(raw: string, prefix: string): string {
  if (SQS_ID_ALLOWED.test(raw)) return raw;
  return `${prefix}:sha256:${sha256(raw, 'hex')}`;
}

/** FIFO MessageDeduplicationId: `${source}:${eventId}` (hashed when SQS would not accept it). */
export function deduplicationId(source: string, eventId: string): string {
  return sqsSafeId(`${source}:${eventId}`, source);
}

/**
 * FIFO MessageGroupId: derived from the user's identity, so that one user's updates stay in
 * order. Hashed, so that no email or phone number shows in queue metadata.
 */
export function messageGroupId(customerKey: string): string {
  return `u-${sha256(customerKey, 'hex').slice(0, 32)}`;
}
