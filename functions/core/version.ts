/**
 * Event versions: how the sender tells a newer provider event from an older one.
 *
 * A version is a string that sorts like the provider's own clock: the moment the provider says
 * the user's state was written (Clerk `data.updated_at`, Stripe event `created`, ...) as 15
 * zero-padded digits of epoch milliseconds, then `~` and a tie-break that orders two events of
 * the same millisecond deterministically (the event id, prefixed by a rank where a source has
 * one, e.g. Stripe's created < updated < deleted within one second). Plain string comparison
 * (JavaScript's `<` and DynamoDB's condition `<` alike, the key being printable ASCII) orders
 * versions; two events with equal versions are the same event.
 *
 * Pure: no I/O.
 */
import * as nodeCrypto from 'node:crypto';

/** Digits of the millisecond part (epoch ms up to year 33658). */
const VERSION_MS_DIGITS = 15;

const TIE_ALLOWED = /^[\x21-\x7d]{1,200}$/; // printable ASCII without space and `~`

/** A tie-break that is printable ASCII (hashed when the raw one is not). */
function safeTie(raw: string): string {
  return TIE_ALLOWED.test(raw) ? raw : `sha256:${nodeCrypto.createHash('sha256').update(raw).digest('hex')}`;
}

/** The version of an event written at `epochMs` (integer milliseconds), tie-broken by `tie`. Undefined when `epochMs` is unusable. */
export function versionKey(epochMs: number, tie: string): string | undefined {
  if (!Number.isFinite(epochMs) || epochMs < 0 || epochMs >= 10 ** VERSION_MS_DIGITS) return undefined;
  return `${Math.trunc(epochMs).toString().padStart(VERSION_MS_DIGITS, '0')}~${safeTie(tie)}`;
}

/** The epoch milliseconds of a version (for logs and metrics). */
export function versionMs(version: string): number {
  return Number(version.slice(0, VERSION_MS_DIGITS));
}

/** The ISO time of a version, for logs (no PII: a version holds a time and an event id). */
export function versionTime(version: string): string {
  const ms = versionMs(version);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : version;
}
