/**
 * Log hygiene: every line the real handler code writes (Powertools Logger and Metrics JSON on
 * stdout / stderr, and anything sent to console) is captured while the exported receiver Lambda
 * `handler` and the sender core (deliverBatch with the Powertools telemetry) process webhooks
 * and payloads full of personal data, with secrets configured. No captured line may contain a
 * secret, the MoEngage API key, an AWS secret, or the user's email, phone number or name.
 *
 * The receiver Lambda reads its environment once per module instance: each scenario sets the
 * environment, then imports a fresh instance (vi.resetModules + dynamic import).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SourceName } from '../../functions/core/config';
import { encodeEnvelope, messageGroupId, type Envelope } from '../../functions/core/envelope';
import { MoEngageClient, type FetchLike } from '../../functions/core/moengage/client';
import type { CustomerPayload } from '../../functions/core/moengage/types';
import { RateLimiter } from '../../functions/core/moengage/rate-limit';
import { retryPolicy } from '../../functions/core/retry';
import type { WebhookRequest } from '../../functions/sources/types';
import { SIGNING_SECRET_ENV } from '../../functions/shared/secrets';
import { TEST_SECRETS, TEST_STANDARD_MAPPING, eventBody, secretForms, signedRequest } from '../helpers/sign';

// ---------------------------------------------------------------------------------------------
// The data that must never be logged
// ---------------------------------------------------------------------------------------------

const EMAIL = 'leak.check+123@example.com';
const PHONE = '+15550001234';
const FIRST_NAME = 'Zebediah';
const LAST_NAME = 'Quillfeather';
const FULL_NAME = `${FIRST_NAME} ${LAST_NAME}`;
const API_KEY = 'MOE-API-KEY-leakcheck-7f3a9c2e1b';
const WORKSPACE_ID = 'WS_LEAKCHECK_01';
const AWS_ACCESS_KEY_ID = 'AKIALEAKCHECK0000001';
const AWS_SECRET_ACCESS_KEY = 'leakcheck/AwsSecretAccessKey/000000000000';

const FORBIDDEN: { what: string; text: string }[] = [
  ...Object.entries(TEST_SECRETS).flatMap(([source, secret]) => secretForms(secret).map((text) => ({ what: `${source} signing secret`, text }))),
  { what: 'MoEngage API key', text: API_KEY },
  { what: 'Authorization header', text: Buffer.from(`${WORKSPACE_ID}:${API_KEY}`).toString('base64') },
  { what: 'AWS secret access key', text: AWS_SECRET_ACCESS_KEY },
  { what: 'email', text: EMAIL },
  { what: 'email (local part)', text: 'leak.check' },
  { what: 'phone', text: PHONE },
  { what: 'phone (digits)', text: PHONE.slice(1) },
  { what: 'first name', text: FIRST_NAME },
  { what: 'last name', text: LAST_NAME },
];

const NOW = new Date();

// ---------------------------------------------------------------------------------------------
// Capturing every line
// ---------------------------------------------------------------------------------------------

const captured: string[] = [];
const restore: (() => void)[] = [];

function capture(chunk: unknown): void {
  const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : String(chunk);
  for (const line of text.split('\n')) if (line.trim() !== '') captured.push(line);
}

function startCapture(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const spy = vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      capture(chunk);
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write);
    restore.push(() => spy.mockRestore());
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    const spy = vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      capture(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
    restore.push(() => spy.mockRestore());
  }
}

/** Lines captured since `from`, parsed. */
function linesSince(from: number): { raw: string; json: Record<string, unknown> | undefined }[] {
  return captured.slice(from).map((raw) => {
    try {
      const json: unknown = JSON.parse(raw);
      return { raw, json: typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : undefined };
    } catch {
      return { raw, json: undefined };
    }
  });
}

function assertClean(from = 0): void {
  const lines = linesSince(from);
  for (const { raw, json } of lines) {
    for (const f of FORBIDDEN) {
      expect(raw.includes(f.text), `a log line contains the ${f.what}: ${raw.slice(0, 400)}`).toBe(false);
    }
    expect(json, `not a JSON log line: ${raw.slice(0, 200)}`).toBeDefined();
    if (json && !('_aws' in json)) {
      // A log line (metric lines are EMF documents, checked for content above).
      expect(typeof json.level, raw.slice(0, 200)).toBe('string');
      expect(typeof json.message, raw.slice(0, 200)).toBe('string');
    }
  }
}

const messagesSince = (from: number) => linesSince(from).map((l) => (l.json?.message as string | undefined) ?? '');

// ---------------------------------------------------------------------------------------------
// Environment and the receiver module
// ---------------------------------------------------------------------------------------------

const ENV_BEFORE = { ...process.env };

function setEnv(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

function baseEnv(): Record<string, string | undefined> {
  const secrets = Object.fromEntries(Object.entries(SIGNING_SECRET_ENV).map(([source, env]) => [env, TEST_SECRETS[source as SourceName]]));
  return {
    ...secrets,
    POWERTOOLS_DEV: 'false',
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    AWS_LAMBDA_LOG_LEVEL: undefined,
    POWERTOOLS_LOGGER_LOG_EVENT: 'true',
    POWERTOOLS_METRICS_DISABLED: 'false',
    POWERTOOLS_METRICS_NAMESPACE: 'LogHygieneTest',
    // The SDK warns (a Node process warning, not a log line) that Node < 22 will lose support:
    // this machine runs Node 20, the Lambda runtime Node 24.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY,
    QUEUE_TYPE: 'fifo',
    SIGNING_SECRETS_ARN: undefined,
    ADAPTER_CONFIG: undefined,
    ADAPTER_CONFIG_JSON: JSON.stringify({
      sources: { standard: { mapping: TEST_STANDARD_MAPPING }, clerk: { customerIdField: 'email' }, segment: { customerIdField: 'phone' } },
    }),
    MOENGAGE_WORKSPACE_ID: WORKSPACE_ID,
    MOENGAGE_API_KEY: API_KEY,
  };
}

type ReceiverHandler = (event: LambdaFunctionURLEvent, context?: Context) => Promise<LambdaFunctionURLResult>;

async function freshReceiver(env: Record<string, string | undefined>): Promise<ReceiverHandler> {
  vi.resetModules();
  setEnv({ ...baseEnv(), ...env });
  const mod = await import('../../functions/receiver/handler');
  return mod.handler;
}

const LAMBDA_CONTEXT = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'moengage-adapter-receiver',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:moengage-adapter-receiver',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/moengage-adapter-receiver',
  logStreamName: '2026/11/29/[$LATEST]abcdef',
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as unknown as Context;

function urlEvent(req: WebhookRequest): LambdaFunctionURLEvent {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = v;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: req.path,
    rawQueryString: `email=${encodeURIComponent(EMAIL)}`,
    headers,
    body: req.rawBody.toString('base64'),
    isBase64Encoded: true,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'leakcheck',
      domainName: 'leakcheck.lambda-url.us-east-1.on.aws',
      domainPrefix: 'leakcheck',
      http: { method: req.method, path: req.path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.10', userAgent: 'leak-check' },
      requestId: 'req-leakcheck',
      routeKey: '$default',
      stage: '$default',
      time: '29/Nov/2026:10:00:00 +0000',
      timeEpoch: NOW.getTime(),
    },
  };
}

const PII_USER = { email: EMAIL, phone: PHONE, firstName: FIRST_NAME, lastName: LAST_NAME };

function piiEvent(source: SourceName, over: { type?: string; metadata?: Record<string, unknown> } = {}): WebhookRequest {
  const body = JSON.stringify(eventBody(source, { now: NOW, user: PII_USER, metadata: { contact: EMAIL, backup_phone: PHONE, ...over.metadata }, ...(over.type ? { type: over.type } : {}) }));
  return signedRequest(source, body, { now: NOW, ...(source === 'shopify' && over.type ? { topic: over.type } : {}) });
}

async function invoke(handler: ReceiverHandler, req: WebhookRequest): Promise<{ statusCode: number; body: string }> {
  const res = (await handler(urlEvent(req), LAMBDA_CONTEXT)) as { statusCode: number; body: string };
  for (const f of FORBIDDEN) expect(res.body.includes(f.text), `the answer contains the ${f.what}`).toBe(false);
  return res;
}

// ---------------------------------------------------------------------------------------------
// A minimal SQS endpoint that accepts SendMessage (AWS JSON 1.0 protocol)
// ---------------------------------------------------------------------------------------------

interface FakeSqs {
  server: Server;
  url: string;
  received: { target: string; body: Record<string, unknown> }[];
}

async function startFakeSqs(): Promise<FakeSqs> {
  const received: FakeSqs['received'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        body = {};
      }
      received.push({ target, body });
      if (target === 'AmazonSQS.SendMessage' && typeof body.MessageBody === 'string') {
        const md5 = createHash('md5').update(body.MessageBody, 'utf8').digest('hex');
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ MessageId: randomUUID(), MD5OfMessageBody: md5 }));
        return;
      }
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'com.amazonaws.sqs#InvalidAction', message: 'not supported by the fake' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, received };
}

// ---------------------------------------------------------------------------------------------

let sqs: FakeSqs;

beforeAll(async () => {
  sqs = await startFakeSqs();
  startCapture();
});

afterAll(async () => {
  for (const r of restore.splice(0)) r();
  for (const k of Object.keys(process.env)) if (!(k in ENV_BEFORE)) delete process.env[k];
  setEnv(ENV_BEFORE);
  vi.resetModules();
  await new Promise<void>((resolve) => sqs.server.close(() => resolve()));
});

beforeEach(() => {
  sqs.received.length = 0;
});

describe('receiver Lambda handler: nothing secret or personal reaches the logs', () => {
  it('valid webhooks of every source, queued (202): only hashes and ids are logged', async () => {
    const handler = await freshReceiver({ QUEUE_URL: `${sqs.url}/000000000000/leak-check.fifo`, SQS_ENDPOINT: sqs.url });
    const from = captured.length;
    for (const source of ['clerk', 'stripe', 'shopify', 'workos', 'auth0', 'segment', 'standard'] as const) {
      const res = await invoke(handler, piiEvent(source));
      expect(res.statusCode, `${source}: ${res.body}`).toBe(202);
    }
    // The messages really went to the (fake) queue, PII included: only the logs must be clean.
    const sent = sqs.received.filter((r) => r.target === 'AmazonSQS.SendMessage');
    expect(sent).toHaveLength(7);
    expect(JSON.stringify(sent.map((r) => r.body.MessageBody))).toContain(EMAIL);
    expect(messagesSince(from).filter((m) => m === 'webhook enqueued')).toHaveLength(7);
    assertClean(from);
  });

  it('forged, ignored, malformed, oversized and unmappable webhooks: rejected and logged without PII', async () => {
    const handler = await freshReceiver({ QUEUE_URL: `${sqs.url}/000000000000/leak-check.fifo`, SQS_ENDPOINT: sqs.url });
    const from = captured.length;
    const valid = piiEvent('stripe');

    // Forged: signed with an attacker's secret; and the real secret sent as the signature itself.
    expect((await invoke(handler, signedRequest('stripe', valid.rawBody, { now: NOW, secret: 'whsec_attackerSecret000000000001' }))).statusCode).toBe(401);
    expect((await invoke(handler, { ...valid, headers: { ...valid.headers, 'stripe-signature': `t=${Math.floor(NOW.getTime() / 1000)},v1=${TEST_SECRETS.stripe}` } })).statusCode).toBe(401);
    expect((await invoke(handler, { ...valid, headers: { ...valid.headers, authorization: `Bearer ${TEST_SECRETS.auth0}x` }, path: '/webhooks/auth0' })).statusCode).toBe(401);
    // Replayed (timestamp outside the tolerance).
    expect((await invoke(handler, signedRequest('clerk', piiEvent('clerk').rawBody, { now: NOW, timestampSeconds: Math.floor(NOW.getTime() / 1000) - 3600 }))).statusCode).toBe(401);
    // Ignored event type carrying PII.
    expect((await invoke(handler, piiEvent('clerk', { type: 'session.created' }))).statusCode).toBe(200);
    // Malformed JSON carrying PII (signed, so it reaches the parser).
    expect((await invoke(handler, signedRequest('segment', `{"type":"identify","traits":{"email":"${EMAIL}","phone":"${PHONE}"`, { now: NOW }))).statusCode).toBe(400);
    // Not the provider's shape.
    expect((await invoke(handler, signedRequest('workos', JSON.stringify([EMAIL, PHONE, FULL_NAME]), { now: NOW }))).statusCode).toBe(400);
    // Oversized.
    expect((await invoke(handler, signedRequest('auth0', JSON.stringify({ email: EMAIL, pad: 'x'.repeat(300_000) }), { now: NOW }))).statusCode).toBe(413);
    // Unmappable: no user identity (Segment's customer_id is configured to be the phone; none here).
    const anonymous = JSON.stringify({ ...eventBody('segment', { now: NOW, user: PII_USER }), userId: undefined, traits: { email: EMAIL, firstName: FIRST_NAME } });
    const unmappable = await invoke(handler, signedRequest('segment', anonymous, { now: NOW }));
    expect(unmappable.statusCode).toBe(422);
    // Unmappable: a customer_id MoEngage refuses (a placeholder), with the email around it.
    const placeholder = JSON.stringify(eventBody('stripe', { now: NOW, user: { ...PII_USER, id: 'guest' } }));
    expect((await invoke(handler, signedRequest('stripe', placeholder, { now: NOW }))).statusCode).toBe(422);

    expect(sqs.received).toHaveLength(0);
    const messages = messagesSince(from);
    expect(messages.filter((m) => m === 'webhook rejected').length).toBeGreaterThanOrEqual(9);
    expect(messages).toContain('webhook ignored');
    assertClean(from);
  });

  it('the queue refuses the message (503): the error line names no PII and no secret', async () => {
    const handler = await freshReceiver({ QUEUE_URL: 'http://127.0.0.1:1/000000000000/leak-check.fifo', SQS_ENDPOINT: 'http://127.0.0.1:1' });
    const from = captured.length;
    for (const source of ['clerk', 'auth0'] as const) {
      const res = await invoke(handler, piiEvent(source));
      expect(res.statusCode).toBe(503);
      expect(JSON.parse(res.body)).toMatchObject({ error: { type: 'queue_unavailable' } });
    }
    const errors = linesSince(from).filter((l) => l.json?.message === 'queue did not accept the message');
    expect(errors).toHaveLength(2);
    for (const e of errors) expect(e.json?.level).toBe('ERROR');
    assertClean(from);
  }, 30_000);

  it('a misconfigured receiver (no QUEUE_URL) answers 500, logs the reason once a minute (not per request), counts every request, and logs no secret', async () => {
    const handler = await freshReceiver({ QUEUE_URL: undefined, SQS_ENDPOINT: undefined });
    const from = captured.length;
    for (let i = 0; i < 3; i++) expect((await invoke(handler, piiEvent('standard'))).statusCode).toBe(500);
    const reasons = linesSince(from).filter((l) => l.json?.message === 'receiver misconfigured');
    expect(reasons).toHaveLength(1);
    expect(reasons[0]?.json).toMatchObject({ level: 'ERROR', error: 'environment variable QUEUE_URL is not set', requestsRefused: 1 });
    const serverErrors = linesSince(from).reduce((n, l) => n + (l.json && '_aws' in l.json ? Number(l.json.ReceiverServerErrors ?? 0) : 0), 0);
    expect(serverErrors).toBe(3);
    assertClean(from);
  });

  it('metadata keyed by an email address: the dropped attribute names are not logged raw', async () => {
    // Applications key maps by email (e.g. pending invitations): such a key becomes an attribute
    // name, and names the payload rules drop are logged by the receiver.
    const handler = await freshReceiver({ QUEUE_URL: `${sqs.url}/000000000000/leak-check.fifo`, SQS_ENDPOINT: sqs.url });
    const from = captured.length;
    const req = piiEvent('clerk', { metadata: { [EMAIL]: [{ invited: true }], [`moe_${PHONE}`]: 'x' } });
    expect((await invoke(handler, req)).statusCode).toBe(202);
    assertClean(from);
  });
});

// ---------------------------------------------------------------------------------------------
// Sender core with the real Powertools telemetry
// ---------------------------------------------------------------------------------------------

function piiPayload(customerId: string): CustomerPayload {
  return {
    type: 'customer',
    customer_id: customerId,
    attributes: { u_em: EMAIL, u_mb: PHONE, u_fn: FIRST_NAME, u_ln: LAST_NAME, u_n: FULL_NAME, backup_email: EMAIL },
  };
}

function sqsRecord(n: number, customerId: string, body?: string): SQSRecord {
  const envelope: Envelope = {
    v: 1,
    source: 'clerk',
    eventId: `msg_leak_${n}`,
    eventType: 'user.updated',
    receivedAt: new Date(NOW.getTime() - 1000).toISOString(),
    payload: piiPayload(customerId),
  };
  return {
    messageId: `m-${n}`,
    receiptHandle: `rh-${n}`,
    body: body ?? encodeEnvelope(envelope),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: '0',
      MessageGroupId: messageGroupId(customerId),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:leak-check.fifo',
    awsRegion: 'us-east-1',
  };
}

const MOENGAGE_400 = JSON.stringify({
  status: 'fail',
  error: { type: 'ValidationError', message: `Invalid value ${EMAIL} / ${PHONE} for ${FULL_NAME}`, attribute: 'u_em', request_id: 'REQ-LEAK-400' },
});
const MOENGAGE_401 = JSON.stringify({ status: 'fail', error: { type: 'Authentication required', message: `App Secret key mismatch for ${API_KEY}`, request_id: 'REQ-LEAK-401' } });
const SUCCESS = JSON.stringify({ status: 'success', message: 'Your request has been accepted and will be processed soon.' });

/** MoEngage answers by customer: 400 (echoing the PII), 401 then 200, 500 always, 200. */
function moengage(): FetchLike {
  const auth401Seen = new Set<string>();
  return async (url, init) => {
    const body = JSON.parse(init.body) as { customer_id?: string; elements?: unknown[] };
    const respond = (status: number, text: string, headers: Record<string, string> = {}) => ({
      status,
      headers: { get: (n: string) => headers[n.toLowerCase()] ?? null },
      text: async () => text,
    });
    if (url.includes('/v1/transition/')) return respond(400, MOENGAGE_400, { 'x-request-id': `req-${EMAIL}` });
    switch (body.customer_id) {
      case 'user_leak_rejected':
      case 'user_leak_rejected_too':
        return respond(400, MOENGAGE_400);
      case 'user_leak_auth':
        if (!auth401Seen.has('x')) {
          auth401Seen.add('x');
          return respond(401, MOENGAGE_401);
        }
        return respond(200, SUCCESS);
      case 'user_leak_down':
        return respond(500, `<html>upstream error for ${EMAIL}</html>`, { 'retry-after': '1' });
      default:
        return respond(200, SUCCESS, { 'x-ratelimit-remaining': '100' });
    }
  };
}

describe('sender core (deliverBatch + Powertools telemetry): nothing secret or personal reaches the logs', () => {
  it.each(['customer', 'bulk'] as const)('%s mode: delivering, retrying and parking payloads full of PII', async (mode) => {
    vi.resetModules();
    setEnv(baseEnv());
    const { powertoolsTelemetry } = await import('../../functions/shared/observability');
    const { deliverBatch } = await import('../../functions/sender/deliver');
    const telemetry = powertoolsTelemetry('moengage-adapter-sender');
    telemetry.logger.addContext({ ...LAMBDA_CONTEXT, functionName: 'moengage-adapter-sender' } as Context);
    let clock = NOW.getTime();
    const now = () => clock;
    const sleep = async (ms: number) => {
      clock += ms;
    };
    const parked: string[] = [];
    const from = captured.length;

    const records = [
      sqsRecord(1, 'user_leak_ok'),
      sqsRecord(2, 'user_leak_rejected'),
      sqsRecord(3, 'user_leak_auth'),
      sqsRecord(4, 'user_leak_down'),
      sqsRecord(5, 'user_leak_bad', `{"not":"an envelope","email":"${EMAIL}","phone":"${PHONE}"}`),
      sqsRecord(6, 'user_leak_rejected_too'),
    ];
    const results = await deliverBatch(records, {
      mode,
      fifo: true,
      client: new MoEngageClient({ baseUrl: 'http://moengage.test', fetch: moengage(), now }),
      credentials: {
        get: async () => ({ workspaceId: WORKSPACE_ID, apiKey: API_KEY }),
        refresh: async () => ({ workspaceId: WORKSPACE_ID, apiKey: API_KEY }),
      },
      queue: {
        changeVisibility: async () => {
          throw new Error(`ChangeMessageVisibility failed for ${EMAIL} with key ${API_KEY}`);
        },
        requeue: async () => {
          throw new Error(`SendMessage failed for ${EMAIL} with key ${API_KEY}`);
        },
        park: async (record) => {
          if (record.messageId === 'm-6') throw new Error(`DLQ refused ${EMAIL} (${API_KEY})`);
          parked.push(record.messageId);
        },
      },
      limiters: {
        customer: new RateLimiter({ capacityPerMinute: 600_000, now, sleep }),
        bulk: new RateLimiter({ capacityPerMinute: 600_000, now, sleep }),
        delete: new RateLimiter({ capacityPerMinute: 600_000, now, sleep }),
        event: new RateLimiter({ capacityPerMinute: 600_000, now, sleep }),
      },
      policy: retryPolicy(),
      maxReceiveCount: 5,
      parallelism: 2,
      remainingMs: () => 60_000,
      sleep,
      random: () => 0.5,
      now,
      telemetry,
    });
    telemetry.flush();

    expect(results.get('m-1')).toEqual({ ok: true, action: 'delivered' });
    expect(results.get('m-2')).toEqual({ ok: true, action: 'parked' });
    expect(results.get('m-3')).toEqual({ ok: true, action: 'delivered' });
    expect(results.get('m-4')?.ok).toBe(false);
    expect(results.get('m-5')).toEqual({ ok: true, action: 'parked' });
    expect(results.get('m-6')?.ok).toBe(false);
    expect(parked).toEqual(expect.arrayContaining(['m-2', 'm-5']));

    const messages = messagesSince(from);
    expect(messages).toContain('delivered');
    expect(messages).toContain('parked in the DLQ');
    expect(messages).toContain('MoEngage call failed');
    expect(messages).toContain('could not change the visibility timeout');
    expect(messages).toContain('could not park the message in the DLQ; SQS will redeliver it');
    if (mode === 'bulk') expect(messages).toContain('bulk request refused; isolating its users with Track User calls');
    assertClean(from);
  });

  it('credentials that cannot be read: the error line carries no key', async () => {
    vi.resetModules();
    setEnv(baseEnv());
    const { powertoolsTelemetry } = await import('../../functions/shared/observability');
    const { deliverBatch } = await import('../../functions/sender/deliver');
    const telemetry = powertoolsTelemetry('moengage-adapter-sender');
    const from = captured.length;
    let clock = NOW.getTime();
    const now = () => clock;
    const sleep = async (ms: number) => {
      clock += ms;
    };
    const results = await deliverBatch([sqsRecord(7, 'user_leak_creds')], {
      mode: 'customer',
      fifo: true,
      client: new MoEngageClient({ baseUrl: 'http://moengage.test', fetch: moengage(), now }),
      credentials: {
        get: async () => {
          throw new Error(`secret {"workspaceId":"${WORKSPACE_ID}","apiKey":"${API_KEY}"} is not readable`);
        },
        refresh: async () => {
          throw new Error(API_KEY);
        },
      },
      queue: { changeVisibility: async () => undefined, requeue: async () => undefined, park: async () => undefined },
      limiters: { customer: new RateLimiter({ capacityPerMinute: 600_000, now, sleep }), bulk: new RateLimiter({ capacityPerMinute: 600_000, now, sleep }), delete: new RateLimiter({ capacityPerMinute: 600_000, now, sleep }), event: new RateLimiter({ capacityPerMinute: 600_000, now, sleep }) },
      policy: retryPolicy(),
      maxReceiveCount: 5,
      parallelism: 1,
      remainingMs: () => 60_000,
      sleep,
      random: () => 0.5,
      now,
      telemetry,
    });
    telemetry.flush();
    expect(results.get('m-7')?.ok).toBe(false);
    expect(messagesSince(from)).toContain('MoEngage call failed');
    assertClean(from);
  });
});

describe('the capture itself', () => {
  it('captured real Powertools JSON lines (so the assertions above could fail)', () => {
    const lines = linesSince(0);
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.some((l) => l.json?.service === 'moengage-adapter-receiver')).toBe(true);
    expect(lines.some((l) => l.json?.service === 'moengage-adapter-sender')).toBe(true);
    expect(lines.some((l) => l.json !== undefined && '_aws' in l.json)).toBe(true);
    // And the checker does catch a leak when there is one.
    const from = captured.length;
    capture(JSON.stringify({ level: 'INFO', message: 'leak', email: EMAIL }));
    expect(() => assertClean(from)).toThrow();
    captured.splice(from);
  });
});
