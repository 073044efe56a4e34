/**
 * The deployed artifacts on the deployed runtime: after a synth with the real assets, the receiver
 * and sender bundles staged in the cloud assembly (what `cdk deploy` uploads) run in fresh
 * Node.js 24 processes (Lambda's nodejs24.x; `npx -p node@24` when this machine runs another),
 * with each function's environment from the template (NODE_OPTIONS and all), its tokens replaced
 * by the local emulators, and the AWS SDK pointed at them by its own service-specific endpoint
 * variables (AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_DYNAMODB),
 * as nothing of the local run's overrides (SQS_ENDPOINT...) is set.
 *
 *   signed Function URL event → 202 and one message on the queue → the sender bundle delivers it
 *   to the MoEngage emulator; a base64-encoded body → 202; a forged signature → 401, nothing queued;
 *   an error thrown inside the bundle carries a stack of source files (lazy source maps).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetQueueAttributesCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/core/names';
import { buildAdapterApp } from '../../lib/adapter-stack';
import { startLocalDynamo, type LocalDynamo } from '../../local/dynamodb';
import { toFunctionUrlEvent } from '../../local/http';
import { lambdaEnvironment } from '../../local/lambda-env';
import { startMoEngageEmulator, type MoEngageEmulator } from '../../local/moengage-emulator';
import { toSqsRecord } from '../../local/poller';
import { buildSampleEvent, signSample, type SignedRequest } from '../../local/samples';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from '../../local/secrets-manager';
import { startLocalSqs, type LocalSqs } from '../../local/sqs';
import { node24Binary } from '../../scripts/node24';
import { CDK_JSON_CONTEXT } from '../cdk/synth';

const run = promisify(execFile);
const HARNESS = fileURLToPath(new URL('./harness.mjs', import.meta.url));
const REGION = 'us-east-1';
const WORKSPACE = 'deployed-ws';
const API_KEY = 'deployed-api-key-0001';
const CLERK_SECRET = `whsec_${Buffer.from('deployed-bundle-clerk-key').toString('base64')}`;
const HOST = 'abcdefghij0123456789klmnopqrstuv.lambda-url.us-east-1.on.aws';

type Env = Record<string, string>;
interface Fn {
  bundle: string;
  env: Record<string, unknown>;
  timeoutMs: number;
  memory: number;
  name: string;
}

const work = mkdtempSync(join(tmpdir(), 'deployed-bundles-'));
let node = '';
let receiver: Fn;
let sender: Fn;
let sqs: LocalSqs;
let sm: SecretsManagerEmulator;
let moengage: MoEngageEmulator;
let dynamo: LocalDynamo | undefined;
let signingArn = '';
let moengageArn = '';
let invocation = 0;

/** The template's environment with its tokens replaced by the local resources; unknown tokens fail. */
function environmentOf(fn: Fn): Env {
  const local: Record<string, string | undefined> = {
    [ENV.queueUrl]: sqs.queueUrl,
    [ENV.dlqUrl]: sqs.dlqUrl,
    [ENV.signingSecretsArn]: signingArn,
    [ENV.moengageSecretArn]: moengageArn,
    [ENV.stateTable]: dynamo?.tableName,
  };
  const env: Env = {};
  for (const [k, v] of Object.entries(fn.env)) {
    if (typeof v === 'string') env[k] = v;
    else if (local[k] !== undefined) env[k] = local[k];
    else throw new Error(`the template sets ${k} from a token (${JSON.stringify(v)}) that this test cannot replace: map it to a local resource`);
  }
  return env;
}

/** One invocation in a fresh Node.js 24 process: what Lambda sets, the function's environment, the local endpoints. */
async function invoke(fn: Fn, event: unknown, extraEnv: Env = {}): Promise<{ result?: any; error?: { message: string; stack: string }; stdout: string }> {
  const n = ++invocation;
  const eventFile = join(work, `event-${n}.json`);
  const resultFile = join(work, `result-${n}.json`);
  writeFileSync(eventFile, JSON.stringify(event));
  const env: Env = {
    ...lambdaEnvironment({ region: REGION, functionName: fn.name, memoryMb: fn.memory, taskRoot: join(fn.bundle, '..') }),
    ...environmentOf(fn),
    // As deployed, the queue URLs' host is the SQS endpoint's (fauxqs: sqs.<region>.localhost; the harness resolves it).
    AWS_ENDPOINT_URL_SQS: new URL(sqs.queueUrl).origin,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
    ...(dynamo ? { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint } : {}),
    ...extraEnv,
  };
  const { stdout, stderr } = await run(node, [HARNESS, fn.bundle, eventFile, resultFile, String(fn.timeoutMs)], { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  return { ...(JSON.parse(readFileSync(resultFile, 'utf8')) as object), stdout: `${stdout}${stderr}` };
}

/** A Function URL event (payload 2.0) as Lambda delivers it, body base64-encoded or as text. */
function functionUrlEvent(req: SignedRequest, base64: boolean): Record<string, unknown> {
  const rawHeaders = Object.entries({ host: HOST, 'user-agent': 'Svix-Webhooks/1.0', ...req.headers }).flat();
  const event = toFunctionUrlEvent(
    { method: req.method, url: req.path, rawHeaders, body: Buffer.from(req.body, 'utf8'), sourceIp: '203.0.113.7' },
    { now: Date.now(), requestId: `req-${invocation + 1}` },
  ) as unknown as Record<string, unknown>;
  return base64 ? event : { ...event, body: req.body, isBase64Encoded: false };
}

function clerkRequest(userId: string): SignedRequest {
  const sample = buildSampleEvent('clerk', { user: { id: userId }, eventId: `msg_${userId}` });
  return signSample(sample, CLERK_SECRET);
}

async function queueCounts(): Promise<{ visible: number; inFlight: number }> {
  const a = await sqs.client.send(
    new GetQueueAttributesCommand({ QueueUrl: sqs.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(a.Attributes?.ApproximateNumberOfMessages ?? 0), inFlight: Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) };
}

async function receiveAll(): Promise<Message[]> {
  const out = await sqs.client.send(
    new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
  );
  return out.Messages ?? [];
}

beforeAll(async () => {
  // The synth `cdk synth -c moengageDc=01` does, with the assets test/global-setup.ts built.
  const outdir = join(work, 'cdk.out');
  const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, moengageDc: '01' } });
  const stack = buildAdapterApp(app, { processEnv: {}, nag: false });
  const assembly = app.synth();
  const template = assembly.getStackArtifact(stack.artifactId).template as {
    Resources: Record<string, { Type: string; Properties: Record<string, any> }>;
  };
  const fnOf = (prefix: string): Fn => {
    const found = Object.entries(template.Resources).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith(prefix));
    if (!found) throw new Error(`no function ${prefix} in the template`);
    const [id, r] = found;
    expect(r.Properties.Runtime).toBe('nodejs24.x');
    expect(r.Properties.Handler).toBe('index.handler');
    const key = (r.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
    return { bundle: join(assembly.directory, `asset.${key}`, 'index.mjs'), env: r.Properties.Environment.Variables, timeoutMs: r.Properties.Timeout * 1000, memory: r.Properties.MemorySize, name: id };
  };
  receiver = fnOf('AdapterReceiver');
  sender = fnOf('AdapterSender');

  node = await node24Binary();
  sqs = await startLocalSqs({ queueType: sender.env[ENV.queueType] === 'standard' ? 'standard' : 'fifo', visibilityTimeoutSeconds: 300 });
  sm = await startSecretsManagerEmulator({ region: REGION });
  signingArn = sm.createSecret('moengage-adapter/signing-secrets', { clerk: CLERK_SECRET }).arn;
  moengageArn = sm.createSecret('moengage-adapter/moengage', { workspaceId: WORKSPACE, apiKey: API_KEY }).arn;
  moengage = await startMoEngageEmulator({ port: 0, workspaceId: WORKSPACE, apiKey: API_KEY });
  // The per-user state table, once the template names one: dynalite with that table (a token: a local name).
  const table = sender.env[ENV.stateTable];
  if (table !== undefined) dynamo = await startLocalDynamo({ port: 0, tableName: typeof table === 'string' ? table : 'moengage-adapter-state' });
}, 300_000);

afterAll(async () => {
  await dynamo?.stop();
  await moengage?.close();
  await sm?.close();
  await sqs?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the deployed bundles on Node.js 24', () => {
  it('run on Node 24', async () => {
    const { stdout } = await run(node, ['--version']);
    expect(stdout.trim()).toMatch(/^v24\./);
  });

  it('a signed Function URL event: 202, one message queued, which the sender bundle delivers to MoEngage', async () => {
    const req = clerkRequest('user_deployed_1');
    const before = await queueCounts();
    const r = await invoke(receiver, functionUrlEvent(req, false));
    expect(r.error).toBeUndefined();
    expect(r.result.statusCode, r.stdout).toBe(202);
    const after = await queueCounts();
    expect(after.visible - before.visible).toBe(1);

    const messages = await receiveAll();
    expect(messages).toHaveLength(1);
    const event = { Records: messages.map((m) => toSqsRecord(m, sqs.queueArn, REGION)) };
    const s = await invoke(sender, event, { [ENV.moengageBaseUrl]: moengage.url });
    expect(s.error).toBeUndefined();
    expect(s.result).toEqual({ batchItemFailures: [] });
    expect(moengage.users().get('user_deployed_1')?.updates).toBe(1);
    // With the state table in the template, the sender bundle judged the event against it (dynalite).
    if (ENV.stateTable in sender.env) expect(Object.values(dynamo?.requests ?? {}).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('a base64-encoded body: 202 and one message queued', async () => {
    const before = await queueCounts();
    const r = await invoke(receiver, functionUrlEvent(clerkRequest('user_deployed_2'), true));
    expect(r.result.statusCode, r.stdout).toBe(202);
    expect((await queueCounts()).visible - before.visible).toBe(1);
  });

  it('a forged signature: 401 and nothing queued', async () => {
    const req = clerkRequest('user_deployed_3');
    const forged = { ...req, headers: { ...req.headers, 'svix-signature': `v1,${Buffer.alloc(32, 7).toString('base64')}` } };
    const before = await queueCounts();
    const r = await invoke(receiver, functionUrlEvent(forged, false));
    expect(r.result.statusCode).toBe(401);
    expect(await queueCounts()).toEqual(before);
  });

  it('an error inside the bundle carries a readable stack: source files and function names', async () => {
    // The sender without its queue URL: the handler's configuration fails inside the bundle.
    const env = { ...sender, env: Object.fromEntries(Object.entries(sender.env).filter(([k]) => k !== ENV.queueUrl)) };
    const s = await invoke(env, { Records: [] }, { [ENV.moengageBaseUrl]: moengage.url });
    const text = `${s.error?.stack ?? ''}\n${s.stdout}`;
    expect(text).toContain(ENV.queueUrl);
    expect(text).toMatch(/at \w+ \(functions\/[\w/-]+\.ts:\d+:\d+\)/);
    expect(text).not.toMatch(/index\.mjs:1:\d{4,}/);
  });
});
