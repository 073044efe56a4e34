/**
 * The backfill end to end through the local run (startDev: receiver, fauxqs, the sender with
 * its per-user state store in dynalite, the MoEngage emulator), driven like a new user would:
 * `backfill <source> --local --api-url <provider emulator>`. Then the ordering guarantee: a
 * webhook whose event is older than the backfill's read does not overwrite the backfilled
 * data, and a newer one does (webhooks signed with the `stripe` / `svix` packages).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli';
import { startDev, type DevHandle } from '../../local/dev';
import { emulatorEnv, sampleObjects, startProviderEmulator, type ProviderEmulator, type ProviderName } from '../../local/provider-emulator';
import { DEV_SECRETS } from '../../local/samples';
import { waitFor } from '../helpers/wait';

let dev: DevHandle;
let tmp: string;
const emulators: ProviderEmulator[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'backfill-e2e-'));
  dev = await startDev({
    port: 0,
    sqsPort: 0,
    quiet: true,
    // deleteUsers for Clerk: a user.deleted becomes a MoEngage Delete User and a tombstone.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', ADAPTER_CONFIG_JSON: JSON.stringify({ sources: { clerk: { deleteUsers: true } } }) },
    poller: { waitTimeSeconds: 0, functionTimeoutMs: 15_000 },
  });
});
afterAll(async () => {
  for (const e of emulators) await e.close();
  await dev?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});
beforeEach(() => dev.emulator!.reset());

async function provider(name: ProviderName, objects: Record<string, unknown>[]): Promise<ProviderEmulator> {
  const e = await startProviderEmulator({ provider: name, objects });
  emulators.push(e);
  return e;
}

async function backfill(e: ProviderEmulator, extra: string[] = []): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['backfill', e.provider, '--local', '--port', String(dev.port), '--api-url', e.url, '--rate', '1000', '--checkpoint', `${e.provider}-${e.port}.json`, ...extra], {
    io: { out: (t) => void (out += t), err: (t) => void (err += t), errIsTTY: false },
    env: emulatorEnv(e),
    cwd: tmp,
  });
  return { code, out, err };
}

const accepted = () => dev.emulator!.accepted;
const deliveredIds = (prefix: string) => new Set(accepted().map((a) => a.payload.customer_id).filter((id): id is string => typeof id === 'string' && id.startsWith(prefix)));

describe('backfill through npm run dev', () => {
  it('250 Stripe customers listed: 250 delivered to MoEngage', async () => {
    const e = await provider('stripe', sampleObjects('stripe', 250));
    const r = await backfill(e);
    expect(r.err).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.out).toContain('read 250, enqueued 250, skipped 0');
    await waitFor(() => deliveredIds('cus_emu').size === 250, '250 Stripe customers at MoEngage', 90_000);
    const one = accepted().find((a) => a.payload.customer_id === 'cus_emu000007')!;
    expect(one.payload).toMatchObject({ type: 'customer', attributes: { u_em: 'user000007@example.com', u_n: 'User 000007', plan: 'pro', address_city: 'Berlin' } });
    await dev.poller.idle();
    expect(deliveredIds('cus_emu').size).toBe(250);
  }, 120_000);

  it('250 Clerk users listed: 250 delivered to MoEngage', async () => {
    // --local maps with the dev server's own configuration, reported by /_dev/status.
    const status = (await (await fetch(`${dev.url}/_dev/status`)).json()) as { adapterConfig?: unknown };
    expect(status.adapterConfig).toMatchObject({ sources: expect.any(Object) });
    const e = await provider('clerk', sampleObjects('clerk', 250));
    const r = await backfill(e);
    expect(r.code).toBe(0);
    expect(r.out).toContain('read 250, enqueued 250, skipped 0');
    await waitFor(() => deliveredIds('user_emu').size === 250, '250 Clerk users at MoEngage', 90_000);
    const one = accepted().find((a) => a.payload.customer_id === 'user_emu000042')!;
    expect(one.payload.attributes).toMatchObject({ u_em: 'user000042@example.com', plan: 'pro' });
    expect(JSON.stringify(one.payload)).not.toContain('never forwarded');
  }, 120_000);
});

const REPO = resolve(__dirname, '../..');

/** `node bin/moengage-adapter.mjs backfill ...` as a subprocess; resolves with its exit code and output. */
function spawnCli(args: string[], env: Record<string, string>, onStart?: (child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['bin/moengage-adapter.mjs', 'backfill', ...args], { cwd: REPO, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, out, err }));
    onStart?.(child);
  });
}

describe('the bin entry, as a new user runs it', () => {
  it('`npx --no-install moengage-adapter backfill stripe --local --api-url <emulator>`: delivered; Ctrl-C writes the checkpoint and --resume finishes', async () => {
    const e = await provider('stripe', sampleObjects('stripe', 250).map((c) => ({ ...c, id: String(c.id).replace('cus_emu', 'cus_bin') })));
    const checkpoint = join(tmp, 'bin-stripe.json');
    const args = ['stripe', '--local', '--port', String(dev.port), '--api-url', e.url, '--checkpoint', checkpoint, '--rate', '1'];
    // One request per second: stopped with SIGINT once the first page is checkpointed.
    const first = await spawnCli(args, emulatorEnv(e), (child) => {
      void waitFor(async () => (await stat(checkpoint).catch(() => undefined)) !== undefined, 'the first checkpoint', 30_000).then(() => child.kill('SIGINT'));
    });
    expect(first.code).toBe(1);
    // Stopped between pages (normally after the first: the next request waits a second).
    const stopped = /backfill stripe interrupted: read (\d+), enqueued (\d+)/.exec(first.out);
    expect(stopped).not.toBeNull();
    expect(stopped![1]).toBe(stopped![2]);
    expect(first.err).toContain('--resume');
    expect(first.out + first.err).not.toContain(e.key);
    const cp = JSON.parse(await readFile(checkpoint, 'utf8')) as { done: boolean; counts: { enqueued: number } };
    expect(cp).toMatchObject({ done: false, counts: { enqueued: Number(stopped![2]) } });
    expect([100, 200]).toContain(cp.counts.enqueued);

    const second = await spawnCli(['stripe', '--local', '--port', String(dev.port), '--api-url', e.url, '--checkpoint', checkpoint, '--rate', '1000', '--resume', '--json'], emulatorEnv(e));
    expect(second.code).toBe(0);
    expect(JSON.parse(second.out)).toMatchObject({ status: 'complete', read: 250, enqueued: 250 });
    await waitFor(() => deliveredIds('cus_bin').size === 250, '250 customers at MoEngage', 90_000);
  }, 150_000);
});

async function postClerk(user: Record<string, unknown>, msgId: string, type = 'user.updated', timestamp = Date.now()): Promise<Response> {
  const body = JSON.stringify({ data: user, object: 'event', type, timestamp });
  const now = new Date();
  const signature = new SvixWebhook(DEV_SECRETS.clerk).sign(msgId, now, body);
  return fetch(`${dev.url}/webhooks/clerk`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'svix-id': msgId, 'svix-timestamp': String(Math.floor(now.getTime() / 1000)), 'svix-signature': signature },
    body,
  });
}

async function postStripe(customer: Record<string, unknown>, id: string, createdSeconds: number): Promise<Response> {
  const payload = JSON.stringify({ id, object: 'event', type: 'customer.updated', created: createdSeconds, livemode: false, data: { object: customer } });
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: DEV_SECRETS.stripe });
  return fetch(`${dev.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body: payload });
}

/** The plan attribute MoEngage holds for a user: the last accepted update. */
function planAtMoEngage(customerId: string): unknown {
  const mine = accepted().filter((a) => a.payload.customer_id === customerId);
  return mine.length ? (mine[mine.length - 1]!.payload.attributes as Record<string, unknown> | undefined)?.plan : undefined;
}

describe('a webhook older than the backfill read does not overwrite it; a newer one does', () => {
  // Webhook versions: Clerk data.updated_at (deletions: the event timestamp), Stripe the event's created.
  it('Clerk', async () => {
    const [user] = sampleObjects('clerk', 1);
    user!.id = 'user_order_1';
    user!.public_metadata = { plan: 'backfilled' };
    const e = await provider('clerk', [user!]);
    const readFrom = Date.now();
    expect((await backfill(e)).code).toBe(0);
    await waitFor(() => planAtMoEngage('user_order_1') === 'backfilled', 'the backfilled user at MoEngage', 30_000);

    // Written at the provider a minute before the read, delivered after it: dropped.
    expect((await postClerk({ ...user, public_metadata: { plan: 'older' }, updated_at: readFrom - 60_000 }, 'msg_order_old')).status).toBe(202);
    await dev.poller.idle();
    expect(accepted().some((a) => a.payload.customer_id === 'user_order_1' && (a.payload.attributes as Record<string, unknown>).plan === 'older')).toBe(false);

    // Written after the read: applied.
    expect((await postClerk({ ...user, public_metadata: { plan: 'newer' }, updated_at: Date.now() + 5_000 }, 'msg_order_new')).status).toBe(202);
    await waitFor(() => planAtMoEngage('user_order_1') === 'newer', 'the newer webhook at MoEngage', 30_000);
  }, 90_000);

  it('a user deleted after the read stays deleted (the tombstone outranks the backfill)', async () => {
    const [user] = sampleObjects('clerk', 1);
    user!.id = 'user_tomb_1';
    const e = await provider('clerk', [user!]);
    // The deletion happens (at Clerk) a minute after the read below, and reaches the sender first.
    expect((await postClerk({ id: 'user_tomb_1', object: 'user', deleted: true }, 'msg_tomb_del', 'user.deleted', Date.now() + 60_000)).status).toBe(202);
    await waitFor(() => dev.emulator!.deletes().get('user_tomb_1') === 1, 'the Delete User at MoEngage', 30_000);
    expect((await backfill(e)).code).toBe(0);
    await dev.poller.idle();
    expect(accepted().some((a) => a.payload.customer_id === 'user_tomb_1')).toBe(false);
    expect(dev.emulator!.profiles().has('user_tomb_1')).toBe(false);
  }, 90_000);

  it('Stripe', async () => {
    const [customer] = sampleObjects('stripe', 1);
    customer!.id = 'cus_order_1';
    customer!.metadata = { plan: 'backfilled' };
    const e = await provider('stripe', [customer!]);
    const readFrom = Math.floor(Date.now() / 1000);
    expect((await backfill(e)).code).toBe(0);
    await waitFor(() => planAtMoEngage('cus_order_1') === 'backfilled', 'the backfilled customer at MoEngage', 30_000);

    expect((await postStripe({ ...customer, metadata: { plan: 'older' } }, 'evt_order_old', readFrom - 60)).status).toBe(202);
    await dev.poller.idle();
    expect(accepted().some((a) => a.payload.customer_id === 'cus_order_1' && (a.payload.attributes as Record<string, unknown>).plan === 'older')).toBe(false);

    expect((await postStripe({ ...customer, metadata: { plan: 'newer' } }, 'evt_order_new', Math.floor(Date.now() / 1000) + 5)).status).toBe(202);
    await waitFor(() => planAtMoEngage('cus_order_1') === 'newer', 'the newer webhook at MoEngage', 30_000);
  }, 90_000);
});

describe('bulk mode', () => {
  let bulk: DevHandle;
  beforeAll(async () => {
    bulk = await startDev({ port: 0, sqsPort: 0, quiet: true, queueType: 'standard', env: { MOENGAGE_DELIVERY_MODE: 'bulk', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' }, poller: { waitTimeSeconds: 0 } });
  });
  afterAll(async () => {
    await bulk?.stop();
  });

  it('backfilled users fill Bulk Import requests (a standard queue: no FIFO group)', async () => {
    const e = await provider('workos', sampleObjects('workos', 250));
    let out = '';
    const code = await main(['backfill', 'workos', '--local', '--port', String(bulk.port), '--api-url', e.url, '--rate', '1000', '--checkpoint', 'bulk-workos.json', '--json'], {
      io: { out: (t) => void (out += t), err: () => undefined, errIsTTY: false },
      env: emulatorEnv(e),
      cwd: tmp,
    });
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ enqueued: 250 });
    const users = () => new Set(bulk.emulator!.accepted.map((a) => a.payload.customer_id));
    await waitFor(() => users().size === 250, '250 users at MoEngage', 90_000);
    expect(bulk.emulator!.accepted.every((a) => a.path.startsWith(`/v1/transition/${bulk.emulator!.workspaceId}`))).toBe(true);
    expect(bulk.emulator!.stats().acceptedRequests).toBeLessThan(bulk.emulator!.stats().acceptedUsers);
    console.log(`[backfill bulk] users=${bulk.emulator!.stats().acceptedUsers} bulkImportRequests=${bulk.emulator!.stats().acceptedRequests}`);
  }, 120_000);
});
