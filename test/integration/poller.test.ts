import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createLambdaContext,
  interpretBatchResponse,
  startPoller,
  toLambdaMessageAttributes,
  toSqsRecord,
  type Poller,
  type SqsHandler,
} from '../../local/poller';
import { startLocalSqs, type LocalSqs } from '../../local/sqs';

/** Resolves once `check()` holds; fails after `timeoutMs` (a bound, not a timing assumption). */
async function until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

async function sendFifo(sqs: LocalSqs, body: string, group: string, dedup: string, attrs: Record<string, string> = {}): Promise<string> {
  const out = await sqs.client.send(
    new SendMessageCommand({
      QueueUrl: sqs.queueUrl,
      MessageBody: body,
      MessageGroupId: group,
      MessageDeduplicationId: dedup,
      MessageAttributes: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])),
    }),
  );
  return out.MessageId ?? '';
}

async function queueCounts(sqs: LocalSqs): Promise<{ visible: number; inFlight: number }> {
  const out = await sqs.client.send(
    new GetQueueAttributesCommand({
      QueueUrl: sqs.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? NaN),
    inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? NaN),
  };
}

const running: { poller?: Poller; sqs?: LocalSqs }[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.poller?.stop();
    await r.sqs?.stop();
  }
});

async function setup(visibilityTimeoutSeconds: number, handler: SqsHandler, extra: Partial<Parameters<typeof startPoller>[0]> = {}) {
  const sqs = await startLocalSqs({ port: 0, queueType: 'fifo', maxReceiveCount: 5, visibilityTimeoutSeconds });
  const entry: { poller?: Poller; sqs?: LocalSqs } = { sqs };
  running.push(entry);
  const start = () => {
    entry.poller = startPoller({
      client: sqs.client,
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      handler,
      waitTimeSeconds: 1,
      ...extra,
    });
    return entry.poller;
  };
  return { sqs, start };
}

describe('poller: Lambda SQS event source mapping behaviour', () => {
  it('builds a real-shaped SQSEvent and Context, and on a partial batch response deletes only the successes', async () => {
    const events: SQSEvent[] = [];
    const contexts: Context[] = [];
    let failIds: string[] = [];
    const { sqs, start } = await setup(60, async (event, context) => {
      events.push(event);
      contexts.push(context);
      return { batchItemFailures: failIds.map((id) => ({ itemIdentifier: id })) };
    });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await sendFifo(sqs, `{"n":${i}}`, `group-${i}`, `dedup-${i}`, { source: 'clerk' }));
    failIds = [ids[1]!, ids[3]!];

    const poller = start();
    await until(() => poller.counters.batches >= 1 && poller.counters.inFlight === 0, 10_000, 'the batch');
    await poller.idle();

    expect(events).toHaveLength(1);
    const records = events[0]!.Records;
    expect(records.map((r) => r.messageId).sort()).toEqual([...ids].sort());
    const r0 = records.find((r) => r.messageId === ids[0])!;
    expect(r0).toMatchObject({
      body: '{"n":0}',
      eventSource: 'aws:sqs',
      eventSourceARN: sqs.queueArn,
      awsRegion: 'us-east-1',
      md5OfBody: expect.stringMatching(/^[0-9a-f]{32}$/),
      receiptHandle: expect.any(String),
      attributes: {
        ApproximateReceiveCount: '1',
        MessageGroupId: 'group-0',
        MessageDeduplicationId: 'dedup-0',
        SequenceNumber: expect.stringMatching(/^\d+$/),
        SentTimestamp: expect.stringMatching(/^\d+$/),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d+$/),
        SenderId: expect.any(String),
      },
      messageAttributes: { source: { stringValue: 'clerk', stringListValues: [], binaryListValues: [], dataType: 'String' } },
    });
    const ctx = contexts[0]!;
    // Only what is true locally: no function ARN, memory limit or log group.
    expect(ctx.functionName).toBe('');
    expect(ctx.invokedFunctionArn).toBe('');
    expect(ctx.memoryLimitInMB).toBe('');
    expect(ctx.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ctx.getRemainingTimeInMillis()).toBeLessThanOrEqual(30_000);

    expect(poller.counters).toMatchObject({ batches: 1, received: 5, deleted: 3, failed: 2, errors: 0, timeouts: 0, inFlight: 0 });
    // The two reported failures stay on the queue (invisible until their visibility timeout ends).
    expect(await queueCounts(sqs)).toEqual({ visible: 0, inFlight: 2 });
  });

  it('deletes nothing when the handler throws: the batch comes back after the visibility timeout', async () => {
    const seenCounts: string[] = [];
    const redelivered = deferred();
    const reported: string[] = [];
    const { sqs, start } = await setup(
      1,
      async (event) => {
        const count = event.Records[0]?.attributes.ApproximateReceiveCount ?? '?';
        seenCounts.push(count);
        if (count === '1') throw new Error('MoEngage is down');
        redelivered.resolve();
        return { batchItemFailures: [] };
      },
      { onError: (_err, where) => reported.push(where) },
    );
    await sendFifo(sqs, 'retry-me', 'g-throw', 'throw-1');
    const poller = start();
    await redelivered.promise;
    await until(() => poller.counters.deleted === 1, 5_000, 'the delete');
    expect(seenCounts).toEqual(['1', '2']);
    expect(poller.counters).toMatchObject({ batches: 2, received: 2, deleted: 1, failed: 1, errors: 1 });
    expect(reported).toEqual(['handler']);
    expect(await queueCounts(sqs)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('treats a handler running past functionTimeoutMs as a failed batch (nothing deleted, redelivered)', async () => {
    const gate = deferred();
    const second = deferred();
    const reported: string[] = [];
    let calls = 0;
    let remainingAtStart = Number.NaN;
    const { sqs, start } = await setup(
      1,
      async (_event, context) => {
        calls++;
        if (calls === 1) {
          remainingAtStart = context.getRemainingTimeInMillis();
          await gate.promise; // hangs past the 300 ms timeout
          return undefined;
        }
        second.resolve();
        return undefined; // an empty response: the whole batch succeeded
      },
      { functionTimeoutMs: 300, onError: (_err, where) => reported.push(where) },
    );
    await sendFifo(sqs, 'slow', 'g-slow', 'slow-1');
    const poller = start();
    await second.promise;
    gate.resolve();
    await until(() => poller.counters.deleted === 1, 5_000, 'the delete');
    expect(poller.counters).toMatchObject({ batches: 2, timeouts: 1, deleted: 1, failed: 1 });
    expect(reported).toEqual(['timeout']);
    expect(remainingAtStart).toBeGreaterThan(0);
    expect(remainingAtStart).toBeLessThanOrEqual(300);
  });

  it('FIFO: never has two batches of the same message group in flight, while other groups run concurrently', async () => {
    const gateA = deferred();
    const bHandled = deferred();
    const aSecondDone = deferred();
    const active = new Map<string, number>();
    let maxActivePerGroup = 0;
    const log: string[] = [];
    const { sqs, start } = await setup(
      1,
      async (event) => {
        const groups = [...new Set(event.Records.map((r) => r.attributes.MessageGroupId ?? ''))];
        for (const g of groups) {
          active.set(g, (active.get(g) ?? 0) + 1);
          maxActivePerGroup = Math.max(maxActivePerGroup, active.get(g) ?? 0);
        }
        try {
          for (const r of event.Records) log.push(`start ${r.body} #${r.attributes.ApproximateReceiveCount}`);
          if (groups.includes('gA') && event.Records.some((r) => r.attributes.ApproximateReceiveCount === '1')) {
            await gateA.promise;
          }
          if (groups.includes('gB')) bHandled.resolve();
          if (event.Records.some((r) => r.body === 'A' && r.attributes.ApproximateReceiveCount === '2')) aSecondDone.resolve();
          for (const r of event.Records) log.push(`end ${r.body} #${r.attributes.ApproximateReceiveCount}`);
          return { batchItemFailures: [] };
        } finally {
          for (const g of groups) active.set(g, (active.get(g) ?? 1) - 1);
        }
      },
      { maxConcurrency: 2, functionTimeoutMs: 20_000 },
    );
    await sendFifo(sqs, 'A', 'gA', 'a-1');
    const poller = start();
    await until(() => log.includes('start A #1'), 5_000, 'A to start');

    // Another group runs while A is still in flight.
    await sendFifo(sqs, 'B', 'gB', 'b-1');
    await bHandled.promise;
    expect(log).not.toContain('end A #1');

    // A's visibility timeout (1 s) expires while its first invocation still runs: SQS hands A
    // out again; the poller must hold that batch until the first one finished.
    await until(() => poller.counters.received >= 3, 10_000, 'the redelivery of A');
    expect(log.filter((l) => l.startsWith('start A'))).toEqual(['start A #1']);

    gateA.resolve();
    await aSecondDone.promise;
    expect(maxActivePerGroup).toBe(1);
    const endA1 = log.indexOf('end A #1');
    const startA2 = log.indexOf('start A #2');
    expect(endA1).toBeGreaterThanOrEqual(0);
    expect(startA2).toBeGreaterThan(endA1);
  });

  it('a batching window of many empty receives leaves no listener behind (no MaxListenersExceededWarning)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const handled = deferred();
      // A batching window needs a standard queue (as on AWS).
      const sqs = await startLocalSqs({ port: 0, queueType: 'standard', maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
      const entry: { poller?: Poller; sqs?: LocalSqs } = { sqs };
      running.push(entry);
      await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl, MessageBody: 'x' }));
      const poller = startPoller({
        client: sqs.client,
        queueUrl: sqs.queueUrl,
        queueArn: sqs.queueArn,
        handler: async () => {
          handled.resolve();
          return { batchItemFailures: [] };
        },
        waitTimeSeconds: 1,
        batchSize: 10,
        maximumBatchingWindowMs: 300,
        batchingPollIntervalMs: 1,
      });
      entry.poller = poller;
      await handled.promise;
      await until(() => poller.counters.deleted === 1, 10_000, 'the delete');
      // Each empty receive of the window waited on the poller's abort signal (hundreds of them).
      expect(poller.counters.receiveCalls).toBeGreaterThan(20);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('stop() resolves after the in-flight batch finishes and receives nothing more', async () => {
    const gate = deferred();
    const started = deferred();
    let finished = false;
    const { sqs, start } = await setup(30, async () => {
      started.resolve();
      await gate.promise;
      finished = true;
      return { batchItemFailures: [] };
    });
    await sendFifo(sqs, 'x', 'g-stop', 'stop-1');
    const poller = start();
    await started.promise;
    const stopping = poller.stop();
    gate.resolve();
    await stopping;
    expect(finished).toBe(true);
    expect(poller.counters).toMatchObject({ deleted: 1, inFlight: 0 });
    await sendFifo(sqs, 'y', 'g-stop-2', 'stop-2');
    expect(await queueCounts(sqs)).toEqual({ visible: 1, inFlight: 0 });
  });
});

describe('poller: pure parts', () => {
  it('interprets partial batch responses like the event source mapping', () => {
    const ids = new Set(['m1', 'm2']);
    expect(interpretBatchResponse(undefined, ids)).toEqual({ kind: 'ok', failedIds: new Set() });
    expect(interpretBatchResponse(null, ids)).toEqual({ kind: 'ok', failedIds: new Set() });
    expect(interpretBatchResponse({}, ids)).toEqual({ kind: 'ok', failedIds: new Set() });
    expect(interpretBatchResponse({ batchItemFailures: null }, ids)).toEqual({ kind: 'ok', failedIds: new Set() });
    expect(interpretBatchResponse({ batchItemFailures: [] }, ids)).toEqual({ kind: 'ok', failedIds: new Set() });
    expect(interpretBatchResponse({ batchItemFailures: [{ itemIdentifier: 'm2' }] }, ids)).toEqual({ kind: 'ok', failedIds: new Set(['m2']) });
    // Complete failures: an unknown id, an empty or null id, a bad key, a non-object answer.
    expect(interpretBatchResponse({ batchItemFailures: [{ itemIdentifier: 'nope' }] }, ids)).toEqual({ kind: 'failed' });
    expect(interpretBatchResponse({ batchItemFailures: [{ itemIdentifier: '' }] }, ids)).toEqual({ kind: 'failed' });
    expect(interpretBatchResponse({ batchItemFailures: [{ itemIdentifier: null }] }, ids)).toEqual({ kind: 'failed' });
    expect(interpretBatchResponse({ batchItemFailures: [{ id: 'm1' }] }, ids)).toEqual({ kind: 'failed' });
    expect(interpretBatchResponse({ batchItemFailures: 'm1' }, ids)).toEqual({ kind: 'failed' });
    expect(interpretBatchResponse('ok', ids)).toEqual({ kind: 'failed' });
  });

  it('converts SQS messages to Lambda records (binary attributes base64, lists present)', () => {
    const attrs = toLambdaMessageAttributes({
      s: { DataType: 'String', StringValue: 'v' },
      n: { DataType: 'Number', StringValue: '3' },
      b: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 255]) },
    });
    expect(attrs).toEqual({
      s: { stringValue: 'v', stringListValues: [], binaryListValues: [], dataType: 'String' },
      n: { stringValue: '3', stringListValues: [], binaryListValues: [], dataType: 'Number' },
      b: { binaryValue: 'AQL/', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
    });
    const record: SQSRecord = toSqsRecord(
      { MessageId: 'id1', ReceiptHandle: 'rh', Body: 'b', MD5OfBody: 'md5', Attributes: { ApproximateReceiveCount: '3', SentTimestamp: '10', SenderId: 'S', ApproximateFirstReceiveTimestamp: '11' } },
      'arn:aws:sqs:eu-west-1:1:q',
      'eu-west-1',
    );
    expect(record).toEqual({
      messageId: 'id1',
      receiptHandle: 'rh',
      body: 'b',
      attributes: { ApproximateReceiveCount: '3', SentTimestamp: '10', SenderId: 'S', ApproximateFirstReceiveTimestamp: '11' },
      messageAttributes: {},
      md5OfBody: 'md5',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:1:q',
      awsRegion: 'eu-west-1',
    });
  });

  it('Context.getRemainingTimeInMillis counts down from the function timeout on the injected clock', () => {
    let t = 5_000;
    const ctx = createLambdaContext({ functionName: 'f', timeoutMs: 30_000, now: () => t });
    expect(ctx.getRemainingTimeInMillis()).toBe(30_000);
    t += 12_345;
    expect(ctx.getRemainingTimeInMillis()).toBe(17_655);
    t += 60_000;
    expect(ctx.getRemainingTimeInMillis()).toBe(0);
    expect(() => ctx.succeed('x')).toThrow(/not supported/);
  });
});
