/**
 * The sender's core: deliver a batch of queued envelopes to MoEngage and decide, for every
 * message, whether it is done (delivered or parked in the DLQ with its reason) or must come
 * back through SQS later. No AWS here: the queue, MoEngage client, credentials, rate
 * limiters, clock, sleep and randomness are injected.
 *
 * Ordering: messages of one user are handled one after another, groups (users) in parallel,
 * up to `parallelism`. With the per-user state store (`state`), every message is first judged
 * against the user's state (core/state.ts): stale and duplicate events are dropped, and a failing
 * message does not hold its user's later messages back, because the versions make applying
 * them out of order safe: it is retried on its own schedule and, once superseded, dropped.
 * Without the state store, or for an event without a version, arrival order is all there is:
 * once a message of a FIFO group fails, the group's later messages are not sent in this
 * invocation (they fail too, so SQS returns them in order). This is the only group-skipping
 * path: the handler reports the results as they are.
 *
 * Bulk mode packs the batch's users into Bulk Import requests (≤ 100,000 bytes each). A
 * 400/413 on a bulk request is isolated by falling back to per-user Track User calls for
 * that request's elements, so one bad user never parks the good ones.
 *
 * MoEngage events (the `events` option, envelope `events`): one Create Event call after the
 * user's attributes were accepted (in bulk mode, an event element after the user's customer
 * element in the same request), judged apart from the attributes, by the provider event id: a
 * stale attribute update still fires its event, once. With the state store the event is first
 * claimed (its own item, a lease until this invocation must have ended), then sent, then marked
 * sent; a failed send releases the claim so that the retry sends it. The crash windows lean to
 * at-least-once: a delivery that dies after claiming leaves a lease that ends, and the retry
 * sends; one that dies between MoEngage's 200 and the mark (or whose request timed out after
 * MoEngage accepted it) sends the event again on the retry. An event is never dropped
 * silently: it reaches MoEngage or the DLQ with its reason. A provider event older than the
 * user's deletion fires nothing (it would re-create the user).
 */
import type { SQSRecord } from 'aws-lambda';
import { decodeEnvelope, type Envelope } from '../core/envelope';
import type { FailureReason, ParkInfo } from '../core/dlq';
import type { MoEngageClient, MoEngageCredentials } from '../core/moengage/client';
import type { DeliveryOutcome } from '../core/moengage/delivery-outcome';
import { packBulkRequests } from '../core/moengage/bulk';
import type { RateLimiter } from '../core/moengage/rate-limit';
import { decide, retryWithPolicy, type RetryDecision, type RetryLoopDeps, type RetryLoopResult, type RetryPolicy } from '../core/retry';
import { METRIC } from '../core/names';
import { applyCommit, eventClaimKey, judge, stateKeyOf, type Judgement, type UserState } from '../core/state';
import type { BulkElement, EventPayload } from '../core/moengage/types';
import { versionTime } from '../core/version';
import { SQS_MAX_VISIBILITY_SECONDS, visibilityTimeoutSeconds } from '../core/retry';
import type { CredentialsProvider } from '../shared/secrets';
import type { StateStore } from '../shared/state-store';
import type { Telemetry } from '../shared/observability';

export interface SenderQueue {
  /** Sets how long a failed message stays invisible before SQS hands it out again. */
  changeVisibility(record: SQSRecord, seconds: number): Promise<void>;
  /**
   * FIFO with the state store: sends a copy of a failed message back to the queue in a message
   * group of its own (out of its user's line), carrying the attempts made and when it is due;
   * with `group`, into that group instead (a due copy rejoining its user's line). Resolves once
   * SQS accepted it (the original is then deleted).
   */
  requeue(record: SQSRecord, retry: { attempts: number; notBefore: number; group?: string }): Promise<void>;
  /** Sends the message to the DLQ with its reason; resolves once the DLQ accepted it. */
  park(record: SQSRecord, info: ParkInfo, meta: { source?: string; eventType?: string }): Promise<void>;
}

export interface SenderDeps {
  mode: 'customer' | 'bulk';
  fifo: boolean;
  client: MoEngageClient;
  credentials: CredentialsProvider;
  queue: SenderQueue;
  /**
   * Track User pacing (user updates / min), Bulk Import pacing (users / min), Delete User pacing
   * (requests / min), Create Event pacing (events / min, also for event elements of Bulk Import).
   */
  limiters: { customer: RateLimiter; bulk: RateLimiter; delete: RateLimiter; event: RateLimiter };
  policy: RetryPolicy;
  maxReceiveCount: number;
  /** Concurrent MoEngage calls in this invocation. */
  parallelism: number;
  remainingMs: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  now: () => number;
  telemetry: Telemetry;
  /** The per-user state store; undefined: stateless delivery (`stateStore: false`). */
  state?: StateStore;
}

export type RecordResult =
  | { ok: true; action: 'delivered' | 'parked' | 'dropped' | 'requeued' }
  | {
      ok: false;
      error: Error;
      /** The visibility timeout set on the message, if one was (later messages of its FIFO group follow it). */
      visibilityTimeoutSeconds?: number;
    };

class DeliveryDeferredError extends Error {
  override name = 'DeliveryDeferredError';
}

interface Item {
  record: SQSRecord;
  envelope: Envelope;
  receiveCount: number;
  group: string;
  /** The user's key in the state store. */
  key: string;
}

/** The users' states as read (and, after each delivery, as written) during one batch. */
type BatchStates = Map<string, UserState>;

const fail = (message: string, visibilityTimeoutSeconds?: number): RecordResult => ({
  ok: false,
  error: new DeliveryDeferredError(message),
  ...(visibilityTimeoutSeconds !== undefined ? { visibilityTimeoutSeconds } : {}),
});

/** Visibility of a message deferred before any MoEngage call (no time left): back soon. */
const NOT_ATTEMPTED_VISIBILITY_SECONDS = 1;

/**
 * The least invocation time a first MoEngage call needs: a request of at least 2 s (its
 * timeout is cut to the time left, see requestTimeout) plus 1 s to record the outcome.
 */
const MIN_CALL_BUDGET_MS = 3_000;

/** What recording a delivery in the state table may take at worst (2 attempts of 1 s, state-store.ts). */
export const STATE_WRITE_BUDGET_MS = 2_000;

/** Message attributes of a requeued copy (see SenderQueue.requeue). */
export const RETRY_ATTRIBUTES = { attempts: 'retry_attempts', notBefore: 'retry_not_before' } as const;

function retryAttribute(record: SQSRecord, name: string): number | undefined {
  const raw = record.messageAttributes?.[name]?.stringValue;
  const n = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * The delivery attempts this receive stands for: SQS's receive count, or for a requeued copy
 * the attempts its original made before, plus this one.
 */
function receiveCountOf(record: SQSRecord): number {
  const carried = retryAttribute(record, RETRY_ATTRIBUTES.attempts);
  if (carried !== undefined) return Math.trunc(carried) + 1;
  const n = Number(record.attributes?.ApproximateReceiveCount ?? '1');
  return Number.isInteger(n) && n > 0 ? n : 1;
}

/** Runs `tasks` with at most `limit` in flight. */
async function runLimited<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  });
  await Promise.all(workers);
}

export async function deliverBatch(records: readonly SQSRecord[], deps: SenderDeps): Promise<Map<string, RecordResult>> {
  const results = new Map<string, RecordResult>();
  const items: Item[] = [];
  for (const record of records) {
    // A requeued copy that is not due yet waits, in its own group, for the rest of its backoff.
    const notBefore = retryAttribute(record, RETRY_ATTRIBUTES.notBefore);
    if (notBefore !== undefined && notBefore > deps.now()) {
      const seconds = Math.min(43_200, Math.max(1, Math.ceil((notBefore - deps.now()) / 1000)));
      await changeVisibilityOf(record, seconds, deps);
      results.set(record.messageId, fail(`a retry, due in ${seconds}s`, seconds));
      continue;
    }
    const decoded = decodeEnvelope(record.body);
    const receiveCount = receiveCountOf(record);
    if (!decoded.ok) {
      results.set(record.messageId, await park(deps, record, undefined, { reason: 'invalid_message', detail: { message: decoded.message } }, receiveCount));
      continue;
    }
    const fifoGroup = deps.fifo ? record.attributes?.MessageGroupId : undefined;
    const userGroup = decoded.envelope.userKey;
    const isCopy = retryAttribute(record, RETRY_ATTRIBUTES.attempts) !== undefined;
    if (isCopy && fifoGroup !== undefined && userGroup !== undefined && fifoGroup !== userGroup) {
      // A requeued copy, due: it rejoins its user's line (behind the messages queued meanwhile)
      // rather than being sent from its own group, where it could run beside its user's newer
      // message in another invocation: FIFO then serialises it with them, and the judgement drops
      // it if a newer state was applied. Not an attempt. If SQS refuses, it is sent from here.
      try {
        await deps.queue.requeue(record, { attempts: Math.max(0, receiveCount - 1), notBefore: notBefore ?? deps.now(), group: userGroup });
        results.set(record.messageId, { ok: true, action: 'requeued' });
        continue;
      } catch (err) {
        deps.telemetry.warn('could not move the due retry back into its user\'s line; it is sent from its own group', { error: (err as Error).name, eventId: decoded.envelope.eventId });
      }
    }
    const key = stateKeyOf(decoded.envelope, fifoGroup);
    // One user's messages go in order within the batch: by the user's FIFO group (the envelope's
    // userKey, which a requeued retry keeps while SQS has it in a group of its own: it must not be
    // judged against the same state read as its user's newer message and sent beside it). With the
    // state store, one user's messages are serialised on a standard queue too.
    const group = (deps.fifo ? (userGroup ?? fifoGroup) : undefined) ?? (deps.state ? key : record.messageId);
    items.push({ record, envelope: decoded.envelope, receiveCount, group, key });
  }
  const states: BatchStates = new Map();
  await prefetchStates(items, deps, states);
  if (deps.mode === 'bulk') await deliverBulk(items, deps, results, states);
  else await deliverPerUser(items, deps, results, states);
  return results;
}

/** Whether a later message of a user may go while an earlier one of the same user failed. */
function mayOvertake(failed: Item, later: Item, deps: SenderDeps): boolean {
  return deps.state !== undefined && failed.envelope.version !== undefined && later.envelope.version !== undefined;
}

type Guarded = { go: true; judgement: Extract<Judgement, { action: 'apply' }> } | { go: false; result: RecordResult };

/**
 * Judges an item against its user's state (read once per batch): drop it (stale, duplicate),
 * or send it (the payload to send and the state to write once MoEngage accepted it). Without
 * the state store every item is sent as it is. A state store that cannot be read defers the
 * item; it is never sent unguarded.
 */
async function guard(item: Item, deps: SenderDeps, states: BatchStates): Promise<Guarded> {
  const { envelope } = item;
  if (!deps.state) return { go: true, judgement: { action: 'apply', payload: envelope.payload, commit: { recentIds: [] }, unversioned: envelope.version === undefined } };
  let state = states.get(item.key);
  if (!state) {
    try {
      state = await deps.state.read(item.key);
    } catch (err) {
      return { go: false, result: await stateUnavailable(item, deps, err, 'read') };
    }
    states.set(item.key, state);
  }
  const judgement = judge(envelope, state);
  if (judgement.action === 'apply') return { go: true, judgement };
  const metric = judgement.why === 'stale' ? METRIC.staleDropped : METRIC.duplicatesDropped;
  deps.telemetry.count(metric, 1, { name: 'source', value: envelope.source });
  deps.telemetry.info(judgement.why === 'stale' ? 'stale event dropped' : 'duplicate event dropped', {
    source: envelope.source,
    eventId: envelope.eventId,
    eventType: envelope.eventType,
    version: envelope.version ? versionTime(envelope.version) : undefined,
    appliedVersion: judgement.appliedVersion ? versionTime(judgement.appliedVersion) : undefined,
  });
  return { go: false, result: { ok: true, action: 'dropped' } };
}

/**
 * Records a delivered item in the user's state. A write that fails puts the message back (it
 * comes back, is judged again and sent again: Track User and Delete User are idempotent); a
 * condition that fails means a newer version landed meanwhile, which stays.
 */
async function commitState(item: Item, judgement: Extract<Judgement, { action: 'apply' }>, deps: SenderDeps, states: BatchStates): Promise<RecordResult | undefined> {
  if (!deps.state) return undefined;
  const { envelope } = item;
  if (judgement.unversioned) deps.telemetry.count(METRIC.unversioned, 1, { name: 'source', value: envelope.source });
  let outcome: 'ok' | 'conflict';
  try {
    outcome = await deps.state.commit(item.key, judgement.commit);
  } catch (err) {
    states.delete(item.key);
    return stateUnavailable(item, deps, err, 'write');
  }
  if (outcome === 'conflict') {
    states.delete(item.key);
    deps.telemetry.warn('a newer state was written meanwhile; it stays', { source: envelope.source, eventId: envelope.eventId });
    return undefined;
  }
  states.set(item.key, applyCommit(states.get(item.key) ?? { attributes: {}, recentIds: [] }, judgement.commit));
  return undefined;
}

/** The state table could not be read or written: retry later, or park on the last receive. */
async function stateUnavailable(item: Item, deps: SenderDeps, err: unknown, op: 'read' | 'write'): Promise<RecordResult> {
  deps.telemetry.count(METRIC.stateStoreErrors, 1);
  deps.telemetry.error(`the state table could not be ${op === 'read' ? 'read' : 'written'}`, { error: (err as Error)?.name ?? 'Error', source: item.envelope.source, eventId: item.envelope.eventId });
  if (item.receiveCount >= deps.maxReceiveCount) {
    return park(deps, item.record, item.envelope, { reason: 'state_unavailable', detail: { type: (err as Error)?.name ?? 'Error', message: `the per-user state table could not be ${op === 'read' ? 'read' : 'written'}` } }, item.receiveCount);
  }
  const seconds = visibilityTimeoutSeconds(item.receiveCount, deps.policy, deps.random);
  return retryLater(item, seconds, `the state table could not be ${op === 'read' ? 'read' : 'written'}`, deps);
}

/** One Track User call per message; groups in parallel, each group in order. */
async function deliverPerUser(items: Item[], deps: SenderDeps, results: Map<string, RecordResult>, states: BatchStates): Promise<void> {
  const groups = new Map<string, Item[]>();
  for (const item of items) {
    const g = groups.get(item.group);
    if (g) g.push(item);
    else groups.set(item.group, [item]);
  }
  await runLimited([...groups.values()], deps.parallelism, async (group) => {
    let blocked: { item: Item; result: Extract<RecordResult, { ok: false }> } | undefined;
    for (const item of group) {
      if (blocked && !mayOvertake(blocked.item, item, deps)) {
        results.set(item.record.messageId, await holdBack(item, blocked.result.visibilityTimeoutSeconds, deps));
        continue;
      }
      const result = await deliverOne(item, deps, states);
      results.set(item.record.messageId, result);
      if (!result.ok && (deps.fifo || deps.state)) blocked ??= { item, result };
    }
  });
}

/**
 * A later message of a FIFO group whose earlier message failed: not sent, and given the same
 * visibility as that one, so that the group comes back together after the backoff.
 */
async function holdBack(item: Item, visibilityTimeoutSeconds: number | undefined, deps: SenderDeps): Promise<RecordResult> {
  if (visibilityTimeoutSeconds !== undefined) await changeVisibility(item, visibilityTimeoutSeconds, deps);
  return fail('an earlier message of the same user is not delivered yet', visibilityTimeoutSeconds);
}

async function changeVisibility(item: Item, seconds: number, deps: SenderDeps): Promise<void> {
  await changeVisibilityOf(item.record, seconds, deps, item.envelope.eventId);
}

async function changeVisibilityOf(record: SQSRecord, seconds: number, deps: SenderDeps, eventId?: string): Promise<void> {
  try {
    await deps.queue.changeVisibility(record, seconds);
  } catch (err) {
    deps.telemetry.warn('could not change the visibility timeout', { error: (err as Error).name, eventId });
  }
}

/**
 * A failed message to be retried after `seconds`. With the state store, on a FIFO queue, a
 * versioned message leaves its user's line: a copy goes back to the queue in a group of its
 * own, due after the backoff, and the original is deleted, so that the user's later messages
 * are not held behind it (SQS hands out no message of a group while one is in flight). The
 * judgement makes applying them out of order safe. Otherwise (or if SQS refuses the copy) the
 * message waits out the backoff as an invisible message.
 */
async function retryLater(item: Item, seconds: number, why: string, deps: SenderDeps): Promise<RecordResult> {
  if (deps.fifo && deps.state && item.envelope.version !== undefined) {
    try {
      await deps.queue.requeue(item.record, { attempts: item.receiveCount, notBefore: deps.now() + seconds * 1000 });
      deps.telemetry.info('retry requeued out of the user\'s line', { source: item.envelope.source, eventId: item.envelope.eventId, attempts: item.receiveCount, retryInSeconds: seconds });
      return { ok: true, action: 'requeued' };
    } catch (err) {
      deps.telemetry.warn('could not requeue the retry; it waits in line', { error: (err as Error).name, eventId: item.envelope.eventId });
    }
  }
  await changeVisibility(item, seconds, deps);
  return fail(`${why}; retry in ${seconds}s`, seconds);
}

/**
 * Whether a first MoEngage call (after waiting `waitMs` for the rate limiter) still fits in
 * the invocation. Retries are held to the policy's stricter margin by `decide`.
 */
function fitsInInvocation(deps: SenderDeps, waitMs: number): boolean {
  return waitMs + MIN_CALL_BUDGET_MS + (deps.state ? STATE_WRITE_BUDGET_MS : 0) <= deps.remainingMs();
}

/**
 * No time left for a first call: put the message back for a prompt retry, without counting a
 * MoEngage failure. On the last allowed receive SQS would move it without a reason, so it is
 * parked with one instead.
 */
async function notAttempted(items: Item[], deps: SenderDeps, results: Map<string, RecordResult>): Promise<void> {
  for (const item of items) {
    if (item.receiveCount >= deps.maxReceiveCount) {
      results.set(
        item.record.messageId,
        await park(deps, item.record, item.envelope, { reason: 'retries_exhausted', detail: { message: 'not attempted: the invocation ran out of time on the last allowed receive' } }, item.receiveCount),
      );
    } else {
      await changeVisibility(item, NOT_ATTEMPTED_VISIBILITY_SECONDS, deps);
      results.set(item.record.messageId, fail('not attempted: the invocation ran out of time', NOT_ATTEMPTED_VISIBILITY_SECONDS));
    }
  }
}

/** An outcome standing for "the MoEngage secret could not be read": handled like a 401. */
function credentialsUnavailable(err: unknown): DeliveryOutcome {
  return {
    kind: 'auth',
    reason: 'auth_failed',
    latencyMs: 0,
    detail: { type: 'CredentialsUnavailable', message: `the MoEngage secret could not be read (${(err as Error)?.name ?? 'Error'})` },
  };
}

async function deliverOne(item: Item, deps: SenderDeps, states: BatchStates): Promise<RecordResult> {
  // Time first: a message that cannot be sent in this invocation is not judged.
  const limiter = limiterOf(item, deps);
  if (!fitsInInvocation(deps, limiter.expectedWaitMs(1))) return notAttemptedOne(item, deps);
  const guarded = await guard(item, deps, states);
  if (!guarded.go) return eventsAfterDrop(item, guarded.result) ? fireEvents(item, deps, states, guarded.result) : guarded.result;
  return callAndRecord(item, guarded.judgement, deps, states);
}

function limiterOf(item: Item, deps: SenderDeps): RateLimiter {
  return item.envelope.op === 'delete' ? deps.limiters.delete : deps.limiters.customer;
}

async function notAttemptedOne(item: Item, deps: SenderDeps): Promise<RecordResult> {
  const results = new Map<string, RecordResult>();
  await notAttempted([item], deps, results);
  return results.get(item.record.messageId) as RecordResult;
}

/** A judged item on its own (bulk: oversized, or isolated after a refused request), if it still fits in the invocation. */
async function sendJudged(item: Item, judgement: Extract<Judgement, { action: 'apply' }>, deps: SenderDeps, states: BatchStates): Promise<RecordResult> {
  if (!fitsInInvocation(deps, limiterOf(item, deps).expectedWaitMs(1))) return notAttemptedOne(item, deps);
  return callAndRecord(item, judgement, deps, states);
}

/**
 * One Track User call (or, for a deletion, one Delete User call) with its in-invocation
 * retries for a judged item, then its state.
 */
async function callAndRecord(item: Item, judgement: Extract<Judgement, { action: 'apply' }>, deps: SenderDeps, states: BatchStates): Promise<RecordResult> {
  const deletion = item.envelope.op === 'delete';
  const limiter = limiterOf(item, deps);
  const customerId = judgement.payload.customer_id ?? '';
  const run = await callWithRetries(deps, limiter, 1, item.receiveCount, item, (creds, timeoutMs) =>
    deletion ? deps.client.deleteUser(creds, customerId, { timeoutMs }) : deps.client.trackUser(creds, judgement.payload, { timeoutMs }),
  );
  if (deletion && run.decision.action === 'done') deps.telemetry.count(METRIC.usersDeleted, 1, { name: 'source', value: item.envelope.source });
  if (run.decision.action === 'done') {
    const deferred = await commitState(item, judgement, deps, states);
    if (deferred) return deferred;
  }
  const settled = await settle(item, run.outcome, run.decision, deps);
  if (run.decision.action === 'done' && !deletion && hasEvents(item)) return fireEvents(item, deps, states, settled);
  return settled;
}

// ---------------------------------------------------------------------------------------------
// MoEngage events (Create Event)
// ---------------------------------------------------------------------------------------------

/**
 * How long a Create Event claim outlives the invocation's remaining time: the claim holds
 * until this invocation has surely ended, then a retry of a delivery that died may claim it.
 */
const EVENT_LEASE_MARGIN_MS = 10_000;

/** Whether the message carries MoEngage events to fire (a user update with a customer_id). */
function hasEvents(item: Item): boolean {
  const { envelope } = item;
  return (envelope.events?.length ?? 0) > 0 && envelope.op !== 'delete' && typeof envelope.payload.customer_id === 'string' && envelope.payload.customer_id !== '';
}

/** Whether a message whose attributes were dropped (stale, duplicate) still has events to judge. */
function eventsAfterDrop(item: Item, result: RecordResult): boolean {
  return result.ok && result.action === 'dropped' && hasEvents(item);
}

function eventPayloadOf(item: Item): EventPayload {
  const { envelope } = item;
  return { type: 'event', customer_id: envelope.payload.customer_id as string, actions: envelope.events ?? [] };
}

/** A claimed (or, without the state store, unclaimed) Create Event about to be sent. */
interface EventClaimed {
  key?: string;
  token?: string;
}

type EventGate = { go: true; claim: EventClaimed } | { go: false; result?: RecordResult };

/**
 * Decides whether a message's events go now: claimed (go), already sent or older than the
 * user's deletion (no result: nothing to send), or claimed by another delivery / state table
 * unavailable (a deferring result). Without the state store they always go.
 */
async function claimEvents(item: Item, deps: SenderDeps, states: BatchStates): Promise<EventGate> {
  if (!deps.state) return { go: true, claim: {} };
  const { envelope } = item;
  const state = states.get(item.key);
  if (state?.deleted && state.version !== undefined && envelope.version !== undefined && envelope.version <= state.version) {
    deps.telemetry.info('event not sent: the user was deleted after it', { source: envelope.source, eventId: envelope.eventId, eventType: envelope.eventType });
    return { go: false };
  }
  const key = eventClaimKey(envelope.source, envelope.eventId);
  const token = `${item.record.messageId}/${item.receiveCount}/${deps.now()}`;
  let claim;
  try {
    claim = await deps.state.claimEvent(key, token, deps.now() + deps.remainingMs() + EVENT_LEASE_MARGIN_MS);
  } catch (err) {
    return { go: false, result: await stateUnavailable(item, deps, err, 'write') };
  }
  if (claim.outcome === 'claimed') return { go: true, claim: { key, token } };
  if (claim.outcome === 'sent') {
    deps.telemetry.count(METRIC.eventDuplicatesDropped, 1, { name: 'source', value: envelope.source });
    deps.telemetry.info('event already sent; not sent again', { source: envelope.source, eventId: envelope.eventId, eventType: envelope.eventType });
    return { go: false };
  }
  return { go: false, result: await eventBusy(item, deps, claim.untilMs) };
}

/**
 * Another delivery of the same provider event holds the claim (a duplicate in flight, or a
 * delivery that died): come back once its lease ended. On the last receive the message is
 * parked with its reason instead (a redrive then finds the event sent, or sends it).
 */
async function eventBusy(item: Item, deps: SenderDeps, untilMs: number): Promise<RecordResult> {
  const message = 'the Create Event of this provider event is claimed by another delivery';
  if (item.receiveCount >= deps.maxReceiveCount) {
    return park(deps, item.record, item.envelope, { reason: 'retries_exhausted', detail: { message } }, item.receiveCount);
  }
  const seconds = Math.min(SQS_MAX_VISIBILITY_SECONDS, Math.max(1, Math.ceil((untilMs - deps.now()) / 1000)));
  return retryLater(item, seconds, message, deps);
}

/** After MoEngage accepted the events: the claim becomes `sent` for good. A failed write is logged, never retried by re-sending. */
async function eventsSent(item: Item, claim: EventClaimed, deps: SenderDeps): Promise<void> {
  const { envelope } = item;
  deps.telemetry.count(METRIC.eventsSent, envelope.events?.length ?? 0, { name: 'source', value: envelope.source });
  deps.telemetry.info('event sent', { source: envelope.source, eventId: envelope.eventId, eventType: envelope.eventType });
  if (!deps.state || claim.key === undefined) return;
  try {
    await deps.state.markEventSent(claim.key);
  } catch (err) {
    // The pending claim's lease ends; only a later duplicate of this provider event would send it again.
    deps.telemetry.count(METRIC.stateStoreErrors, 1);
    deps.telemetry.error('the state table could not record a sent event', { error: (err as Error)?.name ?? 'Error', source: envelope.source, eventId: envelope.eventId });
  }
}

/** After a failed Create Event: the claim is released so that the message's retry sends it at once. */
async function releaseEvents(item: Item, claim: EventClaimed, deps: SenderDeps): Promise<void> {
  if (!deps.state || claim.key === undefined || claim.token === undefined) return;
  try {
    await deps.state.releaseEvent(claim.key, claim.token);
  } catch (err) {
    // The lease ends by itself; the retry waits for it.
    deps.telemetry.count(METRIC.stateStoreErrors, 1);
    deps.telemetry.warn('the state table could not release an event claim', { error: (err as Error)?.name ?? 'Error', source: item.envelope.source, eventId: item.envelope.eventId });
  }
}

/**
 * The message's Create Event call, after its attributes were accepted (or dropped as stale or
 * duplicate): `prior` is the attribute part's result, returned when the events are done too.
 */
async function fireEvents(item: Item, deps: SenderDeps, states: BatchStates, prior: RecordResult): Promise<RecordResult> {
  const gate = await claimEvents(item, deps, states);
  if (!gate.go) return gate.result ?? prior;
  const payload = eventPayloadOf(item);
  if (!fitsInInvocation(deps, deps.limiters.event.expectedWaitMs(payload.actions.length))) {
    await releaseEvents(item, gate.claim, deps);
    return notAttemptedOne(item, deps);
  }
  const run = await callWithRetries(deps, deps.limiters.event, payload.actions.length, item.receiveCount, item, (creds, timeoutMs) =>
    deps.client.createEvent(creds, payload, { timeoutMs }),
  );
  if (run.decision.action === 'done') {
    await eventsSent(item, gate.claim, deps);
    return prior.ok && prior.action === 'dropped' ? { ok: true, action: 'delivered' } : prior;
  }
  await releaseEvents(item, gate.claim, deps);
  return settle(item, run.outcome, run.decision, deps, 'Create Event');
}

/**
 * One MoEngage delivery (a Track User call or a Bulk Import request for `users` users) with
 * the in-invocation retries: the credentials (re-read after a 401; unreadable ones count as
 * a 401), pacing by `limiter`, the call with a timeout that fits the invocation, telemetry.
 */
function callWithRetries(
  deps: SenderDeps,
  limiter: RateLimiter,
  users: number,
  receiveCount: number,
  item: Item | undefined,
  call: (creds: MoEngageCredentials, timeoutMs: number | undefined) => Promise<DeliveryOutcome>,
): Promise<RetryLoopResult> {
  let creds: MoEngageCredentials | undefined;
  return retryWithPolicy(
    async () => {
      let outcome: DeliveryOutcome;
      try {
        creds ??= await deps.credentials.get();
      } catch (err) {
        outcome = credentialsUnavailable(err);
        observe(deps, limiter, outcome, item, users);
        return outcome;
      }
      await limiter.acquire(users);
      outcome = await call(creds, requestTimeout(deps));
      observe(deps, limiter, outcome, item, users);
      return outcome;
    },
    { receiveCount, maxReceiveCount: deps.maxReceiveCount },
    deps.policy,
    loopDeps(deps, async () => {
      creds = await deps.credentials.refresh();
    }),
  );
}

/** A request never outlives the invocation: its timeout is cut to the time left minus a second. */
function requestTimeout(deps: SenderDeps): number | undefined {
  const left = deps.remainingMs() - 1_000;
  return left < deps.client.timeoutMs ? Math.max(100, left) : undefined;
}

/**
 * Bulk Import: pack, send, isolate 400/413 by falling back to per-user calls. A batch is sent
 * in rounds: the n-th message of each user goes in round n, so that one user's messages are
 * never in two requests in flight at once, and they reach MoEngage in order.
 */
async function deliverBulk(items: Item[], deps: SenderDeps, results: Map<string, RecordResult>, states: BatchStates): Promise<void> {
  const rounds: Item[][] = [];
  const perGroup = new Map<string, number>();
  for (const item of items) {
    const n = perGroup.get(item.group) ?? 0;
    perGroup.set(item.group, n + 1);
    (rounds[n] ??= []).push(item);
  }
  const failed = new Map<string, Item>();
  for (const round of rounds) {
    const sendable: Sendable[] = [];
    for (const item of round) {
      const earlier = failed.get(item.group);
      if (earlier && (deps.fifo || deps.state) && !mayOvertake(earlier, item, deps)) {
        results.set(item.record.messageId, fail('an earlier message of the same user is not delivered yet'));
        continue;
      }
      const guarded = await guard(item, deps, states);
      if (guarded.go) sendable.push({ item, judgement: guarded.judgement });
      else if (eventsAfterDrop(item, guarded.result)) sendable.push({ item });
      else results.set(item.record.messageId, guarded.result);
    }
    // Deletions use Delete User in bulk mode too (Bulk Import has no deletion).
    const deletions = sendable.filter((s) => s.item.envelope.op === 'delete');
    const packable = await claimBulkEvents(
      sendable.filter((s) => s.item.envelope.op !== 'delete'),
      deps,
      results,
      states,
    );
    const packs = packBulkRequests(packable, elementsOf);
    await Promise.all([
      runLimited(deletions, deps.parallelism, async (s) => {
        results.set(s.item.record.messageId, await sendOnItsOwn(s, deps, states));
      }),
      runLimited(packs, deps.parallelism, (pack) => sendPack(pack.items, pack.oversized, deps, results, states)),
    ]);
    for (const item of round) if (!results.get(item.record.messageId)?.ok && !failed.has(item.group)) failed.set(item.group, item);
  }
}

interface Sendable {
  item: Item;
  /** The attribute update to send; absent when it was dropped (stale, duplicate) but the events still go. */
  judgement?: Extract<Judgement, { action: 'apply' }>;
  /** The claimed events, sent as an event element after the customer element. */
  event?: EventClaimed;
}

/** A Bulk Import member's elements: its customer element, then its event element. */
function elementsOf(s: Sendable): BulkElement[] {
  const elements: BulkElement[] = [];
  if (s.judgement) elements.push(s.judgement.payload);
  if (s.event) elements.push(eventPayloadOf(s.item));
  return elements;
}

/** A member sent with per-user calls instead of Bulk Import: Track User (then Create Event), or its events alone. */
function sendOnItsOwn(s: Sendable, deps: SenderDeps, states: BatchStates): Promise<RecordResult> {
  if (s.judgement) return sendJudged(s.item, s.judgement, deps, states);
  return fireEvents(s.item, deps, states, { ok: true, action: 'dropped' });
}

/**
 * Claims the events of the users about to be packed (in parallel). A member whose events are
 * claimed by another delivery (or whose claim cannot be written) waits, attributes included,
 * with its result; one whose events were sent already goes with its attributes alone.
 */
async function claimBulkEvents(sendable: Sendable[], deps: SenderDeps, results: Map<string, RecordResult>, states: BatchStates): Promise<Sendable[]> {
  const keep = new Set<Sendable>();
  await runLimited(sendable, 16, async (s) => {
    if (hasEvents(s.item)) {
      const gate = await claimEvents(s.item, deps, states);
      if (gate.go) s.event = gate.claim;
      else if (gate.result) {
        results.set(s.item.record.messageId, gate.result);
        return;
      }
    }
    if (!s.judgement && !s.event) {
      results.set(s.item.record.messageId, { ok: true, action: 'dropped' });
      return;
    }
    keep.add(s);
  });
  return sendable.filter((s) => keep.has(s));
}

async function releaseBulkEvents(members: Sendable[], deps: SenderDeps): Promise<void> {
  await runLimited(
    members.filter((s) => s.event),
    16,
    async (s) => {
      await releaseEvents(s.item, s.event as EventClaimed, deps);
      delete s.event;
    },
  );
}

/**
 * Reads the states of a batch's users together (StateStore.readMany). A state it could not
 * read is read again by guard, which defers the message if the table is still unavailable.
 * Nothing is read when no message can be sent in this invocation anyway.
 */
async function prefetchStates(items: Item[], deps: SenderDeps, states: BatchStates): Promise<void> {
  const store = deps.state;
  if (!store || items.length === 0 || !fitsInInvocation(deps, 0)) return;
  const keys = [...new Set(items.map((i) => i.key))];
  let read: Map<string, UserState>;
  try {
    read = await store.readMany(keys);
  } catch {
    read = new Map();
  }
  for (const key of keys) {
    const state = read.get(key);
    if (state) states.set(key, state);
  }
  if (states.size < keys.length) deps.telemetry.warn('the state table did not return every user of the batch; reading them one by one', { users: keys.length, unread: keys.length - states.size });
}

async function sendPack(members: Sendable[], oversized: boolean, deps: SenderDeps, results: Map<string, RecordResult>, states: BatchStates): Promise<void> {
  if (members.length === 0) return;
  // Per-user calls claim the events again, one user at a time.
  const perUser = async () => {
    await releaseBulkEvents(members, deps);
    await runLimited(members, deps.parallelism, async (s) => {
      results.set(s.item.record.messageId, await sendOnItsOwn(s, deps, states));
    });
  };
  if (oversized) {
    // Too big for a Bulk Import request (100,000 bytes) but within Track User's 128 KB.
    await perUser();
    return;
  }
  const events = members.reduce((n, s) => n + (s.event ? (s.item.envelope.events?.length ?? 0) : 0), 0);
  if (!fitsInInvocation(deps, Math.max(deps.limiters.bulk.expectedWaitMs(members.length), deps.limiters.event.expectedWaitMs(events)))) {
    await releaseBulkEvents(members, deps);
    await notAttempted(members.map((s) => s.item), deps, results);
    return;
  }
  const minReceive = Math.min(...members.map((s) => s.item.receiveCount));
  const run = await callWithRetries(deps, deps.limiters.bulk, members.length, minReceive, undefined, async (creds, timeoutMs) => {
    // The event elements count against Create Event's own budget as well.
    await deps.limiters.event.acquire(events);
    return deps.client.bulkImport(creds, members.flatMap(elementsOf), { timeoutMs });
  });
  const outcome = run.outcome;
  if (outcome.kind === 'permanent' && (outcome.reason === 'moengage_rejected' || outcome.reason === 'payload_too_large')) {
    deps.telemetry.warn('bulk request refused; isolating its users with Track User calls', { status: outcome.status, users: members.length });
    await perUser();
    return;
  }
  if (outcome.kind !== 'delivered') await releaseBulkEvents(members, deps);
  // A request holds one message per user (deliverBulk's rounds): its members settle in parallel.
  await runLimited(members, STATE_PARALLELISM, async ({ item, judgement, event }) => {
    if (outcome.kind === 'delivered') {
      if (event) await eventsSent(item, event, deps);
      const deferred = judgement ? await commitState(item, judgement, deps, states) : undefined;
      if (deferred) {
        results.set(item.record.messageId, deferred);
        return;
      }
    }
    const decision = outcome.kind === 'delivered' ? run.decision : decide(outcome, { attempt: deps.policy.maxAttemptsPerInvocation, receiveCount: item.receiveCount, maxReceiveCount: deps.maxReceiveCount, remainingMs: 0, credentialsRefreshed: true }, deps.policy, deps.random);
    results.set(item.record.messageId, await settle(item, outcome, decision, deps));
  });
}

/** State-table calls in flight at once for the members of a Bulk Import request (state writes, event marks). */
const STATE_PARALLELISM = 16;

function loopDeps(deps: SenderDeps, refreshCredentials: () => Promise<void>): RetryLoopDeps {
  return { sleep: deps.sleep, random: deps.random, remainingMs: deps.remainingMs, refreshCredentials };
}

function observe(deps: SenderDeps, limiter: RateLimiter, outcome: DeliveryOutcome, item?: Item, users = 1): void {
  if ('rateLimit' in outcome && outcome.rateLimit) limiter.observe(outcome.rateLimit);
  if (outcome.kind === 'delivered') return;
  deps.telemetry.count(METRIC.deliveryFailed, users, { name: 'class', value: outcome.kind });
  if (outcome.kind === 'auth') deps.telemetry.count(METRIC.authFailures, 1);
  if (outcome.kind === 'rate_limited') {
    deps.telemetry.count(METRIC.throttled, 1);
    limiter.penalize(outcome.retryAfterMs);
  }
  deps.telemetry.warn('MoEngage call failed', {
    class: outcome.kind,
    status: outcome.status,
    reason: 'reason' in outcome ? outcome.reason : undefined,
    requestId: outcome.detail?.request_id,
    source: item?.envelope.source,
    eventId: item?.envelope.eventId,
  });
}

/** Settles a message after its last call; `call` names a call other than the attribute update (in the DLQ detail and logs). */
async function settle(item: Item, outcome: DeliveryOutcome, decision: RetryDecision, deps: SenderDeps, call?: 'Create Event'): Promise<RecordResult> {
  const { envelope, record } = item;
  switch (decision.action) {
    case 'done': {
      deps.telemetry.count(METRIC.delivered, 1);
      const received = Date.parse(envelope.receivedAt);
      if (Number.isFinite(received)) deps.telemetry.milliseconds(METRIC.deliveryLatency, Math.max(0, deps.now() - received));
      deps.telemetry.info('delivered', {
        source: envelope.source,
        eventId: envelope.eventId,
        eventType: envelope.eventType,
        // MoEngage's request id, and whether its body said "success": a 2xx without it (e.g. a
        // proxy's page in front of MOENGAGE_BASE_URL) still counts as delivered, so it shows here.
        ...(outcome.kind === 'delivered' ? { requestId: outcome.requestId, confirmed: outcome.confirmed } : {}),
      });
      return { ok: true, action: 'delivered' };
    }
    case 'park': {
      const detail = outcome.kind === 'delivered' ? undefined : call ? { ...outcome.detail, message: `${call}: ${outcome.detail.message ?? outcome.detail.type ?? 'failed'}` } : outcome.detail;
      return park(deps, record, envelope, { reason: decision.reason, status: outcome.status, detail }, item.receiveCount);
    }
    case 'retry_later':
      return retryLater(item, decision.visibilityTimeoutSeconds, `MoEngage ${call ?? 'delivery'} deferred (${outcome.kind})`, deps);
    case 'retry_now':
      // retryWithPolicy only returns once no in-invocation attempt remains; treat as deferred.
      return fail('MoEngage delivery deferred');
  }
}

async function park(
  deps: SenderDeps,
  record: SQSRecord,
  envelope: Envelope | undefined,
  why: { reason: FailureReason; status?: number; detail?: ParkInfo['detail'] },
  receiveCount: number,
): Promise<RecordResult> {
  const info: ParkInfo = {
    reason: why.reason,
    ...(why.status !== undefined ? { status: why.status } : {}),
    ...(why.detail ? { detail: why.detail } : {}),
    attempts: receiveCount,
    failedAt: new Date(deps.now()).toISOString(),
  };
  try {
    await deps.queue.park(record, info, { source: envelope?.source, eventType: envelope?.eventType });
  } catch (err) {
    deps.telemetry.error('could not park the message in the DLQ; SQS will redeliver it', { error: (err as Error).name, reason: why.reason });
    return fail('the DLQ did not accept the message');
  }
  deps.telemetry.count(METRIC.parked, 1, { name: 'reason', value: why.reason });
  deps.telemetry.warn('parked in the DLQ', { reason: why.reason, status: why.status, source: envelope?.source, eventId: envelope?.eventId, eventType: envelope?.eventType, requestId: why.detail?.request_id });
  return { ok: true, action: 'parked' };
}
