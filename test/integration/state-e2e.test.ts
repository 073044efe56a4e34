/**
 * The per-user state store through the local run, as a user meets it against `npm run dev`:
 * real receiver and sender handlers, fauxqs, dynalite as the state table, the MoEngage
 * emulator (behind a small proxy that can fail one payload), webhooks signed with `svix` and
 * `stripe`. Scenarios of the per-user state issue:
 * - newer then older (a provider's late retry, another event id): MoEngage keeps the newer;
 * - a replay of the same event beyond SQS's deduplication: not sent again;
 * - deleteUsers: one Delete User call, and a late older update does not re-create the user;
 * - head-of-line: e1 answered 500 on every attempt, e2 and e3 behind it are delivered. For a
 *   snapshot source e1, once superseded by e3, is dropped as stale; for a partial source whose
 *   e1 still carries the newest value of an attribute, e1 ends in the DLQ with its reason and
 *   `dlq redrive` of e1 applies that attribute without overwriting e2/e3's newer ones.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main as cli } from '../../bin/cli';
import { messageGroupId } from '../../functions/core/envelope';
import { METRIC } from '../../functions/core/names';
import { versionKey } from '../../functions/core/version';
import { senderFromEnv } from '../../functions/sender/handler';
import { recordingTelemetry } from '../../functions/shared/observability';
import { startDev, type DevHandle } from '../../local/dev';
import { startMoEngageEmulator, type MoEngageEmulator } from '../../local/moengage-emulator';
import { DEV_SECRETS, segmentSignature } from '../../local/samples';
import { waitFor } from '../helpers/wait';

const T = Date.parse('2026-12-01T10:00:00.000Z');

function clerkBody(id: string, type: string, updatedAtMs: number, email: string) {
  return JSON.stringify({
    data:
      type === 'user.deleted'
        ? { id, object: 'user', deleted: true }
        : {
            id,
            object: 'user',
            first_name: 'Ada',
            last_name: 'Lovelace',
            primary_email_address_id: 'idn_1',
            email_addresses: [{ id: 'idn_1', object: 'email_address', email_address: email }],
            primary_phone_number_id: null,
            phone_numbers: [],
            created_at: T,
            updated_at: updatedAtMs,
          },
    object: 'event',
    type,
    timestamp: updatedAtMs,
  });
}

async function postClerk(dev: DevHandle, body: string, msgId: string) {
  const now = new Date();
  const signature = new SvixWebhook(DEV_SECRETS.clerk).sign(msgId, now, body);
  const headers = { 'content-type': 'application/json', 'svix-id': msgId, 'svix-timestamp': String(Math.floor(now.getTime() / 1000)), 'svix-signature': signature };
  return fetch(`${dev.url}/webhooks/clerk`, { method: 'POST', headers, body });
}

async function postStripe(dev: DevHandle, id: string, type: string, createdSeconds: number, email: string) {
  const payload = JSON.stringify({
    id,
    object: 'event',
    api_version: '2025-10-29.clover',
    created: createdSeconds,
    type,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object: { id: 'cus_state_1', object: 'customer', email, name: 'Grace Hopper', created: T / 1000 } },
  });
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: DEV_SECRETS.stripe });
  return fetch(`${dev.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body: payload });
}

async function depth(dev: DevHandle, url: string): Promise<number> {
  const a = await dev.sqs.client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(a.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

async function runCli(args: string[], port: number): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await cli(args, {
    io: { out: (t) => void (out += t), err: (t) => void (err += t), errIsTTY: false },
    env: { ...process.env, PORT: String(port) },
    receiveWaitSeconds: 0,
  });
  return { code, out, err };
}

/** A proxy in front of the emulator that answers 500 to every MoEngage call whose body contains `failMarker`. */
async function startFailingProxy(target: () => string): Promise<{ url: string; failMarker: { value?: string }; failed: number; close(): Promise<void> }> {
  const failMarker: { value?: string } = {};
  const state = { failed: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (failMarker.value && body.toString('utf8').includes(failMarker.value)) {
        state.failed++;
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"status":"fail","error":{"type":"InternalError","message":"injected","request_id":"proxy500"}}');
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
      fetch(`${target()}${req.url ?? ''}`, { method: req.method ?? 'POST', headers, body })
        .then(async (r) => {
          const out: Record<string, string> = {};
          r.headers.forEach((v, k) => {
            if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection') out[k] = v;
          });
          res.writeHead(r.status, out).end(Buffer.from(await r.arrayBuffer()));
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    failMarker,
    get failed() {
      return state.failed;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('per-user state through the local run', () => {
  let dev: DevHandle;
  let proxy: Awaited<ReturnType<typeof startFailingProxy>>;
  let emulator: MoEngageEmulator;
  const telemetry = recordingTelemetry();

  /** The real sender, with SQS-level redeliveries after 1-2 s instead of >= 30 s. */
  let built: ReturnType<typeof senderFromEnv> | undefined;
  const sender = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    built ??= senderFromEnv(process.env, telemetry, { minVisibilitySeconds: 1, maxVisibilitySeconds: 2 });
    return built.handler(event, context);
  };

  /** The profile MoEngage holds (the emulator merges accepted updates; a deletion removes it). */
  const profile = (customerId: string): Record<string, unknown> => emulator.profiles().get(customerId) ?? {};
  const settled = async () => {
    await waitFor(async () => (await depth(dev, dev.status().queueUrl)) === 0, 'an empty main queue');
    await dev.poller.idle();
  };

  beforeAll(async () => {
    emulator = await startMoEngageEmulator({ workspaceId: 'dev-workspace', apiKey: 'dev-api-key' });
    proxy = await startFailingProxy(() => emulator.url);
    dev = await startDev({
      port: 0,
      sqsPort: 0,
      quiet: true,
      env: {
        MOENGAGE_BASE_URL: proxy.url,
        MOENGAGE_WORKSPACE_ID: 'dev-workspace',
        MOENGAGE_API_KEY: 'dev-api-key',
        MOENGAGE_TIMEOUT_MS: '2000',
        ADAPTER_CONFIG_JSON: JSON.stringify({ sources: { clerk: { deleteUsers: true }, stripe: { deleteUsers: true } } }),
      },
      maxReceiveCount: 3,
      visibilityTimeoutSeconds: 12,
      poller: { waitTimeSeconds: 0, functionTimeoutMs: 10_000 },
      handlers: { sender },
    });
  });
  afterAll(async () => {
    await dev?.stop();
    await proxy?.close();
    await emulator?.close();
  });
  beforeEach(() => {
    proxy.failMarker.value = undefined;
  });

  it('runs with the embedded DynamoDB: /_dev/status names its endpoint and table', async () => {
    const status = (await (await fetch(`${dev.url}/_dev/status`)).json()) as { stateStore: { endpoint: string; table: string } };
    expect(status.stateStore).toEqual({ endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), table: 'moengage-adapter-state' });
  });

  it('Clerk: newer (T+20 s, email B) then a late older retry (T+10 s, email A, another svix-id): MoEngage keeps B', async () => {
    expect((await postClerk(dev, clerkBody('user_late_1', 'user.updated', T + 20_000, 'b@example.com'), 'msg_late_b')).status).toBe(202);
    await waitFor(() => profile('user_late_1').u_em === 'b@example.com', 'B at MoEngage');
    const before = telemetry.counts.get(METRIC.staleDropped) ?? 0;
    expect((await postClerk(dev, clerkBody('user_late_1', 'user.updated', T + 10_000, 'a@example.com'), 'msg_late_a')).status).toBe(202);
    await waitFor(() => (telemetry.counts.get(METRIC.staleDropped) ?? 0) > before, 'the stale drop');
    await settled();
    expect(profile('user_late_1').u_em).toBe('b@example.com');
    expect(emulator.accepted.filter((a) => a.payload.customer_id === 'user_late_1')).toHaveLength(1);
  });

  it('Stripe: customer.updated T+20 s then T+10 s: MoEngage keeps the newer', async () => {
    expect((await postStripe(dev, 'evt_state_new', 'customer.updated', T / 1000 + 20, 'new@example.com')).status).toBe(202);
    await waitFor(() => profile('cus_state_1').u_em === 'new@example.com', 'the newer at MoEngage');
    const before = telemetry.counts.get(`${METRIC.staleDropped}{source=stripe}`) ?? 0;
    expect((await postStripe(dev, 'evt_state_old', 'customer.updated', T / 1000 + 10, 'old@example.com')).status).toBe(202);
    await waitFor(() => (telemetry.counts.get(`${METRIC.staleDropped}{source=stripe}`) ?? 0) > before, 'the stale drop');
    await settled();
    expect(profile('cus_state_1').u_em).toBe('new@example.com');
  });

  it('a replay of the same event after SQS deduplication ended is not sent again (DuplicatesDropped)', async () => {
    expect((await postClerk(dev, clerkBody('user_dup_1', 'user.updated', T + 5_000, 'd@example.com'), 'msg_dup_1')).status).toBe(202);
    await waitFor(() => profile('user_dup_1').u_em === 'd@example.com', 'the first delivery');
    await settled();
    const first = emulator.accepted.filter((a) => a.payload.customer_id === 'user_dup_1').length;
    const before = telemetry.counts.get(METRIC.duplicatesDropped) ?? 0;
    // What SQS accepts again once its 5-minute window is over: the receiver's envelope, another deduplication id.
    const userKey = messageGroupId('user_dup_1');
    const envelope = {
      v: 1,
      source: 'clerk',
      eventId: 'msg_dup_1',
      eventType: 'user.updated',
      receivedAt: new Date().toISOString(),
      version: versionKey(T + 5_000, 'msg_dup_1'),
      userKey,
      payload: { type: 'customer', customer_id: 'user_dup_1', attributes: { u_em: 'd@example.com' } },
    };
    await dev.sqs.client.send(
      new SendMessageCommand({ QueueUrl: dev.status().queueUrl, MessageBody: JSON.stringify(envelope), MessageGroupId: userKey, MessageDeduplicationId: 'after-the-window' }),
    );
    await waitFor(() => (telemetry.counts.get(METRIC.duplicatesDropped) ?? 0) > before, 'the duplicate drop');
    await settled();
    expect(emulator.accepted.filter((a) => a.payload.customer_id === 'user_dup_1')).toHaveLength(first);
  });

  it('deleteUsers: one Delete User call; a late older update does not re-create the user', async () => {
    expect((await postClerk(dev, clerkBody('user_del_1', 'user.created', T + 1_000, 'del@example.com'), 'msg_del_c')).status).toBe(202);
    await waitFor(() => profile('user_del_1').u_em === 'del@example.com', 'the user at MoEngage');
    expect((await postClerk(dev, clerkBody('user_del_1', 'user.deleted', T + 30_000, ''), 'msg_del_d')).status).toBe(202);
    await waitFor(() => emulator.deletes().get('user_del_1') === 1, 'one Delete User call');
    expect(emulator.profiles().has('user_del_1')).toBe(false);
    const tracked = emulator.accepted.filter((a) => a.payload.customer_id === 'user_del_1').length;
    // A provider retry of an update from before the deletion (another event id).
    expect((await postClerk(dev, clerkBody('user_del_1', 'user.updated', T + 20_000, 'zombie@example.com'), 'msg_del_u')).status).toBe(202);
    await settled();
    expect(emulator.accepted.filter((a) => a.payload.customer_id === 'user_del_1')).toHaveLength(tracked);
    expect(emulator.deletes().get('user_del_1')).toBe(1);
    expect(emulator.profiles().has('user_del_1')).toBe(false);
    // A replay of the deletion itself is a duplicate: still one Delete User call.
    expect((await postClerk(dev, clerkBody('user_del_1', 'user.deleted', T + 30_000, ''), 'msg_del_d')).status).toBe(202);
    await settled();
    expect(emulator.deletes().get('user_del_1')).toBe(1);
  });

  it('head-of-line (snapshot source): e1 always 500, e2 and e3 behind it are delivered; e1, superseded, is dropped as stale', async () => {
    proxy.failMarker.value = 'hol-e1@example.com';
    const stale = telemetry.counts.get(`${METRIC.staleDropped}{source=clerk}`) ?? 0;
    for (const [n, email] of [
      [1, 'hol-e1@example.com'],
      [2, 'hol-e2@example.com'],
      [3, 'hol-e3@example.com'],
    ] as const) {
      expect((await postClerk(dev, clerkBody('user_hol_1', 'user.updated', T + n * 1_000, email), `msg_hol_${n}`)).status).toBe(202);
    }
    await waitFor(() => profile('user_hol_1').u_em === 'hol-e3@example.com', 'e3 at MoEngage', 30_000);
    await waitFor(() => (telemetry.counts.get(`${METRIC.staleDropped}{source=clerk}`) ?? 0) > stale, 'e1 dropped once superseded', 30_000);
    await settled();
    expect(proxy.failed).toBeGreaterThan(0);
    const emails = emulator.accepted.filter((a) => a.payload.customer_id === 'user_hol_1').map((a) => (a.payload.attributes as Record<string, unknown>).u_em);
    expect(emails).toEqual(['hol-e2@example.com', 'hol-e3@example.com']);
    expect(await depth(dev, dev.status().dlqUrl)).toBe(0);
  });

  it('head-of-line (partial source): e1 always 500; e2 and e3 are delivered; e1 ends in the DLQ with its reason; its redrive does not overwrite them', async () => {
    proxy.failMarker.value = 'plan-hol-gold';
    const post = async (n: number, traits: Record<string, string>) => {
      const body = JSON.stringify({
        type: 'identify',
        userId: 'seg_hol_1',
        messageId: `ajs-hol-${n}`,
        timestamp: new Date(T + n * 1_000).toISOString(),
        traits,
      });
      const res = await fetch(`${dev.url}/webhooks/segment`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-signature': segmentSignature(DEV_SECRETS.segment, body) },
        body,
      });
      expect(res.status).toBe(202);
    };
    await post(1, { email: 'seg-e1@example.com', plan: 'plan-hol-gold' });
    await post(2, { email: 'seg-e2@example.com' });
    await post(3, { email: 'seg-e3@example.com', firstName: 'Ada' });
    await waitFor(() => profile('seg_hol_1').u_em === 'seg-e3@example.com', 'e3 at MoEngage', 30_000);
    // e1 still carries the newest `plan`: it keeps failing, on its own schedule, until its last receive parks it.
    await waitFor(async () => (await depth(dev, dev.status().dlqUrl)) === 1, 'e1 in the DLQ', 40_000);
    const listed = await runCli(['dlq', 'list', '--local', '--json'], dev.port);
    const rows = JSON.parse(listed.out) as { eventId: string; reason: string; status: number }[];
    expect(rows).toEqual([expect.objectContaining({ eventId: 'ajs-hol-1', reason: 'retries_exhausted', status: 500 })]);
    expect(profile('seg_hol_1')).toMatchObject({ u_em: 'seg-e3@example.com', u_fn: 'Ada' });
    expect(profile('seg_hol_1')).not.toHaveProperty('plan');

    // MoEngage accepts again; the on-call engineer redrives e1: its plan lands, its older email does not.
    proxy.failMarker.value = undefined;
    expect((await runCli(['dlq', 'redrive', '--local'], dev.port)).code).toBe(0);
    await waitFor(() => profile('seg_hol_1').plan === 'plan-hol-gold', 'the redriven plan', 30_000);
    await settled();
    expect(profile('seg_hol_1')).toMatchObject({ u_em: 'seg-e3@example.com', u_fn: 'Ada', plan: 'plan-hol-gold' });
  });
});
