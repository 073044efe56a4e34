/**
 * Every source end to end through the local run: its signed sample is delivered to MoEngage
 * with the default mapping of contract.md, and the same event signed with another secret is
 * refused with 401 and nothing is queued.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCE_NAMES, type SourceName } from '../../functions/core/config';
import { startDev, type DevHandle } from '../../local/dev';
import { buildSignedSample, postSignedRequest } from '../../local/samples';
import { waitFor } from '../helpers/wait';

/** A secret of the right format that is not the configured one. */
const FORGER_SECRETS: Record<SourceName, string> = {
  clerk: `whsec_${Buffer.from('forger-forger-forger-000').toString('base64')}`,
  stripe: 'whsec_forgerForgerForgerForger0000',
  shopify: 'forger0c4b3a29d8e7f6a5b4c3d2e1f0',
  workos: 'forgerworkos5e1f0c4b3a29d8e7f6a5',
  auth0: 'forger-auth0-token-000000000000000000',
  segment: 'forgersegment0c4b3a29d8e7f6a5b4',
  standard: `whsec_${Buffer.from('forger-forger-forger-111').toString('base64')}`,
};

describe('every source through npm run dev', () => {
  let dev: DevHandle;
  beforeAll(async () => {
    dev = await startDev({ port: 0, sqsPort: 0, quiet: true, poller: { waitTimeSeconds: 0 } });
  });
  afterAll(async () => {
    await dev?.stop();
  });

  const depth = async () => {
    const a = await dev.sqs.client.send(
      new GetQueueAttributesCommand({ QueueUrl: dev.status().queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    return Number(a.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  };

  it.each(SOURCE_NAMES)('%s: the signed sample is delivered with the default mapping', async (source) => {
    const signed = buildSignedSample(source, { secret: dev.env[secretEnv(source)] });
    const res = await postSignedRequest(dev.url, signed);
    expect(res.status).toBe(202);
    const rec = await waitFor(() => dev.emulator!.accepted.find((a) => a.payload.customer_id === signed.customerId), `${source} at MoEngage`);
    expect(rec.api).toBe('customer');
    expect(rec.payload.type).toBe('customer');
    const attributes = rec.payload.attributes as Record<string, unknown>;
    expect(typeof attributes.u_em).toBe('string');
    for (const key of Object.keys(attributes)) {
      expect(key.toLowerCase().startsWith('moe_')).toBe(false);
      expect(['id', '_id', 'user_id', 'source']).not.toContain(key);
    }
  });

  it.each(SOURCE_NAMES)('%s: signed with another secret: 401, nothing queued', async (source) => {
    // The delivered samples' messages are deleted once recorded in the state table: let them settle.
    await waitFor(async () => (await depth()) === 0, 'the delivered samples settled');
    const before = dev.emulator!.stats().requests;
    // A user id of its own (Shopify's are numeric), so that no delivery of the sample can pass for it.
    const forged = buildSignedSample(source, { secret: FORGER_SECRETS[source], user: { id: source === 'shopify' ? '990000000001' : `forged_${source}_1` } });
    const res = await postSignedRequest(dev.url, forged);
    expect(res.status).toBe(401);
    expect(await depth()).toBe(0);
    expect(dev.emulator!.stats().requests).toBe(before);
    expect(dev.emulator!.accepted.some((a) => a.payload.customer_id === forged.customerId)).toBe(false);
  });

  function secretEnv(source: SourceName): string {
    return dev.sources.find((s) => s.source === source)!.secretEnv;
  }
});
