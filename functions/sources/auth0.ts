/**
 * Auth0 Event Streams delivered to a webhook destination (user.created, user.updated).
 *
 * Authentication: the stream's webhook destination uses bearer authorization, so every
 * delivery carries `Authorization: Bearer <token>`. The token is compared in constant time
 * with each configured token (several during a rotation). Following RFC 7235 / RFC 6750 the
 * scheme is case-insensitive (`bearer` is accepted), one or more spaces may separate scheme and
 * token, and surrounding whitespace is not part of the value; the token itself is compared
 * exactly and may not contain whitespace. Any other scheme (Basic, Token, none) is refused.
 * Auth0 signs nothing else and sends no signed timestamp: no tolerance applies.
 *
 * Events are CloudEvents: `id` (dedup key), `type`, `time` (occurredAtMs), `data.object` (the
 * user). The type is `user.created`; the older documented form `com.auth0.user.created` is
 * accepted too. Auth0 documents duplicate and out-of-order deliveries: the event's version
 * (core/version.ts) is `data.object.updated_at`, for `user.deleted` (whose object carries no
 * updated_at) the event's `time`; tie-break: the event id. The sender drops an older one.
 * `user.deleted` becomes, with `deleteUsers`, one MoEngage Delete User call for the
 * customer_id an update would carry (`data.object.user_id`, or `customerIdField`; the deleted
 * object carries no email or phone, so `customerIdField: email | phone` cannot name the user
 * and the deletion is ignored with that reason); without `deleteUsers` it is ignored.
 *
 * Mapping: customer_id `data.object.user_id`; u_em email, u_mb phone_number, u_fn given_name,
 * u_ln family_name, u_n name (skipped when Auth0 filled `name` with the email address, as it
 * does for database users without a name); custom attributes email_verified, phone_verified
 * and user_metadata (flattened by the payload builder). `app_metadata` is never forwarded: it
 * commonly holds roles, permissions, plan flags and other authorization data that must not
 * leave the identity provider. `identities` (provider user ids) are not forwarded either.
 */
import { epochMs, finishDeletion, finishMapping, getPath, header, isRecord, parseJsonBody, str, versionAt } from './common';
import { safeEqualAny } from './crypto';
import type { Mapped, Parsed, ParsedEvent, SourceContext, Verification, WebhookRequest, WebhookSource } from './types';

export const AUTH0_ACTED_ON_EVENTS: readonly string[] = ['user.created', 'user.updated'];

/** The Auth0 deletion event (a MoEngage Delete User call with `deleteUsers`). */
const AUTH0_DELETE_EVENT = 'user.deleted';

/** `Bearer <token>`: case-insensitive scheme, 1+ spaces, a token without whitespace. */
const BEARER = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) +(\S+)$/;

/** The event type without the `com.auth0.` prefix of the older documented form. */
export function auth0EventType(type: string): string {
  return type.startsWith('com.auth0.') ? type.slice('com.auth0.'.length) : type;
}

function verify(req: WebhookRequest, secrets: readonly string[], _ctx: SourceContext): Verification {
  const raw = header(req, 'authorization');
  if (!raw) return { ok: false, message: 'missing Authorization header' };
  const m = BEARER.exec(raw.trim());
  if (!m || m[1]?.toLowerCase() !== 'bearer' || m[2] === undefined) {
    return { ok: false, message: 'Authorization header is not of the form "Bearer <token>"' };
  }
  const tokens = secrets.map((s) => s.trim()).filter((s) => s.length > 0);
  if (tokens.length === 0) return { ok: false, message: 'no usable bearer token configured' };
  return safeEqualAny(Buffer.from(m[2], 'utf8'), tokens.map((t) => Buffer.from(t, 'utf8')))
    ? { ok: true }
    : { ok: false, message: 'bearer token mismatch' };
}

function parse(req: WebhookRequest): Parsed {
  const json = parseJsonBody(req.rawBody);
  if (!json.ok) return json;
  const body = json.value;
  if (!isRecord(body)) return { ok: false, message: 'body is not a JSON object' };
  if (typeof body.id !== 'string' || body.id.trim() === '') return { ok: false, message: 'body has no event id (id)' };
  if (typeof body.type !== 'string' || body.type.trim() === '') return { ok: false, message: 'body has no event type (type)' };
  const event: ParsedEvent = { id: body.id, type: body.type, body };
  const timeMs = epochMs(body.time);
  if (timeMs !== undefined) event.occurredAtMs = timeMs;
  const version = versionAt(auth0EventType(body.type) === AUTH0_DELETE_EVENT ? timeMs : epochMs(getPath(body, 'data.object.updated_at')), body.id);
  if (version) event.version = version;
  return { ok: true, event };
}

function map(event: ParsedEvent, ctx: SourceContext): Mapped {
  const type = auth0EventType(event.type);
  const body = isRecord(event.body) ? event.body : {};
  const user = getPath(body, 'data.object');
  const u = isRecord(user) ? user : {};
  if (type === AUTH0_DELETE_EVENT && ctx.options.deleteUsers) {
    return finishDeletion(ctx, {
      customerId: typeof u.user_id === 'string' ? u.user_id : undefined,
      body,
      eventType: event.type,
      standard: { u_em: str(u.email), u_mb: str(u.phone_number) },
    });
  }
  if (!AUTH0_ACTED_ON_EVENTS.includes(type)) {
    const hint = type === AUTH0_DELETE_EVENT ? ' (set deleteUsers to delete the user in MoEngage)' : '';
    return { kind: 'ignored', reason: `event ${event.type} is not acted on${hint}` };
  }

  const email = str(u.email);
  const name = str(u.name);
  const custom: Record<string, unknown> = {};
  if (typeof u.email_verified === 'boolean') custom.email_verified = u.email_verified;
  if (typeof u.phone_verified === 'boolean') custom.phone_verified = u.phone_verified;
  if (isRecord(u.user_metadata) && Object.keys(u.user_metadata).length > 0) custom.user_metadata = u.user_metadata;

  return finishMapping(
    {
      standard: {
        u_em: email,
        u_mb: str(u.phone_number),
        u_fn: str(u.given_name),
        u_ln: str(u.family_name),
        u_n: name !== undefined && name !== email ? name : undefined,
      },
      custom,
    },
    ctx,
    { customerId: typeof u.user_id === 'string' ? u.user_id : undefined, body, isCreate: type === 'user.created' },
  );
}

export const auth0Source: WebhookSource = {
  name: 'auth0',
  verify,
  parse,
  map,
};
