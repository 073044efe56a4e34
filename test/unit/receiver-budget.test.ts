/**
 * Issue 12: the receiver's time budget and its re-read of rotated signing secrets.
 * - A slow SQS or Secrets Manager ends in the contract's 503 within the invocation, never a
 *   Lambda timeout (fake clock for the logic; one real SDK client against a silent server).
 * - After a signature failure the signing secrets are re-read at most once a minute.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseAdapterConfig, SOURCE_NAMES, type SourceName } from '../../functions/core/config';
import { createReceiverHandler, RECEIVER_SQS_CLIENT, RESPONSE_RESERVE_MS, sqsEnqueuer } from '../../functions/receiver/handler';
import { receiveWebhook, type QueueMessage, type ReceiverDeps } from '../../functions/receiver/receive';
import { recordingTelemetry } from '../../functions/shared/observability';
import { sqsClientFrom } from '../../functions/shared/runtime';
import { SIGNING_SECRETS_REFRESH_INTERVAL_MS, signingSecretsFromSecretsManager, type SigningSecrets } from '../../functions/shared/secrets';
import type { WebhookRequest, WebhookSource } from '../../functions/sources/types';

/** A source that accepts a request whose x-sig header is one of the secrets. */
function source(name: SourceName): WebhookSource {
  return {
    name,
    verify: (req, secrets) => (secrets.includes(req.headers['x-sig'] ?? '') ? { ok: true } : { ok: false, message: 'signature mismatch' }),
    parse: () => ({ ok: true, event: { id: 'evt_1', type: 'user.updated', body: {} } }),
    map: () => ({ kind: 'payload', payload: { type: 'customer', customer_id: 'user_1', attributes: {} }, customerKey: 'user_1', dropped: [] }),
  };
}

function deps(over: Partial<ReceiverDeps> = {}) {
  const sent: QueueMessage[] = [];
  const telemetry = recordingTelemetry();
  const d: ReceiverDeps = {
    sources: Object.fromEntries(SOURCE_NAMES.map((n) => [n, source(n)])) as Record<SourceName, WebhookSource>,
    config: parseAdapterConfig({}),
    secrets: async () => ['good'],
    enqueue: async (m) => {
      sent.push(m);
    },
    queueType: 'fifo',
    now: () => new Date('2026-12-01T00:00:00Z'),
    telemetry,
    ...over,
  };
  return { deps: d, sent, telemetry };
}

function event(sig = 'good'): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/webhooks/clerk',
    rawQueryString: '',
    headers: { 'x-sig': sig, 'content-type': 'application/json' },
    requestContext: { http: { method: 'POST', path: '/webhooks/clerk' } },
    body: '{}',
    isBase64Encoded: false,
  } as unknown as LambdaFunctionURLEvent;
}

/** A Lambda context whose remaining time is fixed (the budget is computed once per invocation). */
const context = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

const never = <T>() => new Promise<T>(() => undefined);
const bodyOf = (res: unknown) => JSON.parse((res as { body: string }).body) as { error?: { type: string; message: string } };

afterEach(() => {
  vi.useRealTimers();
});

describe('receiver time budget (fake clock)', () => {
  it('an SQS send that never answers: 503 queue_unavailable when the budget (remaining - 1 s) runs out, and the send is aborted', async () => {
    vi.useFakeTimers();
    let signal: AbortSignal | undefined;
    const { deps: d, telemetry } = deps({
      enqueue: (_m, s) => {
        signal = s;
        return never();
      },
    });
    const pending = createReceiverHandler(d)(event(), context(10_000));
    let settled = false;
    void pending.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(10_000 - RESPONSE_RESERVE_MS - 1);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const res = await pending;
    expect(res).toMatchObject({ statusCode: 503 });
    expect(bodyOf(res)).toEqual({ error: { type: 'queue_unavailable', message: 'the event could not be queued; retry later' } });
    expect(signal?.aborted).toBe(true);
    expect(telemetry.lines.some((e) => e.message === 'queue did not accept the message' && e.fields?.error === 'TimeoutError')).toBe(true);
  });

  it('secrets at hand (no promise) and secrets read (a promise) are both used through the budget', async () => {
    for (const secrets of [() => ['good'], async () => ['good']]) {
      const { deps: d, sent } = deps({ secrets });
      expect(await createReceiverHandler(d)(event(), context(3_000))).toMatchObject({ statusCode: 202 });
      expect(await createReceiverHandler(d)(event('forged'), context(3_000))).toMatchObject({ statusCode: 401 });
      expect(sent).toHaveLength(1);
    }
  });

  it('a secrets lookup that throws at once: 503 secrets_unavailable', async () => {
    const { deps: d, sent } = deps({
      secrets: () => {
        throw new Error('boom');
      },
    });
    const res = await createReceiverHandler(d)(event(), context(3_000));
    expect(res).toMatchObject({ statusCode: 503 });
    expect(bodyOf(res).error?.type).toBe('secrets_unavailable');
    expect(sent).toHaveLength(0);
  });

  it('a Secrets Manager read that never answers: 503 secrets_unavailable within the budget', async () => {
    vi.useFakeTimers();
    const { deps: d, sent } = deps({ secrets: () => never() });
    const pending = createReceiverHandler(d)(event(), context(3_000));
    await vi.advanceTimersByTimeAsync(2_000);
    const res = await pending;
    expect(res).toMatchObject({ statusCode: 503 });
    expect(bodyOf(res).error?.type).toBe('secrets_unavailable');
    expect(sent).toHaveLength(0);
  });

  it('one budget for the whole request: slow secrets leave less time for SQS', async () => {
    vi.useFakeTimers();
    const { deps: d } = deps({
      secrets: () => new Promise((resolve) => setTimeout(() => resolve(['good']), 6_000)),
      enqueue: (_m, s) => new Promise((resolve, reject) => {
        const t = setTimeout(resolve, 3_500);
        s?.addEventListener('abort', () => {
          clearTimeout(t);
          reject(s.reason as Error);
        });
      }),
    });
    const pending = createReceiverHandler(d)(event(), context(10_000));
    await vi.advanceTimersByTimeAsync(9_000);
    expect(bodyOf(await pending).error?.type).toBe('queue_unavailable');
  });

  it('a short timeout keeps at most half of it in reserve', async () => {
    vi.useFakeTimers();
    const { deps: d } = deps({ enqueue: () => never() });
    const pending = createReceiverHandler(d)(event(), context(1_000));
    await vi.advanceTimersByTimeAsync(500);
    expect(await pending).toMatchObject({ statusCode: 503 });
  });

  it('fast dependencies: 202 and no timer left behind', async () => {
    vi.useFakeTimers();
    const { deps: d, sent } = deps();
    const res = await createReceiverHandler(d)(event(), context(10_000));
    expect(res).toMatchObject({ statusCode: 202 });
    expect(sent).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('receiver time budget with the real SQS client', () => {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('an SQS endpoint that accepts connections but never answers: 503 before the Lambda timeout, the request aborted', async () => {
    const closed: boolean[] = [];
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => undefined); // read the request, never answer
      socket.on('close', () => closed.push(true));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const client = sqsClientFrom({ SQS_ENDPOINT: `http://127.0.0.1:${port}`, AWS_REGION: 'us-east-1' }, RECEIVER_SQS_CLIENT);
    const { deps: d } = deps({ enqueue: sqsEnqueuer(client, `http://127.0.0.1:${port}/000000000000/q.fifo`) });
    // Lambda would end the invocation after 1.6 s; the budget is 0.8 s (half kept in reserve).
    const remaining = 1_600;
    const started = Date.now();
    const res = await createReceiverHandler(d)(event(), context(remaining));
    const elapsed = Date.now() - started;
    expect(res).toMatchObject({ statusCode: 503 });
    expect(bodyOf(res).error?.type).toBe('queue_unavailable');
    expect(elapsed).toBeLessThan(remaining);
    // The SDK closed its connection: nothing keeps running into the next invocation.
    await vi.waitFor(() => expect(closed.length).toBeGreaterThan(0));
    client.destroy();
  });

});

/** A real Secrets Manager client whose send() answers from a variable. */
function fakeSecretsManager(value: () => string) {
  const client = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  let calls = 0;
  (client as unknown as { send: () => Promise<unknown> }).send = async () => {
    calls++;
    return { SecretString: value(), VersionId: `v${calls}`, Name: 'n', ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:n' };
  };
  return { client, calls: () => calls };
}

describe('signing secrets re-read after a signature failure', () => {
  it('a secret rotated within the 5-minute cache is picked up at the first failing request', async () => {
    let doc = { clerk: 'old' };
    const sm = fakeSecretsManager(() => JSON.stringify(doc));
    let now = 0;
    const secrets = signingSecretsFromSecretsManager('arn:signing-rotation', sm.client, { now: () => now });
    const { deps: d, sent } = deps({ secrets });
    const req = (sig: string): WebhookRequest => ({ method: 'POST', path: '/webhooks/clerk', headers: { 'x-sig': sig }, rawBody: Buffer.from('{}') });
    expect((await receiveWebhook(req('old'), d)).statusCode).toBe(202);
    doc = { clerk: 'new' };
    now += 10_000;
    expect((await receiveWebhook(req('new'), d)).statusCode).toBe(202);
    expect(sent).toHaveLength(2);
    expect(sm.calls()).toBe(2);
    // The cache now holds the new secret: no further reads.
    expect((await receiveWebhook(req('new'), d)).statusCode).toBe(202);
    expect(sm.calls()).toBe(2);
  });

  it('forged requests cause at most one Secrets Manager read per minute per container', async () => {
    const sm = fakeSecretsManager(() => JSON.stringify({ clerk: 'good' }));
    let now = 1_000_000;
    const secrets = signingSecretsFromSecretsManager('arn:signing-forged', sm.client, { now: () => now });
    const { deps: d, sent } = deps({ secrets });
    const forged = (): WebhookRequest => ({ method: 'POST', path: '/webhooks/clerk', headers: { 'x-sig': 'forged' }, rawBody: Buffer.from('{}') });
    // 200 forged requests over 2 minutes (one every 600 ms): the first read, then one re-read per minute.
    for (let i = 0; i < 200; i++) {
      expect((await receiveWebhook(forged(), d)).statusCode).toBe(401);
      now += 600;
    }
    expect(sent).toHaveLength(0);
    // 1 read (cache) + re-reads at 0 s, 60 s, 120 s (the cache's own 5-minute expiry is not reached).
    expect(sm.calls()).toBe(1 + Math.floor((200 * 600 - 1) / SIGNING_SECRETS_REFRESH_INTERVAL_MS) + 1);
    expect(sm.calls()).toBeLessThanOrEqual(4);
  });

  it('concurrent failures share one re-read', async () => {
    const sm = fakeSecretsManager(() => JSON.stringify({ clerk: 'good' }));
    const secrets = signingSecretsFromSecretsManager('arn:signing-concurrent', sm.client, { now: () => 0 });
    await secrets('clerk');
    const results = await Promise.all(Array.from({ length: 20 }, () => secrets.refresh!('clerk')));
    expect(sm.calls()).toBe(2);
    // The caller that started the re-read and those that joined it get the list.
    expect(results.every((r) => r === undefined || (r.length === 1 && r[0] === 'good'))).toBe(true);
    expect(results.filter((r) => r !== undefined).length).toBeGreaterThanOrEqual(1);
  });

  it('a failing re-read answers 401 (not 503) and is not retried within the minute', async () => {
    let fail = false;
    const sm = fakeSecretsManager(() => {
      if (fail) throw Object.assign(new Error('boom'), { name: 'InternalServiceError' });
      return JSON.stringify({ clerk: 'good' });
    });
    const secrets = signingSecretsFromSecretsManager('arn:signing-failing', sm.client, { now: () => 5 });
    const { deps: d, telemetry } = deps({ secrets });
    const forged: WebhookRequest = { method: 'POST', path: '/webhooks/clerk', headers: { 'x-sig': 'forged' }, rawBody: Buffer.from('{}') };
    await secrets('clerk');
    fail = true;
    expect((await receiveWebhook(forged, d)).statusCode).toBe(401);
    expect((await receiveWebhook(forged, d)).statusCode).toBe(401);
    expect(sm.calls()).toBe(2);
    expect(telemetry.lines.filter((e) => e.message === 'signing secrets re-read failed')).toHaveLength(1);
  });

  it('a source whose key was just added is accepted at once, not after the 5-minute cache', async () => {
    let doc: Record<string, string> = {};
    const sm = fakeSecretsManager(() => JSON.stringify(doc));
    let now = 0;
    const secrets = signingSecretsFromSecretsManager('arn:signing-added', sm.client, { now: () => now });
    const { deps: d, sent } = deps({ secrets });
    const req: WebhookRequest = { method: 'POST', path: '/webhooks/clerk', headers: { 'x-sig': 'k' }, rawBody: Buffer.from('{}') };
    const first = await receiveWebhook(req, d);
    expect(first.statusCode).toBe(503);
    expect(bodyOf(first).error?.type).toBe('source_not_configured');
    expect(sm.calls()).toBe(2); // the cached read and one re-read
    doc = { clerk: 'k' };
    now += 30_000;
    expect((await receiveWebhook(req, d)).statusCode).toBe(503); // re-read throttled: still 503
    expect(sm.calls()).toBe(2);
    now += 30_000;
    expect((await receiveWebhook(req, d)).statusCode).toBe(202);
    expect(sent).toHaveLength(1);
    expect(sm.calls()).toBe(3);
  });

  it('the local run\'s environment secrets have nothing to re-read', async () => {
    const envSecrets: SigningSecrets = async () => ['good'];
    const { deps: d } = deps({ secrets: envSecrets });
    const res = await receiveWebhook({ method: 'POST', path: '/webhooks/clerk', headers: { 'x-sig': 'bad' }, rawBody: Buffer.from('{}') }, d);
    expect(res.statusCode).toBe(401);
  });
});
