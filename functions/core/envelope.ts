/**
 * The queue message: a small versioned envelope around the MoEngage payload.
 * Written by the receiver, read by the sender and by the DLQ tool.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { SOURCE_NAMES } from './config';
import type { CustomerPayload } from './moengage/types';

export const ENVELOPE_VERSION = 1 as const;

export const envelopeSchema = z.object({
  v: z.literal(ENVELOPE_VERSION),
  source: z.enum(SOURCE_NAMES),
  eventId: z.string().min(1),
  eventType: z.string().min(1),
  /** When the receiver accepted the webhook (ISO 8601). */
  receivedAt: z.string(),
  /** When the provider says the event happened (ISO 8601), if it says. */
  occurredAt: z.string().optional(),
  /** A per-user monotonic version from the provider (e.g. Auth0 updated_at). */
  orderingKey: z.string().optional(),
  /** The MoEngage payload, already validated by the receiver. */
  payload: z.custom<CustomerPayload>((p) => typeof p === 'object' && p !== null && (p as { type?: unknown }).type === 'customer', {
    message: 'payload must be a MoEngage customer payload',
  }),
});
export type Envelope = z.infer<typeof envelopeSchema>;

/**
 * JSON text SQS accepts: SQS refuses U+FFFE / U+FFFF (and some emulators any character outside
 * the BMP), so those are written as JSON escapes, which parse back to the same string.
 */
export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope).replace(/[\uD800-\uDFFF\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
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
  return `${prefix}:sha256:${createHash('sha256').update(raw).digest('hex')}`;
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
  return `u-${createHash('sha256').update(customerKey).digest('hex').slice(0, 32)}`;
}
