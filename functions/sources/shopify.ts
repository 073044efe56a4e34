/**
 * Shopify webhooks (customers/create, customers/update; customers/delete with `deleteUsers`).
 *
 * Signature: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body keyed with the
 * app's client secret (its UTF-8 bytes). After a secret rotation Shopify may keep signing with
 * the previous secret for up to an hour, so every configured secret is tried.
 *
 * Shopify signs no timestamp. An operator may set `maxAgeSeconds`: `X-Shopify-Triggered-At`
 * must then be present and within that many seconds of now (either side). That header is NOT
 * covered by the HMAC, so the check only stops naive replays of captured deliveries and stale
 * retries; event-id deduplication (FIFO) remains the real replay defence.
 *
 * Mapping decisions (contract.md: customer_id `String(id)`, u_em, u_mb, u_fn, u_ln):
 * - u_mb is the customer's own `phone` only. `default_address.phone` is NOT used as a fallback:
 *   it is a delivery contact (often someone else's number) and carries no SMS consent.
 * - Protected customer data (API 2025-01+): fields the app is not approved for arrive as null
 *   or are missing. Only present values are mapped; null, empty strings, the lower-case
 *   strings "null"/"undefined" and "redacted"/"[REDACTED]" markers are never sent.
 * - Custom attributes: tags (comma string -> at most 50 strings), state, verified_email,
 *   currency, email_marketing_state / email_marketing_opt_in_level (from email_marketing_consent),
 *   sms_marketing_state, orders_count, total_spent (as a number), and default_address reduced to
 *   company / city / province / province_code / country / country_code / zip (street lines,
 *   names and the address phone are not forwarded: data minimisation).
 *   Since 2025-01 Shopify no longer includes tags, marketing consent, orders_count or
 *   total_spent in customer payloads; they are mapped when an older API version sends them.
 *   An empty tag list is not sent (MoEngage would not clear the attribute from an empty array).
 *
 * Deletions: with `deleteUsers`, `customers/delete` becomes one MoEngage Delete User call for
 * the customer_id an update would carry (`String(id)`, or `customerIdField`). Shopify's delete
 * payload carries the id (and `admin_graphql_api_id`) but no email, so `customerIdField: email`
 * cannot name the user: such a deletion is ignored with that reason. Without `deleteUsers` the
 * topic is ignored like any other.
 *
 * Version (core/version.ts): the customer's `updated_at` (whole seconds, with the shop's UTC
 * offset); a `customers/delete` payload carries no updated_at, so its version is
 * `X-Shopify-Triggered-At` (when Shopify fired the deletion; the later of the two should a
 * payload carry both). Tie-break: the event id (`X-Shopify-Event-Id`).
 */
import { isValidCalendarDate } from '../core/moengage/attributes';
import { epochMs, finishDeletion, finishMapping, getPath, header, isRecord, parseJsonBody, str, versionAt } from './common';
import { hmacEncoded, matchAnySignature } from './crypto';
import type { Mapped, Parsed, ParsedEvent, SourceContext, Verification, WebhookRequest, WebhookSource } from './types';

/** Topics acted on; every other topic is answered 200 "ignored". */
export const SHOPIFY_ACTED_ON_TOPICS: readonly string[] = ['customers/create', 'customers/update'];

/** The deletion topic (a MoEngage Delete User call with `deleteUsers`). */
const SHOPIFY_DELETE_TOPIC = 'customers/delete';
/** The order of a customer's topics within one second of `updated_at` (a UUID event id orders nothing). */
const SHOPIFY_VERSION_RANK: Readonly<Record<string, number>> = { 'customers/create': 0, 'customers/update': 1, [SHOPIFY_DELETE_TOPIC]: 2 };

/** Largest number of tags forwarded (MoEngage array attributes stay small). */
export const SHOPIFY_MAX_TAGS = 50;

const ADDRESS_FIELDS = ['company', 'city', 'province', 'province_code', 'country', 'country_code', 'zip'] as const;

/** A base64-encoded SHA-256 digest: 32 bytes -> 43 characters and one `=`. */
const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;

/** ISO 8601 date-time with any number of fractional digits (Shopify sends nanoseconds) and a zone. */
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/** Parses `X-Shopify-Triggered-At` strictly; returns epoch milliseconds or undefined. */
export function parseShopifyTimestamp(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const m = ISO_DATE_TIME.exec(text);
  // Date.parse rolls impossible dates over (Feb 30 -> Mar 2) and reads 24:00 as the next day: refuse them.
  if (!m || !isValidCalendarDate(Number(m[1]), Number(m[2]), Number(m[3])) || Number(m[4]) > 23) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function verify(req: WebhookRequest, secrets: readonly string[], ctx: SourceContext): Verification {
  const signature = header(req, 'x-shopify-hmac-sha256')?.trim();
  if (!signature) return { ok: false, message: 'missing X-Shopify-Hmac-Sha256 header' };
  if (!BASE64_SHA256.test(signature)) return { ok: false, message: 'malformed X-Shopify-Hmac-Sha256 header: expected a base64 HMAC-SHA256' };
  const expected: Buffer[] = [];
  for (const secret of secrets) {
    if (secret.length > 0) expected.push(Buffer.from(hmacEncoded('sha256', secret, req.rawBody, 'base64'), 'utf8'));
  }
  // 'no usable signing secret configured' when none is left; 'signature mismatch' otherwise.
  const checked = matchAnySignature([signature], expected);
  if (!checked.ok) return checked;

  const maxAge = ctx.options.maxAgeSeconds;
  if (maxAge !== undefined) {
    const raw = header(req, 'x-shopify-triggered-at');
    if (!raw) return { ok: false, message: 'missing X-Shopify-Triggered-At header (required because maxAgeSeconds is set)' };
    const triggeredAt = parseShopifyTimestamp(raw);
    if (triggeredAt === undefined) return { ok: false, message: 'X-Shopify-Triggered-At is not an ISO 8601 date-time' };
    const ageSeconds = (ctx.now.getTime() - triggeredAt) / 1000;
    if (ageSeconds > maxAge) {
      return { ok: false, message: `stale delivery: X-Shopify-Triggered-At is ${Math.floor(ageSeconds)} s old, more than maxAgeSeconds (${maxAge} s)` };
    }
    if (-ageSeconds > maxAge) {
      return { ok: false, message: `X-Shopify-Triggered-At is more than maxAgeSeconds (${maxAge} s) in the future` };
    }
  }
  return { ok: true };
}

function parse(req: WebhookRequest): Parsed {
  const json = parseJsonBody(req.rawBody);
  if (!json.ok) return json;
  if (!isRecord(json.value)) return { ok: false, message: 'body is not a JSON object' };
  const topic = header(req, 'x-shopify-topic')?.trim();
  if (!topic) return { ok: false, message: 'missing X-Shopify-Topic header' };
  const id = header(req, 'x-shopify-event-id')?.trim() || header(req, 'x-shopify-webhook-id')?.trim();
  if (!id) return { ok: false, message: 'missing X-Shopify-Event-Id and X-Shopify-Webhook-Id headers' };
  const triggeredMs = parseShopifyTimestamp(header(req, 'x-shopify-triggered-at'));
  const updatedMs = epochMs(json.value.updated_at);
  const event: ParsedEvent = { id, type: topic, body: json.value };
  const occurredAtMs = triggeredMs ?? updatedMs;
  if (occurredAtMs !== undefined) event.occurredAtMs = occurredAtMs;
  // The customer's updated_at orders one customer's deliveries (Shopify does not guarantee
  // order). A deletion is versioned by when Shopify fired it (the later of that and an
  // updated_at, should the payload carry one), so that it sorts after the last update.
  if (topic.startsWith('customers/')) {
    // updated_at has whole seconds: within one, create < update < delete (as Stripe's rank), then the event id.
    const tie = `${SHOPIFY_VERSION_RANK[topic] ?? 1}:${id}`;
    let version = versionAt(updatedMs, tie);
    if (topic === SHOPIFY_DELETE_TOPIC) {
      const fired = versionAt(triggeredMs, tie);
      if (fired !== undefined && (version === undefined || fired > version)) version = fired;
    }
    if (version) event.version = version;
  }
  return { ok: true, event };
}

/** `redacted`, `[REDACTED]` and the like (8 to 10 characters). */
const REDACTED = /^\[?redacted\]?$/i;

/** A present string value: never null, empty, or a redaction placeholder. */
function present(value: unknown): string | undefined {
  const s = str(value);
  if (s === undefined) return undefined;
  const t = s.trim();
  if (t === 'null' || t === 'undefined' || (t.length >= 8 && t.length <= 10 && REDACTED.test(t))) return undefined;
  return s;
}

/** Shopify tags: a comma-separated string (or, defensively, an array) -> at most 50 distinct tags. */
export function shopifyTags(value: unknown): string[] | undefined {
  const parts = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : [];
  const tags: string[] = [];
  for (const part of parts) {
    const tag = present(part)?.trim();
    if (tag && !tags.includes(tag)) tags.push(tag);
    if (tags.length >= SHOPIFY_MAX_TAGS) break;
  }
  return tags.length > 0 ? tags : undefined;
}

/** The numeric customer id as a string; the GraphQL gid's tail when the number is not exact. */
function customerIdOf(body: Record<string, unknown>): string | undefined {
  const id = body.id;
  if (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) return String(id);
  if (typeof id === 'string' && /^\d+$/.test(id)) return id;
  const gid = body.admin_graphql_api_id;
  if (typeof gid === 'string') {
    const m = /^gid:\/\/shopify\/Customer\/(\d+)$/.exec(gid);
    if (m) return m[1];
  }
  return undefined;
}

function setDefined(record: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) record[key] = value;
}

function map(event: ParsedEvent, ctx: SourceContext): Mapped {
  const body = isRecord(event.body) ? event.body : {};
  if (event.type === SHOPIFY_DELETE_TOPIC && ctx.options.deleteUsers) {
    return finishDeletion(ctx, {
      customerId: customerIdOf(body),
      body,
      eventType: event.type,
      standard: { u_em: present(body.email), u_mb: present(body.phone) },
    });
  }
  if (!SHOPIFY_ACTED_ON_TOPICS.includes(event.type)) {
    const hint = event.type === SHOPIFY_DELETE_TOPIC ? ' (set deleteUsers to delete the customer in MoEngage)' : '';
    return { kind: 'ignored', reason: `topic ${event.type} is not acted on${hint}` };
  }
  const custom: Record<string, unknown> = {};
  setDefined(custom, 'tags', shopifyTags(body.tags));
  setDefined(custom, 'state', present(body.state));
  if (typeof body.verified_email === 'boolean') custom.verified_email = body.verified_email;
  setDefined(custom, 'currency', present(body.currency));
  setDefined(custom, 'email_marketing_state', present(getPath(body, 'email_marketing_consent.state')));
  setDefined(custom, 'email_marketing_opt_in_level', present(getPath(body, 'email_marketing_consent.opt_in_level')));
  setDefined(custom, 'sms_marketing_state', present(getPath(body, 'sms_marketing_consent.state')));
  if (typeof body.orders_count === 'number' && Number.isFinite(body.orders_count)) custom.orders_count = body.orders_count;
  const spent = present(body.total_spent);
  if (spent !== undefined && Number.isFinite(Number(spent))) custom.total_spent = Number(spent);

  if (isRecord(body.default_address)) {
    const address: Record<string, string> = {};
    for (const field of ADDRESS_FIELDS) {
      const v = present(body.default_address[field]);
      if (v !== undefined) address[field] = v;
    }
    if (Object.keys(address).length > 0) custom.default_address = address;
  }

  return finishMapping(
    {
      standard: {
        u_em: present(body.email),
        u_mb: present(body.phone),
        u_fn: present(body.first_name),
        u_ln: present(body.last_name),
      },
      custom,
    },
    ctx,
    { customerId: customerIdOf(body), body, isCreate: event.type === 'customers/create' },
  );
}

export const shopifySource: WebhookSource = {
  name: 'shopify',
  verify,
  parse,
  map,
};
