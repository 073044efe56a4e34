/**
 * `dlq redrive`: moves parked messages back to the main queue.
 *
 * Default path (works on AWS and on fauxqs): receive from the DLQ, SendMessage to the main queue
 * with the same body, then DeleteMessage from the DLQ, only after the main queue accepted it.
 * Interrupted at any point, nothing is lost: a message is either still in the DLQ (it reappears
 * there) or already in the main queue; at worst a rerun sends one message twice.
 *
 * `--native` (AWS only, unfiltered): StartMessageMoveTask from the DLQ to the main queue.
 */
import { createHash } from 'node:crypto';
import {
  SendMessageCommand,
  StartMessageMoveTaskCommand,
  type MessageAttributeValue,
  type SendMessageCommandInput,
} from '@aws-sdk/client-sqs';
import { deduplicationId, messageGroupId } from '../../functions/core/envelope';
import { EXIT, OperationError, UsageError, errorNames, firstLine, isFatal, toCliError, type ExitCode } from './errors';
import { hasFilter, matches, PARK_ATTRIBUTE_NAMES, type DlqEntry, type EntryFilter } from './entry';
import { describeFilter, entryRow, renderTable, TABLE_HEADERS } from './format';
import { inspectQueues, type QueueInfo } from './queues';
import { DlqReader } from './reader';
import { line, note, type Clock, type CommandContext, type Output } from './types';

export interface RedriveOptions {
  filter: EntryFilter;
  dryRun: boolean;
  /** Messages per second sent to the main queue (default: as fast as SQS takes them). */
  rate?: number;
  /** Move at most this many. */
  limit?: number;
  /** StartMessageMoveTask instead of receive / send / delete (AWS only, no filters). */
  native: boolean;
}

export interface RedriveCounts {
  moved: number;
  /** Not matching the filters (made visible again at the end). */
  skipped: number;
  /** Parked again during this run after being moved (left in the DLQ, not moved twice). */
  returned: number;
  /** Not moved (still in the DLQ), or moved but not deleted from the DLQ. */
  failed: number;
}

/** Sends at most `rate` per second: waits before each send until its slot. No catch-up bursts after a slow send. */
export function createPacer(clock: Clock, rate: number | undefined, signal?: AbortSignal): () => Promise<void> {
  let next: number | undefined;
  return async () => {
    if (!rate || rate <= 0) return;
    const interval = 1000 / rate;
    const now = clock.now();
    if (next !== undefined && now < next) await clock.sleep(next - now, signal);
    next = Math.max(now, next ?? now) + interval;
  };
}

/** Failure attributes are dropped (a redriven message starts fresh); anything else is kept. */
export function keptAttributes(attrs: Record<string, MessageAttributeValue>): Record<string, MessageAttributeValue> {
  const kept: Record<string, MessageAttributeValue> = {};
  for (const [name, v] of Object.entries(attrs)) {
    if (PARK_ATTRIBUTE_NAMES.includes(name)) continue;
    const value: MessageAttributeValue = { DataType: v.DataType ?? 'String' };
    if (v.StringValue !== undefined) value.StringValue = v.StringValue;
    if (v.BinaryValue !== undefined) value.BinaryValue = v.BinaryValue;
    if (value.StringValue === undefined && value.BinaryValue === undefined) continue;
    kept[name] = value;
  }
  return kept;
}

const SQS_ID_CHARS = /[^A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/**
 * A FRESH FIFO deduplication id: `${original}:r:${time}${random}`, at most 128 characters.
 * Never the original (the main queue would silently drop it as a duplicate within 5 minutes)
 * and never a stable one (a message redriven twice within 5 minutes would be dropped, and lost).
 */
export function freshDeduplicationId(original: string, nowMs: number, random: string): string {
  const base = original.replace(/(:r:[A-Za-z0-9]+)+$/, '').replace(SQS_ID_CHARS, '_');
  const suffix = `:r:${nowMs.toString(36)}${random.replace(/[^A-Za-z0-9]/g, '').slice(0, 16)}`;
  return `${base.slice(0, 128 - suffix.length)}${suffix}`;
}

/** The group the message had (so that the user's order holds), else the one the receiver would have given it. */
export function groupIdFor(e: DlqEntry): string {
  if (e.attributes.MessageGroupId) return e.attributes.MessageGroupId;
  const env = e.envelope;
  if (env) return messageGroupId(env.payload.customer_id ?? `${env.source}:${env.eventId}`);
  return messageGroupId(`dlq:${e.messageId}`);
}

/** The receiver's id for this event (the DLQ's own `parked:<id>` scheme is not the main queue's), else what the message had. */
function originalDedupId(e: DlqEntry): string {
  if (e.envelope) return deduplicationId(e.envelope.source, e.envelope.eventId);
  return e.attributes.MessageDeduplicationId ?? `dlq-${e.messageId}`;
}

export function sendInput(e: DlqEntry, queueUrl: string, fifo: boolean, nowMs: number, random: string): SendMessageCommandInput {
  const input: SendMessageCommandInput = { QueueUrl: queueUrl, MessageBody: e.body };
  const attrs = keptAttributes(e.messageAttributes);
  if (Object.keys(attrs).length > 0) input.MessageAttributes = attrs;
  if (fifo) {
    input.MessageGroupId = groupIdFor(e);
    input.MessageDeduplicationId = freshDeduplicationId(originalDedupId(e), nowMs, random);
  }
  return input;
}

function bodyKey(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

function progressText(c: RedriveCounts): string {
  return `redrive: moved ${c.moved}, skipped ${c.skipped}, failed ${c.failed}${c.returned ? `, came back ${c.returned}` : ''}`;
}

/** Progress on stderr while the run lasts: rewritten in place on a terminal, a line per 100 moved otherwise. */
function progress(io: Output, c: RedriveCounts): void {
  if (io.errIsTTY) io.err(`\r\x1b[K${progressText(c)}`);
  else io.err(`${progressText(c)}\n`);
}

/** Removes the progress line from a terminal: the summary is printed once, on stdout. */
function clearProgress(io: Output): void {
  if (io.errIsTTY) io.err('\r\x1b[K');
}

/** Send failures in a row after which the main queue is taken to be down and the run stops. */
const MAX_CONSECUTIVE_FAILURES = 5;

export async function redriveCommand(ctx: CommandContext, opts: RedriveOptions): Promise<ExitCode> {
  if (opts.rate !== undefined && !(opts.rate > 0)) throw new UsageError('--rate must be a positive number of messages per second.');
  if (opts.native && hasFilter(opts.filter)) throw new UsageError('--native moves every message: it cannot filter by --reason / --source (leave out --native).');
  if (opts.native && opts.limit !== undefined) throw new UsageError('--native moves every message: it cannot stop at --limit (leave out --native).');
  const info = await inspectQueues(ctx.sqs, ctx.queues, ctx.endpoint);
  for (const w of info.warnings) note(ctx.io, w);
  if (opts.native) return nativeRedrive(ctx, info, opts);

  const batchSeconds = opts.rate ? Math.ceil(10 / opts.rate) : 1;
  const reader = new DlqReader(ctx, Math.min(43_200, Math.max(60, 2 * batchSeconds + 30)));
  const pace = createPacer(ctx.clock, opts.rate, ctx.signal);
  const counts: RedriveCounts = { moved: 0, skipped: 0, returned: 0, failed: 0 };
  const movedBodies = new Set<string>();
  /** Sent to the main queue but not deleted from the DLQ: deleted when seen again, never resent in this run. */
  const sentNotDeleted = new Map<string, DlqEntry>();
  const wouldMove: DlqEntry[] = [];
  let consecutiveFailures = 0;
  let interrupted = false;
  let fatal: unknown;
  let idle = 0;
  const done = () => opts.limit !== undefined && counts.moved + wouldMove.length >= opts.limit;

  try {
    run: for (;;) {
      if (ctx.signal?.aborted) {
        interrupted = true;
        break;
      }
      if (done()) break;
      const batch = await reader.receive(10);
      if (batch.overLimit) {
        note(ctx.io, 'note: SQS refused to hand out more messages (too many in flight); run redrive again to continue.');
        break;
      }
      if (batch.received === 0) break;
      for (const e of batch.repeated) {
        if (!sentNotDeleted.has(e.messageId)) continue;
        try {
          await reader.delete(e);
          sentNotDeleted.delete(e.messageId);
        } catch {
          // Still there; reported at the end.
        }
      }
      if (batch.fresh.length === 0) {
        if (++idle >= 5) break;
        continue;
      }
      idle = 0;
      for (const e of batch.fresh) {
        if (ctx.signal?.aborted) {
          interrupted = true;
          break run;
        }
        if (!matches(e, opts.filter) || done()) {
          counts.skipped++;
          continue;
        }
        const key = bodyKey(e.body);
        if (movedBodies.has(key)) {
          counts.returned++;
          continue;
        }
        if (opts.dryRun) {
          wouldMove.push(e);
          continue;
        }
        await pace();
        if (ctx.signal?.aborted) {
          interrupted = true;
          break run;
        }
        try {
          await ctx.sqs.send(new SendMessageCommand(sendInput(e, ctx.queues.queueUrl, info.fifo, ctx.clock.now(), ctx.randomId())));
        } catch (err) {
          if (isFatal(err)) {
            fatal = toCliError(err, { queueUrl: ctx.queues.queueUrl, doing: 'sending to the main queue', ...(ctx.endpoint ? { endpoint: ctx.endpoint } : {}) });
            break run;
          }
          counts.failed++;
          if (++consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) {
            fatal = new OperationError(
              `Stopped: the main queue refused ${consecutiveFailures} messages in a row (last: ${errorNames(err)[0] ?? 'Error'}: ${firstLine(err)}). Nothing was lost; rerun redrive when it accepts messages again.`,
            );
            break run;
          }
          continue;
        }
        consecutiveFailures = 0;
        movedBodies.add(key);
        counts.moved++;
        try {
          await reader.delete(e);
        } catch (err) {
          sentNotDeleted.set(e.messageId, e);
          note(ctx.io, `warning: message ${e.messageId} is in the main queue but could not be deleted from the DLQ (${firstLine(err)}); a rerun would send it again.`);
          if (isFatal(err)) {
            fatal = err;
            break run;
          }
        }
        if (ctx.io.errIsTTY || counts.moved % 100 === 0) progress(ctx.io, counts);
      }
    }
  } catch (err) {
    fatal = err;
  } finally {
    await reader.releaseAll();
  }
  counts.failed += sentNotDeleted.size;

  if (opts.dryRun) {
    if (wouldMove.length > 0) {
      const now = ctx.clock.now();
      ctx.io.out(renderTable(['MESSAGE ID', ...TABLE_HEADERS], wouldMove.map((e) => [e.messageId, ...entryRow(e, now)])));
    }
    line(
      ctx.io,
      `Dry run: would move ${wouldMove.length} message(s)${describeFilter(opts.filter)} to ${ctx.queues.queueUrl}; ${counts.skipped} would stay. Nothing was changed.`,
    );
  } else {
    clearProgress(ctx.io);
    line(
      ctx.io,
      `Moved ${counts.moved} message(s)${describeFilter(opts.filter)} to the main queue; skipped ${counts.skipped}; failed ${counts.failed}${
        counts.returned > 0 ? `; came back to the DLQ ${counts.returned}` : ''
      }.`,
    );
    if (counts.returned > 0) {
      note(ctx.io, `note: ${counts.returned} message(s) failed again after the redrive and are back in the DLQ (not moved twice): fix the cause first.`);
    }
  }
  if (info.fifo && hasFilter(opts.filter) && counts.skipped > 0) {
    note(ctx.io, 'note: in a FIFO DLQ, a user\'s later messages stay behind a skipped earlier one; they are moved once it is redriven or purged.');
  }
  if (interrupted) note(ctx.io, 'interrupted: nothing was lost; run the same redrive again to continue.');
  if (fatal) throw toCliError(fatal, { queueUrl: ctx.queues.dlqUrl, ...(ctx.endpoint ? { endpoint: ctx.endpoint } : {}) });
  // A message that came back was not delivered: for a script, that is a failure like any other.
  return interrupted || counts.failed > 0 || counts.returned > 0 ? EXIT.failed : EXIT.ok;
}

async function nativeRedrive(ctx: CommandContext, info: QueueInfo, opts: RedriveOptions): Promise<ExitCode> {
  const rate = opts.rate === undefined ? undefined : Math.max(1, Math.min(500, Math.floor(opts.rate)));
  if (opts.dryRun) {
    line(ctx.io, `Dry run: would start an SQS message move task from ${info.dlqArn} to ${info.mainArn} for about ${info.dlqVisible} message(s)${rate ? ` at ${rate}/s` : ''}. Nothing was changed.`);
    return EXIT.ok;
  }
  let handle: string | undefined;
  try {
    const res = await ctx.sqs.send(
      new StartMessageMoveTaskCommand({ SourceArn: info.dlqArn, DestinationArn: info.mainArn, ...(rate ? { MaxNumberOfMessagesPerSecond: rate } : {}) }),
    );
    handle = res.TaskHandle;
  } catch (err) {
    const e = toCliError(err, { queueUrl: ctx.queues.dlqUrl, doing: 'starting the message move task', ...(ctx.endpoint ? { endpoint: ctx.endpoint } : {}) });
    if (e.exitCode === EXIT.failed && errorNames(err).some((n) => /InvalidAction|UnsupportedOperation|UnknownOperation/.test(n))) {
      throw new OperationError('This SQS endpoint has no StartMessageMoveTask (emulators lack it): run redrive without --native.');
    }
    throw e;
  }
  line(ctx.io, `Started an SQS message move task for about ${info.dlqVisible} message(s) (task ${handle ?? 'unknown'}).`);
  note(ctx.io, `Follow it with: aws sqs list-message-move-tasks --source-arn ${info.dlqArn}`);
  note(ctx.io, 'note: unlike the default redrive, a native move keeps the failure_* attributes on the messages.');
  return EXIT.ok;
}
