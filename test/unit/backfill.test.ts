/**
 * The backfill against the provider emulators (local/provider-emulator.ts), through the CLI's
 * main(): paging, credentials refused (exit 3, one line, never the key), 429 with Retry-After
 * honoured, objects the mapping refuses counted and skipped, checkpoint and --resume, --dry-run,
 * and the envelopes written (version, FIFO group, deduplication id). SQS is a fake that records
 * SendMessageBatch calls and can refuse entries; the clock is virtual (waits are recorded, not slept).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliDeps } from '../../bin/cli';
import { decodeEnvelope, deduplicationId, messageGroupId } from '../../functions/core/envelope';
import { versionKey } from '../../functions/core/version';
import { TOOL_COMMAND } from '../../lib/tool-command';
import { readTime, retryAfterMs, scrub } from '../../bin/backfill/http';
import { emulatorEnv, sampleObjects, startProviderEmulator, type ProviderEmulator, type ProviderName } from '../../local/provider-emulator';

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/adapter.fifo';
const T0 = Date.parse('2026-03-02T12:00:00.000Z');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'backfill-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const emulators: ProviderEmulator[] = [];
afterEach(async () => {
  while (emulators.length) await emulators.pop()!.close();
});

async function emulator(provider: ProviderName, n: number, opts: Partial<Parameters<typeof startProviderEmulator>[0]> = {}) {
  const e = await startProviderEmulator({ provider, objects: sampleObjects(provider, n), ...opts });
  emulators.push(e);
  return e;
}

interface FakeSqs {
  entries: SendMessageBatchRequestEntry[];
  calls: number;
  /** Entries (by position in the call) to refuse once, transiently. */
  refuseOnce?: number[];
  /** Called before each batch (e.g. to abort). */
  onCall?: (n: number) => void;
}

function fakeSqs(): FakeSqs & { client: { send: (c: { input: { Entries: SendMessageBatchRequestEntry[] } }) => Promise<unknown> } } {
  const s: FakeSqs = { entries: [], calls: 0 };
  return Object.assign(s, {
    client: {
      send: async (c: { input: { Entries: SendMessageBatchRequestEntry[] } }) => {
        s.calls++;
        s.onCall?.(s.calls);
        const entries = c.input.Entries;
        expect(entries.length).toBeLessThanOrEqual(10);
        const refuse = new Set(s.refuseOnce ?? []);
        s.refuseOnce = undefined;
        const ok = entries.filter((_, i) => !refuse.has(i));
        s.entries.push(...ok);
        return {
          Successful: ok.map((e) => ({ Id: e.Id, MessageId: `m-${s.entries.length}` })),
          Failed: entries.filter((_, i) => refuse.has(i)).map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError' })),
        };
      },
    },
  });
}

interface Run {
  code: number;
  out: string;
  err: string;
  waits: number[];
  sqs: ReturnType<typeof fakeSqs>;
}

async function run(args: string[], env: Record<string, string>, more: { sqs?: ReturnType<typeof fakeSqs>; signal?: AbortSignal; tty?: boolean } = {}): Promise<Run> {
  let now = T0;
  const waits: number[] = [];
  const sqs = more.sqs ?? fakeSqs();
  let out = '';
  let err = '';
  const deps: Partial<CliDeps> = {
    io: { out: (t) => void (out += t), err: (t) => void (err += t), errIsTTY: more.tty ?? false },
    clock: {
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    },
    env,
    cwd: tmp,
    createSqs: () => sqs.client as never,
    ...(more.signal ? { signal: more.signal } : {}),
  };
  const code = await main(['backfill', ...args], deps);
  return { code, out, err, waits, sqs };
}

let cpCount = 0;
function base(e: ProviderEmulator, extra: string[] = []): string[] {
  cpCount++;
  return [e.provider, '--api-url', e.url, '--queue-url', QUEUE, '--config', '{}', '--checkpoint', `cp-${cpCount}.json`, ...extra];
}

const ALL: ProviderName[] = ['stripe', 'clerk', 'auth0', 'workos', 'shopify'];

describe.each(ALL)('%s reader', (provider) => {
  it('pages through every object and enqueues one envelope per user', async () => {
    const e = await emulator(provider, 250);
    const r = await run(base(e, ['--rate', '1000']), emulatorEnv(e));
    expect(r.err).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.out).toContain('read 250, enqueued 250, skipped 0');
    expect(r.sqs.entries).toHaveLength(250);
    const listCalls = e.requests.filter((q) => !q.path.endsWith('/count') && !(q.query.per_page === '1'));
    expect(listCalls.length).toBeGreaterThanOrEqual(provider === 'clerk' ? 1 : 3);
    const customerIds = new Set<string>();
    for (const entry of r.sqs.entries) {
      const d = decodeEnvelope(entry.MessageBody!);
      expect(d.ok).toBe(true);
      if (!d.ok) continue;
      const env = d.envelope;
      customerIds.add(env.payload.customer_id!);
      expect(env.source).toBe(provider);
      // The webhook's FIFO group and state key for the same user; dedup from the object and its version.
      expect(env.userKey).toBe(messageGroupId(env.payload.customer_id!));
      expect(entry.MessageGroupId).toBe(env.userKey);
      expect(entry.MessageDeduplicationId).toBe(deduplicationId(provider, env.eventId));
      expect(env.version).toMatch(/^\d{15}~backfill:/);
      // How the DLQ tool shows a backfilled message (README): backfill:<type>, backfill:<object id>:<read time>.
      expect(env.eventType).toMatch(/^backfill:(customer\.updated|user\.updated|customers\/update)$/);
      expect(env.eventId).toMatch(/^backfill:.+:\d{13}$/);
    }
    expect(customerIds.size).toBe(250);
  });

  it('401: exit 3 with one line naming the credential, never its value', async () => {
    const e = await emulator(provider, 5, { key: 'the-right-key-123456' });
    const env = { ...emulatorEnv(e), ...Object.fromEntries(Object.entries(emulatorEnv(e)).filter(([k]) => /KEY|TOKEN/.test(k)).map(([k]) => [k, 'sk_wrong_secret_value_987'])) };
    const r = await run(base(e), env);
    expect(r.code).toBe(3);
    const errorLines = r.err.split('\n').filter((l) => l.startsWith('error:'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(/refused the credentials \(HTTP 401/);
    expect(errorLines[0]).toMatch(/STRIPE_API_KEY|CLERK_SECRET_KEY|AUTH0_MANAGEMENT_TOKEN|WORKOS_API_KEY|SHOPIFY_ADMIN_TOKEN/);
    expect(r.out + r.err).not.toContain('sk_wrong_secret_value_987');
    expect(r.sqs.entries).toHaveLength(0);
  });

  it('429 with Retry-After: waits that long, then goes on', async () => {
    const e = await emulator(provider, 30, { retryAfterSeconds: 7 });
    e.failNext('429', 2);
    const r = await run(base(e, ['--json']), emulatorEnv(e));
    expect(r.code).toBe(0);
    expect(r.waits.filter((w) => w === 7000)).toHaveLength(2);
    const s = JSON.parse(r.out) as { read: number; enqueued: number; rateLimited: number; status: string };
    expect(s).toMatchObject({ read: 30, enqueued: 30, rateLimited: 2, status: 'complete' });
  });
});

describe('mapping failures and options', () => {
  it('an object the mapping refuses is counted and skipped with its reason; the rest go on', async () => {
    const e = await emulator('clerk', 20);
    // customerIdField: email, and two users without a primary email: refused as their webhooks would be (422).
    e.objects[3]!.primary_email_address_id = null;
    e.objects[11]!.primary_email_address_id = null;
    const r = await run([...base(e), '--config', JSON.stringify({ sources: { clerk: { customerIdField: 'email' } } }), '--json'], emulatorEnv(e));
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as { read: number; enqueued: number; skipped: { reason: string; count: number }[] };
    expect(s.read).toBe(20);
    expect(s.enqueued).toBe(18);
    expect(s.skipped).toHaveLength(1);
    expect(s.skipped[0]!.count).toBe(2);
    expect(s.skipped[0]!.reason).toMatch(/^customer_id \(email\)/);
    // customerIdField applies exactly as for webhooks: the email is the customer_id and the group key.
    const env = decodeEnvelope(r.sqs.entries[0]!.MessageBody!);
    expect(env.ok && env.envelope.payload.customer_id).toMatch(/@example\.com$/);
    expect(env.ok && env.envelope.userKey).toBe(messageGroupId(env.ok ? env.envelope.payload.customer_id! : ''));
  });

  it('fires no MoEngage events: the `events` option maps provider events, and a listed user is state, not an event', async () => {
    const e = await emulator('clerk', 3);
    const config = { sources: { clerk: { events: { 'user.created': 'Signed Up', 'user.updated': 'Profile Updated' } } } };
    const r = await run([...base(e), '--config', JSON.stringify(config)], emulatorEnv(e));
    expect(r.code).toBe(0);
    expect(r.sqs.entries).toHaveLength(3);
    for (const x of r.sqs.entries) expect(JSON.parse(x.MessageBody!)).not.toHaveProperty('events');
  });

  it('an object without an id is skipped with its reason', async () => {
    const e = await emulator('workos', 5);
    delete e.objects[2]!.id;
    const r = await run(base(e), emulatorEnv(e));
    expect(r.code).toBe(0);
    expect(r.out).toContain('skipped 1: not a WorkOS user (no id)');
    expect(r.sqs.entries).toHaveLength(4);
  });

  it('a disabled source refuses to run (exit 3)', async () => {
    const e = await emulator('stripe', 1);
    const r = await run([...base(e), '--config', JSON.stringify({ sources: { stripe: { enabled: false } } })], emulatorEnv(e));
    expect(r.code).toBe(3);
    expect(r.err).toContain('disabled');
  });

  it('--limit stops after N objects; --since filters (Stripe: created, Auth0: a search on updated_at)', async () => {
    const s1 = await emulator('stripe', 250);
    const r1 = await run(base(s1, ['--limit', '120', '--rate', '1000']), emulatorEnv(s1));
    expect(r1.code).toBe(0);
    expect(r1.sqs.entries).toHaveLength(120);
    expect(r1.out).toContain('stopped at --limit');

    const objects = sampleObjects('auth0', 50);
    const since = String(objects[40]!.updated_at);
    const a = await emulator('auth0', 0, { objects });
    const r2 = await run(base(a, ['--since', since]), emulatorEnv(a));
    expect(r2.code).toBe(0);
    expect(r2.sqs.entries).toHaveLength(10);
    expect(a.requests.some((q) => q.query.q === `updated_at:["${new Date(since).toISOString()}" TO *]`)).toBe(true);

    const c = await emulator('clerk', 50);
    const r3 = await run(base(c, ['--since', new Date(Number(c.objects[45]!.updated_at)).toISOString(), '--json']), emulatorEnv(c));
    const s3 = JSON.parse(r3.out) as { enqueued: number; filtered: number };
    expect(s3).toMatchObject({ enqueued: 5, filtered: 45 });
  });

  it('Auth0 beyond its 1,000-result search cap: a new search from the last updated_at, nobody missed or doubled', async () => {
    const objects = sampleObjects('auth0', 1250);
    // 30 users share the updated_at at the cap boundary.
    for (let i = 985; i < 1015; i++) objects[i]!.updated_at = objects[985]!.updated_at;
    const e = await emulator('auth0', 0, { objects });
    const r = await run(base(e, ['--rate', '1000', '--json']), emulatorEnv(e));
    expect(r.code).toBe(0);
    const ids = r.sqs.entries.map((x) => (decodeEnvelope(x.MessageBody!) as { ok: true; envelope: { payload: { customer_id: string } } }).envelope.payload.customer_id);
    expect(new Set(ids).size).toBe(1250);
    expect(ids).toHaveLength(1250);
    expect(e.requests.every((q) => q.status === 200)).toBe(true);
  });

  it('Clerk offset paging: users deleted between two pages make no one missed (each page starts a few places early)', async () => {
    const e = await emulator('clerk', 1200);
    const sqs = fakeSqs();
    // After the first page (500 users) is in the queue, three of its users are deleted at Clerk:
    // everyone after them moves three places back.
    sqs.onCall = (n) => {
      if (n === 1) for (const i of [10, 200, 499]) e.objects.splice(e.objects.findIndex((u) => u.id === `user_emu${String(i + 1).padStart(6, '0')}`), 1);
    };
    const r = await run(base(e, ['--rate', '1000']), emulatorEnv(e), { sqs });
    expect(r.code).toBe(0);
    const ids = new Set(sqs.entries.map((x) => (decodeEnvelope(x.MessageBody!) as { ok: true; envelope: { payload: { customer_id: string } } }).envelope.payload.customer_id));
    for (const u of e.objects) expect(ids.has(String(u.id))).toBe(true);
    expect(sqs.entries).toHaveLength(1200);
  });

  it('Shopify THROTTLED: waits for the points it needs at the restore rate', async () => {
    const e = await emulator('shopify', 10);
    e.failNext('throttled');
    const r = await run(base(e), emulatorEnv(e));
    expect(r.code).toBe(0);
    // Requested 102 points (first: 100, + 2), 0 available, restored at 100/s: 1,020 ms.
    expect(r.waits[0]).toBe(1020);
    expect(e.requests.filter((q) => q.status === 200)).toHaveLength(2);
    expect(r.sqs.entries).toHaveLength(10);
  });

  it('5xx: retried with backoff, then it goes on', async () => {
    const e = await emulator('workos', 10);
    e.failNext('500', 2);
    const r = await run(base(e), emulatorEnv(e));
    expect(r.code).toBe(0);
    expect(r.sqs.entries).toHaveLength(10);
  });

  it('entries SQS does not take are retried, never lost', async () => {
    const e = await emulator('stripe', 25);
    const sqs = fakeSqs();
    sqs.refuseOnce = [2, 7];
    const r = await run(base(e), emulatorEnv(e), { sqs });
    expect(r.code).toBe(0);
    expect(new Set(sqs.entries.map((x) => x.MessageDeduplicationId)).size).toBe(25);
  });

  it('pacing: --rate N spaces the requests 1/N s apart', async () => {
    const e = await emulator('stripe', 500);
    const r = await run(base(e, ['--rate', '2']), emulatorEnv(e));
    expect(r.code).toBe(0);
    expect(r.waits.filter((w) => w === 500)).toHaveLength(4);
  });
});

describe('checkpoint and --resume', () => {
  it('Ctrl-C stops after the page, writes the checkpoint; --resume finishes without repeating a page', async () => {
    const e = await emulator('stripe', 250);
    const controller = new AbortController();
    const sqs = fakeSqs();
    sqs.onCall = (n) => {
      if (n === 1) controller.abort();
    };
    const args = base(e);
    const r1 = await run(args, emulatorEnv(e), { sqs, signal: controller.signal });
    expect(r1.code).toBe(1);
    expect(r1.out).toContain('interrupted');
    expect(r1.err).toContain('--resume');
    expect(sqs.entries).toHaveLength(100);
    const cpFile = join(tmp, args[args.indexOf('--checkpoint') + 1]!);
    const cp = JSON.parse(await readFile(cpFile, 'utf8')) as { cursor: unknown; done: boolean; counts: { enqueued: number } };
    expect(cp).toMatchObject({ done: false, counts: { enqueued: 100 } });
    expect(typeof cp.cursor).toBe('string');

    // Without --resume: refused, the checkpoint is kept.
    const again = await run(args, emulatorEnv(e));
    expect(again.code).toBe(2);
    expect(again.err).toContain('add --resume');

    const r2 = await run([...args, '--resume'], emulatorEnv(e), { sqs });
    expect(r2.code).toBe(0);
    expect(r2.out).toContain('read 250, enqueued 250');
    expect(sqs.entries).toHaveLength(250);
    expect(new Set(sqs.entries.map((x) => decodeEnvelope(x.MessageBody!).ok && (decodeEnvelope(x.MessageBody!) as { ok: true; envelope: { payload: { customer_id: string } } }).envelope.payload.customer_id)).size).toBe(250);

    const r3 = await run([...args, '--resume'], emulatorEnv(e));
    expect(r3.code).toBe(0);
    expect(r3.err).toContain('nothing to resume');
  });

  it('--resume with other options than the checkpoint is refused', async () => {
    const e = await emulator('clerk', 5);
    const args = base(e);
    const cpFile = join(tmp, args[args.indexOf('--checkpoint') + 1]!);
    await writeFile(cpFile, JSON.stringify({ v: 1, source: 'clerk', apiUrl: e.url, queueUrl: QUEUE, since: '2020-01-01T00:00:00.000Z', limit: null, cursor: null, done: false, counts: { read: 0, enqueued: 0, skipped: {}, filtered: 0, pages: 0 }, startedAt: '', updatedAt: '' }));
    const r = await run([...args, '--resume'], emulatorEnv(e));
    expect(r.code).toBe(2);
    expect(r.err).toContain('--since');
  });

  it('a failure mid-run (provider keeps failing) exits 1 with the checkpoint at the last full page', async () => {
    const e = await emulator('workos', 250);
    const sqs = fakeSqs();
    sqs.onCall = (n) => {
      if (n === 10) e.failNext('500', 10);
    };
    const args = base(e);
    const r = await run(args, emulatorEnv(e), { sqs });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error: WorkOS failed listing users 6 times \(HTTP 500/);
    const cp = JSON.parse(await readFile(join(tmp, args[args.indexOf('--checkpoint') + 1]!), 'utf8')) as { counts: { enqueued: number }; done: boolean };
    expect(cp).toMatchObject({ done: false, counts: { enqueued: 100 } });
    const r2 = await run([...args, '--resume'], emulatorEnv(e));
    expect(r2.code).toBe(0);
    expect(r2.sqs.entries).toHaveLength(150);
  });
});

describe('--dry-run, output and credentials', () => {
  it('reads and maps, prints counts and one masked sample, enqueues nothing, writes no checkpoint', async () => {
    const e = await emulator('stripe', 30);
    const r = await run([e.provider, '--api-url', e.url, '--dry-run', '--config', '{}'], emulatorEnv(e));
    expect(r.code).toBe(0);
    expect(r.out).toContain('dry run of backfill stripe: read 30, would enqueue 30, skipped 0; nothing was enqueued');
    expect(r.out).toContain('sample (masked):');
    expect(r.out).not.toMatch(/user\d{6}@example\.com/);
    expect(r.out).not.toContain('cus_emu');
    expect(r.out).toContain('u***@example.com');
    expect(r.out).toContain('"type":"customer"');
    expect(r.sqs.calls).toBe(0);
    await expect(readFile(join(tmp, '.moengage-backfill-stripe.json'))).rejects.toThrow();
  });

  it('credentials appear nowhere: text, --json, progress lines, errors', async () => {
    for (const provider of ALL) {
      const e = await emulator(provider, 120);
      const env = emulatorEnv(e);
      e.failNext('429');
      const text = await run(base(e, ['--rate', '1000']), env, { tty: true });
      const json = await run(base(e, ['--json', '--rate', '1000']), env);
      const all = text.out + text.err + json.out + json.err;
      expect(all.length).toBeGreaterThan(0);
      expect(all).not.toContain(e.key);
      expect(text.err).toContain('\r\x1b[2K');
      expect(text.err).toMatch(/read [\d,]+/);
    }
  });

  it('usage errors: unknown source, source without a list, bad --since, --dry-run with --resume, no queue', async () => {
    expect((await run(['mailchimp'], {})).code).toBe(2);
    const seg = await run(['segment'], {});
    expect(seg.code).toBe(2);
    expect(seg.err).toContain('segment has no user list to read');
    expect((await run(['stripe', '--since', 'yesterday', '--dry-run'], { STRIPE_API_KEY: 'x' })).err).toContain('--since must be an ISO 8601');
    expect((await run(['stripe', '--dry-run', '--resume'], { STRIPE_API_KEY: 'x' })).code).toBe(2);
    const noQueue = await run(['stripe'], { STRIPE_API_KEY: 'x' });
    expect(noQueue.code).toBe(2);
    expect(noQueue.err).toContain('Choose the queues');
    const noKey = await run(['stripe', '--dry-run'], {});
    expect(noKey.code).toBe(3);
    expect(noKey.err).toContain('Set STRIPE_API_KEY');
    const noConfig = await run(['stripe', '--queue-url', QUEUE], { STRIPE_API_KEY: 'x' });
    expect(noConfig.code).toBe(2);
    expect(noConfig.err).toContain('--config');
  });

  it('a provider that answers the same cursor twice stops the run (exit 1) instead of looping', async () => {
    const e = await emulator('workos', 0);
    // Two users, and a list_metadata.after that never moves on.
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ object: 'user', id: 'user_loop', email: 'loop@example.com' }], list_metadata: { after: 'user_loop' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const r = await run(['workos', '--api-url', url, '--queue-url', QUEUE, '--config', '{}', '--checkpoint', 'loop.json'], emulatorEnv(e));
      expect(r.code).toBe(1);
      expect(r.err).toContain('same next-page cursor twice');
    } finally {
      server.close();
    }
  });

  it('--local maps with the adapter configuration the dev server reports (/_dev/status adapterConfig)', async () => {
    const e = await emulator('stripe', 3);
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ queueUrl: 'http://127.0.0.1:1/q.fifo', dlqUrl: 'http://127.0.0.1:1/d.fifo', sqsEndpoint: 'http://127.0.0.1:1', adapterConfig: { sources: { stripe: { customerIdField: 'email' } } } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = String((server.address() as { port: number }).port);
      const r = await run(['stripe', '--local', '--port', port, '--api-url', e.url, '--dry-run', '--json'], emulatorEnv(e));
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).sample.payload.customer_id).toBe('u***@example.com');
    } finally {
      server.close();
    }
  });

  it('--help lists the sources and their variables', async () => {
    const r = await run(['--help'], {});
    expect(r.code).toBe(0);
    for (const v of ['STRIPE_API_KEY', 'CLERK_SECRET_KEY', 'AUTH0_DOMAIN', 'WORKOS_API_KEY', 'SHOPIFY_ADMIN_TOKEN']) expect(r.out).toContain(v);
    // Only in the form that cannot download a package of that name (lib/tool-command.ts).
    expect(r.out).toContain(`Usage: ${TOOL_COMMAND} backfill <`);
    expect(r.out).not.toMatch(/npx moengage-adapter/);
  });
});

describe('version', () => {
  it('is the read time (early side), tie-broken by the object', async () => {
    const e = await emulator('workos', 1);
    const r = await run(base(e), emulatorEnv(e));
    const d = decodeEnvelope(r.sqs.entries[0]!.MessageBody!);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    // The virtual clock's T0 is earlier than the emulator's Date header: the request start wins.
    expect(d.envelope.version).toBe(versionKey(T0, 'backfill:user_emu000001'));
    expect(d.envelope.receivedAt).toBe(new Date(T0).toISOString());
  });
});

describe('http helpers', () => {
  it('Retry-After in seconds or as an HTTP date; nothing usable: undefined', () => {
    expect(retryAfterMs('7', T0)).toBe(7000);
    expect(retryAfterMs('1.5', T0)).toBe(1500);
    expect(retryAfterMs(new Date(T0 + 30_000).toUTCString(), T0)).toBe(30_000);
    expect(retryAfterMs('soon', T0)).toBeUndefined();
    expect(retryAfterMs(null, T0)).toBeUndefined();
  });

  it('the read time is the early side: the request start, or the Date header less a second', () => {
    expect(readTime(T0, null)).toBe(T0);
    expect(readTime(T0, new Date(T0 + 5000).toUTCString())).toBe(T0);
    expect(readTime(T0, new Date(T0).toUTCString())).toBe(T0 - 1000);
  });

  it('scrub removes the credentials and bearer tokens from any text', () => {
    expect(scrub('key sk_live_abcdef was refused', ['sk_live_abcdef'])).toBe('key [redacted] was refused');
    expect(scrub('Authorization: Bearer eyJhbGciOi.x.y failed', [])).toBe('Authorization: Bearer [redacted] failed');
  });
});
