/**
 * MoEngage events of a provider event (the per-source `events` option): which event name, its
 * attributes, its time and, where the source tells, its platform. One place for every source,
 * so that the source files keep their three verbs (verify, parse, map).
 *
 * Attributes follow the user attributes' naming rules (fixed snake_case names, values cut to
 * MoEngage's string length) and carry no PII beyond what the profile already holds: how the
 * user signed up, the provider, the currency where the provider has one. Every event also
 * carries `provider` (the source's name).
 */
import type { SourceName, StandardSourceOptions } from '../core/config';
import { normalizePrimitive } from '../core/moengage/attributes';
import type { AttributePrimitive, EventAction, EventPlatform } from '../core/moengage/types';
import { auth0EventType } from './auth0';
import { getPath, isRecord, str } from './common';
import type { ParsedEvent } from './types';

type Attributes = Record<string, unknown>;

/** Clerk: the first external account's provider (`oauth_google`), else the primary email's or phone's verification strategy, else `password`. */
function clerkAttributes(body: unknown): Attributes {
  const user = getPath(body, 'data');
  if (!isRecord(user)) return {};
  const firstProvider = Array.isArray(user.external_accounts) && isRecord(user.external_accounts[0]) ? str(user.external_accounts[0].provider) : undefined;
  const strategyOf = (list: unknown, primaryId: unknown): string | undefined => {
    if (!Array.isArray(list) || typeof primaryId !== 'string') return undefined;
    const entry = list.find((e) => isRecord(e) && e.id === primaryId);
    return isRecord(entry) ? str(getPath(entry, 'verification.strategy')) : undefined;
  };
  const method =
    firstProvider ??
    strategyOf(user.email_addresses, user.primary_email_address_id) ??
    strategyOf(user.phone_numbers, user.primary_phone_number_id) ??
    (user.password_enabled === true ? 'password' : undefined);
  return { signup_method: method };
}

/** Auth0: the identity provider (`auth0`, `google-oauth2`) and the connection's name. */
function auth0Attributes(body: unknown): Attributes {
  const identity = getPath(body, 'data.object.identities.0');
  if (!isRecord(identity)) return {};
  return { signup_method: str(identity.provider), connection: str(identity.connection) };
}

function workosAttributes(body: unknown): Attributes {
  const verified = getPath(body, 'data.email_verified');
  return { email_verified: typeof verified === 'boolean' ? verified : undefined };
}

function stripeAttributes(body: unknown): Attributes {
  return { currency: str(getPath(body, 'data.object.currency')) };
}

function shopifyAttributes(body: unknown): Attributes {
  if (!isRecord(body)) return {};
  return { currency: str(body.currency), account_state: str(body.state), verified_email: typeof body.verified_email === 'boolean' ? body.verified_email : undefined };
}

const NO_ATTRIBUTES = (): Attributes => ({});

const ATTRIBUTES_OF: Readonly<Record<SourceName, (body: unknown) => Attributes>> = {
  clerk: clerkAttributes,
  auth0: auth0Attributes,
  workos: workosAttributes,
  stripe: stripeAttributes,
  shopify: shopifyAttributes,
  segment: NO_ATTRIBUTES,
  standard: NO_ATTRIBUTES,
};

/** Segment libraries that tell the platform (`context.library.name`); server libraries do not. */
const SEGMENT_PLATFORMS: Readonly<Record<string, EventPlatform>> = {
  'analytics.js': 'web',
  'analytics-next': 'web',
  'analytics-ios': 'iOS',
  'analytics-swift': 'iOS',
  'analytics-android': 'ANDROID',
  'analytics-kotlin-android': 'ANDROID',
};

/** The platform, where the source tells (Segment's client libraries); undefined elsewhere. */
function platformOf(source: SourceName, body: unknown): EventPlatform | undefined {
  if (source !== 'segment') return undefined;
  const library = str(getPath(body, 'context.library.name'));
  return library !== undefined && Object.prototype.hasOwnProperty.call(SEGMENT_PLATFORMS, library) ? SEGMENT_PLATFORMS[library] : undefined;
}

/** The event type the `events` option is keyed by (Auth0's `com.auth0.user.created` is `user.created`). */
function eventOptionType(source: SourceName, type: string): string {
  return source === 'auth0' ? auth0EventType(type) : type;
}

/** The attributes of a provider event's MoEngage event, normalized as user attribute values; empty values left out. */
function eventAttributes(source: SourceName, event: ParsedEvent): Record<string, AttributePrimitive> {
  const out: Record<string, AttributePrimitive> = { provider: source };
  for (const [name, raw] of Object.entries(ATTRIBUTES_OF[source](event.body))) {
    const value = normalizePrimitive(raw);
    if (value.kind === 'value') out[name] = value.value;
  }
  return out;
}

/**
 * The MoEngage events of a provider event: one action named by the source's `events` option,
 * or undefined when the option does not map this event type. `current_time` is when the
 * provider says the event happened, in epoch seconds, never later than `now` (MoEngage refuses
 * events dated in the future); the receiver's time when the provider says nothing.
 */
export function mappedEvents(source: SourceName, event: ParsedEvent, options: StandardSourceOptions, now: Date): EventAction[] | undefined {
  const events = options.events;
  const type = eventOptionType(source, event.type);
  // An own key only: the type comes from the webhook (`constructor` must not find Object's).
  if (!events || !Object.prototype.hasOwnProperty.call(events, type)) return undefined;
  const name = events[type] as string;
  const nowMs = now.getTime();
  const atMs = event.occurredAtMs !== undefined ? Math.min(event.occurredAtMs, nowMs) : nowMs;
  const action: EventAction = { action: name.trim(), attributes: eventAttributes(source, event), current_time: Math.floor(atMs / 1000) };
  const platform = platformOf(source, event.body);
  if (platform) action.platform = platform;
  return [action];
}
