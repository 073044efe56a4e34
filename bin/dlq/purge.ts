/**
 * `dlq purge --yes`: empties the DLQ (`--queue main`: the main queue, at teardown). Unless `--no-export`, it first saves every message to
 * `dlq-export-<timestamp>.jsonl` by draining: receive, append to the file and fsync, and only
 * then delete. So nothing is deleted that is not in the file, also messages that arrive during
 * the purge and, in a FIFO DLQ, the messages queued behind others of the same user (which a
 * non-consuming read cannot reach).
 * With `--no-export` it calls PurgeQueue, falling back to receive + delete where that fails
 * (an emulator without it, or a purge already in progress).
 */
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { resolve } from 'node:path';
import { EXIT, UsageError, isFatal, toCliError, firstLine, type ExitCode } from './errors';
import { exportJson, type QueueChoice } from './entry';
import { createExportFile, defaultExportName, queueLabel } from './export';
import { inspectQueues } from './queues';
import { DlqReader } from './reader';
import { line, note, type CommandContext, type Output } from './types';
import type { FileHandle } from 'node:fs/promises';

export const PURGE_NEEDS_YES =
  'purge deletes every message in the DLQ: add --yes to confirm (it saves them to dlq-export-<timestamp>.jsonl first unless --no-export).';

export interface PurgeOptions {
  yes: boolean;
  /** Save the messages before deleting them (default). */
  export: boolean;
  /** Export file; default dlq-export-<timestamp>.jsonl (main-export-... for the main queue) in cwd. */
  out?: string;
  cwd: string;
  /** The queue to empty. @default 'dlq' */
  queue?: QueueChoice;
}

/** Progress on stderr while the drain lasts; the summary is printed once, on stdout, by the caller. */
function progress(io: Output, text: string): void {
  if (io.errIsTTY) io.err(`\r\x1b[K${text}`);
  else io.err(`${text}\n`);
}

interface DrainResult {
  deleted: number;
  written: number;
  deleteFailures: number;
  interrupted: boolean;
  overLimit: boolean;
}

/** Receive → (write + fsync) → delete, until a receive comes back empty. */
async function drain(ctx: CommandContext, fh: FileHandle | undefined, queue: QueueChoice): Promise<DrainResult> {
  const reader = new DlqReader(ctx, 60, queue === 'main' ? ctx.queues.queueUrl : undefined);
  const r: DrainResult = { deleted: 0, written: 0, deleteFailures: 0, interrupted: false, overLimit: false };
  let reported = 0;
  try {
    for (;;) {
      if (ctx.signal?.aborted) {
        r.interrupted = true;
        break;
      }
      const batch = await reader.receive(10);
      if (batch.overLimit) {
        r.overLimit = true;
        break;
      }
      if (batch.received === 0) break;
      if (fh && batch.fresh.length > 0) {
        await fh.write(batch.fresh.map((e) => `${JSON.stringify(exportJson(e, queue))}\n`).join(''));
        await fh.sync();
        r.written += batch.fresh.length;
      }
      // Repeated ones are already in the file (their earlier delete failed): delete them now.
      const all = [...batch.fresh, ...batch.repeated];
      const failed = await reader.deleteMany(all);
      r.deleted += all.length - failed.length;
      r.deleteFailures += failed.length;
      if (ctx.io.errIsTTY || r.deleted - reported >= 100) {
        reported = r.deleted;
        progress(ctx.io, `purge: ${fh ? `saved ${r.written}, ` : ''}deleted ${r.deleted}`);
      }
    }
  } finally {
    await reader.releaseAll();
  }
  if (ctx.io.errIsTTY) ctx.io.err('\r\x1b[K');
  return r;
}

export async function purgeCommand(ctx: CommandContext, opts: PurgeOptions): Promise<ExitCode> {
  if (!opts.yes) throw new UsageError(PURGE_NEEDS_YES);
  const queue = opts.queue ?? 'dlq';
  const url = queue === 'main' ? ctx.queues.queueUrl : ctx.queues.dlqUrl;
  const label = queueLabel(queue);
  const info = await inspectQueues(ctx.sqs, ctx.queues, ctx.endpoint);
  for (const w of info.warnings) note(ctx.io, w);

  if (opts.export) {
    const path = resolve(opts.cwd, opts.out ?? defaultExportName(ctx.clock.now(), queue));
    const fh = await createExportFile(path);
    let r: DrainResult;
    try {
      r = await drain(ctx, fh, queue);
    } finally {
      await fh.close();
    }
    line(ctx.io, `Purged ${r.deleted} message(s) from ${label}; saved ${r.written} to ${path}.`);
    if (r.written > 0) note(ctx.io, 'note: the export holds the full messages, personal data included: keep it private and delete it when done.');
    return finish(ctx, r, label);
  }

  try {
    await ctx.sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    const about = queue === 'dlq' ? `about ${info.dlqVisible + info.dlqInFlight} message(s) are` : 'every message is';
    line(ctx.io, `Purge started: ${about} being deleted from ${label} (SQS takes up to 60 s).`);
    return EXIT.ok;
  } catch (err) {
    if (isFatal(err)) throw toCliError(err, { queueUrl: url, doing: `purging ${label}`, ...(ctx.endpoint ? { endpoint: ctx.endpoint } : {}) });
    note(ctx.io, `note: PurgeQueue did not work (${firstLine(err)}); deleting the messages one batch at a time instead.`);
  }
  const r = await drain(ctx, undefined, queue);
  line(ctx.io, `Purged ${r.deleted} message(s) from ${label} (nothing saved: --no-export).`);
  return finish(ctx, r, label);
}

function finish(ctx: CommandContext, r: DrainResult, label: string): ExitCode {
  if (r.interrupted) note(ctx.io, `interrupted: the purge stopped; what was not deleted is still in ${label} (run purge again).`);
  if (r.overLimit) note(ctx.io, 'note: SQS refused to hand out more messages (too many in flight); run purge again in a minute.');
  if (r.deleteFailures > 0) note(ctx.io, `note: ${r.deleteFailures} message(s) could not be deleted and are still in ${label}.`);
  return r.interrupted || r.overLimit || r.deleteFailures > 0 ? EXIT.failed : EXIT.ok;
}
