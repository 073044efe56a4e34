/**
 * Exactly-once MoEngage events, as a property: for any delivery order of a user's provider
 * events (several of them mapped to a MoEngage event), with duplicates, transient failures
 * (500) and refusals (400, parked, then redriven) of any call, and any batching, in customer and
 * bulk mode, every mapped provider event fires its MoEngage event exactly once, and the profile
 * is the in-order one. In memory (many cases) and against dynalite.
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

interface Scenario {
  mode: 'customer' | 'bulk';
  /** Per provider event (in provider order): whether it is mapped to a MoEngage event. */
  mapped: boolean[];
  /** Delivery order: indexes into `mapped`, duplicates allowed, every event at least once. */
  order: number[];
  /** Per MoEngage call, in order: 500, 400, or the normal answer. */
  answers: (number | undefined)[];
  batchSizes: number[];
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    mode: fc.constantFrom('customer' as const, 'bulk' as const),
    mapped: fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }),
    order: fc.array(fc.nat(), { maxLength: 14 }),
    answers: fc.array(fc.constantFrom(undefined, undefined, 500, 400), { maxLength: 40 }),
    batchSizes: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 8 }),
  })
  .map(({ mode, mapped, order, answers, batchSizes }) => {
    const seq = order.map((x) => x % mapped.length);
    for (let i = 0; i < mapped.length; i++) if (!seq.includes(i)) seq.push(i);
    return { mode, mapped, order: seq, answers, batchSizes };
  });

function envelopeOf(s: Scenario, i: number): Envelope {
  const eventId = `evt_${i}`;
  return {
    v: 1,
    source: 'clerk',
    eventId,
    eventType: s.mapped[i] ? 'user.created' : 'user.updated',
    receivedAt: new Date(T0).toISOString(),
    version: versionKey(T0 + i * 1000, eventId),
    userKey: 'u-ev-prop',
    ...(s.mapped[i] ? { events: [{ action: `Event ${i}`, attributes: { provider: 'clerk' }, current_time: T0 / 1000 + i }] } : {}),
    payload: { type: 'customer', customer_id: 'user_ev_prop', attributes: { u_fn: `F${i}`, plan: `p${i}` } },
  };
}

/** Delivers the scenario to the end (retries, and redrives of what was parked); the event names MoEngage accepted, and the profiles. */
async function run(s: Scenario, state: StateStore): Promise<{ fired: string[]; profiles: Profiles }> {
  const h = senderHarness({ state, mode: s.mode, fifo: s.mode === 'customer', maxReceiveCount: 3 });
  let call = 0;
  h.moengage.failWhen(() => s.answers[call++]);
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
      else if (r.action === 'parked') pool.push({ i: m.i, receiveCount: 1 }); // redriven
      else if (r.action === 'requeued') {
        // The copy, out of the user's line, at the back of the queue.
        const copy = h.requeued.find((q) => q.record.messageId === id);
        pool.push({ i: m.i, receiveCount: 1, retryAttempts: copy?.attempts ?? 1 });
      }
    });
  }
  const fired: string[] = [];
  for (const c of h.moengage.calls) {
    if (c.status !== 200) continue;
    const body = c.body as { type?: string; actions?: { action: string }[]; elements?: { type: string; actions?: { action: string }[] }[] };
    const events = body.type === 'event' ? [body] : (body.elements ?? []).filter((e) => e.type === 'event');
    for (const e of events) for (const a of e.actions ?? []) fired.push(a.action);
  }
  return { fired: fired.sort(), profiles: h.moengage.profiles };
}

function expected(s: Scenario): { fired: string[]; profiles: Profiles } {
  const profiles: Profiles = new Map();
  s.mapped.forEach((_, i) => mergeInto(profiles, { customer_id: 'user_ev_prop', attributes: { u_fn: `F${i}`, plan: `p${i}` } }));
  return { fired: s.mapped.flatMap((m, i) => (m ? [`Event ${i}`] : [])).sort(), profiles };
}

describe('exactly-once events: any delivery order, duplicates, failures and redrives', () => {
  it('in-memory store, 250 cases', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        expect(await run(s, memoryStateStore())).toEqual(expected(s));
      }),
      { numRuns: 250 },
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
    it('30 cases, a fresh table key each', async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(scenario, async (s) => {
          const store = dynamoStateStore({ client: dynamo.client, tableName: dynamo.tableName, retentionSeconds: 3600, now: () => T0 });
          const prefixed = prefixedStore(store, `${n++}:`);
          expect(await run(s, prefixed)).toEqual(expected(s));
        }),
        { numRuns: 30 },
      );
    });
  });
});
