import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { detailJson, parkAttributes } from '../../functions/core/dlq';
import { recordOf, senderHarness } from '../helpers/sender-harness';
import {
  CREDENTIALS_REFRESH_INTERVAL_MS,
  credentialsFromEnv,
  credentialsFromSecretsManager,
  signingSecretsFromEnv,
  signingSecretsFromSecretsManager,
} from '../../functions/shared/secrets';

/** A real SDK client whose send() answers from a variable (what Powertools' provider calls). */
function fakeSecretsManager(value: () => string) {
  const client = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  let calls = 0;
  (client as unknown as { send: () => Promise<unknown> }).send = async () => {
    calls++;
    return { SecretString: value(), VersionId: 'v', Name: 'n', ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:n' };
  };
  return { client, calls: () => calls };
}

describe('signing secrets', () => {
  it('environment values are lists separated by commas or spaces (rotation)', async () => {
    const secrets = signingSecretsFromEnv({ CLERK_WEBHOOK_SECRET: 'whsec_a, whsec_b', AUTH0_WEBHOOK_TOKEN: 'tok' });
    expect(await secrets('clerk')).toEqual(['whsec_a', 'whsec_b']);
    expect(await secrets('auth0')).toEqual(['tok']);
    expect(await secrets('stripe')).toEqual([]);
  });

  it('in the Secrets Manager document strings are taken whole and lists are the rotation form', async () => {
    const sm = fakeSecretsManager(() => JSON.stringify({ auth0: 'token with, a comma and spaces', stripe: ['whsec_new', 'whsec_old'] }));
    const secrets = signingSecretsFromSecretsManager('arn:signing-1', sm.client);
    expect(await secrets('auth0')).toEqual(['token with, a comma and spaces']);
    expect(await secrets('stripe')).toEqual(['whsec_new', 'whsec_old']);
    expect(await secrets('clerk')).toEqual([]);
  });

  describe('kept parsed for 5 minutes, then read again', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('one read per 5 minutes whatever the number of webhooks; a changed document is seen after that', async () => {
      // The clock of this provider and of Powertools' own cache alike.
      vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-07T12:00:00Z') });
      let doc: Record<string, string | string[]> = { clerk: 'whsec_one', stripe: ['whsec_a', ' '] };
      const sm = fakeSecretsManager(() => JSON.stringify(doc));
      const secrets = signingSecretsFromSecretsManager('arn:signing-fresh', sm.client);
      expect(await secrets('clerk')).toEqual(['whsec_one']);
      expect(await secrets('stripe')).toEqual(['whsec_a']);
      doc = { clerk: 'whsec_two' };
      vi.setSystemTime(new Date('2026-12-07T12:04:59Z'));
      for (let i = 0; i < 100; i++) expect(await secrets('clerk')).toEqual(['whsec_one']);
      expect(sm.calls()).toBe(1);
      vi.setSystemTime(new Date('2026-12-07T12:05:01Z'));
      expect(await secrets('clerk')).toEqual(['whsec_two']);
      expect(await secrets('stripe')).toEqual([]);
      expect(sm.calls()).toBe(2);
    });

    it('a list at hand comes without a promise; the first read and a stale list with one', async () => {
      vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-07T12:00:00Z') });
      const sm = fakeSecretsManager(() => JSON.stringify({ clerk: 'whsec_one' }));
      const secrets = signingSecretsFromSecretsManager('arn:signing-at-hand', sm.client);
      const first = secrets('clerk');
      expect(first).toBeInstanceOf(Promise);
      expect(await first).toEqual(['whsec_one']);
      expect(secrets('clerk')).toEqual(['whsec_one']);
      expect(secrets('stripe')).toEqual([]);
      vi.setSystemTime(new Date('2026-12-07T12:05:01Z'));
      expect(secrets('clerk')).toBeInstanceOf(Promise);
    });

    it('the document is parsed once per read, not once per webhook', async () => {
      const sm = fakeSecretsManager(() => JSON.stringify({ clerk: 'whsec_one' }));
      const secrets = signingSecretsFromSecretsManager('arn:signing-parsed-once', sm.client);
      await secrets('clerk');
      const parse = vi.spyOn(JSON, 'parse');
      try {
        for (let i = 0; i < 100; i++) expect(secrets('clerk')).toEqual(['whsec_one']);
        expect(parse).not.toHaveBeenCalled();
      } finally {
        parse.mockRestore();
      }
    });

    it('a change is seen at 5 minutes exactly, also when a read falls on the expiry (one cache, not two)', async () => {
      vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-07T12:00:00.000Z') });
      let doc = { clerk: 'whsec_one' };
      const sm = fakeSecretsManager(() => JSON.stringify(doc));
      const secrets = signingSecretsFromSecretsManager('arn:signing-expiry', sm.client);
      expect(await secrets('clerk')).toEqual(['whsec_one']);
      doc = { clerk: 'whsec_two' };
      vi.setSystemTime(new Date('2026-12-07T12:04:59.999Z'));
      expect(await secrets('clerk')).toEqual(['whsec_one']);
      vi.setSystemTime(new Date('2026-12-07T12:05:00.000Z'));
      expect(await secrets('clerk')).toEqual(['whsec_two']);
      expect(sm.calls()).toBe(2);
      // Powertools keeps no copy of its own that could answer the old document later.
      doc = { clerk: 'whsec_three' };
      vi.setSystemTime(new Date('2026-12-07T12:10:00.000Z'));
      expect(await secrets('clerk')).toEqual(['whsec_three']);
    });

    it('concurrent first webhooks share one read', async () => {
      const sm = fakeSecretsManager(() => JSON.stringify({ clerk: 'whsec_one' }));
      const secrets = signingSecretsFromSecretsManager('arn:signing-cold', sm.client);
      const lists = await Promise.all(Array.from({ length: 10 }, () => secrets('clerk')));
      expect(lists.every((l) => l.length === 1 && l[0] === 'whsec_one')).toBe(true);
      expect(sm.calls()).toBe(1);
    });

    it('the MoEngage credentials likewise', async () => {
      vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-07T12:00:00Z') });
      let key = 'old';
      const sm = fakeSecretsManager(() => JSON.stringify({ workspaceId: 'ws', apiKey: key }));
      const creds = credentialsFromSecretsManager('arn:moengage-fresh', sm.client);
      expect((await creds.get()).apiKey).toBe('old');
      key = 'new';
      vi.setSystemTime(new Date('2026-12-07T12:04:59Z'));
      expect((await creds.get()).apiKey).toBe('old');
      vi.setSystemTime(new Date('2026-12-07T12:05:01Z'));
      expect((await creds.get()).apiKey).toBe('new');
      expect(sm.calls()).toBe(2);
    });
  });

  it('a document that is not JSON fails loudly (the receiver answers 503), without echoing it', async () => {
    const sm = fakeSecretsManager(() => 'whsec_oops not json');
    const secrets = signingSecretsFromSecretsManager('arn:signing-2', sm.client);
    await expect(secrets('clerk')).rejects.toThrow(/not a JSON object/);
    await expect(secrets('clerk')).rejects.not.toThrow(/whsec_oops/);
  });
});

describe('MoEngage credentials', () => {
  it('are cached, and refresh() reads the rotated value', async () => {
    let key = 'old';
    const sm = fakeSecretsManager(() => JSON.stringify({ workspaceId: 'ws', apiKey: key }));
    const creds = credentialsFromSecretsManager('arn:moengage-1', sm.client);
    expect(await creds.get()).toEqual({ workspaceId: 'ws', apiKey: 'old' });
    key = 'new';
    expect(await creds.get()).toEqual({ workspaceId: 'ws', apiKey: 'old' });
    expect(sm.calls()).toBe(1);
    expect(await creds.refresh()).toEqual({ workspaceId: 'ws', apiKey: 'new' });
    expect(await creds.get()).toEqual({ workspaceId: 'ws', apiKey: 'new' });
  });

  it('refresh() asks Secrets Manager at most once per 30 s per container: a batch of ten 401s costs one read', async () => {
    let key = 'old';
    const sm = fakeSecretsManager(() => JSON.stringify({ workspaceId: 'ws', apiKey: key }));
    let now = 50_000;
    const creds = credentialsFromSecretsManager('arn:moengage-throttle', sm.client, { now: () => now });
    await creds.get();
    expect(sm.calls()).toBe(1);
    key = 'new';
    // Ten messages of one batch, each answered 401 and each asking for a re-read (four at once, as with senderParallelism 4).
    const first = await Promise.all(Array.from({ length: 4 }, () => creds.refresh()));
    for (let i = 0; i < 6; i++) expect(await creds.refresh()).toEqual({ workspaceId: 'ws', apiKey: 'new' });
    expect(first.every((c) => c.apiKey === 'new')).toBe(true);
    expect(sm.calls()).toBe(2);
    // Within the window a rotated-again key is not fetched; after it, the next 401 fetches it.
    key = 'newer';
    now += CREDENTIALS_REFRESH_INTERVAL_MS - 1;
    expect((await creds.refresh()).apiKey).toBe('new');
    expect(sm.calls()).toBe(2);
    now += 1;
    expect((await creds.refresh()).apiKey).toBe('newer');
    expect(sm.calls()).toBe(3);
  });

  it('a failed re-read counts: no second read within the window, the cached value is answered', async () => {
    let fail = false;
    const sm = fakeSecretsManager(() => {
      if (fail) throw Object.assign(new Error('boom'), { name: 'InternalServiceError' });
      return JSON.stringify({ workspaceId: 'ws', apiKey: 'k' });
    });
    const creds = credentialsFromSecretsManager('arn:moengage-throttle-fail', sm.client, { now: () => 0 });
    await creds.get();
    fail = true;
    await expect(creds.refresh()).rejects.toThrow();
    expect(await creds.refresh()).toEqual({ workspaceId: 'ws', apiKey: 'k' });
    expect(sm.calls()).toBe(2);
  });

  it('the local run reads the environment on refresh()', async () => {
    const env: NodeJS.ProcessEnv = { MOENGAGE_WORKSPACE_ID: 'ws', MOENGAGE_API_KEY: 'a' };
    const creds = credentialsFromEnv(env);
    env.MOENGAGE_API_KEY = 'b';
    expect((await creds.refresh()).apiKey).toBe('b');
  });

  it('a malformed secret is a clear configuration error without its value', async () => {
    const sm = fakeSecretsManager(() => '{"workspaceId":"ws"}');
    await expect(credentialsFromSecretsManager('arn:moengage-2', sm.client).get()).rejects.toThrow(/workspaceId.*apiKey/);
  });
});

describe('failure_detail', () => {
  it('is valid JSON, bounded, and free of characters SQS refuses', () => {
    const long = 'x'.repeat(5_000);
    const json = detailJson({ type: long, message: `bad \uFFFF \uD800 ${long}`, request_id: long, attribute: long });
    expect(() => JSON.parse(json) as unknown).not.toThrow();
    expect(json.length).toBeLessThan(2_048);
    expect(json).not.toMatch(/[\uD800-\uDFFF\uFFFE\uFFFF]/);
    const attrs = parkAttributes({ reason: 'moengage_rejected', status: 400, attempts: 1, failedAt: '2026-01-01T00:00:00.000Z', detail: { message: long } });
    expect(JSON.parse(attrs.failure_detail!.StringValue)).toEqual({ message: 'x'.repeat(400) });
  });
});

describe('the sender with Secrets Manager credentials (deliverBatch)', () => {
  it('a batch of ten messages all answered 401: two GetSecretValue calls (the read and one re-read), not one or two per message', async () => {
    const sm = fakeSecretsManager(() => JSON.stringify({ workspaceId: 'ws1', apiKey: 'revoked' }));
    const h = senderHarness();
    h.deps.credentials = credentialsFromSecretsManager('arn:moengage-batch', sm.client, { now: h.deps.now });
    h.moengage.failWhen(() => 401);
    const records = Array.from({ length: 10 }, (_, i) =>
      recordOf({
        v: 1,
        source: 'clerk',
        eventId: `evt_b${i}`,
        eventType: 'user.updated',
        receivedAt: '2026-12-01T10:00:00.000Z',
        userKey: `u-batch-${i}`,
        payload: { type: 'customer', customer_id: `user_b${i}`, attributes: { u_fn: 'A' } },
      }),
    );
    const results = await h.deliver(records);
    expect([...results.values()].every((r) => !r.ok)).toBe(true);
    expect(h.moengage.calls.filter((c) => c.status === 401).length).toBeGreaterThanOrEqual(10);
    expect(sm.calls()).toBe(2);
  });
});
