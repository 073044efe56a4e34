/**
 * The backfill's moving parts: a reader per provider list API (bin/backfill/readers), the
 * pacing and retry policy they share (http.ts), the checkpoint (checkpoint.ts), the queue
 * writer (enqueue.ts) and the command (command.ts).
 */
import type { SourceName } from '../../functions/core/config';
import type { ParsedEvent } from '../../functions/sources/types';

/** The sources a backfill can read (segment and standard have no list API to read). */
export const BACKFILL_SOURCES = ['stripe', 'clerk', 'auth0', 'workos', 'shopify'] as const satisfies readonly SourceName[];
export type BackfillSource = (typeof BACKFILL_SOURCES)[number];

export function isBackfillSource(value: string): value is BackfillSource {
  return (BACKFILL_SOURCES as readonly string[]).includes(value);
}

/** One page of a provider's list. */
export interface ListedPage {
  /** The objects as the provider's API returned them. */
  objects: unknown[];
  /** Where the next page starts (JSON, stored in the checkpoint); null: this was the last page. */
  next: unknown;
  /**
   * The version time of these objects (epoch ms): the moment the provider read them, taken on
   * the early side (the request's start, or the provider's Date header less a second when that
   * is earlier), so that a webhook for a change made during the request is never judged older.
   */
  readAt: number;
  /** Objects read but passed over because they were not updated since --since (readers that filter themselves). */
  filtered?: number;
}

/** An object turned into the event its source's map() expects, or why it cannot be. */
export type ToEvent = { ok: true; objectId: string; event: ParsedEvent } | { ok: false; objectId: string | undefined; reason: string };

export interface Reader {
  readonly source: BackfillSource;
  /** The API base in use (for messages: never holds a credential). */
  readonly apiUrl: string;
  /** How many objects match, when the API says (for the ETA); undefined when it does not. */
  total?(since: Date | undefined): Promise<number | undefined>;
  /** Reads the page that starts at `cursor` (null: the first page), with at most `size` objects. */
  page(cursor: unknown, size: number, since: Date | undefined): Promise<ListedPage>;
  /** The ParsedEvent of one listed object. */
  toEvent(object: unknown): ToEvent;
  /** Objects a page holds at most. */
  readonly pageSize: number;
}

export interface ReaderInfo {
  source: BackfillSource;
  /** Display name. */
  provider: string;
  /** Environment variables holding the credentials (and the shop / domain). */
  env: readonly string[];
  /** Requests per second by default: below the provider's documented limit. */
  defaultRate: number;
  /** Where --since is applied. */
  sinceNote: string;
}
