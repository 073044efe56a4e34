/**
 * Test helpers: realistic webhook bodies of every source and their signatures, computed with
 * node:crypto directly (independently of the adapter's verification code, so that the tests
 * cross-check it), plus the request shapes the receiver sees.
 *
 * Everything is deterministic: the clock, the ids and the secrets are parameters or constants.
 */
import { createHmac } from 'node:crypto';
import type { SourceName } from '../../functions/core/config';
import type { WebhookRequest } from '../../functions/sources/types';

/** Test signing secrets, one per source, each in its provider's own format. Never used outside tests. */
export const TEST_SECRETS: Readonly<Record<SourceName, string>> = Object.freeze({
  clerk: `whsec_${Buffer.from('hostile-input-test-clerk-key-32b').toString('base64')}`,
  stripe: 'whsec_hostileTestStripeSigningSecret0001',
  shopify: 'shpss_hostile0test0shopify0secret0001',
  workos: 'wos_hostile_test_webhook_secret_0001',
  auth0: 'auth0-hostile-test-bearer-token-0001',
  segment: 'segment-hostile-test-shared-secret-0001',
  standard: `whsec_${Buffer.from('hostile-input-test-standard-key!').toString('base64')}`,
});

/** The `standard` source's mapping used by the tests (sources.standard.mapping). */
export const TEST_STANDARD_MAPPING = {
  events: ['user.created'],
  customerId: 'data.id',
  attributes: { u_em: 'data.email' },
} as const;

/** The parts of a secret that must never be echoed: the whole string and, for whsec_ secrets, the key. */
export function secretForms(secret: string): string[] {
  const forms = [secret];
  if (secret.startsWith('whsec_')) forms.push(secret.slice('whsec_'.length));
  return forms;
}

// ---------------------------------------------------------------------------------------------
// Signers (node:crypto only)
// ---------------------------------------------------------------------------------------------

type Bytes = string | Buffer;

function whsecKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/** Svix (Clerk) and Standard Webhooks: `v1,<base64 HMAC-SHA256(key, "${id}.${t}.${body}")>`. */
function svixSignature(secret: string, id: string, timestampSeconds: number | string, body: Bytes): string {
  const mac = createHmac('sha256', whsecKey(secret));
  mac.update(`${id}.${timestampSeconds}.`, 'utf8');
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

/** Stripe: `t=<seconds>,v1=<hex HMAC-SHA256(whole secret, "${t}.${body}")>`. */
function stripeSignatureHeader(secret: string, timestampSeconds: number | string, body: Bytes): string {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8'));
  mac.update(`${timestampSeconds}.`, 'utf8');
  mac.update(body);
  return `t=${timestampSeconds},v1=${mac.digest('hex')}`;
}

/** Shopify: base64 HMAC-SHA256(secret, raw body). */
function shopifyHmac(secret: string, body: Bytes): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('base64');
}

/** WorkOS: `t=<milliseconds>, v1=<hex HMAC-SHA256(secret, "${t}.${body}")>`. */
function workosSignatureHeader(secret: string, timestampMs: number | string, body: Bytes): string {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8'));
  mac.update(`${timestampMs}.`, 'utf8');
  mac.update(body);
  return `t=${timestampMs}, v1=${mac.digest('hex')}`;
}

/** Segment: hex HMAC-SHA1(secret, raw body). */
function segmentSignature(secret: string, body: Bytes): string {
  return createHmac('sha1', Buffer.from(secret, 'utf8')).update(body).digest('hex');
}

/** Auth0 Event Streams: bearer authorization. */
function bearer(token: string): string {
  return `Bearer ${token}`;
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

export interface SignOptions {
  /** The signing time (the receiver's injected clock usually equals it). */
  now: Date;
  /** Default TEST_SECRETS[source]. */
  secret?: string;
  /** Signed timestamp override, in seconds (WorkOS: converted to milliseconds). */
  timestampSeconds?: number;
  /** Header-carried event id: svix-id (clerk), webhook-id (standard), X-Shopify-Event-Id (shopify). */
  eventId?: string;
  /** Shopify topic header; default `customers/create`. */
  topic?: string;
}

const DEFAULT_HEADER_EVENT_ID: Readonly<Record<'clerk' | 'standard' | 'shopify', string>> = {
  clerk: 'msg_2hostileTestEvent000000001',
  standard: 'msg_hostile_standard_0001',
  shopify: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
};

/** The headers a provider sends with `body` (lower-case names): signature and, where needed, id / topic. */
export function signatureHeaders(source: SourceName, body: Bytes, opts: SignOptions): Record<string, string> {
  const secret = opts.secret ?? TEST_SECRETS[source];
  const seconds = opts.timestampSeconds ?? Math.floor(opts.now.getTime() / 1000);
  switch (source) {
    case 'clerk': {
      const id = opts.eventId ?? DEFAULT_HEADER_EVENT_ID.clerk;
      return { 'svix-id': id, 'svix-timestamp': String(seconds), 'svix-signature': svixSignature(secret, id, seconds, body) };
    }
    case 'standard': {
      const id = opts.eventId ?? DEFAULT_HEADER_EVENT_ID.standard;
      return { 'webhook-id': id, 'webhook-timestamp': String(seconds), 'webhook-signature': svixSignature(secret, id, seconds, body) };
    }
    case 'stripe':
      return { 'stripe-signature': stripeSignatureHeader(secret, seconds, body) };
    case 'shopify':
      return {
        'x-shopify-hmac-sha256': shopifyHmac(secret, body),
        'x-shopify-topic': opts.topic ?? 'customers/create',
        'x-shopify-event-id': opts.eventId ?? DEFAULT_HEADER_EVENT_ID.shopify,
        'x-shopify-shop-domain': 'hostile-test.myshopify.com',
        'x-shopify-api-version': '2025-01',
      };
    case 'workos': {
      const ms = opts.timestampSeconds !== undefined ? opts.timestampSeconds * 1000 : opts.now.getTime();
      return { 'workos-signature': workosSignatureHeader(secret, ms, body) };
    }
    case 'auth0':
      return { authorization: bearer(secret) };
    case 'segment':
      return { 'x-signature': segmentSignature(secret, body) };
  }
}

export interface RequestOptions extends SignOptions {
  method?: string;
  path?: string;
  /** Extra or overriding headers (lower-case names); `undefined` removes a header. */
  headers?: Record<string, string | undefined>;
  /** Default application/json. */
  contentType?: string;
}

/** A signed POST /webhooks/{source} request carrying `body` exactly. */
export function signedRequest(source: SourceName, body: Bytes, opts: RequestOptions): WebhookRequest {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const headers: Record<string, string | undefined> = {
    'content-type': opts.contentType ?? 'application/json',
    'user-agent': 'hostile-input-test',
    ...signatureHeaders(source, raw, opts),
    ...opts.headers,
  };
  return { method: opts.method ?? 'POST', path: opts.path ?? `/webhooks/${source}`, headers, rawBody: raw };
}

/** The same request without any signature / authorization header. */
export function unsignedRequest(source: SourceName, body: Bytes, opts: Omit<RequestOptions, 'secret' | 'timestampSeconds'>): WebhookRequest {
  const req = signedRequest(source, body, opts);
  const headers = { ...req.headers };
  for (const name of SIGNATURE_HEADER_NAMES[source]) delete headers[name];
  return { ...req, headers };
}

/** The header(s) that carry each source's signature or token. */
export const SIGNATURE_HEADER_NAMES: Readonly<Record<SourceName, readonly string[]>> = {
  clerk: ['svix-signature'],
  standard: ['webhook-signature'],
  stripe: ['stripe-signature'],
  shopify: ['x-shopify-hmac-sha256'],
  workos: ['workos-signature'],
  auth0: ['authorization'],
  segment: ['x-signature'],
};

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

export interface TestUser {
  /** The provider's user id (Shopify: decimal digits). */
  id: string;
  email: string;
  phone: string;
  firstName: string;
  lastName: string;
}

export const DEFAULT_USER_IDS: Readonly<Record<SourceName, string>> = {
  clerk: 'user_2hostileTestUser000000001',
  stripe: 'cus_HostileTest0001',
  shopify: '7002823213345',
  workos: 'user_01HOSTILETEST0000000000001',
  auth0: 'auth0|65f0c0ffee0000000000host',
  segment: 'seg-hostile-user-0001',
  standard: 'usr_hostile_0001',
};

/** The event type each source acts on, used by default. */
const ACTED_ON_TYPE: Readonly<Record<SourceName, string>> = {
  clerk: 'user.created',
  stripe: 'customer.created',
  shopify: 'customers/create',
  workos: 'user.created',
  auth0: 'user.created',
  segment: 'identify',
  standard: 'user.created',
};

/** A type each source receives but does not act on. */
export const IGNORED_TYPE: Readonly<Record<SourceName, string>> = {
  clerk: 'session.created',
  stripe: 'invoice.paid',
  shopify: 'orders/create',
  workos: 'dsync.user.created',
  auth0: 'user.deleted',
  segment: 'track',
  standard: 'workspace.created',
};

export interface BodyOptions {
  now: Date;
  /** Default ACTED_ON_TYPE[source]. */
  type?: string;
  /** Body-carried event id (stripe, workos, auth0, segment). */
  eventId?: string;
  user?: Partial<TestUser>;
  /** Merged into the source's metadata / traits object (public_metadata, metadata, user_metadata, traits). */
  metadata?: Record<string, unknown>;
}

const DEFAULT_BODY_EVENT_ID: Readonly<Record<'stripe' | 'workos' | 'auth0' | 'segment', string>> = {
  stripe: 'evt_1HostileTest000000000001',
  workos: 'event_01HOSTILETEST0000000000001',
  auth0: 'evt_hostile0000000001',
  segment: 'ajs-next-hostile-0000000001',
};

/** A realistic event body of `source` for one user, as the provider sends it. */
export function eventBody(source: SourceName, opts: BodyOptions): Record<string, unknown> {
  const user: TestUser = {
    id: DEFAULT_USER_IDS[source],
    email: 'jane.doe@example.com',
    phone: '+15555550123',
    firstName: 'Jane',
    lastName: 'Doe',
    ...opts.user,
  };
  const type = opts.type ?? ACTED_ON_TYPE[source];
  const iso = opts.now.toISOString();
  const ms = opts.now.getTime();
  const meta = { plan: 'pro', ...opts.metadata };
  switch (source) {
    case 'clerk':
      return {
        object: 'event',
        type,
        timestamp: ms,
        instance_id: 'ins_2hostileTestInstance',
        data: {
          id: user.id,
          object: 'user',
          first_name: user.firstName,
          last_name: user.lastName,
          email_addresses: [{ id: 'idn_email_1', object: 'email_address', email_address: user.email }],
          primary_email_address_id: 'idn_email_1',
          phone_numbers: [{ id: 'idn_phone_1', object: 'phone_number', phone_number: user.phone }],
          primary_phone_number_id: 'idn_phone_1',
          public_metadata: meta,
          private_metadata: { internal: 'never-forwarded' },
          unsafe_metadata: {},
          created_at: ms - 86_400_000,
          updated_at: ms,
        },
      };
    case 'stripe':
      return {
        id: opts.eventId ?? DEFAULT_BODY_EVENT_ID.stripe,
        object: 'event',
        type,
        created: Math.floor(ms / 1000),
        livemode: false,
        data: {
          object: {
            id: user.id,
            object: 'customer',
            email: user.email,
            phone: user.phone,
            name: `${user.firstName} ${user.lastName}`,
            metadata: meta,
            created: Math.floor(ms / 1000) - 86_400,
          },
        },
      };
    case 'shopify':
      return {
        id: /^\d+$/.test(user.id) && Number.isSafeInteger(Number(user.id)) ? Number(user.id) : user.id,
        email: user.email,
        phone: user.phone,
        first_name: user.firstName,
        last_name: user.lastName,
        state: 'enabled',
        verified_email: true,
        currency: 'USD',
        updated_at: iso,
        admin_graphql_api_id: `gid://shopify/Customer/${user.id}`,
      };
    case 'workos':
      return {
        id: opts.eventId ?? DEFAULT_BODY_EVENT_ID.workos,
        event: type,
        created_at: iso,
        data: {
          object: 'user',
          id: user.id,
          email: user.email,
          email_verified: true,
          first_name: user.firstName,
          last_name: user.lastName,
          metadata: meta,
          created_at: iso,
          updated_at: iso,
        },
      };
    case 'auth0':
      return {
        specversion: '1.0',
        id: opts.eventId ?? DEFAULT_BODY_EVENT_ID.auth0,
        type,
        source: 'urn:auth0:hostile-test.us.auth0.com',
        time: iso,
        data: {
          object: {
            user_id: user.id,
            email: user.email,
            email_verified: true,
            given_name: user.firstName,
            family_name: user.lastName,
            name: `${user.firstName} ${user.lastName}`,
            phone_number: user.phone,
            user_metadata: meta,
            app_metadata: { roles: ['admin'] },
            updated_at: iso,
          },
        },
      };
    case 'segment':
      return {
        type,
        messageId: opts.eventId ?? DEFAULT_BODY_EVENT_ID.segment,
        userId: user.id,
        anonymousId: '0b9d5d2c-7a61-4d35-9e0f-5f6d8b1c2a3e',
        timestamp: iso,
        sentAt: iso,
        traits: { email: user.email, phone: user.phone, firstName: user.firstName, lastName: user.lastName, ...meta },
      };
    case 'standard':
      return {
        type,
        timestamp: iso,
        data: { id: user.id, email: user.email, phone: user.phone, first_name: user.firstName, last_name: user.lastName },
      };
  }
}

/** The dot path of the object that `BodyOptions.metadata` is merged into. */
export const METADATA_PATH: Readonly<Record<SourceName, string | undefined>> = {
  clerk: 'data.public_metadata',
  stripe: 'data.object.metadata',
  shopify: undefined,
  workos: 'data.metadata',
  auth0: 'data.object.user_metadata',
  segment: 'traits',
  standard: undefined,
};

/** The event id the receiver should report for a request built by these helpers. */
export function expectedEventId(source: SourceName, opts: { eventId?: string } = {}): string {
  if (source === 'clerk' || source === 'standard' || source === 'shopify') return opts.eventId ?? DEFAULT_HEADER_EVENT_ID[source];
  return opts.eventId ?? DEFAULT_BODY_EVENT_ID[source];
}

/** A signed request carrying eventBody(source, opts): the ordinary, valid delivery. */
export function signedEvent(source: SourceName, opts: BodyOptions & RequestOptions): WebhookRequest {
  const body = JSON.stringify(eventBody(source, opts));
  const topic = source === 'shopify' ? (opts.topic ?? opts.type ?? ACTED_ON_TYPE.shopify) : opts.topic;
  return signedRequest(source, body, { ...opts, ...(topic !== undefined ? { topic } : {}) });
}
