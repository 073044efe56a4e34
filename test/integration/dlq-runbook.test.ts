/**
 * The on-call path end to end in the local run: MoEngage refuses a payload, the sender parks
 * it with its reason, `dlq list --local --json` shows why, MoEngage accepts again, and
 * `dlq redrive --local` delivers it and leaves the DLQ empty.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli';
import { startDev, type DevHandle } from '../../local/dev';
import { buildSignedSample, postSignedRequest } from '../../local/samples';
import { waitFor } from '../helpers/wait';

async function cli(args: string[], port: number): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, {
    io: { out: (t) => void (out += t), err: (t) => void (err += t), errIsTTY: false },
    env: { ...process.env, PORT: String(port) },
    receiveWaitSeconds: 0,
  });
  return { code, out, err };
}

async function depth(dev: DevHandle, url: string): Promise<number> {
  const a = await dev.sqs.client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(a.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

describe('DLQ runbook in the local run', () => {
  let dev: DevHandle;
  beforeAll(async () => {
    dev = await startDev({ port: 0, sqsPort: 0, quiet: true, poller: { waitTimeSeconds: 0 } });
  });
  afterAll(async () => {
    await dev?.stop();
  });

  it('list shows the refused message with its reason; redrive delivers it once MoEngage accepts', async () => {
    const mode = await fetch(`${dev.url}/_dev/moengage/mode`, { method: 'POST', body: JSON.stringify({ mode: 'reject' }) });
    expect(mode.status).toBe(200);

    const signed = buildSignedSample('clerk', { secret: dev.env.CLERK_WEBHOOK_SECRET });
    const posted = await postSignedRequest(dev.url, signed);
    expect(posted.status).toBe(202);
    await waitFor(async () => (await depth(dev, dev.status().dlqUrl)) === 1, 'the parked message');

    const listed = await cli(['dlq', 'list', '--local', '--json'], dev.port);
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.out) as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      source: 'clerk',
      eventId: signed.eventId,
      eventType: 'user.created',
      customerId: signed.customerId,
      reason: 'moengage_rejected',
      status: 400,
      attempts: 1,
    });
    expect(rows[0]!.detail).toMatchObject({ request_id: expect.any(String) });
    expect(Date.parse(String(rows[0]!.failedAt))).not.toBeNaN();

    expect((await fetch(`${dev.url}/_dev/moengage/mode`, { method: 'POST', body: '{"mode":"accept"}' })).status).toBe(200);
    const redriven = await cli(['dlq', 'redrive', '--local'], dev.port);
    expect(redriven.code).toBe(0);
    await waitFor(() => dev.emulator!.accepted.some((a) => a.payload.customer_id === signed.customerId), 'delivery of the redriven message');
    expect(await depth(dev, dev.status().dlqUrl)).toBe(0);
    await waitFor(async () => (await depth(dev, dev.status().queueUrl)) === 0, 'an empty main queue');
  });

  it('the mode switch refuses unknown modes', async () => {
    const res = await fetch(`${dev.url}/_dev/moengage/mode`, { method: 'POST', body: '{"mode":"chaos"}' });
    expect(res.status).toBe(400);
  });

  it('GET /_dev/moengage/profiles shows what the emulated MoEngage holds', async () => {
    const res = await fetch(`${dev.url}/_dev/moengage/profiles`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { profiles: Record<string, unknown>; deletes: Record<string, number> };
    expect(Object.fromEntries(dev.emulator!.profiles())).toEqual(body.profiles);
    expect(Object.keys(body.profiles).length).toBeGreaterThan(0);
    expect(body.deletes).toEqual({});
  });
});
