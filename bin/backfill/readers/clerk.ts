/**
 * Clerk Backend API: `GET /v1/users?limit=500&offset=N&order_by=+created_at` with
 * `Authorization: Bearer $CLERK_SECRET_KEY`; `GET /v1/users/count` for the ETA.
 *
 * Offset paging is stable for users created during the run (oldest first: they append at the
 * end), but a deletion of an earlier user shifts the rest one place back; each page therefore
 * starts a few places early (OVERLAP) and drops the ids the previous page had, so that up to
 * OVERLAP deletions between two pages lose no one. The list has no update-time filter: --since
 * keeps the users whose `updated_at` is at or after it (the others are read and passed over).
 * Rate: Clerk allows 100 requests per 10 s on development instances and 1,000 on production
 * ones; the default of 8/s stays under both.
 */
import type { ParsedEvent } from '../../../functions/sources/types';
import type { ProviderPolicy } from '../http';
import type { ListedPage, Reader, ReaderInfo, ToEvent } from '../types';
import { apiBase, getJson, isRecord, requireEnv, timeMs } from './common';

export const CLERK_INFO: ReaderInfo = {
  source: 'clerk',
  provider: 'Clerk',
  env: ['CLERK_SECRET_KEY'],
  defaultRate: 8,
  sinceNote: 'users whose updated_at is at or after it (Clerk lists all; the others are passed over)',
};

const CLERK_API = 'https://api.clerk.com';
const CLERK_MAX_LIMIT = 500;
const OVERLAP = 10;

interface ClerkCursor {
  offset: number;
  /** The ids of the previous page's last OVERLAP users. */
  seen: string[];
}

export function clerkReader(opts: { env: Record<string, string | undefined>; apiUrl?: string; fetch: typeof fetch; policy: (secrets: string[], authHint: string) => ProviderPolicy }): Reader {
  const key = requireEnv(opts.env, 'CLERK_SECRET_KEY', "the instance's secret key (sk_live_… or sk_test_…)");
  const base = apiBase(opts.apiUrl, CLERK_API);
  const policy = opts.policy([key], "CLERK_SECRET_KEY (the secret key of the instance, from the dashboard's API keys page)");
  const headers = { authorization: `Bearer ${key}` };

  return {
    source: 'clerk',
    apiUrl: base,
    pageSize: CLERK_MAX_LIMIT,
    async total() {
      return getJson<number | undefined>(policy, opts.fetch, 'counting users', `${base}/v1/users/count`, headers, (json) => ({
        ok: true,
        value: isRecord(json) && typeof json.total_count === 'number' ? json.total_count : undefined,
      }));
    },
    async page(cursor, size, since): Promise<ListedPage> {
      const c: ClerkCursor = isClerkCursor(cursor) ? cursor : { offset: 0, seen: [] };
      const start = Math.max(0, c.offset - (c.seen.length > 0 ? Math.min(OVERLAP, c.seen.length) : 0));
      const overlap = c.offset - start;
      const limit = Math.min(CLERK_MAX_LIMIT, size + overlap);
      const url = `${base}/v1/users?limit=${limit}&offset=${start}&order_by=%2Bcreated_at`;
      const got = await getJson<{ list: unknown[]; readAt: number }>(policy, opts.fetch, 'listing users', url, headers, (json, readAt) => {
        // Clerk answers a bare array (older versions) or { data, total_count }.
        const list = Array.isArray(json) ? json : isRecord(json) && Array.isArray(json.data) ? json.data : undefined;
        if (!list) return { ok: false as const, kind: 'fatal' as const, message: 'the answer is not a list of users' };
        return { ok: true, value: { list: list as unknown[], readAt } };
      });
      const seen = new Set(c.seen);
      const fresh = got.list.filter((u) => !(isRecord(u) && typeof u.id === 'string' && seen.has(u.id)));
      const ids = got.list.map((u) => (isRecord(u) && typeof u.id === 'string' ? u.id : '')).filter(Boolean);
      const full = got.list.length >= limit;
      const kept = since ? fresh.filter((u) => !isRecord(u) || (timeMs(u.updated_at) ?? Infinity) >= since.getTime()) : fresh;
      return {
        objects: kept,
        filtered: fresh.length - kept.length,
        next: full ? ({ offset: start + got.list.length, seen: ids.slice(-OVERLAP) } satisfies ClerkCursor) : null,
        readAt: got.readAt,
      };
    },
    toEvent(object): ToEvent {
      if (!isRecord(object) || typeof object.id !== 'string' || object.id === '') return { ok: false, objectId: undefined, reason: 'not a Clerk user (no id)' };
      // What a `user.updated` webhook carries: the user in data.
      const event: ParsedEvent = { id: `backfill:${object.id}`, type: 'user.updated', body: { object: 'event', type: 'user.updated', data: object } };
      return { ok: true, objectId: object.id, event };
    },
  };
}

function isClerkCursor(v: unknown): v is ClerkCursor {
  return isRecord(v) && typeof v.offset === 'number' && Array.isArray(v.seen);
}
