/**
 * Signature primitives shared by the sources. Every comparison is constant time.
 *
 * Two comparisons exist. `safeEqual` takes byte strings of any length and hashes both sides
 * first, so that not even the length of the expected value shows through timing: for bearer
 * tokens, whose length is part of the secret. `digestEqual` is for values whose length is
 * public (an HMAC digest in a fixed encoding: 44 base64 or 64 hex characters for SHA-256): a
 * length check, then `timingSafeEqual` over the bytes, which does not depend on where they differ.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { sha256 } from '../core/sha256';

export type HmacAlgorithm = 'sha256' | 'sha1';

/**
 * A string secret as a KeyObject, made once per secret (bounded: cleared when full; a handful of
 * secrets are configured at a time, two during a rotation). On Node 24, the Lambda runtime,
 * createHmac keyed with a string costs about 1.5 times createHmac keyed with a KeyObject (npm run
 * bench -- --only hot-path).
 */
const stringKeys = new Map<string, KeyObject>();
const STRING_KEY_CACHE_LIMIT = 16;

function keyOf(key: string | Buffer | KeyObject): Buffer | KeyObject {
  if (typeof key !== 'string') return key;
  let object = stringKeys.get(key);
  if (!object) {
    object = createSecretKey(key, 'utf8');
    if (stringKeys.size >= STRING_KEY_CACHE_LIMIT) stringKeys.clear();
    stringKeys.set(key, object);
  }
  return object;
}

/**
 * The HMAC of `data` in `encoding`, as the providers send it: digest() writes the text directly,
 * which is markedly cheaper than a digest Buffer turned into text.
 */
export function hmacEncoded(algorithm: HmacAlgorithm, key: string | Buffer, data: Buffer, encoding: 'base64' | 'hex'): string {
  return createHmac(algorithm, keyOf(key)).update(data).digest(encoding);
}

/**
 * The HMAC of `prefix` followed by `data`, in `encoding` (what the providers sign:
 * `${id}.${timestamp}.` + raw body). The two parts are fed in turn, never concatenated.
 */
export function hmacPrefixed(
  algorithm: HmacAlgorithm,
  key: string | Buffer | KeyObject,
  prefix: string,
  data: Buffer,
  encoding: 'base64' | 'hex',
): string {
  return createHmac(algorithm, keyOf(key)).update(prefix, 'utf8').update(data).digest(encoding);
}

/**
 * Constant-time equality of two byte strings of any length: both sides are hashed first,
 * so neither the content nor the length of the expected value leaks through timing.
 */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** True when `candidate` equals any of `expected`, checking every one (no early exit on a match's position). */
export function safeEqualAny(candidate: string | Buffer, expected: readonly (string | Buffer)[]): boolean {
  let match = false;
  for (const e of expected) {
    if (safeEqual(candidate, e)) match = true;
  }
  return match;
}

/**
 * Constant-time equality with a value whose length is public (an encoded HMAC digest): a
 * candidate of another length is unequal without its content being read; otherwise every
 * byte is compared. Not for values whose length is secret (use safeEqual).
 */
function digestEqual(candidate: Buffer, expected: Buffer): boolean {
  return candidate.length === expected.length && timingSafeEqual(candidate, expected);
}

/**
 * The verdict over every candidate signature against every expected one (rotation on both
 * sides), in constant time per comparison: a match anywhere verifies. `expected` are encoded
 * HMAC digests, whose length is public (see digestEqual).
 */
export function matchAnySignature(candidates: readonly string[], expected: readonly Buffer[]): SignatureCheck {
  if (expected.length === 0) return { ok: false, message: 'no usable signing secret configured' };
  let match = false;
  for (const candidate of candidates) {
    const bytes = Buffer.from(candidate, 'utf8');
    for (const e of expected) {
      if (digestEqual(bytes, e)) match = true;
    }
  }
  return match ? { ok: true } : { ok: false, message: 'signature mismatch' };
}

/** Decodes a Svix / Standard Webhooks secret (`whsec_<base64>`; a bare base64 string is accepted too). */
export function decodeWhsecSecret(secret: string): Buffer | undefined {
  const trimmed = secret.trim();
  const b64 = trimmed.startsWith('whsec_') ? trimmed.slice('whsec_'.length) : trimmed;
  if (b64.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const key = Buffer.from(b64, 'base64');
  return key.length > 0 ? key : undefined;
}

/**
 * The keys of the secrets seen, decoded and made KeyObjects once (as the Svix libraries decode
 * theirs in their constructor) rather than for every webhook: on Node 24, createHmac keyed with a
 * Buffer costs about five times createHmac keyed with a KeyObject (npm run bench -- --only hot-path,
 * "HMAC, Buffer key"). Bounded: cleared when full (a handful of secrets are configured at a time,
 * two during a rotation).
 */
const whsecKeys = new Map<string, KeyObject | null>();
const WHSEC_KEY_CACHE_LIMIT = 16;

function whsecKey(secret: string): KeyObject | undefined {
  let key = whsecKeys.get(secret);
  if (key === undefined) {
    const bytes = decodeWhsecSecret(secret);
    key = bytes ? createSecretKey(bytes) : null;
    if (whsecKeys.size >= WHSEC_KEY_CACHE_LIMIT) whsecKeys.clear();
    whsecKeys.set(secret, key);
  }
  return key ?? undefined;
}

export interface SvixStyleInput {
  id: string | undefined;
  timestamp: string | undefined;
  /** Space-separated `v1,<base64>` entries (other versions are ignored). */
  signatureHeader: string | undefined;
  rawBody: Buffer;
  secrets: readonly string[];
  now: Date;
  toleranceSeconds: number;
}

export type SignatureCheck = { ok: true } | { ok: false; message: string };

/**
 * Svix (Clerk) and Standard Webhooks share one scheme: HMAC-SHA256 over
 * `${id}.${timestamp}.${rawBody}` keyed with the base64-decoded secret, base64 signatures
 * listed as `v1,<sig>` separated by spaces, timestamp in seconds within ± tolerance.
 */
const TIMESTAMP_SECONDS = /^\d{1,12}$/;

export function verifySvixStyle(input: SvixStyleInput): SignatureCheck {
  const { id, timestamp, signatureHeader } = input;
  if (!id || !timestamp || !signatureHeader) return { ok: false, message: 'missing signature headers' };
  if (!TIMESTAMP_SECONDS.test(timestamp)) return { ok: false, message: 'invalid signature timestamp' };
  const ts = Number(timestamp);
  const nowSeconds = Math.floor(input.now.getTime() / 1000);
  if (Math.abs(nowSeconds - ts) > input.toleranceSeconds) {
    return { ok: false, message: 'signature timestamp outside the tolerance' };
  }
  const candidates: string[] = [];
  for (const entry of signatureHeader.split(' ')) {
    const part = entry.trim();
    if (!part.startsWith('v1,')) continue;
    const sig = part.slice(3);
    if (sig.length > 0 && sig.length <= 200) candidates.push(sig);
  }
  if (candidates.length === 0) return { ok: false, message: 'no v1 signature' };
  const prefix = `${id}.${timestamp}.`;
  const expected: Buffer[] = [];
  for (const secret of input.secrets) {
    const key = whsecKey(secret);
    if (key) expected.push(Buffer.from(hmacPrefixed('sha256', key, prefix, input.rawBody, 'base64'), 'utf8'));
  }
  return matchAnySignature(candidates, expected);
}

/**
 * Parses `t=...,v1=...,v1=...` (Stripe) or `t=..., v1=...` (WorkOS) into its timestamp and v1 signatures.
 */
export function parseTimestampedHeader(header: string | undefined): { t?: string; v1: string[] } {
  const out: { t?: string; v1: string[] } = { v1: [] };
  if (!header) return out;
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't' && out.t === undefined) out.t = v;
    else if (k === 'v1' && v.length > 0 && v.length <= 200) out.v1.push(v);
  }
  return out;
}
