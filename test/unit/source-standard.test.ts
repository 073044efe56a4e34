import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { describe, expect, it, vi } from 'vitest';
import { standardSourceOptionsSchema, type IdentityResolutionConfig } from '../../functions/core/config';
import { decodeWhsecSecret } from '../../functions/sources/crypto';
import {
  MAPPING_CONFIG_PATH,
  parseStandardEvent,
  standardSource,
  UNKNOWN_EVENT_TYPE,
  validateStandardMapping,
} from '../../functions/sources/standard';
import type { ParsedEvent, SourceContext, WebhookRequest } from '../../functions/sources/types';
import { payloadOf, withBody } from '../helpers/source-test';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/standard/${name}.json`, import.meta.url)), 'utf8');

const USER_CREATED = fixture('user.created');
const USER_UPDATED = fixture('user.updated');
const WORKSPACE_CREATED = fixture('workspace.created');
const USER_DELETED = fixture('user.deleted');

const SECRET = `whsec_${Buffer.alloc(32, 0x5a).toString('base64')}`;
const NEW_SECRET = `whsec_${Buffer.alloc(32, 0x6b).toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.alloc(32, 0x7c).toString('base64')}`;
const NOW = new Date('2024-05-28T08:00:02.000Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const MSG_ID = 'msg_01HYX3QM2B8D9E0F1G2H3J4K5L';

/** The mapping an operator of the made-up "Acme Notes" app would configure. */
const MAPPING = {
  events: ['user.created', 'user.updated'],
  customerId: 'data.user.id',
  attributes: {
    u_em: 'data.user.email',
    u_mb: 'data.user.mobile',
    u_fn: 'data.user.given_name',
    u_ln: 'data.user.family_name',
    u_bd: 'data.user.birthdate',
    locale: 'data.user.locale',
    tags: 'data.user.tags',
    workspace_name: 'data.workspace.name',
  },
  constants: { signup_source: 'acme-notes' },
  passThrough: 'data.user.profile',
  addToArray: { programs: 'data.user.joined_programs' },
  removeFromArray: { programs: 'data.user.left_programs' },
};

function ourSignature(secret: string, id: string, timestamp: number | string, body: string): string {
  const key = decodeWhsecSecret(secret);
  if (!key) throw new Error('bad test secret');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

function officialSignature(secret: string, id: string, timestamp: number, body: string): string {
  return new StandardWebhook(secret).sign(id, new Date(timestamp * 1000), body);
}

function request(body: string | Buffer, headers: Record<string, string | undefined>): WebhookRequest {
  return { method: 'POST', path: '/webhooks/standard', headers, rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8') };
}

function signed(body: string, opts: { secret?: string; id?: string; timestamp?: number } = {}): WebhookRequest {
  const id = opts.id ?? MSG_ID;
  const ts = opts.timestamp ?? NOW_S;
  return request(body, { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': officialSignature(opts.secret ?? SECRET, id, ts, body) });
}

function ctx(options: Record<string, unknown> = { mapping: MAPPING }, identityResolution?: IdentityResolutionConfig, now: Date = NOW): SourceContext {
  return { now, options: standardSourceOptionsSchema.parse(options), identityResolution };
}

function parsed(body: string, c?: SourceContext): ParsedEvent {
  const r = parseStandardEvent(signed(body), c);
  if (!r.ok) throw new Error(`parse failed: ${r.message}`);
  return r.event;
}

describe('standard source: identity', () => {
  it('is named standard with a ±300 s default tolerance', () => {
    expect(standardSource.name).toBe('standard');
    expect(standardSource.defaultToleranceSeconds).toBe(300);
    expect(standardSource.parse).toBe(parseStandardEvent);
  });
});

describe('standard source: verify', () => {
  it('accepts a delivery signed by the official standardwebhooks library', () => {
    expect(standardSource.verify(signed(USER_CREATED), [SECRET], ctx())).toEqual({ ok: true });
  });

  it('produces what the official library verifies (our signing path, their verification)', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(NOW);
      const headers = { 'webhook-id': MSG_ID, 'webhook-timestamp': String(NOW_S), 'webhook-signature': ourSignature(SECRET, MSG_ID, NOW_S, USER_CREATED) };
      expect(new StandardWebhook(SECRET).verify(USER_CREATED, headers)).toEqual(JSON.parse(USER_CREATED));
      expect(standardSource.verify(request(USER_CREATED, headers), [SECRET], ctx())).toEqual({ ok: true });
      expect(() => new StandardWebhook(SECRET).verify(USER_UPDATED, headers)).toThrow();
      expect(standardSource.verify(request(USER_UPDATED, headers), [SECRET], ctx()).ok).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('accepts rotation: several secrets, several signatures', () => {
    expect(standardSource.verify(signed(USER_CREATED, { secret: NEW_SECRET }), [SECRET, NEW_SECRET], ctx())).toEqual({ ok: true });
    const both = `${officialSignature(SECRET, MSG_ID, NOW_S, USER_CREATED)} ${officialSignature(NEW_SECRET, MSG_ID, NOW_S, USER_CREATED)}`;
    const req = request(USER_CREATED, { 'webhook-id': MSG_ID, 'webhook-timestamp': String(NOW_S), 'webhook-signature': both });
    expect(standardSource.verify(req, [NEW_SECRET], ctx())).toEqual({ ok: true });
    expect(standardSource.verify(req, [SECRET], ctx())).toEqual({ ok: true });
    expect(standardSource.verify(req, [OTHER_SECRET], ctx())).toEqual({ ok: false, message: 'signature mismatch' });
  });

  it('applies ±300 s inclusive, and options.toleranceSeconds', () => {
    const at = (delta: number, options: Record<string, unknown> = { mapping: MAPPING }) =>
      standardSource.verify(signed(USER_CREATED, { timestamp: NOW_S + delta }), [SECRET], ctx(options)).ok;
    expect([at(-300), at(300), at(-301), at(301)]).toEqual([true, true, false, false]);
    expect([at(-301, { toleranceSeconds: 400 }), at(401, { toleranceSeconds: 400 })]).toEqual([true, false]);
  });

  it('agrees with the official library at the tolerance edges', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(NOW);
      for (const delta of [-301, -300, 300, 301]) {
        const req = signed(USER_CREATED, { timestamp: NOW_S + delta });
        let theirs = true;
        try {
          new StandardWebhook(SECRET).verify(USER_CREATED, req.headers as Record<string, string>);
        } catch {
          theirs = false;
        }
        expect(standardSource.verify(req, [SECRET], ctx()).ok, `delta ${delta}`).toBe(theirs);
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a replay with an old timestamp', () => {
    const req = signed(USER_CREATED);
    expect(standardSource.verify(req, [SECRET], ctx({ mapping: MAPPING }, undefined, new Date(NOW.getTime() + 301_000))).ok).toBe(false);
  });

  it('refuses forged, foreign, truncated and tampered deliveries', () => {
    const good = signed(USER_CREATED);
    const forged = { ...good, headers: { ...good.headers, 'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}` } };
    const tampered = Buffer.from(good.rawBody);
    tampered[tampered.indexOf('founder')] = 'F'.charCodeAt(0);
    for (const req of [
      forged,
      signed(USER_CREATED, { secret: OTHER_SECRET }),
      { ...good, rawBody: Buffer.from(USER_UPDATED) },
      { ...good, rawBody: good.rawBody.subarray(0, good.rawBody.length - 3) },
      { ...good, rawBody: tampered },
      { ...good, headers: { ...good.headers, 'webhook-id': 'msg_replayed_under_another_id' } },
    ]) {
      expect(standardSource.verify(req, [SECRET], ctx())).toEqual({ ok: false, message: 'signature mismatch' });
    }
  });

  it('refuses missing headers, Svix-branded headers and non-v1 signatures', () => {
    const good = signed(USER_CREATED);
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      expect(standardSource.verify({ ...good, headers: { ...good.headers, [name]: undefined } }, [SECRET], ctx())).toEqual({
        ok: false,
        message: 'missing signature headers',
      });
    }
    const branded = request(USER_CREATED, {
      'svix-id': MSG_ID,
      'svix-timestamp': String(NOW_S),
      'svix-signature': good.headers['webhook-signature'],
    });
    expect(standardSource.verify(branded, [SECRET], ctx())).toEqual({ ok: false, message: 'missing signature headers' });
    const v1a = (good.headers['webhook-signature'] ?? '').replace('v1,', 'v1a,');
    expect(standardSource.verify({ ...good, headers: { ...good.headers, 'webhook-signature': v1a } }, [SECRET], ctx())).toEqual({
      ok: false,
      message: 'no v1 signature',
    });
  });

  it('refuses secrets in the wrong format', () => {
    expect(standardSource.verify(signed(USER_CREATED), ['whsec_***not-base64***', 'plain text secret'], ctx())).toEqual({
      ok: false,
      message: 'no usable signing secret configured',
    });
  });
});

describe('standard source: parse', () => {
  it('takes the id from webhook-id and type/time from the spec payload shape', () => {
    const r = standardSource.parse(signed(USER_CREATED));
    expect(r).toEqual({
      ok: true,
      event: {
        id: MSG_ID,
        type: 'user.created',
        occurredAtMs: Date.parse('2024-05-28T08:00:00.512Z'),
        // No version path in the mapping: the webhook-timestamp header (seconds), tie-broken by the webhook-id.
        version: `${String(NOW_S * 1000).padStart(15, '0')}~${MSG_ID}`,
        body: JSON.parse(USER_CREATED),
      },
    });
  });

  it('reads the type and time through the mapping when given the context', () => {
    const body = JSON.stringify({ event: { name: 'member.joined', at: 1716883200 }, member: { uid: 'm_1', email: 'ada@example.com' } });
    const mapping = { events: ['member.joined'], eventTypePath: 'event.name', occurredAtPath: 'event.at', customerId: 'member.uid' };
    const r = parseStandardEvent(signed(body), ctx({ mapping }));
    expect(r).toMatchObject({ ok: true, event: { type: 'member.joined', occurredAtMs: Date.parse('2024-05-28T08:00:00.000Z') } });
    // Without the context the type is unknown, and map() still reads it through the mapping.
    const plain = standardSource.parse(signed(body));
    expect(plain).toMatchObject({ ok: true, event: { type: UNKNOWN_EVENT_TYPE } });
    if (!plain.ok) return;
    expect(payloadOf(standardSource.map(plain.event, ctx({ mapping }))).payload).toEqual({ type: 'customer', customer_id: 'm_1' });
  });

  it('refuses a body without a type at the configured path (with the context)', () => {
    const body = withBody(USER_CREATED, (b) => delete b.type);
    expect(parseStandardEvent(signed(body), ctx())).toEqual({ ok: false, message: 'body has no event type at "type"' });
  });

  it('refuses bodies that are not JSON objects, and a missing webhook-id', () => {
    expect(standardSource.parse(request('[]', { 'webhook-id': MSG_ID }))).toEqual({ ok: false, message: 'body is not a JSON object' });
    expect(standardSource.parse(request('nope', { 'webhook-id': MSG_ID }))).toEqual({ ok: false, message: 'body is not valid JSON' });
    expect(standardSource.parse(request(' ', { 'webhook-id': MSG_ID }))).toEqual({ ok: false, message: 'body is empty' });
    expect(standardSource.parse(request(USER_CREATED, {}))).toEqual({ ok: false, message: 'missing webhook-id header' });
  });
});

describe('standard source: map', () => {
  it('maps user.created to the exact MoEngage payload', () => {
    const m = payloadOf(standardSource.map(parsed(USER_CREATED), ctx()));
    expect(m.payload).toEqual({
      type: 'customer',
      customer_id: 'usr_01HYX3QK8ZP4N5R6S7T8V9W0XA',
      attributes: {
        u_em: 'ada.lovelace@example.com',
        u_mb: '+15555550142',
        u_fn: 'Ada',
        u_ln: 'Lovelace',
        u_bd: '1815-12-10',
        company: 'Analytical Engines Ltd',
        role: 'founder',
        seats: 5,
        trial: true,
        locale: 'en-GB',
        tags: ['beta', 'mathematics'],
        workspace_name: 'Difference Engine',
        signup_source: 'acme-notes',
        addValueToArrayField: { programs: ['beta'] },
      },
    });
    expect(m.customerKey).toBe('usr_01HYX3QK8ZP4N5R6S7T8V9W0XA');
    expect(m.dropped).toEqual([]);
  });

  it('maps user.updated to the exact MoEngage payload', () => {
    const m = payloadOf(standardSource.map(parsed(USER_UPDATED), ctx()));
    expect(m.payload).toEqual({
      type: 'customer',
      customer_id: 'usr_01HYX3QK8ZP4N5R6S7T8V9W0XA',
      attributes: {
        u_em: 'countess@example.org',
        u_fn: 'Augusta Ada',
        u_ln: 'King',
        u_bd: '1815-12-10',
        company: 'Analytical Engines Ltd',
        role: 'chair',
        seats: 25,
        trial: false,
        locale: 'en-GB',
        tags: ['mathematics'],
        workspace_name: 'Difference Engine',
        signup_source: 'acme-notes',
        removeValueFromArrayField: { programs: ['beta'] },
      },
    });
  });

  it('rejects every event when no mapping is configured, telling the operator what to set', () => {
    for (const body of [USER_CREATED, WORKSPACE_CREATED]) {
      const m = standardSource.map(parsed(body), ctx({}));
      expect(m).toEqual({
        kind: 'rejected',
        field: 'mapping',
        message: 'the standard source has no mapping: configure sources.standard.mapping (events, customerId, attributes) in the adapter configuration',
      });
    }
  });

  it('ignores event types not listed in events', () => {
    expect(standardSource.map(parsed(WORKSPACE_CREATED), ctx())).toEqual({
      kind: 'ignored',
      reason: `event type workspace.created is not listed in ${MAPPING_CONFIG_PATH}.events`,
    });
    const onlyCreated = { ...MAPPING, events: ['user.created'] };
    expect(standardSource.map(parsed(USER_UPDATED), ctx({ mapping: onlyCreated })).kind).toBe('ignored');
    expect(standardSource.map(parsed(USER_CREATED), ctx({ mapping: onlyCreated })).kind).toBe('payload');
  });

  it('rejects an event without a type at eventTypePath, naming the path', () => {
    const event: ParsedEvent = { id: MSG_ID, type: UNKNOWN_EVENT_TYPE, body: { data: {} } };
    expect(standardSource.map(event, ctx())).toEqual({
      kind: 'rejected',
      field: 'type',
      message: `the event has no type at "type" (${MAPPING_CONFIG_PATH}.eventTypePath)`,
    });
  });

  it('lets explicit attributes and constants win over passThrough, which never sets a standard key', () => {
    const body = withBody(USER_CREATED, (b) => {
      b.data.user.profile = { u_em: 'spoof@example.com', locale: 'xx-XX', signup_source: 'forged', team: 'core' };
    });
    const attrs = payloadOf(standardSource.map(parsed(body), ctx())).payload.attributes ?? {};
    expect(attrs).toMatchObject({ u_em: 'ada.lovelace@example.com', locale: 'en-GB', signup_source: 'acme-notes', team: 'core' });
    expect(JSON.stringify(attrs)).not.toContain('spoof');
    // Even when the mapping sets no u_em itself, a passed-through u_em stays out.
    const noEmail = { events: ['user.created'], customerId: 'data.user.id', passThrough: 'data.user.profile' };
    const m = payloadOf(standardSource.map(parsed(body), ctx({ mapping: noEmail })));
    expect(m.payload.attributes).toEqual({ locale: 'xx-XX', signup_source: 'forged', team: 'core' });
  });

  it('flattens objects mapped as attributes and ignores a passThrough that is not an object', () => {
    const mapping = { events: ['user.created'], customerId: 'data.user.id', attributes: { workspace: 'data.workspace' }, passThrough: 'data.user.tags' };
    expect(payloadOf(standardSource.map(parsed(USER_CREATED), ctx({ mapping }))).payload.attributes).toEqual({
      workspace_name: 'Difference Engine',
      // "workspace_id" comes from the flattening of data.workspace
      workspace_id: 'ws_01HYX3QJ4M7F',
    });
  });

  it('sets only the keys whose paths exist', () => {
    const mapping = { events: ['user.created'], customerId: 'data.user.id', attributes: { u_gd: 'data.user.gender', nickname: 'data.user.nickname' } };
    expect(payloadOf(standardSource.map(parsed(USER_CREATED), ctx({ mapping }))).payload).toEqual({
      type: 'customer',
      customer_id: 'usr_01HYX3QK8ZP4N5R6S7T8V9W0XA',
    });
  });

  it('refuses adding to and removing from one array in the same event', () => {
    const body = withBody(USER_UPDATED, (b) => (b.data.user.joined_programs = ['alpha']));
    expect(standardSource.map(parsed(body), ctx())).toMatchObject({ kind: 'rejected', field: 'attributes.addValueToArrayField.programs' });
  });

  it('wraps a single value in add/remove operations', () => {
    const mapping = { events: ['user.created'], customerId: 'data.user.id', addToArray: { workspaces: 'data.workspace.id' } };
    expect(payloadOf(standardSource.map(parsed(USER_CREATED), ctx({ mapping }))).payload.attributes).toEqual({
      addValueToArrayField: { workspaces: ['ws_01HYX3QJ4M7F'] },
    });
  });

  it('rejects an event without a customer id', () => {
    const noCustomer = { ...MAPPING, customerId: undefined };
    expect(standardSource.map(parsed(USER_CREATED), ctx({ mapping: noCustomer }))).toMatchObject({ kind: 'rejected', field: 'customer_id' });
    const body = withBody(USER_CREATED, (b) => delete b.data.user.id);
    expect(standardSource.map(parsed(body), ctx())).toMatchObject({ kind: 'rejected', field: 'customer_id' });
  });

  it('works without customerId when identity resolution supplies an identifier', () => {
    const mapping = { events: ['user.created'], attributes: { u_em: 'data.user.email' } };
    const m = payloadOf(standardSource.map(parsed(USER_CREATED), ctx({ mapping }, { identifiers: { moe_email: 'u_em' } })));
    expect(m.payload).toEqual({ type: 'customer', attributes: { u_em: 'ada.lovelace@example.com', moe_email: 'ada.lovelace@example.com' } });
    expect(m.customerKey).toBe('moe_email:ada.lovelace@example.com');
  });

  it('customerIdField overrides the mapping (email and dot path)', () => {
    expect(payloadOf(standardSource.map(parsed(USER_CREATED), ctx({ mapping: MAPPING, customerIdField: 'email' }))).payload.customer_id).toBe(
      'ada.lovelace@example.com',
    );
    expect(
      payloadOf(standardSource.map(parsed(USER_CREATED), ctx({ mapping: MAPPING, customerIdField: 'data.workspace.id' }))).payload.customer_id,
    ).toBe('ws_01HYX3QJ4M7F');
  });

  it('updateExistingOnly from the mapping, overridden by the source option', () => {
    const mapping = { ...MAPPING, updateExistingOnly: true };
    expect(payloadOf(standardSource.map(parsed(USER_UPDATED), ctx({ mapping }))).payload.update_existing_only).toBe(true);
    expect(payloadOf(standardSource.map(parsed(USER_UPDATED), ctx({ mapping, updateExistingOnly: false }))).payload.update_existing_only).toBe(false);
    expect(payloadOf(standardSource.map(parsed(USER_UPDATED), ctx())).payload).not.toHaveProperty('update_existing_only');
  });

  it('uses a custom eventTypePath in map() even when parse() had no context', () => {
    const body = JSON.stringify({ kind: 'signup', account: { id: 'acc_9', email: 'grace@example.com' } });
    const mapping = { events: ['signup'], eventTypePath: 'kind', customerId: 'account.id', attributes: { u_em: 'account.email' } };
    const event = parsed(body);
    expect(event.type).toBe(UNKNOWN_EVENT_TYPE);
    expect(payloadOf(standardSource.map(event, ctx({ mapping }))).payload).toEqual({
      type: 'customer',
      customer_id: 'acc_9',
      attributes: { u_em: 'grace@example.com' },
    });
  });
});

describe('validateStandardMapping', () => {
  it('accepts a valid mapping and applies the defaults', () => {
    const r = validateStandardMapping({ events: ['user.created'], customerId: 'data.id' });
    expect(r).toEqual({
      ok: true,
      mapping: {
        events: ['user.created'],
        eventTypePath: 'type',
        customerId: 'data.id',
        attributes: {},
        constants: {},
        addToArray: {},
        removeFromArray: {},
        partial: false,
        deleteEvents: [],
      },
    });
    expect(validateStandardMapping(MAPPING).ok).toBe(true);
  });

  const messageOf = (input: unknown): string => {
    const r = validateStandardMapping(input);
    if (r.ok) throw new Error('expected the mapping to be refused');
    return r.message;
  };

  it('names the missing or empty events list', () => {
    expect(messageOf({ customerId: 'data.id' })).toMatch(/^sources\.standard\.mapping\.events: /);
    expect(messageOf({ events: [], customerId: 'data.id' })).toBe('sources.standard.mapping.events: list at least one event type to act on');
    expect(messageOf({ events: [''] })).toMatch(/^sources\.standard\.mapping\.events\.0: /);
  });

  it('names a bad dot path', () => {
    expect(messageOf({ events: ['a'], attributes: { u_em: 'data..email' } })).toBe(
      'sources.standard.mapping.attributes.u_em: must be a dot path such as "data.id" (no spaces, no empty segments)',
    );
    expect(messageOf({ events: ['a'], customerId: 'data id' })).toMatch(/^sources\.standard\.mapping\.customerId: must be a dot path/);
    expect(messageOf({ events: ['a'], eventTypePath: '' })).toMatch(/^sources\.standard\.mapping\.eventTypePath: /);
    expect(messageOf({ events: ['a'], addToArray: { tags: '.tags' } })).toMatch(/^sources\.standard\.mapping\.addToArray\.tags: /);
  });

  it('names a constant that is not a string, number or boolean', () => {
    expect(messageOf({ events: ['a'], constants: { vip: { nested: true } } })).toMatch(/^sources\.standard\.mapping\.constants\.vip: /);
  });

  it('names unknown keys', () => {
    expect(messageOf({ events: ['a'], attribute: {} })).toMatch(/^sources\.standard\.mapping: .*attribute/);
  });

  it('refuses something that is not an object', () => {
    expect(messageOf(null)).toMatch(/^sources\.standard\.mapping: /);
    expect(messageOf('events: user.created')).toMatch(/^sources\.standard\.mapping: /);
  });

  it('refuses moe_ attribute names, standard keys in array operations, empty names and duplicates', () => {
    expect(messageOf({ events: ['a'], attributes: { moe_email: 'data.email' } })).toMatch(
      /^sources\.standard\.mapping\.attributes\.moe_email: the moe_ prefix is reserved/,
    );
    expect(messageOf({ events: ['a'], constants: { MOE_flag: true } })).toMatch(/^sources\.standard\.mapping\.constants\.MOE_flag: /);
    expect(messageOf({ events: ['a'], removeFromArray: { u_em: 'data.email' } })).toBe(
      'sources.standard.mapping.removeFromArray.u_em: u_em is a standard attribute, not an array attribute',
    );
    expect(messageOf({ events: ['a'], attributes: { '': 'data.x' } })).toBe('sources.standard.mapping.attributes: attribute names must not be empty');
    expect(messageOf({ events: ['a'], attributes: { plan: 'data.plan' }, constants: { plan: 'free' } })).toBe(
      'sources.standard.mapping.constants.plan: plan is also mapped in attributes; set it in one place',
    );
  });

  it('lists every problem, one per line', () => {
    const message = messageOf({ events: ['a'], attributes: { moe_x: 'a', plan: 'b' }, constants: { plan: 1 }, addToArray: { u_fn: 'c' } });
    expect(message.split('\n')).toHaveLength(3);
  });

  it('never throws', () => {
    for (const input of [undefined, 0, [], { events: 'user.created' }, { events: [1] }, Object.create(null)]) {
      expect(validateStandardMapping(input).ok).toBe(false);
    }
  });
});

describe('standard source: versions', () => {
  const withVersion = (version: string) => ctx({ mapping: { ...MAPPING, version } });

  it('the mapping version path: ISO 8601, epoch seconds or epoch milliseconds, tie-broken by the webhook-id', () => {
    const at = (value: unknown) => parsed(withBody(USER_UPDATED, (b) => (b.data.user.updated_at = value)), withVersion('data.user.updated_at')).version;
    const expected = `001719561660250~${MSG_ID}`;
    expect(at('2024-06-28T08:01:00.250Z')).toBe(expected);
    expect(at('2024-06-28T10:01:00.250+02:00')).toBe(expected);
    expect(at(1719561660250)).toBe(expected);
    expect(at(1719561660.25)).toBe(expected);
    expect(at('1719561660250')).toBe(expected);
    expect(at(1719561660)).toBe(`001719561660000~${MSG_ID}`);
  });

  it('a configured path missing or unreadable leaves the event without a version (no fallback to another clock)', () => {
    for (const value of [undefined, null, 'yesterday', -1, true, { at: 1 }]) {
      const body = withBody(USER_UPDATED, (b) => (b.data.user.updated_at = value));
      expect(parsed(body, withVersion('data.user.updated_at')).version, JSON.stringify(value)).toBeUndefined();
    }
  });

  it('default: the webhook-timestamp header; a later delivery attempt has a later version', () => {
    const first = parseStandardEvent(signed(USER_UPDATED, { timestamp: NOW_S }), ctx());
    const retry = parseStandardEvent(signed(USER_UPDATED, { timestamp: NOW_S + 60 }), ctx());
    expect(first.ok && retry.ok && first.event.version! < retry.event.version!).toBe(true);
    // Without the mapping (no context) too.
    expect(parsed(USER_UPDATED).version).toBe(`${String(NOW_S * 1000).padStart(15, '0')}~${MSG_ID}`);
  });
});

describe('standard source: partial mappings and deleteEvents', () => {
  const DELETING = { ...MAPPING, deleteEvents: ['user.deleted'] };

  it('partial: true marks the payload as carrying changed attributes only; the default is a snapshot', () => {
    expect(payloadOf(standardSource.map(parsed(USER_UPDATED), ctx({ mapping: { ...MAPPING, partial: true } }))).partial).toBe(true);
    expect(payloadOf(standardSource.map(parsed(USER_UPDATED), ctx())).partial).toBeUndefined();
  });

  it('a deleteEvents type without deleteUsers is ignored (200) and says so', () => {
    const m = standardSource.map(parsed(USER_DELETED), ctx({ mapping: DELETING }));
    expect(m).toEqual({ kind: 'ignored', reason: 'event type user.deleted is a deletion (sources.standard.mapping.deleteEvents) and deleteUsers is off' });
  });

  it('with deleteUsers: one Delete User of the mapping customerId, the key an update of that user uses', () => {
    const c = ctx({ mapping: DELETING, deleteUsers: true });
    expect(standardSource.map(parsed(USER_DELETED), c)).toEqual({
      kind: 'delete',
      customerId: 'usr_01HYX3QK8ZP4N5R6S7T8V9W0XA',
      customerKey: 'usr_01HYX3QK8ZP4N5R6S7T8V9W0XA',
    });
    expect(payloadOf(standardSource.map(parsed(USER_UPDATED), c)).customerKey).toBe('usr_01HYX3QK8ZP4N5R6S7T8V9W0XA');
  });

  it('a type that is not in deleteEvents is not a deletion, even with deleteUsers', () => {
    expect(standardSource.map(parsed(USER_DELETED), ctx({ mapping: MAPPING, deleteUsers: true }))).toMatchObject({ kind: 'ignored' });
  });

  it('customerIdField email reads the mapped u_em path of the deletion; phone (no value) is ignored with a reason', () => {
    expect(standardSource.map(parsed(USER_DELETED), ctx({ mapping: DELETING, deleteUsers: true, customerIdField: 'email' }))).toEqual({
      kind: 'delete',
      customerId: 'countess@example.org',
      customerKey: 'countess@example.org',
    });
    const m = standardSource.map(parsed(USER_DELETED), ctx({ mapping: DELETING, deleteUsers: true, customerIdField: 'phone' }));
    expect(m.kind).toBe('ignored');
    if (m.kind === 'ignored') expect(m.reason).toContain('customer_id (phone)');
    expect(standardSource.map(parsed(USER_DELETED), ctx({ mapping: DELETING, deleteUsers: true, customerIdField: 'data.user.id' }))).toMatchObject({
      kind: 'delete',
      customerId: 'usr_01HYX3QK8ZP4N5R6S7T8V9W0XA',
    });
  });

  it('a deletion without a customer id (or a mapping without customerId) is ignored, not refused', () => {
    const noId = withBody(USER_DELETED, (b) => delete b.data.user.id);
    expect(standardSource.map(parsed(noId), ctx({ mapping: DELETING, deleteUsers: true })).kind).toBe('ignored');
    const { customerId: _omit, ...withoutCustomerId } = DELETING;
    expect(standardSource.map(parsed(USER_DELETED), ctx({ mapping: withoutCustomerId, deleteUsers: true })).kind).toBe('ignored');
  });
});
