/**
 * Feeds a Lambda SQS handler from a queue the way the Lambda SQS event source mapping does:
 * ReceiveMessage (all system and message attributes) → a real-shaped SQSEvent and Context →
 * `handler(event, context)` → partial batch response handling:
 *
 * - `{ batchItemFailures }` lists the failures: every other message is deleted;
 * - an empty/absent/null response or list: the whole batch succeeded, every message is deleted;
 * - a throw, a timeout (functionTimeoutMs) or an invalid response (unknown / empty / null
 *   itemIdentifier): the whole batch failed, nothing is deleted and the messages come back
 *   after the visibility timeout;
 * - FIFO: no two batches holding the same message group are ever in flight at once.
 * - Standard queues with a batching window (`maximumBatchingWindowMs`): like the event source
 *   mapping's MaximumBatchingWindowInSeconds, the poller keeps receiving (10 messages per
 *   ReceiveMessage) from the first message on, until `batchSize` messages are gathered, the
 *   window elapsed, or one more receive could push the event past Lambda's 6 MB invocation
 *   payload; then it invokes once with the whole batch. FIFO queues stay at ≤ 10 per batch
 *   and have no window (as on AWS).
 *
 * Local run and tests only.
 */
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void | null | undefined>;

export interface PollerOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsHandler;
  /**
   * Messages per invocation. Default 10. FIFO: 1..10. Standard: 1..10,000; above 10 needs a
   * batching window (as on AWS).
   */
  batchSize?: number;
  /**
   * Standard queues only: how long to keep gathering a batch after its first message, in ms
   * (0..300,000). Default 0: one ReceiveMessage per batch.
   */
  maximumBatchingWindowMs?: number;
  /** Pause between two empty receives while a batching window is open. Default 20 ms. */
  batchingPollIntervalMs?: number;
  /** Long-poll wait; short so that stop() is quick. Default 1. */
  waitTimeSeconds?: number;
  /** The Lambda timeout. Default 30,000. */
  functionTimeoutMs?: number;
  /** Concurrent invocations. Default 2. */
  maxConcurrency?: number;
  /** Default us-east-1. */
  region?: string;
  /** The Context's functionName. Default: none (the logs name the service already). */
  functionName?: string;
  /** Longest wait of stop() for in-flight batches. Default 5,000. */
  stopTimeoutMs?: number;
  /** Receive/delete failures, handler throws and timeouts. */
  onError?: (error: unknown, where: 'receive' | 'handler' | 'timeout' | 'delete' | 'response') => void;
  /** Injectable clock (epoch ms), for getRemainingTimeInMillis. */
  now?: () => number;
}

export interface PollerCounters {
  /** Handler invocations. */
  batches: number;
  /** Messages received. */
  received: number;
  /** ReceiveMessage calls (empty ones included). */
  receiveCalls: number;
  /** DeleteMessageBatch calls. */
  deleteCalls: number;
  /** Messages deleted after a (partially) successful batch. */
  deleted: number;
  /** Messages left on the queue: reported failures plus whole failed batches. */
  failed: number;
  /** Handler invocations that threw. */
  errors: number;
  /** Handler invocations that ran past functionTimeoutMs. */
  timeouts: number;
  /** Batches currently being handled. */
  inFlight: number;
}

export interface Poller {
  readonly counters: Readonly<PollerCounters>;
  /**
   * Resolves once a ReceiveMessage that started after this call came back empty while
   * nothing was in flight (the queue is drained as far as this consumer can see).
   */
  idle(): Promise<void>;
  /** Stops receiving; resolves once in-flight batches finished (or stopTimeoutMs passed). */
  stop(): Promise<void>;
}

/** Lambda's shape of a message attribute. */
export function toLambdaMessageAttributes(attrs: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attrs ?? {})) {
    out[name] = {
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
      dataType: value.DataType ?? 'String',
    };
  }
  return out;
}

/** One SQS message as the record of a Lambda SQS event. */
export function toSqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const a = message.Attributes ?? {};
  const attributes: SQSRecordAttributes = {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
    SentTimestamp: a.SentTimestamp ?? String(Date.now()),
    SenderId: a.SenderId ?? '000000000000',
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? a.SentTimestamp ?? String(Date.now()),
    ...(a.SequenceNumber !== undefined ? { SequenceNumber: a.SequenceNumber } : {}),
    ...(a.MessageGroupId !== undefined ? { MessageGroupId: a.MessageGroupId } : {}),
    ...(a.MessageDeduplicationId !== undefined ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
    ...(a.AWSTraceHeader !== undefined ? { AWSTraceHeader: a.AWSTraceHeader } : {}),
  };
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes,
    messageAttributes: toLambdaMessageAttributes(message.MessageAttributes),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes !== undefined ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * A Lambda Context whose getRemainingTimeInMillis counts down from `timeoutMs`. It holds only
 * what is true of a local invocation: its own request id and the timeout. There is no function
 * ARN, memory limit or log group here, so those fields are empty, and the Powertools logger
 * leaves empty fields out of its lines: a sender line keeps `function_request_id`, which tells
 * the invocations apart. (`cold_start` is the logger's own; it is false outside Lambda, and
 * setting AWS_LAMBDA_INITIALIZATION_TYPE to change that would make Powertools act as if it ran
 * in Lambda.)
 */
export function createLambdaContext(options: {
  /** Default: none (empty). */
  functionName?: string;
  timeoutMs: number;
  now?: () => number;
  memoryLimitInMB?: number;
}): Context {
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  const unsupported = (name: string) => () => {
    throw new Error(`context.${name}() is not supported: return a promise from the handler`);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: options.functionName ?? '',
    functionVersion: '$LATEST',
    invokedFunctionArn: '',
    memoryLimitInMB: options.memoryLimitInMB !== undefined ? String(options.memoryLimitInMB) : '',
    awsRequestId: randomUUID(),
    logGroupName: '',
    logStreamName: '',
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
}

/** Lambda's largest synchronous invocation payload: the SQS event of one batch must fit. */
export const MAX_INVOCATION_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** The largest SQS message the adapter produces (the receiver refuses bigger webhooks). */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** SQS returns at most this many messages per ReceiveMessage. */
const MAX_PER_RECEIVE = 10;

/**
 * How many messages the next ReceiveMessage of a gathering batch may ask for: at most 10, no
 * more than the batch still lacks, and few enough that even messages of MAX_MESSAGE_BYTES keep
 * the event under MAX_INVOCATION_PAYLOAD_BYTES. 0: the batch is complete.
 */
export function nextReceiveCount(gathered: number, gatheredBytes: number, batchSize: number, maxPayloadBytes = MAX_INVOCATION_PAYLOAD_BYTES): number {
  const bySize = Math.floor(Math.max(0, maxPayloadBytes - gatheredBytes) / MAX_MESSAGE_BYTES);
  return Math.max(0, Math.min(MAX_PER_RECEIVE, batchSize - gathered, bySize));
}

/** Checks batch size and window the way Lambda checks an SQS event source mapping. */
export function checkBatching(fifo: boolean, batchSize: number, windowMs: number): void {
  if (!Number.isInteger(windowMs) || windowMs < 0 || windowMs > 300_000) throw new Error('maximumBatchingWindowMs must be an integer from 0 to 300000');
  if (fifo) {
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) throw new Error('batchSize must be 1..10 for a FIFO queue');
    if (windowMs > 0) throw new Error('a FIFO queue has no batching window (maximumBatchingWindowMs must be 0)');
    return;
  }
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new Error('batchSize must be 1..10000');
  if (batchSize > 10 && windowMs === 0) throw new Error('a batchSize above 10 needs a batching window (maximumBatchingWindowMs > 0)');
}

type Outcome = { kind: 'ok'; failedIds: Set<string> } | { kind: 'failed' };

/** Interprets a handler's answer the way the event source mapping does (partial batch responses). */
export function interpretBatchResponse(response: unknown, messageIds: ReadonlySet<string>): Outcome {
  if (response === undefined || response === null) return { kind: 'ok', failedIds: new Set() };
  if (typeof response !== 'object' || Array.isArray(response)) return { kind: 'failed' };
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'ok', failedIds: new Set() };
  if (!Array.isArray(failures)) return { kind: 'failed' };
  const failedIds = new Set<string>();
  for (const f of failures) {
    const id = typeof f === 'object' && f !== null ? (f as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '' || !messageIds.has(id)) return { kind: 'failed' };
    failedIds.add(id);
  }
  return { kind: 'ok', failedIds };
}

export function startPoller(options: PollerOptions): Poller {
  const batchSize = options.batchSize ?? 10;
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  const functionTimeoutMs = options.functionTimeoutMs ?? 30_000;
  const maxConcurrency = options.maxConcurrency ?? 2;
  const region = options.region ?? 'us-east-1';
  const functionName = options.functionName;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  const onError = options.onError ?? (() => {});
  const now = options.now ?? Date.now;
  const windowMs = options.maximumBatchingWindowMs ?? 0;
  const pollIntervalMs = options.batchingPollIntervalMs ?? 20;
  const fifo = options.queueUrl.endsWith('.fifo');
  checkBatching(fifo, batchSize, windowMs);
  if (!Number.isFinite(pollIntervalMs) || pollIntervalMs < 1) throw new Error('batchingPollIntervalMs must be >= 1');
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new Error('maxConcurrency must be >= 1');
  if (!Number.isInteger(waitTimeSeconds) || waitTimeSeconds < 0 || waitTimeSeconds > 20) throw new Error('waitTimeSeconds must be 0..20');

  const counters: PollerCounters = { batches: 0, received: 0, receiveCalls: 0, deleteCalls: 0, deleted: 0, failed: 0, errors: 0, timeouts: 0, inFlight: 0 };
  let running = true;
  const abort = new AbortController();
  const inFlight = new Set<Promise<void>>();
  /** Message groups of in-flight batches, and the batch that holds each. */
  const busyGroups = new Map<string, Promise<void>>();
  let slotWaiter: (() => void) | undefined;
  let receiveSeq = 0;
  const idleWaiters: { afterSeq: number; resolve: () => void }[] = [];

  function freeSlot(): void {
    const w = slotWaiter;
    slotWaiter = undefined;
    w?.();
  }

  /** Resolves after `ms`, or at stop(); either way its listener leaves the long-lived abort signal. */
  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        abort.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      abort.signal.addEventListener('abort', done, { once: true });
    });
  }

  async function deleteMessages(records: SQSRecord[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < records.length; i += 10) {
      const chunk = records.slice(i, i + 10);
      try {
        counters.deleteCalls++;
        const out = await options.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
          }),
        );
        deleted += out.Successful?.length ?? 0;
        if (out.Failed && out.Failed.length > 0) {
          onError(new Error(`DeleteMessageBatch failed for ${out.Failed.length} message(s): ${out.Failed[0]?.Code ?? 'unknown'}`), 'delete');
        }
      } catch (err) {
        onError(err, 'delete');
      }
    }
    return deleted;
  }

  async function invoke(records: SQSRecord[]): Promise<void> {
    counters.batches++;
    const context = createLambdaContext({ ...(functionName !== undefined ? { functionName } : {}), timeoutMs: functionTimeoutMs, now });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<{ timedOut: true }>((resolve) => {
      timer = setTimeout(() => resolve({ timedOut: true }), functionTimeoutMs);
    });
    let outcome: Outcome;
    try {
      const result = await Promise.race([
        Promise.resolve()
          .then(() => options.handler({ Records: records }, context))
          .then((value) => ({ timedOut: false as const, value })),
        timeout,
      ]);
      if (result.timedOut) {
        counters.timeouts++;
        onError(new Error(`the handler ran past its ${functionTimeoutMs} ms timeout`), 'timeout');
        outcome = { kind: 'failed' };
      } else {
        outcome = interpretBatchResponse(result.value, new Set(records.map((r) => r.messageId)));
        if (outcome.kind === 'failed') onError(new Error('invalid partial batch response: the whole batch failed'), 'response');
      }
    } catch (err) {
      counters.errors++;
      onError(err, 'handler');
      outcome = { kind: 'failed' };
    } finally {
      clearTimeout(timer);
    }
    if (outcome.kind === 'failed') {
      counters.failed += records.length;
      return;
    }
    const toDelete = records.filter((r) => !outcome.failedIds.has(r.messageId));
    counters.failed += records.length - toDelete.length;
    counters.deleted += await deleteMessages(toDelete);
  }

  function dispatch(records: SQSRecord[]): void {
    const groups = [...new Set(records.map((r) => r.attributes.MessageGroupId).filter((g): g is string => g !== undefined))];
    // FIFO: wait for any in-flight batch that holds one of these groups (the queue locks groups
    // while messages are in flight; a visibility timeout expiring mid-batch must not break that).
    const blockers = [...new Set(groups.map((g) => busyGroups.get(g)).filter((p): p is Promise<void> => p !== undefined))];
    counters.inFlight++;
    const run = (async () => {
      if (blockers.length > 0) await Promise.allSettled(blockers);
      await invoke(records);
    })();
    const task = run.finally(() => {
      counters.inFlight--;
      inFlight.delete(task);
      for (const g of groups) if (busyGroups.get(g) === task) busyGroups.delete(g);
      freeSlot();
    });
    for (const g of groups) busyGroups.set(g, task);
    inFlight.add(task);
  }

  function settleIdle(seq: number): void {
    for (let i = idleWaiters.length - 1; i >= 0; i--) {
      const w = idleWaiters[i];
      if (w && seq > w.afterSeq) {
        idleWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  async function receive(max: number, waitSeconds: number): Promise<Message[]> {
    counters.receiveCalls++;
    const out = await options.client.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: abort.signal },
    );
    return out.Messages ?? [];
  }

  /**
   * The batching window: from the first message on, keeps short-polling (never a long poll that
   * would have to be aborted with messages possibly already handed out) until the batch is full,
   * the window elapsed or the payload bound is reached.
   */
  async function gather(first: Message[]): Promise<Message[]> {
    const batch = [...first];
    let bytes = batch.reduce((n, m) => n + Buffer.byteLength(m.Body ?? '', 'utf8'), 0);
    // Real elapsed time (the injectable `now` only drives getRemainingTimeInMillis).
    const deadline = performance.now() + windowMs;
    while (running) {
      const want = nextReceiveCount(batch.length, bytes, batchSize);
      const left = deadline - performance.now();
      if (want === 0 || left <= 0) break;
      let got: Message[];
      try {
        got = await receive(want, 0);
      } catch (err) {
        // Keep what was gathered: those messages are in flight and must reach the handler.
        if (running) onError(err, 'receive');
        break;
      }
      if (got.length === 0) {
        await sleep(Math.min(pollIntervalMs, left));
        continue;
      }
      for (const m of got) {
        batch.push(m);
        bytes += Buffer.byteLength(m.Body ?? '', 'utf8');
      }
    }
    return batch;
  }

  async function loop(): Promise<void> {
    while (running) {
      if (counters.inFlight >= maxConcurrency) {
        await new Promise<void>((resolve) => {
          slotWaiter = resolve;
        });
        continue;
      }
      const seq = ++receiveSeq;
      let messages: Message[] = [];
      try {
        messages = await receive(Math.min(MAX_PER_RECEIVE, batchSize), waitTimeSeconds);
      } catch (err) {
        if (!running) break;
        onError(err, 'receive');
        await sleep(1_000);
        continue;
      }
      if (messages.length === 0) {
        if (counters.inFlight === 0) settleIdle(seq);
        continue;
      }
      if (windowMs > 0 && running) messages = await gather(messages);
      counters.received += messages.length;
      if (!running) {
        // Received while stopping: leave them to come back after the visibility timeout.
        counters.failed += messages.length;
        break;
      }
      dispatch(messages.map((m) => toSqsRecord(m, options.queueArn, region)));
    }
  }

  const loopDone = loop().catch((err) => onError(err, 'receive'));

  return {
    counters,
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push({ afterSeq: receiveSeq, resolve });
      });
    },
    async stop() {
      if (!running) return;
      running = false;
      abort.abort();
      freeSlot();
      let timer: NodeJS.Timeout | undefined;
      const bounded = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, stopTimeoutMs);
      });
      await Promise.race([Promise.allSettled([loopDone, ...inFlight]).then(() => undefined), bounded]);
      clearTimeout(timer);
      for (const w of idleWaiters.splice(0)) w.resolve();
    },
  };
}
