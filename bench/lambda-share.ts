/**
 * Figure 6: the deployed bundles at Lambda's CPU share, per memory size.
 *
 * Lambda gives a function CPU in proportion to its memory: the equivalent of one vCPU at 1,769 MB
 * (AWS Lambda developer guide, "Configuring Lambda function memory"), so 128 MB gets 7.2 % of a
 * core. Figure 5 prices the sender's measured wall time at several memory sizes as if that time
 * did not depend on memory; this figure measures it.
 *
 * Method: the bundles `npm run build` ships (scripts/build.ts buildAssets) run in long-lived
 * Node.js 24 processes (bench/lambda-container.mjs: INIT once, then one invocation at a time, as
 * a Lambda execution environment), each with the function's environment from the synthesized
 * template and its CPU capped by a Linux cgroup (CFS quota = period × memory / 1,769, period
 * 100 ms, Linux's default: how Lambda slices its share within a period is not published).
 * Around them, uncapped: the local SQS (fauxqs), Secrets Manager emulator, DynamoDB (dynalite, the
 * per-user state table) and a MoEngage emulator per sender container with the modelled response
 * time (median 300 ms, p99 1.5 s, the same seed for every one, so that every size waits on the
 * same draws).
 *
 * The containers of a group (receivers; customer-mode senders; bulk-mode senders) start together,
 * each in its cgroup, and are invoked in two blocks each, in the order A B C then C B A (inTurn):
 * within a block a container is invoked back to back, as a busy execution environment; over the
 * group, a drift of the shared host that is linear in time weighs on every size alike.
 *
 * - Receiver: signed Clerk webhooks as Function URL events, one after another (each answered 202
 *   only after the local SQS accepted it).
 * - Sender, customer mode: batches of 10 of those messages, as the FIFO event source hands them.
 *
 * LAMBDA_SHARE_LOG_FILE=path appends the functions' logs (their stdout) to that file.
 *
 * The first invocation of each container (secrets read, connections opened) is shown on its own,
 * and the next 20 % of invocations (JIT warm-up) are left out of the warm figures. Needs root and a writable cgroup cpu controller (v1
 * `cpu.cfs_quota_us` or v2 `cpu.max`); without them the figure says so and measures nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type ReceiveMessageCommandOutput } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { parseAdapterConfig } from '../functions/core/config';
import { ENV } from '../functions/core/names';
import { receiveWebhook, type QueueMessage } from '../functions/receiver/receive';
import { SOURCES } from '../functions/sources';
import { MB_PER_VCPU } from '../lib/concurrency';
import { startLocalDynamo, type LocalDynamo } from '../local/dynamodb';
import { toFunctionUrlEvent } from '../local/http';
import { lambdaEnvironment } from '../local/lambda-env';
import { startMoEngageEmulator, type MoEngageEmulator } from '../local/moengage-emulator';
import { toSqsRecord } from '../local/poller';
import { buildSampleEvent, DEV_SECRETS, signSample } from '../local/samples';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from '../local/secrets-manager';
import { startLocalSqs, type LocalSqs } from '../local/sqs';
import { buildAssets } from '../scripts/build';
import { node24Binary } from '../scripts/node24';
import { templateEnvironments } from './bundles';
import { deployedMemorySizes } from './cost';
import { BENCH_LATENCY } from './pipeline';
import { median, NOOP_TELEMETRY, progress } from './util';

const CFS_PERIOD_US = 100_000;
const REGION = 'us-east-1';
const WORKSPACE = 'share-ws';
const API_KEY = 'share-api-key-0001';
const CONTAINER = fileURLToPath(new URL('./lambda-container.mjs', import.meta.url));
/** arm64 price per GB-second (us-east-1), as figure 5. */
const GB_SECOND_USD = 0.0000133334;

export interface ShareRow {
  fn: 'receiver' | 'sender';
  /** Sender: whether the per-user state store was on. */
  stateStore: boolean;
  /** Sender: the delivery mode. */
  mode: 'customer' | 'bulk';
  memoryMb: number;
  vcpu: number;
  /** INIT (module import) at this share: wall and CPU ms. */
  initMs: number;
  initCpuMs: number;
  /** The first invocation (secrets read, first connections). */
  firstMs: number;
  /** Warm invocations. */
  invocations: number;
  medianMs: number;
  p90Ms: number;
  meanBilledMs: number;
  cpuMsPerInvocation: number;
  messagesPerInvocation: number;
  /**
   * Messages offered to each invocation: a full batch (10 in customer mode, 100 in bulk mode), or 1:
   * a trickle, where the event source hands each message to an invocation of its own.
   */
  batchSize: number;
  /** Compute cost per million messages (webhooks for the receiver) at this size. */
  usdPerMillion: number;
  failures: number;
}

export interface ShareResult {
  available: boolean;
  /** Why nothing was measured, when `available` is false. */
  reason?: string;
  cgroup?: 'v1' | 'v2';
  /** The construct's default memory sizes in customer mode, and the sender's in bulk mode. */
  defaults: { receiverMb: number; senderMb: number; bulkSenderMb: number };
  rows: ShareRow[];
  receiverRequests: number;
  senderBatches: number;
  batchSize: number;
  bulkBatches: number;
  bulkBatchSize: number;
}

interface CpuCap {
  procsFile: string;
  remove(): void;
}

/** A cgroup whose CPU is capped at `vcpu` cores; undefined (with the reason) when this machine cannot make one. */
function makeCap(name: string, vcpu: number): { cap?: CpuCap; reason?: string; version?: 'v1' | 'v2' } {
  const quota = Math.max(1000, Math.round(CFS_PERIOD_US * vcpu));
  const candidates: { version: 'v1' | 'v2'; root: string }[] = [
    { version: 'v1', root: '/sys/fs/cgroup/cpu' },
    { version: 'v2', root: '/sys/fs/cgroup' },
  ];
  const reasons: string[] = [];
  for (const { version, root } of candidates) {
    if (version === 'v1' && !existsSync(join(root, 'cpu.cfs_quota_us'))) continue;
    if (version === 'v2' && !existsSync(join(root, 'cgroup.subtree_control'))) continue;
    const dir = join(root, name);
    try {
      mkdirSync(dir, { recursive: true });
      if (version === 'v1') {
        writeFileSync(join(dir, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
      } else {
        writeFileSync(join(dir, 'cpu.max'), `${quota} ${CFS_PERIOD_US}`);
      }
      return {
        version,
        cap: {
          procsFile: join(dir, 'cgroup.procs'),
          remove: () => {
            try {
              rmdirSync(dir);
            } catch {
              // A process may still be leaving it; the kernel frees an empty group later.
            }
          },
        },
      };
    } catch (err) {
      reasons.push(`${version} ${root}: ${(err as Error).message}`);
      try {
        rmdirSync(dir);
      } catch {
        // nothing made
      }
    }
  }
  return { reason: reasons.length > 0 ? reasons.join('; ') : 'no cgroup cpu controller is mounted' };
}

interface InvokeOutcome {
  ms: number;
  /** Messages in the invocation's event (sender). */
  records?: number;
  cpuMs: number;
  result?: unknown;
  error?: { name?: string; message?: string };
}

/** One Lambda execution environment: a Node.js 24 process running bench/lambda-container.mjs. */
class Container {
  private readonly waiting: ((line: Record<string, unknown>) => void)[] = [];
  private stderr = '';
  private constructor(private readonly child: ChildProcess) {
    const fd3 = child.stdio[3] as NodeJS.ReadableStream;
    createInterface({ input: fd3 }).on('line', (line) => this.waiting.shift()?.(JSON.parse(line) as Record<string, unknown>));
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString('utf8')).slice(-4000);
    });
    child.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w({ type: 'exit', code });
    });
  }

  /** `cap` undefined: uncapped (a whole core). */
  static async start(node: string, bundle: string, env: Record<string, string>, cap: CpuCap | undefined, nodeArgs: string[] = []): Promise<{ container: Container; initMs: number; initCpuMs: number }> {
    const logFile = process.env.LAMBDA_SHARE_LOG_FILE;
    const stdio: ('pipe' | 'ignore' | number)[] = ['pipe', logFile ? openSync(logFile, 'a') : 'ignore', 'pipe', 'pipe'];
    // The shell joins the cgroup first, then becomes Node: INIT runs capped, as on Lambda.
    const child = cap
      ? spawn('sh', ['-c', `echo $$ > '${cap.procsFile}' && exec "$0" "$@"`, node, ...nodeArgs, CONTAINER, bundle], { env, stdio })
      : spawn(node, [...nodeArgs, CONTAINER, bundle], { env, stdio });
    const container = new Container(child);
    const init = await container.next();
    if (init.type !== 'init') throw new Error(`lambda-share: the container did not start: ${container.stderr}`);
    return { container, initMs: init.ms as number, initCpuMs: init.cpuMs as number };
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async invoke(event: unknown, timeoutMs: number): Promise<InvokeOutcome> {
    const reply = this.next();
    this.child.stdin?.write(`${JSON.stringify({ event, timeoutMs })}\n`);
    const r = await reply;
    if (r.type !== 'invoke') throw new Error(`lambda-share: the container exited: ${this.stderr}`);
    return r as unknown as InvokeOutcome;
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** One container of a figure-6 group: its size, its cgroup, what it measured. */
interface Run {
  kind: 'receiver' | 'sender' | 'bulk';
  memoryMb: number;
  stateStore: boolean;
  /** Messages per invocation (senders). */
  batch: number;
  /** Invocations to make, the first (cold) one included. */
  invocations: number;
  container: Container;
  cap: CpuCap;
  /** A MoEngage emulator of its own (senders), seeded as every other run's. */
  emulator?: MoEngageEmulator;
  initMs: number;
  initCpuMs: number;
  outcomes: InvokeOutcome[];
  failures: number;
}

/**
 * Invokes a group's containers block by block: a block is one run's invocations back to back (an
 * execution environment kept busy, whose CPU share is what this figure measures), and the runs go
 * in the order A B C, then C B A. Measured one size after another in a single block each, the
 * sizes met different moments of this shared host (the receiver's median at 256 MB went from 3.4
 * to 7.8 ms between two runs an hour apart, its code unchanged, and decided which size came out
 * cheapest); in this order a drift of the host that is linear over the group's time weighs on
 * every run alike.
 */
async function inTurn(runs: Run[], invoke: (run: Run, i: number) => Promise<void>): Promise<void> {
  for (const [block, order] of [runs, [...runs].reverse()].entries()) {
    for (const run of order) {
      const half = Math.ceil(run.invocations / 2);
      const [from, to] = block === 0 ? [0, half] : [half, run.invocations];
      for (let i = from; i < to; i++) await invoke(run, i);
    }
  }
}

async function stopRuns(runs: Run[]): Promise<void> {
  for (const run of runs) {
    await run.container.stop();
    run.cap.remove();
    await run.emulator?.close();
  }
}

function sizesLabel(runs: Run[]): string {
  const label = (r: Run) =>
    r.kind === 'sender' ? `${r.memoryMb} MB${r.stateStore ? '' : ', stateStore: false'}${r.batch === 1 ? ', one message per invocation' : ''}` : `${r.memoryMb} MB`;
  return runs.map(label).join('; ');
}

export interface ShareOptions {
  receiverSizes?: number[];
  senderSizes?: number[];
  /** Warm receiver invocations per size. */
  receiverRequests?: number;
  /** Warm sender batches per size. */
  senderBatches?: number;
  /** Bulk-mode sender sizes (batches of 100 on a standard queue, the state store on). */
  bulkSizes?: number[];
  /** Warm bulk batches per size. */
  bulkBatches?: number;
  /** Sender sizes also measured with `stateStore: false`. Default: the construct's customer-mode default. */
  statelessSizes?: number[];
  /**
   * Warm invocations of one message each (a trickle), at the construct's customer-mode sender size,
   * with the state store on and off; 0 leaves them out.
   */
  trickleInvocations?: number;
  /** Runs the containers uncapped with `--cpu-prof` into this folder (to see where their CPU goes). */
  profileDir?: string;
}

export async function benchLambdaShare(options: ShareOptions = {}): Promise<ShareResult> {
  const receiverSizes = options.receiverSizes ?? [128, 256, 512];
  const senderSizes = options.senderSizes ?? [128, 256, 512, 1024];
  const statelessSizes = options.statelessSizes ?? [deployedMemorySizes('customer').senderMb];
  const bulkSizes = options.bulkSizes ?? [128, 256, 512, 1024];
  const bulkBatches = options.bulkBatches ?? 15;
  const bulkBatchSize = 100;
  const receiverRequests = options.receiverRequests ?? 250;
  const senderBatches = options.senderBatches ?? 50;
  const batchSize = 10;
  const trickleInvocations = options.trickleInvocations ?? 40;
  const profiling = options.profileDir !== undefined;
  const profileArgs = profiling ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const probe = makeCap(`moengage-bench-probe-${process.pid}`, 1);
  probe.cap?.remove();
  const defaults = { ...deployedMemorySizes('customer'), bulkSenderMb: deployedMemorySizes('bulk').senderMb };
  if (!probe.cap) return { available: false, reason: probe.reason, defaults, rows: [], receiverRequests, senderBatches, batchSize, bulkBatches, bulkBatchSize };

  const work = mkdtempSync(join(tmpdir(), 'moengage-share-'));
  let sqs: LocalSqs | undefined;
  let sm: SecretsManagerEmulator | undefined;
  let dynamo: LocalDynamo | undefined;
  const rows: ShareRow[] = [];
  try {
    const assets = await buildAssets(work);
    const bundleOf = (name: 'receiver' | 'sender') => (assets.find((a) => a.name === name) as { file: string }).file;
    const node = await node24Binary();
    const envs = templateEnvironments();
    // Enough messages for every sender run, whatever the receiver runs produced.
    const trickleMb = deployedMemorySizes('customer').senderMb;
    const senderRuns = [
      ...senderSizes.map((memoryMb) => ({ memoryMb, stateStore: true, batch: batchSize, invocations: senderBatches })),
      ...statelessSizes.map((memoryMb) => ({ memoryMb, stateStore: false, batch: batchSize, invocations: senderBatches })),
      ...(trickleInvocations > 0
        ? [true, false].map((stateStore) => ({ memoryMb: trickleMb, stateStore, batch: 1, invocations: trickleInvocations }))
        : []),
    ];
    const messagesNeeded = senderRuns.reduce((n, run) => n + (run.invocations + 1) * run.batch, 0);
    // The receivers' measured webhooks feed the senders; the rest are enqueued afterwards, unmeasured.
    const topUp = Math.max(0, messagesNeeded - receiverSizes.length * (receiverRequests + 1));
    sqs = await startLocalSqs({ queueType: 'fifo', visibilityTimeoutSeconds: 600 });
    sm = await startSecretsManagerEmulator({ region: REGION });
    const signingArn = sm.createSecret('moengage-adapter/signing-secrets', { clerk: DEV_SECRETS.clerk }).arn;
    const moengageArn = sm.createSecret('moengage-adapter/moengage', { workspaceId: WORKSPACE, apiKey: API_KEY }).arn;
    dynamo = await startLocalDynamo({ port: 0 });

    const envFor = (name: 'receiver' | 'sender', memoryMb: number, moengageUrl?: string, stateStore = true): Record<string, string> => ({
      ...envs[name],
      ...lambdaEnvironment({ region: REGION, functionName: `share-${name}`, memoryMb }),
      [ENV.queueUrl]: (sqs as LocalSqs).queueUrl,
      [ENV.dlqUrl]: (sqs as LocalSqs).dlqUrl,
      [ENV.signingSecretsArn]: signingArn,
      [ENV.moengageSecretArn]: moengageArn,
      ...(envs[name][ENV.stateTable] !== undefined && stateStore ? { [ENV.stateTable]: (dynamo as LocalDynamo).tableName } : {}),
      AWS_ENDPOINT_URL_SQS: new URL((sqs as LocalSqs).queueUrl).origin,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: (sm as SecretsManagerEmulator).url,
      AWS_ENDPOINT_URL_DYNAMODB: (dynamo as LocalDynamo).endpoint,
      // One container measured alone: it may use the workspace's whole budget (no pacing at ~10 messages/s).
      [ENV.senderMaxConcurrency]: '1',
      ...(moengageUrl ? { [ENV.moengageBaseUrl]: moengageUrl } : {}),
    });
    const timeoutOf = (name: 'receiver' | 'sender') => (name === 'receiver' ? 10_000 : 60_000);

    /** A container of `kind` at `memoryMb`, started (INIT measured alone) in a cgroup of its own. */
    const startRun = async (
      kind: 'receiver' | 'sender' | 'bulk',
      memoryMb: number,
      env: Record<string, string>,
      invocations: number,
      more: { stateStore: boolean; batch: number; emulator?: MoEngageEmulator },
    ): Promise<Run> => {
      const made = makeCap(`moengage-bench-${kind}-${memoryMb}-${more.stateStore ? 's' : 'n'}${more.batch}-${process.pid}`, memoryMb / MB_PER_VCPU);
      if (!made.cap) {
        await more.emulator?.close();
        throw new Error(`lambda-share: ${made.reason}`);
      }
      try {
        const started = await Container.start(node, bundleOf(kind === 'receiver' ? 'receiver' : 'sender'), env, profiling ? undefined : made.cap, profileArgs);
        return { kind, memoryMb, invocations, cap: made.cap, outcomes: [], failures: 0, ...started, ...more };
      } catch (err) {
        made.cap.remove();
        await more.emulator?.close();
        throw err;
      }
    };

    let user = 0;
    // The sizes of a group start together and are invoked block by block (see inTurn): receivers, then senders, then bulk senders.
    const receivers: Run[] = [];
    try {
      for (const memoryMb of receiverSizes) {
        receivers.push(await startRun('receiver', memoryMb, envFor('receiver', memoryMb), receiverRequests + 1, { stateStore: false, batch: 1 }));
      }
      progress(`figure 6: receiver at ${sizesLabel(receivers)} (blocks A B C, C B A)`);
      const webhook = async (run: Run): Promise<InvokeOutcome> => {
        const id = `share_user_${++user}`;
        const signed = signSample(buildSampleEvent('clerk', { user: { id }, eventId: `msg_${id}` }), DEV_SECRETS.clerk);
        const rawHeaders = Object.entries({ host: 'abcdefghij0123456789klmnopqrstuv.lambda-url.us-east-1.on.aws', ...signed.headers }).flat();
        const event = toFunctionUrlEvent({ method: 'POST', url: signed.path, rawHeaders, body: Buffer.from(signed.body, 'utf8'), sourceIp: '203.0.113.7' }, { now: Date.now(), requestId: `r-${user}` });
        const r = await run.container.invoke(event, timeoutOf('receiver'));
        if ((r.result as { statusCode?: number } | undefined)?.statusCode !== 202) run.failures++;
        return r;
      };
      await inTurn(receivers, async (run) => {
        run.outcomes.push(await webhook(run));
      });
      for (const run of receivers) {
        rows.push(rowOf('receiver', false, run.memoryMb, run.initMs, run.initCpuMs, run.outcomes.slice(0, 1), run.outcomes.slice(1), 1, 1, run.failures));
      }
      const feeder = receivers[receivers.length - 1];
      for (let i = 0; feeder && i < topUp; i++) {
        if ((await webhook(feeder)).error) throw new Error('lambda-share: a receiver failed while filling the queue for the senders');
      }
    } finally {
      await stopRuns(receivers);
    }

    const senders: Run[] = [];
    try {
      for (const { memoryMb, stateStore, batch, invocations } of senderRuns) {
        // An emulator per run with the same seed: every size waits on the same response times.
        const emulator = await startMoEngageEmulator({ port: 0, workspaceId: WORKSPACE, apiKey: API_KEY, latency: BENCH_LATENCY });
        const env = envFor('sender', memoryMb, emulator.url, stateStore);
        if (!stateStore) delete env[ENV.stateTable];
        senders.push(await startRun('sender', memoryMb, env, invocations + 1, { stateStore, batch, emulator }));
      }
      progress(`figure 6: sender at ${sizesLabel(senders)} (blocks A B C, C B A)`);
      await inTurn(senders, async (run) => {
        const messages = await receiveBatch(sqs!, run.batch);
        if (messages.length === 0) throw new Error('lambda-share: the queue ran dry');
        const event = { Records: messages.map((m) => toSqsRecord(m, sqs!.queueArn, REGION)) };
        const r = await run.container.invoke(event, timeoutOf('sender'));
        const failed = (r.result as { batchItemFailures?: unknown[] } | undefined)?.batchItemFailures?.length ?? messages.length;
        run.failures += r.error ? messages.length : failed;
        run.outcomes.push({ ...r, records: messages.length });
        await sqs!.client.send(
          new DeleteMessageBatchCommand({ QueueUrl: sqs!.queueUrl, Entries: messages.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle as string })) }),
        );
      });
      for (const run of senders) {
        const warm = run.outcomes.slice(1);
        const perInvocation = warm.reduce((n, o) => n + (o.records ?? run.batch), 0) / Math.max(1, warm.length);
        rows.push(rowOf('sender', run.stateStore, run.memoryMb, run.initMs, run.initCpuMs, run.outcomes.slice(0, 1), warm, perInvocation, run.batch, run.failures));
      }
    } finally {
      await stopRuns(senders);
    }

    const bulkSenders: Run[] = [];
    try {
      for (const memoryMb of bulkSizes) {
        const emulator = await startMoEngageEmulator({ port: 0, workspaceId: WORKSPACE, apiKey: API_KEY, latency: BENCH_LATENCY });
        const env = { ...envFor('sender', memoryMb, emulator.url, true), [ENV.deliveryMode]: 'bulk', [ENV.queueType]: 'standard' };
        bulkSenders.push(await startRun('bulk', memoryMb, env, bulkBatches + 1, { stateStore: true, batch: bulkBatchSize, emulator }));
      }
      progress(`figure 6: bulk-mode sender at ${sizesLabel(bulkSenders)} (blocks A B C, C B A)`);
      await inTurn(bulkSenders, async (run, i) => {
        const records = await bulkRecords(bulkBatchSize, `share_bulk_${run.memoryMb}_${i}`);
        const r = await run.container.invoke({ Records: records }, timeoutOf('sender'));
        run.failures += r.error ? records.length : ((r.result as { batchItemFailures?: unknown[] } | undefined)?.batchItemFailures?.length ?? records.length);
        run.outcomes.push({ ...r, records: records.length });
      });
      for (const run of bulkSenders) {
        rows.push(rowOf('sender', true, run.memoryMb, run.initMs, run.initCpuMs, run.outcomes.slice(0, 1), run.outcomes.slice(1), bulkBatchSize, bulkBatchSize, run.failures, 'bulk'));
      }
    } finally {
      await stopRuns(bulkSenders);
    }
    return { available: true, cgroup: probe.version, defaults, rows, receiverRequests, senderBatches, batchSize, bulkBatches, bulkBatchSize };
  } finally {
    await dynamo?.stop();
    await sm?.close();
    await sqs?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * `n` bulk-mode queue messages as the event source hands them (one Clerk user each), made by the
 * receiver's own code in this process (the receiver bundle is measured above).
 */
async function bulkRecords(n: number, prefix: string): Promise<SQSRecord[]> {
  const config = parseAdapterConfig({ sources: {} });
  const records: SQSRecord[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}_${i}`;
    const signed = signSample(buildSampleEvent('clerk', { user: { id }, eventId: `msg_${id}` }), DEV_SECRETS.clerk);
    let queued: QueueMessage | undefined;
    const answer = await receiveWebhook(
      { method: 'POST', path: signed.path, headers: signed.headers, rawBody: Buffer.from(signed.body, 'utf8') },
      {
        sources: SOURCES,
        config,
        secrets: async () => [DEV_SECRETS.clerk],
        enqueue: async (m) => {
          queued = m;
        },
        queueType: 'standard',
        now: () => new Date(),
        telemetry: NOOP_TELEMETRY,
      },
    );
    if (answer.statusCode !== 202 || !queued) throw new Error(`lambda-share: a bulk sample was answered ${answer.statusCode}`);
    const attributes = Object.fromEntries(Object.entries(queued.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]));
    records.push(
      toSqsRecord(
        { MessageId: randomUUID(), ReceiptHandle: randomUUID(), Body: queued.body, MessageAttributes: attributes, Attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()) } },
        'arn:aws:sqs:us-east-1:123456789012:moengage-adapter-bulk',
        REGION,
      ),
    );
  }
  return records;
}

/** Up to `n` messages of distinct groups (the local SQS hands out one per FIFO group per receive). */
async function receiveBatch(sqs: LocalSqs, n: number): Promise<Message[]> {
  const out: Message[] = [];
  for (let attempt = 0; attempt < 5 && out.length < n; attempt++) {
    const r: ReceiveMessageCommandOutput = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl, MaxNumberOfMessages: n - out.length, WaitTimeSeconds: 0, VisibilityTimeout: 600, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
    );
    out.push(...(r.Messages ?? []));
  }
  return out;
}

/** Share of the warm invocations left out at the start: V8 is still compiling the hot code (JIT warm-up). */
const WARMUP_SHARE = 0.2;

function rowOf(
  fn: 'receiver' | 'sender',
  stateStore: boolean,
  memoryMb: number,
  initMs: number,
  initCpuMs: number,
  first: InvokeOutcome[],
  all: InvokeOutcome[],
  messagesPerInvocation: number,
  batchSize: number,
  failures: number,
  mode: 'customer' | 'bulk' = 'customer',
): ShareRow {
  const warm = all.slice(Math.floor(all.length * WARMUP_SHARE));
  const ms = warm.map((o) => o.ms).sort((a, b) => a - b);
  const meanBilledMs = warm.reduce((n, o) => n + Math.ceil(o.ms), 0) / Math.max(1, warm.length);
  const gbSecondsPerMessage = (meanBilledMs / 1000 / messagesPerInvocation) * (memoryMb / 1024);
  return {
    fn,
    stateStore,
    mode,
    memoryMb,
    vcpu: memoryMb / MB_PER_VCPU,
    initMs,
    initCpuMs,
    firstMs: first[0]?.ms ?? Number.NaN,
    invocations: warm.length,
    medianMs: median(ms),
    p90Ms: ms[Math.min(ms.length - 1, Math.floor(0.9 * ms.length))] ?? Number.NaN,
    meanBilledMs,
    cpuMsPerInvocation: warm.reduce((n, o) => n + o.cpuMs, 0) / Math.max(1, warm.length),
    messagesPerInvocation,
    batchSize,
    usdPerMillion: gbSecondsPerMessage * 1e6 * GB_SECOND_USD,
    failures,
  };
}

const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');

/** The figure's section of BENCHMARKS.md. */
export function renderLambdaShare(r: ShareResult): string[] {
  const out: string[] = ['## 6. Memory size at Lambda\'s CPU share', ''];
  out.push(
    'The deployed bundles in long-lived Node.js 24 processes (bench/lambda-container.mjs: INIT once, then one invocation at a time),',
    `each in a Linux cgroup capped at memory / ${MB_PER_VCPU} of a core (CFS period 100 ms): Lambda's CPU share at that memory size.`,
    'The local SQS, Secrets Manager, DynamoDB (the per-user state table) and a MoEngage emulator per sender container run uncapped beside them;',
    'the emulators answer after the modelled response time (median 300 ms, p99 1.5 s), the same seeded draws for every size.',
    'The containers of a group (receivers; customer-mode senders; bulk-mode senders) start together and are invoked in two blocks each, in the',
    'order A B C then C B A: within a block back to back, as a busy execution environment; over the group, a linear drift of the shared host weighs on every size alike.',
    `Receiver: ${r.receiverRequests} signed Clerk webhooks per size (Function URL events, each 202 after the local SQS accepted it).`,
    `Sender (customer mode, the state store on): ${r.senderBatches} batches of ${r.batchSize} of those messages; bulk mode: ${r.bulkBatches} batches of ${r.bulkBatchSize}; "one message per invocation":`,
    'a trickle (below ~10 webhooks/s a FIFO event source hands most messages to an invocation of their own), priced in the cost model\'s trickle rows.',
    `The first invocation of each container (secrets read, first connections) is shown apart; the warm figures leave out the next ${Math.round(WARMUP_SHARE * 100)} % (V8 still compiling the hot code). "Compute per 1M" is the GB-seconds`,
    'of the mean billed duration (each invocation rounded up to the millisecond) per message, at the arm64 price.',
    'What this leaves out: the local SQS answers in about a millisecond (a real SendMessage takes longer, at every size alike);',
    'how Lambda slices a share within a period is not published (100 ms is Linux\'s default).',
    '',
  );
  if (!r.available) {
    out.push(`Not measured on this machine: ${r.reason ?? 'no CPU cgroup'} (it needs root and a writable cgroup cpu controller).`, '');
    return out;
  }
  out.push(
    table(
      ['Function', 'Memory', 'vCPU share', 'INIT ms (CPU ms)', 'First invocation ms', 'Warm invocations', 'Median ms', 'p90 ms', 'Mean billed ms', 'CPU ms / invocation', 'Messages / invocation', 'Compute per 1M messages', 'Failures'],
      r.rows.map((x) => [
        x.fn === 'sender'
          ? `sender${x.mode === 'bulk' ? ', bulk mode' : ''}${x.stateStore ? '' : ', stateStore: false'}${x.batchSize === 1 ? ', one message per invocation' : ''}`
          : x.fn,
        `${x.memoryMb} MB`,
        `${(x.vcpu * 100).toFixed(1)} %`,
        `${f1(x.initMs)} (${f1(x.initCpuMs)})`,
        f1(x.firstMs),
        String(x.invocations),
        f1(x.medianMs),
        f1(x.p90Ms),
        f1(x.meanBilledMs),
        f1(x.cpuMsPerInvocation),
        f1(x.messagesPerInvocation),
        `$${x.usdPerMillion.toFixed(4)}`,
        String(x.failures),
      ]),
    ),
    '',
  );
  return out;
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** `npx tsx bench/lambda-share.ts`: the figure alone, printed. */
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const r = await benchLambdaShare();
  process.stdout.write(`${renderLambdaShare(r).join('\n')}\n`);
}
