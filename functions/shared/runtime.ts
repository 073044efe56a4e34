/**
 * Reading the handlers' environment (names in core/names.ts). Shared by both Lambdas.
 */
import { readFileSync } from 'node:fs';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError, parseAdapterConfig, type AdapterConfig } from '../core/config';
import { ENV } from '../core/names';
import { closestKey } from '../core/suggest';

export function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v) throw new ConfigError(`environment variable ${name} is not set`);
  return v;
}

export function queueTypeFrom(env: NodeJS.ProcessEnv): 'fifo' | 'standard' {
  const v = env[ENV.queueType] ?? 'fifo';
  if (v !== 'fifo' && v !== 'standard') throw new ConfigError(`${ENV.queueType} must be fifo or standard, not ${v}`);
  return v;
}

/** ADAPTER_CONFIG_JSON (inline, deployed) or ADAPTER_CONFIG (a file path, local run); {} when neither. */
export function adapterConfigFrom(env: NodeJS.ProcessEnv): AdapterConfig {
  const inline = env[ENV.adapterConfigJson];
  if (inline) return parseAdapterConfig(parseJsonOrThrow(inline, ENV.adapterConfigJson), ENV.adapterConfigJson);
  const path = env[ENV.adapterConfigPath];
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new ConfigError(`${ENV.adapterConfigPath}: cannot read ${path}`);
    }
    return parseAdapterConfig(adapterPart(parseJsonOrThrow(text, path), path), path);
  }
  return parseAdapterConfig({});
}

/**
 * The CDK app's deployment keys (lib/app-config.ts appConfigSchema, less `adapter`; a test keeps
 * the two lists equal): a configuration file may hold them, and the local run does not read them.
 */
export const DEPLOYMENT_CONFIG_KEYS: readonly string[] = [
  'stackName', 'moengageDc', 'moengageBaseUrl', 'deliveryMode', 'queueType', 'maxReceiveCount', 'batchSize',
  'maxBatchingWindowSeconds', 'alarmEmail', 'ingress', 'publicBaseUrl', 'logRetentionDays', 'logLevel', 'tracing',
  'receiverMemoryMb', 'senderMemoryMb', 'receiverTimeoutSeconds', 'senderTimeoutSeconds', 'senderParallelism',
  'senderMaxConcurrency', 'expectedMoEngageLatencyMs', 'expectedMoEngageLatencyP99Ms', 'rateLimitPerMinute',
  'bulkRateLimitPerMinute', 'moengageTimeoutMs', 'queueRemovalPolicy', 'runbookBaseUrl', 'queueAgeAlarmMinutes',
  'existingMoEngageSecret', 'existingSigningSecret', 'existingSecretsKmsKeyArn', 'receiverReservedConcurrency',
  'stateStore', 'stateRetentionDays',
];

const ADAPTER_FILE_KEYS = ['adapter', 'sources', 'identityResolution', '$schema', ...DEPLOYMENT_CONFIG_KEYS];

/**
 * The adapter's part of a configuration file (the CDK app's shape: `adapter`, or top-level
 * `sources` / `identityResolution`, beside deployment keys). Any other top-level key is refused,
 * as the CDK app refuses it: a misspelt `sources` would otherwise run every source on its defaults.
 */
function adapterPart(doc: unknown, where: string): unknown {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return doc;
  const d = doc as Record<string, unknown>;
  const unknown = Object.keys(d).filter((k) => !ADAPTER_FILE_KEYS.includes(k));
  if (unknown.length > 0) {
    const lines = unknown.map((k) => {
      const guess = closestKey(k, ADAPTER_FILE_KEYS);
      return `unknown key "${k}"${guess ? ` (did you mean ${guess}?)` : ''}`;
    });
    throw new ConfigError(`${where}: ${lines.join('; ')}: the adapter's part is "sources" and "identityResolution" (or "adapter" holding them)`);
  }
  if (d.adapter !== undefined) {
    if (d.sources !== undefined || d.identityResolution !== undefined) {
      throw new ConfigError(`${where}: has both "adapter" and top-level "sources"/"identityResolution": use one`);
    }
    return d.adapter;
  }
  const out: Record<string, unknown> = {};
  if (d.sources !== undefined) out.sources = d.sources;
  if (d.identityResolution !== undefined) out.identityResolution = d.identityResolution;
  return out;
}

function parseJsonOrThrow(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ConfigError(`${where} is not valid JSON`);
  }
}

export interface SqsClientOptions {
  /** @default 3 */
  maxAttempts?: number;
  /** @default 2,000 */
  connectionTimeoutMs?: number;
  /** @default 5,000 */
  requestTimeoutMs?: number;
}

/** An SQS client; SQS_ENDPOINT points it at the local emulator (local run only). */
export function sqsClientFrom(env: NodeJS.ProcessEnv, options: SqsClientOptions = {}): SQSClient {
  const endpoint = env[ENV.sqsEndpoint];
  const requestHandler = { requestTimeout: options.requestTimeoutMs ?? 5_000, connectionTimeout: options.connectionTimeoutMs ?? 2_000 };
  const maxAttempts = options.maxAttempts ?? 3;
  if (endpoint) {
    return new SQSClient({
      endpoint,
      region: env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'local' },
      maxAttempts,
      requestHandler,
    });
  }
  return new SQSClient({ maxAttempts, requestHandler });
}

export function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${name} must be a positive integer, not ${v}`);
  return n;
}

/**
 * Builds a value from the environment once, and again only when the environment it was built
 * from changed (the local run and the tests start several pipelines in one process; a Lambda
 * container builds it once).
 */
export function cachedByEnv<T>(build: (env: NodeJS.ProcessEnv) => T, names: readonly string[]): (env: NodeJS.ProcessEnv) => T {
  let key: string | undefined;
  let value: T | undefined;
  return (env) => {
    const k = JSON.stringify(names.map((n) => env[n] ?? null));
    if (value === undefined || k !== key) {
      value = build(env);
      key = k;
    }
    return value;
  };
}
