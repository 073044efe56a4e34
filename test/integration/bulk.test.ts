/**
 * Bulk Import mode end to end in the local run: the real receiver and sender handlers,
 * fauxqs, the poller with its batching window, and the MoEngage emulator.
 *
 * Determinism: the sender is held behind a gate while a test posts its webhooks, so every
 * message is on the queue before delivery starts. Batches formed while posting are held too;
 * once the gate opens the rest is gathered by one batching window. So the number of Bulk
 * Import requests does not depend on timing beyond "at most three".
 */
import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/config';
import { DLQ_ATTRIBUTES } from '../../functions/core/dlq';
import { decodeEnvelope } from '../../functions/core/envelope';
import { MAX_BULK_REQUEST_BYTES } from '../../functions/core/moengage/limits';
import { BULK_STANDARD_BATCH_SIZE, BULK_STANDARD_BATCHING_WINDOW_MS, resolveBatching, startDev, type DevHandle } from '../../local/dev';
import type { AcceptedRecord, PayloadValidator } from '../../local/moengage-emulator';
import { checkBatching, MAX_INVOCATION_PAYLOAD_BYTES, MAX_MESSAGE_BYTES, nextReceiveCount, startPoller, type Poller, type SqsHandler } from '../../local/poller';
import { buildSignedSample, postSignedRequest, type SignedRequest } from '../../local/samples';
import { startLocalSqs, type LocalSqs } from '../../local/sqs';
import { waitFor } from '../helpers/wait';

const BAD_USER = 'user_rejected_by_moengage';

/** A user id valid for `source` (Shopify's are numeric). */
function userId(source: 'clerk' | 'stripe' | 'shopify' | 'segment', tag: string, i: number): string {
  return source === 'shopify' ? String(7_100_000_000_000 + tag.length * 1_000_000 + i) : `${tag}_${i}`;
}

function traffic(tag: string, n: number): SignedRequest[] {
  const sources = ['clerk', 'stripe', 'shopify', 'segment'] as const;
  return Array.from({ length: n }, (_, i) => {
    const source = sources[i % sources.length] ?? 'clerk';
    return buildSignedSample(source, { user: { id: userId(source, tag, i), email: `${tag}.${i}@example.com` } });
  });
}

/** Posts with at most 8 in flight; every one must be answered 202. */
async function postAll(dev: DevHandle, requests: SignedRequest[]): Promise<void> {
  let next = 0;
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < requests.length) {
        const req = requests[next++] as SignedRequest;
        statuses.push((await postSignedRequest(dev.url, req)).status);
      }
    }),
  );
  expect(statuses.filter((s) => s !== 202)).toEqual([]);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The sender handler behind a gate; records the size of every invocation. */
function gatedSender() {
  let gate = deferred();
  const batchSizes: number[] = [];
  let real: SqsHandler | undefined;
  const handler: SqsHandler = async (event: SQSEvent, context: Context) => {
    real ??= ((await import('../../functions/sender/handler')) as unknown as { handler: SqsHandler }).handler;
    await gate.promise;
    batchSizes.push(event.Records.length);
    return real(event, context);
  };
  return {
    handler,
    batchSizes,
    close: () => {
      gate = deferred();
    },
    open: () => gate.resolve(),
  };
}

/** Accepted records grouped by MoEngage request. */
function byRequest(records: readonly AcceptedRecord[]): Map<string, AcceptedRecord[]> {
  const out = new Map<string, AcceptedRecord[]>();
  for (const r of records) out.set(r.requestId, [...(out.get(r.requestId) ?? []), r]);
  return out;
}

async function drainDlq(dev: DevHandle) {
  const out: { customerId: unknown; reason: string | undefined }[] = [];
  for (;;) {
    const res = await dev.sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: dev.sqs.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'], VisibilityTimeout: 60 }),
    );
    const messages = res.Messages ?? [];
    if (messages.length === 0) return out;
    for (const m of messages) {
      const decoded = decodeEnvelope(m.Body ?? '');
      out.push({
        customerId: decoded.ok ? decoded.envelope.payload.customer_id : undefined,
        reason: m.MessageAttributes?.[DLQ_ATTRIBUTES.reason]?.StringValue,
      });
    }
  }
}

const rejectOneUser: PayloadValidator = (payload) => {
  if (typeof payload === 'object' && payload !== null && (payload as { customer_id?: unknown }).customer_id === BAD_USER) {
    return { ok: false, field: 'attributes', message: 'refused by this test for one particular user' };
  }
  return { ok: true };
};

describe('bulk mode on a standard queue (batching window)', () => {
  let dev: DevHandle;
  const sender = gatedSender();

  beforeAll(async () => {
    dev = await startDev({
      port: 0,
      sqsPort: 0,
      quiet: true,
      // No QUEUE_TYPE: bulk mode alone picks the standard queue, as the construct does.
      env: { MOENGAGE_DELIVERY_MODE: 'bulk' },
      handlers: { sender: sender.handler },
      emulator: { validate: rejectOneUser },
      poller: { waitTimeSeconds: 1 },
    });
  });
  afterAll(async () => {
    sender.open();
    await dev?.stop();
  });
  beforeEach(() => {
    dev.emulator!.reset();
    sender.batchSizes.length = 0;
    sender.close();
  });
  afterEach(() => sender.open());

  it('bulk mode alone: a standard queue, batches of up to 100 with a 1 s window (the construct\'s defaults)', () => {
    expect(dev.status()).toMatchObject({ deliveryMode: 'bulk', queueType: 'standard', batchSize: BULK_STANDARD_BATCH_SIZE, batchingWindowMs: BULK_STANDARD_BATCHING_WINDOW_MS });
    expect([BULK_STANDARD_BATCH_SIZE, BULK_STANDARD_BATCHING_WINDOW_MS]).toEqual([100, 1_000]);
  });

  it('packs 30 users into a few Bulk Import requests, each under 100,000 bytes', async () => {
    const requests = traffic('bulk30', 30);
    await postAll(dev, requests);
    sender.open();
    const emulator = dev.emulator!;
    await waitFor(() => emulator.users().size === 30 || undefined, 'all 30 users at MoEngage');

    const accepted = emulator.accepted;
    expect(new Set(accepted.map((a) => a.payload.customer_id))).toEqual(new Set(requests.map((r) => r.customerId)));
    expect(accepted).toHaveLength(30);
    for (const a of accepted) {
      expect(a.api).toBe('bulk');
      expect(a.path).toBe(`/v1/transition/${emulator.workspaceId}?app_id=${emulator.workspaceId}`);
    }
    const groups = byRequest(accepted);
    expect(groups.size).toBeLessThanOrEqual(3);
    expect(Math.max(...[...groups.values()].map((g) => g.length))).toBeGreaterThanOrEqual(10);
    for (const g of groups.values()) {
      const length = Number(g[0]?.headers['content-length']);
      expect(length).toBeGreaterThan(0);
      expect(length).toBeLessThan(MAX_BULK_REQUEST_BYTES);
    }
    // More than 10 messages reached one invocation: the batching window gathered them.
    expect(Math.max(...sender.batchSizes)).toBeGreaterThan(10);
    expect(emulator.stats().byStatus).toEqual({ '200': groups.size });
    expect(await drainDlq(dev)).toEqual([]);
  });

  it('a 400 on the Bulk Import request: its users are delivered by Track User calls, none parked', async () => {
    const requests = traffic('bulk400', 12);
    await postAll(dev, requests);
    dev.emulator!.faults.push({ status: 400 });
    sender.open();
    const emulator = dev.emulator!;
    await waitFor(() => emulator.users().size === 12 || undefined, 'all 12 users at MoEngage');
    await waitFor(() => dev.poller.counters.inFlight === 0 || undefined, 'the batch to settle');

    const accepted = emulator.accepted;
    expect(accepted).toHaveLength(12); // each user exactly once
    expect(emulator.stats().byStatus['400']).toBe(1);
    // The refused request's users came through /v1/customer/ one by one.
    const perUser = accepted.filter((a) => a.api === 'customer');
    expect(perUser.length).toBeGreaterThan(0);
    expect(new Set(perUser.map((a) => a.requestId)).size).toBe(perUser.length);
    expect(await drainDlq(dev)).toEqual([]);
  });

  it('one user MoEngage refuses: the good users of its request are delivered, only that one is parked', async () => {
    const good = traffic('bulkbad', 10);
    const bad = buildSignedSample('clerk', { user: { id: BAD_USER } });
    await postAll(dev, [...good.slice(0, 5), bad, ...good.slice(5)]);
    sender.open();
    const emulator = dev.emulator!;
    // Isolating the refused user costs a Bulk Import call and 11 Track User calls: generous on a loaded machine.
    await waitFor(() => emulator.users().size === 10 || undefined, 'the 10 good users at MoEngage', 60_000);
    let parked: Awaited<ReturnType<typeof drainDlq>> = [];
    await waitFor(async () => {
      parked = [...parked, ...(await drainDlq(dev))];
      return parked.length >= 1 || undefined;
    }, 'the refused user in the DLQ', 60_000);
    await waitFor(() => dev.poller.counters.inFlight === 0 || undefined, 'the batch to settle');

    expect(new Set(emulator.accepted.map((a) => a.payload.customer_id))).toEqual(new Set(good.map((r) => r.customerId)));
    expect(emulator.users().has(BAD_USER)).toBe(false);
    expect(emulator.stats().byStatus['400']).toBeGreaterThanOrEqual(2); // the bulk request, then the user's own call
    expect([...parked, ...(await drainDlq(dev))]).toEqual([{ customerId: BAD_USER, reason: 'moengage_rejected' }]);
  });
});

describe('bulk mode on a FIFO queue', () => {
  let dev: DevHandle;
  beforeAll(async () => {
    dev = await startDev({ port: 0, sqsPort: 0, quiet: true, queueType: 'fifo', env: { MOENGAGE_DELIVERY_MODE: 'bulk' }, poller: { waitTimeSeconds: 1 } });
  });
  afterAll(async () => {
    await dev?.stop();
  });

  it('delivers through Bulk Import requests, batches of at most 10, no window', async () => {
    expect(dev.status()).toMatchObject({ queueType: 'fifo', batchSize: 10, batchingWindowMs: 0 });
    const requests = traffic('fifobulk', 8);
    await postAll(dev, requests);
    const emulator = dev.emulator!;
    await waitFor(() => emulator.users().size === 8 || undefined, 'all 8 users at MoEngage');
    expect(emulator.accepted.every((a) => a.api === 'bulk' && a.path.startsWith(`/v1/transition/${emulator.workspaceId}?`))).toBe(true);
    expect(new Set(emulator.accepted.map((a) => a.payload.customer_id))).toEqual(new Set(requests.map((r) => r.customerId)));
  });
});

describe('batch size and batching window', () => {
  it('local run defaults and overrides', () => {
    expect(resolveBatching({}, {}, 'standard', 'bulk')).toEqual({ batchSize: 100, batchingWindowMs: 1_000 });
    expect(resolveBatching({}, {}, 'standard', 'customer')).toEqual({ batchSize: 10, batchingWindowMs: 0 });
    expect(resolveBatching({}, {}, 'fifo', 'bulk')).toEqual({ batchSize: 10, batchingWindowMs: 0 });
    expect(resolveBatching({}, { SENDER_BATCH_SIZE: '250', SENDER_BATCHING_WINDOW_MS: '2000' }, 'standard', 'bulk')).toEqual({ batchSize: 250, batchingWindowMs: 2000 });
    expect(resolveBatching({ poller: { batchSize: 40 } }, { SENDER_BATCH_SIZE: '250' }, 'standard', 'bulk')).toEqual({ batchSize: 40, batchingWindowMs: 1_000 });
    expect(() => resolveBatching({}, { SENDER_BATCH_SIZE: '20' }, 'fifo', 'bulk')).toThrow(ConfigError);
    expect(() => resolveBatching({}, { SENDER_BATCHING_WINDOW_MS: '500' }, 'fifo', 'customer')).toThrow(/FIFO queue has no batching window/);
    expect(() => resolveBatching({}, { SENDER_BATCHING_WINDOW_MS: '0' }, 'standard', 'bulk')).toThrow(/needs a batching window/);
    expect(() => resolveBatching({}, { SENDER_BATCH_SIZE: 'ten' }, 'standard', 'bulk')).toThrow(/SENDER_BATCH_SIZE/);
  });

  it('startDev refuses a FIFO batching window before starting anything', async () => {
    await expect(startDev({ port: 0, sqsPort: 0, quiet: true, queueType: 'fifo', env: { SENDER_BATCHING_WINDOW_MS: '500' } })).rejects.toThrow(ConfigError);
  });

  it('checks like an event source mapping', () => {
    expect(() => checkBatching(true, 10, 0)).not.toThrow();
    expect(() => checkBatching(true, 11, 0)).toThrow(/1\.\.10/);
    expect(() => checkBatching(false, 10_000, 300_000)).not.toThrow();
    expect(() => checkBatching(false, 10_001, 1000)).toThrow();
    expect(() => checkBatching(false, 5, 300_001)).toThrow();
  });

  it('asks each receive for no more than the batch lacks, 10, or what keeps the event under 6 MB', () => {
    expect(nextReceiveCount(0, 0, 100)).toBe(10);
    expect(nextReceiveCount(95, 0, 100)).toBe(5);
    expect(nextReceiveCount(100, 0, 100)).toBe(0);
    // Room for exactly 3 more messages of the largest size.
    expect(nextReceiveCount(10, MAX_INVOCATION_PAYLOAD_BYTES - 3 * MAX_MESSAGE_BYTES, 100)).toBe(3);
    expect(nextReceiveCount(10, MAX_INVOCATION_PAYLOAD_BYTES - MAX_MESSAGE_BYTES + 1, 100)).toBe(0);
  });
});

describe('poller batching window on a standard queue', () => {
  let sqs: LocalSqs;
  let poller: Poller | undefined;
  beforeAll(async () => {
    sqs = await startLocalSqs({ port: 0, queueType: 'standard', visibilityTimeoutSeconds: 30 });
  });
  afterEach(async () => {
    await poller?.stop();
    poller = undefined;
  });
  afterAll(async () => {
    await sqs?.stop();
  });

  async function send(n: number, tag: string): Promise<void> {
    for (let i = 0; i < n; i += 10) {
      const entries = Array.from({ length: Math.min(10, n - i) }, (_, j) => ({ Id: String(j), MessageBody: `${tag}-${i + j}` }));
      const out = await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: sqs.queueUrl, Entries: entries }));
      expect(out.Failed ?? []).toEqual([]);
    }
  }

  it('gathers messages beyond 10 into one invocation until the window ends', async () => {
    await send(25, 'w');
    const events: SQSEvent[] = [];
    poller = startPoller({
      client: sqs.client,
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      batchSize: 100,
      maximumBatchingWindowMs: 300,
      waitTimeSeconds: 0,
      handler: async (event) => {
        events.push(event);
      },
    });
    await waitFor(() => poller!.counters.deleted === 25 || undefined, 'the 25 messages');
    expect(events.map((e) => e.Records.length)).toEqual([25]);
    expect(new Set(events[0]!.Records.map((r) => r.body)).size).toBe(25);
    expect(poller.counters.receiveCalls).toBeGreaterThanOrEqual(3);
    expect(poller.counters.deleteCalls).toBe(3);
  });

  it('invokes as soon as the batch is full', async () => {
    await send(25, 'f');
    const sizes: number[] = [];
    poller = startPoller({
      client: sqs.client,
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      batchSize: 12,
      // Long enough that only a full batch explains the invocations.
      maximumBatchingWindowMs: 60_000,
      waitTimeSeconds: 0,
      maxConcurrency: 1,
      handler: async (event) => {
        sizes.push(event.Records.length);
      },
    });
    await waitFor(() => sizes.length >= 2 || undefined, 'two full batches');
    expect(sizes.slice(0, 2)).toEqual([12, 12]);
  });
});
