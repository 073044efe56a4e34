/**
 * The local run's samples (`npm run send`) as the sources read them: every sample verifies,
 * carries a version that follows `updatedAt`, and the deletion samples become Delete User
 * calls of the same user as the updates when the source has `deleteUsers`.
 */
import { describe, expect, it } from 'vitest';
import { SOURCE_NAMES, standardSourceOptionsSchema, type SourceName } from '../../functions/core/config';
import { versionMs } from '../../functions/core/version';
import { SOURCES } from '../../functions/sources';
import type { Mapped, ParsedEvent, SourceContext, WebhookRequest } from '../../functions/sources/types';
import { parseSendArgs } from '../../local/send';
import { buildSignedSample, DEFAULT_SAMPLE_TYPES, DELETE_SAMPLE_TYPES, DEV_SECRETS, SAMPLE_STANDARD_MAPPING, type SignedRequest } from '../../local/samples';

const NOW = new Date('2026-03-01T10:00:00.000Z');

function ctx(source: SourceName, options: Record<string, unknown> = {}): SourceContext {
  const mapping = source === 'standard' ? { mapping: SAMPLE_STANDARD_MAPPING } : {};
  return { now: NOW, options: standardSourceOptionsSchema.parse({ ...mapping, ...options }) };
}

function asRequest(signed: SignedRequest): WebhookRequest {
  return { method: 'POST', path: signed.path, headers: signed.headers, rawBody: Buffer.from(signed.body, 'utf8') };
}

function read(source: SourceName, signed: SignedRequest, options: Record<string, unknown> = {}): { event: ParsedEvent; mapped: Mapped } {
  const c = ctx(source, options);
  const req = asRequest(signed);
  expect(SOURCES[source].verify(req, [DEV_SECRETS[source]], c)).toEqual({ ok: true });
  const parsed = SOURCES[source].parse(req, c);
  if (!parsed.ok) throw new Error(parsed.message);
  return { event: parsed.event, mapped: SOURCES[source].map(parsed.event, c) };
}

describe('samples: versions', () => {
  it.each(SOURCE_NAMES)('%s: the default sample has a version at updatedAt (default now); an older updatedAt sorts before it', (source) => {
    const current = read(source, buildSignedSample(source, { now: NOW }));
    expect(current.mapped.kind).toBe('payload');
    expect(versionMs(current.event.version!)).toBe(source === 'stripe' || source === 'shopify' ? Math.floor(NOW.getTime() / 1000) * 1000 : NOW.getTime());
    const older = read(source, buildSignedSample(source, { now: NOW, updatedAt: new Date(NOW.getTime() - 60_000), type: DEFAULT_SAMPLE_TYPES[source] }));
    expect(older.event.version! < current.event.version!).toBe(true);
  });
});

describe('samples: deletions', () => {
  const deleting = SOURCE_NAMES.filter((s) => DELETE_SAMPLE_TYPES[s] !== undefined);

  it('every source but Segment has a deletion sample', () => {
    expect(deleting).toEqual(SOURCE_NAMES.filter((s) => s !== 'segment'));
  });

  it.each(deleting)('%s: the deletion sample is ignored without deleteUsers, a Delete User of the updated user with it', (source) => {
    const type = DELETE_SAMPLE_TYPES[source]!;
    const signed = buildSignedSample(source, { now: NOW, type });
    expect(read(source, signed).mapped.kind).toBe('ignored');
    const { event, mapped } = read(source, signed, { deleteUsers: true });
    const update = read(source, buildSignedSample(source, { now: NOW, updatedAt: new Date(NOW.getTime() - 60_000) }), { deleteUsers: true }).mapped;
    expect(mapped).toEqual({ kind: 'delete', customerId: signed.customerId, customerKey: update.kind === 'payload' ? update.customerKey : 'no update' });
    expect(event.version).toBeDefined();
  });
});

describe('npm run send arguments', () => {
  it('reads --email and --updated-at', () => {
    expect(parseSendArgs(['clerk', '--type', 'user.updated', '--email', 'b@example.com', '--updated-at', '2026-01-01T10:00:00Z'], {})).toEqual({
      source: 'clerk',
      type: 'user.updated',
      email: 'b@example.com',
      updatedAt: new Date('2026-01-01T10:00:00Z'),
      port: 3000,
      host: '127.0.0.1',
    });
  });

  it('refuses an --updated-at that is not an ISO date-time, and an empty --email', () => {
    for (const bad of ['yesterday', '1700000000', '2026-13-01T00:00:00Z']) {
      expect(parseSendArgs(['clerk', '--updated-at', bad], {})).toMatchObject({ error: expect.stringContaining('--updated-at') });
    }
    expect(parseSendArgs(['clerk', '--email', ' '], {})).toEqual({ error: '--email needs a value' });
  });
});
