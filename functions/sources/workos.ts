/**
 * WorkOS webhooks (user.created, user.updated: AuthKit / User Management users; user.deleted
 * with `deleteUsers`).
 *
 * Signature: `WorkOS-Signature: t=<unix ms>, v1=<hex>` where v1 is the hex HMAC-SHA256 of
 * `${t}.${rawBody}` keyed with the webhook secret (its UTF-8 bytes, as given). `t` is in
 * MILLISECONDS. Default tolerance 180 s either side of now (the official SDK's default);
 * `toleranceSeconds` overrides it. Every configured secret is tried (rotation).
 *
 * Directory Sync users (`dsync.user.*`), sessions and all other events are ignored: only
 * User Management users have the stable `user_...` id that contract.md uses as customer_id.
 *
 * Mapping: customer_id `data.id`; u_em email, u_fn first_name, u_ln last_name; custom
 * attributes email_verified, external_id, profile_picture_url, locale, last_sign_in_at, and
 * every key of `metadata` as its own attribute (WorkOS user metadata is string key/value pairs
 * that only the application's backend can write, like Clerk's public_metadata). WorkOS's own
 * fields win over a metadata key of the same name, and metadata never sets a standard `u_*` key.
 *
 * Deletions: with `deleteUsers`, `user.deleted` (whose `data` is the deleted user, email
 * included) becomes one MoEngage Delete User call for the customer_id an update would carry
 * (`data.id`, or `customerIdField`). Without it the event is ignored.
 *
 * Version (core/version.ts): the user's `data.updated_at`; an event without one (a deletion may
 * leave it at the last update) falls back to the event's `created_at`. For a deletion the later
 * of the two is taken, so that the deletion sorts after the user's last update. Tie-break: the
 * event id.
 */
import { epochMs, finishDeletion, finishMapping, metadataAttributes, header, isRecord, parseJsonBody, str, toIso, versionAt, versionOf } from './common';
import { hmacPrefixed, matchAnySignature, parseTimestampedHeader } from './crypto';
import type { Mapped, Parsed, ParsedEvent, SourceContext, Verification, WebhookRequest, WebhookSource } from './types';

export const WORKOS_DEFAULT_TOLERANCE_SECONDS = 180;

export const WORKOS_ACTED_ON_EVENTS: readonly string[] = ['user.created', 'user.updated'];

/** The WorkOS deletion event (a MoEngage Delete User call with `deleteUsers`). */
const WORKOS_DELETE_EVENT = 'user.deleted';

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/** Custom attributes the mapping sets itself: a metadata key of the same name is left out. */
const OWN_KEYS = ['email_verified', 'external_id', 'profile_picture_url', 'locale', 'last_sign_in_at'] as const;


function verify(req: WebhookRequest, secrets: readonly string[], ctx: SourceContext): Verification {
  const raw = header(req, 'workos-signature');
  if (!raw) return { ok: false, message: 'missing WorkOS-Signature header' };
  const parsed = parseTimestampedHeader(raw);
  if (parsed.t === undefined || !/^\d{1,15}$/.test(parsed.t)) {
    return { ok: false, message: 'WorkOS-Signature has no valid timestamp (t=<unix milliseconds>)' };
  }
  const candidates = parsed.v1.filter((sig) => HEX_SHA256.test(sig)).map((sig) => sig.toLowerCase());
  if (candidates.length === 0) return { ok: false, message: 'WorkOS-Signature has no well-formed v1 signature' };

  const toleranceMs = (ctx.options.toleranceSeconds ?? WORKOS_DEFAULT_TOLERANCE_SECONDS) * 1000;
  if (Math.abs(ctx.now.getTime() - Number(parsed.t)) > toleranceMs) {
    return { ok: false, message: 'signature timestamp outside the tolerance' };
  }

  const prefix = `${parsed.t}.`;
  const expected: Buffer[] = [];
  for (const secret of secrets) {
    if (secret.length > 0) expected.push(Buffer.from(hmacPrefixed('sha256', secret, prefix, req.rawBody, 'hex'), 'utf8'));
  }
  return matchAnySignature(candidates, expected);
}

function parse(req: WebhookRequest): Parsed {
  const json = parseJsonBody(req.rawBody);
  if (!json.ok) return json;
  const body = json.value;
  if (!isRecord(body)) return { ok: false, message: 'body is not a JSON object' };
  const id = str(body.id);
  if (typeof body.id !== 'string' || !id) return { ok: false, message: 'body has no event id (id)' };
  if (typeof body.event !== 'string' || body.event.trim() === '') return { ok: false, message: 'body has no event type (event)' };
  const event: ParsedEvent = { id, type: body.event, body };
  const createdMs = epochMs(body.created_at);
  if (createdMs !== undefined) event.occurredAtMs = createdMs;
  if (body.event.startsWith('user.') && isRecord(body.data)) {
    const updated = versionOf(body.data.updated_at, id);
    const created = versionAt(createdMs, id);
    // A deletion is at least as new as the event that reports it.
    const version = body.event === WORKOS_DELETE_EVENT && created !== undefined && (updated === undefined || created > updated) ? created : (updated ?? created);
    if (version) event.version = version;
  }
  return { ok: true, event };
}

function map(event: ParsedEvent, ctx: SourceContext): Mapped {
  const body = isRecord(event.body) ? event.body : {};
  const data = isRecord(body.data) ? body.data : {};
  if (event.type === WORKOS_DELETE_EVENT && ctx.options.deleteUsers) {
    return finishDeletion(ctx, { customerId: typeof data.id === 'string' ? data.id : undefined, body, eventType: event.type, standard: { u_em: str(data.email) } });
  }
  if (!WORKOS_ACTED_ON_EVENTS.includes(event.type)) {
    const hint = event.type === WORKOS_DELETE_EVENT ? ' (set deleteUsers to delete the user in MoEngage)' : '';
    return { kind: 'ignored', reason: `event ${event.type} is not acted on${hint}` };
  }
  const custom: Record<string, unknown> = metadataAttributes(data.metadata, OWN_KEYS);
  if (typeof data.email_verified === 'boolean') custom.email_verified = data.email_verified;
  const externalId = str(data.external_id);
  if (externalId !== undefined) custom.external_id = externalId;
  const picture = str(data.profile_picture_url);
  if (picture !== undefined) custom.profile_picture_url = picture;
  const locale = str(data.locale);
  if (locale !== undefined) custom.locale = locale;
  const lastSignIn = toIso(data.last_sign_in_at);
  if (lastSignIn !== undefined) custom.last_sign_in_at = lastSignIn;

  return finishMapping(
    {
      standard: { u_em: str(data.email), u_fn: str(data.first_name), u_ln: str(data.last_name) },
      custom,
    },
    ctx,
    { customerId: typeof data.id === 'string' ? data.id : undefined, body, isCreate: event.type === 'user.created' },
  );
}

export const workosSource: WebhookSource = {
  name: 'workos',
  defaultToleranceSeconds: WORKOS_DEFAULT_TOLERANCE_SECONDS,
  verify,
  parse,
  map,
};
