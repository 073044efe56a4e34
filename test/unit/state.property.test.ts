/**
 * The convergence property of the per-user state store: for any delivery order of a user's
 * events, with duplicates, failures (500s until a message is retried or parked), redrives of
 * what was parked and any batching, the final profile at MoEngage equals the one after
 * in-order delivery: for snapshot sources (with deletions: no resurrection by a late older
 * event) and for partial sources, in customer and bulk mode.
 * Run against the in-memory store (many cases) and against dynalite (real DynamoDB protocol).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../functions/core/envelope';
import { versionKey } from '../../functions/core/version';
import { dynamoStateStore, type StateStore } from '../../functions/shared/state-store';
import { startLocalDynamo, type LocalDynamo } from '../../local/dynamodb';
import { memoryStateStore, prefixedStore } from '../helpers/memory-state-store';
import { mergeInto, recordOf, senderHarness, type Profiles } from '../helpers/sender-harness';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const KEYS = ['plan', 'city', 'u_fn'] as const;

interface Scenario {
  partial: boolean;
  mode: 'customer' | 'bulk';
  /** Per event (in provider order): the attributes it sets, or `delete` (a deletion at the provider). */
  events: (Record<string, string> | 'delete')[];
  /** Delivery order: indexes into events, duplicates allowed (every event appears at least once). */
  order: number[];
  /** Per MoEngage call, in order: answer 500 instead of applying. */
  failures: boolean[];
  batchSizes: number[];
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    partial: fc.boolean(),
    mode: fc.constantFrom('customer' as const, 'bulk' as const),
    n: fc.integer({ min: 1, max: 6 }),
    subsets: fc.array(fc.subarray([...KEYS], { minLength: 1 }), { minLength: 6, maxLength: 6 }),
    order: fc.array(fc.nat(), { minLength: 0, maxLength: 12 }),
    failures: fc.array(fc.boolean(), { maxLength: 40 }),
    batchSizes: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 10 }),
    deletions: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
  })
  .map(({ partial, mode, n, subsets, order, failures, batchSizes, deletions }) => {
    const events = Array.from({ length: n }, (_, i): Record<string, string> | 'delete' => {
      // Snapshot sources have deletion events (deleteUsers on); Segment has none.
      if (!partial && deletions[i]) return 'delete';
      const keys = partial ? (subsets[i] as string[]) : [...KEYS];
      return Object.fromEntries(keys.map((k) => [k, `${k}-${i}`]));
    });
    const seq = order.map((x) => x % n);
    for (let i = 0; i < n; i++) if (!seq.includes(i)) seq.push(i);
    return { partial, mode, events, order: seq, failures, batchSizes };
  });

function envelopeOf(s: Scenario, i: number): Envelope {
  const eventId = `evt_${i}`;
  return {
    v: 1,
    source: s.partial ? 'segment' : 'clerk',
    eventId,
    eventType: s.partial ? 'identify' : s.events[i] === 'delete' ? 'user.deleted' : 'user.updated',
    receivedAt: new Date(T0).toISOString(),
    version: versionKey(T0 + i * 1000, eventId),
    userKey: 'u-prop',
    ...(s.partial ? { partial: true as const } : {}),
    ...(s.events[i] === 'delete'
      ? { op: 'delete' as const, payload: { type: 'customer' as const, customer_id: 'user_prop' } }
      : { payload: { type: 'customer' as const, customer_id: 'user_prop', attributes: s.events[i] as Record<string, string> } }),
  };
}

async function run(s: Scenario, state: StateStore): Promise<Profiles> {
  const h = senderHarness({ state, mode: s.mode, fifo: s.mode === 'customer', maxReceiveCount: 3 });
  let call = 0;
  h.moengage.failWhen(() => (s.failures[call++] ? 500 : undefined));
  let pool: { i: number; receiveCount: number; retryAttempts?: number }[] = s.order.map((i) => ({ i, receiveCount: 1 }));
  let b = 0;
  for (let round = 0; pool.length > 0; round++) {
    if (round > 500) throw new Error('did not converge');
    const size = s.batchSizes[b++ % s.batchSizes.length] as number;
    const batch = pool.slice(0, size);
    pool = pool.slice(size);
    const records = batch.map((m, k) => recordOf(envelopeOf(s, m.i), m.receiveCount, `r${round}-${k}`, m.retryAttempts));
    const results = await h.deliver(records);
    batch.forEach((m, k) => {
      const id = `r${round}-${k}`;
      const r = results.get(id);
      if (!r?.ok) pool.push({ i: m.i, receiveCount: m.receiveCount + 1, ...(m.retryAttempts !== undefined ? { retryAttempts: m.retryAttempts } : {}) });
      else if (r.action === 'parked') pool.push({ i: m.i, receiveCount: 1 }); // redriven by the on-call engineer
      else if (r.action === 'requeued') {
        // The copy, out of the user's line, at the back of the queue.
        const copy = h.requeued.find((q) => q.record.messageId === id);
        pool.push({ i: m.i, receiveCount: 1, retryAttempts: copy?.attempts ?? 1 });
      }
    });
  }
  return h.moengage.profiles;
}

function inOrder(s: Scenario): Profiles {
  const profiles: Profiles = new Map();
  for (const e of s.events) {
    if (e === 'delete') profiles.delete('user_prop');
    else mergeInto(profiles, { customer_id: 'user_prop', attributes: e });
  }
  return profiles;
}

describe('convergence: any delivery order gives the in-order profile', () => {
  it('in-memory store, 300 cases', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        expect(await run(s, memoryStateStore())).toEqual(inOrder(s));
      }),
      { numRuns: 300 },
    );
  });

  describe('DynamoDB protocol (dynalite)', () => {
    let dynamo: LocalDynamo;
    beforeAll(async () => {
      dynamo = await startLocalDynamo();
    });
    afterAll(async () => {
      await dynamo?.stop();
    });
    it('40 cases, a fresh table key each', async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(scenario, async (s) => {
          const store = dynamoStateStore({ client: dynamo.client, tableName: dynamo.tableName, retentionSeconds: 3600, now: () => T0 });
          const prefixed = prefixedStore(store, `${n++}:`);
          expect(await run(s, prefixed)).toEqual(inOrder(s));
        }),
        { numRuns: 40 },
      );
    });
  });
});
