/**
 * The DLQ tool against fauxqs: list / redrive / export / purge, interruptions and reruns,
 * operator errors, and the real bin entry as a subprocess.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  DeleteMessageCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli';
import { exportCommand } from '../../bin/dlq/export';
import { listCommand } from '../../bin/dlq/list';
import { purgeCommand } from '../../bin/dlq/purge';
import { redriveCommand } from '../../bin/dlq/redrive';
import type { Clock, CommandContext, Output, QueuePair, SqsLike } from '../../bin/dlq/types';
import type { SourceName } from '../../functions/core/config';
import { parkAttributes, type FailureDetail, type FailureReason } from '../../functions/core/dlq';
import { deduplicationId, encodeEnvelope, messageGroupId, type Envelope } from '../../functions/core/envelope';

const execFileAsync = promisify(execFile);
const REPO = resolve(__dirname, '../..');
const NOW = Date.parse('2026-03-02T12:00:00.000Z');

let server: FauxqsServer;
let sqs: SQSClient;
let tmp: string;

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  sqs = new SQSClient({ endpoint: server.address, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  tmp = await mkdtemp(join(tmpdir(), 'dlq-cli-'));
});

afterAll(async () => {
  sqs?.destroy();
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

interface Queues extends QueuePair {
  mainName: string;
  dlqName: string;
}

let queueCount = 0;
function makeQueues(): Queues {
  queueCount++;
  const dlq = server.createQueue(`adapter-dlq-${queueCount}.fifo`, { attributes: { FifoQueue: 'true' } });
  const main = server.createQueue(`adapter-${queueCount}.fifo`, {
    attributes: { FifoQueue: 'true', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: 3 }) },
  });
  return { queueUrl: main.queueUrl, dlqUrl: dlq.queueUrl, mainName: main.queueName, dlqName: dlq.queueName };
}

interface Park {
  source: SourceName;
  eventId: string;
  eventType?: string;
  customerId?: string;
  email?: string;
  reason: FailureReason;
  status?: number;
  attempts?: number;
  failedAt?: string;
  detail?: FailureDetail;
}

function envelopeOf(p: Park): Envelope {
  return {
    v: 1,
    source: p.source,
    eventId: p.eventId,
    eventType: p.eventType ?? 'user.updated',
    receivedAt: '2026-03-02T10:00:00.000Z',
    payload: {
      type: 'customer',
      ...(p.customerId ? { customer_id: p.customerId } : {}),
      attributes: { u_em: p.email ?? 'jane.doe@example.com', u_fn: 'Jane' },
    },
  };
}

/** Parks a message the way the sender does: envelope body, park attributes, the user's group. */
async function park(q: Queues, p: Park): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: q.dlqUrl,
      MessageBody: encodeEnvelope(envelopeOf(p)),
      MessageAttributes: parkAttributes(
        {
          reason: p.reason,
          attempts: p.attempts ?? 3,
          failedAt: p.failedAt ?? '2026-03-02T11:00:00.000Z',
          ...(p.status !== undefined ? { status: p.status } : {}),
          ...(p.detail ? { detail: p.detail } : {}),
        },
        { source: p.source, eventType: p.eventType ?? 'user.updated' },
      ),
      MessageGroupId: messageGroupId(p.customerId ?? p.eventId),
      MessageDeduplicationId: deduplicationId(p.source, p.eventId),
    }),
  );
}

/** A standard set: three sources, three reasons, each its own user. */
async function parkStandardSet(q: Queues): Promise<void> {
  await park(q, {
    source: 'clerk',
    eventId: 'evt_clerk_1',
    customerId: 'user_2abcDEFghiJKLmnoPQRs9xz',
    reason: 'retries_exhausted',
    status: 503,
    attempts: 5,
    failedAt: '2026-03-02T11:55:00.000Z',
  });
  await park(q, {
    source: 'stripe',
    eventId: 'evt_stripe_1',
    eventType: 'customer.updated',
    customerId: 'jane.doe@example.com',
    reason: 'auth_failed',
    status: 401,
    attempts: 3,
    failedAt: '2026-03-02T10:00:00.000Z',
  });
  await park(q, {
    source: 'shopify',
    eventId: 'evt_shopify_1',
    eventType: 'customers/update',
    customerId: '7012345678901',
    reason: 'moengage_rejected',
    status: 400,
    attempts: 1,
    failedAt: '2026-03-01T12:00:00.000Z',
    detail: { type: 'MissingAttributeError', message: 'customer_id is missing', request_id: 'req-123' },
  });
}

function capture() {
  let out = '';
  let err = '';
  const io: Output = { out: (t) => void (out += t), err: (t) => void (err += t), errIsTTY: false };
  return { io, out: () => out, err: () => err, errLines: () => err.split('\n').filter((l) => l !== '') };
}

function makeCtx(queues: QueuePair, over: Partial<CommandContext> = {}) {
  const cap = capture();
  let t = NOW;
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  };
  let n = 0;
  const ctx: CommandContext = { sqs, queues, io: cap.io, clock, randomId: () => `rnd${++n}`, receiveWaitSeconds: 0, ...over };
  return { ctx, cap, sleeps };
}

function inspect(name: string) {
  const q = server.inspectQueue(name);
  if (!q) throw new Error(`no queue ${name}`);
  return q.messages;
}

const eventIdsOf = (bodies: string[]) => bodies.map((b) => (JSON.parse(b) as Envelope).eventId).sort();

/** An SQS client whose calls of one kind fail on demand (fault injection around the real client). */
function faulty(shouldFail: (command: unknown) => Error | undefined): SqsLike {
  const send = (command: unknown, ...rest: unknown[]) => {
    const e = shouldFail(command);
    if (e) return Promise.reject(e);
    return (sqs.send as (...a: unknown[]) => Promise<unknown>)(command, ...rest);
  };
  return { send: send as SQSClient['send'] };
}

const transient = () => Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalError' });

describe('dlq list', () => {
  it('prints a table with masked customer ids, reasons, statuses and attempts, oldest first', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const { ctx, cap } = makeCtx(q);
    expect(await listCommand(ctx, { json: false, limit: 100, filter: {} })).toBe(0);
    const lines = cap.out().split('\n');
    expect(lines[0]).toMatch(/^AGE\s+SOURCE\s+EVENT TYPE\s+CUSTOMER\s+REASON\s+STATUS\s+ATTEMPTS$/);
    expect(lines[1]).toMatch(/^1d\s+shopify\s+customers\/update\s+7…01\s+moengage_rejected\s+400\s+1$/);
    expect(lines[2]).toMatch(/^2h\s+stripe\s+customer\.updated\s+j\*\*\*@example\.com\s+auth_failed\s+401\s+3$/);
    expect(lines[3]).toMatch(/^5m\s+clerk\s+user\.updated\s+user_2ab…9xz\s+retries_exhausted\s+503\s+5$/);
    expect(cap.out()).toContain('3 message(s); by reason: auth_failed 1, moengage_rejected 1, retries_exhausted 1');
    // Raw PII never in the table.
    expect(cap.out()).not.toContain('jane.doe@example.com');
    expect(cap.out()).not.toContain('user_2abcDEFghiJKLmnoPQRs9xz');
  });

  it('--json gives the contract fields with the full customer id', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const { ctx, cap } = makeCtx(q);
    expect(await listCommand(ctx, { json: true, limit: 100, filter: {} })).toBe(0);
    const items = JSON.parse(cap.out()) as Record<string, unknown>[];
    expect(items).toHaveLength(3);
    for (const item of items) {
      expect(Object.keys(item).sort()).toEqual(
        ['attempts', 'customerId', 'detail', 'eventId', 'eventType', 'failedAt', 'messageId', 'reason', 'source', 'status'].sort(),
      );
    }
    const shopify = items.find((i) => i.source === 'shopify');
    expect(shopify).toMatchObject({
      eventId: 'evt_shopify_1',
      eventType: 'customers/update',
      customerId: '7012345678901',
      reason: 'moengage_rejected',
      status: 400,
      attempts: 1,
      failedAt: '2026-03-01T12:00:00.000Z',
      detail: { type: 'MissingAttributeError', message: 'customer_id is missing', request_id: 'req-123' },
    });
    expect(typeof shopify?.messageId).toBe('string');
    expect(items.find((i) => i.source === 'stripe')?.customerId).toBe('jane.doe@example.com');
  });

  it('filters by reason and by source', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    await park(q, { source: 'clerk', eventId: 'evt_clerk_2', customerId: 'user_other', reason: 'auth_failed', status: 401 });

    const byReason = makeCtx(q);
    await listCommand(byReason.ctx, { json: true, limit: 100, filter: { reason: 'auth_failed' } });
    expect((JSON.parse(byReason.cap.out()) as { eventId: string }[]).map((i) => i.eventId).sort()).toEqual(['evt_clerk_2', 'evt_stripe_1']);

    const bySource = makeCtx(q);
    await listCommand(bySource.ctx, { json: true, limit: 100, filter: { source: 'clerk' } });
    expect((JSON.parse(bySource.cap.out()) as { eventId: string }[]).map((i) => i.eventId).sort()).toEqual(['evt_clerk_1', 'evt_clerk_2']);

    const both = makeCtx(q);
    await listCommand(both.ctx, { json: false, limit: 100, filter: { source: 'clerk', reason: 'auth_failed' } });
    expect(both.cap.out()).toContain('1 message(s) matching reason auth_failed and source clerk');
  });

  it('does not consume: everything is visible again right after, and a second list sees the same', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const first = makeCtx(q);
    await listCommand(first.ctx, { json: true, limit: 100, filter: {} });
    const after = inspect(q.dlqName);
    expect(after.ready).toHaveLength(3);
    expect(after.inflight).toHaveLength(0);
    const second = makeCtx(q);
    await listCommand(second.ctx, { json: true, limit: 100, filter: {} });
    const ids = (out: string) => (JSON.parse(out) as { messageId: string }[]).map((i) => i.messageId).sort();
    expect(ids(second.cap.out())).toEqual(ids(first.cap.out()));
    expect(ids(first.cap.out())).toHaveLength(3);
  });

  it('lists messages that are not envelopes or have no park attributes', async () => {
    const q = makeQueues();
    await sqs.send(new SendMessageCommand({ QueueUrl: q.dlqUrl, MessageBody: 'not an envelope', MessageGroupId: 'g-raw', MessageDeduplicationId: 'raw-1' }));
    // A message moved by the queue's redrive policy (receive count exhausted): no failure_* attributes.
    const moved = envelopeOf({ source: 'auth0', eventId: 'evt_auth0_1', customerId: 'auth0|abc123', reason: 'retries_exhausted' });
    await sqs.send(
      new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: encodeEnvelope(moved), MessageGroupId: messageGroupId('auth0|abc123'), MessageDeduplicationId: 'd-1' }),
    );
    for (let i = 0; i < 4; i++) await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.queueUrl, VisibilityTimeout: 0 }));
    expect(inspect(q.dlqName).ready).toHaveLength(2);

    const { ctx, cap } = makeCtx(q);
    await listCommand(ctx, { json: true, limit: 100, filter: {} });
    const items = JSON.parse(cap.out()) as Record<string, unknown>[];
    expect(items).toHaveLength(2);
    expect(items).toContainEqual(expect.objectContaining({ source: null, eventId: null, reason: 'unknown', status: null, attempts: null }));
    expect(items).toContainEqual(expect.objectContaining({ source: 'auth0', eventId: 'evt_auth0_1', customerId: 'auth0|abc123', reason: 'unknown' }));

    const table = makeCtx(q);
    await listCommand(table.ctx, { json: false, limit: 100, filter: { reason: 'unknown' } });
    expect(table.cap.out()).toContain('2 message(s) matching reason unknown');
  });

  it('stops at --limit and says there may be more', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const { ctx, cap } = makeCtx(q);
    await listCommand(ctx, { json: true, limit: 2, filter: {} });
    expect(JSON.parse(cap.out())).toHaveLength(2);
    expect(cap.err()).toContain('stopped at --limit 2');
    expect(inspect(q.dlqName).ready).toHaveLength(3);
  });
});

describe('dlq redrive', () => {
  it('moves to the main queue (same body and group, fresh dedup id, no failure attributes) and deletes from the DLQ', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const { ctx, cap } = makeCtx(q);
    expect(await redriveCommand(ctx, { filter: {}, dryRun: false, native: false })).toBe(0);
    expect(inspect(q.dlqName).ready).toHaveLength(0);
    expect(inspect(q.dlqName).inflight).toHaveLength(0);
    const moved = inspect(q.mainName).ready;
    expect(eventIdsOf(moved.map((m) => m.body))).toEqual(['evt_clerk_1', 'evt_shopify_1', 'evt_stripe_1']);
    const clerk = moved.find((m) => m.body.includes('evt_clerk_1'))!;
    expect(clerk.messageGroupId).toBe(messageGroupId('user_2abcDEFghiJKLmnoPQRs9xz'));
    expect(clerk.messageDeduplicationId).toMatch(/^clerk:evt_clerk_1:r:[A-Za-z0-9]+$/);
    expect(Object.keys(clerk.messageAttributes).sort()).toEqual(['event_type', 'source']);
    expect(clerk.messageAttributes.source?.StringValue).toBe('clerk');
    expect(cap.out()).toContain('Moved 3 message(s) to the main queue; skipped 0; failed 0.');
    // The summary is printed once, on stdout (no progress line for 3 messages off a terminal).
    expect(cap.err()).toBe('');
  });

  it('moves only what matches --reason / --source; the rest stays, visible', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    await park(q, { source: 'clerk', eventId: 'evt_clerk_2', customerId: 'user_other', reason: 'auth_failed', status: 401 });
    const { ctx } = makeCtx(q);
    expect(await redriveCommand(ctx, { filter: { reason: 'auth_failed' }, dryRun: false, native: false })).toBe(0);
    expect(eventIdsOf(inspect(q.mainName).ready.map((m) => m.body))).toEqual(['evt_clerk_2', 'evt_stripe_1']);
    expect(eventIdsOf(inspect(q.dlqName).ready.map((m) => m.body))).toEqual(['evt_clerk_1', 'evt_shopify_1']);
    expect(inspect(q.dlqName).inflight).toHaveLength(0);

    const second = makeCtx(q);
    expect(await redriveCommand(second.ctx, { filter: { source: 'shopify' }, dryRun: false, native: false })).toBe(0);
    expect(eventIdsOf(inspect(q.dlqName).ready.map((m) => m.body))).toEqual(['evt_clerk_1']);
  });

  it('moves all of one user\'s messages, in order, although FIFO shows them one at a time', async () => {
    const q = makeQueues();
    for (const id of ['evt_a', 'evt_b', 'evt_c']) await park(q, { source: 'workos', eventId: id, customerId: 'user_01HSAME', reason: 'retries_exhausted' });
    const { ctx } = makeCtx(q);
    expect(await redriveCommand(ctx, { filter: {}, dryRun: false, native: false })).toBe(0);
    expect(inspect(q.mainName).ready.map((m) => (JSON.parse(m.body) as Envelope).eventId)).toEqual(['evt_a', 'evt_b', 'evt_c']);
    expect(inspect(q.dlqName).ready).toHaveLength(0);
  });

  it('--dry-run changes nothing and says what it would move', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const { ctx, cap } = makeCtx(q);
    expect(await redriveCommand(ctx, { filter: { reason: 'retries_exhausted' }, dryRun: true, native: false })).toBe(0);
    expect(cap.out()).toContain('Dry run: would move 1 message(s) matching reason retries_exhausted');
    expect(cap.out()).toContain('Nothing was changed.');
    expect(cap.out()).toMatch(/MESSAGE ID\s+AGE/);
    expect(cap.out()).toContain('user_2ab…9xz');
    expect(inspect(q.mainName).ready).toHaveLength(0);
    expect(inspect(q.dlqName).ready).toHaveLength(3);
    expect(inspect(q.dlqName).inflight).toHaveLength(0);
  });

  it('--limit moves at most N', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const { ctx } = makeCtx(q);
    expect(await redriveCommand(ctx, { filter: {}, dryRun: false, native: false, limit: 2 })).toBe(0);
    expect(inspect(q.mainName).ready).toHaveLength(2);
    expect(inspect(q.dlqName).ready).toHaveLength(1);
  });

  it('--rate paces the sends with the clock (no real waiting)', async () => {
    const q = makeQueues();
    for (let i = 0; i < 5; i++) await park(q, { source: 'segment', eventId: `evt_rate_${i}`, customerId: `user_rate_${i}`, reason: 'rate_limited', status: 429 });
    const { ctx, sleeps } = makeCtx(q);
    expect(await redriveCommand(ctx, { filter: {}, dryRun: false, native: false, rate: 2 })).toBe(0);
    expect(sleeps).toEqual([500, 500, 500, 500]);
    expect(inspect(q.mainName).ready).toHaveLength(5);
  });

  it('a main queue that stops accepting mid-way loses nothing; a rerun finishes', async () => {
    const q = makeQueues();
    const ids = Array.from({ length: 6 }, (_, i) => `evt_int_${i}`);
    for (const id of ids) await park(q, { source: 'standard', eventId: id, customerId: `cust_${id}`, reason: 'retries_exhausted' });
    let sends = 0;
    const broken = faulty((cmd) => (cmd instanceof SendMessageCommand && ++sends > 2 ? transient() : undefined));
    const first = makeCtx(q, { sqs: broken });
    expect(await redriveCommand(first.ctx, { filter: {}, dryRun: false, native: false })).toBe(1);
    expect(first.cap.out()).toContain('Moved 2 message(s) to the main queue; skipped 0; failed 4.');
    expect(inspect(q.mainName).ready).toHaveLength(2);
    expect(inspect(q.dlqName).ready).toHaveLength(4);
    expect(inspect(q.dlqName).inflight).toHaveLength(0);

    const rerun = makeCtx(q);
    expect(await redriveCommand(rerun.ctx, { filter: {}, dryRun: false, native: false })).toBe(0);
    expect(eventIdsOf(inspect(q.mainName).ready.map((m) => m.body))).toEqual([...ids].sort());
    expect(inspect(q.dlqName).ready).toHaveLength(0);
  });

  it('stops after 5 refusals in a row with one line, then a rerun finishes', async () => {
    const q = makeQueues();
    const ids = Array.from({ length: 8 }, (_, i) => `evt_stop_${i}`);
    for (const id of ids) await park(q, { source: 'standard', eventId: id, customerId: `cust_${id}`, reason: 'retries_exhausted' });
    let sends = 0;
    const broken = faulty((cmd) => (cmd instanceof SendMessageCommand && ++sends > 1 ? transient() : undefined));
    const first = makeCtx(q, { sqs: broken });
    await expect(redriveCommand(first.ctx, { filter: {}, dryRun: false, native: false })).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringContaining('refused 5 messages in a row'),
    });
    expect(inspect(q.dlqName).ready).toHaveLength(7);
    const rerun = makeCtx(q);
    expect(await redriveCommand(rerun.ctx, { filter: {}, dryRun: false, native: false })).toBe(0);
    expect(eventIdsOf(inspect(q.mainName).ready.map((m) => m.body))).toEqual([...ids].sort());
  });

  it('an abort (Ctrl-C) mid-way stops between messages, releases the rest, and a rerun moves them', async () => {
    const q = makeQueues();
    const ids = Array.from({ length: 6 }, (_, i) => `evt_abort_${i}`);
    for (const id of ids) await park(q, { source: 'clerk', eventId: id, customerId: `user_${id}`, reason: 'auth_failed', status: 401 });
    const controller = new AbortController();
    let sends = 0;
    const counting = faulty((cmd) => {
      if (cmd instanceof SendMessageCommand && ++sends === 3) queueMicrotask(() => controller.abort());
      return undefined;
    });
    const first = makeCtx(q, { sqs: counting, signal: controller.signal });
    expect(await redriveCommand(first.ctx, { filter: {}, dryRun: false, native: false })).toBe(1);
    expect(first.cap.err()).toContain('interrupted: nothing was lost');
    expect(inspect(q.mainName).ready).toHaveLength(3);
    expect(inspect(q.dlqName).ready).toHaveLength(3);
    expect(inspect(q.dlqName).inflight).toHaveLength(0);

    const rerun = makeCtx(q);
    expect(await redriveCommand(rerun.ctx, { filter: {}, dryRun: false, native: false })).toBe(0);
    expect(eventIdsOf(inspect(q.mainName).ready.map((m) => m.body))).toEqual([...ids].sort());
    expect(inspect(q.dlqName).ready).toHaveLength(0);
  });

  it('a crash between send and delete gives at worst a duplicate on rerun, never a loss', async () => {
    const q = makeQueues();
    const ids = ['evt_dup_0', 'evt_dup_1', 'evt_dup_2'];
    for (const id of ids) await park(q, { source: 'stripe', eventId: id, customerId: `cus_${id}`, reason: 'retries_exhausted' });
    let deletes = 0;
    const flaky = faulty((cmd) => (cmd instanceof DeleteMessageCommand && ++deletes === 2 ? transient() : undefined));
    const first = makeCtx(q, { sqs: flaky });
    expect(await redriveCommand(first.ctx, { filter: {}, dryRun: false, native: false })).toBe(1);
    expect(first.cap.err()).toMatch(/warning: message \S+ is in the main queue but could not be deleted from the DLQ/);
    expect(inspect(q.dlqName).ready).toHaveLength(1);

    const rerun = makeCtx(q);
    expect(await redriveCommand(rerun.ctx, { filter: {}, dryRun: false, native: false })).toBe(0);
    const inMain = eventIdsOf(inspect(q.mainName).ready.map((m) => m.body));
    expect(new Set(inMain)).toEqual(new Set(ids));
    expect(inMain).toHaveLength(4);
    expect(inspect(q.dlqName).ready).toHaveLength(0);
  });

  it('--native against the emulator fails with one line (exit 1)', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const cap = capture();
    const code = await main(['dlq', 'redrive', '--queue-url', q.queueUrl, '--dlq-url', q.dlqUrl, '--endpoint', server.address, '--native'], {
      io: cap.io,
      env: {},
      receiveWaitSeconds: 0,
    });
    expect(code).toBe(1);
    expect(cap.errLines()).toEqual(['error: This SQS endpoint has no StartMessageMoveTask (emulators lack it): run redrive without --native.']);
    expect(inspect(q.dlqName).ready).toHaveLength(3);
  });
});

describe('dlq export', () => {
  it('writes one JSON object per line with the list fields, body and attributes, without consuming', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const { ctx, cap } = makeCtx(q);
    expect(await exportCommand(ctx, { out: 'export-all.jsonl', filter: {}, cwd: tmp })).toBe(0);
    const path = join(tmp, 'export-all.jsonl');
    const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    const rows = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const r of rows) {
      expect(r).toHaveProperty('messageId');
      expect(r).toHaveProperty('reason');
      expect(typeof r.body).toBe('string');
      expect((JSON.parse(r.body as string) as Envelope).v).toBe(1);
      expect(r.messageAttributes).toHaveProperty('failure_reason');
      expect((r.attributes as Record<string, string>).MessageGroupId).toMatch(/^u-/);
    }
    expect(rows.find((r) => r.source === 'stripe')).toMatchObject({ customerId: 'jane.doe@example.com', status: 401, reason: 'auth_failed' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(cap.out()).toContain(`Exported 3 message(s) to ${path}`);
    expect(inspect(q.dlqName).ready).toHaveLength(3);
  });

  it('honours filters and never overwrites a file', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const first = makeCtx(q);
    await exportCommand(first.ctx, { out: 'export-stripe.jsonl', filter: { source: 'stripe' }, cwd: tmp });
    const lines = (await readFile(join(tmp, 'export-stripe.jsonl'), 'utf8')).split('\n').filter(Boolean);
    expect(lines.map((l) => (JSON.parse(l) as { eventId: string }).eventId)).toEqual(['evt_stripe_1']);
    const again = makeCtx(q);
    await expect(exportCommand(again.ctx, { out: 'export-stripe.jsonl', filter: {}, cwd: tmp })).rejects.toMatchObject({ exitCode: 2 });
  });
});

describe('dlq purge', () => {
  it('refuses without --yes: exit 2, one line, nothing touched', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const cap = capture();
    const code = await main(['dlq', 'purge', '--queue-url', q.queueUrl, '--dlq-url', q.dlqUrl, '--endpoint', server.address], { io: cap.io, env: {}, cwd: tmp });
    expect(code).toBe(2);
    expect(cap.errLines()).toHaveLength(1);
    expect(cap.errLines()[0]).toMatch(/^error: purge deletes every message in the DLQ: add --yes/);
    expect(inspect(q.dlqName).ready).toHaveLength(3);
    const { ctx } = makeCtx(q);
    await expect(purgeCommand(ctx, { yes: false, export: true, cwd: tmp })).rejects.toMatchObject({ exitCode: 2 });
  });

  it('with --yes saves every message (also those hidden behind others of the same user) and then empties the DLQ', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    for (const id of ['evt_same_1', 'evt_same_2']) await park(q, { source: 'workos', eventId: id, customerId: 'user_same', reason: 'auth_failed' });
    const dir = await mkdtemp(join(tmp, 'purge-'));
    const { ctx, cap } = makeCtx(q);
    expect(await purgeCommand(ctx, { yes: true, export: true, cwd: dir })).toBe(0);
    const files = await readdir(dir);
    expect(files).toEqual(['dlq-export-20260302T120000Z.jsonl']);
    const lines = (await readFile(join(dir, files[0]!), 'utf8')).split('\n').filter(Boolean);
    expect(eventIdsOf(lines.map((l) => (JSON.parse(l) as { body: string }).body))).toEqual(
      ['evt_clerk_1', 'evt_same_1', 'evt_same_2', 'evt_shopify_1', 'evt_stripe_1'].sort(),
    );
    const dlq = inspect(q.dlqName);
    expect(dlq.ready.length + dlq.inflight.length).toBe(0);
    expect(cap.out()).toContain('Purged 5 message(s) from the DLQ; saved 5 to');
  });

  it('--no-export uses PurgeQueue', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    let purges = 0;
    const counting = faulty((cmd) => {
      if (cmd instanceof PurgeQueueCommand) purges++;
      return undefined;
    });
    const { ctx } = makeCtx(q, { sqs: counting });
    expect(await purgeCommand(ctx, { yes: true, export: false, cwd: tmp })).toBe(0);
    expect(purges).toBe(1);
    expect(inspect(q.dlqName).ready).toHaveLength(0);
  });

  it('--no-export falls back to receive + delete when PurgeQueue fails', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const noPurge = faulty((cmd) =>
      cmd instanceof PurgeQueueCommand ? Object.assign(new Error('Only one PurgeQueue operation is allowed every 60 seconds.'), { name: 'PurgeQueueInProgress' }) : undefined,
    );
    const { ctx, cap } = makeCtx(q, { sqs: noPurge });
    expect(await purgeCommand(ctx, { yes: true, export: false, cwd: tmp })).toBe(0);
    expect(cap.err()).toContain('PurgeQueue did not work');
    expect(cap.out()).toContain('Purged 3 message(s) from the DLQ (nothing saved: --no-export).');
    const dlq = inspect(q.dlqName);
    expect(dlq.ready.length + dlq.inflight.length).toBe(0);
  });
});

describe('operator errors: one line each', () => {
  it('a queue URL that does not exist: exit 3', async () => {
    const cap = capture();
    const base = `${server.address}/000000000000`;
    const code = await main(['dlq', 'list', '--queue-url', `${base}/nope.fifo`, '--dlq-url', `${base}/nope-dlq.fifo`, '--endpoint', server.address], {
      io: cap.io,
      env: {},
      receiveWaitSeconds: 0,
    });
    expect(code).toBe(3);
    expect(cap.errLines()).toEqual([`error: Queue not found: ${base}/nope-dlq.fifo does not exist (check the URL, the region and the account).`]);
    expect(cap.out()).toBe('');
  });

  it('swapped --queue-url / --dlq-url: exit 3 before anything is touched', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const cap = capture();
    const code = await main(['dlq', 'purge', '--yes', '--no-export', '--queue-url', q.dlqUrl, '--dlq-url', q.queueUrl, '--endpoint', server.address], {
      io: cap.io,
      env: {},
      receiveWaitSeconds: 0,
    });
    expect(code).toBe(3);
    expect(cap.errLines()).toHaveLength(1);
    expect(cap.errLines()[0]).toBe('error: --dlq-url is the queue whose dead-letter queue is --queue-url: the two are swapped.');
    expect(inspect(q.dlqName).ready).toHaveLength(3);
  });

  it('--local with no dev server listening: exit 3', async () => {
    const port = await freePort();
    const cap = capture();
    const code = await main(['dlq', 'list', '--local', '--port', String(port)], { io: cap.io, env: {} });
    expect(code).toBe(3);
    expect(cap.errLines()).toEqual([`error: No dev server on http://127.0.0.1:${port}: start it with \`npm run dev\` (or pass --port if it uses another PORT).`]);
  });

  it('--local finds the queues through /_dev/status', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const dev = await listen((req, res) => {
      if (req.url === '/_dev/status') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ queueUrl: q.queueUrl, dlqUrl: q.dlqUrl, sqsEndpoint: server.address, moengageBaseUrl: 'http://127.0.0.1:1' }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    try {
      const cap = capture();
      const port = (dev.address() as AddressInfo).port;
      const code = await main(['dlq', 'list', '--local', '--json'], { io: cap.io, env: { PORT: String(port) }, receiveWaitSeconds: 0 });
      expect(code).toBe(0);
      expect(JSON.parse(cap.out())).toHaveLength(3);
    } finally {
      await new Promise<void>((r) => dev.close(() => r()));
    }
  });
});

describe('the bin entry', () => {
  it('`node bin/moengage-adapter.mjs dlq list --json` runs as a subprocess', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['bin/moengage-adapter.mjs', 'dlq', 'list', '--queue-url', q.queueUrl, '--dlq-url', q.dlqUrl, '--endpoint', server.address, '--json'],
      { cwd: REPO, env, timeout: 30_000 },
    );
    const items = JSON.parse(stdout) as { eventId: string; reason: string }[];
    expect(items.map((i) => i.eventId).sort()).toEqual(['evt_clerk_1', 'evt_shopify_1', 'evt_stripe_1']);
    expect(stderr).toBe('');
    expect(inspect(q.dlqName).ready).toHaveLength(3);
  });

  it('exits 3 with one line for a missing queue', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
    const base = `${server.address}/000000000000`;
    const err = await execFileAsync(
      process.execPath,
      ['bin/moengage-adapter.mjs', 'dlq', 'list', '--queue-url', `${base}/a.fifo`, '--dlq-url', `${base}/b.fifo`, '--endpoint', server.address],
      { cwd: REPO, env, timeout: 30_000 },
    ).then(
      () => undefined,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(err?.code).toBe(3);
    expect(err?.stderr?.trim().split('\n')).toEqual([`error: Queue not found: ${base}/b.fifo does not exist (check the URL, the region and the account).`]);
  });
});

describe('redrive whose messages come back (MoEngage still refusing)', () => {
  /** The main queue "delivers" each message straight back to the DLQ, as a sender still refused by MoEngage would. */
  function refusingSender(q: Queues): SqsLike {
    let n = 0;
    const send = async (command: unknown, ...rest: unknown[]) => {
      const out = await (sqs.send as (...a: unknown[]) => Promise<unknown>)(command, ...rest);
      if (command instanceof SendMessageCommand && command.input.QueueUrl === q.queueUrl) {
        const body = command.input.MessageBody!;
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: q.dlqUrl,
            MessageBody: body,
            MessageAttributes: parkAttributes({ reason: 'moengage_rejected', attempts: 1, failedAt: '2026-03-02T12:00:01.000Z', status: 400 }, { source: 'clerk', eventType: 'user.updated' }),
            MessageGroupId: command.input.MessageGroupId,
            MessageDeduplicationId: `again-${++n}`,
          }),
        );
      }
      return out;
    };
    return { send: send as SQSClient['send'] };
  }

  it('exits 1 and says once, on stdout, how many came back', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const { ctx, cap } = makeCtx(q, { sqs: refusingSender(q) });
    expect(await redriveCommand(ctx, { filter: {}, dryRun: false, native: false })).toBe(1);
    expect(cap.out()).toBe('Moved 3 message(s) to the main queue; skipped 0; failed 0; came back to the DLQ 3.\n');
    expect(cap.errLines()).toEqual([
      'note: 3 message(s) failed again after the redrive and are back in the DLQ (not moved twice): fix the cause first.',
    ]);
    expect(inspect(q.dlqName).ready).toHaveLength(3);
  });

  it('on a terminal, the progress line is cleared, not repeated as a summary', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    const { ctx, cap } = makeCtx(q);
    ctx.io = { ...cap.io, errIsTTY: true };
    expect(await redriveCommand(ctx, { filter: {}, dryRun: false, native: false })).toBe(0);
    expect(cap.err().endsWith('\r\x1b[K')).toBe(true);
    expect(cap.err()).not.toContain('\n');
    expect(cap.out()).toBe('Moved 3 message(s) to the main queue; skipped 0; failed 0.\n');
  });
});

describe('--queue main (teardown)', () => {
  async function enqueue(q: Queues, id: string, customerId: string): Promise<void> {
    const envelope = envelopeOf({ source: 'clerk', eventId: id, customerId, reason: 'unknown' as FailureReason });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: q.queueUrl,
        MessageBody: encodeEnvelope(envelope),
        MessageGroupId: messageGroupId(customerId),
        MessageDeduplicationId: deduplicationId('clerk', id),
      }),
    );
  }

  it('purge --queue main saves every waiting message (a user\'s later ones too), empties the main queue, leaves the DLQ', async () => {
    const q = makeQueues();
    await parkStandardSet(q);
    for (const id of ['evt_wait_1', 'evt_wait_2', 'evt_wait_3']) await enqueue(q, id, 'user_same');
    await enqueue(q, 'evt_wait_4', 'user_other');
    const dir = await mkdtemp(join(tmp, 'purge-main-'));
    const { ctx, cap } = makeCtx(q);
    expect(await purgeCommand(ctx, { yes: true, export: true, cwd: dir, queue: 'main' })).toBe(0);
    const files = await readdir(dir);
    expect(files).toEqual(['main-export-20260302T120000Z.jsonl']);
    const rows = (await readFile(join(dir, files[0]!), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { body: string; reason: string | null; source: string });
    expect(eventIdsOf(rows.map((r) => r.body))).toEqual(['evt_wait_1', 'evt_wait_2', 'evt_wait_3', 'evt_wait_4']);
    expect(rows.every((r) => r.reason === null && r.source === 'clerk')).toBe(true);
    const main = inspect(q.mainName);
    expect(main.ready.length + main.inflight.length).toBe(0);
    expect(inspect(q.dlqName).ready).toHaveLength(3);
    expect(cap.out()).toBe(`Purged 4 message(s) from the main queue; saved 4 to ${join(dir, files[0]!)}.\n`);
  });

  it('export --queue main reads the main queue without consuming it', async () => {
    const q = makeQueues();
    await enqueue(q, 'evt_wait_9', 'user_nine');
    const { ctx, cap } = makeCtx(q);
    expect(await exportCommand(ctx, { out: 'main-export.jsonl', filter: {}, cwd: tmp, queue: 'main' })).toBe(0);
    const rows = (await readFile(join(tmp, 'main-export.jsonl'), 'utf8')).split('\n').filter(Boolean);
    expect(rows.map((l) => (JSON.parse(l) as { eventId: string }).eventId)).toEqual(['evt_wait_9']);
    expect(inspect(q.mainName).ready).toHaveLength(1);
    expect(cap.out()).toContain('Exported 1 message(s) from the main queue to');
  });

  it('the CLI takes --queue dlq|main on export and purge only, and refuses --reason with the main queue', async () => {
    const q = makeQueues();
    const sel = ['--queue-url', q.queueUrl, '--dlq-url', q.dlqUrl, '--endpoint', server.address];
    const bad = capture();
    expect(await main(['dlq', 'purge', ...sel, '--yes', '--queue', 'both'], { io: bad.io, env: {}, cwd: tmp })).toBe(2);
    expect(bad.errLines()[0]).toMatch(/^error: --queue must be dlq or main \(got "both"\)/);
    const reason = capture();
    expect(await main(['dlq', 'export', ...sel, '--out', 'x.jsonl', '--queue', 'main', '--reason', 'auth_failed'], { io: reason.io, env: {}, cwd: tmp })).toBe(2);
    expect(reason.errLines()[0]).toMatch(/^error: --reason filters parked messages/);
    const list = capture();
    expect(await main(['dlq', 'list', ...sel, '--queue', 'main'], { io: list.io, env: {}, cwd: tmp })).toBe(2);
  });
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const s = createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return s;
}

async function freePort(): Promise<number> {
  const s = await listen((_req, res) => res.end());
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
