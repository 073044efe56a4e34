/**
 * The checkpoint: where the next page starts, written after every page whose objects the queue
 * has all accepted (so a resumed run may send a page twice, never skip one: a repeat is the
 * same state of the same user, at a newer read time). Written to a temporary file and renamed,
 * so that a crash never leaves half a checkpoint.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { ConfigError, UsageError } from '../dlq/errors';
import type { BackfillSource } from './types';

export const CHECKPOINT_VERSION = 1 as const;

export interface Counts {
  read: number;
  enqueued: number;
  /** Mapping failures and unusable objects, by reason. */
  skipped: Record<string, number>;
  /** Read but not updated since --since (readers that filter the list themselves). */
  filtered: number;
  pages: number;
}

export function emptyCounts(): Counts {
  return { read: 0, enqueued: 0, skipped: {}, filtered: 0, pages: 0 };
}

export function skippedTotal(c: Counts): number {
  return Object.values(c.skipped).reduce((a, b) => a + b, 0);
}

export interface Checkpoint {
  v: typeof CHECKPOINT_VERSION;
  source: BackfillSource;
  apiUrl: string;
  queueUrl: string;
  since: string | null;
  limit: number | null;
  /** Where the next page starts; null with `done`: nothing left. */
  cursor: unknown;
  done: boolean;
  counts: Counts;
  startedAt: string;
  updatedAt: string;
}

export function defaultCheckpointPath(cwd: string, source: BackfillSource, file?: string): string {
  if (file) return isAbsolute(file) ? file : join(cwd, file);
  return join(cwd, `.moengage-backfill-${source}.json`);
}

export async function loadCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`Cannot read the checkpoint ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}.`);
  }
  let cp: Partial<Checkpoint>;
  try {
    cp = JSON.parse(text) as Partial<Checkpoint>;
  } catch {
    throw new UsageError(`The checkpoint ${path} is not JSON: delete it to start over.`);
  }
  if (cp.v !== CHECKPOINT_VERSION || typeof cp.source !== 'string' || typeof cp.done !== 'boolean' || typeof cp.counts !== 'object') {
    throw new UsageError(`The checkpoint ${path} is not a backfill checkpoint of this version: delete it to start over.`);
  }
  return cp as Checkpoint;
}

export async function saveCheckpoint(path: string, cp: Checkpoint): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, `${JSON.stringify(cp, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}
