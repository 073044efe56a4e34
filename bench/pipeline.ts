/**
 * The local pipeline as the throughput and latency figures drive it: `startDev` in-process
 * (port 0, quiet) with the real receiver and sender handlers, each wrapped only to time it;
 * the MoEngage emulator enforcing MoEngage's documented limits scaled in time; optionally a
 * gate in front of the sender so that the queue can be pre-loaded through the receiver before
 * delivery starts.
 *
 * Time scaling and the rate-limit headers. MoEngage's limits are per minute and the emulator
 * answers `x-ratelimit-reset` / `Retry-After` in whole seconds, i.e. with 1/60 of its window
 * as resolution. Scaling the window down (6 s instead of 60 s) without scaling that resolution
 * makes every answer up to 1 s (1/6 of the window) pessimistic, which a pacing client pays for
 * at every window. With `scaleHeaderResolution`, a pass-through proxy between the sender and
 * the emulator restates both headers at windowMs / 60 resolution (e.g. 0.1 s for a 6 s
 * window), computed from the emulator's epoch-aligned windows: the same 1/60-of-a-window
 * resolution MoEngage's 60 s windows have. Nothing else is changed.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context, SQSEvent } from 'aws-lambda';
import { BULK_IMPORT_LIMIT_PER_MINUTE, TRACK_USER_LIMIT_PER_MINUTE } from '../functions/core/moengage/limits';
import { DEFAULT_SENDER_PARALLELISM, ENV } from '../functions/core/names';
import { deriveSenderConcurrency } from '../lib/concurrency';
import { deployedMemorySizes } from './cost';
import { DEV_API_KEY, DEV_WORKSPACE_ID, SENDER_TIMEOUT_MS, startDev, type DevHandle } from '../local/dev';
import type { ReceiverHandler, ReceiverResult } from '../local/http';
import { startMoEngageEmulator, type AcceptedRecord, type LatencyModel, type MoEngageEmulator } from '../local/moengage-emulator';
import type { SqsHandler } from '../local/poller';
import type { SignedRequest } from '../local/samples';
import { preciseNow } from './util';

/**
 * MoEngage's response time as the figures model it: lognormal, median 300 ms, p99 1.5 s
 * (mean 381 ms), seeded so that every run draws the same sequence.
 */
export const BENCH_LATENCY: LatencyModel = { medianMs: 300, p99Ms: 1500, seed: 20_261_207 };

/** Batch sizes at the defaults: customer mode's FIFO batches; bulk mode's (a standard queue; local/dev.ts, as the construct). */
export const CUSTOMER_BATCH = 10;
const BULK_BATCH = 100;

/**
 * The sender's concurrency as the construct derives it at the bench's latency model and default
 * memory (the event source's maxConcurrency; the poller's here): figures 3 and 6 check it.
 */
export function benchSenderConcurrency(mode: 'customer' | 'bulk'): number {
  const latency = { latencyMs: BENCH_LATENCY.medianMs, latencyP99Ms: BENCH_LATENCY.p99Ms };
  const memoryMb = deployedMemorySizes(mode).senderMb;
  return mode === 'bulk'
    ? deriveSenderConcurrency({ limitPerMinute: BULK_IMPORT_LIMIT_PER_MINUTE, ...latency, parallelism: 1, usersPerRequest: BULK_BATCH, requestsPerInvocation: 1, memoryMb })
    : deriveSenderConcurrency({ limitPerMinute: TRACK_USER_LIMIT_PER_MINUTE, ...latency, parallelism: DEFAULT_SENDER_PARALLELISM, requestsPerInvocation: CUSTOMER_BATCH, memoryMb });
}

export interface PipelineOptions {
  mode: 'customer' | 'bulk';
  queueType: 'fifo' | 'standard';
  /** Emulator rate-limit window; the per-window limits are the documented ones × windowMs / 60 s. */
  windowMs: number;
  /** Hold every sender invocation until open() (pre-loading). */
  gated: boolean;
  /** Sender invocations in flight (the event source's maxConcurrency). Default 2. */
  pollerConcurrency?: number;
  /** SENDER_PARALLELISM. Default: the sender's own (4). */
  senderParallelism?: number;
  /** Event source batch size / batching window; default: startDev's (bulk + standard: 100 / 500 ms). */
  batchSize?: number;
  batchingWindowMs?: number;
  /** Restate the emulator's rate-limit headers at windowMs / 60 resolution (see the top). */
  scaleHeaderResolution?: boolean;
  /** The per-user state store (embedded DynamoDB). Default true, as deployed. */
  stateStore?: boolean;
  /** The emulator's response time. Default BENCH_LATENCY; `null`: answer at once. */
  latency?: LatencyModel | null;
}

export interface SenderInvocation {
  startedAt: number;
  ms: number;
  records: number;
  bodyBytes: number;
}

export interface PostOutcome {
  customerId: string;
  status: number;
  /** Epoch ms (sub-ms precision) when the response arrived at the poster. */
  at: number;
}

export interface BenchPipeline {
  dev: DevHandle;
  emulator: MoEngageEmulator;
  options: PipelineOptions;
  /** Per-window limits the emulator enforces. */
  limits: { customerPerWindow: number; bulkUsersPerWindow: number; windowMs: number };
  open(): void;
  /** Receiver handler durations (ms), one per webhook. */
  receiverMs: number[];
  senderInvocations: SenderInvocation[];
  /** First acceptance time at MoEngage, by customer_id. */
  firstAccepted: Map<string, number>;
  /** Every accepted user (duplicates included). */
  acceptedUsers(): number;
  /** Posts the requests with at most `concurrency` in flight; resolves with every outcome. */
  postAll(requests: readonly SignedRequest[], concurrency: number): Promise<PostOutcome[]>;
  /** Visible + in-flight messages of a queue. */
  depth(which: 'queue' | 'dlq'): Promise<number>;
  stop(): Promise<void>;
}

export async function postOne(baseUrl: string, request: SignedRequest): Promise<PostOutcome> {
  const res = await fetch(`${baseUrl}${request.path}`, { method: 'POST', headers: request.headers, body: request.body });
  await res.arrayBuffer();
  return { customerId: request.customerId, status: res.status, at: preciseNow() };
}

export async function startBenchPipeline(options: PipelineOptions): Promise<BenchPipeline> {
  const limits = {
    customerPerWindow: Math.round((TRACK_USER_LIMIT_PER_MINUTE * options.windowMs) / 60_000),
    bulkUsersPerWindow: Math.round((BULK_IMPORT_LIMIT_PER_MINUTE * options.windowMs) / 60_000),
    windowMs: options.windowMs,
  };
  const receiverMs: number[] = [];
  const senderInvocations: SenderInvocation[] = [];
  const firstAccepted = new Map<string, number>();
  let accepted = 0;

  let openGate!: () => void;
  const gate = options.gated ? new Promise<void>((resolve) => (openGate = resolve)) : Promise.resolve();
  if (!options.gated) openGate = () => {};

  // The real handlers, imported lazily: startDev puts their environment in place first.
  let realReceiver: ReceiverHandler | undefined;
  let realSender: SqsHandler | undefined;
  const receiver: ReceiverHandler = async (event) => {
    realReceiver ??= ((await import('../functions/receiver/handler')) as unknown as { handler: ReceiverHandler }).handler;
    const t = performance.now();
    const out: ReceiverResult = await realReceiver(event);
    receiverMs.push(performance.now() - t);
    return out;
  };
  const sender: SqsHandler = async (event: SQSEvent, context: Context) => {
    realSender ??= ((await import('../functions/sender/handler')) as unknown as { handler: SqsHandler }).handler;
    await gate;
    const startedAt = preciseNow();
    const t = performance.now();
    // The invocation starts now, not when the poller handed the batch over: time spent behind
    // the gate is not the handler's (see the poller's functionTimeoutMs below).
    const deadline = t + SENDER_TIMEOUT_MS;
    const rebased: Context = { ...context, getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - performance.now())) };
    try {
      return await realSender(event, rebased);
    } finally {
      let bodyBytes = 0;
      for (const r of event.Records) bodyBytes += Buffer.byteLength(r.body, 'utf8');
      senderInvocations.push({ startedAt, ms: performance.now() - t, records: event.Records.length, bodyBytes });
    }
  };

  const env: NodeJS.ProcessEnv = {
    [ENV.deliveryMode]: options.mode,
    // The scaled limits have the documented per-minute rates.
    [ENV.rateLimitPerMinute]: String(TRACK_USER_LIMIT_PER_MINUTE),
    [ENV.bulkRateLimitPerMinute]: String(BULK_IMPORT_LIMIT_PER_MINUTE),
    // In-process, every invocation shares the handler module and so one pair of rate limiters:
    // that one container owns the whole workspace budget (SENDER_MAX_CONCURRENCY = N would make
    // the shared limiter pace at 1/N of it).
    [ENV.senderMaxConcurrency]: '1',
    ...(options.senderParallelism !== undefined ? { [ENV.senderParallelism]: String(options.senderParallelism) } : {}),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  const emulator = await startMoEngageEmulator({
    port: 0,
    workspaceId: DEV_WORKSPACE_ID,
    apiKey: DEV_API_KEY,
    rateLimit: limits,
    ...(options.latency === null ? {} : { latency: options.latency ?? BENCH_LATENCY }),
    // Sub-millisecond timestamps, on the same clock as the posts' (latency figure).
    now: preciseNow,
    onAccepted: (rec: AcceptedRecord) => {
      accepted++;
      const id = rec.payload.customer_id;
      if (typeof id === 'string' && !firstAccepted.has(id)) firstAccepted.set(id, rec.receivedAt);
    },
  });
  const proxy = options.scaleHeaderResolution ? await startHeaderProxy(emulator.url, options.windowMs) : undefined;
  env[ENV.moengageBaseUrl] = proxy?.url ?? emulator.url;
  env[ENV.moengageWorkspaceId] = DEV_WORKSPACE_ID;
  env[ENV.moengageApiKey] = DEV_API_KEY;
  let dev: DevHandle;
  try {
    dev = await startDev({
      env,
      port: 0,
      sqsPort: 0,
      quiet: true,
      queueType: options.queueType,
      stateStore: options.stateStore ?? true,
      handlers: { receiver, sender },
      poller: {
        // Gated: batches may wait behind the gate for the whole pre-load; the poller must not
        // count that against the invocation (the handler gets its own 30 s from the gate on).
        ...(options.gated ? { functionTimeoutMs: 600_000 } : {}),
        maxConcurrency: options.pollerConcurrency ?? 2,
        waitTimeSeconds: 1,
        ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
        ...(options.batchingWindowMs !== undefined ? { maximumBatchingWindowMs: options.batchingWindowMs } : {}),
      },
    });
  } catch (err) {
    await proxy?.close();
    await emulator.close();
    throw err;
  }

  async function depth(which: 'queue' | 'dlq'): Promise<number> {
    const out = await dev.sqs.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: which === 'queue' ? dev.sqs.queueUrl : dev.sqs.dlqUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  return {
    dev,
    emulator,
    options,
    limits,
    open: () => openGate(),
    receiverMs,
    senderInvocations,
    firstAccepted,
    acceptedUsers: () => accepted,
    async postAll(requests, concurrency) {
      const out: PostOutcome[] = new Array(requests.length);
      let next = 0;
      const workers = Array.from({ length: Math.max(1, Math.min(concurrency, requests.length)) }, async () => {
        while (next < requests.length) {
          const i = next++;
          const req = requests[i] as SignedRequest;
          try {
            out[i] = await postOne(dev.url, req);
          } catch {
            out[i] = { customerId: req.customerId, status: 0, at: preciseNow() };
          }
        }
      });
      await Promise.all(workers);
      return out;
    },
    depth,
    async stop() {
      openGate();
      await dev.stop();
      await proxy?.close();
      await emulator.close();
    },
  };
}

/** Seconds until the end of the epoch-aligned window of `windowMs`, at windowMs / 60 resolution (rounded up). */
function scaledResetSeconds(nowMs: number, windowMs: number): string {
  const resolution = windowMs / 60;
  const left = windowMs - (nowMs % windowMs);
  const rounded = Math.max(1, Math.ceil(left / resolution)) * resolution;
  return (rounded / 1000).toFixed(3);
}

/** The pass-through proxy of `scaleHeaderResolution`. */
async function startHeaderProxy(target: string, windowMs: number): Promise<{ url: string; close(): Promise<void> }> {
  // Up to a few hundred requests wait on MoEngage's response time at once: no socket limit in between.
  const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
        (up) => {
          const headers: IncomingHttpHeaders = { ...up.headers };
          const original = headers['x-ratelimit-reset'];
          if (typeof original === 'string') {
            const scaled = scaledResetSeconds(preciseNow(), windowMs);
            headers['x-ratelimit-reset'] = scaled;
            // The emulator's own 429s state the reset as Retry-After too.
            if (headers['retry-after'] === original) headers['retry-after'] = scaled;
          }
          res.writeHead(up.statusCode ?? 502, headers);
          up.pipe(res);
        },
      );
      out.on('error', () => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
    },
  };
}

/** Resolves once `check()` holds, polling every `everyMs`; false after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
