/** `dlq export --out FILE.jsonl`: every parked message, with body and attributes, one JSON object per line. */
import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EXIT, OperationError, UsageError, type ExitCode } from './errors';
import { exportJson, matches, type EntryFilter } from './entry';
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

/** `dlq-export-20260105T103000Z.jsonl` */
export function defaultExportName(nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `dlq-export-${stamp}.jsonl`;
}

export interface ExportOptions {
  out: string;
  filter: EntryFilter;
  /** Relative --out paths are resolved against it. */
  cwd: string;
}

export async function exportCommand(ctx: CommandContext, opts: ExportOptions): Promise<ExitCode> {
  const info = await inspectQueues(ctx.sqs, ctx.queues, ctx.endpoint);
  for (const w of info.warnings) note(ctx.io, w);
  const path = resolve(opts.cwd, opts.out);
  const fh = await createExportFile(path);
  let scan;
  try {
    scan = await scanDlq(ctx, {
      filter: (e) => matches(e, opts.filter),
      visibilitySeconds: 60,
      onMatch: async (e) => {
        await fh.write(`${JSON.stringify(exportJson(e))}\n`);
      },
    });
    await fh.sync();
  } finally {
    await fh.close();
  }
  line(ctx.io, `Exported ${scan.matched} message(s)${describeFilter(opts.filter)} to ${path} (nothing was removed from the DLQ).`);
  if (scan.matched > 0) note(ctx.io, 'note: the file holds the full messages, personal data included: keep it private and delete it when done.');
  scanNotes(ctx, info, scan, opts.filter, 'the export');
  return scan.interrupted ? EXIT.failed : EXIT.ok;
}
