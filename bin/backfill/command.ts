/**
 * `backfill <source>`: reads the provider's users page by page, maps each one with the source's
 * own map() and options (exactly as its webhook), and enqueues it as an envelope versioned at
 * the moment it was read, in the user's FIFO group and state key. The sender then delivers it
 * like any webhook: MoEngage's limits, retries, the DLQ and the per-user state guard (a webhook
 * newer than the read wins; an older one is dropped; a tombstone stays).
 */
import { sourceOptions, type AdapterConfig } from '../../functions/core/config';
import { deduplicationId, encodeEnvelope, ENVELOPE_VERSION, messageGroupId, type Envelope } from '../../functions/core/envelope';
import { versionKey } from '../../functions/core/version';
import { SOURCES } from '../../functions/sources';
import { TOOL_COMMAND } from '../../lib/tool-command';
import type { SourceContext } from '../../functions/sources/types';
import { CliError, ConfigError, EXIT, OperationError, UsageError, toCliError } from '../dlq/errors';
import { maskCustomerId } from '../dlq/format';
import { line, note, type Clock, type Output, type SqsLike } from '../dlq/types';
import { defaultCheckpointPath, emptyCounts, loadCheckpoint, saveCheckpoint, skippedTotal, type Checkpoint, type Counts } from './checkpoint';
import { sendAll, type QueueEntry } from './enqueue';
import { Interrupted, ProviderPolicy, scrub } from './http';
import { createReader, READER_INFO } from './readers';
import type { BackfillSource, Reader } from './types';

export interface BackfillOptions {
  source: BackfillSource;
  apiUrl?: string;
  since?: Date;
  limit?: number;
  dryRun: boolean;
  /** Provider requests per second; default: the reader's. */
  rate?: number;
  resume: boolean;
  json: boolean;
  /** --checkpoint FILE (relative to cwd), else `.moengage-backfill-<source>.json`. */
  checkpoint?: string;
  config: AdapterConfig;
}

export interface BackfillContext {
  io: Output;
  clock: Clock;
  env: Record<string, string | undefined>;
  cwd: string;
  fetch: typeof fetch;
  signal?: AbortSignal;
  /** Absent only in a dry run without a queue. */
  queue?: { sqs: SqsLike; queueUrl: string; fifo: boolean; endpoint?: string };
  /** For tests: the reader to use instead of the real one. */
  reader?: (policy: (secrets: string[], authHint: string) => ProviderPolicy) => Reader;
  /** Seconds between progress lines when stderr is not a terminal. Default 30. */
  plainProgressEverySeconds?: number;
  /** Backoff base of queue retries (tests: 1). */
  queueRetryBaseMs?: number;
}

export type BackfillStatus = 'complete' | 'limit' | 'interrupted' | 'failed';

export interface BackfillSummary {
  source: BackfillSource;
  dryRun: boolean;
  status: BackfillStatus;
  read: number;
  enqueued: number;
  /** Dry run: the objects that would have been enqueued. */
  wouldEnqueue?: number;
  skipped: { reason: string; count: number }[];
  filtered: number;
  pages: number;
  requests: number;
  rateLimited: number;
  elapsedMs: number;
  checkpoint: string | null;
  /** Dry run: one mapped payload, every value masked. */
  sample?: unknown;
  error?: string;
}

/** Masks every string and number of a payload (keys, booleans and null stay): the dry run's sample. */
function maskValue(v: unknown): unknown {
  if (typeof v === 'string') return maskCustomerId(v);
  if (typeof v === 'number') return '#';
  if (Array.isArray(v)) return v.map(maskValue);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskValue(x)]));
  return v;
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export async function backfillCommand(ctx: BackfillContext, opts: BackfillOptions): Promise<number> {
  const { io, clock } = ctx;
  const info = READER_INFO[opts.source];
  const options = sourceOptions(opts.config, opts.source);
  if (!options.enabled) throw new ConfigError(`The source ${opts.source} is disabled in the adapter configuration (sources.${opts.source}.enabled: false).`);
  if (!opts.dryRun && !ctx.queue) throw new UsageError('Choose the queue: --stack NAME, --queue-url URL or --local (or --dry-run to only read and map).');

  const rate = opts.rate ?? info.defaultRate;
  let waitNote = '';
  let policyRef: ProviderPolicy | undefined;
  const makePolicy = (secrets: string[], authHint: string) =>
    (policyRef = new ProviderPolicy({
      clock,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      provider: info.provider,
      authHint,
      secrets,
      rate,
      onWait: (ms, why) => {
        waitNote = `waiting ${fmtDuration(ms)} (${why})`;
        progress(true);
        waitNote = '';
      },
    }));
  const reader = ctx.reader ? ctx.reader(makePolicy) : createReader(opts.source, { env: ctx.env, ...(opts.apiUrl ? { apiUrl: opts.apiUrl } : {}), fetch: ctx.fetch, policy: makePolicy });
  const policy = policyRef!;
  const secrets = policy.opts.secrets;
  const clean = (text: string) => scrub(text, secrets);

  // The checkpoint (not in a dry run: it reads, and resumes nothing).
  const checkpointPath = opts.dryRun ? null : defaultCheckpointPath(ctx.cwd, opts.source, opts.checkpoint);
  const queueUrl = ctx.queue?.queueUrl ?? '';
  const since = opts.since ? opts.since.toISOString() : null;
  let counts: Counts = emptyCounts();
  let cursor: unknown = null;
  const startedAtIso = new Date(clock.now()).toISOString();
  let checkpoint: Checkpoint | undefined;
  if (checkpointPath) {
    const found = await loadCheckpoint(checkpointPath);
    if (opts.resume) {
      if (!found) throw new UsageError(`Nothing to resume: no checkpoint at ${checkpointPath} (run without --resume to start).`);
      const differs = [
        found.source !== opts.source ? `source ${found.source}` : '',
        found.apiUrl !== reader.apiUrl ? `API ${found.apiUrl}` : '',
        found.queueUrl !== queueUrl ? `queue ${found.queueUrl}` : '',
        found.since !== since ? `--since ${found.since ?? '(none)'}` : '',
        found.limit !== (opts.limit ?? null) ? `--limit ${found.limit ?? '(none)'}` : '',
      ].filter(Boolean);
      if (differs.length > 0) throw new UsageError(`The checkpoint ${checkpointPath} is of another run (${differs.join(', ')}): resume with the same options, or delete it to start over.`);
      if (found.done) {
        note(io, `The backfill of ${checkpointPath} is complete (read ${fmtInt(found.counts.read)}, enqueued ${fmtInt(found.counts.enqueued)}): nothing to resume.`);
        return EXIT.ok;
      }
      counts = found.counts;
      cursor = found.cursor;
      checkpoint = found;
    } else if (found && !found.done) {
      throw new UsageError(
        `An unfinished backfill left ${checkpointPath} (read ${fmtInt(found.counts.read)}, enqueued ${fmtInt(found.counts.enqueued)}): add --resume to continue it, or delete the file to start over.`,
      );
    }
  }
  checkpoint ??= {
    v: 1,
    source: opts.source,
    apiUrl: reader.apiUrl,
    queueUrl,
    since,
    limit: opts.limit ?? null,
    cursor: null,
    done: false,
    counts,
    startedAt: startedAtIso,
    updatedAt: startedAtIso,
  };

  const sctxBase = { options, ...(opts.config.identityResolution ? { identityResolution: opts.config.identityResolution } : {}) };
  const source = SOURCES[opts.source];
  const t0 = clock.now();
  const readAtStart = counts.read;
  let total: number | undefined;
  let wouldEnqueue = 0;
  let sample: unknown;
  let lastPlain = t0;
  const plainEvery = (ctx.plainProgressEverySeconds ?? 30) * 1000;
  let progressShown = false;

  function progress(force = false): void {
    const now = clock.now();
    const secs = Math.max(0.001, (now - t0) / 1000);
    const perSec = (counts.read - readAtStart) / secs;
    const done = opts.dryRun ? wouldEnqueue : counts.enqueued;
    const target = opts.limit !== undefined ? Math.min(opts.limit, total ?? Infinity) : total;
    const eta = target !== undefined && perSec > 0 && target > counts.read ? ` · ETA ${fmtDuration(((target - counts.read) / perSec) * 1000)}` : '';
    const text = `${opts.source}: read ${fmtInt(counts.read)}${target !== undefined ? ` of ${fmtInt(target)}` : ''} · ${opts.dryRun ? 'would enqueue' : 'enqueued'} ${fmtInt(done)} · skipped ${fmtInt(skippedTotal(counts))}${counts.filtered ? ` · older than --since ${fmtInt(counts.filtered)}` : ''} · ${fmtInt(perSec)}/s${eta}${waitNote ? ` · ${waitNote}` : ''}`;
    if (io.errIsTTY) {
      io.err(`\r\x1b[2K${text}`);
      progressShown = true;
    } else if (force || now - lastPlain >= plainEvery) {
      lastPlain = now;
      note(io, text);
    }
  }
  const endProgress = () => {
    if (io.errIsTTY && progressShown) io.err('\n');
    progressShown = false;
  };

  let status: BackfillStatus = 'complete';
  let error: CliError | undefined;
  try {
    if (reader.total) total = await reader.total(opts.since);
    if (!opts.json && !io.errIsTTY) {
      note(io, `backfill ${opts.source}: reading ${reader.apiUrl} at ${rate}/s${since ? ` (--since ${since}: ${info.sinceNote})` : ''}${total !== undefined ? ` (${fmtInt(total)} to read)` : ''}${opts.dryRun ? ' (dry run: nothing is enqueued)' : ''}`);
    }
    for (;;) {
      if (ctx.signal?.aborted) throw new Interrupted('interrupted');
      const remaining = opts.limit !== undefined ? opts.limit - counts.read : Infinity;
      if (remaining <= 0) {
        status = 'limit';
        break;
      }
      const page = await reader.page(cursor, Math.min(reader.pageSize, remaining), opts.since);
      const objects = page.objects.slice(0, Number.isFinite(remaining) ? remaining : undefined);
      const entries: QueueEntry[] = [];
      const readAtIso = new Date(page.readAt).toISOString();
      const sctx: SourceContext = { now: new Date(page.readAt), ...sctxBase };
      for (const object of objects) {
        counts.read++;
        const te = reader.toEvent(object);
        if (!te.ok) {
          skip(te.reason);
          continue;
        }
        let mapped;
        try {
          mapped = source.map(te.event, sctx);
        } catch (err) {
          skip(`mapping failed: ${(err as Error).name}`);
          continue;
        }
        if (mapped.kind === 'rejected') {
          skip(`${mapped.field}: ${mapped.message}`);
          continue;
        }
        if (mapped.kind !== 'payload') {
          skip(mapped.kind === 'ignored' ? `ignored: ${mapped.reason}` : 'mapped to a deletion');
          continue;
        }
        const userKey = messageGroupId(mapped.customerKey);
        const eventId = `backfill:${te.objectId}:${page.readAt}`;
        const version = versionKey(page.readAt, `backfill:${te.objectId}`);
        const eventType = `backfill:${te.event.type}`;
        const envelope: Envelope = {
          v: ENVELOPE_VERSION,
          source: opts.source,
          eventId,
          eventType,
          receivedAt: readAtIso,
          ...(version ? { version } : {}),
          userKey,
          ...(mapped.partial ? { partial: true as const } : {}),
          payload: mapped.payload,
        };
        if (opts.dryRun) {
          wouldEnqueue++;
          sample ??= { eventType, readAt: readAtIso, payload: { ...(maskValue(mapped.payload) as object), type: mapped.payload.type } };
          continue;
        }
        entries.push({
          body: encodeEnvelope(envelope),
          attributes: { source: opts.source, event_type: eventType },
          ...(ctx.queue!.fifo ? { groupId: userKey, deduplicationId: deduplicationId(opts.source, eventId) } : {}),
        });
      }
      if (entries.length > 0) {
        const q = ctx.queue!;
        await sendAll(entries, {
          sqs: q.sqs,
          queueUrl: q.queueUrl,
          clock,
          ...(q.endpoint ? { endpoint: q.endpoint } : {}),
          ...(ctx.queueRetryBaseMs !== undefined ? { baseDelayMs: ctx.queueRetryBaseMs } : {}),
          onRetry: (n, why) => {
            waitNote = `retrying ${n} message(s) the queue did not take (${why})`;
            progress(true);
            waitNote = '';
          },
        });
        counts.enqueued += entries.length;
      }
      counts.filtered += page.filtered ?? 0;
      counts.pages++;
      const limitReached = opts.limit !== undefined && counts.read >= opts.limit;
      if (page.next !== null && JSON.stringify(page.next) === JSON.stringify(cursor)) {
        throw new OperationError(`${info.provider} answered the same next-page cursor twice: stopping rather than reading the same page forever.`);
      }
      cursor = page.next;
      if (checkpointPath) {
        checkpoint = { ...checkpoint, cursor, counts, done: cursor === null || limitReached, updatedAt: new Date(clock.now()).toISOString() };
        await saveCheckpoint(checkpointPath, checkpoint);
      }
      progress();
      if (cursor === null) break;
      if (limitReached) {
        status = 'limit';
        break;
      }
    }
  } catch (err) {
    if (err instanceof Interrupted) status = 'interrupted';
    else {
      status = 'failed';
      error = toCliError(err);
    }
  }
  endProgress();

  const summary: BackfillSummary = {
    source: opts.source,
    dryRun: opts.dryRun,
    status,
    read: counts.read,
    enqueued: counts.enqueued,
    ...(opts.dryRun ? { wouldEnqueue } : {}),
    skipped: Object.entries(counts.skipped)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([reason, count]) => ({ reason, count })),
    filtered: counts.filtered,
    pages: counts.pages,
    requests: policy.requests,
    rateLimited: policy.rateLimited,
    elapsedMs: clock.now() - t0,
    checkpoint: checkpointPath,
    ...(opts.dryRun && sample !== undefined ? { sample } : {}),
    ...(error ? { error: clean(error.message) } : {}),
  };
  if (error) note(io, `error: ${clean(error.message)}`);
  if (opts.json) line(io, clean(JSON.stringify(summary)));
  else line(io, clean(humanSummary(summary)));
  if (status === 'interrupted' || (status === 'failed' && checkpointPath && counts.pages > 0)) {
    note(io, `Stopped; the checkpoint ${checkpointPath ?? ''} holds where to go on: run the same command with --resume.`);
  }
  if (status === 'interrupted') return EXIT.failed;
  if (error) return error.exitCode;
  return EXIT.ok;

  function skip(reason: string): void {
    counts.skipped[reason] = (counts.skipped[reason] ?? 0) + 1;
  }
}

function humanSummary(s: BackfillSummary): string {
  const lines: string[] = [];
  const secs = s.elapsedMs / 1000;
  const head = s.dryRun
    ? `dry run of backfill ${s.source}: read ${fmtInt(s.read)}, would enqueue ${fmtInt(s.wouldEnqueue ?? 0)}, skipped ${fmtInt(s.skipped.reduce((a, b) => a + b.count, 0))}; nothing was enqueued`
    : `backfill ${s.source} ${s.status === 'complete' ? 'complete' : s.status === 'limit' ? 'stopped at --limit' : s.status}: read ${fmtInt(s.read)}, enqueued ${fmtInt(s.enqueued)}, skipped ${fmtInt(s.skipped.reduce((a, b) => a + b.count, 0))}`;
  lines.push(`${head}${s.filtered ? `, not updated since --since ${fmtInt(s.filtered)}` : ''} (${fmtDuration(s.elapsedMs)}${secs > 0 ? `, ${fmtInt(s.read / Math.max(secs, 0.001))}/s` : ''}; ${fmtInt(s.requests)} requests${s.rateLimited ? `, ${fmtInt(s.rateLimited)} rate-limited` : ''})`);
  for (const k of s.skipped.slice(0, 10)) lines.push(`  skipped ${fmtInt(k.count)}: ${k.reason}`);
  if (s.skipped.length > 10) lines.push(`  ... and ${s.skipped.length - 10} more reasons (--json lists them all)`);
  if (s.sample !== undefined) lines.push(`sample (masked): ${JSON.stringify(s.sample)}`);
  if (!s.dryRun && s.enqueued > 0) lines.push(`The sender delivers them at MoEngage's pace: watch \`${TOOL_COMMAND} dlq list\` for any that fail.`);
  return lines.join('\n');
}
