/**
 * Figure 1: the receiver's hot path per webhook, without I/O.
 *
 * Measured: `receiveWebhook` (functions/receiver/receive.ts) with the real SOURCES, the local
 * run's adapter configuration, the deployed signing-secrets provider (Secrets Manager through
 * Powertools, its document already read: see deployedSigningSecrets), a no-op enqueue and no-op telemetry:
 * route, options, verify, parse, map (payload built valid by construction), envelope encoding. Each request is a realistic
 * signed sample of its source (local/samples.ts) and must be answered 202 (checked first).
 *
 * Floor: what any receiver has to do with the same bytes: the provider's HMAC over the body
 * (SHA-256; Segment's SHA-1; keyed with a KeyObject made once, see floorKey) plus JSON.parse of the body. Auth0 signs nothing (a bearer token);
 * its floor is still HMAC-SHA256 + JSON.parse, as for the others.
 *
 * Method: each source in a process of its own on Node 24, the deployed runtime (Lambda's
 * nodejs24.x; scripts/node24.ts): `node24 … bench/hot-path.ts --child SOURCE`, so
 * that no source inherits the JIT state another source left (the seven share call sites: measured
 * in one process, a source's figure depended on which ran before it). In that process: warm-up,
 * then `rounds` short rounds; in each round the floor and the receiver run back to back
 * (interleaved, alternating which goes first, so that drift from other load hits both) for a
 * batch of iterations sized to ~`roundMs`. Times are CPU time of the process (see cpuNs). The
 * figure of each side is the median over rounds of ns per operation; the ratio is the ratio of
 * the two medians.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { execFile, spawn } from 'node:child_process';
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SOURCE_NAMES, isSourceName, parseAdapterConfig, sourceOptions, type SourceName } from '../functions/core/config';
import { deduplicationId, encodeEnvelope, messageGroupId, type Envelope } from '../functions/core/envelope';
import { validateCustomerPayload } from '../functions/core/moengage/payload-validator';
import { receiveWebhook, type QueueMessage, type ReceiverDeps } from '../functions/receiver/receive';
import { signingSecretsFromSecretsManager, type SigningSecrets } from '../functions/shared/secrets';
import { SOURCES } from '../functions/sources';
import type { ParsedEvent, SourceContext, WebhookRequest } from '../functions/sources/types';
import { DEV_SECRETS, SAMPLE_STANDARD_MAPPING, buildSignedSample } from '../local/samples';
import { node24Binary } from '../scripts/node24';
import { NOOP_TELEMETRY, median, progress } from './util';

const HOT_PATH_TARGET_RATIO = 3;

export interface HotPathRow {
  source: SourceName;
  bodyBytes: number;
  /** Median ns per webhook through receiveWebhook. */
  receiverNs: number;
  /** Median ns of HMAC + JSON.parse over the same body. */
  floorNs: number;
  ratio: number;
  /**
   * Median ns of the floor plus what any receiver has to write for the same webhook, with none of
   * the adapter's reading, rules or mapping (see floorPlusOutput).
   */
  floorPlusOutputNs: number;
  /** floorPlusOutputNs / floorNs: how much of the ratio's budget the output alone takes. */
  floorPlusOutputRatio: number;
  /** The lowest and highest ratio of one round (receiver / floor of the same round): how much the rounds disagreed. */
  roundRatios: [number, number];
  floorAlgorithm: string;
  iterationsPerRound: number;
  /** Median ns of each stage run on its own (where the time goes). */
  stages: StageTimes;
}

export interface StageTimes {
  /** sourceOptions(config, source): the source's options parsed with zod, per request. */
  options: number;
  verify: number;
  parse: number;
  /** source.map: build the MoEngage payload (valid by construction). */
  map: number;
  /** validateCustomerPayload on the built payload (the strict validator; not on the receiver path). */
  validate: number;
  /** The FIFO ids of the message: messageGroupId (a SHA-256 of the user's key) + deduplicationId. */
  ids: number;
  /** encodeEnvelope of the envelope the receiver enqueued (parsed back from its body). */
  envelope: number;
  /** The floor's two parts alone. */
  floorHmac: number;
  floorJson: number;
  /** The floor's HMAC keyed with the secret's bytes in a Buffer (as Clerk and standard verify today). */
  hmacBufferKey: number;
}

export interface HotPathResult {
  rows: HotPathRow[];
  rounds: number;
  roundMs: number;
  warmupMs: number;
  /** The node version the sources ran on. */
  node: string;
  target: number;
}

export interface HotPathOptions {
  sources?: readonly SourceName[];
  rounds?: number;
  /** Approximate duration of one side of one round. */
  roundMs?: number;
  /** Duration of the warm-up (both sides in turn) before the rounds. */
  warmupMs?: number;
}

type SourceOptions = Required<Omit<HotPathOptions, 'sources'>>;

/**
 * The floor's HMAC key: the secret's bytes as a KeyObject made once, the cheapest way to key an
 * HMAC on Node 24 (createHmac with a Buffer key costs 5x a KeyObject or a string key there:
 * 21-32k against 3.5-8k ns; on Node 20 all three cost the same), so that the floor is what a
 * receiver cannot do without, not the price of a slow keying.
 */
function floorKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

function floorFor(source: SourceName, secret: string, raw: Buffer): { algorithm: string; run: () => unknown } {
  const algorithm = source === 'segment' ? 'sha1' : 'sha256';
  const key = floorKey(secret);
  return {
    algorithm: `HMAC-${algorithm.toUpperCase()} + JSON.parse`,
    run: () => {
      const mac = createHmac(algorithm, key).update(raw).digest();
      const json: unknown = JSON.parse(raw.toString('utf8'));
      return mac.length + (json === null ? 0 : 1);
    },
  };
}

/**
 * The floor plus the output every receiver writes, as a reference for the ratio: the floor's HMAC
 * (compared with timingSafeEqual to the expected digest) and JSON.parse, then what the receiver
 * enqueues and answers for the same webhook: the FIFO group id's SHA-256 of the user's key, the
 * time of receipt as ISO 8601, the JSON of the very envelope the receiver enqueued (its object,
 * not rebuilt from the body), one awaited enqueue, the 202 answer's JSON. None of the adapter's
 * reading of the body, its rules or its mapping: what is left of the ratio's budget for them.
 */
function floorPlusOutput(
  source: SourceName,
  secret: string,
  raw: Buffer,
  customerKey: string,
  envelope: Envelope,
  receivedAt: Date,
): () => Promise<unknown> {
  const algorithm = source === 'segment' ? 'sha1' : 'sha256';
  const key = floorKey(secret);
  const expected = createHmac(algorithm, key).update(raw).digest();
  const enqueue = async (body: string) => body.length;
  return async () => {
    const mac = createHmac(algorithm, key).update(raw).digest();
    if (!timingSafeEqual(mac, expected)) throw new Error('floor + output: the digest changed');
    const json: unknown = JSON.parse(raw.toString('utf8'));
    const userKey = messageGroupId(customerKey);
    const body = JSON.stringify({ ...envelope, receivedAt: receivedAt.toISOString(), userKey });
    await enqueue(body);
    return JSON.stringify({ status: 'accepted', source, eventId: envelope.eventId }).length + (json === null ? 0 : 1);
  };
}

/**
 * CPU nanoseconds of the process (user + system, every thread: the main thread and V8's
 * garbage-collection helpers). CPU time rather than wall-clock time: on this shared machine
 * the wall clock also counts the time other processes held the core, which changes from one
 * round to the next (under a load average of 9, wall-clock rounds of the same code differed 3×,
 * CPU-time rounds 1.5×).
 */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function nsPerOp(iterations: number, run: () => unknown): number {
  let sink = 0;
  const t0 = cpuNs();
  for (let i = 0; i < iterations; i++) sink ^= run() as number;
  const ns = cpuNs() - t0;
  if (sink === Number.MIN_SAFE_INTEGER) progress('unreachable'); // keeps `sink` alive
  return ns / iterations;
}

async function nsPerOpAsync(iterations: number, run: () => Promise<unknown>): Promise<number> {
  const t0 = cpuNs();
  for (let i = 0; i < iterations; i++) await run();
  return (cpuNs() - t0) / iterations;
}

/** Each stage of the hot path alone, median ns over `rounds` rounds of ~roundMs. */
function measureStages(
  source: SourceName,
  req: WebhookRequest,
  secrets: string[],
  config: ReturnType<typeof parseAdapterConfig>,
  now: Date,
  enqueued: QueueMessage,
  rounds: number,
  roundMs: number,
): StageTimes {
  const impl = SOURCES[source];
  const ctx: SourceContext = { now, options: sourceOptions(config, source), identityResolution: config.identityResolution };
  const parsed = impl.parse(req, ctx);
  if (!parsed.ok) throw new Error(`hot path: ${source} sample does not parse`);
  const event: ParsedEvent = parsed.event;
  const mapped = impl.map(event, ctx);
  if (mapped.kind !== 'payload') throw new Error(`hot path: ${source} sample is not mapped`);
  const payload = mapped.payload;
  const envelope = JSON.parse(enqueued.body) as Envelope;
  const keyObject = floorKey(secrets[0] ?? '');
  const keyBytes = Buffer.from(secrets[0] ?? '', 'utf8');
  const runs: Record<keyof StageTimes, () => unknown> = {
    options: () => sourceOptions(config, source),
    verify: () => impl.verify(req, secrets, ctx),
    parse: () => impl.parse(req, ctx),
    map: () => impl.map(event, ctx),
    validate: () => validateCustomerPayload(payload),
    ids: () => messageGroupId(mapped.customerKey).length + deduplicationId(source, event.id).length,
    envelope: () => encodeEnvelope(envelope),
    floorHmac: () => createHmac(source === 'segment' ? 'sha1' : 'sha256', keyObject).update(req.rawBody).digest(),
    floorJson: () => JSON.parse(req.rawBody.toString('utf8')),
    hmacBufferKey: () => createHmac(source === 'segment' ? 'sha1' : 'sha256', keyBytes).update(req.rawBody).digest(),
  };
  const out = {} as StageTimes;
  for (const [name, run] of Object.entries(runs) as [keyof StageTimes, () => unknown][]) {
    const wrapped = () => (run() === undefined ? 0 : 1);
    for (let i = 0; i < 500; i++) wrapped();
    const iterations = Math.max(100, Math.round((roundMs * 1e6) / Math.max(1, nsPerOp(300, wrapped))));
    const samples: number[] = [];
    for (let r = 0; r < rounds; r++) samples.push(nsPerOp(iterations, wrapped));
    out[name] = median(samples);
  }
  return out;
}

/**
 * The deployed receiver's signing secrets (functions/shared/secrets.ts: Powertools' Secrets
 * Manager provider, the document parsed and kept), with a client that answers the source's
 * development secret as the deployed JSON document: after the first webhook, each one costs
 * what it costs in Lambda between two reads of Secrets Manager.
 */
function deployedSigningSecrets(source: SourceName): SigningSecrets {
  const client = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const SecretString = JSON.stringify({ [source]: DEV_SECRETS[source] });
  (client as unknown as { send: () => Promise<unknown> }).send = async () => ({ SecretString, Name: 'signing', ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:signing' });
  return signingSecretsFromSecretsManager('arn:aws:secretsmanager:us-east-1:1:secret:signing', client);
}

/** Figure 1 for one source, in this process (see benchHotPath for the process of its own). */
async function benchHotPathSource(source: SourceName, options: SourceOptions): Promise<HotPathRow> {
  const { rounds, roundMs, warmupMs } = options;
  const config = parseAdapterConfig({ sources: { standard: { mapping: SAMPLE_STANDARD_MAPPING } } });
  const signedAt = new Date();
  const sample = buildSignedSample(source, { now: signedAt, user: { id: source === 'shopify' ? '7002823299001' : `bench_hot_${source}` } });
  const rawBody = Buffer.from(sample.body, 'utf8');
  const req: WebhookRequest = { method: 'POST', path: sample.path, headers: sample.headers, rawBody };
  const secretList = [DEV_SECRETS[source]];
  let enqueued: QueueMessage | undefined;
  const deps: ReceiverDeps = {
    sources: SOURCES,
    config,
    secrets: deployedSigningSecrets(source),
    enqueue: async (message) => {
      enqueued = message;
    },
    // The deployed default: FIFO (so group and deduplication ids are computed too).
    queueType: 'fifo',
    now: () => signedAt,
    telemetry: NOOP_TELEMETRY,
  };
  const first = await receiveWebhook(req, deps);
  if (first.statusCode !== 202 || !enqueued) {
    throw new Error(`hot path: the ${source} sample was answered ${first.statusCode}, not 202: ${first.body.slice(0, 200)}`);
  }
  const floor = floorFor(source, DEV_SECRETS[source], rawBody);
  const receive = () => receiveWebhook(req, deps);
  const firstParsed = SOURCES[source].parse(req, { now: signedAt, options: sourceOptions(config, source), identityResolution: config.identityResolution });
  const firstMapped = firstParsed.ok
    ? SOURCES[source].map(firstParsed.event, { now: signedAt, options: sourceOptions(config, source), identityResolution: config.identityResolution })
    : undefined;
  if (!firstMapped || firstMapped.kind !== 'payload') throw new Error(`hot path: the ${source} sample is not mapped to a payload`);
  const reference = floorPlusOutput(source, DEV_SECRETS[source], rawBody, firstMapped.customerKey, JSON.parse(enqueued.body) as Envelope, signedAt);

  const warmupEnd = performance.now() + warmupMs;
  while (performance.now() < warmupEnd) {
    for (let i = 0; i < 100; i++) {
      floor.run();
      await receive();
      await reference();
    }
  }
  // Iterations per round: sized per side so that each lasts ~roundMs.
  const iterations = Math.max(100, Math.round((roundMs * 1e6) / (await nsPerOpAsync(500, receive))));
  const floorIterations = Math.max(100, Math.round((roundMs * 1e6) / Math.max(1, nsPerOp(500, floor.run))));
  const referenceIterations = Math.max(100, Math.round((roundMs * 1e6) / (await nsPerOpAsync(500, reference))));
  const receiverNs: number[] = [];
  const floorNs: number[] = [];
  const referenceNs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which side goes first so neither always follows the other's garbage.
    if (r % 2 === 0) {
      floorNs.push(nsPerOp(floorIterations, floor.run));
      receiverNs.push(await nsPerOpAsync(iterations, receive));
    } else {
      receiverNs.push(await nsPerOpAsync(iterations, receive));
      floorNs.push(nsPerOp(floorIterations, floor.run));
    }
    referenceNs.push(await nsPerOpAsync(referenceIterations, reference));
  }
  const roundRatios = receiverNs.map((ns, i) => ns / (floorNs[i] as number));
  const stages = measureStages(source, req, secretList, config, signedAt, enqueued, Math.max(3, Math.ceil(rounds / 2)), roundMs / 3);
  return {
    source,
    bodyBytes: rawBody.length,
    receiverNs: median(receiverNs),
    floorNs: median(floorNs),
    ratio: median(receiverNs) / median(floorNs),
    floorPlusOutputNs: median(referenceNs),
    floorPlusOutputRatio: median(referenceNs) / median(floorNs),
    roundRatios: [Math.min(...roundRatios), Math.max(...roundRatios)],
    floorAlgorithm: floor.algorithm,
    iterationsPerRound: iterations,
    stages,
  };
}

const THIS_FILE = fileURLToPath(import.meta.url);

/** Runs benchHotPathSource in a fresh node process (the same loader flags as this one) and reads its row. */
function benchInChild(node: string, source: SourceName, options: SourceOptions): Promise<HotPathRow> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(node, [...process.execArgv, THIS_FILE, '--child', source, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`hot path: the ${source} process exited with ${code}`));
      try {
        resolvePromise(JSON.parse(out.trim().split('\n').pop() ?? '') as HotPathRow);
      } catch (err) {
        reject(new Error(`hot path: the ${source} process printed no result (${(err as Error).message})`));
      }
    });
  });
}

export async function benchHotPath(options: HotPathOptions = {}): Promise<HotPathResult> {
  const sources = options.sources ?? SOURCE_NAMES;
  const perSource: SourceOptions = {
    rounds: options.rounds ?? 15,
    roundMs: options.roundMs ?? 60,
    warmupMs: options.warmupMs ?? 1_000,
  };
  // The deployed runtime (Lambda's nodejs24.x), as figure 2: JSON, Date and object-literal costs
  // differ between V8 versions.
  const node = await node24Binary();
  const nodeVersion = (await promisify(execFile)(node, ['--version'])).stdout.trim();
  const rows: HotPathRow[] = [];
  for (const source of sources) {
    const row = await benchInChild(node, source, perSource);
    progress(
      `hot path ${source}: ${Math.round(row.receiverNs)} ns vs floor ${Math.round(row.floorNs)} ns = ${row.ratio.toFixed(2)}x ` +
        `(rounds ${row.roundRatios[0].toFixed(2)}-${row.roundRatios[1].toFixed(2)}x); floor + output ${row.floorPlusOutputRatio.toFixed(2)}x`,
    );
    rows.push(row);
  }
  return { rows, ...perSource, node: nodeVersion, target: HOT_PATH_TARGET_RATIO };
}

// `node … bench/hot-path.ts --child SOURCE OPTIONS_JSON`: one source, its row as JSON on stdout.
if (process.argv[2] === '--child' && process.argv[1] && resolve(process.argv[1]) === THIS_FILE) {
  const source = process.argv[3] ?? '';
  if (!isSourceName(source)) throw new Error(`hot path: unknown source ${source}`);
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const row = await benchHotPathSource(source, JSON.parse(process.argv[4] ?? '{}') as SourceOptions);
  process.stdout.write(`${JSON.stringify(row)}\n`);
}
