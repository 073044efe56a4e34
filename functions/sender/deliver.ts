/**
 * The sender's core: deliver a batch of queued envelopes to MoEngage and decide, for every
 * message, whether it is done (delivered or parked in the DLQ with its reason) or must come
 * back through SQS later. No AWS here: the queue, MoEngage client, credentials, rate
 * limiters, clock, sleep and randomness are injected.
 *
 * Ordering (FIFO): messages of one group (one user) are handled one after another, and
 * once one fails the group's later messages are not sent in this invocation (they fail too,
 * so SQS returns them in order). Groups run in parallel, up to `parallelism`.
 *
 * Bulk mode packs the batch's users into Bulk Import requests (≤ 100,000 bytes each). A
 * 400/413 on a bulk request is isolated by falling back to per-user Track User calls for
 * that request's elements, so one bad user never parks the good ones.
 */
import type { SQSRecord } from 'aws-lambda';
import { decodeEnvelope, type Envelope } from '../core/envelope';
import type { FailureReason, ParkInfo } from '../core/dlq';
import { type DeliveryOutcome, type MoEngageClient, type MoEngageCredentials } from '../core/moengage/client';
import { packBulkRequests } from '../core/moengage/bulk';
import type { RateLimiter } from '../core/moengage/rate-limit';
import { decide, retryWithPolicy, type RetryDecision, type RetryLoopDeps, type RetryLoopResult, type RetryPolicy } from '../core/retry';
import { METRIC } from '../core/names';
import type { CredentialsProvider } from '../shared/secrets';
import type { Telemetry } from '../shared/observability';

export interface SenderQueue {
  /** Sets how long a failed message stays invisible before SQS hands it out again. */
  changeVisibility(record: SQSRecord, seconds: number): Promise<void>;
  /** Sends the message to the DLQ with its reason; resolves once the DLQ accepted it. */
  park(record: SQSRecord, info: ParkInfo, meta: { source?: string; eventType?: string }): Promise<void>;
}

export interface SenderDeps {
  mode: 'customer' | 'bulk';
  fifo: boolean;
  client: MoEngageClient;
  credentials: CredentialsProvider;
  queue: SenderQueue;
  /** Track User pacing (user updates / min) and Bulk Import pacing (users / min). */
  limiters: { customer: RateLimiter; bulk: RateLimiter };
  policy: RetryPolicy;
  maxReceiveCount: number;
  /** Concurrent MoEngage calls in this invocation. */
  parallelism: number;
  remainingMs: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  now: () => number;
  telemetry: Telemetry;
}

export type RecordResult =
  | { ok: true; action: 'delivered' | 'parked' }
  | {
      ok: false;
      error: Error;
      /** The visibility timeout set on the message, if one was (later messages of its FIFO group follow it). */
      visibilityTimeoutSeconds?: number;
    };

export class DeliveryDeferredError extends Error {
  override name = 'DeliveryDeferredError';
}

interface Item {
  record: SQSRecord;
  envelope: Envelope;
  receiveCount: number;
  group: string;
}

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

function receiveCountOf(record: SQSRecord): number {
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
    const decoded = decodeEnvelope(record.body);
    const receiveCount = receiveCountOf(record);
    if (!decoded.ok) {
      results.set(record.messageId, await park(deps, record, undefined, { reason: 'invalid_message', detail: { message: decoded.message } }, receiveCount));
      continue;
    }
    const group = deps.fifo ? (record.attributes?.MessageGroupId ?? record.messageId) : record.messageId;
    items.push({ record, envelope: decoded.envelope, receiveCount, group });
  }
  if (deps.mode === 'bulk') await deliverBulk(items, deps, results);
  else await deliverPerUser(items, deps, results);
  return results;
}

/** One Track User call per message; groups in parallel, each group in order. */
async function deliverPerUser(items: Item[], deps: SenderDeps, results: Map<string, RecordResult>): Promise<void> {
  const groups = new Map<string, Item[]>();
  for (const item of items) {
    const g = groups.get(item.group);
    if (g) g.push(item);
    else groups.set(item.group, [item]);
  }
  await runLimited([...groups.values()], deps.parallelism, async (group) => {
    let blocked: RecordResult | undefined;
    for (const item of group) {
      if (blocked && !blocked.ok) {
        results.set(item.record.messageId, await holdBack(item, blocked.visibilityTimeoutSeconds, deps));
        continue;
      }
      const result = await deliverOne(item, deps);
      results.set(item.record.messageId, result);
      if (!result.ok && deps.fifo) blocked = result;
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
  try {
    await deps.queue.changeVisibility(item.record, seconds);
  } catch (err) {
    deps.telemetry.warn('could not change the visibility timeout', { error: (err as Error).name, eventId: item.envelope.eventId });
  }
}

/**
 * Whether a first MoEngage call (after waiting `waitMs` for the rate limiter) still fits in
 * the invocation. Retries are held to the policy's stricter margin by `decide`.
 */
function fitsInInvocation(deps: SenderDeps, waitMs: number): boolean {
  return waitMs + MIN_CALL_BUDGET_MS <= deps.remainingMs();
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

async function deliverOne(item: Item, deps: SenderDeps): Promise<RecordResult> {
  if (!fitsInInvocation(deps, deps.limiters.customer.expectedWaitMs(1))) {
    const results = new Map<string, RecordResult>();
    await notAttempted([item], deps, results);
    return results.get(item.record.messageId) as RecordResult;
  }
  const run = await callWithRetries(deps, deps.limiters.customer, 1, item.receiveCount, item, (creds, timeoutMs) =>
    deps.client.trackUser(creds, item.envelope.payload, { timeoutMs }),
  );
  return settle(item, run.outcome, run.decision, deps);
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

/** Bulk Import: pack, send, isolate 400/413 by falling back to per-user calls. */
async function deliverBulk(items: Item[], deps: SenderDeps, results: Map<string, RecordResult>): Promise<void> {
  const packs = packBulkRequests(items, (i) => i.envelope.payload);
  const failedGroups = new Set<string>();
  const sendPack = async (pack: (typeof packs)[number]) => {
    const members = pack.items.filter((i) => {
      if (deps.fifo && failedGroups.has(i.group)) {
        results.set(i.record.messageId, fail('an earlier message of the same user is not delivered yet'));
        return false;
      }
      return true;
    });
    if (members.length === 0) return;
    if (pack.oversized) {
      // Too big for a Bulk Import request (100,000 bytes) but within Track User's 128 KB.
      await deliverPerUser(members, deps, results);
      return;
    }
    if (!fitsInInvocation(deps, deps.limiters.bulk.expectedWaitMs(members.length))) {
      await notAttempted(members, deps, results);
      return;
    }
    const minReceive = Math.min(...members.map((i) => i.receiveCount));
    const run = await callWithRetries(deps, deps.limiters.bulk, members.length, minReceive, undefined, (creds, timeoutMs) =>
      deps.client.bulkImport(
        creds,
        members.map((i) => i.envelope.payload),
        { timeoutMs },
      ),
    );
    const outcome = run.outcome;
    if (outcome.kind === 'permanent' && (outcome.reason === 'moengage_rejected' || outcome.reason === 'payload_too_large')) {
      deps.telemetry.warn('bulk request refused; isolating its users with Track User calls', { status: outcome.status, users: members.length });
      await deliverPerUser(members, deps, results);
    } else {
      for (const i of members) {
        const decision = outcome.kind === 'delivered' ? run.decision : decide(outcome, { attempt: deps.policy.maxAttemptsPerInvocation, receiveCount: i.receiveCount, maxReceiveCount: deps.maxReceiveCount, remainingMs: 0, credentialsRefreshed: true }, deps.policy, deps.random);
        results.set(i.record.messageId, await settle(i, outcome, decision, deps));
      }
    }
    for (const i of members) if (!results.get(i.record.messageId)?.ok) failedGroups.add(i.group);
  };
  if (deps.fifo) for (const pack of packs) await sendPack(pack);
  else await runLimited(packs, deps.parallelism, sendPack);
}

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

async function settle(item: Item, outcome: DeliveryOutcome, decision: RetryDecision, deps: SenderDeps): Promise<RecordResult> {
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
      });
      return { ok: true, action: 'delivered' };
    }
    case 'park':
      return park(deps, record, envelope, { reason: decision.reason, status: outcome.status, detail: outcome.kind === 'delivered' ? undefined : outcome.detail }, item.receiveCount);
    case 'retry_later':
      await changeVisibility(item, decision.visibilityTimeoutSeconds, deps);
      return fail(`MoEngage delivery deferred (${outcome.kind}); retry in ${decision.visibilityTimeoutSeconds}s`, decision.visibilityTimeoutSeconds);
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
