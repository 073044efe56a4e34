/**
 * Credential rotation through Secrets Manager, without a redeploy (the "Reliability" issue):
 * the pipeline runs in-process (startDev: the real receiver and sender Lambda entries, fauxqs,
 * the poller, the MoEngage emulator) and reads its secrets from the Secrets Manager emulator
 * (local/secrets-manager.ts) through MOENGAGE_SECRET_ARN, SIGNING_SECRETS_ARN and
 * SECRETS_MANAGER_ENDPOINT, as deployed.
 *
 * startDev does not forward those three variables to the handlers, so they are set on
 * process.env here before it starts (and restored after). The MoEngage emulator expects the
 * rotated key ('new') from the start: startDev gives it MOENGAGE_API_KEY, while the sender
 * reads the key from the secret, which holds the old one until the test rotates it.
 *
 * The cases run in order against one pipeline (each starts from what the previous left).
 */
import { createHash } from 'node:crypto';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/core/names';
import { secretsManagerClient } from '../../functions/shared/secrets';
import { startDev, type DevHandle } from '../../local/dev';
import { buildSampleEvent, DEV_SECRETS, postSignedRequest, signSample } from '../../local/samples';
import { startSecretsManagerEmulator, type SecretRef, type SecretsManagerEmulator } from '../../local/secrets-manager';
import { waitFor } from '../helpers/wait';

const WORKSPACE = 'rotation-ws';
const OLD_KEY = 'moengage-key-old-0001';
const NEW_KEY = 'moengage-key-new-0002';
/** Svix secrets: `whsec_` + base64 of 24 fixed bytes. */
const CLERK_NEW = `whsec_${Buffer.from('rotation-test-clerk-new!').toString('base64')}`;
const CLERK_OLD = `whsec_${Buffer.from('rotation-test-clerk-old!').toString('base64')}`;

function clerkEvent(userId: string, secret: string, eventId: string) {
  let n = 0;
  const randomHex = () => createHash('sha256').update(`${userId}:${n++}`).digest('hex').slice(0, 32);
  const sample = buildSampleEvent('clerk', { user: { id: userId }, eventId, randomHex });
  return signSample(sample, secret);
}

describe('credential rotation through the Secrets Manager emulator', () => {
  let sm: SecretsManagerEmulator;
  let smClient: SecretsManagerClient;
  let dev: DevHandle;
  let moengageSecret: SecretRef;
  let signingSecret: SecretRef;
  const saved = new Map<string, string | undefined>();
  const setEnv = (name: string, value: string) => {
    if (!saved.has(name)) saved.set(name, process.env[name]);
    process.env[name] = value;
  };

  beforeAll(async () => {
    sm = await startSecretsManagerEmulator();
    moengageSecret = sm.createSecret('moengage-adapter/moengage', { workspaceId: WORKSPACE, apiKey: OLD_KEY });
    signingSecret = sm.createSecret('moengage-adapter/signing-secrets', { clerk: [CLERK_NEW, CLERK_OLD] });
    setEnv(ENV.secretsManagerEndpoint, sm.url);
    setEnv(ENV.moengageSecretArn, moengageSecret.arn);
    setEnv(ENV.signingSecretsArn, signingSecret.arn);
    // The re-read throttle (one forced read per 30 s per container, unit-tested in secrets.test.ts)
    // is lifted: here the key is rotated between two 401s a second apart.
    setEnv(ENV.secretRefreshIntervalMs, '0');
    smClient = secretsManagerClient(process.env);
    dev = await startDev({
      port: 0,
      sqsPort: 0,
      quiet: true,
      // The emulated workspace already expects the new key; the secret still holds the old one.
      env: { [ENV.moengageWorkspaceId]: WORKSPACE, [ENV.moengageApiKey]: NEW_KEY },
      visibilityTimeoutSeconds: 60,
      maxReceiveCount: 10,
      // The deployed function timeout (30 s): the sender re-reads the secret after a 401 only when
      // the invocation still has a MoEngage request timeout (10 s) + 1 s left.
      poller: { waitTimeSeconds: 1, functionTimeoutMs: 30_000 },
    });
  });
  afterAll(async () => {
    await dev?.stop();
    smClient?.destroy();
    await sm?.close();
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('Secrets Manager unavailable: the receiver answers 503, never 2xx, and queues nothing', async () => {
    sm.setUnavailable(true);
    try {
      const res = await postSignedRequest(dev.url, clerkEvent('user_rot_0', CLERK_NEW, 'msg_rot_0'));
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body)).toMatchObject({ error: { type: 'secrets_unavailable' } });
      expect(res.body).not.toContain(CLERK_NEW);
    } finally {
      sm.setUnavailable(false);
    }
    const attrs = await dev.sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: dev.sqs.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(attrs.Attributes?.ApproximateNumberOfMessages).toBe('0');
  });

  it('the MoEngage key is rotated in Secrets Manager: after a 401 the sender re-reads it and delivers, nothing restarted', async () => {
    const emulator = dev.emulator!;
    const reads = () => sm.count('GetSecretValue', moengageSecret.arn);
    expect(reads()).toBe(0);

    // 1. The key was changed at MoEngage; the secret still holds the old one.
    expect((await postSignedRequest(dev.url, clerkEvent('user_rot_1', CLERK_NEW, 'msg_rot_1'))).status).toBe(202);
    // First attempt with the old key, a forced re-read (still old), a second 401: back to SQS.
    await waitFor(() => (emulator.stats().byStatus['401'] ?? 0) >= 2 || undefined, 'two 401s at MoEngage');
    expect(reads()).toBe(2);
    expect(emulator.accepted).toHaveLength(0);

    // 2. The operator rotates the secret, through the Secrets Manager API.
    await smClient.send(new PutSecretValueCommand({ SecretId: moengageSecret.arn, SecretString: JSON.stringify({ workspaceId: WORKSPACE, apiKey: NEW_KEY }) }));

    // 3. The next event: the cached old key gets a 401, the forced re-read the new key, then a 200.
    expect((await postSignedRequest(dev.url, clerkEvent('user_rot_2', CLERK_NEW, 'msg_rot_2'))).status).toBe(202);
    await waitFor(() => emulator.accepted.some((a) => a.payload.customer_id === 'user_rot_2') || undefined, 'the second event delivered with the rotated key');
    expect(reads()).toBe(3);

    // 4. The first event comes back from SQS (after the sender's redelivery delay) and goes through.
    await waitFor(() => emulator.accepted.some((a) => a.payload.customer_id === 'user_rot_1') || undefined, 'the first event delivered after its redelivery', 50_000);
    expect(emulator.accepted.map((a) => a.payload.customer_id).sort()).toEqual(['user_rot_1', 'user_rot_2']);
    expect(emulator.stats().byStatus['401']).toBe(3);
    expect(reads()).toBe(3);
    const dlq = await dev.sqs.client.send(
      new GetQueueAttributesCommand({ QueueUrl: dev.sqs.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    expect(Number(dlq.Attributes?.ApproximateNumberOfMessages) + Number(dlq.Attributes?.ApproximateNumberOfMessagesNotVisible)).toBe(0);
  }, 60_000);

  it('the signing secrets come from the SIGNING_SECRETS_ARN secret: both rotation secrets verify, the env one does not', async () => {
    const emulator = dev.emulator!;
    expect(sm.count('GetSecretValue', signingSecret.arn)).toBeGreaterThanOrEqual(1);
    expect((await postSignedRequest(dev.url, clerkEvent('user_sig_new', CLERK_NEW, 'msg_sig_new'))).status).toBe(202);
    expect((await postSignedRequest(dev.url, clerkEvent('user_sig_old', CLERK_OLD, 'msg_sig_old'))).status).toBe(202);

    // CLERK_WEBHOOK_SECRET (startDev's development secret) is set too, but the deployed source of truth wins.
    expect(dev.env.CLERK_WEBHOOK_SECRET).toBe(DEV_SECRETS.clerk);
    const envSigned = await postSignedRequest(dev.url, clerkEvent('user_sig_env', DEV_SECRETS.clerk, 'msg_sig_env'));
    expect(envSigned.status).toBe(401);
    expect(envSigned.body).not.toContain(CLERK_NEW);

    // A source missing from the secret document is not configured: 503, the provider retries later.
    const stripe = signSample(buildSampleEvent('stripe', { user: { id: 'cus_sig' } }), DEV_SECRETS.stripe);
    const res = await postSignedRequest(dev.url, stripe);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ error: { type: 'source_not_configured' } });

    await waitFor(() => ['user_sig_new', 'user_sig_old'].every((id) => emulator.accepted.some((a) => a.payload.customer_id === id)) || undefined, 'both verified events delivered');
    expect(emulator.accepted.some((a) => a.payload.customer_id === 'user_sig_env')).toBe(false);
  });
});
