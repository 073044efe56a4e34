/** `dlq list`: what is parked and why, without consuming anything. */
import { EXIT, type ExitCode } from './errors';
import { hasFilter, listJson, matches, type DlqEntry, type EntryFilter } from './entry';
import { countBy, describeFilter, entryRow, failedAtMs, renderTable, TABLE_HEADERS } from './format';
import { inspectQueues, type QueueInfo } from './queues';
import { scanDlq, type ScanResult } from './reader';
import { line, note, type CommandContext } from './types';

export const DEFAULT_LIST_LIMIT = 100;

export interface ListOptions {
  json: boolean;
  limit: number;
  filter: EntryFilter;
}

/** Notes shared by list and export about what a non-consuming read could not see. */
export function scanNotes(ctx: CommandContext, info: QueueInfo, scan: ScanResult, filter: EntryFilter, what: string): void {
  if (scan.interrupted) note(ctx.io, `interrupted: ${what} is incomplete.`);
  if (scan.overLimit) note(ctx.io, `note: SQS refused to hand out more messages (too many in flight); ${what} is incomplete.`);
  if (info.dlqInFlight > 0) note(ctx.io, `note: about ${info.dlqInFlight} DLQ message(s) were in flight (being read by someone else) and could not be seen.`);
  if (info.fifo && !hasFilter(filter) && !scan.limitReached && !scan.interrupted && scan.seen < info.dlqVisible) {
    note(
      ctx.io,
      `note: saw ${scan.seen} of about ${info.dlqVisible} messages. In a FIFO DLQ a user's later messages stay hidden behind the earlier ones until those are redriven or purged (redrive and purge reach them all).`,
    );
  }
}

export async function listCommand(ctx: CommandContext, opts: ListOptions): Promise<ExitCode> {
  const info = await inspectQueues(ctx.sqs, ctx.queues, ctx.endpoint);
  for (const w of info.warnings) note(ctx.io, w);
  const entries: DlqEntry[] = [];
  const scan = await scanDlq(ctx, {
    filter: (e) => matches(e, opts.filter),
    limit: opts.limit,
    visibilitySeconds: 60,
    onMatch: (e) => {
      entries.push(e);
    },
  });
  // Oldest failure first.
  entries.sort((a, b) => (failedAtMs(a) ?? Infinity) - (failedAtMs(b) ?? Infinity));

  if (opts.json) {
    line(ctx.io, JSON.stringify(entries.map(listJson), null, 2));
  } else if (entries.length === 0) {
    line(ctx.io, scan.seen === 0 ? 'The DLQ is empty.' : `No message${describeFilter(opts.filter)} (${scan.seen} seen).`);
  } else {
    const now = ctx.clock.now();
    ctx.io.out(renderTable(TABLE_HEADERS, entries.map((e) => entryRow(e, now))));
    line(ctx.io, '');
    line(ctx.io, `${entries.length} message(s)${describeFilter(opts.filter)}; by reason: ${countBy(entries, (e) => e.reason)}`);
  }
  if (scan.limitReached) note(ctx.io, `note: stopped at --limit ${opts.limit}; there may be more (raise --limit, or use export).`);
  scanNotes(ctx, info, scan, opts.filter, 'the list');
  return scan.interrupted ? EXIT.failed : EXIT.ok;
}
