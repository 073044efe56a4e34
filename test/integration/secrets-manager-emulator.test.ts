/**
 * The Secrets Manager emulator (local/secrets-manager.ts) through the real AWS SDK client and
 * Powertools' SecretsProvider, the way the handlers read secrets (functions/shared/secrets.ts).
 */
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFromSecretsManager, secretsManagerClient, signingSecretsFromSecretsManager } from '../../functions/shared/secrets';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from '../../local/secrets-manager';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0, 250);

describe('Secrets Manager emulator', () => {
  let sm: SecretsManagerEmulator;
  let client: SecretsManagerClient;
  const lines: string[] = [];
  let clock = T0;
  let seq = 0;

  beforeAll(async () => {
    sm = await startSecretsManagerEmulator({
      now: () => clock,
      versionId: () => `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`,
      arnSuffix: () => 'AbC123',
      log: (l) => lines.push(l),
    });
    client = secretsManagerClient({ SECRETS_MANAGER_ENDPOINT: sm.url, AWS_REGION: 'us-east-1' });
  });
  afterAll(async () => {
    client?.destroy();
    await sm?.close();
  });

  it('listens on 127.0.0.1 and builds AWS-shaped ARNs', () => {
    expect(sm.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ref = sm.createSecret('shape/check', 'v');
    expect(ref.arn).toBe('arn:aws:secretsmanager:us-east-1:000000000000:secret:shape/check-AbC123');
  });

  it('CreateSecret then GetSecretValue by name, full ARN and partial ARN', async () => {
    const created = await client.send(new CreateSecretCommand({ Name: 'moengage/creds', SecretString: '{"workspaceId":"W","apiKey":"k1"}', Description: 'test' }));
    expect(created.ARN).toBe('arn:aws:secretsmanager:us-east-1:000000000000:secret:moengage/creds-AbC123');
    expect(created.Name).toBe('moengage/creds');
    expect(created.VersionId).toEqual(expect.any(String));
    for (const id of ['moengage/creds', created.ARN!, created.ARN!.slice(0, -7)]) {
      const got = await client.send(new GetSecretValueCommand({ SecretId: id }));
      expect(got).toMatchObject({ ARN: created.ARN, Name: 'moengage/creds', VersionId: created.VersionId, SecretString: '{"workspaceId":"W","apiKey":"k1"}', VersionStages: ['AWSCURRENT'] });
      expect(got.CreatedDate).toEqual(new Date(T0));
    }
  });

  it('PutSecretValue moves AWSCURRENT to the new version and the old one to AWSPREVIOUS', async () => {
    sm.createSecret('rotating', 'one');
    clock += 1_000;
    const put = await client.send(new PutSecretValueCommand({ SecretId: 'rotating', SecretString: 'two' }));
    expect(put.VersionStages).toEqual(['AWSCURRENT']);
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'rotating' }))).SecretString).toBe('two');
    const previous = await client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPREVIOUS' }));
    expect(previous.SecretString).toBe('one');
    clock += 1_000;
    sm.putSecretValue('rotating', 'three');
    expect(sm.currentString('rotating')).toBe('three');
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPREVIOUS' }))).SecretString).toBe('two');
    // The first version lost every label but can still be read by its id.
    const byId = await client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionId: previous.VersionId! }));
    expect(byId.SecretString).toBe('one');
    expect(byId.VersionStages).toEqual([]);

    const described = await client.send(new DescribeSecretCommand({ SecretId: 'rotating' }));
    expect(described.Name).toBe('rotating');
    expect(described.LastChangedDate).toEqual(new Date(clock));
    expect(Object.values(described.VersionIdsToStages ?? {}).sort()).toEqual([['AWSCURRENT'], ['AWSPREVIOUS']]);
    expect(described.LastAccessedDate).toEqual(new Date(Date.UTC(2026, 0, 15)));
  });

  it('a custom staging label does not move AWSCURRENT', async () => {
    sm.createSecret('staged', 'live');
    const pending = await client.send(new PutSecretValueCommand({ SecretId: 'staged', SecretString: 'next', VersionStages: ['AWSPENDING'] }));
    expect(pending.VersionStages).toEqual(['AWSPENDING']);
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'staged' }))).SecretString).toBe('live');
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'staged', VersionStage: 'AWSPENDING' }))).SecretString).toBe('next');
  });

  it('ClientRequestToken is the version id: a retry is idempotent, another value under it is refused', async () => {
    sm.createSecret('tokens', 'a');
    const token = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
    const first = await client.send(new PutSecretValueCommand({ SecretId: 'tokens', SecretString: 'b', ClientRequestToken: token }));
    expect(first.VersionId).toBe(token);
    const again = await client.send(new PutSecretValueCommand({ SecretId: 'tokens', SecretString: 'b', ClientRequestToken: token }));
    expect(again.VersionId).toBe(token);
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'tokens', VersionStage: 'AWSPREVIOUS' }))).SecretString).toBe('a');
    await expect(client.send(new PutSecretValueCommand({ SecretId: 'tokens', SecretString: 'c', ClientRequestToken: token }))).rejects.toBeInstanceOf(ResourceExistsException);
    expect(sm.currentString('tokens')).toBe('b');
  });

  it('binary secrets round-trip as bytes', async () => {
    const bytes = Uint8Array.from([0, 1, 2, 250, 255]);
    await client.send(new CreateSecretCommand({ Name: 'binary', SecretBinary: bytes }));
    const got = await client.send(new GetSecretValueCommand({ SecretId: 'binary' }));
    expect(got.SecretString).toBeUndefined();
    expect(Buffer.from(got.SecretBinary!)).toEqual(Buffer.from(bytes));
  });

  it('answers AWS errors the SDK maps to its exception classes, without echoing values', async () => {
    const missing = await client.send(new GetSecretValueCommand({ SecretId: 'nope' })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect((missing as Error).message).toBe("Secrets Manager can't find the specified secret.");
    expect((missing as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(400);

    sm.createSecret('exists', 'hidden-value-1');
    const dup = await client.send(new CreateSecretCommand({ Name: 'exists', SecretString: 'hidden-value-2' })).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(ResourceExistsException);

    const both = await client.send(new CreateSecretCommand({ Name: 'both', SecretString: 'x', SecretBinary: Uint8Array.from([1]) })).catch((e: unknown) => e);
    expect((both as Error).name).toBe('InvalidParameterException');

    const noStage = await client.send(new GetSecretValueCommand({ SecretId: 'exists', VersionStage: 'AWSPREVIOUS' })).catch((e: unknown) => e);
    expect(noStage).toBeInstanceOf(ResourceNotFoundException);

    const noValue = await client.send(new PutSecretValueCommand({ SecretId: 'exists' })).catch((e: unknown) => e);
    expect((noValue as Error).name).toBe('InvalidRequestException');

    const tooBig = await client.send(new PutSecretValueCommand({ SecretId: 'exists', SecretString: 'x'.repeat(65_537) })).catch((e: unknown) => e);
    expect((tooBig as Error).name).toBe('InvalidParameterException');

    for (const l of lines) expect(l).not.toMatch(/hidden-value/);
    expect(JSON.stringify(sm.calls)).not.toMatch(/hidden-value/);
  });

  it('refuses unsigned requests, unknown operations and malformed bodies', async () => {
    const post = (headers: Record<string, string>, body: string) => fetch(`${sm.url}/`, { method: 'POST', headers, body });
    const signed = { authorization: 'AWS4-HMAC-SHA256 Credential=local/20260115/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00', 'content-type': 'application/x-amz-json-1.1' };

    const unsigned = await post({ 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' }, '{"SecretId":"exists"}');
    expect(unsigned.status).toBe(400);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');

    const unknown = await post({ ...signed, 'x-amz-target': 'secretsmanager.RotateSecret' }, '{}');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ __type: 'UnknownOperationException', Message: 'Unknown operation' });

    const malformed = await post({ ...signed, 'x-amz-target': 'secretsmanager.GetSecretValue' }, '{not json');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { __type: string }).__type).toBe('SerializationException');

    const noId = await post({ ...signed, 'x-amz-target': 'secretsmanager.GetSecretValue' }, '{}');
    expect(((await noId.json()) as { __type: string }).__type).toBe('ValidationException');

    const ok = await post({ ...signed, 'x-amz-target': 'secretsmanager.GetSecretValue' }, '{"SecretId":"exists"}');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(ok.headers.get('x-amzn-requestid')).toEqual(expect.any(String));
  });

  it('unavailable: 500 InternalServiceError until it is back', async () => {
    const once = new SecretsManagerClient({ endpoint: sm.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    try {
      sm.setUnavailable(true);
      const err = await once.send(new GetSecretValueCommand({ SecretId: 'exists' })).catch((e: unknown) => e);
      expect((err as Error).name).toBe('InternalServiceError');
      expect((err as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(500);
      sm.setUnavailable(false);
      expect((await once.send(new GetSecretValueCommand({ SecretId: 'exists' }))).SecretString).toBe('hidden-value-1');
    } finally {
      once.destroy();
    }
  });

  it('Powertools SecretsProvider caches the value and forceFetch re-reads a rotated one', async () => {
    const ref = sm.createSecret('powertools', { workspaceId: 'W', apiKey: 'old' });
    const provider = new SecretsProvider({ awsSdkV3Client: client });
    expect(await provider.get(ref.arn, { maxAge: 300 })).toBe('{"workspaceId":"W","apiKey":"old"}');
    sm.putSecretValue(ref.arn, { workspaceId: 'W', apiKey: 'new' });
    expect(await provider.get(ref.arn, { maxAge: 300 })).toBe('{"workspaceId":"W","apiKey":"old"}');
    expect(await provider.get(ref.arn, { maxAge: 300, forceFetch: true })).toBe('{"workspaceId":"W","apiKey":"new"}');
    expect(sm.count('GetSecretValue', 'powertools')).toBe(2);
  });

  it("the handlers' providers read it: MoEngage credentials (refresh after rotation) and signing secrets", async () => {
    const creds = sm.createSecret('handlers/moengage', { workspaceId: 'WS1', apiKey: 'key-a' });
    const provider = credentialsFromSecretsManager(creds.arn, client);
    expect(await provider.get()).toEqual({ workspaceId: 'WS1', apiKey: 'key-a' });
    sm.putSecretValue(creds.arn, { workspaceId: 'WS1', apiKey: 'key-b' });
    expect(await provider.get()).toEqual({ workspaceId: 'WS1', apiKey: 'key-a' });
    expect(await provider.refresh()).toEqual({ workspaceId: 'WS1', apiKey: 'key-b' });
    expect(await provider.get()).toEqual({ workspaceId: 'WS1', apiKey: 'key-b' });

    const signing = sm.createSecret('handlers/signing', { clerk: ['whsec_new', 'whsec_old'], stripe: 'whsec_s' });
    const secrets = signingSecretsFromSecretsManager(signing.arn, client);
    expect(await secrets('clerk')).toEqual(['whsec_new', 'whsec_old']);
    expect(await secrets('stripe')).toEqual(['whsec_s']);
    expect(await secrets('shopify')).toEqual([]);
  });

  it('records calls without values; close() is idempotent', async () => {
    const before = sm.calls.length;
    await client.send(new GetSecretValueCommand({ SecretId: 'exists' }));
    expect(sm.calls.slice(before)).toEqual([{ operation: 'GetSecretValue', secretId: 'exists', status: 200, at: clock }]);
    expect(lines.at(-1)).toBe('[secrets-manager] GetSecretValue exists 200');
    const other = await startSecretsManagerEmulator();
    await other.close();
    await other.close();
  });
});
