/**
 * Figure 1: the receiver's hot path per webhook, without I/O.
 *
 * Measured: `receiveWebhook` (functions/receiver/receive.ts) with the real SOURCES, the local
 * run's adapter configuration, secrets already in memory, a no-op enqueue and no-op telemetry:
 * route, options, verify, parse, map (payload built valid by construction), envelope encoding. Each request is a realistic
 * signed sample of its source (local/samples.ts) and must be answered 202 (checked first).
 *
 * Floor: what any receiver has to do with the same bytes: the provider's HMAC over the body
 * (SHA-256; Segment's SHA-1) plus JSON.parse of the body. Auth0 signs nothing (a bearer token);
 * its floor is still HMAC-SHA256 + JSON.parse, as for the others.
 *
 * Method: warm-up, then `rounds` rounds; in each round the floor and the receiver run
 * back-to-back (interleaved, so drift from other load hits both) for a batch of iterations
 * sized to ~`roundMs`. The figure is the median over rounds of ns per operation.
 */
import { createHmac } from 'node:crypto';
import { SOURCE_NAMES, parseAdapterConfig, sourceOptions, type SourceName } from '../functions/core/config';
import { encodeEnvelope, ENVELOPE_VERSION } from '../functions/core/envelope';
import { validateCustomerPayload } from '../functions/core/moengage/payload-validator';
import { receiveWebhook, type ReceiverDeps } from '../functions/receiver/receive';
import { SOURCES } from '../functions/sources';
import type { ParsedEvent, SourceContext, WebhookRequest } from '../functions/sources/types';
import { DEV_SECRETS, SAMPLE_STANDARD_MAPPING, buildSignedSample } from '../local/samples';
import { NOOP_TELEMETRY, median, progress } from './util';

export const HOT_PATH_TARGET_RATIO = 3;

export interface HotPathRow {
  source: SourceName;
  bodyBytes: number;
  /** Median ns per webhook through receiveWebhook. */
  receiverNs: number;
  /** Median ns of HMAC + JSON.parse over the same body. */
  floorNs: number;
  ratio: number;
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
  /** encodeEnvelope of the queue message. */
  envelope: number;
  /** The floor's two parts alone. */
  floorHmac: number;
  floorJson: number;
}

export interface HotPathResult {
  rows: HotPathRow[];
  rounds: number;
  warmupIterations: number;
  target: number;
}

export interface HotPathOptions {
  sources?: readonly SourceName[];
  rounds?: number;
  /** Approximate duration of one side of one round. */
  roundMs?: number;
  warmupIterations?: number;
}

function floorFor(source: SourceName, secret: string, raw: Buffer): { algorithm: string; run: () => unknown } {
  const algorithm = source === 'segment' ? 'sha1' : 'sha256';
  const key = Buffer.from(secret, 'utf8');
  return {
    algorithm: `HMAC-${algorithm.toUpperCase()} + JSON.parse`,
    run: () => {
      const mac = createHmac(algorithm, key).update(raw).digest();
      const json: unknown = JSON.parse(raw.toString('utf8'));
      return mac.length + (json === null ? 0 : 1);
    },
  };
}

function nsPerOp(iterations: number, run: () => unknown): number {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink ^= run() as number;
  const ns = Number(process.hrtime.bigint() - t0);
  if (sink === Number.MIN_SAFE_INTEGER) progress('unreachable'); // keeps `sink` alive
  return ns / iterations;
}

async function nsPerOpAsync(iterations: number, run: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await run();
  return Number(process.hrtime.bigint() - t0) / iterations;
}

/** Each stage of the hot path alone, median ns over `rounds` rounds of ~roundMs. */
function measureStages(
  source: SourceName,
  req: WebhookRequest,
  secrets: string[],
  config: ReturnType<typeof parseAdapterConfig>,
  now: Date,
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
  const envelope = { v: ENVELOPE_VERSION, source, eventId: event.id, eventType: event.type, receivedAt: now.toISOString(), payload };
  const runs: Record<keyof StageTimes, () => unknown> = {
    options: () => sourceOptions(config, source),
    verify: () => impl.verify(req, secrets, ctx),
    parse: () => impl.parse(req, ctx),
    map: () => impl.map(event, ctx),
    validate: () => validateCustomerPayload(payload),
    envelope: () => encodeEnvelope(envelope),
    floorHmac: () => createHmac(source === 'segment' ? 'sha1' : 'sha256', secrets[0] ?? '').update(req.rawBody).digest(),
    floorJson: () => JSON.parse(req.rawBody.toString('utf8')),
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

export async function benchHotPath(options: HotPathOptions = {}): Promise<HotPathResult> {
  const sources = options.sources ?? SOURCE_NAMES;
  const rounds = options.rounds ?? 9;
  const roundMs = options.roundMs ?? 120;
  const warmupIterations = options.warmupIterations ?? 3_000;
  const config = parseAdapterConfig({ sources: { standard: { mapping: SAMPLE_STANDARD_MAPPING } } });
  const rows: HotPathRow[] = [];

  for (const source of sources) {
    const signedAt = new Date();
    const sample = buildSignedSample(source, { now: signedAt, user: { id: source === 'shopify' ? '7002823299001' : `bench_hot_${source}` } });
    const rawBody = Buffer.from(sample.body, 'utf8');
    const req: WebhookRequest = { method: 'POST', path: sample.path, headers: sample.headers, rawBody };
    const secretList = [DEV_SECRETS[source]];
    const deps: ReceiverDeps = {
      sources: SOURCES,
      config,
      secrets: async () => secretList,
      enqueue: async () => {},
      // The deployed default: FIFO (so group and deduplication ids are computed too).
      queueType: 'fifo',
      now: () => signedAt,
      telemetry: NOOP_TELEMETRY,
    };
    const first = await receiveWebhook(req, deps);
    if (first.statusCode !== 202) {
      throw new Error(`hot path: the ${source} sample was answered ${first.statusCode}, not 202: ${first.body.slice(0, 200)}`);
    }
    const floor = floorFor(source, DEV_SECRETS[source], rawBody);
    const receive = () => receiveWebhook(req, deps);

    for (let i = 0; i < warmupIterations; i++) {
      floor.run();
      await receive();
    }
    // Iterations per round: sized on the slower side so that a round lasts ~roundMs.
    const probe = await nsPerOpAsync(500, receive);
    const iterations = Math.max(200, Math.round((roundMs * 1e6) / probe));
    const floorIterations = Math.max(200, Math.round((roundMs * 1e6) / Math.max(1, nsPerOp(500, floor.run))));
    const receiverNs: number[] = [];
    const floorNs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate which side goes first so neither always follows the other's garbage.
      if (r % 2 === 0) {
        floorNs.push(nsPerOp(floorIterations, floor.run));
        receiverNs.push(await nsPerOpAsync(iterations, receive));
      } else {
        receiverNs.push(await nsPerOpAsync(iterations, receive));
        floorNs.push(nsPerOp(floorIterations, floor.run));
      }
    }
    const stages = measureStages(source, req, secretList, config, signedAt, Math.max(3, Math.ceil(rounds / 2)), roundMs / 3);
    const row: HotPathRow = {
      source,
      bodyBytes: rawBody.length,
      receiverNs: median(receiverNs),
      floorNs: median(floorNs),
      ratio: median(receiverNs) / median(floorNs),
      floorAlgorithm: floor.algorithm,
      iterationsPerRound: iterations,
      stages,
    };
    progress(`hot path ${source}: ${Math.round(row.receiverNs)} ns vs floor ${Math.round(row.floorNs)} ns = ${row.ratio.toFixed(2)}x`);
    rows.push(row);
  }
  return { rows, rounds, warmupIterations, target: HOT_PATH_TARGET_RATIO };
}
