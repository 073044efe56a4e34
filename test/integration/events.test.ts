/**
 * The `events` option through the local run, as a new user would try it: an ADAPTER_CONFIG file
 * with `{"sources":{"clerk":{"events":{"user.created":"Signed Up"}}}}`, a Clerk `user.created`
 * signed with svix, the embedded state table, the MoEngage emulator.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDev, type DevHandle } from '../../local/dev';
import { DEV_SECRETS } from '../../local/samples';
import { waitFor } from '../helpers/wait';

function clerkCreated(id: string, timestampMs: number) {
  return JSON.stringify({
    data: {
      id,
      object: 'user',
      first_name: 'Ada',
      last_name: 'Lovelace',
      primary_email_address_id: 'idn_1',
      email_addresses: [{ id: 'idn_1', object: 'email_address', email_address: `${id}@example.com`, verification: { status: 'verified', strategy: 'email_code' } }],
      primary_phone_number_id: null,
      phone_numbers: [],
      external_accounts: [],
      created_at: timestampMs,
      updated_at: timestampMs,
    },
    object: 'event',
    type: 'user.created',
    timestamp: timestampMs,
  });
}

async function postClerk(dev: DevHandle, body: string, msgId: string) {
  const at = new Date(); // one clock reading for the signature and its timestamp header
  const signature = new SvixWebhook(DEV_SECRETS.clerk).sign(msgId, at, body);
  const headers = { 'svix-id': msgId, 'svix-timestamp': String(Math.floor(at.getTime() / 1000)), 'svix-signature': signature };
  return fetch(`${dev.url}/webhooks/clerk`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

/** Messages in the main queue, visible or in flight (0 once the sender finished with them). */
async function inFlight(dev: DevHandle): Promise<number> {
  const out = await dev.sqs.client.send(
    new GetQueueAttributesCommand({ QueueUrl: dev.status().queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

describe('events through the local run', () => {
  let dev: DevHandle;
  let dir: string;
  const forUser = (id: string) => dev.emulator!.accepted.filter((a) => a.payload.customer_id === id);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'events-config-'));
    const configFile = join(dir, 'adapter-config.json');
    writeFileSync(configFile, JSON.stringify({ sources: { clerk: { events: { 'user.created': 'Signed Up' } } } }));
    dev = await startDev({
      port: 0,
      sqsPort: 0,
      quiet: true,
      env: { ADAPTER_CONFIG: configFile, POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
      visibilityTimeoutSeconds: 2,
      poller: { waitTimeSeconds: 0, functionTimeoutMs: 15_000 },
    });
  });
  afterAll(async () => {
    await dev?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a Clerk user.created reaches MoEngage as one Track User call, then one Create Event call for the same customer_id', async () => {
    const at = Date.now() - 5_000;
    expect((await postClerk(dev, clerkCreated('user_ev_1', at), 'msg_ev_1')).status).toBe(202);
    const calls = await waitFor(() => (forUser('user_ev_1').length >= 2 ? forUser('user_ev_1') : undefined), 'both calls at MoEngage');
    const ws = dev.emulator!.workspaceId;
    expect(calls.map((c) => [c.api, c.path])).toEqual([
      ['customer', `/v1/customer/${ws}?app_id=${ws}`],
      ['event', `/v1/event/${ws}?app_id=${ws}`],
    ]);
    expect(calls[1]?.payload).toEqual({
      type: 'event',
      customer_id: 'user_ev_1',
      actions: [{ action: 'Signed Up', attributes: { provider: 'clerk', signup_method: 'email_code' }, current_time: Math.floor(at / 1000) }],
    });
    expect(calls[1]?.headers['content-type']).toBe('application/json');
  });

  it('the same event delivered twice, and replayed after the FIFO window (a redrive), fires one event', async () => {
    const body = clerkCreated('user_ev_2', Date.now() - 1_000);
    expect((await postClerk(dev, body, 'msg_ev_2')).status).toBe(202);
    expect((await postClerk(dev, body, 'msg_ev_2')).status).toBe(202);
    await waitFor(() => forUser('user_ev_2').some((a) => a.api === 'event') || undefined, 'the event at MoEngage');
    // The queued message again, under another deduplication id: what a redrive or a replay past
    // SQS FIFO's 5-minute window looks like to the sender.
    const first = dev.emulator!.accepted.length;
    const envelope = {
      v: 1,
      source: 'clerk',
      eventId: 'msg_ev_2',
      eventType: 'user.created',
      receivedAt: new Date().toISOString(),
      userKey: 'u-replayed-ev-2',
      events: [{ action: 'Signed Up', attributes: { provider: 'clerk' }, current_time: Math.floor(Date.now() / 1000) - 1 }],
      payload: { type: 'customer', customer_id: 'user_ev_2', attributes: { u_fn: 'Ada' } },
    };
    await dev.sqs.client.send(
      new SendMessageCommand({ QueueUrl: dev.status().queueUrl, MessageBody: JSON.stringify(envelope), MessageGroupId: 'u-replayed-ev-2', MessageDeduplicationId: 'replay-ev-2' }),
    );
    // Its unversioned attribute update reaches MoEngage (a marker that the replay was processed); its event does not.
    await waitFor(() => dev.emulator!.accepted.slice(first).some((a) => a.payload.customer_id === 'user_ev_2') || undefined, 'the replay processed');
    await waitFor(async () => (await inFlight(dev)) === 0 || undefined, 'the replay deleted from the queue');
    expect(forUser('user_ev_2').filter((a) => a.api === 'event')).toHaveLength(1);
  });
});

describe('events through the local run in bulk mode', () => {
  let dev: DevHandle;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'events-config-'));
    const configFile = join(dir, 'adapter-config.json');
    writeFileSync(configFile, JSON.stringify({ sources: { clerk: { events: { 'user.created': 'Signed Up' } } } }));
    dev = await startDev({
      port: 0,
      sqsPort: 0,
      quiet: true,
      env: { ADAPTER_CONFIG: configFile, MOENGAGE_DELIVERY_MODE: 'bulk', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
      visibilityTimeoutSeconds: 2,
      poller: { waitTimeSeconds: 0, functionTimeoutMs: 15_000 },
    });
  });
  afterAll(async () => {
    await dev?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the event element follows the user's customer element in the same /v1/transition request", async () => {
    expect((await postClerk(dev, clerkCreated('user_evb_1', Date.now() - 2_000), 'msg_evb_1')).status).toBe(202);
    const mine = () => dev.emulator!.accepted.filter((a) => a.payload.customer_id === 'user_evb_1');
    const records = await waitFor(() => (mine().length >= 2 ? mine() : undefined), 'both elements at MoEngage');
    expect(records.map((r) => [r.api, (r.payload as { type: string }).type])).toEqual([
      ['bulk', 'customer'],
      ['bulk', 'event'],
    ]);
    expect(records[0]?.requestId).toBe(records[1]?.requestId);
    expect(records[1]?.payload).toMatchObject({ actions: [{ action: 'Signed Up', current_time: expect.any(Number) }] });
  });
});
