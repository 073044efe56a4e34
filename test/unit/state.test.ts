/**
 * The per-user state: the judgement (core/state.ts), the DynamoDB store against dynalite (real
 * conditional writes), and the sender guarded by it: stale, duplicate and unversioned events,
 * tombstones, partial sources, head-of-line, and a table that cannot be reached.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../functions/core/envelope';
import { METRIC } from '../../functions/core/names';
import { validateCustomerPayload } from '../../functions/core/moengage/payload-validator';
import { applyCommit, arrayValueKey, attributeKey, eventIdHash, judge, RECENT_IDS, type UserState } from '../../functions/core/state';
import { versionKey } from '../../functions/core/version';
import { dynamoStateStore, type StateStore } from '../../functions/shared/state-store';
import { startLocalDynamo, type LocalDynamo } from '../../local/dynamodb';
import { memoryStateStore } from '../helpers/memory-state-store';
import { T0, versionedEnvelope } from '../helpers/envelopes';
import { recordOf, senderHarness } from '../helpers/sender-harness';

const env = versionedEnvelope;

const EMPTY: UserState = { attributes: {}, recentIds: [] };

describe('judge', () => {
  it('applies a first event and records its version and id', () => {
    const j = judge(env(1), EMPTY);
    expect(j).toMatchObject({ action: 'apply', unversioned: false, commit: { version: env(1).version, recentIds: [eventIdHash('evt_1')] } });
  });
  it('drops an older snapshot as stale and an equal version as a duplicate', () => {
    const state: UserState = { version: env(5).version!, attributes: {}, recentIds: [] };
    expect(judge(env(3), state)).toMatchObject({ action: 'drop', why: 'stale', appliedVersion: env(5).version });
    expect(judge(env(5), state)).toMatchObject({ action: 'drop', why: 'duplicate' });
    expect(judge(env(6), state)).toMatchObject({ action: 'apply' });
  });
  it('drops a recently applied event id whatever its version (a replay re-signed later)', () => {
    const state: UserState = { version: env(5).version!, attributes: {}, recentIds: [eventIdHash('evt_9')] };
    expect(judge(env(9), state)).toMatchObject({ action: 'drop', why: 'duplicate' });
  });
  it('keeps at most RECENT_IDS ids, oldest out', () => {
    let state: UserState = { attributes: {}, recentIds: [] };
    for (let n = 1; n <= RECENT_IDS + 3; n++) {
      const j = judge(env(n), state);
      if (j.action !== 'apply') throw new Error('expected apply');
      state = { ...state, version: j.commit.version, recentIds: j.commit.recentIds };
    }
    expect(state.recentIds).toHaveLength(RECENT_IDS);
    expect(state.recentIds[0]).toBe(eventIdHash('evt_4'));
  });
  it('a deletion leaves a tombstone: older events are stale, newer ones apply', () => {
    const del = judge(env(10, { op: 'delete', payload: { type: 'customer', customer_id: 'user_1' } }), EMPTY);
    expect(del).toMatchObject({ action: 'apply', commit: { deleted: true, version: env(10).version } });
    const tomb: UserState = { version: env(10).version!, deleted: true, attributes: {}, recentIds: [] };
    expect(judge(env(9), tomb)).toMatchObject({ action: 'drop', why: 'stale' });
    expect(judge(env(11), tomb)).toMatchObject({ action: 'apply' });
  });
  it('partial events are judged per attribute', () => {
    const state: UserState = { attributes: { [attributeKey('plan')]: env(5).version! }, recentIds: [] };
    const j = judge(env(3, { partial: true, attrs: { plan: 'old', city: 'Oslo' } }), state);
    expect(j).toMatchObject({ action: 'apply', payload: { attributes: { city: 'Oslo' } }, commit: { attributeKeys: [attributeKey('city')] } });
    if (j.action === 'apply') expect(j.payload.attributes).not.toHaveProperty('plan');
    expect(judge(env(4, { partial: true, attrs: { plan: 'older' } }), state)).toMatchObject({ action: 'drop', why: 'stale' });
    expect(judge(env(6, { partial: true, attrs: { plan: 'new' } }), state)).toMatchObject({ action: 'apply', payload: { attributes: { plan: 'new' } } });
  });
  it('partial events without a customer_id keep the identifier they are keyed on (MoEngage needs one to find the user)', () => {
    // Identity resolution (moe_email from u_em), no customer_id: a newer identify set every attribute.
    const anonymous = (n: number, attrs: Record<string, string>) => {
      const e = env(n, { partial: true, attrs });
      delete e.payload.customer_id;
      return e;
    };
    const newer = anonymous(5, { u_em: 'l@example.com', moe_email: 'l@example.com', moe_mobile: '+15550000002', plan: 'pro' });
    const state = applyCommit(EMPTY, (judge(newer, EMPTY) as Extract<ReturnType<typeof judge>, { action: 'apply' }>).commit);
    // A late, older identify: only `company` is news; the key identifier goes with it, the older mobile does not.
    const late = judge(anonymous(3, { u_em: 'l@example.com', moe_email: 'l@example.com', moe_mobile: '+15550000001', company: 'Acme' }), state);
    expect(late).toMatchObject({ action: 'apply', commit: { attributeKeys: [attributeKey('company')] } });
    if (late.action === 'apply') {
      expect(late.payload).toEqual({ type: 'customer', attributes: { company: 'Acme', moe_email: 'l@example.com' } });
      expect(validateCustomerPayload(late.payload, { identityIdentifiers: ['moe_email', 'moe_mobile'] }).ok).toBe(true);
    }
    // The identifier alone never makes a stale event apply.
    expect(judge(anonymous(4, { moe_email: 'l@example.com', plan: 'free' }), state)).toMatchObject({ action: 'drop', why: 'stale' });
    // With a customer_id nothing is added back.
    const withId = judge(env(3, { partial: true, attrs: { moe_email: 'l@example.com', company: 'Acme' } }), {
      ...state,
      attributes: { ...state.attributes },
    });
    expect(withId.action === 'apply' && withId.payload.attributes).toEqual({ company: 'Acme' });
  });
  it('a deletion older than an attribute a partial source applied is stale: the user came back after it', () => {
    const update = env(3, { partial: true, attrs: { plan: 'pro' } });
    const state = applyCommit(EMPTY, (judge(update, EMPTY) as Extract<ReturnType<typeof judge>, { action: 'apply' }>).commit);
    const lateDelete = env(2, { op: 'delete', payload: { type: 'customer', customer_id: 'user_1' } });
    expect(judge(lateDelete, state)).toMatchObject({ action: 'drop', why: 'stale', appliedVersion: update.version });
    const newerDelete = env(4, { op: 'delete', payload: { type: 'customer', customer_id: 'user_1' } });
    expect(judge(newerDelete, state)).toMatchObject({ action: 'apply', commit: { deleted: true } });
  });
  it('partial events: array operations are judged per array and value (adds commute; add and remove of one value end in provider order)', () => {
    const ops = (n: number, op: 'addValueToArrayField' | 'removeValueFromArrayField', arrays: Record<string, string[]>, extra: Record<string, string> = {}) =>
      env(n, { partial: true, payload: { type: 'customer', customer_id: 'user_1', attributes: { ...extra, [op]: arrays } as never } });
    let state: UserState = EMPTY;
    const apply = (e: Envelope) => {
      const j = judge(e, state);
      if (j.action === 'apply') state = applyCommit(state, j.commit);
      return j;
    };
    // Provider order: add trial (t1), remove trial (t2), add golf to interests (t3), add vip (t4); arrival: t2, t1, t4, t3.
    expect(apply(ops(2, 'removeValueFromArrayField', { tags: ['trial'] }))).toMatchObject({ action: 'apply' });
    expect(apply(ops(1, 'addValueToArrayField', { tags: ['trial'] }))).toMatchObject({ action: 'drop', why: 'stale' });
    expect(apply(ops(4, 'addValueToArrayField', { tags: ['vip'] }))).toMatchObject({ action: 'apply' });
    expect(apply(ops(3, 'addValueToArrayField', { interests: ['golf'] }))).toMatchObject({
      action: 'apply',
      payload: { attributes: { addValueToArrayField: { interests: ['golf'] } } },
    });
    // A late add of another value to the same array still goes; of a value removed later, not; other attributes are judged apart.
    const late = apply(ops(1, 'addValueToArrayField', { tags: ['beta', 'vip', 'trial'] }, { plan: 'pro' }));
    expect(late).toMatchObject({ action: 'apply' });
    if (late.action === 'apply') expect(late.payload.attributes).toEqual({ plan: 'pro', addValueToArrayField: { tags: ['beta'] } });
    expect(state.attributes[arrayValueKey('tags', 'trial')]).toBe(ops(2, 'removeValueFromArrayField', {}).version);
  });
  it('a partial event older than a deletion is dropped whole', () => {
    const tomb: UserState = { version: env(10).version!, deleted: true, attributes: {}, recentIds: [] };
    expect(judge(env(8, { partial: true, attrs: { plan: 'x' } }), tomb)).toMatchObject({ action: 'drop', why: 'stale' });
  });
  it('an event without a version is applied unguarded', () => {
    const state: UserState = { version: env(5).version!, attributes: {}, recentIds: [] };
    const { version: _omit, ...rest } = env(1);
    expect(judge(rest as Envelope, state)).toMatchObject({ action: 'apply', unversioned: true });
  });
});

describe('DynamoDB state store (dynalite)', () => {
  let dynamo: LocalDynamo;
  let store: StateStore;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    store = dynamoStateStore({ client: dynamo.client, tableName: dynamo.tableName, retentionSeconds: 7 * 86_400, now: () => T0 });
  });
  afterAll(async () => {
    await dynamo?.stop();
  });

  it('reads an unknown user as an empty state', async () => {
    expect(await store.read('clerk#nobody')).toEqual({ attributes: {}, recentIds: [] });
  });
  it('refuses to move a version backwards (conditional write), and round-trips tombstones and ids', async () => {
    const key = 'clerk#u-store-1';
    expect(await store.commit(key, { version: env(5).version, recentIds: ['a'] })).toBe('ok');
    expect(await store.commit(key, { version: env(3).version, recentIds: ['b'] })).toBe('conflict');
    expect(await store.commit(key, { version: env(5).version, recentIds: ['c'] })).toBe('conflict');
    expect(await store.commit(key, { version: env(7).version, deleted: true, recentIds: ['a', 'd'] })).toBe('ok');
    expect(await store.read(key)).toEqual({ version: env(7).version, deleted: true, attributes: {}, recentIds: ['a', 'd'] });
    expect(await store.commit(key, { version: env(8).version, recentIds: ['e'] })).toBe('ok');
    expect((await store.read(key)).deleted).toBeUndefined();
  });
  it('per-attribute versions: a stale attribute write is refused', async () => {
    const key = 'segment#u-store-2';
    const a = attributeKey('plan');
    expect(await store.commit(key, { attributeKeys: [a], attributeVersion: env(5).version, recentIds: [] })).toBe('ok');
    expect(await store.commit(key, { attributeKeys: [a], attributeVersion: env(4).version, recentIds: [] })).toBe('conflict');
    expect((await store.read(key)).attributes).toEqual({ [a]: env(5).version });
  });
  it('writes the TTL: retention after the last change', async () => {
    const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
    await store.commit('clerk#u-store-3', { version: env(1).version, recentIds: [] });
    const out = await dynamo.client.send(new GetItemCommand({ TableName: dynamo.tableName, Key: { pk: { S: 'clerk#u-store-3' } } }));
    expect(Number(out.Item?.ttl?.N)).toBe(T0 / 1000 + 7 * 86_400);
  });
  it('a table that cannot be reached rejects (the sender then retries the message later)', async () => {
    const other = await startLocalDynamo();
    const gone = dynamoStateStore({ client: other.client, tableName: 'no-such-table', retentionSeconds: 60, now: () => T0 });
    await expect(gone.read('clerk#x')).rejects.toThrow();
    await other.stop();
  });
});

describe('sender guarded by the state store', () => {
  it('newer then older: the older is dropped (StaleDropped), MoEngage keeps the newer', async () => {
    const h = senderHarness({ state: memoryStateStore() });
    await h.deliver([recordOf(env(20))]);
    const results = await h.deliver([recordOf(env(10))]);
    expect([...results.values()][0]).toEqual({ ok: true, action: 'dropped' });
    expect(h.moengage.profiles.get('user_1')).toMatchObject({ u_em: 'e20@example.com' });
    expect(h.telemetry.counts.get(`${METRIC.staleDropped}{source=clerk}`)).toBe(1);
  });

  it.each([
    ['customer', 'fresh first'],
    ['customer', 'retry first'],
    ['bulk', 'fresh first'],
    ['bulk', 'retry first'],
  ] as const)('%s mode: a requeued retry (a FIFO group of its own) and its user\'s newer message in one batch go in order (%s)', async (mode, order) => {
    const h = senderHarness({ state: memoryStateStore(), mode });
    const older = env(1, { attrs: { u_fn: 'Old' } });
    h.moengage.failWhen((_path, body) => (JSON.stringify(body).includes('Old') && h.moengage.calls.length < 3 ? 500 : undefined));
    await h.deliver([recordOf(older, 1, 'orig-1')]);
    expect(h.requeued).toHaveLength(1);
    const copy = recordOf(older, 1, 'copy-1', h.requeued[0]!.attempts);
    copy.attributes.MessageGroupId = 'retry-orig-1'; // as SQS hands the copy back
    const fresh = recordOf(env(2, { attrs: { u_fn: 'New' } }), 1, 'fresh-2');
    const second = await h.deliver(order === 'fresh first' ? [fresh, copy] : [copy, fresh]);
    // The due copy is not sent from its own group: it rejoins its user's line (FIFO then
    // serialises it with the user's messages), carrying its attempts.
    expect(second.get('copy-1')).toEqual({ ok: true, action: 'requeued' });
    expect(h.requeued.at(-1)).toMatchObject({ group: older.userKey, attempts: 1 });
    // Back in line, behind the newer message: judged stale.
    const back = recordOf(older, 1, 'back-1', h.requeued.at(-1)!.attempts);
    expect((await h.deliver([back])).get('back-1')).toEqual({ ok: true, action: 'dropped' });
    expect(h.moengage.profiles.get('user_1')).toMatchObject({ u_fn: 'New' });
  });

  it('a due copy that SQS will not move back into its user\'s line is sent from its own group, in order within the batch', async () => {
    const h = senderHarness({ state: memoryStateStore() });
    const older = env(1, { attrs: { u_fn: 'Old' } });
    h.moengage.failWhen((_path, body) => (JSON.stringify(body).includes('Old') && h.moengage.calls.length < 3 ? 500 : undefined));
    await h.deliver([recordOf(older, 1, 'orig-1')]);
    const copy = recordOf(older, 1, 'copy-1', h.requeued[0]!.attempts);
    copy.attributes.MessageGroupId = 'retry-orig-1';
    h.deps.queue.requeue = async () => {
      throw new Error('SQS unavailable');
    };
    const results = await h.deliver([recordOf(env(2, { attrs: { u_fn: 'New' } }), 1, 'fresh-2'), copy]);
    expect(results.get('copy-1')).toEqual({ ok: true, action: 'dropped' });
    expect(h.moengage.profiles.get('user_1')).toMatchObject({ u_fn: 'New' });
  });

  it('a replay of an applied event id is dropped (DuplicatesDropped), beyond SQS deduplication', async () => {
    const h = senderHarness({ state: memoryStateStore() });
    await h.deliver([recordOf(env(1))]);
    await h.deliver([recordOf(env(1))]);
    expect(h.moengage.calls).toHaveLength(1);
    expect(h.telemetry.counts.get(METRIC.duplicatesDropped)).toBe(1);
  });

  it('head-of-line: e1 always 500; e2 and e3 are delivered; e1 ends in the DLQ; its redrive does not overwrite', async () => {
    const h = senderHarness({ state: memoryStateStore(), maxReceiveCount: 3 });
    h.moengage.failWhen((_p, body) => ((body.attributes as Record<string, unknown>)?.u_em === 'e1@example.com' ? 500 : undefined));
    const e1 = env(1);
    const first = await h.deliver([recordOf(e1, 1, 'e1'), recordOf(env(2), 1, 'e2'), recordOf(env(3), 1, 'e3')]);
    // e1 leaves its user's line: a copy goes back to the queue in a group of its own.
    expect(first.get('e1')).toEqual({ ok: true, action: 'requeued' });
    expect(h.requeued.map((q) => [q.record.messageId, q.attempts])).toEqual([['e1', 1]]);
    expect(first.get('e2')).toEqual({ ok: true, action: 'delivered' });
    expect(first.get('e3')).toEqual({ ok: true, action: 'delivered' });
    // e1's copy comes back: already superseded, it is dropped rather than sent again.
    const again = await h.deliver([recordOf(e1, 1, 'e1-copy', 1)]);
    expect(again.get('e1-copy')).toEqual({ ok: true, action: 'dropped' });
    expect(h.moengage.profiles.get('user_1')).toMatchObject({ u_em: 'e3@example.com', u_fn: 'F3' });
  });

  it('head-of-line when e1 stays newest-pending: it is retried on its own and parked on its last receive', async () => {
    const h = senderHarness({ state: memoryStateStore(), maxReceiveCount: 3 });
    h.moengage.failWhen((_p, body) => ((body.attributes as Record<string, unknown>)?.u_em === 'e3@example.com' ? 500 : undefined));
    const e3 = env(3);
    // e3 (newest) fails; e1 and e2 behind it in the line are delivered, each with its own attempts.
    const r = await h.deliver([recordOf(e3, 1, 'e3'), recordOf(env(1), 1, 'e1'), recordOf(env(2), 1, 'e2')]);
    expect(r.get('e3')).toEqual({ ok: true, action: 'requeued' });
    expect(r.get('e1')).toEqual({ ok: true, action: 'delivered' });
    expect(r.get('e2')).toEqual({ ok: true, action: 'delivered' });
    expect((await h.deliver([recordOf(e3, 1, 'e3-copy1', 1)])).get('e3-copy1')).toEqual({ ok: true, action: 'requeued' });
    expect(h.requeued.at(-1)?.attempts).toBe(2);
    const last = await h.deliver([recordOf(e3, 1, 'e3-copy2', 2)]);
    expect(last.get('e3-copy2')).toEqual({ ok: true, action: 'parked' });
    expect(h.parked[0]?.info).toMatchObject({ reason: 'retries_exhausted', status: 500, attempts: 3 });
    expect(h.parked.map((p) => p.info.reason)).toEqual(['retries_exhausted']);
    // The redrive, once MoEngage accepts it again, applies e3 (newest) exactly once.
    h.moengage.failWhen(() => undefined);
    const redriven = await h.deliver([recordOf(e3, 1, 'e3-redriven')]);
    expect(redriven.get('e3-redriven')).toEqual({ ok: true, action: 'delivered' });
    expect(h.moengage.profiles.get('user_1')).toMatchObject({ u_em: 'e3@example.com' });
  });

  it('a requeued copy that is not due yet waits out its backoff, unsent and not counted as an attempt', async () => {
    const h = senderHarness({ state: memoryStateStore() });
    const record = recordOf(env(1), 1, 'early', 1);
    record.messageAttributes.retry_not_before = { stringValue: String(h.deps.now() + 30_000), dataType: 'Number', stringListValues: [], binaryListValues: [] };
    const r = await h.deliver([record]);
    expect(r.get('early')).toMatchObject({ ok: false, visibilityTimeoutSeconds: 30 });
    expect(h.moengage.calls).toHaveLength(0);
  });

  it('if SQS refuses the copy, the failing message waits in line as before (nothing lost)', async () => {
    const h = senderHarness({ state: memoryStateStore() });
    h.deps.queue.requeue = async () => {
      throw new Error('throttled');
    };
    h.moengage.failWhen(() => 500);
    const r = await h.deliver([recordOf(env(1), 1, 'x')]);
    expect(r.get('x')).toMatchObject({ ok: false });
  });

  it('without the state store a failing message still holds its FIFO group back (arrival order)', async () => {
    const h = senderHarness();
    h.moengage.failWhen((_p, body) => ((body.attributes as Record<string, unknown>)?.u_em === 'e1@example.com' ? 500 : undefined));
    const r = await h.deliver([recordOf(env(1), 1, 'e1'), recordOf(env(2), 1, 'e2')]);
    expect(r.get('e1')?.ok).toBe(false);
    expect(r.get('e2')?.ok).toBe(false);
    expect(h.moengage.calls.filter((c) => c.status === 200)).toHaveLength(0);
  });

  it('a state table that cannot be read: nothing is sent unguarded; retried, then parked with its reason', async () => {
    const broken: StateStore = {
      ...memoryStateStore(),
      read: async () => {
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      },
      // The batch read returns nothing it could not read: the sender reads each user on its own.
      readMany: async () => new Map(),
      commit: async () => 'ok',
    };
    const h = senderHarness({ state: broken, maxReceiveCount: 3 });
    const r1 = await h.deliver([recordOf(env(1), 1, 'a')]);
    expect(r1.get('a')).toEqual({ ok: true, action: 'requeued' });
    const r3 = await h.deliver([recordOf(env(1), 1, 'a-copy2', 2)]);
    expect(r3.get('a-copy2')).toEqual({ ok: true, action: 'parked' });
    expect(h.parked[0]?.info).toMatchObject({ reason: 'state_unavailable', detail: { type: 'ProvisionedThroughputExceededException' } });
    expect(h.moengage.calls).toHaveLength(0);
    expect(h.telemetry.counts.get(METRIC.stateStoreErrors)).toBe(2);
  });

  it('a state write that fails after delivery puts the message back; it is sent again and then recorded', async () => {
    const inner = memoryStateStore();
    let failWrites = 1;
    const flaky: StateStore = {
      ...inner,
      read: (k) => inner.read(k),
      commit: async (k, c) => {
        if (failWrites-- > 0) throw Object.assign(new Error('unavailable'), { name: 'InternalServerError' });
        return inner.commit(k, c);
      },
    };
    const h = senderHarness({ state: flaky });
    const r1 = await h.deliver([recordOf(env(1), 1, 'a')]);
    expect(r1.get('a')).toEqual({ ok: true, action: 'requeued' });
    const r2 = await h.deliver([recordOf(env(1), 1, 'a-copy', 1)]);
    expect(r2.get('a-copy')).toEqual({ ok: true, action: 'delivered' });
    expect(h.moengage.calls).toHaveLength(2);
    const r3 = await h.deliver([recordOf(env(1), 1, 'dup')]);
    expect(r3.get('dup')).toEqual({ ok: true, action: 'dropped' });
  });

  it('bulk mode: one user per request round, stale ones dropped, the newest applied', async () => {
    const h = senderHarness({ state: memoryStateStore(), mode: 'bulk', fifo: false });
    const other = (n: number) => env(n, { userKey: 'u-2', payload: { type: 'customer', customer_id: 'user_2', attributes: { u_fn: `G${n}` } } });
    const r = await h.deliver([recordOf(env(3)), recordOf(other(1)), recordOf(env(2)), recordOf(env(4))]);
    expect([...r.values()].every((x) => x.ok)).toBe(true);
    expect(h.moengage.profiles.get('user_1')).toMatchObject({ u_fn: 'F4' });
    expect(h.moengage.profiles.get('user_2')).toMatchObject({ u_fn: 'G1' });
    // No request carried two elements of one user.
    for (const c of h.moengage.calls) {
      const ids = ((c.body as { elements?: { customer_id: string }[] }).elements ?? []).map((e) => e.customer_id);
      expect(new Set(ids).size).toBe(ids.length);
    }
    expect(h.telemetry.counts.get(METRIC.staleDropped)).toBe(1);
  });
});

describe('deletions (deleteUsers)', () => {
  const del = (n: number) => env(n, { op: 'delete', eventType: 'user.deleted', eventId: `del_${n}`, version: versionKey(T0 + n * 1000, `del_${n}`), payload: { type: 'customer', customer_id: 'user_1' } });

  it('one Delete User call; a replay is a duplicate; a late older update does not re-create the user', async () => {
    const h = senderHarness({ state: memoryStateStore() });
    await h.deliver([recordOf(env(1))]);
    expect(h.moengage.profiles.has('user_1')).toBe(true);
    const r = await h.deliver([recordOf(del(5))]);
    expect([...r.values()][0]).toEqual({ ok: true, action: 'delivered' });
    expect(h.moengage.calls.at(-1)).toMatchObject({ path: '/v1/customer/delete', body: { identity_type: 'customer_id', identity_value: 'user_1' } });
    expect(h.moengage.profiles.has('user_1')).toBe(false);
    await h.deliver([recordOf(del(5))]); // provider retry of the deletion
    await h.deliver([recordOf(env(3))]); // late update from before the deletion
    expect(h.moengage.deletes.get('user_1')).toBe(1);
    expect(h.moengage.profiles.has('user_1')).toBe(false);
    expect(h.telemetry.counts.get(METRIC.usersDeleted)).toBe(1);
    expect(h.telemetry.counts.get(METRIC.staleDropped)).toBe(1);
    expect(h.telemetry.counts.get(METRIC.duplicatesDropped)).toBe(1);
    // An update newer than the deletion is applied (the user signed up again).
    await h.deliver([recordOf(env(9))]);
    expect(h.moengage.profiles.get('user_1')).toMatchObject({ u_em: 'e9@example.com' });
  });

  it('bulk mode sends deletions with Delete User, never inside a Bulk Import request', async () => {
    const h = senderHarness({ state: memoryStateStore(), mode: 'bulk', fifo: false });
    const other = env(1, { userKey: 'u-2', payload: { type: 'customer', customer_id: 'user_2', attributes: { u_fn: 'G' } } });
    await h.deliver([recordOf(env(1)), recordOf(other)]);
    await h.deliver([recordOf(del(5)), recordOf(env(3))]);
    expect(h.moengage.calls.filter((c) => c.path === '/v1/customer/delete')).toHaveLength(1);
    expect(h.moengage.profiles.has('user_1')).toBe(false);
    expect(h.moengage.profiles.get('user_2')).toMatchObject({ u_fn: 'G' });
  });
});
