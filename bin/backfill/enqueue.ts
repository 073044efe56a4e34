/**
 * Writes envelopes to the main queue with SendMessageBatch: at most 10 entries and 256 KiB per
 * call. Entries SQS refuses for a passing reason (SenderFault false is the queue's fault:
 * throttling, an internal error) and whole calls that fail in transit are retried with backoff
 * under their same deduplication id; an entry refused as invalid stops the run with the code
 * SQS gave (never dropped in silence). Returns when SQS accepted every entry.
 */
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { OperationError, isFatal, toCliError } from '../dlq/errors';
import type { Clock, SqsLike } from '../dlq/types';

export interface QueueEntry {
  body: string;
  groupId?: string;
  deduplicationId?: string;
  attributes: Record<string, string>;
}

const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;

/** Splits entries into SendMessageBatch calls (count and size limits). */
function batches(entries: readonly QueueEntry[]): QueueEntry[][] {
  const out: QueueEntry[][] = [];
  let cur: QueueEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = Buffer.byteLength(e.body) + Object.entries(e.attributes).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v) + 6, 0);
    if (cur.length > 0 && (cur.length >= MAX_BATCH_ENTRIES || bytes + size > MAX_BATCH_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(e);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export interface EnqueueOptions {
  sqs: SqsLike;
  queueUrl: string;
  clock: Clock;
  endpoint?: string;
  /** Attempts per entry. Default 8. */
  maxAttempts?: number;
  /** Backoff base in ms. Default 200. */
  baseDelayMs?: number;
  onRetry?: (failed: number, why: string) => void;
}

/** Sends one batch until SQS has accepted every entry. Not interruptible: a started batch is finished. */
async function sendBatch(batch: readonly QueueEntry[], o: EnqueueOptions): Promise<void> {
  const maxAttempts = o.maxAttempts ?? 8;
  const base = o.baseDelayMs ?? 200;
  let pending = batch.map((e, i) => ({ id: `m${i}`, e }));
  for (let attempt = 1; ; attempt++) {
    const entries: SendMessageBatchRequestEntry[] = pending.map(({ id, e }) => ({
      Id: id,
      MessageBody: e.body,
      MessageAttributes: Object.fromEntries(Object.entries(e.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])),
      ...(e.groupId ? { MessageGroupId: e.groupId } : {}),
      ...(e.deduplicationId ? { MessageDeduplicationId: e.deduplicationId } : {}),
    }));
    let why: string;
    try {
      const res = await o.sqs.send(new SendMessageBatchCommand({ QueueUrl: o.queueUrl, Entries: entries }));
      const failed = res.Failed ?? [];
      if (failed.length === 0) return;
      const permanent = failed.find((f) => f.SenderFault === true);
      if (permanent) {
        throw new OperationError(`The queue refused a message (${permanent.Code ?? 'error'}${permanent.Message ? `: ${permanent.Message.slice(0, 160)}` : ''}).`);
      }
      const ids = new Set(failed.map((f) => f.Id));
      pending = pending.filter((p) => ids.has(p.id));
      why = failed[0]?.Code ?? 'failed';
    } catch (err) {
      if (err instanceof OperationError) throw err;
      const cli = toCliError(err, { doing: 'sending to the queue', queueUrl: o.queueUrl, ...(o.endpoint ? { endpoint: o.endpoint } : {}) });
      if (isFatal(err)) throw cli;
      why = cli.message;
    }
    if (attempt >= maxAttempts) {
      throw new OperationError(`The queue did not accept ${pending.length} message(s) after ${maxAttempts} attempts (${why}); run again with --resume.`);
    }
    o.onRetry?.(pending.length, why);
    const delay = Math.min(10_000, base * 2 ** (attempt - 1));
    await o.clock.sleep(delay);
  }
}

/** Sends every entry (a page: Ctrl-C takes effect after it, so that the checkpoint stays exact). */
export async function sendAll(entries: readonly QueueEntry[], o: EnqueueOptions): Promise<void> {
  for (const b of batches(entries)) await sendBatch(b, o);
}
