/**
 * Auth0 Management API: `GET https://$AUTH0_DOMAIN/api/v2/users?per_page=100&page=N
 * &include_totals=true&sort=updated_at:1&search_engine=v3` with
 * `Authorization: Bearer $AUTH0_MANAGEMENT_TOKEN` (a Management API token with `read:users`).
 *
 * Auth0 pages through at most the first 1,000 users of a search. Sorted by updated_at, the
 * reader then starts a new search at the last updated_at it read
 * (`q=updated_at:["<time>" TO *]`), passing over the users of that moment it already has, and
 * so reads any number of users. Only when 1,000 users share one updated_at can it not go on:
 * it stops and points to the export job (POST /api/v2/jobs/users-exports), which has no cap.
 * --since becomes the first search's lower bound. Rate: Management API limits depend on the
 * plan (2 requests per second sustained on the Free plan, more on paid ones); the default is 2/s.
 */
import type { ParsedEvent } from '../../../functions/sources/types';
import { OperationError } from '../../dlq/errors';
import type { Attempt, ProviderPolicy } from '../http';
import type { ListedPage, Reader, ReaderInfo, ToEvent } from '../types';
import { apiBase, getJson, isRecord, requireEnv } from './common';

export const AUTH0_INFO: ReaderInfo = {
  source: 'auth0',
  provider: 'Auth0',
  env: ['AUTH0_DOMAIN', 'AUTH0_MANAGEMENT_TOKEN'],
  defaultRate: 2,
  sinceNote: 'users whose updated_at is at or after it (a search on updated_at)',
};

/** Auth0 returns at most this many users of one search (page × per_page). */
const AUTH0_SEARCH_CAP = 1000;
const PER_PAGE = 100;

interface Auth0Page {
  users: unknown[];
  total: number | undefined;
  start: number;
  readAt: number;
}

interface Auth0Cursor {
  /** Lower bound of the search (ISO), or null: none. */
  from: string | null;
  page: number;
  /** Ids already read whose updated_at equals `from`. */
  skip: string[];
  /** The latest updated_at read in this search, and the ids read with it (the next search's `from` and `skip`). */
  lastAt?: string;
  lastIds?: string[];
}

export function auth0Reader(opts: { env: Record<string, string | undefined>; apiUrl?: string; fetch: typeof fetch; policy: (secrets: string[], authHint: string) => ProviderPolicy }): Reader {
  const token = requireEnv(opts.env, 'AUTH0_MANAGEMENT_TOKEN', 'a Management API access token with the read:users scope');
  let fallback = 'https://invalid.auth0.com';
  if (opts.apiUrl === undefined) {
    const domain = requireEnv(opts.env, 'AUTH0_DOMAIN', 'your tenant domain, e.g. your-tenant.eu.auth0.com');
    fallback = /^https?:\/\//.test(domain) ? domain : `https://${domain}`;
  }
  const base = apiBase(opts.apiUrl, fallback);
  const policy = opts.policy([token], 'AUTH0_MANAGEMENT_TOKEN (a Management API token with the read:users scope, not expired) and AUTH0_DOMAIN');
  const headers = { authorization: `Bearer ${token}` };
  const query = (from: string | null, page: number, perPage: number) => {
    const params = new URLSearchParams({ per_page: String(perPage), page: String(page), include_totals: 'true', sort: 'updated_at:1', search_engine: 'v3' });
    if (from) params.set('q', `updated_at:["${from}" TO *]`);
    return `${base}/api/v2/users?${params.toString()}`;
  };
  const parse = (json: unknown, readAt: number): Attempt<Auth0Page> => {
    if (!isRecord(json) || !Array.isArray(json.users)) return { ok: false, kind: 'fatal', message: 'the answer is not a page of users' };
    return { ok: true, value: { users: json.users as unknown[], total: typeof json.total === 'number' ? json.total : undefined, start: typeof json.start === 'number' ? json.start : 0, readAt } };
  };

  return {
    source: 'auth0',
    apiUrl: base,
    pageSize: PER_PAGE,
    async total(since) {
      const got = await getJson(policy, opts.fetch, 'counting users', query(since ? since.toISOString() : null, 0, 1), headers, parse);
      return got.total;
    },
    async page(cursor, _size, since): Promise<ListedPage> {
      const c: Auth0Cursor = isAuth0Cursor(cursor) ? cursor : { from: since ? since.toISOString() : null, page: 0, skip: [] };
      const got = await getJson(policy, opts.fetch, 'listing users', query(c.from, c.page, PER_PAGE), headers, parse);
      const skip = new Set(c.skip);
      const objects = got.users.filter((u) => !(isRecord(u) && typeof u.user_id === 'string' && skip.has(u.user_id)));
      let lastAt = c.lastAt;
      let lastIds = [...(c.lastIds ?? [])];
      for (const u of got.users) {
        if (!isRecord(u) || typeof u.user_id !== 'string' || typeof u.updated_at !== 'string') continue;
        if (u.updated_at === lastAt) lastIds.push(u.user_id);
        else {
          lastAt = u.updated_at;
          lastIds = [u.user_id];
        }
      }
      const readSoFar = c.page * PER_PAGE + got.users.length;
      const more = got.users.length === PER_PAGE && (got.total === undefined || got.start + got.users.length < got.total);
      let next: Auth0Cursor | null = null;
      if (more && readSoFar < AUTH0_SEARCH_CAP) {
        next = { from: c.from, page: c.page + 1, skip: c.skip, ...(lastAt !== undefined ? { lastAt, lastIds } : {}) };
      } else if (more) {
        // At the cap: a new search from the last updated_at read, passing over the users of that moment already read.
        if (lastAt === undefined || (lastAt === c.from && lastIds.length >= AUTH0_SEARCH_CAP)) {
          throw new OperationError(
            `Auth0 returns at most ${AUTH0_SEARCH_CAP} users per search and more than that share one updated_at; export them with the export job (POST /api/v2/jobs/users-exports) instead.`,
          );
        }
        next = { from: lastAt, page: 0, skip: lastAt === c.from ? [...c.skip, ...lastIds] : lastIds };
      }
      return { objects, next, readAt: got.readAt };
    },
    toEvent(object): ToEvent {
      if (!isRecord(object) || typeof object.user_id !== 'string' || object.user_id === '') return { ok: false, objectId: undefined, reason: 'not an Auth0 user (no user_id)' };
      // What a `user.updated` event of an event stream carries: the user in data.object.
      const event: ParsedEvent = { id: `backfill:${object.user_id}`, type: 'user.updated', body: { type: 'user.updated', data: { object } } };
      return { ok: true, objectId: object.user_id, event };
    },
  };
}

function isAuth0Cursor(v: unknown): v is Auth0Cursor {
  return isRecord(v) && (typeof v.from === 'string' || v.from === null) && typeof v.page === 'number' && Array.isArray(v.skip);
}
