/**
 * The sender's own CPU per message, and its state-table requests per message (issue 13: at
 * 128-256 MB Lambda gives the sender a small CPU share, so its CPU is billed time).
 *
 * deliverBatch on batches of 10 records (customer mode, FIFO) and of 100 records (bulk mode,
 * standard queue), with the per-user state store, one batch at a time as one container runs
 * them. The DynamoDB client is the one the Lambda builds (dynamoClientFrom: 2 attempts of 1 s),
 * the MoEngage client calls the emulator over HTTP (no latency model). dynalite and the
 * emulator run in a child process, so that process.cpuUsage() here is the sender's CPU alone:
 * deliver.ts, the AWS SDK (signing, HTTP) and the MoEngage client. Telemetry is a no-op (the
 * Lambda's logging and metrics are left out). Every user gets a newer version each batch: each
 * message is read, sent, and written.
 *
 *   npx tsx bench/sender-cpu.ts [--batches N] [--reps N]
 *
 * Prints, per mode, the median over `reps` runs of CPU µs per message (user + system) and the
 * state-table requests and items per message. A script, not part of `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { SQSRecord } from 'aws-lambda';
import { encodeEnvelope, type Envelope } from '../functions/core/envelope';
import { MoEngageClient } from '../functions/core/moengage/client';
import { RateLimiter } from '../functions/core/moengage/rate-limit';
import { DEFAULT_SENDER_PARALLELISM, ENV } from '../functions/core/names';
import { retryPolicy } from '../functions/core/retry';
import { versionKey } from '../functions/core/version';
import { deliverBatch, type SenderDeps } from '../functions/sender/deliver';
import { dynamoClientFrom, dynamoStateStore } from '../functions/shared/state-store';
import { startLocalDynamo } from '../local/dynamodb';
import { startMoEngageEmulator } from '../local/moengage-emulator';
import { median, NOOP_TELEMETRY } from './util';

interface Servers {
  dynamoEndpoint: string;
  tableName: string;
  moengageUrl: string;
  workspaceId: string;
  apiKey: string;
}

/** Child process: dynalite and the emulator, until stdin closes. */
async function serve(): Promise<void> {
  const dynamo = await startLocalDynamo();
  const unlimited = 1_000_000_000;
  const emulator = await startMoEngageEmulator({
    rateLimit: { customerPerWindow: unlimited, bulkUsersPerWindow: unlimited, deletePerWindow: unlimited, eventsPerWindow: unlimited },
    maxRecords: 1_000,
  });
  const servers: Servers = { dynamoEndpoint: dynamo.endpoint, tableName: dynamo.tableName, moengageUrl: emulator.url, workspaceId: emulator.workspaceId, apiKey: emulator.apiKey };
  process.stdout.write(`${JSON.stringify(servers)}\n`);
  process.stdin.resume();
  await new Promise<void>((resolve) => process.stdin.once('end', resolve));
  await Promise.all([dynamo.stop(), emulator.close()]);
}

async function startServers(): Promise<{ servers: Servers; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`servers exited (${code})`)));
    createInterface({ input: child.stdout }).once('line', resolve);
  });
  const stop = async () => {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin.end();
    await exited;
  };
  return { servers: JSON.parse(line) as Servers, stop };
}

/** State-table calls and the items they address (a BatchGetItem's keys), by operation. */
interface TableCounts {
  requests: Record<string, number>;
  items: Record<string, number>;
}

function countingClient(client: ReturnType<typeof dynamoClientFrom>, counts: TableCounts) {
  return {
    send(command: { constructor: { name: string }; input: unknown }) {
      const op = command.constructor.name.replace(/Command$/, '');
      const input = command.input as { RequestItems?: Record<string, { Keys?: unknown[] }> };
      const items = op === 'BatchGetItem' ? Object.values(input.RequestItems ?? {}).reduce((n, t) => n + (t.Keys?.length ?? 0), 0) : 1;
      counts.requests[op] = (counts.requests[op] ?? 0) + 1;
      counts.items[op] = (counts.items[op] ?? 0) + items;
      return client.send(command as never);
    },
  } as Pick<typeof client, 'send'>;
}

const T0 = Date.parse('2026-12-01T10:00:00.000Z');

function recordOf(user: number, round: number, mode: string): SQSRecord {
  const eventId = `evt_${mode}_${user}_${round}`;
  const envelope: Envelope = {
    v: 1,
    source: 'clerk',
    eventId,
    eventType: 'user.updated',
    receivedAt: new Date(T0).toISOString(),
    version: versionKey(T0 + round * 1000, eventId),
    userKey: `u-${mode}-${user}`,
    payload: { type: 'customer', customer_id: `user_${mode}_${user}`, attributes: { u_em: `u${user}.r${round}@example.com`, u_fn: `F${round}` } },
  };
  return {
    messageId: `m-${mode}-${user}-${round}`,
    receiptHandle: `rh-${mode}-${user}-${round}`,
    body: encodeEnvelope(envelope),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0', MessageGroupId: envelope.userKey as string },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q',
    awsRegion: 'us-east-1',
  };
}

interface ModeResult {
  mode: 'customer' | 'bulk';
  batchSize: number;
  messages: number;
  cpuUsPerMessage: number;
  wallMsPerBatch: number;
  requestsPerMessage: Record<string, number>;
  itemsPerMessage: Record<string, number>;
}

async function measure(servers: Servers, mode: 'customer' | 'bulk', batchSize: number, batches: number, reps: number): Promise<ModeResult> {
  const env = { [ENV.dynamodbEndpoint]: servers.dynamoEndpoint, AWS_REGION: 'us-east-1' };
  const counts: TableCounts = { requests: {}, items: {} };
  const dynamo = dynamoClientFrom(env);
  const state = dynamoStateStore({ client: countingClient(dynamo, counts), tableName: servers.tableName, retentionSeconds: 3600, now: Date.now });
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const limiter = () => new RateLimiter({ capacityPerMinute: 1_000_000_000, now: Date.now, sleep });
  const creds = { workspaceId: servers.workspaceId, apiKey: servers.apiKey };
  const deps: SenderDeps = {
    mode,
    fifo: mode === 'customer',
    client: new MoEngageClient({ baseUrl: servers.moengageUrl, fetch: globalThis.fetch, timeoutMs: 10_000 }),
    credentials: { get: async () => creds, refresh: async () => creds },
    queue: {
      changeVisibility: async () => {},
      requeue: async () => {},
      park: async () => {},
    },
    limiters: { customer: limiter(), bulk: limiter(), delete: limiter(), event: limiter() },
    policy: retryPolicy(),
    maxReceiveCount: 5,
    parallelism: DEFAULT_SENDER_PARALLELISM,
    remainingMs: () => 60_000,
    sleep,
    random: Math.random,
    now: Date.now,
    telemetry: NOOP_TELEMETRY,
    state,
  };
  const users = batchSize * 10;
  let round = 0;
  const runBatches = async (n: number): Promise<void> => {
    for (let b = 0; b < n; b++) {
      round++;
      const first = (round * batchSize) % users;
      const records = Array.from({ length: batchSize }, (_, i) => recordOf((first + i) % users, round, mode));
      const results = await deliverBatch(records, deps);
      for (const [id, r] of results) if (!r.ok || r.action !== 'delivered') throw new Error(`${mode}: ${id} not delivered: ${JSON.stringify(r)}`);
    }
  };
  // Warm-up: JIT, sockets, and a stored state for every user.
  await runBatches(Math.max(20, users / batchSize));
  const cpu: number[] = [];
  const wall: number[] = [];
  for (const op of Object.keys(counts.requests)) {
    counts.requests[op] = 0;
    counts.items[op] = 0;
  }
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await runBatches(batches);
    const c = process.cpuUsage(c0);
    wall.push((performance.now() - t0) / batches);
    cpu.push((c.user + c.system) / (batches * batchSize));
  }
  dynamo.destroy();
  const messages = reps * batches * batchSize;
  const per = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).map(([op, n]) => [op, n / messages]));
  return { mode, batchSize, messages, cpuUsPerMessage: median(cpu), wallMsPerBatch: median(wall), requestsPerMessage: per(counts.requests), itemsPerMessage: per(counts.items) };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
}

async function main(): Promise<void> {
  const batches = arg('batches', 100);
  const reps = arg('reps', 5);
  const { servers, stop } = await startServers();
  try {
    for (const [mode, size] of [['customer', 10], ['bulk', 100]] as const) {
      const r = await measure(servers, mode, size, mode === 'bulk' ? Math.max(1, Math.round(batches / 5)) : batches, reps);
      const fmt = (m: Record<string, number>) => Object.entries(m).map(([op, n]) => `${op} ${n.toFixed(3)}`).join(', ');
      console.log(
        `${mode} (batches of ${size}, ${r.messages} messages): sender CPU ${r.cpuUsPerMessage.toFixed(0)} µs/message (median of ${reps}); ` +
          `${r.wallMsPerBatch.toFixed(1)} ms/batch; state-table requests/message: ${fmt(r.requestsPerMessage)}; items/message: ${fmt(r.itemsPerMessage)}`,
      );
    }
  } finally {
    await stop();
  }
}

if (process.argv.includes('--serve')) await serve();
else await main();
