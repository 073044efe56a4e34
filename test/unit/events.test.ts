/**
 * MoEngage events (the per-source `events` option): configuration checks, the event each
 * source builds, and the sender's exactly-once delivery of Create Event calls (customer and
 * bulk mode) under duplicates, retries, redrives, failures and stale attributes, with the
 * claims in memory and against dynalite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAdapterConfig, sourceOptions, type SourceName } from '../../functions/core/config';
import type { Envelope } from '../../functions/core/envelope';
import { METRIC } from '../../functions/core/names';
import { eventClaimKey } from '../../functions/core/state';
import { auth0Source } from '../../functions/sources/auth0';
import { CLERK_EVENTS } from '../../functions/sources/clerk';
import { mappedEvents } from '../../functions/sources/events';
import { SEGMENT_ACTED_ON_TYPES } from '../../functions/sources/segment';
import { SHOPIFY_ACTED_ON_TOPICS } from '../../functions/sources/shopify';
import { STRIPE_EVENTS } from '../../functions/sources/stripe';
import { WORKOS_ACTED_ON_EVENTS } from '../../functions/sources/workos';
import { AUTH0_ACTED_ON_EVENTS } from '../../functions/sources/auth0';
import { EVENT_OPTION_TYPES } from '../../functions/core/config';
import type { ParsedEvent } from '../../functions/sources/types';
import { T0, versionedEnvelope } from '../helpers/envelopes';
import { dynamoStateStore, type StateStore } from '../../functions/shared/state-store';
import { decodeEnvelope } from '../../functions/core/envelope';
import { receiveWebhook, type QueueMessage } from '../../functions/receiver/receive';
import { recordingTelemetry } from '../../functions/shared/observability';
import { SOURCES } from '../../functions/sources';
import type { Mapped, WebhookSource } from '../../functions/sources/types';
import { startLocalDynamo, type LocalDynamo } from '../../local/dynamodb';
import { readFileSync } from 'node:fs';
import { RateLimiter } from '../../functions/core/moengage/rate-limit';
import { CREATE_EVENT_LIMIT_PER_MINUTE } from '../../functions/core/moengage/limits';
import { STATE_TABLE_OPERATIONS } from '../../lib/observability';
import { memoryStateStore } from '../helpers/memory-state-store';
import { recordOf, senderHarness, type Harness } from '../helpers/sender-harness';
import type { RecordResult } from '../../functions/sender/deliver';

const SIGNED_UP = [{ action: 'Signed Up', attributes: { provider: 'clerk', signup_method: 'email_code' }, current_time: Math.floor(T0 / 1000) }];

/** The n-th update of user_1 (its e-mail only). */
const env = (n: number, over: Partial<Envelope> = {}): Envelope => versionedEnvelope(n, { attrs: { u_em: `e${n}@example.com` }, ...over });

/** A `user.created` with its "Signed Up" event. */
const created = (n = 1, over: Partial<Envelope> = {}) => env(n, { eventType: 'user.created', events: SIGNED_UP, ...over });

/** Put back for a retry: an invisible message, or (FIFO with the state store) a copy requeued out of the user's line. */
const retried = (r: RecordResult | undefined) => r !== undefined && (!r.ok || r.action === 'requeued');

const paths = (h: Harness) => h.moengage.calls.filter((c) => c.status === 200).map((c) => c.path);
const eventCalls = (h: Harness) => h.moengage.calls.filter((c) => c.status === 200 && c.path.startsWith('/v1/event/'));

/** A harness whose memory store runs on the harness's virtual clock. */
function withStore(options: Parameters<typeof senderHarness>[0] = {}) {
  const h = senderHarness(options);
  const store = memoryStateStore(() => h.deps.now());
  h.deps.state = store;
  return { h, store };
}

describe('the events option (configuration)', () => {
  it('accepts a mapping of a type the source acts on', () => {
    const config = parseAdapterConfig({ sources: { clerk: { events: { 'user.created': 'Signed Up' } } } });
    expect(sourceOptions(config, 'clerk').events).toEqual({ 'user.created': 'Signed Up' });
    expect(sourceOptions(config, 'stripe').events).toBeUndefined();
  });
  it('refuses an unknown type, a deletion type, an empty or moe_ name, naming the path', () => {
    const bad = (sources: unknown) => {
      try {
        parseAdapterConfig({ sources });
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(bad({ clerk: { events: { 'user.signed_in': 'Signed In' } } })).toMatch(/sources\.clerk\.events\.user\.signed_in: unknown clerk event type "user\.signed_in" \(the clerk source acts on: "user\.created", "user\.updated"\)/);
    expect(bad({ stripe: { events: { 'customer.deleted': 'Gone' } } })).toMatch(/sources\.stripe\.events\.customer\.deleted: unknown stripe event type/);
    expect(bad({ shopify: { events: { 'customers/create': '  ' } } })).toMatch(/sources\.shopify\.events\.customers\/create: the MoEngage event name must not be empty/);
    expect(bad({ auth0: { events: { 'user.created': 'moe_signup' } } })).toMatch(/sources\.auth0\.events\.user\.created: the moe_ prefix is reserved/);
    expect(bad({ workos: { events: { 'user.created': 7 } } })).toMatch(/sources\.workos\.events\.user\.created/);
  });
  it('standard: the types of its mapping, deletion events excluded; no mapping is an error', () => {
    const mapping = { events: ['member.joined', 'member.left'], deleteEvents: ['member.left'], customerId: 'data.id' };
    expect(() => parseAdapterConfig({ sources: { standard: { mapping, events: { 'member.joined': 'Joined' } } } })).not.toThrow();
    expect(() => parseAdapterConfig({ sources: { standard: { mapping, events: { 'member.left': 'Left' } } } })).toThrow(/sources\.standard\.events\.member\.left: unknown standard event type/);
    expect(() => parseAdapterConfig({ sources: { standard: { events: { x: 'X' } } } })).toThrow(/sources\.standard\.events: the standard source needs a mapping/);
  });
  it('the README\'s suggested mappings (docs/examples/events.json) are a valid configuration', () => {
    const config = parseAdapterConfig(JSON.parse(readFileSync(new URL('../../docs/examples/events.json', import.meta.url), 'utf8')));
    expect(sourceOptions(config, 'clerk').events).toEqual({ 'user.created': 'Signed Up' });
    expect(sourceOptions(config, 'stripe').events).toEqual({ 'customer.created': 'Customer Created' });
  });
  it("the mappable types are the sources' own create and update types", () => {
    const own: Record<Exclude<SourceName, 'standard'>, readonly string[]> = {
      clerk: CLERK_EVENTS,
      stripe: STRIPE_EVENTS,
      shopify: SHOPIFY_ACTED_ON_TOPICS,
      workos: WORKOS_ACTED_ON_EVENTS,
      auth0: AUTH0_ACTED_ON_EVENTS,
      segment: SEGMENT_ACTED_ON_TYPES,
    };
    for (const [source, types] of Object.entries(EVENT_OPTION_TYPES)) {
      for (const type of types) expect(own[source as keyof typeof own]).toContain(type);
    }
  });
});

describe('the event each source builds', () => {
  const now = new Date(T0);
  const options = (source: SourceName, type: string, name = 'Signed Up') => sourceOptions(parseAdapterConfig({ sources: { [source]: { events: { [type]: name } } } }), source);
  const event = (type: string, body: unknown, occurredAt?: string): ParsedEvent => ({ id: 'e1', type, body, ...(occurredAt ? { occurredAtMs: Date.parse(occurredAt) } : {}) });

  it('clerk: the sign-up method, the provider, the event time in epoch seconds, no platform', () => {
    const body = {
      type: 'user.created',
      data: {
        id: 'user_1',
        primary_email_address_id: 'idn_1',
        email_addresses: [{ id: 'idn_1', email_address: 'ada@example.com', verification: { status: 'verified', strategy: 'email_code' } }],
        external_accounts: [],
      },
    };
    const actions = mappedEvents('clerk', event('user.created', body, '2026-12-01T09:59:00.000Z'), options('clerk', 'user.created'), now);
    expect(actions).toEqual([{ action: 'Signed Up', attributes: { provider: 'clerk', signup_method: 'email_code' }, current_time: Math.floor(T0 / 1000) - 60 }]);
    const oauth = { ...body, data: { ...body.data, external_accounts: [{ provider: 'oauth_google', email_address: 'ada@example.com' }] } };
    expect(mappedEvents('clerk', event('user.created', oauth), options('clerk', 'user.created'), now)?.[0]?.attributes).toEqual({ provider: 'clerk', signup_method: 'oauth_google' });
    expect(JSON.stringify(actions)).not.toContain('ada@example.com');
  });
  it('an unmapped type builds nothing; a time in the future is the receiver\'s now', () => {
    expect(mappedEvents('clerk', event('user.updated', { data: {} }), options('clerk', 'user.created'), now)).toBeUndefined();
    expect(mappedEvents('clerk', event('constructor', { data: {} }), options('clerk', 'user.created'), now)).toBeUndefined();
    expect(mappedEvents('clerk', event('user.created', { data: {} }, '2027-01-01T00:00:00.000Z'), options('clerk', 'user.created'), now)?.[0]?.current_time).toBe(T0 / 1000);
  });
  it('stripe: the currency; shopify: currency, account state, verified email', () => {
    const stripe = mappedEvents('stripe', event('customer.created', { data: { object: { id: 'cus_1', currency: 'eur', email: 'x@example.com' } } }), options('stripe', 'customer.created', 'Customer Created'), now);
    expect(stripe?.[0]).toMatchObject({ action: 'Customer Created', attributes: { provider: 'stripe', currency: 'eur' } });
    const shopify = mappedEvents('shopify', event('customers/create', { id: 1, currency: 'USD', state: 'enabled', verified_email: true, email: 'x@example.com' }), options('shopify', 'customers/create'), now);
    expect(shopify?.[0]?.attributes).toEqual({ provider: 'shopify', currency: 'USD', account_state: 'enabled', verified_email: true });
  });
  it("auth0: the identity provider and connection (Event Streams' com.auth0 type prefix too); workos: email_verified", () => {
    const body = { data: { object: { user_id: 'auth0|1', identities: [{ provider: 'google-oauth2', connection: 'google-oauth2', user_id: '1' }] } } };
    expect(auth0Source.name).toBe('auth0');
    const auth0 = mappedEvents('auth0', event('com.auth0.user.created', body), options('auth0', 'user.created'), now);
    expect(auth0?.[0]?.attributes).toEqual({ provider: 'auth0', signup_method: 'google-oauth2', connection: 'google-oauth2' });
    const workos = mappedEvents('workos', event('user.created', { data: { id: 'user_1', email_verified: false } }), options('workos', 'user.created'), now);
    expect(workos?.[0]?.attributes).toEqual({ provider: 'workos', email_verified: false });
  });
  it('segment: the platform from a client library; none from a server library', () => {
    const body = (library: string) => ({ type: 'identify', userId: 'u1', context: { library: { name: library } } });
    expect(mappedEvents('segment', event('identify', body('analytics.js')), options('segment', 'identify'), now)?.[0]?.platform).toBe('web');
    expect(mappedEvents('segment', event('identify', body('analytics-ios')), options('segment', 'identify'), now)?.[0]?.platform).toBe('iOS');
    expect(mappedEvents('segment', event('identify', body('analytics-node')), options('segment', 'identify'), now)?.[0]).not.toHaveProperty('platform');
  });
});

describe('the receiver puts the events in the envelope', () => {
  async function receive(type: string, mapped: Mapped, config: unknown) {
    const sent: QueueMessage[] = [];
    const telemetry = recordingTelemetry();
    const clerk: WebhookSource = {
      name: 'clerk',
      verify: () => ({ ok: true }),
      parse: (r) => ({ ok: true, event: { id: 'evt_r', type, occurredAtMs: Date.parse('2026-11-29T09:00:00.000Z'), body: JSON.parse(r.rawBody.toString('utf8')) as unknown } }),
      map: () => mapped,
    };
    const res = await receiveWebhook(
      { method: 'POST', path: '/webhooks/clerk', headers: {}, rawBody: Buffer.from(JSON.stringify({ type, data: { id: 'user_1' } })) },
      {
        sources: { ...SOURCES, clerk },
        config: parseAdapterConfig(config),
        secrets: async () => ['s'],
        enqueue: async (m) => {
          sent.push(m);
        },
        queueType: 'fifo',
        now: () => new Date('2026-11-29T10:00:00.000Z'),
        telemetry,
      },
    );
    expect(res.statusCode).toBe(202);
    const decoded = decodeEnvelope(sent[0]?.body ?? '');
    if (!decoded.ok) throw new Error(decoded.message);
    return { envelope: decoded.envelope, telemetry };
  }
  const payload: Mapped = { kind: 'payload', payload: { type: 'customer', customer_id: 'user_1', attributes: { u_fn: 'Ada' } }, customerKey: 'user_1', dropped: [] };
  const config = { sources: { clerk: { events: { 'user.created': 'Signed Up' } } } };

  it('a mapped type: its event, timed when the provider says it happened', async () => {
    const { envelope } = await receive('user.created', payload, config);
    expect(envelope.events).toEqual([{ action: 'Signed Up', attributes: { provider: 'clerk' }, current_time: Date.parse('2026-11-29T09:00:00.000Z') / 1000 }]);
  });
  it('an unmapped type, or no events option: no events', async () => {
    expect((await receive('user.updated', payload, config)).envelope).not.toHaveProperty('events');
    expect((await receive('user.created', payload, {})).envelope).not.toHaveProperty('events');
  });
  it('a user without customer_id (identity resolution only): no event, and a warning says why', async () => {
    const noId: Mapped = { ...payload, payload: { type: 'customer', attributes: { moe_email: 'a@example.com' } }, customerKey: 'moe_email:a' } as Mapped;
    const { envelope, telemetry } = await receive('user.created', noId, { ...config, identityResolution: { identifiers: { moe_email: 'u_em' } } });
    expect(envelope).not.toHaveProperty('events');
    expect(JSON.stringify(telemetry.lines)).toContain('the user has no customer_id');
  });
});

describe('Create Event in customer mode', () => {
  it('one Track User call, then one Create Event call for the same customer_id', async () => {
    const { h } = withStore();
    const r = await h.deliver([recordOf(created(), 1, 'a')]);
    expect(r.get('a')).toEqual({ ok: true, action: 'delivered' });
    expect(paths(h)).toEqual(['/v1/customer/ws1', '/v1/event/ws1']);
    expect(eventCalls(h)[0]?.body).toEqual({ type: 'event', customer_id: 'user_1', actions: SIGNED_UP });
    expect(h.telemetry.counts.get(METRIC.eventsSent)).toBe(1);
  });
  it('the same provider event delivered again (duplicate, provider retry, redrive) fires no second event', async () => {
    const { h } = withStore();
    await h.deliver([recordOf(created(), 1, 'a')]);
    const r = await h.deliver([recordOf(created(), 1, 'b'), recordOf(created(), 1, 'c')]);
    expect(r.get('b')).toEqual({ ok: true, action: 'dropped' });
    expect(r.get('c')).toEqual({ ok: true, action: 'dropped' });
    expect(eventCalls(h)).toHaveLength(1);
    expect(h.telemetry.counts.get(METRIC.eventDuplicatesDropped)).toBe(2);
  });
  it('a stale user.created (after a newer user.updated) sends no attributes but still fires its event, once', async () => {
    const { h } = withStore();
    await h.deliver([recordOf(env(5), 1, 'upd')]);
    const r = await h.deliver([recordOf(created(1), 1, 'late')]);
    expect(r.get('late')).toEqual({ ok: true, action: 'delivered' });
    expect(paths(h)).toEqual(['/v1/customer/ws1', '/v1/event/ws1']);
    expect(h.moengage.profiles.get('user_1')?.u_em).toBe('e5@example.com');
    await h.deliver([recordOf(created(1), 1, 'again')]);
    expect(eventCalls(h)).toHaveLength(1);
  });
  it('a failed Create Event is retried on the next receive (attributes not sent again) and fires once', async () => {
    const { h } = withStore();
    let failures = 1;
    h.moengage.failWhen((path) => (path.startsWith('/v1/event/') && failures-- > 0 ? 500 : undefined));
    h.deps.policy = { ...h.deps.policy, maxAttemptsPerInvocation: 1 };
    const r1 = await h.deliver([recordOf(created(), 1, 'a')]);
    expect(retried(r1.get('a'))).toBe(true);
    const r2 = await h.deliver([recordOf(created(), 2, 'a')]);
    expect(r2.get('a')).toEqual({ ok: true, action: 'delivered' });
    expect(paths(h)).toEqual(['/v1/customer/ws1', '/v1/event/ws1']);
    const r3 = await h.deliver([recordOf(created(), 1, 'dup')]);
    expect(r3.get('dup')).toEqual({ ok: true, action: 'dropped' });
    expect(eventCalls(h)).toHaveLength(1);
  });
  it('a refused Create Event (400) parks the message with its reason; the redrive fires it once', async () => {
    const { h } = withStore();
    let refuse = true;
    h.moengage.failWhen((path) => (path.startsWith('/v1/event/') && refuse ? 400 : undefined));
    const r1 = await h.deliver([recordOf(created(), 1, 'a')]);
    expect(r1.get('a')).toEqual({ ok: true, action: 'parked' });
    expect(h.parked[0]?.info).toMatchObject({ reason: 'moengage_rejected', status: 400, detail: { message: 'Create Event: injected' } });
    refuse = false;
    const redriven = await h.deliver([recordOf(created(), 1, 'redriven')]);
    expect(redriven.get('redriven')).toEqual({ ok: true, action: 'delivered' });
    expect(eventCalls(h)).toHaveLength(1);
    expect(h.moengage.calls.filter((c) => c.path.startsWith('/v1/customer/') && c.status === 200)).toHaveLength(1);
  });
  it('a provider event older than the user\'s deletion fires nothing (it would re-create the user)', async () => {
    const { h } = withStore();
    await h.deliver([recordOf(env(9, { op: 'delete', eventType: 'user.deleted', payload: { type: 'customer', customer_id: 'user_1' } }), 1, 'del')]);
    const r = await h.deliver([recordOf(created(1), 1, 'late')]);
    expect(r.get('late')).toEqual({ ok: true, action: 'dropped' });
    expect(eventCalls(h)).toHaveLength(0);
  });
  it('a claim held by another delivery defers the message until its lease ends; on the last receive it is parked with its reason', async () => {
    const { h, store } = withStore({ maxReceiveCount: 3 });
    const key = eventClaimKey('clerk', 'evt_1');
    store.claims.set(key, { st: 'pending', tok: 'other', lease: h.deps.now() + 30_000 });
    const r1 = await h.deliver([recordOf(created(), 1, 'a')]);
    expect(r1.get('a')).toEqual({ ok: true, action: 'requeued' });
    expect(h.requeued[0]?.notBefore).toBe(h.deps.now() + 30_000);
    expect(eventCalls(h)).toHaveLength(0);
    const r3 = await h.deliver([recordOf(created(), 3, 'a')]);
    expect(r3.get('a')).toEqual({ ok: true, action: 'parked' });
    expect(h.parked[0]?.info).toMatchObject({ reason: 'retries_exhausted', detail: { message: expect.stringContaining('claimed by another delivery') } });
  });
  it('crash window 1: claimed but never sent; once the lease ended the retry sends it (not lost)', async () => {
    const { h, store } = withStore();
    store.claims.set(eventClaimKey('clerk', 'evt_1'), { st: 'pending', tok: 'crashed', lease: h.deps.now() - 1 });
    const r = await h.deliver([recordOf(created(), 2, 'a')]);
    expect(r.get('a')).toEqual({ ok: true, action: 'delivered' });
    expect(eventCalls(h)).toHaveLength(1);
    expect(store.claims.get(eventClaimKey('clerk', 'evt_1'))).toEqual({ st: 'sent' });
  });
  it('crash window 2: sent but the mark not written; the message still succeeds (no re-send by this delivery), the error is counted', async () => {
    const { h, store } = withStore();
    const markEventSent = store.markEventSent;
    store.markEventSent = async () => {
      throw Object.assign(new Error('unavailable'), { name: 'InternalServerError' });
    };
    const r = await h.deliver([recordOf(created(), 1, 'a')]);
    expect(r.get('a')).toEqual({ ok: true, action: 'delivered' });
    expect(eventCalls(h)).toHaveLength(1);
    expect(h.telemetry.counts.get(METRIC.stateStoreErrors)).toBe(1);
    // At-least-once in this window: the claim stays pending, so a duplicate within its lease waits...
    const dup = await h.deliver([recordOf(created(), 1, 'dup')]);
    expect(retried(dup.get('dup'))).toBe(true);
    expect(eventCalls(h)).toHaveLength(1);
    store.markEventSent = markEventSent;
  });
  it('a claim that cannot be written defers the message (state_unavailable on the last receive); nothing is sent unguarded', async () => {
    const { h, store } = withStore({ maxReceiveCount: 2 });
    store.claimEvent = async () => {
      throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    };
    const r1 = await h.deliver([recordOf(created(), 1, 'a')]);
    expect(retried(r1.get('a'))).toBe(true);
    const r2 = await h.deliver([recordOf(created(), 2, 'a')]);
    expect(r2.get('a')).toEqual({ ok: true, action: 'parked' });
    expect(h.parked[0]?.info.reason).toBe('state_unavailable');
    expect(eventCalls(h)).toHaveLength(0);
  });
  it('without the state store (stateStore: false): the event goes with every delivery of the message', async () => {
    const h = senderHarness();
    await h.deliver([recordOf(created(), 1, 'a')]);
    await h.deliver([recordOf(created(), 1, 'b')]);
    expect(eventCalls(h)).toHaveLength(2);
  });
});

describe('events in bulk mode', () => {
  it("the event rides in the same /v1/transition request, right after that user's customer element", async () => {
    const { h } = withStore({ mode: 'bulk', fifo: false });
    const other = env(2, { eventId: 'evt_o', userKey: 'u-2', payload: { type: 'customer', customer_id: 'user_2', attributes: { u_fn: 'B' } } });
    await h.deliver([recordOf(created(), 1, 'a'), recordOf(other, 1, 'b')]);
    expect(paths(h)).toEqual(['/v1/transition/ws1']);
    const elements = (h.moengage.calls[0]?.body as { elements: { type: string; customer_id: string }[] }).elements;
    expect(elements.map((e) => `${e.type}:${e.customer_id}`)).toEqual(['customer:user_1', 'event:user_1', 'customer:user_2']);
    expect(elements[1]).toEqual({ type: 'event', customer_id: 'user_1', actions: SIGNED_UP });
    expect(h.telemetry.counts.get(METRIC.eventsSent)).toBe(1);
  });
  it('duplicates and a stale user.created: the event goes once, alone when the attributes are stale', async () => {
    const { h } = withStore({ mode: 'bulk', fifo: false });
    await h.deliver([recordOf(env(5), 1, 'upd')]);
    await h.deliver([recordOf(created(1), 1, 'late')]);
    const second = (h.moengage.calls[1]?.body as { elements: { type: string }[] }).elements;
    expect(second.map((e) => e.type)).toEqual(['event']);
    const r = await h.deliver([recordOf(created(1), 1, 'dup')]);
    expect(r.get('dup')).toEqual({ ok: true, action: 'dropped' });
    expect(h.moengage.calls).toHaveLength(2);
  });
  it('a refused bulk request falls back to Track User then Create Event per user; a failed one releases the claims for the retry', async () => {
    const { h } = withStore({ mode: 'bulk', fifo: false });
    let failBulk: number | undefined = 400;
    h.moengage.failWhen((path) => (path.startsWith('/v1/transition/') ? failBulk : undefined));
    await h.deliver([recordOf(created(), 1, 'a')]);
    expect(paths(h)).toEqual(['/v1/customer/ws1', '/v1/event/ws1']);

    const { h: h2 } = withStore({ mode: 'bulk', fifo: false });
    failBulk = 500;
    h2.moengage.failWhen((path) => (path.startsWith('/v1/transition/') ? failBulk : undefined));
    h2.deps.policy = { ...h2.deps.policy, maxAttemptsPerInvocation: 1 };
    const r1 = await h2.deliver([recordOf(created(), 1, 'a')]);
    expect(retried(r1.get('a'))).toBe(true);
    failBulk = undefined;
    const r2 = await h2.deliver([recordOf(created(), 2, 'a')]);
    expect(r2.get('a')).toEqual({ ok: true, action: 'delivered' });
    const ok = h2.moengage.calls.filter((c) => c.status === 200);
    expect(ok).toHaveLength(1);
    expect((ok[0]?.body as { elements: { type: string }[] }).elements.map((e) => e.type)).toEqual(['customer', 'event']);
  });
});

describe('pacing', () => {
  it("Create Event calls and bulk event elements take Create Event's own budget (30,000 events a minute deployed)", async () => {
    expect(CREATE_EVENT_LIMIT_PER_MINUTE).toBe(30_000);
    for (const mode of ['customer', 'bulk'] as const) {
      const { h } = withStore({ mode, fifo: mode === 'customer' });
      // 10 a second, 10 at once; the harness's clock stands still unless something sleeps
      h.deps.limiters.event = new RateLimiter({ capacityPerMinute: 600, burst: 10, now: h.deps.now, sleep: h.deps.sleep });
      h.deps.limiters.customer = new RateLimiter({ capacityPerMinute: 600, burst: 10, now: h.deps.now, sleep: h.deps.sleep });
      await h.deliver([recordOf(created(), 1, 'a')]);
      expect(h.deps.limiters.event.expectedWaitMs(10)).toBe(100); // one token taken
      expect(h.deps.limiters.customer.expectedWaitMs(10)).toBe(mode === 'customer' ? 100 : 0);
    }
  });
});

describe('Create Event claims in DynamoDB (dynalite)', () => {
  let dynamo: LocalDynamo;
  let clock = T0;
  let store: StateStore;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    store = dynamoStateStore({ client: dynamo.client, tableName: dynamo.tableName, retentionSeconds: 7 * 86_400, now: () => clock });
  });
  afterAll(async () => {
    await dynamo?.stop();
  });

  it('claim, busy while the lease holds, release, re-claim, sent for good', async () => {
    const key = eventClaimKey('clerk', 'msg_1');
    expect(await store.claimEvent(key, 'a', clock + 60_000)).toEqual({ outcome: 'claimed' });
    expect(await store.claimEvent(key, 'b', clock + 60_000)).toEqual({ outcome: 'busy', untilMs: clock + 60_000 });
    await store.releaseEvent(key, 'b'); // not b's claim: no effect
    expect(await store.claimEvent(key, 'b', clock + 60_000)).toMatchObject({ outcome: 'busy' });
    await store.releaseEvent(key, 'a');
    expect(await store.claimEvent(key, 'b', clock + 60_000)).toEqual({ outcome: 'claimed' });
    await store.markEventSent(key);
    expect(await store.claimEvent(key, 'c', clock + 60_000)).toEqual({ outcome: 'sent' });
    clock += 3_600_000;
    expect(await store.claimEvent(key, 'd', clock + 60_000)).toEqual({ outcome: 'sent' });
  });
  it('a lease that ended may be claimed again (a delivery that died); the item carries the TTL', async () => {
    const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
    const key = eventClaimKey('clerk', 'msg_2');
    expect(await store.claimEvent(key, 'a', clock + 1_000)).toEqual({ outcome: 'claimed' });
    clock += 2_000;
    expect(await store.claimEvent(key, 'b', clock + 1_000)).toEqual({ outcome: 'claimed' });
    const out = await dynamo.client.send(new GetItemCommand({ TableName: dynamo.tableName, Key: { pk: { S: key } } }));
    expect(out.Item?.tok?.S).toBe('b');
    expect(Number(out.Item?.ttl?.N)).toBe(Math.floor(clock / 1000) + 7 * 86_400);
  });
  it('state table operations per message: a mapped event adds one PutItem and one UpdateItem; its duplicate one PutItem and one GetItem', async () => {
    for (const mode of ['customer', 'bulk'] as const) {
      const ops = new Map<string, number>();
      const counting = {
        send: (command: { constructor: { name: string } }) => {
          ops.set(command.constructor.name, (ops.get(command.constructor.name) ?? 0) + 1);
          return dynamo.client.send(command as never);
        },
      };
      const h = senderHarness({ mode, fifo: mode === 'customer', state: dynamoStateStore({ client: counting as never, tableName: dynamo.tableName, retentionSeconds: 3600, now: () => T0 }) });
      const e = created(1, { eventId: `evt_ops_${mode}`, userKey: `u-ops-${mode}` });
      await h.deliver([recordOf(e, 1, 'first')]);
      expect(Object.fromEntries(ops)).toEqual({ BatchGetItemCommand: 1, UpdateItemCommand: 2, PutItemCommand: 1 });
      ops.clear();
      await h.deliver([recordOf(e, 1, 'duplicate')]);
      expect(Object.fromEntries(ops)).toEqual({ BatchGetItemCommand: 1, GetItemCommand: 1, PutItemCommand: 1 });
      // Within what the stack grants the sender on the table.
      for (const op of ['BatchGetItem', 'GetItem', 'PutItem', 'UpdateItem']) expect(STATE_TABLE_OPERATIONS as readonly string[]).toContain(op);
    }
  });
  it('the sender against dynalite: one event for a provider event delivered twice, one after a failure', async () => {
    const h = senderHarness({ state: dynamoStateStore({ client: dynamo.client, tableName: dynamo.tableName, retentionSeconds: 7 * 86_400, now: () => T0 }) });
    let fail = 1;
    h.moengage.failWhen((path) => (path.startsWith('/v1/event/') && fail-- > 0 ? 503 : undefined));
    h.deps.policy = { ...h.deps.policy, maxAttemptsPerInvocation: 1 };
    const e = created(1, { eventId: 'evt_dyn', userKey: 'u-dyn' });
    expect(retried((await h.deliver([recordOf(e, 1, 'a')])).get('a'))).toBe(true);
    expect((await h.deliver([recordOf(e, 2, 'a')])).get('a')).toEqual({ ok: true, action: 'delivered' });
    expect((await h.deliver([recordOf(e, 1, 'b')])).get('b')).toEqual({ ok: true, action: 'dropped' });
    expect(eventCalls(h)).toHaveLength(1);
  });
});
