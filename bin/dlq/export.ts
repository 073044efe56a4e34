/**
 * `dlq export --out FILE.jsonl`: every parked message, with body and attributes, one JSON object
 * per line. `--queue main` reads the main queue instead (what is still waiting for delivery).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EXIT, OperationError, UsageError, type ExitCode } from './errors';
import { exportJson, matches, type EntryFilter, type QueueChoice } from './entry';
import { describeFilter } from './format';
import { scanNotes } from './list';
import { inspectQueues } from './queues';
import { scanDlq } from './reader';
import { line, note, type CommandContext } from './types';

/** Creates the export file: never overwrites one (an earlier export may be the only copy), owner-only (it holds personal data). */
export async function createExportFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'wx', 0o600);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EEXIST') throw new UsageError(`${path} already exists: choose another file (an export is never overwritten).`);
    if (code === 'ENOENT') throw new UsageError(`Cannot create ${path}: its directory does not exist.`);
    if (code === 'EISDIR') throw new UsageError(`${path} is a directory: give a file name.`);
    throw new OperationError(`Cannot create ${path}: ${code ?? (err as Error).message}.`);
  }
}

/** `dlq-export-20260105T103000Z.jsonl` (the DLQ), `main-export-20260105T103000Z.jsonl` (the main queue). */
export function defaultExportName(nowMs: number, queue: QueueChoice = 'dlq'): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${queue}-export-${stamp}.jsonl`;
}

/** How messages name the queue read. */
export function queueLabel(queue: QueueChoice): string {
  return queue === 'main' ? 'the main queue' : 'the DLQ';
}

export interface ExportOptions {
  out: string;
  filter: EntryFilter;
  /** Relative --out paths are resolved against it. */
  cwd: string;
  /** @default 'dlq' */
  queue?: QueueChoice;
}

export async function exportCommand(ctx: CommandContext, opts: ExportOptions): Promise<ExitCode> {
  const info = await inspectQueues(ctx.sqs, ctx.queues, ctx.endpoint);
  for (const w of info.warnings) note(ctx.io, w);
  const queue = opts.queue ?? 'dlq';
  if (queue === 'main' && opts.filter.reason !== undefined) throw new UsageError('--reason filters parked messages: it does not go with --queue main.');
  const path = resolve(opts.cwd, opts.out);
  const fh = await createExportFile(path);
  let scan;
  try {
    scan = await scanDlq(ctx, {
      filter: (e) => matches(e, opts.filter),
      visibilitySeconds: 60,
      ...(queue === 'main' ? { queueUrl: ctx.queues.queueUrl } : {}),
      onMatch: async (e) => {
        await fh.write(`${JSON.stringify(exportJson(e, queue))}\n`);
      },
    });
    await fh.sync();
  } finally {
    await fh.close();
  }
  const from = queue === 'main' ? ' from the main queue' : '';
  line(ctx.io, `Exported ${scan.matched} message(s)${describeFilter(opts.filter)}${from} to ${path} (nothing was removed from ${queueLabel(queue)}).`);
  if (scan.matched > 0) note(ctx.io, 'note: the file holds the full messages, personal data included: keep it private and delete it when done.');
  if (queue === 'dlq') scanNotes(ctx, info, scan, opts.filter, 'the export');
  else {
    if (scan.interrupted) note(ctx.io, 'interrupted: the export is incomplete.');
    if (scan.overLimit) note(ctx.io, 'note: SQS refused to hand out more messages (too many in flight); the export is incomplete.');
    if (info.fifo) {
      note(
        ctx.io,
        'note: in a FIFO queue a user\'s later messages stay hidden behind the earlier ones, and messages the sender is processing are not seen: to save every message (teardown), use `dlq purge --queue main --yes` once providers no longer send.',
      );
    }
  }
  return scan.interrupted ? EXIT.failed : EXIT.ok;
}
