/**
 * The pipeline end to end, in-process: real receiver and sender handlers, fauxqs as SQS,
 * the poller as the event source mapping, and the MoEngage emulator (or a capturing server
 * standing in for MOENGAGE_BASE_URL). Webhooks are signed with the providers' official
 * libraries.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDev, type DevHandle } from '../../local/dev';
import { DEV_SECRETS } from '../../local/samples';
import { waitFor } from '../helpers/wait';

const CLERK_SECRET = DEV_SECRETS.clerk;
const STRIPE_SECRET = DEV_SECRETS.stripe;

function clerkUser(id: string, type = 'user.created') {
  return JSON.stringify({
    data: {
      id,
      object: 'user',
      first_name: 'Ada',
      last_name: 'Lovelace',
      primary_email_address_id: 'idn_1',
      email_addresses: [{ id: 'idn_1', object: 'email_address', email_address: `${id}@example.com` }],
      primary_phone_number_id: null,
      phone_numbers: [],
      public_metadata: { plan: 'pro' },
      private_metadata: { secret_note: 'never forwarded' },
      created_at: 1764400000000,
      updated_at: 1764400000000,
    },
    object: 'event',
    type,
    timestamp: 1764400000000,
  });
}

async function postClerk(dev: DevHandle, body: string, msgId: string, secret = CLERK_SECRET) {
  // One clock reading for the signature and the timestamp header: two readings can fall on either
  // side of a second boundary, and the receiver then rightly refuses the signature.
  const at = new Date();
  const signature = new SvixWebhook(secret).sign(msgId, at, body);
  const signed = { 'svix-id': msgId, 'svix-timestamp': String(Math.floor(at.getTime() / 1000)), 'svix-signature': signature };
  return fetch(`${dev.url}/webhooks/clerk`, { method: 'POST', headers: { 'content-type': 'application/json', ...signed }, body });
}

async function postStripe(dev: DevHandle, event: object) {
  const payload = JSON.stringify(event);
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET });
  return fetch(`${dev.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body: payload });
}

function stripeCustomerEvent(id: string, type = 'customer.created') {
  return {
    id: `evt_${id}`,
    object: 'event',
    api_version: '2025-10-29.clover',
    created: Math.floor(Date.now() / 1000),
    type,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object: { id: `cus_${id}`, object: 'customer', email: `${id}@example.com`, name: 'Grace Hopper', phone: '+15555550100', metadata: { tier: 'gold' }, created: 1764400000 } },
  };
}

async function queueDepth(dev: DevHandle, url: string): Promise<number> {
  const out = await dev.sqs.client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

describe('pipeline with the MoEngage emulator', () => {
  let dev: DevHandle;
  const accepted = () => dev.emulator!.accepted;

  beforeAll(async () => {
    dev = await startDev({
      port: 0,
      sqsPort: 0,
      quiet: true,
      env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
      // Short visibility so that SQS redelivery happens within the test.
      visibilityTimeoutSeconds: 2,
      poller: { waitTimeSeconds: 0, functionTimeoutMs: 15_000 },
    });
  });
  afterAll(async () => {
    await dev?.stop();
  });
  beforeEach(() => dev.emulator!.reset());

  it('GET /healthz answers 200 and /_dev/status names the queues', async () => {
    expect((await fetch(`${dev.url}/healthz`)).status).toBe(200);
    const status = (await (await fetch(`${dev.url}/_dev/status`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ queueUrl: dev.status().queueUrl, dlqUrl: dev.status().dlqUrl, sqsEndpoint: expect.any(String), moengageBaseUrl: dev.emulator!.url });
  });

  it('a Clerk webhook signed with svix is delivered to MoEngage', async () => {
    const res = await postClerk(dev, clerkUser('user_e2e_1'), 'msg_e2e_1');
    expect(res.status).toBe(202);
    const rec = await waitFor(() => accepted().find((a) => a.payload.customer_id === 'user_e2e_1'), 'the Clerk user at MoEngage');
    expect(rec.path).toBe(`/v1/customer/${dev.emulator!.workspaceId}?app_id=${dev.emulator!.workspaceId}`);
    expect(rec.payload).toMatchObject({ type: 'customer', customer_id: 'user_e2e_1', attributes: { u_em: 'user_e2e_1@example.com', u_fn: 'Ada', u_ln: 'Lovelace', plan: 'pro' } });
    expect(JSON.stringify(rec.payload)).not.toContain('never forwarded');
  });

  it('a Stripe webhook signed with stripe is delivered to MoEngage', async () => {
    const res = await postStripe(dev, stripeCustomerEvent('e2e2'));
    expect(res.status).toBe(202);
    const rec = await waitFor(() => accepted().find((a) => a.payload.customer_id === 'cus_e2e2'), 'the Stripe customer at MoEngage');
    expect(rec.payload).toMatchObject({ type: 'customer', attributes: { u_em: 'e2e2@example.com', u_n: 'Grace Hopper', u_mb: '+15555550100', tier: 'gold' } });
  });

  it('an event type the source does not act on: 200 ignored, nothing queued', async () => {
    // The earlier tests' messages are deleted once delivered and recorded in the state table.
    await waitFor(async () => (await queueDepth(dev, dev.status().queueUrl)) === 0, 'the earlier messages settled');
    const res = await postStripe(dev, { ...stripeCustomerEvent('ign'), type: 'invoice.paid' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ignored' });
    expect(await queueDepth(dev, dev.status().queueUrl)).toBe(0);
  });

  it('a bad signature: 401, nothing queued', async () => {
    await waitFor(async () => (await queueDepth(dev, dev.status().queueUrl)) === 0, 'the earlier messages settled');
    const res = await postClerk(dev, clerkUser('user_forged'), 'msg_forged', 'whsec_' + Buffer.from('another-secret-entirely!').toString('base64'));
    expect(res.status).toBe(401);
    expect(await queueDepth(dev, dev.status().queueUrl)).toBe(0);
  });

  it('the same provider event twice reaches MoEngage once (FIFO deduplication)', async () => {
    const body = clerkUser('user_dup');
    expect((await postClerk(dev, body, 'msg_dup')).status).toBe(202);
    expect((await postClerk(dev, body, 'msg_dup')).status).toBe(202);
    await waitFor(() => accepted().some((a) => a.payload.customer_id === 'user_dup'), 'the first copy');
    await waitFor(async () => (await queueDepth(dev, dev.status().queueUrl)) === 0, 'an empty queue');
    expect(accepted().filter((a) => a.payload.customer_id === 'user_dup')).toHaveLength(1);
  });

  it('500 then success: delivered once, by the in-invocation retry', async () => {
    dev.emulator!.faults.push({ status: 500 });
    expect((await postClerk(dev, clerkUser('user_500'), 'msg_500')).status).toBe(202);
    await waitFor(() => accepted().some((a) => a.payload.customer_id === 'user_500'), 'delivery after a 500');
    expect(dev.emulator!.stats().byStatus['500']).toBe(1);
    expect(accepted().filter((a) => a.payload.customer_id === 'user_500')).toHaveLength(1);
  });

  it('429 with Retry-After: waits, then delivers', async () => {
    dev.emulator!.faults.push({ status: 429, retryAfterSeconds: 1 });
    const t0 = Date.now();
    expect((await postClerk(dev, clerkUser('user_429'), 'msg_429')).status).toBe(202);
    await waitFor(() => accepted().some((a) => a.payload.customer_id === 'user_429'), 'delivery after a 429');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    expect(dev.emulator!.stats().rateLimited + (dev.emulator!.stats().byStatus['429'] ?? 0)).toBeGreaterThanOrEqual(1);
  });

  it('a 400 is parked in the DLQ at once with its reason as message attributes', async () => {
    dev.emulator!.setMode('reject');
    expect((await postClerk(dev, clerkUser('user_400'), 'msg_400')).status).toBe(202);
    const dlqUrl = dev.status().dlqUrl;
    const msg = await waitFor(async () => {
      const out = await dev.sqs.client.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MessageAttributeNames: ['All'], MaxNumberOfMessages: 1, VisibilityTimeout: 0 }));
      return out.Messages?.[0];
    }, 'the parked message');
    const attrs = msg.MessageAttributes ?? {};
    expect(attrs.failure_reason?.StringValue).toBe('moengage_rejected');
    expect(attrs.failure_status?.StringValue).toBe('400');
    expect(JSON.parse(attrs.failure_detail?.StringValue ?? '{}')).toMatchObject({ type: expect.any(String), request_id: expect.any(String) });
    expect(attrs.attempts?.StringValue).toBe('1');
    expect(Date.parse(attrs.failed_at?.StringValue ?? '')).not.toBeNaN();
    expect(JSON.parse(msg.Body ?? '{}')).toMatchObject({ source: 'clerk', eventId: 'msg_400', payload: { customer_id: 'user_400' } });
    expect(dev.emulator!.stats().byStatus['400']).toBe(1);
  });
});

describe('pipeline against MOENGAGE_BASE_URL', () => {
  let dev: DevHandle;
  let server: Server;
  const seen: { url: string; method: string; headers: IncomingMessage['headers']; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'success', message: 'Your request has been accepted and will be processed soon.' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    dev = await startDev({
      port: 0,
      sqsPort: 0,
      quiet: true,
      env: {
        MOENGAGE_BASE_URL: `http://127.0.0.1:${port}`,
        MOENGAGE_WORKSPACE_ID: 'WS_REAL_1',
        MOENGAGE_API_KEY: 'key-xyz',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      poller: { waitTimeSeconds: 0 },
    });
  });
  afterAll(async () => {
    await dev?.stop();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('Clerk and Stripe webhooks arrive with the right URL, auth header and body', async () => {
    expect(dev.emulator).toBeUndefined();
    expect((await postClerk(dev, clerkUser('user_ext_1'), 'msg_ext_1')).status).toBe(202);
    expect((await postStripe(dev, stripeCustomerEvent('ext2'))).status).toBe(202);
    await waitFor(() => seen.length >= 2 || undefined, 'two MoEngage calls');
    for (const call of seen) {
      expect(call.method).toBe('POST');
      expect(call.url).toBe('/v1/customer/WS_REAL_1?app_id=WS_REAL_1');
      expect(call.headers.authorization).toBe(`Basic ${Buffer.from('WS_REAL_1:key-xyz').toString('base64')}`);
      expect(call.headers['content-type']).toBe('application/json');
    }
    const bodies = seen.map((c) => JSON.parse(c.body) as { customer_id: string });
    expect(bodies.map((b) => b.customer_id).sort()).toEqual(['cus_ext2', 'user_ext_1']);
    expect(bodies.find((b) => b.customer_id === 'user_ext_1')).toEqual({
      type: 'customer',
      customer_id: 'user_ext_1',
      attributes: expect.objectContaining({ u_em: 'user_ext_1@example.com', u_fn: 'Ada', u_ln: 'Lovelace', u_n: 'Ada Lovelace', plan: 'pro' }),
    });
  });
});

describe('queue unavailable', () => {
  it('the receiver answers 5xx, never 2xx, when SQS does not accept the message', async () => {
    const dev = await startDev({ port: 0, sqsPort: 0, quiet: true, env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' } });
    try {
      await dev.poller.stop();
      await dev.sqs.stop();
      const res = await postClerk(dev, clerkUser('user_noq'), 'msg_noq');
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(await res.json()).toMatchObject({ error: { type: 'queue_unavailable' } });
    } finally {
      await dev.stop();
    }
  });
});
