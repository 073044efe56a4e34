/**
 * Reads the DLQ without consuming it: ReceiveMessage with a short visibility timeout, keep what
 * was seen in flight while the scan goes on (otherwise the next receive returns the same
 * messages again: FIFO queues always hand out the head of each group first), and make it all
 * visible again (ChangeMessageVisibility 0) the moment the scan ends, also on errors and Ctrl-C.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type MessageSystemAttributeName,
} from '@aws-sdk/client-sqs';
import { errorNames, toCliError } from './errors';
import { toEntry, type DlqEntry } from './entry';
import { note, type CommandContext } from './types';

const SYSTEM_ATTRIBUTES: MessageSystemAttributeName[] = ['SentTimestamp', 'MessageGroupId', 'MessageDeduplicationId', 'ApproximateReceiveCount'];

export interface ReceiveResult {
  /** How many messages the receive returned. */
  received: number;
  /** Messages not seen before in this scan. */
  fresh: DlqEntry[];
  /** Messages seen before (their visibility ran out during the scan); held again with the new receipt handle. */
  repeated: DlqEntry[];
  /** SQS refused: too many messages in flight. The scan cannot go further. */
  overLimit: boolean;
}

export class DlqReader {
  private readonly held = new Map<string, string>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly ctx: CommandContext,
    private readonly visibilitySeconds: number,
    /** The queue read: the DLQ unless told otherwise (`--queue main`). */
    private readonly queueUrl?: string,
  ) {}

  private get url(): string {
    return this.queueUrl ?? this.ctx.queues.dlqUrl;
  }

  get heldCount(): number {
    return this.held.size;
  }

  get seenCount(): number {
    return this.seen.size;
  }

  async receive(max = 10): Promise<ReceiveResult> {
    let messages;
    try {
      const res = await this.ctx.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.url,
          MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
          VisibilityTimeout: this.visibilitySeconds,
          WaitTimeSeconds: this.ctx.receiveWaitSeconds ?? 1,
          MessageSystemAttributeNames: SYSTEM_ATTRIBUTES,
          MessageAttributeNames: ['All'],
        }),
      );
      messages = res.Messages ?? [];
    } catch (err) {
      if (errorNames(err).some((n) => n === 'OverLimit' || n === 'AWS.SimpleQueueService.OverLimit')) {
        return { received: 0, fresh: [], repeated: [], overLimit: true };
      }
      throw toCliError(err, { queueUrl: this.url, doing: `reading the ${this.queueUrl ? 'queue' : 'DLQ'}` });
    }
    const fresh: DlqEntry[] = [];
    const repeated: DlqEntry[] = [];
    for (const m of messages) {
      const entry = toEntry(m);
      if (!entry.messageId || !entry.receiptHandle) continue;
      this.held.set(entry.messageId, entry.receiptHandle);
      if (this.seen.has(entry.messageId)) repeated.push(entry);
      else {
        this.seen.add(entry.messageId);
        fresh.push(entry);
      }
    }
    return { received: messages.length, fresh, repeated, overLimit: false };
  }

  /** Deletes one message from the DLQ (with its latest receipt handle). Throws a CliError on failure. */
  async delete(entry: DlqEntry): Promise<void> {
    const handle = this.held.get(entry.messageId) ?? entry.receiptHandle;
    try {
      await this.ctx.sqs.send(new DeleteMessageCommand({ QueueUrl: this.url, ReceiptHandle: handle }));
    } catch (err) {
      throw toCliError(err, { queueUrl: this.url, doing: 'deleting from the DLQ' });
    }
    this.held.delete(entry.messageId);
  }

  /** Deletes messages in batches of 10; returns the ones SQS did not delete. */
  async deleteMany(entries: readonly DlqEntry[]): Promise<DlqEntry[]> {
    const failed: DlqEntry[] = [];
    for (let i = 0; i < entries.length; i += 10) {
      const chunk = entries.slice(i, i + 10);
      try {
        const res = await this.ctx.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.url,
            Entries: chunk.map((e, j) => ({ Id: String(j), ReceiptHandle: this.held.get(e.messageId) ?? e.receiptHandle })),
          }),
        );
        const bad = new Set((res.Failed ?? []).map((f) => f.Id));
        chunk.forEach((e, j) => {
          if (bad.has(String(j))) failed.push(e);
          else this.held.delete(e.messageId);
        });
      } catch (err) {
        throw toCliError(err, { queueUrl: this.url, doing: 'deleting from the DLQ' });
      }
    }
    return failed;
  }

  /** Makes every held message visible again at once. Never throws: a message not released reappears when its visibility timeout ends. */
  async releaseAll(): Promise<void> {
    const handles = [...this.held.entries()];
    this.held.clear();
    let failed = 0;
    for (let i = 0; i < handles.length; i += 10) {
      const chunk = handles.slice(i, i + 10);
      try {
        const res = await this.ctx.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.url,
            Entries: chunk.map(([, handle], j) => ({ Id: String(j), ReceiptHandle: handle, VisibilityTimeout: 0 })),
          }),
        );
        failed += res.Failed?.length ?? 0;
      } catch {
        failed += chunk.length;
      }
    }
    if (failed > 0) {
      note(this.ctx.io, `note: ${failed} message(s) could not be made visible again at once; they reappear in the DLQ within ${this.visibilitySeconds} s.`);
    }
  }
}

export interface ScanOptions {
  /** Only these are passed to onMatch and counted against the limit. */
  filter: (entry: DlqEntry) => boolean;
  limit?: number;
  /** Visibility timeout of the scan's receives: how long a message stays hidden if the tool is killed mid-scan. */
  visibilitySeconds?: number;
  onMatch: (entry: DlqEntry) => void | Promise<void>;
  /** The queue to read. @default the DLQ */
  queueUrl?: string;
}

export interface ScanResult {
  seen: number;
  matched: number;
  /** Stopped at the limit: there may be more. */
  limitReached: boolean;
  /** SQS refused to hand out more (too many messages in flight). */
  overLimit: boolean;
  interrupted: boolean;
}

/** Rounds in a row that bring nothing new before the scan stops. */
const IDLE_ROUNDS = 5;

/** Visits every message of the DLQ once, without consuming any. */
export async function scanDlq(ctx: CommandContext, opts: ScanOptions): Promise<ScanResult> {
  const reader = new DlqReader(ctx, opts.visibilitySeconds ?? 60, opts.queueUrl);
  const result: ScanResult = { seen: 0, matched: 0, limitReached: false, overLimit: false, interrupted: false };
  let idle = 0;
  try {
    scan: for (;;) {
      if (ctx.signal?.aborted) {
        result.interrupted = true;
        break;
      }
      if (opts.limit !== undefined && result.matched >= opts.limit) {
        result.limitReached = true;
        break;
      }
      const r = await reader.receive(10);
      if (r.overLimit) {
        result.overLimit = true;
        break;
      }
      if (r.received === 0) break;
      if (r.fresh.length === 0) {
        if (++idle >= IDLE_ROUNDS) break;
        continue;
      }
      idle = 0;
      for (const entry of r.fresh) {
        result.seen++;
        if (!opts.filter(entry)) continue;
        if (opts.limit !== undefined && result.matched >= opts.limit) {
          result.limitReached = true;
          break scan;
        }
        result.matched++;
        await opts.onMatch(entry);
      }
    }
  } finally {
    await reader.releaseAll();
  }
  return result;
}
