/**
 * StateStore.readMany: a batch's states in BatchGetItem requests (dynalite, and a scripted
 * client for what dynalite never does: unprocessed keys, a failed request), and the sender
 * reading a batch's users with it.
 */
import type { AttributeValue, BatchGetItemCommandInput } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../functions/core/envelope';
import { versionKey } from '../../functions/core/version';
import { BATCH_GET_MAX_KEYS, BATCH_GET_RETRIES, dynamoStateStore, type StateStore } from '../../functions/shared/state-store';
import { startLocalDynamo, type LocalDynamo } from '../../local/dynamodb';
import { T0, versionedEnvelope } from '../helpers/envelopes';
import { memoryStateStore, prefixedStore } from '../helpers/memory-state-store';
import { recordOf, senderHarness } from '../helpers/sender-harness';

const EMPTY = { attributes: {}, recentIds: [] };

type Sent = { name: string; input: unknown };

/** A client that records every command and passes it to `send`. */
function recording(send: (command: { input: unknown }) => Promise<unknown>) {
  const sent: Sent[] = [];
  return {
    sent,
    client: {
      send: (command: { constructor: { name: string }; input: unknown }) => {
        sent.push({ name: command.constructor.name, input: command.input });
        return send(command);
      },
    } as never,
  };
}

const keysOf = (input: unknown, table: string): string[] =>
  ((input as BatchGetItemCommandInput).RequestItems?.[table]?.Keys ?? []).map((k) => k.pk?.S as string);

/** A BatchGetItem answer: `found` keys with a version each, `unprocessed` keys handed back. */
function answer(table: string, found: string[], unprocessed: string[] = []) {
  return {
    Responses: { [table]: found.map((k): Record<string, AttributeValue> => ({ pk: { S: k }, v: { S: `v-${k}` } })) },
    UnprocessedKeys: unprocessed.length > 0 ? { [table]: { Keys: unprocessed.map((k) => ({ pk: { S: k } })), ConsistentRead: true } } : {},
  };
}

describe('readMany against dynalite', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
  });
  afterAll(async () => {
    await dynamo?.stop();
  });

  it('250 users (duplicates among them): 3 strongly consistent requests of at most 100 distinct keys; stored states as read() reads them, unknown users empty', async () => {
    const direct = dynamoStateStore({ client: dynamo.client, tableName: dynamo.tableName, retentionSeconds: 3600, now: () => T0 });
    const keys = Array.from({ length: 250 }, (_, i) => `clerk#many-${i}`);
    for (const key of keys.slice(0, 40)) expect(await direct.commit(key, { version: versionKey(T0, key), deleted: key.endsWith('7'), recentIds: ['x'] })).toBe('ok');
    const { client, sent } = recording((command) => dynamo.client.send(command as never));
    const store = dynamoStateStore({ client, tableName: dynamo.tableName, retentionSeconds: 3600, now: () => T0 });
    const requests0 = dynamo.requests.BatchGetItem ?? 0;
    const items0 = dynamo.items.BatchGetItem ?? 0;

    const states = await store.readMany([...keys, ...keys.slice(0, 30), keys[249] as string]);

    expect(sent.map((s) => s.name)).toEqual(['BatchGetItemCommand', 'BatchGetItemCommand', 'BatchGetItemCommand']);
    const asked = sent.map((s) => keysOf(s.input, dynamo.tableName));
    expect(asked.map((k) => k.length)).toEqual([100, 100, 50]);
    expect(new Set(asked.flat()).size).toBe(250);
    for (const s of sent) expect((s.input as BatchGetItemCommandInput).RequestItems?.[dynamo.tableName]?.ConsistentRead).toBe(true);
    expect(states.size).toBe(250);
    for (const key of keys.slice(0, 40)) expect(states.get(key)).toEqual(await direct.read(key));
    expect(states.get('clerk#many-17')?.deleted).toBe(true);
    for (const key of keys.slice(40)) expect(states.get(key)).toEqual(EMPTY);
    // The local table counts requests and the items they read (what DynamoDB bills: 1 RRU per key).
    expect((dynamo.requests.BatchGetItem ?? 0) - requests0).toBe(3);
    expect((dynamo.items.BatchGetItem ?? 0) - items0).toBe(250);
  });

  it('no keys: no request', async () => {
    const { client, sent } = recording((command) => dynamo.client.send(command as never));
    const store = dynamoStateStore({ client, tableName: dynamo.tableName, retentionSeconds: 3600, now: () => T0 });
    expect((await store.readMany([])).size).toBe(0);
    expect(sent).toHaveLength(0);
  });

  it('a table that cannot be read: every key absent, no rejection', async () => {
    const store = dynamoStateStore({ client: dynamo.client, tableName: 'no-such-table', retentionSeconds: 60, now: () => T0 });
    expect((await store.readMany(['clerk#a', 'clerk#b'])).size).toBe(0);
  });
});

describe('readMany: unprocessed keys and failures (scripted client)', () => {
  const table = 'state';
  const options = (client: never, clock = { t: T0 }) => {
    const sleeps: number[] = [];
    const store = dynamoStateStore({
      client,
      tableName: table,
      retentionSeconds: 60,
      now: () => clock.t,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock.t += ms;
      },
    });
    return { store, sleeps };
  };

  it('unprocessed keys are asked again after a jittered wait, until all are read', async () => {
    let call = 0;
    const { client, sent } = recording(async (command) => {
      const keys = keysOf(command.input, table);
      call++;
      if (call === 1) return answer(table, keys.slice(0, 2), keys.slice(2));
      if (call === 2) return answer(table, keys.slice(0, 1), keys.slice(1));
      return answer(table, keys);
    });
    const { store, sleeps } = options(client);
    const states = await store.readMany(['clerk#a', 'clerk#b', 'clerk#c', 'clerk#d', 'clerk#e']);
    expect(sent.map((s) => keysOf(s.input, table))).toEqual([
      ['clerk#a', 'clerk#b', 'clerk#c', 'clerk#d', 'clerk#e'],
      ['clerk#c', 'clerk#d', 'clerk#e'],
      ['clerk#d', 'clerk#e'],
    ]);
    // Full jitter: random() × 50 ms × 2^retry.
    expect(sleeps).toEqual([25, 50]);
    expect([...states.keys()].sort()).toEqual(['clerk#a', 'clerk#b', 'clerk#c', 'clerk#d', 'clerk#e']);
    expect(states.get('clerk#d')).toEqual({ version: 'v-clerk#d', attributes: {}, recentIds: [] });
  });

  it(`keys still unprocessed after ${BATCH_GET_RETRIES} retries are absent (the sender reads them one by one)`, async () => {
    const { client, sent } = recording(async (command) => {
      const keys = keysOf(command.input, table);
      return answer(table, keys.filter((k) => k === 'clerk#a'), keys.filter((k) => k !== 'clerk#a'));
    });
    const { store, sleeps } = options(client);
    const states = await store.readMany(['clerk#a', 'clerk#b']);
    expect(sent).toHaveLength(1 + BATCH_GET_RETRIES);
    expect(sleeps).toEqual([25, 50, 100]);
    expect([...states.keys()]).toEqual(['clerk#a']);
  });

  it('no retry starts past the budget of a single read (2 s: the client\'s 2 attempts of 1 s)', async () => {
    const clock = { t: T0 };
    const { client, sent } = recording(async (command) => {
      clock.t += 1_500; // a slow answer, all keys unprocessed
      return answer(table, [], keysOf(command.input, table));
    });
    const { store } = options(client, clock);
    expect((await store.readMany(['clerk#a'])).size).toBe(0);
    // 1.5 s + 25 ms: one retry; at 3.05 s no further one.
    expect(sent).toHaveLength(2);
  });

  it('a failed request leaves its keys absent; the other requests of the batch count', async () => {
    const keys = Array.from({ length: BATCH_GET_MAX_KEYS + 20 }, (_, i) => `clerk#k${i}`);
    const { client, sent } = recording(async (command) => {
      const asked = keysOf(command.input, table);
      if (asked.includes('clerk#k110')) throw Object.assign(new Error('unavailable'), { name: 'InternalServerError' });
      return answer(table, asked);
    });
    const { store } = options(client);
    const states = await store.readMany(keys);
    expect(sent).toHaveLength(2);
    expect(states.size).toBe(BATCH_GET_MAX_KEYS);
    expect(states.has('clerk#k99')).toBe(true);
    expect(states.has('clerk#k100')).toBe(false);
  });

  it('duplicate keys are asked once (DynamoDB refuses a request with duplicates)', async () => {
    const { client, sent } = recording(async (command) => answer(table, keysOf(command.input, table)));
    const { store } = options(client);
    const states = await store.readMany(['clerk#a', 'clerk#b', 'clerk#a']);
    expect(sent.map((s) => keysOf(s.input, table))).toEqual([['clerk#a', 'clerk#b']]);
    expect(states.size).toBe(2);
  });
});

describe('the test stores keep readMany in step with read', () => {
  it('memory store and its key-prefixed view', async () => {
    const store = memoryStateStore();
    expect(await store.commit('p:clerk#a', { version: 'v1', recentIds: ['i'] })).toBe('ok');
    const view = prefixedStore(store, 'p:');
    const states = await view.readMany(['clerk#a', 'clerk#b']);
    expect(states).toEqual(new Map([['clerk#a', await view.read('clerk#a')], ['clerk#b', EMPTY]]));
    expect(states.get('clerk#a')?.version).toBe('v1');
  });
});

/** The n-th update of the user `userKey`. */
const env = (n: number, userKey: string): Envelope =>
  versionedEnvelope(n, { userKey, eventId: `evt_${userKey}_${n}`, payload: { type: 'customer', customer_id: userKey, attributes: { u_fn: `F${n}` } } });

describe('the sender reads a batch\'s users with readMany', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
  });
  afterAll(async () => {
    await dynamo?.stop();
  });

  for (const mode of ['customer', 'bulk'] as const) {
    it(`${mode} mode: one BatchGetItem for the batch, then a write per delivered message`, async () => {
      const { client, sent } = recording((command) => dynamo.client.send(command as never));
      const h = senderHarness({ mode, fifo: mode === 'customer', state: dynamoStateStore({ client, tableName: dynamo.tableName, retentionSeconds: 3600, now: () => T0 }) });
      const users = Array.from({ length: 10 }, (_, i) => `${mode}-u${i}`);
      // Two messages of the first user: read once, the second judged against the first's write.
      const results = await h.deliver([...users.map((u) => recordOf(env(1, u))), recordOf(env(2, users[0] as string))]);
      expect([...results.values()].every((r) => r.ok && r.action === 'delivered')).toBe(true);
      const names = sent.map((s) => s.name);
      expect(names.filter((n) => n === 'BatchGetItemCommand')).toHaveLength(1);
      expect(names.filter((n) => n === 'GetItemCommand')).toHaveLength(0);
      expect(names.filter((n) => n === 'UpdateItemCommand')).toHaveLength(11);
      expect(keysOf(sent[0]?.input, dynamo.tableName).sort()).toEqual(users.map((u) => `clerk#${u}`).sort());
      // A stale replay is dropped against the batch read.
      const replay = await h.deliver([recordOf(env(1, users[3] as string))]);
      expect([...replay.values()]).toEqual([{ ok: true, action: 'dropped' }]);
    });
  }

  it('a user the batch read did not return is read on its own; nothing is sent unguarded', async () => {
    const inner = memoryStateStore();
    const single: string[] = [];
    const partial: StateStore = {
      ...inner,
      read: (k) => {
        single.push(k);
        return inner.read(k);
      },
      readMany: async (keys) => {
        const all = await inner.readMany(keys);
        all.delete('clerk#u-b');
        return all;
      },
    };
    const h = senderHarness({ state: partial });
    await h.deliver([recordOf(env(5, 'u-b'))]);
    single.length = 0;
    const results = await h.deliver([recordOf(env(1, 'u-a'), 1, 'a'), recordOf(env(3, 'u-b'), 1, 'b')]);
    expect(single).toEqual(['clerk#u-b']);
    expect(results.get('a')).toEqual({ ok: true, action: 'delivered' });
    // Judged against the stored newer version (read on its own): stale.
    expect(results.get('b')).toEqual({ ok: true, action: 'dropped' });
    expect(h.telemetry.lines.some((l) => l.level === 'WARN' && l.fields?.unread === 1)).toBe(true);
  });

  it('no time left in the invocation: the batch is not read', async () => {
    const inner = memoryStateStore();
    let batchReads = 0;
    const h = senderHarness({ state: { ...inner, readMany: (keys) => (batchReads++, inner.readMany(keys)) } });
    h.deps.remainingMs = () => 1_000;
    const results = await h.deliver([recordOf(env(1, 'u-t'), 1, 't')]);
    expect(results.get('t')?.ok).toBe(false);
    expect(batchReads).toBe(0);
    expect(h.moengage.calls).toHaveLength(0);
  });
});
