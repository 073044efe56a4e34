/**
 * Reliability under faults, end to end and in-process (the "Reliability" issue, CI part):
 * real receiver and sender code, fauxqs as SQS, the poller as the event source mapping, and the
 * MoEngage emulator injecting faults (429 with Retry-After, 500/502/503, timeouts, connection
 * resets, with and without the payload being accepted first).
 *
 * What is checked: after recovery every accepted event (202) is delivered (unique customer_ids
 * at MoEngage == 202s), nothing is parked except injected permanent errors, duplicates are
 * counted; the receiver never answers 2xx while SQS is down and providers' retries deliver once
 * it is back; a sender that crashes or hangs mid-batch loses nothing; a provider event sent
 * twice reaches MoEngage once.
 *
 * Kept fast for CI: MoEngage timeout 2 s (a shorter one gives up, on a loaded machine, on answers the emulator already sent, and counts at-least-once duplicates this test does not allow), Retry-After 1 s, short visibility timeouts, a high
 * maxReceiveCount so that no transient failure is exhausted. The fault-volume cases use the
 * real sender, `senderFromEnv`, with a retry policy override (its third argument) that caps the
 * redelivery visibility it sets (after the in-invocation attempts) at 1-2 s; the production
 * policy waits >= 30 s, which the longer `npm run soak` exercises. Their queue visibility stays
 * above the function timeout, as deployed (6x): a shorter one redelivers messages still being
 * worked on, and MoEngage then gets a second 200-answered copy.
 */
import { createHash } from 'node:crypto';
import { GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SOURCE_NAMES, type SourceName } from '../../functions/core/config';
import { readParkAttributes } from '../../functions/core/dlq';
import { decodeEnvelope } from '../../functions/core/envelope';
import { ENV, METRIC, SENDER_SERVICE } from '../../functions/core/names';
import { senderFromEnv } from '../../functions/sender/handler';
import { powertoolsTelemetry } from '../../functions/shared/observability';
import { startDev, type DevHandle } from '../../local/dev';
import { seededRandom, TRANSIENT_FAULTS, type MoEngageEmulator, type PayloadValidator } from '../../local/moengage-emulator';
import { buildSampleEvent, DEV_SECRETS, postSignedRequest, signSample, type SampleEvent, type SignedRequest } from '../../local/samples';
import { startLocalSqs, type LocalSqs } from '../../local/sqs';
import { waitFor } from '../helpers/wait';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------



/** A unique provider user id per (tag, index), in each provider's id format. */
function userId(source: SourceName, tag: string, i: number, numericBase: number): string {
  switch (source) {
    case 'clerk':
      return `user_${tag}_${i}`;
    case 'stripe':
      return `cus_${tag}_${i}`;
    case 'shopify':
      return String(numericBase + i);
    case 'workos':
      return `user_01${tag.toUpperCase()}${i}`;
    case 'auth0':
      return `auth0|${tag}${i}`;
    case 'segment':
      return `seg-${tag}-${i}`;
    case 'standard':
      return `usr_${tag}_${i}`;
  }
}

/** `count` provider webhooks, sources round-robin, one distinct user each; ids derived from `tag` (no randomness). */
function makeSamples(tag: string, count: number, numericBase: number): SampleEvent[] {
  let n = 0;
  const randomHex = () => createHash('sha256').update(`${tag}:${n++}`).digest('hex').slice(0, 32);
  return Array.from({ length: count }, (_, i) => {
    const source = SOURCE_NAMES[i % SOURCE_NAMES.length] as SourceName;
    return buildSampleEvent(source, { user: { id: userId(source, tag, i, numericBase) }, randomHex });
  });
}

/** Signed the way each provider signs, with the development secrets `npm run dev` uses. */
function signAll(samples: readonly SampleEvent[], now = new Date()): SignedRequest[] {
  return samples.map((s) => signSample(s, DEV_SECRETS[s.source], now));
}

function makeEvents(tag: string, count: number, numericBase: number): SignedRequest[] {
  return signAll(makeSamples(tag, count, numericBase));
}

/** Posts every request (at most `concurrency` at once); returns the statuses in request order. */
async function postAll(baseUrl: string, requests: readonly SignedRequest[], concurrency = 8): Promise<number[]> {
  const statuses: number[] = new Array<number>(requests.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) {
        const i = next++;
        statuses[i] = (await postSignedRequest(baseUrl, requests[i] as SignedRequest)).status;
      }
    }),
  );
  return statuses;
}

async function depth(client: SQSClient, queueUrl: string): Promise<number> {
  const out = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
  );
  const a = out.Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
}

/** Reads every message of the DLQ once (each stays invisible for the rest of the test). */
async function drainDlq(client: SQSClient, dlqUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const out = await client.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300, MessageAttributeNames: ['All'], WaitTimeSeconds: 0 }),
    );
    const got = out.Messages ?? [];
    if (got.length === 0) return all;
    all.push(...got);
  }
}

interface DeliveryReport {
  /** Users accepted by MoEngage at least once. */
  unique: number;
  /** Accepted user payloads beyond the first per user (at-least-once delivery). */
  duplicates: number;
  /** Of which: accepted but never answered (timeout / reset after acceptance). */
  acceptedWithoutAnswer: number;
  /** Of which: answered 200 more than once (a redelivery after a 200). */
  answeredTwice: number;
}

function deliveryReport(emulator: MoEngageEmulator): DeliveryReport {
  const ids = emulator.accepted.map((a) => String(a.payload.customer_id));
  const unique = new Set(ids).size;
  const stats = emulator.stats();
  const ok = stats.byStatus['200'] ?? 0;
  return { unique, duplicates: ids.length - unique, acceptedWithoutAnswer: stats.acceptedUsers - ok, answeredTwice: ok - unique };
}

function deliveredIds(emulator: MoEngageEmulator): Set<string> {
  return new Set(emulator.accepted.map((a) => String(a.payload.customer_id)));
}

/** State-table errors the fast-redelivery sender met (a delivery whose record failed is sent again). */
const stateStoreErrors = { count: 0 };

/**
 * The real sender (`senderFromEnv`), with the retry policy's redelivery visibility capped at
 * 1-2 s so that SQS-level retries happen within a CI test. Built lazily: startDev sets the
 * environment (queue URLs, MoEngage URL) only once it runs.
 */
function fastRedeliverySender(): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const powertools = powertoolsTelemetry(SENDER_SERVICE);
  const telemetry: typeof powertools = {
    ...powertools,
    count(metric, value, dimension) {
      if (metric === METRIC.stateStoreErrors) stateStoreErrors.count += value ?? 1;
      powertools.count(metric, value, dimension);
    },
  };
  let built: ReturnType<typeof senderFromEnv> | undefined;
  return async (event, context) => {
    built ??= senderFromEnv(process.env, telemetry, { minVisibilitySeconds: 1, maxVisibilitySeconds: 2 });
    try {
      return await built.handler(event, context);
    } finally {
      powertools.flush();
    }
  };
}

/** The real sender Lambda entry (functions/sender/handler.ts), imported once startDev set the environment. */
async function realSender(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const mod = await import('../../functions/sender/handler');
  return mod.handler(event, context);
}

// ---------------------------------------------------------------------------------------------
// MoEngage faults
// ---------------------------------------------------------------------------------------------

describe('MoEngage faults at 30 % of requests', () => {
  let dev: DevHandle;
  const refused = new Set<string>();
  // Injected permanent errors: MoEngage answers 400 (documented body naming the field) for these users.
  const validate: PayloadValidator = (payload) => {
    const id = (payload as { customer_id?: unknown }).customer_id;
    if (typeof id === 'string' && refused.has(id)) return { ok: false, field: 'attributes', message: 'the attribute value is invalid' };
    return { ok: true };
  };

  beforeAll(async () => {
    dev = await startDev({
      port: 0,
      sqsPort: 0,
      quiet: true,
      env: { [ENV.moengageTimeoutMs]: '2000' },
      // Above the function timeout (10 s): SQS-level retries come from the sender's own 1-2 s visibility.
      visibilityTimeoutSeconds: 12,
      maxReceiveCount: 100,
      emulator: { validate },
      poller: { waitTimeSeconds: 1, functionTimeoutMs: 10_000, maxConcurrency: 2 },
      handlers: { sender: fastRedeliverySender() },
    });
  });
  afterAll(async () => {
    await dev?.stop();
  });
  beforeEach(() => {
    dev.emulator!.reset();
    refused.clear();
  });

  it('transient faults: after recovery every accepted event is delivered, nothing parked, duplicates counted', async () => {
    const emulator = dev.emulator!;
    const events = makeEvents('flt', 280, 7_100_000_000_000);
    emulator.faults.setProbabilistic({ rate: 0.3, kinds: TRANSIENT_FAULTS, random: seededRandom(20_260_115) });

    const statuses = await postAll(dev.url, events);
    expect(statuses.filter((s) => s === 202)).toHaveLength(events.length);

    // Faults stay on until most of the traffic went through them, then MoEngage recovers.
    await waitFor(() => deliveredIds(emulator).size >= Math.floor(events.length * 0.9), '90 % delivered under faults', 45_000);
    const underFaults = emulator.stats();
    emulator.faults.clear();
    await waitFor(async () => deliveredIds(emulator).size === events.length && (await depth(dev.sqs.client, dev.sqs.queueUrl)) === 0, 'every event delivered after recovery', 30_000);

    expect([...deliveredIds(emulator)].sort()).toEqual(events.map((e) => e.customerId).sort());
    expect(await depth(dev.sqs.client, dev.sqs.dlqUrl)).toBe(0);

    // The faults really happened, at about the configured rate, of every kind.
    const rate = underFaults.faultsInjected / underFaults.requests;
    expect(rate).toBeGreaterThan(0.2);
    expect(rate).toBeLessThan(0.4);
    for (const status of ['429', '500', '502', '503']) expect(underFaults.byStatus[status] ?? 0).toBeGreaterThan(0);
    expect(underFaults.timeouts).toBeGreaterThan(0);
    expect(underFaults.resets).toBeGreaterThan(0);
    const final = emulator.stats();
    expect(final.byStatus['400'] ?? 0).toBe(0);
    expect(final.byStatus['401'] ?? 0).toBe(0);

    // Duplicates: only at-least-once effects. A payload accepted without an answer can only come
    // from a timeout / reset with acceptFirst; every user was confirmed by a 200.
    const report = deliveryReport(emulator);
    expect(report.unique).toBe(events.length);
    expect(report.acceptedWithoutAnswer).toBeGreaterThan(0);
    expect(report.acceptedWithoutAnswer).toBeLessThanOrEqual(final.timeouts + final.resets);
    // No invocation outlived the visibility timeout, so no 200-answered payload was sent again,
    // except one whose record in the state table failed (a loaded machine): it is sent again,
    // never lost (at least once).
    expect(dev.poller.counters.timeouts).toBe(0);
    expect(report.answeredTwice).toBeLessThanOrEqual(stateStoreErrors.count);
    expect(report.duplicates).toBe(report.acceptedWithoutAnswer + report.answeredTwice);
    console.log(
      `[faults] events=${events.length} requests=${final.requests} faults=${final.faultsInjected} ` +
        `(429=${final.byStatus['429'] ?? 0} 500=${final.byStatus['500'] ?? 0} 502=${final.byStatus['502'] ?? 0} 503=${final.byStatus['503'] ?? 0} ` +
        `timeout=${final.timeouts} reset=${final.resets}) delivered=${report.unique} duplicates=${report.duplicates} ` +
        `(accepted-unanswered=${report.acceptedWithoutAnswer} answered-twice=${report.answeredTwice}) parked=0 lost=0`,
    );
  });

  it('injected permanent errors (400): exactly those are parked, as moengage_rejected; the rest is delivered', async () => {
    const emulator = dev.emulator!;
    const events = makeEvents('rej', 70, 7_200_000_000_000);
    // One refused user per source.
    const bad = events.filter((_, i) => i % 10 === 3).map((e) => e.customerId);
    expect(new Set(events.filter((_, i) => i % 10 === 3).map((e) => e.source)).size).toBe(SOURCE_NAMES.length);
    for (const id of bad) refused.add(id);
    emulator.faults.setProbabilistic({ rate: 0.3, kinds: TRANSIENT_FAULTS, random: seededRandom(4_242) });

    const statuses = await postAll(dev.url, events);
    expect(statuses.every((s) => s === 202)).toBe(true);
    const good = events.map((e) => e.customerId).filter((id) => !refused.has(id));
    await waitFor(async () => deliveredIds(emulator).size === good.length && (await depth(dev.sqs.client, dev.sqs.queueUrl)) === 0, 'the good events delivered, the queue empty', 40_000);
    emulator.faults.clear();

    const parked = await drainDlq(dev.sqs.client, dev.sqs.dlqUrl);
    const parkedIds = parked.map((m) => {
      const env = decodeEnvelope(m.Body ?? '');
      if (!env.ok) throw new Error(`a parked message is not an envelope: ${env.message}`);
      return env.envelope.payload.customer_id;
    });
    expect(parkedIds.sort()).toEqual([...bad].sort());
    for (const m of parked) {
      const info = readParkAttributes(m.MessageAttributes);
      expect(info.reason).toBe('moengage_rejected');
      expect(info.status).toBe(400);
      expect(info.detail).toMatchObject({ type: 'InvalidAttributeError', attribute: 'attributes', request_id: expect.any(String) });
    }
    expect([...deliveredIds(emulator)].sort()).toEqual([...good].sort());
    expect(emulator.accepted.some((a) => refused.has(String(a.payload.customer_id)))).toBe(false);
    expect(emulator.stats().byStatus['400']).toBe(bad.length);
  });

  it('the same provider event twice (same id, even re-signed later) reaches MoEngage once: FIFO deduplication', async () => {
    const emulator = dev.emulator!;
    const samples = makeSamples('dup', SOURCE_NAMES.length, 7_300_000_000_000);
    const events = signAll(samples);
    // A provider retry: the same event (id and body), signed again 30 s later (new timestamp and signature).
    const resigned = signAll(samples, new Date(Date.now() + 30_000));
    for (const [i, e] of events.entries()) {
      const again = resigned[i]!;
      expect(again.body).toBe(e.body);
      const statuses = await Promise.all([postSignedRequest(dev.url, e), postSignedRequest(dev.url, e), postSignedRequest(dev.url, again)]);
      expect(statuses.map((s) => s.status)).toEqual([202, 202, 202]);
    }
    await waitFor(async () => deliveredIds(emulator).size === events.length && (await depth(dev.sqs.client, dev.sqs.queueUrl)) === 0, 'the events delivered', 20_000);
    await dev.poller.idle();
    const perUser = new Map<string, number>();
    for (const a of emulator.accepted) perUser.set(String(a.payload.customer_id), (perUser.get(String(a.payload.customer_id)) ?? 0) + 1);
    expect([...perUser.values()]).toEqual(events.map(() => 1));
  });
});

// ---------------------------------------------------------------------------------------------
// Beyond the deduplication window
// ---------------------------------------------------------------------------------------------

describe('a provider event delivered twice without SQS deduplication (a standard queue, or after the 5-minute window)', () => {
  // One local run at a time: startDev puts the handlers' environment in process.env.
  describe('with the state store', () => {
    let dev: DevHandle;
    beforeAll(async () => {
      dev = await startDev({ port: 0, sqsPort: 0, quiet: true, env: {}, queueType: 'standard', visibilityTimeoutSeconds: 2, poller: { waitTimeSeconds: 1 } });
    });
    afterAll(async () => {
      await dev?.stop();
    });

    it('reaches MoEngage once; the second delivery is judged a duplicate', async () => {
      const emulator = dev.emulator!;
      const [event] = makeEvents('win', 1, 0);
      expect((await postSignedRequest(dev.url, event!)).status).toBe(202);
      await waitFor(() => emulator.accepted.length === 1 || undefined, 'the first update');
      expect((await postSignedRequest(dev.url, event!)).status).toBe(202);
      await waitFor(async () => (await depth(dev.sqs.client, dev.sqs.queueUrl)) === 0, 'the second delivery handled');
      await dev.poller.idle();
      expect(emulator.accepted).toHaveLength(1);
      expect(emulator.users().get(event!.customerId)!.updates).toBe(1);
    });
  });

  describe('stateStore false', () => {
    let dev: DevHandle;
    beforeAll(async () => {
      dev = await startDev({ port: 0, sqsPort: 0, quiet: true, env: {}, queueType: 'standard', stateStore: false, visibilityTimeoutSeconds: 2, poller: { waitTimeSeconds: 1 } });
    });
    afterAll(async () => {
      await dev?.stop();
    });

    it('reaches MoEngage twice with identical attributes; the profile is the same as after one update', async () => {
      const emulator = dev.emulator!;
      const [event] = makeEvents('win2', 1, 0);
      expect((await postSignedRequest(dev.url, event!)).status).toBe(202);
      await waitFor(() => emulator.accepted.length === 1 || undefined, 'the first update');
      const afterOne = structuredClone(emulator.users().get(event!.customerId)!.attributes);
      expect((await postSignedRequest(dev.url, event!)).status).toBe(202);
      await waitFor(() => emulator.accepted.length === 2 || undefined, 'the second update');
      const [first, second] = emulator.accepted;
      expect(second!.payload).toEqual(first!.payload);
      const user = emulator.users().get(event!.customerId)!;
      expect(user.updates).toBe(2);
      expect(user.attributes).toEqual(afterOne);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// SQS unavailable to the receiver
// ---------------------------------------------------------------------------------------------

describe('SQS unavailable to the receiver', () => {
  let dev: DevHandle;
  let restarted: LocalSqs | undefined;
  beforeAll(async () => {
    dev = await startDev({ port: 0, sqsPort: 0, quiet: true, env: {}, visibilityTimeoutSeconds: 2, poller: { waitTimeSeconds: 1 } });
  });
  afterAll(async () => {
    await dev?.stop();
    await restarted?.stop();
  });

  it('answers 5xx, never 2xx, while SQS is down; provider-style retries deliver once it is back', async () => {
    const emulator = dev.emulator!;
    const { port, queueType, maxReceiveCount, visibilityTimeoutSeconds, queueUrl } = dev.sqs;
    const events = makeEvents('noq', SOURCE_NAMES.length, 7_400_000_000_000);
    await dev.sqs.stop();

    for (const e of events) {
      const res = await postSignedRequest(dev.url, e);
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body)).toMatchObject({ error: { type: 'queue_unavailable' } });
    }

    // Providers re-POST the same signed webhook with backoff until they get a 2xx.
    let back = false;
    const seen: { status: number; afterRestart: boolean }[][] = events.map(() => []);
    let wake: (() => void) | undefined;
    const failedTwice = () => seen.every((s) => s.filter((x) => x.status >= 500).length >= 2);
    const everyoneFailedTwice = new Promise<void>((resolve) => {
      wake = () => failedTwice() && resolve();
    });
    const retries = events.map(async (e, i) => {
      for (let attempt = 1; attempt <= 30; attempt++) {
        const res = await postSignedRequest(dev.url, e);
        seen[i]!.push({ status: res.status, afterRestart: back });
        wake?.();
        if (res.status >= 200 && res.status < 300) return res.status;
        await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * 2 ** attempt)));
      }
      throw new Error(`event ${i} was never accepted`);
    });
    await everyoneFailedTwice;
    // SQS comes back on the same endpoint (same queue URLs). The poller keeps the client of the
    // stopped instance: the SDK client still opens new connections after destroy().
    restarted = await startLocalSqs({ port, queueType, maxReceiveCount, visibilityTimeoutSeconds });
    expect(restarted.queueUrl).toBe(queueUrl);
    back = true;
    expect(await Promise.all(retries)).toEqual(events.map(() => 202));

    for (const attempts of seen) {
      // Every answer before SQS was back is a 5xx; the only 2xx is the last one.
      expect(attempts.filter((a) => !a.afterRestart).every((a) => a.status === 503)).toBe(true);
      expect(attempts.slice(0, -1).every((a) => a.status === 503)).toBe(true);
      expect(attempts.at(-1)!.status).toBe(202);
    }
    await waitFor(() => deliveredIds(emulator).size === events.length || undefined, 'the retried events at MoEngage');
    expect([...deliveredIds(emulator)].sort()).toEqual(events.map((e) => e.customerId).sort());
    expect(emulator.accepted).toHaveLength(events.length);
  });
});

// ---------------------------------------------------------------------------------------------
// The sender crashes or hangs mid-batch
// ---------------------------------------------------------------------------------------------

describe('a sender that throws or times out mid-batch', () => {
  let dev: DevHandle;
  // The sender only starts a MoEngage call that fits in what is left of the invocation (the
  // request timeout + 1 s), so the request timeout is kept well under the function timeout.
  // A first call needs 3 s of the invocation (deliver.ts, MIN_CALL_BUDGET_MS) and 2 s more to
  // record it in the state table (STATE_WRITE_BUDGET_MS): 7 s leaves room for a loaded machine.
  const FUNCTION_TIMEOUT_MS = 7_000;
  const MOENGAGE_TIMEOUT_MS = 500;
  let postedAll: () => void = () => {};
  const allPosted = new Promise<void>((resolve) => {
    postedAll = resolve;
  });
  const hung: (() => void)[] = [];
  const failures = { crashed: 0, hung: 0 };
  /** customer_ids the real sender delivered inside an invocation that then crashed or hung. */
  const deliveredBeforeFailure: string[] = [];

  /** Hands the first half of the batch to the real sender; returns the customer_ids it delivered. */
  async function deliverHalf(event: SQSEvent, context: Context): Promise<void> {
    const half = event.Records.slice(0, Math.ceil(event.Records.length / 2));
    const res = await realSender({ Records: half }, context);
    const failed = new Set(res.batchItemFailures.map((f) => f.itemIdentifier));
    for (const r of half) {
      const d = decodeEnvelope(r.body);
      if (!failed.has(r.messageId) && d.ok && d.envelope.payload.customer_id) deliveredBeforeFailure.push(d.envelope.payload.customer_id);
    }
  }

  /** Crashes (twice), then hangs past the timeout (twice), after delivering half of a multi-record batch; otherwise the real sender. */
  const flakySender = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    await allPosted; // so that batches hold several records
    const multi = event.Records.length >= 2;
    if (multi && failures.crashed < 2) {
      failures.crashed++;
      await deliverHalf(event, context);
      throw new Error('simulated crash in the middle of the batch');
    }
    if (multi && failures.hung < 2) {
      failures.hung++;
      await deliverHalf(event, context);
      await new Promise<void>((resolve) => hung.push(resolve)); // never answers: the poller's timeout fires
      return { batchItemFailures: [] };
    }
    return realSender(event, context);
  };

  beforeAll(async () => {
    dev = await startDev({
      port: 0,
      sqsPort: 0,
      quiet: true,
      env: { [ENV.moengageTimeoutMs]: String(MOENGAGE_TIMEOUT_MS) },
      visibilityTimeoutSeconds: 9,
      maxReceiveCount: 100,
      poller: { waitTimeSeconds: 1, functionTimeoutMs: FUNCTION_TIMEOUT_MS, maxConcurrency: 2 },
      handlers: { sender: flakySender },
    });
  });
  afterAll(async () => {
    for (const release of hung.splice(0)) release();
    await dev?.stop();
  });

  it('the messages come back by SQS semantics and all are delivered', async () => {
    const emulator = dev.emulator!;
    const events = makeEvents('crash', 60, 7_500_000_000_000);
    const statuses = await postAll(dev.url, events, 20);
    postedAll();
    expect(statuses.every((s) => s === 202)).toBe(true);

    await waitFor(async () => deliveredIds(emulator).size === events.length && (await depth(dev.sqs.client, dev.sqs.queueUrl)) === 0, 'every event delivered', 40_000);
    expect([...deliveredIds(emulator)].sort()).toEqual(events.map((e) => e.customerId).sort());
    expect(await depth(dev.sqs.client, dev.sqs.dlqUrl)).toBe(0);

    expect(failures).toEqual({ crashed: 2, hung: 2 });
    expect(dev.poller.counters.errors).toBeGreaterThanOrEqual(2);
    expect(dev.poller.counters.timeouts).toBeGreaterThanOrEqual(2);
    // What a failed invocation had already delivered (and recorded in the state table) comes back
    // by SQS semantics and is judged a duplicate: never lost, and not sent again.
    expect(deliveredBeforeFailure.length).toBeGreaterThan(0);
    for (const id of deliveredBeforeFailure) expect(emulator.accepted.filter((a) => a.payload.customer_id === id)).toHaveLength(1);
  });
});
