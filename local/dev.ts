/**
 * `npm run dev`: the whole pipeline on this machine, no AWS account needed (contract.md,
 * "Local run"). In one process, on 127.0.0.1 only:
 *
 *   webhook → HTTP server (Function URL event) → receiver handler → SQS (fauxqs, with its DLQ)
 *           → poller (SQS event source mapping) → sender handler → MoEngage (emulator, or the
 *             configured MOENGAGE_BASE_URL / MOENGAGE_DC)
 *
 * The handlers are the Lambda handlers themselves, configured through the same environment
 * variables the CDK construct sets; they are imported only after that environment is in place.
 * `startDev()` is the programmatic entry (integration tests start the pipeline on free ports).
 */
import { pathToFileURL } from 'node:url';
import { defaultBatchSize, defaultQueueType } from '../lib/app-config';
import { ConfigError, SOURCE_NAMES, sourceOptions, type AdapterConfig, type SourceName } from '../functions/core/config';
import { baseUrlForDc, resolveBaseUrl } from '../functions/core/moengage/data-center';
import { ENV } from '../functions/core/names';
import { adapterConfigFrom } from '../functions/shared/runtime';
import { customerIdFieldProblems } from '../functions/sources/body-paths';
import { startLocalDynamo, type LocalDynamo } from './dynamodb';
import { startHttpServer, type HttpServerHandle, type ReceiverHandler } from './http';
import {
  applyMoEngageMode,
  MASKED_IN_LOG,
  moengageProfiles,
  parseLatencySpec,
  startMoEngageEmulator,
  type LatencyModel,
  type MoEngageEmulator,
  type MoEngageEmulatorOptions,
} from './moengage-emulator';
import { checkBatching, startPoller, type Poller, type PollerOptions, type SqsHandler } from './poller';
import { DEV_SECRETS, effectiveSecret, SAMPLE_STANDARD_MAPPING, SIGNING_SECRET_ENV } from './samples';
import { DEFAULT_MAX_RECEIVE_COUNT, startLocalSqs, type LocalSqs, type QueueType } from './sqs';

export const DEFAULT_PORT = 3000;
export const DEFAULT_SQS_PORT = 9324;
/** The sender's Lambda timeout as deployed; the queue's visibility timeout is 6 × this. */
export const SENDER_TIMEOUT_MS = 60_000;
export const DEV_WORKSPACE_ID = 'dev-workspace';
export const DEV_API_KEY = 'dev-api-key';
/** Bulk mode on a standard queue: messages per sender invocation, and the batching window. */
/** Bulk mode on a standard queue, as the construct deploys it (lib/app-config.ts defaultBatchSize, a 1 s batching window). */
export const BULK_STANDARD_BATCH_SIZE = defaultBatchSize('bulk', 'standard');
export const BULK_STANDARD_BATCHING_WINDOW_MS = 1_000;
/** Environment overrides of the sender's batch size and batching window (local run). */
export const SENDER_BATCH_SIZE_ENV = 'SENDER_BATCH_SIZE';
export const SENDER_BATCHING_WINDOW_MS_ENV = 'SENDER_BATCHING_WINDOW_MS';

export interface DevOptions {
  /** The environment to read (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Receiver port; default PORT, else 3000. 0 picks a free port. */
  port?: number;
  /** SQS port; default SQS_PORT, else 9324. 0 picks a free port. */
  sqsPort?: number;
  /** MoEngage emulator options (ignored when a MoEngage target is configured). Default port: MOENGAGE_EMULATOR_PORT, else free. */
  emulator?: Omit<MoEngageEmulatorOptions, 'host' | 'workspaceId' | 'apiKey'>;
  /** Default QUEUE_TYPE, else fifo. */
  queueType?: QueueType;
  /** Default MAX_RECEIVE_COUNT, else 5. */
  maxReceiveCount?: number;
  /** Default 6 × the function timeout (180 s). */
  visibilityTimeoutSeconds?: number;
  /**
   * Event source mapping. `batchSize` / `maximumBatchingWindowMs` default to SENDER_BATCH_SIZE /
   * SENDER_BATCHING_WINDOW_MS, else 100 / 1,000 ms for bulk mode on a standard queue, else 10 / 0.
   */
  poller?: Partial<
    Pick<PollerOptions, 'batchSize' | 'maximumBatchingWindowMs' | 'functionTimeoutMs' | 'maxConcurrency' | 'waitTimeSeconds' | 'stopTimeoutMs'>
  >;
  /** No banner, no payload printing, Powertools logs silenced (unless POWERTOOLS_LOG_LEVEL is set). */
  quiet?: boolean;
  /** Where lines go (default console.log; quiet: nowhere). */
  log?: (line: string) => void;
  /**
   * The per-user state store (embedded DynamoDB). Default: on, unless STATE_STORE=false
   * (stateless delivery, as a stack deployed with `stateStore: false`).
   */
  stateStore?: boolean;
  /** Use these instead of importing functions/{receiver,sender}/handler.ts. */
  handlers?: { receiver?: ReceiverHandler; sender?: SqsHandler };
}

export interface DevSourceInfo {
  source: SourceName;
  url: string;
  secretEnv: string;
  /** `env`: configured; `dev`: the fixed development secret. */
  secret: 'env' | 'dev';
  enabled: boolean;
}

export interface DevHandle {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  sqs: LocalSqs;
  /** Undefined when a MoEngage target is configured. */
  emulator: MoEngageEmulator | undefined;
  moengageBaseUrl: string;
  http: HttpServerHandle;
  poller: Poller;
  /** The embedded DynamoDB with the state table; undefined when the state store is off. */
  dynamo: LocalDynamo | undefined;
  sources: DevSourceInfo[];
  /** The variables set in process.env for the handlers (secret values included: do not log). */
  env: Readonly<Record<string, string>>;
  /** The `GET /_dev/status` document. */
  status(): DevStatus;
  /** Stops poller, HTTP, emulator and SQS; restores process.env. */
  stop(): Promise<void>;
}

export interface DevStatus {
  receiverUrl: string;
  queueUrl: string;
  dlqUrl: string;
  sqsEndpoint: string;
  queueType: QueueType;
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  moengageBaseUrl: string;
  moengage: 'emulator' | 'external';
  deliveryMode: 'customer' | 'bulk';
  /** The per-user state store: the embedded DynamoDB's endpoint and table, or null when off. */
  stateStore: { endpoint: string; table: string } | null;
  /** Messages per sender invocation (at most). */
  batchSize: number;
  /** How long the event source gathers a batch (0: one ReceiveMessage). */
  batchingWindowMs: number;
  sources: DevSourceInfo[];
  /** The adapter configuration the receiver maps with (no secrets: those are in the environment); read by `backfill --local`. */
  adapterConfig: AdapterConfig;
  counts: {
    poller: Poller['counters'];
    emulator?: ReturnType<MoEngageEmulator['stats']>;
  };
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** True when no adapter configuration is given at all: the local run then uses the sample standard mapping. */
function usesSampleMapping(env: NodeJS.ProcessEnv): boolean {
  return !env[ENV.adapterConfigPath] && !env[ENV.adapterConfigJson];
}

interface Resolved {
  port: number;
  sqsPort: number;
  queueType: QueueType;
  maxReceiveCount: number;
  functionTimeoutMs: number;
  visibilityTimeoutSeconds: number;
  deliveryMode: 'customer' | 'bulk';
  batchSize: number;
  batchingWindowMs: number;
  config: AdapterConfig;
  external: { baseUrl?: string; dc?: string; workspaceId: string; apiKey: string } | undefined;
  workspaceId: string;
  apiKey: string;
  emulatorPort: number;
  emulatorLatency: LatencyModel | undefined;
}

/**
 * The event source's batch size and batching window: options, else the environment, else the
 * defaults (bulk mode on a standard queue gathers batches of up to 100 for 1 s, the way a
 * deployed standard queue with a batching window feeds the sender; otherwise 10, no window).
 * Checked like Lambda checks an event source mapping (FIFO: ≤ 10, no window).
 */
export function resolveBatching(
  options: Pick<DevOptions, 'poller'>,
  env: NodeJS.ProcessEnv,
  queueType: QueueType,
  deliveryMode: 'customer' | 'bulk',
): { batchSize: number; batchingWindowMs: number } {
  const bulkStandard = queueType === 'standard' && deliveryMode === 'bulk';
  const fifo = queueType === 'fifo';
  const batchSize =
    options.poller?.batchSize ?? intFrom(env, SENDER_BATCH_SIZE_ENV, bulkStandard ? BULK_STANDARD_BATCH_SIZE : 10, 1, 10_000);
  const batchingWindowMs =
    options.poller?.maximumBatchingWindowMs ??
    intFrom(env, SENDER_BATCHING_WINDOW_MS_ENV, bulkStandard ? BULK_STANDARD_BATCHING_WINDOW_MS : 0, 0, 300_000);
  try {
    checkBatching(fifo, batchSize, batchingWindowMs);
  } catch (err) {
    throw new ConfigError(`${SENDER_BATCH_SIZE_ENV} / ${SENDER_BATCHING_WINDOW_MS_ENV}: ${(err as Error).message}`);
  }
  return { batchSize, batchingWindowMs };
}

/** MOENGAGE_EMULATOR_LATENCY_MS: `MEDIAN[,P99[,SEED]]` (see parseLatencySpec); unset or empty: none. */
export const EMULATOR_LATENCY_ENV = 'MOENGAGE_EMULATOR_LATENCY_MS';

export function emulatorLatencyFrom(env: NodeJS.ProcessEnv): LatencyModel | undefined {
  const spec = env[EMULATOR_LATENCY_ENV]?.trim();
  if (!spec) return undefined;
  try {
    return parseLatencySpec(spec);
  } catch (err) {
    throw new ConfigError(`${EMULATOR_LATENCY_ENV}: ${(err as Error).message}`);
  }
}

/** Reads and checks everything before anything starts, so that a mistake fails fast and clearly. */
function resolve(options: DevOptions, env: NodeJS.ProcessEnv): Resolved {
  const port = options.port ?? intFrom(env, 'PORT', DEFAULT_PORT, 0, 65_535);
  const sqsPort = options.sqsPort ?? intFrom(env, 'SQS_PORT', DEFAULT_SQS_PORT, 0, 65_535);
  const deliveryMode = env[ENV.deliveryMode] ?? 'customer';
  if (deliveryMode !== 'customer' && deliveryMode !== 'bulk') throw new ConfigError(`${ENV.deliveryMode} must be customer or bulk`);
  // As the construct: bulk mode gathers full Bulk Import requests on a standard queue unless told otherwise.
  const queueType = options.queueType ?? ((env[ENV.queueType]?.trim() || defaultQueueType(deliveryMode)) as QueueType);
  if (queueType !== 'fifo' && queueType !== 'standard') throw new ConfigError(`${ENV.queueType} must be fifo or standard`);
  const maxReceiveCount = options.maxReceiveCount ?? intFrom(env, ENV.maxReceiveCount, DEFAULT_MAX_RECEIVE_COUNT, 1, 1000);
  const functionTimeoutMs = options.poller?.functionTimeoutMs ?? SENDER_TIMEOUT_MS;
  const { batchSize, batchingWindowMs } = resolveBatching(options, env, queueType, deliveryMode);
  // As deployed: 6 × the function timeout, plus the batching window.
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 6 * Math.ceil(functionTimeoutMs / 1000) + Math.ceil(batchingWindowMs / 1000);
  const config = adapterConfigFrom(env);
  const idProblems = customerIdFieldProblems(config);
  if (idProblems.length > 0) throw new ConfigError(`Invalid adapter configuration:\n${idProblems.join('\n')}`);

  const baseUrl = env[ENV.moengageBaseUrl]?.trim() || undefined;
  const dc = env[ENV.moengageDc]?.trim() || undefined;
  const givenWorkspace = env[ENV.moengageWorkspaceId]?.trim() || undefined;
  const givenKey = env[ENV.moengageApiKey]?.trim() || undefined;
  let external: Resolved['external'];
  if (baseUrl || dc) {
    if (!givenWorkspace || !givenKey) {
      throw new ConfigError(
        `${baseUrl ? ENV.moengageBaseUrl : ENV.moengageDc} is set, so MoEngage is not emulated: set ${ENV.moengageWorkspaceId} and ${ENV.moengageApiKey} too`,
      );
    }
    // Checked now, as the sender will (it throws ConfigError naming the variable), rather than
    // answering 202 to webhooks that no delivery can then reach.
    if (dc) baseUrlForDc(dc);
    resolveBaseUrl({ dc, baseUrl });
    external = { ...(baseUrl ? { baseUrl } : {}), ...(dc ? { dc } : {}), workspaceId: givenWorkspace, apiKey: givenKey };
  }
  return {
    port,
    sqsPort,
    queueType,
    maxReceiveCount,
    functionTimeoutMs,
    visibilityTimeoutSeconds,
    deliveryMode,
    batchSize,
    batchingWindowMs,
    config,
    external,
    workspaceId: givenWorkspace ?? DEV_WORKSPACE_ID,
    apiKey: givenKey ?? DEV_API_KEY,
    emulatorPort: options.emulator?.port ?? intFrom(env, 'MOENGAGE_EMULATOR_PORT', 0, 0, 65_535),
    emulatorLatency: emulatorLatencyFrom(env),
  };
}

function describeTarget(external: NonNullable<Resolved['external']>): string {
  return resolveBaseUrl(external);
}

export async function startDev(options: DevOptions = {}): Promise<DevHandle> {
  const input = options.env ?? process.env;
  const quiet = options.quiet ?? false;
  const log = options.log ?? (quiet ? () => {} : (line: string) => console.log(line));
  const r = resolve(options, input);
  // Decided before process.env is changed for the handlers (input may be process.env).
  const sampleMapping = usesSampleMapping(input);

  const cleanups: (() => Promise<void>)[] = [];
  const savedEnv = new Map<string, string | undefined>();
  const restoreEnv = () => {
    for (const [k, v] of savedEnv) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    savedEnv.clear();
  };
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse()) {
      await c().catch((err: unknown) => log(`[dev] shutdown: ${(err as Error).message}`));
    }
    restoreEnv();
  };

  try {
    const sqs = await startLocalSqs({
      port: r.sqsPort,
      queueType: r.queueType,
      maxReceiveCount: r.maxReceiveCount,
      visibilityTimeoutSeconds: r.visibilityTimeoutSeconds,
    });
    cleanups.push(() => sqs.stop());

    const stateOn = options.stateStore ?? (input.STATE_STORE ?? 'true').toLowerCase() !== 'false';
    let dynamo: LocalDynamo | undefined;
    if (stateOn) {
      const d = await startLocalDynamo({ port: intFrom(input, 'DYNAMODB_PORT', 0, 0, 65_535) });
      dynamo = d;
      cleanups.push(() => d.stop());
    }

    let emulator: MoEngageEmulator | undefined;
    let moengageBaseUrl: string;
    if (r.external) {
      moengageBaseUrl = describeTarget(r.external);
    } else {
      const identifiers = Object.keys(r.config.identityResolution?.identifiers ?? {});
      emulator = await startMoEngageEmulator({
        ...(quiet ? {} : { log: (line: string) => log(line) }),
        ...(identifiers.length > 0 ? { identityIdentifiers: identifiers } : {}),
        ...(r.emulatorLatency ? { latency: r.emulatorLatency } : {}),
        ...options.emulator,
        port: r.emulatorPort,
        workspaceId: r.workspaceId,
        apiKey: r.apiKey,
      });
      const e = emulator;
      cleanups.push(() => e.close());
      moengageBaseUrl = emulator.url;
    }

    const sources: DevSourceInfo[] = [];
    const secretValues: Record<string, string> = {};
    for (const source of SOURCE_NAMES) {
      const { secret, fromEnv } = effectiveSecret(source, input);
      const secretEnv = SIGNING_SECRET_ENV[source];
      // A configured value is passed through unchanged (it may list several secrets).
      secretValues[secretEnv] = fromEnv ? (input[secretEnv] ?? secret) : secret;
      sources.push({ source, url: '', secretEnv, secret: fromEnv ? 'env' : 'dev', enabled: sourceOptions(r.config, source).enabled });
    }

    const maxConcurrency = options.poller?.maxConcurrency ?? 2;
    const handlerEnv: Record<string, string> = {
      [ENV.queueUrl]: sqs.queueUrl,
      [ENV.dlqUrl]: sqs.dlqUrl,
      [ENV.queueType]: r.queueType,
      [ENV.sqsEndpoint]: sqs.endpoint,
      [ENV.moengageWorkspaceId]: r.external?.workspaceId ?? r.workspaceId,
      [ENV.moengageApiKey]: r.external?.apiKey ?? r.apiKey,
      [ENV.deliveryMode]: r.deliveryMode,
      [ENV.maxReceiveCount]: String(r.maxReceiveCount),
      // Deployed, each sender container paces itself at 1/N of the workspace's budget; here every
      // invocation runs in this one process and shares one rate limiter: the whole budget.
      [ENV.senderMaxConcurrency]: input[ENV.senderMaxConcurrency] ?? '1',
      // As the construct: the whole batch in flight (at most 64) unless SENDER_PARALLELISM says otherwise.
      [ENV.senderParallelism]: input[ENV.senderParallelism] ?? String(Math.min(r.batchSize, 64)),
      ...secretValues,
    };
    if (dynamo) {
      handlerEnv[ENV.stateTable] = dynamo.tableName;
      handlerEnv[ENV.dynamodbEndpoint] = dynamo.endpoint;
    }
    if (!r.external || r.external.baseUrl) handlerEnv[ENV.moengageBaseUrl] = r.external?.baseUrl ?? moengageBaseUrl;
    if (r.external?.dc) handlerEnv[ENV.moengageDc] = r.external.dc;
    const passThrough = [
      ENV.adapterConfigPath,
      ENV.adapterConfigJson,
      ENV.rateLimitPerMinute,
      ENV.bulkRateLimitPerMinute,
      ENV.eventRateLimitPerMinute,
      ENV.senderParallelism,
      ENV.moengageTimeoutMs,
      ENV.moengageSecretArn,
      ENV.signingSecretsArn,
      ENV.secretsManagerEndpoint,
      ENV.stateRetentionDays,
      ENV.secretRefreshIntervalMs,
    ];
    for (const name of passThrough) {
      const v = input[name];
      if (v !== undefined) handlerEnv[name] = v;
    }
    if (sampleMapping) {
      // No configuration given: the `standard` source gets the sample mapping, so that
      // `npm run send -- standard` works out of the box (a deployed stack has no default).
      handlerEnv[ENV.adapterConfigJson] = JSON.stringify({ sources: { standard: { mapping: SAMPLE_STANDARD_MAPPING } } });
    }
    if (!input.AWS_REGION && !process.env.AWS_REGION) handlerEnv.AWS_REGION = sqs.region;
    // No CloudWatch here: EMF metric lines would only clutter the terminal. Values given in
    // `input` apply (it need not be process.env).
    handlerEnv.POWERTOOLS_METRICS_DISABLED = input.POWERTOOLS_METRICS_DISABLED ?? 'true';
    if (input.POWERTOOLS_LOG_LEVEL !== undefined) handlerEnv.POWERTOOLS_LOG_LEVEL = input.POWERTOOLS_LOG_LEVEL;
    else if (quiet) handlerEnv.POWERTOOLS_LOG_LEVEL = 'SILENT';

    for (const [k, v] of Object.entries(handlerEnv)) {
      if (!savedEnv.has(k)) savedEnv.set(k, process.env[k]);
      process.env[k] = v;
    }

    // Only now, with the environment in place, load the Lambda handlers.
    const receiverHandler: ReceiverHandler =
      options.handlers?.receiver ?? ((await import('../functions/receiver/handler')) as unknown as { handler: ReceiverHandler }).handler;
    const senderHandler: SqsHandler =
      options.handlers?.sender ?? ((await import('../functions/sender/handler')) as unknown as { handler: SqsHandler }).handler;

    let ready = false;
    let statusFn: () => DevStatus = () => {
      throw new Error('not started');
    };
    const http = await startHttpServer({
      port: r.port,
      receiverHandler,
      ready: () => ready,
      status: () => statusFn(),
      ...(emulator
        ? {
            setMoEngageMode: (request: { mode?: unknown; userRules?: unknown }) => applyMoEngageMode(emulator, request),
            moengageProfiles: () => moengageProfiles(emulator),
          }
        : {}),
      log,
    });
    cleanups.push(() => http.close());
    for (const s of sources) s.url = `${http.url}/webhooks/${s.source}`;

    const poller = startPoller({
      client: sqs.client,
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      handler: senderHandler,
      batchSize: r.batchSize,
      maximumBatchingWindowMs: r.batchingWindowMs,
      functionTimeoutMs: r.functionTimeoutMs,
      maxConcurrency,
      waitTimeSeconds: options.poller?.waitTimeSeconds ?? 1,
      region: sqs.region,
      ...(options.poller?.stopTimeoutMs !== undefined ? { stopTimeoutMs: options.poller.stopTimeoutMs } : {}),
      onError: (err, where) => log(`[poller] ${where}: ${(err as Error)?.name ?? 'Error'}: ${(err as Error)?.message ?? String(err)}`.slice(0, 500)),
    });
    // Stop the poller first so that nothing is delivered once the rest goes down.
    cleanups.push(() => poller.stop());

    statusFn = () => ({
      receiverUrl: http.url,
      queueUrl: sqs.queueUrl,
      dlqUrl: sqs.dlqUrl,
      sqsEndpoint: sqs.endpoint,
      queueType: r.queueType,
      maxReceiveCount: r.maxReceiveCount,
      visibilityTimeoutSeconds: r.visibilityTimeoutSeconds,
      moengageBaseUrl,
      moengage: emulator ? 'emulator' : 'external',
      deliveryMode: r.deliveryMode,
      stateStore: dynamo ? { endpoint: dynamo.endpoint, table: dynamo.tableName } : null,
      batchSize: r.batchSize,
      batchingWindowMs: r.batchingWindowMs,
      sources: sources.map((s) => ({ ...s })),
      adapterConfig: r.config,
      counts: { poller: { ...poller.counters }, ...(emulator ? { emulator: emulator.stats() } : {}) },
    });
    ready = true;

    if (!quiet) {
      for (const line of banner({ http, sqs, emulator, moengageBaseUrl, sources, r, sampleMapping, dynamo })) log(line);
    }

    let stopped: Promise<void> | undefined;
    return {
      url: http.url,
      port: http.port,
      sqs,
      emulator,
      moengageBaseUrl,
      http,
      poller,
      dynamo,
      sources,
      env: handlerEnv,
      status: () => statusFn(),
      stop() {
        ready = false;
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function banner(x: {
  http: HttpServerHandle;
  sqs: LocalSqs;
  emulator: MoEngageEmulator | undefined;
  moengageBaseUrl: string;
  sources: DevSourceInfo[];
  r: Resolved;
  sampleMapping: boolean;
  dynamo: LocalDynamo | undefined;
}): string[] {
  const { http, sqs, emulator, sources, r } = x;
  const width = Math.max(...sources.map((s) => s.url.length));
  const lines = [
    '',
    'MoEngage adapter: local run (127.0.0.1 only)',
    `  receiver  ${http.url}   GET /healthz, GET /_dev/status`,
    '  webhooks',
  ];
  for (const s of sources) {
    const secret = s.secret === 'env' ? `${s.secretEnv} from the environment` : `${s.secretEnv}=${DEV_SECRETS[s.source]}  (development secret)`;
    let note = s.enabled ? '' : '  [disabled in ADAPTER_CONFIG]';
    if (s.source === 'standard' && s.enabled && x.sampleMapping) {
      note = '  [sample mapping: set ADAPTER_CONFIG for yours]';
    } else if (s.source === 'standard' && s.enabled && !sourceOptions(r.config, 'standard').mapping) {
      note = '  [needs sources.standard.mapping in ADAPTER_CONFIG]';
    }
    lines.push(`    POST ${s.url.padEnd(width)}  ${secret}${note}`);
    const events = s.enabled ? sourceOptions(r.config, s.source).events : undefined;
    if (events && Object.keys(events).length > 0) {
      lines.push(`${' '.repeat(width + 11)}events: ${Object.entries(events).map(([type, name]) => `${type} -> Create Event "${name}"`).join(', ')}`);
    }
  }
  lines.push(
    `  sqs       ${sqs.endpoint}  ${sqs.queueName} -> DLQ ${sqs.dlqName} (maxReceiveCount ${sqs.maxReceiveCount}, visibility ${sqs.visibilityTimeoutSeconds} s)`,
  );
  lines.push(
    x.dynamo
      ? `  state     ${x.dynamo.endpoint}  table ${x.dynamo.tableName} (embedded DynamoDB: late, replayed and deleted users judged per user)`
      : '  state     off (STATE_STORE=false): arrival order decides, as with stateStore: false',
  );
  if (emulator) {
    lines.push(
      `  moengage  emulator ${emulator.url}  workspace ${emulator.workspaceId}${r.apiKey === DEV_API_KEY ? `, api key ${DEV_API_KEY}` : ''}; accepted payloads and deletions are printed (${MASKED_IN_LOG})`,
      `            GET ${http.url}/_dev/moengage/profiles  (profiles and Delete User calls), POST ${http.url}/_dev/moengage/mode`,
    );
  } else {
    lines.push(`  moengage  ${x.moengageBaseUrl}  workspace ${r.external?.workspaceId ?? ''}`);
  }
  const batching = r.batchingWindowMs > 0 ? `batches of up to ${r.batchSize}, ${r.batchingWindowMs} ms window` : `batches of up to ${r.batchSize}`;
  lines.push(`  delivery  ${r.deliveryMode} (${sqs.queueType} queue, ${batching})`, '', '  try: npm run send -- clerk      (Ctrl-C stops everything)', '');
  return lines;
}

async function main(): Promise<void> {
  // On Node < 22 the AWS SDK prints a NodeVersionSupportWarning ("will require node >=22 from
  // January 2027") when the first client starts: the SDK's own switch turns off that warning
  // alone (every other warning still shows); README "Node.js versions" says what is supported.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let handle: DevHandle;
  try {
    handle = await startDev();
  } catch (err) {
    if (err instanceof ConfigError) console.error(`npm run dev: ${err.message}`);
    else if ((err as { code?: string }).code === 'EADDRINUSE') {
      console.error(`npm run dev: a port is already in use (${(err as Error).message}); set PORT / SQS_PORT`);
    } else console.error(err);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      process.exit(1);
    }
    stopping = true;
    console.log(`\n${signal}: stopping`);
    const force = setTimeout(() => {
      console.error('shutdown took too long; exiting');
      process.exit(1);
    }, 8_000);
    force.unref();
    handle.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
