/**
 * The CDK app's configuration: read from CDK context (`cdk.json` "context", or `-c key=value`)
 * and optionally from a JSON file (`-c configFile=path`), validated with zod.
 *
 * `-c` values always arrive as strings, so numbers and booleans are coerced and objects may be
 * given as JSON strings. Every validation message names the offending key path.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { adapterConfigSchema, formatIssues } from '../functions/core/config';
import { closestKey } from '../functions/core/suggest';
import { DATA_CENTERS, isDataCenter, resolveBaseUrl, type DataCenter } from '../functions/core/moengage/data-center';
import { BULK_IMPORT_LIMIT_PER_MINUTE, TRACK_USER_LIMIT_PER_MINUTE } from '../functions/core/moengage/limits';
import { MAX_SENDER_CONCURRENCY, MIN_SENDER_CONCURRENCY } from './concurrency';

export { DATA_CENTERS, type DataCenter };

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export const DEFAULT_STACK_NAME = 'MoEngageAdapter';

/** The one line printed when neither a data center nor a base URL is configured. */
export const MISSING_DC_MESSAGE = `Missing context moengageDc: pass -c moengageDc=01 (one of ${DATA_CENTERS.join(', ')})`;

/** A configuration problem: the message is one line per problem, each naming its key path. */
export class AppConfigError extends Error {
  override name = 'AppConfigError';
}

// ---------------------------------------------------------------------------------------------
// Coercion of `-c` strings
// ---------------------------------------------------------------------------------------------

function toNumber(value: unknown): unknown {
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return value;
}

function toBoolean(value: unknown): unknown {
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (v === 'true') return true;
    if (v === 'false') return false;
  }
  return value;
}

const int = (min: number, max: number) => z.preprocess(toNumber, z.number().int().min(min).max(max));
const bool = () => z.preprocess(toBoolean, z.boolean());
const httpsUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'https:' && !u.username && !u.password && !u.search && !u.hash;
    } catch {
      return false;
    }
  }, 'must be an https URL without credentials, query or fragment, e.g. https://hooks.example.com');

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

const certificateArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/, 'must be an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)');

export const ingressSchema = z
  .object({
    /** `functionUrl` (default): a Lambda Function URL. `httpApi`: an API Gateway HTTP API. */
    type: z.enum(['functionUrl', 'httpApi']).default('functionUrl'),
    /** HTTP API only: stage throttling. */
    throttling: z
      .object({
        /** Steady-state requests per second. */
        rateLimit: int(1, 1_000_000).default(500),
        /** Burst capacity (requests). */
        burstLimit: int(1, 1_000_000).default(1000),
      })
      .strict()
      .optional(),
    /** HTTP API only: a custom domain (the certificate must be in the stack's region). */
    customDomain: z
      .object({
        domainName: z
          .string()
          .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, 'must be a DNS name such as hooks.example.com'),
        certificateArn,
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.type === 'functionUrl' && (v.throttling || v.customDomain)) {
      ctx.addIssue({
        code: 'custom',
        path: ['type'],
        message: 'throttling and customDomain need the API Gateway ingress: set "type": "httpApi"',
      });
    }
  });
export type IngressConfig = z.output<typeof ingressSchema>;

/** `"httpApi"` is shorthand for `{ "type": "httpApi" }`. */
const ingress = z.preprocess((v) => (typeof v === 'string' && !v.trim().startsWith('{') ? { type: v.trim() } : v), ingressSchema);

const kmsKeyArn = z
  .string()
  .trim()
  .regex(
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
    'must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY_ID; aws kms describe-key --key-id alias/NAME prints it), not an alias or key id',
  );

const secretRef = z
  .string()
  .trim()
  .min(1)
  .refine(
    (v) => (v.startsWith('arn:') ? /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(v) : /^[A-Za-z0-9/_+=.@-]{1,512}$/.test(v)),
    'must be a Secrets Manager secret name or its full ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf)',
  );

/** The queue type when none is configured: bulk mode gathers full Bulk Import requests on a standard queue. */
export function defaultQueueType(deliveryMode: 'customer' | 'bulk'): 'fifo' | 'standard' {
  return deliveryMode === 'bulk' ? 'standard' : 'fifo';
}

/** Messages per sender invocation when none is configured: 100 (one Bulk Import request) in bulk mode on a standard queue, else 10. */
export function defaultBatchSize(deliveryMode: 'customer' | 'bulk', queueType: 'fifo' | 'standard'): number {
  return deliveryMode === 'bulk' && queueType === 'standard' ? 100 : 10;
}

export const appConfigSchema = z
  .object({
    /** CloudFormation stack name. */
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,99}$/, 'must start with a letter and hold only letters, digits and hyphens (at most 100)')
      .default(DEFAULT_STACK_NAME),
    /** MoEngage data center (required unless moengageBaseUrl is set). */
    moengageDc: z.enum(DATA_CENTERS).optional(),
    /** Send to this base URL instead of https://api-{DC}.moengage.com (a proxy). */
    moengageBaseUrl: z.string().trim().min(1).optional(),
    deliveryMode: z.enum(['customer', 'bulk']).default('customer'),
    /** `fifo`, or `standard`; absent: `standard` in bulk mode (full Bulk Import requests), else `fifo`. */
    queueType: z.enum(['fifo', 'standard']).optional(),
    /** Receives of one message before it goes to the DLQ. */
    maxReceiveCount: int(2, 1000).default(5),
    /** Messages per sender invocation (FIFO: at most 10); absent: 100 in bulk mode on a standard queue, else 10. */
    batchSize: int(1, 10_000).optional(),
    /** Standard queue only: seconds the event source waits to fill a batch. */
    maxBatchingWindowSeconds: int(0, 300).optional(),
    alarmEmail: z.email().optional(),
    ingress: ingress.default({ type: 'functionUrl' }),
    /** The public base URL providers post to, when it differs from the generated one (a proxy or CDN). */
    publicBaseUrl: httpsUrl.optional(),
    logRetentionDays: z
      .preprocess(toNumber, z.number())
      .refine((v) => (LOG_RETENTION_DAYS as readonly number[]).includes(v), `must be one of ${LOG_RETENTION_DAYS.join(', ')}`)
      .default(30),
    logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
    /** AWS X-Ray active tracing on both functions. */
    tracing: bool().default(false),
    receiverMemoryMb: int(128, 10_240).default(256),
    /** Absent: 128 in customer mode, 256 in bulk mode (lib/concurrency.ts defaultSenderMemoryMb). */
    senderMemoryMb: int(128, 10_240).optional(),
    receiverTimeoutSeconds: int(1, 60).default(10),
    senderTimeoutSeconds: int(5, 900).default(60),
    /** Concurrent MoEngage requests inside one sender invocation; absent: the batch size, at most 64. */
    senderParallelism: int(1, 64).optional(),
    /** The event source's maxConcurrency; derived from MoEngage's limits when absent. */
    senderMaxConcurrency: int(MIN_SENDER_CONCURRENCY, MAX_SENDER_CONCURRENCY).optional(),
    /** Expected MoEngage response time, used to derive the sender's concurrency. */
    expectedMoEngageLatencyMs: int(1, 60_000).default(300),
    /** Expected MoEngage 99th-percentile response time (ms); absent: 1,500 (or the median, if higher). */
    expectedMoEngageLatencyP99Ms: int(1, 600_000).optional(),
    /** Track User users per minute for the workspace. */
    rateLimitPerMinute: int(1, 10_000_000).default(TRACK_USER_LIMIT_PER_MINUTE),
    /** Bulk Import users per minute for the workspace. */
    bulkRateLimitPerMinute: int(1, 10_000_000).default(BULK_IMPORT_LIMIT_PER_MINUTE),
    /** MoEngage request timeout (ms); the sender's default (10 s) when absent. */
    moengageTimeoutMs: int(100, 60_000).optional(),
    /** What happens to the main queue and the DLQ when they leave the stack (cdk destroy, a replacement). */
    queueRemovalPolicy: z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(['retain', 'destroy'])).default('retain'),
    /** Where the repository's files are browsable: alarm descriptions link to <runbookBaseUrl>/docs/runbook.md#<alarm>. */
    runbookBaseUrl: z.string().trim().min(1).optional(),
    /** QueueBacklogOld fires when the oldest message is older than this. */
    queueAgeAlarmMinutes: int(1, 20_160).default(15),
    /** Use this existing MoEngage credentials secret (name or full ARN) instead of creating one. */
    existingMoEngageSecret: secretRef.optional(),
    /** Use this existing signing-secrets secret (name or full ARN) instead of creating one. */
    existingSigningSecret: secretRef.optional(),
    /** The customer-managed KMS key of the existing secrets: both function roles get kms:Decrypt through Secrets Manager. */
    existingSecretsKmsKeyArn: kmsKeyArn.optional(),
    /** Reserved concurrency of the receiver (a ceiling against request floods); none by default. */
    receiverReservedConcurrency: int(1, 100_000).optional(),
    /** The sender's per-user state table (DynamoDB): versions, tombstones, applied event ids. */
    stateStore: bool().default(true),
    /** Days a user's state, tombstone and applied event ids are kept (the replay window); 7 when absent. */
    stateRetentionDays: int(1, 365).optional(),
    /** The adapter configuration (functions/core/config.ts): sources, mapping, identity resolution. */
    adapter: adapterConfigSchema.default({ sources: {} }),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.moengageBaseUrl !== undefined) {
      try {
        resolveBaseUrl({ baseUrl: c.moengageBaseUrl });
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['moengageBaseUrl'], message: (err as Error).message.replace(/^MOENGAGE_BASE_URL /, '') });
      }
    }
    const queueType = c.queueType ?? defaultQueueType(c.deliveryMode);
    const batchSize = c.batchSize ?? defaultBatchSize(c.deliveryMode, queueType);
    if (c.expectedMoEngageLatencyP99Ms !== undefined && c.expectedMoEngageLatencyP99Ms < c.expectedMoEngageLatencyMs) {
      ctx.addIssue({ code: 'custom', path: ['expectedMoEngageLatencyP99Ms'], message: 'must be at least expectedMoEngageLatencyMs (the median)' });
    }
    if (queueType === 'fifo') {
      if (batchSize > 10) ctx.addIssue({ code: 'custom', path: ['batchSize'], message: 'a FIFO queue delivers at most 10 messages per batch' });
      if (c.maxBatchingWindowSeconds !== undefined && c.maxBatchingWindowSeconds > 0) {
        ctx.addIssue({ code: 'custom', path: ['maxBatchingWindowSeconds'], message: 'a FIFO event source has no batching window: use queueType "standard"' });
      }
    } else if (batchSize > 10 && (c.maxBatchingWindowSeconds ?? 1) < 1) {
      ctx.addIssue({ code: 'custom', path: ['maxBatchingWindowSeconds'], message: 'a batch size above 10 needs a batching window of at least 1 second' });
    }
    if (c.ingress.type === 'httpApi' && c.receiverTimeoutSeconds > 29) {
      ctx.addIssue({ code: 'custom', path: ['receiverTimeoutSeconds'], message: 'API Gateway waits at most 29 seconds for the receiver: use at most 29 with the httpApi ingress' });
    }
    if (c.existingSecretsKmsKeyArn !== undefined && c.existingMoEngageSecret === undefined && c.existingSigningSecret === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['existingSecretsKmsKeyArn'],
        message: 'the secrets this stack creates use the AWS managed key aws/secretsmanager: pass it only with existingMoEngageSecret or existingSigningSecret',
      });
    }
    if (!c.stateStore && c.stateRetentionDays !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['stateRetentionDays'], message: 'there is no state to keep with stateStore false: drop stateRetentionDays or set stateStore true' });
    }
    if (c.existingMoEngageSecret !== undefined && c.existingMoEngageSecret === c.existingSigningSecret) {
      ctx.addIssue({ code: 'custom', path: ['existingSigningSecret'], message: 'must be a different secret than existingMoEngageSecret' });
    }
  });

export type AppConfig = z.output<typeof appConfigSchema>;
export type AppConfigInput = z.input<typeof appConfigSchema>;

/** Every context key the app reads (besides `configFile`). */
export const APP_CONFIG_KEYS = Object.keys(appConfigSchema.shape) as (keyof AppConfig)[];

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

export interface LoadAppConfigOptions {
  /** Reads the configFile (default: fs.readFileSync, utf8). */
  readFile?: (path: string) => string;
  /** Directory a relative configFile is resolved against (default: process.cwd()). */
  cwd?: string;
  /**
   * Every context key present (e.g. `Object.keys(app.node.getAllContext())`): a plain key that
   * the app does not know (a typo such as `maxRecieveCount`) is reported instead of ignored.
   * Keys holding `:`, `@` or `/` (feature flags, CDK's own, lookups) are never reported.
   */
  contextKeys?: readonly string[];
  /**
   * A missing data center is no problem (a command that deploys nothing, such as `cdk bootstrap`,
   * runs the app too). An invalid one still is. @default false
   */
  dataCenterOptional?: boolean;
}

function unknownKeyProblem(key: string): string {
  const known = [...APP_CONFIG_KEYS, 'configFile'];
  const best = closestKey(key, known);
  const hint = best ? ` (did you mean ${best}?)` : '';
  return `Unknown context key ${key}${hint}: known keys are ${known.join(', ')}`;
}

const OBJECT_KEYS = new Set<string>(['adapter', 'ingress']);

/** Data center: numbers from cdk.json (1, 101) become "01", "101"; strings are taken as given. */
function normalizeDc(value: unknown): unknown {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value < 10 ? `0${value}` : String(value);
  if (typeof value === 'string') return value.trim();
  return value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a configFile: deployment keys at the top, the adapter part as `adapter` or as top-level `sources` / `identityResolution`. */
function readConfigFile(path: string, options: LoadAppConfigOptions): Record<string, unknown> {
  const full = resolve(options.cwd ?? process.cwd(), path);
  let text: string;
  try {
    text = (options.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(full);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AppConfigError(`Invalid context configFile: cannot read ${full}${code ? ` (${code})` : ''}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text) as unknown;
  } catch (err) {
    throw new AppConfigError(`Invalid context configFile: ${full} is not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(doc)) throw new AppConfigError(`Invalid context configFile: ${full} must hold a JSON object`);
  const { sources, identityResolution, $schema: _schema, ...rest } = doc;
  void _schema;
  if (sources !== undefined || identityResolution !== undefined) {
    if (rest.adapter !== undefined) {
      throw new AppConfigError(`Invalid configuration adapter: ${full} has both "adapter" and top-level "sources"/"identityResolution": use one`);
    }
    rest.adapter = {
      ...(sources !== undefined ? { sources } : {}),
      ...(identityResolution !== undefined ? { identityResolution } : {}),
    };
  }
  return rest;
}

/**
 * Builds the app configuration from CDK context. `getContext` is usually
 * `(key) => app.node.tryGetContext(key)`.
 *
 * Precedence: schema defaults < configFile < context keys. A context key replaces the file's
 * value whole (objects such as `adapter` are not merged).
 *
 * @throws AppConfigError with one line per problem, each naming the key path.
 */
export function loadAppConfig(getContext: (key: string) => unknown, options: LoadAppConfigOptions = {}): AppConfig {
  const configFile = getContext('configFile');
  const raw: Record<string, unknown> =
    typeof configFile === 'string' && configFile.trim() !== '' ? readConfigFile(configFile.trim(), options) : {};
  if (configFile !== undefined && typeof configFile !== 'string') {
    throw new AppConfigError('Invalid context configFile: must be a path to a JSON file');
  }

  const problems: string[] = [];
  const known = new Set<string>([...APP_CONFIG_KEYS, 'configFile']);
  for (const key of options.contextKeys ?? []) {
    if (/^[A-Za-z][A-Za-z0-9_]*$/.test(key) && !known.has(key)) problems.push(unknownKeyProblem(key));
  }
  for (const key of APP_CONFIG_KEYS) {
    const value = getContext(key);
    if (value === undefined) continue;
    if (OBJECT_KEYS.has(key) && typeof value === 'string' && value.trim().startsWith('{')) {
      try {
        raw[key] = JSON.parse(value) as unknown;
      } catch (err) {
        problems.push(`Invalid context ${key}: not valid JSON (${(err as Error).message})`);
      }
      continue;
    }
    raw[key] = value;
  }
  if (raw.moengageDc !== undefined) raw.moengageDc = normalizeDc(raw.moengageDc);

  // The data center gets its own, exact one-line message.
  const dc = raw.moengageDc;
  const hasBaseUrl = typeof raw.moengageBaseUrl === 'string' && raw.moengageBaseUrl.trim() !== '';
  if (dc === undefined || dc === '') {
    if (!hasBaseUrl && !options.dataCenterOptional) problems.push(MISSING_DC_MESSAGE);
    delete raw.moengageDc;
  } else if (typeof dc !== 'string' || !isDataCenter(dc)) {
    const shown = String(dc).replace(/[^\x20-\x7e]/g, '?').slice(0, 24);
    const hint = /^[1-6]$/.test(shown) ? ` (did you mean 0${shown}?)` : '';
    problems.push(`Invalid context moengageDc "${shown}"${hint}: pass -c moengageDc=01 (one of ${DATA_CENTERS.join(', ')})`);
    delete raw.moengageDc;
  }

  const result = appConfigSchema.safeParse(raw);
  if (!result.success) {
    problems.push(
      ...formatIssues(result.error, '', appConfigSchema)
        .split('\n')
        .map((line) => `Invalid configuration ${line}`),
    );
  }
  if (problems.length > 0 || !result.success) throw new AppConfigError(problems.join('\n'));
  return result.data;
}

/** Parses an already-assembled configuration object (tests, programmatic use). */
export function parseAppConfig(input: AppConfigInput | Record<string, unknown>): AppConfig {
  return loadAppConfig((key) => (input as Record<string, unknown>)[key]);
}

