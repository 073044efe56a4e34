/**
 * WorkOS User Management: `GET /user_management/users?limit=100&order=asc&after=user_…` with
 * `Authorization: Bearer $WORKOS_API_KEY`; the next cursor is `list_metadata.after`. Plain
 * fetch rather than the `@workos-inc/node` client: the client renames every field to camelCase,
 * while the source's mapping reads the API's (and the webhooks') snake_case. The list has no
 * update-time filter: --since keeps the users whose `updated_at` is at or after it. Rate:
 * WorkOS allows 1,000 user-management reads per 10 s (and 6,000 requests per minute per key);
 * the default is 10/s.
 */
import type { ParsedEvent } from '../../../functions/sources/types';
import type { ProviderPolicy } from '../http';
import type { ListedPage, Reader, ReaderInfo, ToEvent } from '../types';
import { apiBase, getJson, isRecord, requireEnv, timeMs } from './common';

export const WORKOS_INFO: ReaderInfo = {
  source: 'workos',
  provider: 'WorkOS',
  env: ['WORKOS_API_KEY'],
  defaultRate: 10,
  sinceNote: 'users whose updated_at is at or after it (WorkOS lists all; the others are passed over)',
};

const WORKOS_API = 'https://api.workos.com';
const PAGE = 100;

export function workosReader(opts: { env: Record<string, string | undefined>; apiUrl?: string; fetch: typeof fetch; policy: (secrets: string[], authHint: string) => ProviderPolicy }): Reader {
  const key = requireEnv(opts.env, 'WORKOS_API_KEY', 'a WorkOS secret API key (sk_…)');
  const base = apiBase(opts.apiUrl, WORKOS_API);
  const policy = opts.policy([key], 'WORKOS_API_KEY (a secret key of the environment the users are in)');
  const headers = { authorization: `Bearer ${key}` };
  return {
    source: 'workos',
    apiUrl: base,
    pageSize: PAGE,
    async page(cursor, size, since): Promise<ListedPage> {
      const params = new URLSearchParams({ limit: String(Math.min(PAGE, size)), order: 'asc' });
      if (typeof cursor === 'string') params.set('after', cursor);
      const got = await getJson<{ data: unknown[]; after: string | null; readAt: number }>(policy, opts.fetch, 'listing users', `${base}/user_management/users?${params.toString()}`, headers, (json, readAt) => {
        if (!isRecord(json) || !Array.isArray(json.data)) return { ok: false as const, kind: 'fatal' as const, message: 'the answer is not a list of users' };
        const meta = isRecord(json.list_metadata) ? json.list_metadata : {};
        return { ok: true, value: { data: json.data as unknown[], after: typeof meta.after === 'string' && meta.after !== '' ? meta.after : null, readAt } };
      });
      const kept = since ? got.data.filter((u) => !isRecord(u) || (timeMs(u.updated_at) ?? Infinity) >= since.getTime()) : got.data;
      return { objects: kept, filtered: got.data.length - kept.length, next: got.after, readAt: got.readAt };
    },
    toEvent(object): ToEvent {
      if (!isRecord(object) || typeof object.id !== 'string' || object.id === '') return { ok: false, objectId: undefined, reason: 'not a WorkOS user (no id)' };
      // What a `user.updated` webhook carries: the user in data.
      const event: ParsedEvent = { id: `backfill:${object.id}`, type: 'user.updated', body: { event: 'user.updated', data: object } };
      return { ok: true, objectId: object.id, event };
    },
  };
}
