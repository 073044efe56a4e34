/**
 * Realistic sample webhooks of every source, signed exactly the way each provider signs them,
 * and the fixed development secrets of `npm run dev`.
 *
 * Used by `npm run send`, the integration tests and the benchmarks. The signers use node:crypto
 * directly (not the adapter's verification code, not the providers' libraries), so that tests
 * can cross-check both against each other.
 *
 * The development secrets are public and fixed: they are only ever used by `npm run dev` for a
 * source that has no secret configured. A deployed stack has no defaults.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { SourceName, StandardMapping } from '../functions/core/config';
import { SIGNING_SECRET_ENV, splitSecrets } from '../functions/shared/secrets';

export { SIGNING_SECRET_ENV };

/** A Svix / Standard Webhooks secret: `whsec_` + base64 of a fixed 24-byte string. */
function whsec(fixed24: string): string {
  const bytes = Buffer.from(fixed24, 'utf8');
  if (bytes.length !== 24) throw new Error('a dev whsec secret is built from 24 bytes');
  return `whsec_${bytes.toString('base64')}`;
}

/** The fixed development secrets, in each provider's own format. */
export const DEV_SECRETS: Readonly<Record<SourceName, string>> = Object.freeze({
  clerk: whsec('moengage-adapter-dev-clk'),
  stripe: 'whsec_devMoEngageAdapterStripeSecret00',
  shopify: 'de7a5e1f0c4b3a29d8e7f6a5b4c3d2e1',
  workos: 'devworkos5e1f0c4b3a29d8e7f6a5',
  auth0: 'dev-auth0-token-9f8e7d6c5b4a39281706f5e4',
  segment: 'devsegment0c4b3a29d8e7f6a5b4c3d2e1',
  standard: whsec('moengage-adapter-dev-std'),
});

/** A mapping for the `standard` sample event (`sources.standard.mapping` of ADAPTER_CONFIG). */
export const SAMPLE_STANDARD_MAPPING: StandardMapping = {
  events: ['user.created', 'user.updated'],
  eventTypePath: 'type',
  occurredAtPath: 'timestamp',
  // The sample's own write time: a sender's retry keeps it (the webhook-timestamp header does not).
  version: 'timestamp',
  customerId: 'data.id',
  attributes: { u_em: 'data.email', u_mb: 'data.phone', u_fn: 'data.first_name', u_ln: 'data.last_name' },
  constants: {},
  addToArray: {},
  removeFromArray: {},
  partial: false,
  deleteEvents: ['user.deleted'],
};

/** The event type each source's sample uses when none is asked for. */
export const DEFAULT_SAMPLE_TYPES: Readonly<Record<SourceName, string>> = Object.freeze({
  clerk: 'user.created',
  stripe: 'customer.created',
  shopify: 'customers/create',
  workos: 'user.created',
  auth0: 'user.created',
  segment: 'identify',
  standard: 'user.created',
});

/** Each source's deletion event (a MoEngage Delete User call when the source has `deleteUsers`). */
export const DELETE_SAMPLE_TYPES: Readonly<Record<SourceName, string | undefined>> = Object.freeze({
  clerk: 'user.deleted',
  stripe: 'customer.deleted',
  shopify: 'customers/delete',
  workos: 'user.deleted',
  auth0: 'user.deleted',
  segment: undefined,
  standard: 'user.deleted',
});

// ---------------------------------------------------------------------------------------------
// Signers (node:crypto only)
// ---------------------------------------------------------------------------------------------

/** The key of a `whsec_<base64>` secret (a bare base64 string is accepted too). */
function whsecKey(secret: string): Buffer {
  const b64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  return Buffer.from(b64, 'base64');
}

/** Svix (Clerk) and Standard Webhooks: `v1,<base64 HMAC-SHA256(key, "${id}.${timestamp}.${body}")>`. */
function svixSignature(secret: string, msgId: string, timestampSeconds: number, body: string | Buffer): string {
  const mac = createHmac('sha256', whsecKey(secret));
  mac.update(`${msgId}.${timestampSeconds}.`, 'utf8');
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

/** Stripe: `t=<seconds>,v1=<hex HMAC-SHA256(secret, "${t}.${body}")>`, keyed with the whole `whsec_...` string. */
function stripeSignatureHeader(secret: string, timestampSeconds: number, body: string | Buffer): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestampSeconds}.`, 'utf8');
  mac.update(body);
  return `t=${timestampSeconds},v1=${mac.digest('hex')}`;
}

/** Shopify: X-Shopify-Hmac-Sha256 = base64 HMAC-SHA256(secret, raw body). */
function shopifyHmac(secret: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(body).digest('base64');
}

/** WorkOS: `t=<milliseconds>, v1=<hex HMAC-SHA256(secret, "${t}.${body}")>`. */
function workosSignatureHeader(secret: string, timestampMs: number, body: string | Buffer): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestampMs}.`, 'utf8');
  mac.update(body);
  return `t=${timestampMs}, v1=${mac.digest('hex')}`;
}

/** Segment: X-Signature = hex HMAC-SHA1(shared secret, raw body). */
export function segmentSignature(secret: string, body: string | Buffer): string {
  return createHmac('sha1', secret).update(body).digest('hex');
}

/** Auth0 Event Streams (webhook destination, bearer authorization). */
function auth0Authorization(token: string): string {
  return `Bearer ${token}`;
}

// ---------------------------------------------------------------------------------------------
// Sample events
// ---------------------------------------------------------------------------------------------

export interface SampleUser {
  /** The provider's user id (Shopify: a numeric string). */
  id: string;
  email: string;
  phone: string;
  firstName: string;
  lastName: string;
}

export interface SampleOptions {
  /** The provider's event type / topic; default DEFAULT_SAMPLE_TYPES[source]. */
  type?: string;
  /** Default: the current time. */
  now?: Date;
  /**
   * When the provider wrote this state of the user (the event's version: Clerk `updated_at`,
   * Stripe `created`, ...). Default: `now`. An earlier time with a current `now` makes a late
   * delivery of an older event, as a provider's retry is.
   */
  updatedAt?: Date;
  /** The provider's event id (svix-id, evt_..., X-Shopify-Event-Id, messageId, ...); default random. */
  eventId?: string;
  user?: Partial<SampleUser>;
  /** Injectable randomness: 32 hex characters per call. */
  randomHex?: () => string;
}

export interface SampleEvent {
  source: SourceName;
  type: string;
  eventId: string;
  /** The user id the adapter should use as customer_id (the contract's default mapping). */
  customerId: string;
  /** The exact bytes to send. */
  body: string;
  /** Provider headers other than the signature (e.g. x-shopify-topic), lower-case. */
  headers: Record<string, string>;
}

export interface SignedRequest {
  source: SourceName;
  type: string;
  eventId: string;
  customerId: string;
  method: 'POST';
  /** `/webhooks/<source>`. */
  path: string;
  /** Lower-case names, including content-type and the signature. */
  headers: Record<string, string>;
  body: string;
}

const DEFAULT_IDS: Readonly<Record<SourceName, string>> = {
  clerk: 'user_2devJaneDoeMoEngageAdapter01',
  stripe: 'cus_DevJaneDoe0001',
  shopify: '7002823213345',
  workos: 'user_01DEVJANEDOE0000000000001',
  auth0: 'auth0|65f0c0ffee0000000000dev1',
  segment: 'dev-user-jane-doe',
  standard: 'usr_dev_jane_doe',
};

function defaultRandomHex(): string {
  return randomBytes(16).toString('hex');
}

function uuidFromHex(hex: string): string {
  const h = hex.padEnd(32, '0').slice(0, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function defaultEventId(source: SourceName, hex: string): string {
  switch (source) {
    case 'clerk':
    case 'standard':
      return `msg_${hex.slice(0, 27)}`;
    case 'stripe':
      return `evt_${hex.slice(0, 24)}`;
    case 'shopify':
      return uuidFromHex(hex);
    case 'workos':
      return `event_01${hex.slice(0, 24).toUpperCase()}`;
    case 'auth0':
      return `evt_${hex.slice(0, 16)}`;
    case 'segment':
      return `ajs-next-${hex}`;
  }
}

/** Builds a realistic, unsigned sample webhook of `source`. */
export function buildSampleEvent(source: SourceName, options: SampleOptions = {}): SampleEvent {
  const now = options.now ?? new Date();
  const randomHex = options.randomHex ?? defaultRandomHex;
  const type = options.type ?? DEFAULT_SAMPLE_TYPES[source];
  const eventId = options.eventId ?? defaultEventId(source, randomHex());
  const user: SampleUser = {
    id: DEFAULT_IDS[source],
    email: 'jane.doe@example.com',
    phone: '+15555550123',
    firstName: 'Jane',
    lastName: 'Doe',
    ...options.user,
  };
  const isUpdate = /update/.test(type);
  const isDelete = type === DELETE_SAMPLE_TYPES[source];
  const at = options.updatedAt ?? now;
  const createdAt = new Date(at.getTime() - (isUpdate || isDelete ? 86_400_000 : 0));
  const iso = at.toISOString();
  const seconds = Math.floor(at.getTime() / 1000);
  const sub = randomHex().slice(0, 24);
  let body: unknown;
  const headers: Record<string, string> = {};

  switch (source) {
    case 'clerk': {
      if (isDelete) {
        // What Clerk sends: the deleted user's id only.
        body = {
          data: { deleted: true, id: user.id, object: 'user' },
          event_attributes: { http_request: { client_ip: '', user_agent: '' } },
          instance_id: 'ins_2devMoEngageAdapterInstance',
          object: 'event',
          timestamp: at.getTime(),
          type,
        };
        break;
      }
      const emailId = `idn_e${sub}`;
      const phoneId = `idn_p${sub}`;
      body = {
        data: {
          id: user.id,
          object: 'user',
          first_name: user.firstName,
          last_name: user.lastName,
          username: null,
          image_url: 'https://img.clerk.com/placeholder',
          has_image: false,
          email_addresses: [
            {
              id: emailId,
              object: 'email_address',
              email_address: user.email,
              linked_to: [],
              verification: { status: 'verified', strategy: 'email_code', attempts: 1, expire_at: null },
            },
          ],
          primary_email_address_id: emailId,
          phone_numbers: [
            {
              id: phoneId,
              object: 'phone_number',
              phone_number: user.phone,
              linked_to: [],
              reserved_for_second_factor: false,
              verification: { status: 'verified', strategy: 'phone_code', attempts: 1, expire_at: null },
            },
          ],
          primary_phone_number_id: phoneId,
          public_metadata: { plan: 'pro' },
          private_metadata: {},
          unsafe_metadata: {},
          external_id: null,
          last_sign_in_at: null,
          two_factor_enabled: false,
          created_at: createdAt.getTime(),
          updated_at: at.getTime(),
        },
        instance_id: 'ins_2devMoEngageAdapterInstance',
        object: 'event',
        timestamp: at.getTime(),
        type,
      };
      break;
    }
    case 'stripe': {
      const customer = {
        id: user.id,
        object: 'customer',
        address: null,
        balance: 0,
        created: Math.floor(createdAt.getTime() / 1000),
        currency: null,
        default_source: null,
        delinquent: false,
        description: null,
        email: user.email,
        invoice_prefix: 'DEV0001',
        livemode: false,
        metadata: { plan: 'pro' },
        name: `${user.firstName} ${user.lastName}`,
        phone: user.phone,
        preferred_locales: [],
        shipping: null,
        tax_exempt: 'none',
      };
      body = {
        id: eventId,
        object: 'event',
        api_version: '2025-03-31.basil',
        created: seconds,
        data: isUpdate ? { object: customer, previous_attributes: { name: 'Jane Smith' } } : { object: customer },
        livemode: false,
        pending_webhooks: 1,
        request: { id: `req_${sub.slice(0, 14)}`, idempotency_key: uuidFromHex(randomHex()) },
        type,
      };
      break;
    }
    case 'shopify': {
      const local = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, '-00:00');
      // A customers/delete payload: the id, no updated_at (X-Shopify-Triggered-At versions it).
      body = isDelete
        ? {
            id: Number(user.id),
            phone: null,
            addresses: [],
            tax_exemptions: [],
            email_marketing_consent: null,
            sms_marketing_consent: null,
            admin_graphql_api_id: `gid://shopify/Customer/${user.id}`,
          }
        : {
        id: Number(user.id),
        email: user.email,
        created_at: local(createdAt),
        updated_at: local(at),
        first_name: user.firstName,
        last_name: user.lastName,
        orders_count: 0,
        state: 'enabled',
        total_spent: '0.00',
        last_order_id: null,
        note: null,
        verified_email: true,
        multipass_identifier: null,
        tax_exempt: false,
        tags: 'dev',
        last_order_name: null,
        currency: 'USD',
        phone: user.phone,
        addresses: [],
        tax_exemptions: [],
        email_marketing_consent: { state: 'subscribed', opt_in_level: 'single_opt_in', consent_updated_at: local(createdAt) },
        sms_marketing_consent: null,
        admin_graphql_api_id: `gid://shopify/Customer/${user.id}`,
        default_address: null,
      };
      headers['x-shopify-topic'] = type;
      headers['x-shopify-shop-domain'] = 'moengage-adapter-dev.myshopify.com';
      headers['x-shopify-api-version'] = '2025-01';
      headers['x-shopify-webhook-id'] = uuidFromHex(randomHex());
      headers['x-shopify-event-id'] = eventId;
      headers['x-shopify-triggered-at'] = iso;
      break;
    }
    case 'workos':
      body = {
        id: eventId,
        event: type,
        data: {
          object: 'user',
          id: user.id,
          email: user.email,
          email_verified: true,
          first_name: user.firstName,
          last_name: user.lastName,
          profile_picture_url: null,
          last_sign_in_at: null,
          external_id: null,
          metadata: { plan: 'pro' },
          created_at: createdAt.toISOString(),
          updated_at: iso,
        },
        created_at: iso,
      };
      break;
    case 'auth0':
      body = {
        specversion: '1.0',
        type,
        source: 'urn:auth0:moengage-adapter-dev.us.auth0.com',
        id: eventId,
        time: iso,
        data: {
          object: isDelete ? { user_id: user.id, deleted_at: iso } : {
            user_id: user.id,
            email: user.email,
            email_verified: true,
            given_name: user.firstName,
            family_name: user.lastName,
            name: `${user.firstName} ${user.lastName}`,
            nickname: user.firstName.toLowerCase(),
            phone_number: user.phone,
            phone_verified: false,
            picture: 'https://s.gravatar.com/avatar/placeholder.png',
            identities: [{ connection: 'Username-Password-Authentication', provider: 'auth0', user_id: user.id.replace(/^auth0\|/, ''), isSocial: false }],
            user_metadata: { plan: 'pro' },
            app_metadata: {},
            created_at: createdAt.toISOString(),
            updated_at: iso,
          },
        },
        a0tenant: 'moengage-adapter-dev',
        a0stream: 'est_dev0000000000000000001',
      };
      break;
    case 'segment':
      body = {
        type,
        userId: user.id,
        anonymousId: uuidFromHex(randomHex()),
        messageId: eventId,
        timestamp: iso,
        sentAt: iso,
        receivedAt: iso,
        originalTimestamp: iso,
        channel: 'server',
        version: 2,
        context: { library: { name: 'analytics-node', version: '2.1.0' } },
        integrations: {},
        ...(type === 'identify'
          ? { traits: { email: user.email, firstName: user.firstName, lastName: user.lastName, phone: user.phone, plan: 'pro' } }
          : { event: 'Sample Event', properties: { plan: 'pro' } }),
      };
      break;
    case 'standard':
      body = {
        type,
        timestamp: iso,
        data: isDelete
          ? { id: user.id }
          : { id: user.id, email: user.email, phone: user.phone, first_name: user.firstName, last_name: user.lastName, plan: 'pro' },
      };
      break;
  }
  return { source, type, eventId, customerId: user.id, body: JSON.stringify(body), headers };
}

/**
 * Signs a sample the way its provider does. `now` is the signing time (default: the current
 * time): pass an old one to produce an expired signature.
 */
export function signSample(sample: SampleEvent, secret: string, now: Date = new Date()): SignedRequest {
  const seconds = Math.floor(now.getTime() / 1000);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...sample.headers };
  switch (sample.source) {
    case 'clerk':
      headers['svix-id'] = sample.eventId;
      headers['svix-timestamp'] = String(seconds);
      headers['svix-signature'] = svixSignature(secret, sample.eventId, seconds, sample.body);
      break;
    case 'standard':
      headers['webhook-id'] = sample.eventId;
      headers['webhook-timestamp'] = String(seconds);
      // Standard Webhooks uses the Svix scheme
      headers['webhook-signature'] = svixSignature(secret, sample.eventId, seconds, sample.body);
      break;
    case 'stripe':
      headers['stripe-signature'] = stripeSignatureHeader(secret, seconds, sample.body);
      headers['content-type'] = 'application/json; charset=utf-8';
      break;
    case 'shopify':
      headers['x-shopify-hmac-sha256'] = shopifyHmac(secret, sample.body);
      break;
    case 'workos':
      headers['workos-signature'] = workosSignatureHeader(secret, now.getTime(), sample.body);
      break;
    case 'segment':
      headers['x-signature'] = segmentSignature(secret, sample.body);
      break;
    case 'auth0':
      headers.authorization = auth0Authorization(secret);
      break;
  }
  return {
    source: sample.source,
    type: sample.type,
    eventId: sample.eventId,
    customerId: sample.customerId,
    method: 'POST',
    path: `/webhooks/${sample.source}`,
    headers,
    body: sample.body,
  };
}

/** A sample of `source`, signed with `secret` (default: the source's development secret). */
export function buildSignedSample(source: SourceName, options: SampleOptions & { secret?: string } = {}): SignedRequest {
  const { secret, ...rest } = options;
  return signSample(buildSampleEvent(source, rest), secret ?? DEV_SECRETS[source], rest.now ?? new Date());
}

/** The secret `npm run dev` uses for `source` given this environment (the configured one, else the dev one). */
export function effectiveSecret(source: SourceName, env: NodeJS.ProcessEnv = process.env): { secret: string; fromEnv: boolean } {
  // Several secrets may be configured during a rotation: the first one signs.
  const first = splitSecrets(env[SIGNING_SECRET_ENV[source]])[0];
  if (first !== undefined) return { secret: first, fromEnv: true };
  return { secret: DEV_SECRETS[source], fromEnv: false };
}

export interface PostResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Posts a signed request to a running receiver, e.g. `http://127.0.0.1:3000`. */
export async function postSignedRequest(baseUrl: string, request: SignedRequest, fetchImpl: typeof fetch = fetch): Promise<PostResult> {
  const res = await fetchImpl(`${baseUrl.replace(/\/+$/, '')}${request.path}`, {
    method: request.method,
    headers: request.headers,
    body: request.body,
  });
  const headers: Record<string, string> = {};
  res.headers.forEach((value, key) => {
    headers[key] = value;
  });
  return { status: res.status, headers, body: await res.text() };
}
