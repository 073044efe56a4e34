/**
 * Stripe.
 *
 * Signature: `Stripe-Signature: t=<epoch seconds>,v1=<hex>[,v1=<hex>...]`; other schemes
 * (`v0`, future ones) are ignored. The v1 signature is the hex HMAC-SHA256 of
 * `${t}.${rawBody}` keyed with the whole `whsec_…` secret as UTF-8 text (Stripe does not
 * decode it). The timestamp must lie within ±300 s of now (`toleranceSeconds` overrides):
 * stricter than Stripe's own library, which only bounds the age, because a timestamp from the
 * future is as much a replay sign as an old one. Every configured secret is tried (rotation:
 * during a roll Stripe signs with both the old and the new secret). A configured secret that
 * does not look like a Stripe signing secret (`whsec_…`) is never used, so that a pasted API
 * key cannot act as a signing key.
 *
 * Event id: `id` (`evt_…`); occurredAtMs: `created` (epoch seconds). Acted on:
 * `customer.created`, `customer.updated`, and with `deleteUsers` `customer.deleted` (one
 * MoEngage Delete User call for the customer_id an update would carry: the deleted customer
 * object is complete, so `customerIdField` applies as to an update); everything else (and
 * `customer.deleted` without `deleteUsers`) is ignored.
 *
 * Version (core/version.ts): the event's `created`, which has a resolution of one second, so
 * equal seconds are common (a create and its first update, two quick edits). The tie-break is
 * `${rank}:${eventId}` with rank 0 for customer.created, 1 for customer.updated and 2 for
 * customer.deleted: within one second a creation sorts before an update, and an update before a
 * deletion; two updates of the same second are ordered by their event ids. That order is
 * deterministic (every delivery and retry of both events compares the same way) but arbitrary
 * between those two updates: Stripe's event ids are not sequential. Other event types are not
 * acted on and get no version.
 *
 * Default mapping (documented in the README), from the customer in `data.object`:
 * - customer_id: `data.object.id` (`cus_…`)
 * - `u_em`: `email`, `u_mb`: `phone`, `u_n`: `name`
 * - custom attributes: every `metadata` key as its own attribute; `address` (flattened by the
 *   payload builder's rule, e.g. `address_city`, `address_country`); `preferred_locales`
 *   (when not empty); `currency`; `delinquent`; `stripe_created_at` (ISO 8601).
 *   The customer's own fields win over a metadata key of the same name, and metadata never
 *   sets a standard `u_*` key. Left out on purpose: `description` (a free-text note for the
 *   merchant's staff), `shipping` (a recipient, who may be someone else), balances,
 *   payment and tax settings, `livemode`.
 */
import { epochMs, finishDeletion, finishMapping, metadataAttributes, getPath, setOwn, header, isRecord, parseJsonBody, str, toIso, versionOf } from './common';
import { hmacPrefixed, matchAnySignature, parseTimestampedHeader } from './crypto';
import type { Mapped, Parsed, ParsedEvent, SourceContext, Verification, WebhookRequest, WebhookSource } from './types';

const STRIPE_DEFAULT_TOLERANCE_SECONDS = 300;

/** The Stripe event types that become MoEngage user updates. */
export const STRIPE_EVENTS: readonly string[] = ['customer.created', 'customer.updated'];

/** The Stripe deletion event (a MoEngage Delete User call with `deleteUsers`). */
const STRIPE_DELETE_EVENT = 'customer.deleted';

/** The tie-break rank of the customer events within one second of `created` (see the header). */
export const STRIPE_VERSION_RANK: Readonly<Record<string, number>> = Object.freeze({
  'customer.created': 0,
  'customer.updated': 1,
  'customer.deleted': 2,
});

/** Longest Stripe-Signature header considered (a handful of signatures is a few hundred bytes). */
const MAX_SIGNATURE_HEADER_LENGTH = 4096;

const STRIPE_SECRET = /^whsec_[A-Za-z0-9+/=_-]+$/;

/** The v1 signature of a payload: hex HMAC-SHA256 of `${t}.${payload}` keyed with the whole secret. */
export function stripeSignature(secret: string, timestamp: string, rawBody: Buffer): string {
  return hmacPrefixed('sha256', secret, `${timestamp}.`, rawBody, 'hex');
}



function verify(req: WebhookRequest, secrets: readonly string[], ctx: SourceContext): Verification {
  const sigHeader = header(req, 'stripe-signature');
  if (!sigHeader) return { ok: false, message: 'missing Stripe-Signature header' };
  if (sigHeader.length > MAX_SIGNATURE_HEADER_LENGTH) return { ok: false, message: 'malformed Stripe-Signature header' };
  const { t, v1 } = parseTimestampedHeader(sigHeader);
  if (t === undefined || !/^\d{1,12}$/.test(t)) return { ok: false, message: 'invalid signature timestamp' };
  const nowSeconds = Math.floor(ctx.now.getTime() / 1000);
  const tolerance = ctx.options.toleranceSeconds ?? STRIPE_DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(nowSeconds - Number(t)) > tolerance) {
    return { ok: false, message: 'signature timestamp outside the tolerance' };
  }
  if (v1.length === 0) return { ok: false, message: 'no v1 signature' };
  const expected: Buffer[] = [];
  for (const raw of secrets) {
    const secret = raw.trim();
    if (STRIPE_SECRET.test(secret)) expected.push(Buffer.from(stripeSignature(secret, t, req.rawBody), 'utf8'));
  }
  return matchAnySignature(v1, expected);
}

function parse(req: WebhookRequest): Parsed {
  const json = parseJsonBody(req.rawBody);
  if (!json.ok) return json;
  const body = json.value;
  if (!isRecord(body)) return { ok: false, message: 'body is not a Stripe event (not a JSON object)' };
  if (typeof body.id !== 'string' || body.id.trim() === '') return { ok: false, message: 'body is not a Stripe event (no "id")' };
  if (typeof body.type !== 'string' || body.type === '') return { ok: false, message: 'body is not a Stripe event (no "type")' };
  const event: ParsedEvent = { id: body.id, type: body.type, body };
  const occurredAtMs = typeof body.created === 'number' ? epochMs(body.created) : undefined;
  if (occurredAtMs !== undefined) event.occurredAtMs = occurredAtMs;
  const rank = Object.prototype.hasOwnProperty.call(STRIPE_VERSION_RANK, body.type) ? STRIPE_VERSION_RANK[body.type] : undefined;
  // `created` is epoch seconds: an integer, never milliseconds.
  if (rank !== undefined && typeof body.created === 'number' && Number.isSafeInteger(body.created) && body.created > 0) {
    const version = versionOf(body.created, `${rank}:${body.id}`);
    if (version) event.version = version;
  }
  return { ok: true, event };
}

function map(event: ParsedEvent, ctx: SourceContext): Mapped {
  const deletion = event.type === STRIPE_DELETE_EVENT && ctx.options.deleteUsers;
  if (!STRIPE_EVENTS.includes(event.type) && !deletion) {
    const hint = event.type === STRIPE_DELETE_EVENT ? ' (set deleteUsers to delete the customer in MoEngage)' : '';
    return { kind: 'ignored', reason: `Stripe event type ${event.type} is not acted on (only ${STRIPE_EVENTS.join(', ')})${hint}` };
  }
  const customer = getPath(event.body, 'data.object');
  if (!isRecord(customer)) {
    if (deletion) return { kind: 'ignored', reason: `${event.type} not propagated: the event has no customer object in "data.object"` };
    return { kind: 'rejected', field: 'data.object', message: 'the Stripe event has no customer object in "data.object"' };
  }
  if (deletion) {
    return finishDeletion(ctx, {
      customerId: customer.id,
      body: event.body,
      eventType: event.type,
      standard: { u_em: str(customer.email), u_mb: str(customer.phone) },
    });
  }

  // The customer's own fields first: on a name clash (also after flattening) the first one wins.
  const custom: Record<string, unknown> = {};
  if (isRecord(customer.address)) custom.address = customer.address;
  if (Array.isArray(customer.preferred_locales) && customer.preferred_locales.length > 0) {
    custom.preferred_locales = customer.preferred_locales;
  }
  const currency = str(customer.currency);
  if (currency !== undefined) custom.currency = currency;
  if (typeof customer.delinquent === 'boolean') custom.delinquent = customer.delinquent;
  const created = typeof customer.created === 'number' ? toIso(customer.created) : undefined;
  if (created !== undefined) custom.stripe_created_at = created;
  for (const [key, value] of Object.entries(metadataAttributes(customer.metadata))) {
    if (!Object.prototype.hasOwnProperty.call(custom, key)) setOwn(custom, key, value);
  }

  const isCreate = event.type === 'customer.created';
  return finishMapping(
    {
      standard: { u_em: str(customer.email), u_mb: str(customer.phone), u_n: str(customer.name) },
      custom,
      isCreate,
    },
    ctx,
    { customerId: customer.id, body: event.body, isCreate },
  );
}

export const stripeSource: WebhookSource = {
  name: 'stripe',
  defaultToleranceSeconds: STRIPE_DEFAULT_TOLERANCE_SECONDS,
  verify,
  parse,
  map,
};
