/**
 * Where the handlers get their secrets: Secrets Manager when deployed (read through Powertools
 * Parameters, kept parsed for 5 minutes, re-read on demand), the environment in the local run.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { ConfigError, type SourceName } from '../core/config';
import { ENV } from '../core/names';
import type { MoEngageCredentials } from '../core/moengage/client';

/** Seconds a secret value is reused before Secrets Manager is asked again. */
const SECRET_MAX_AGE_SECONDS = 300;

/**
 * The sender re-reads the MoEngage secret after a 401 at most once per this window per
 * container: a batch of 401s (or several concurrent calls) costs one GetSecretValue, not one
 * or two per message, and a key rotated in the meantime is still picked up within seconds.
 */
export const CREDENTIALS_REFRESH_INTERVAL_MS = 30_000;

/**
 * The receiver re-reads the signing secrets after a signature failure at most once per this
 * window per container: a rotated secret is picked up before the 5-minute cache expires, and
 * forged requests cannot drive Secrets Manager calls (or their cost) beyond one a minute.
 */
export const SIGNING_SECRETS_REFRESH_INTERVAL_MS = 60_000;

/** Options of the Secrets Manager-backed providers (tests inject the clock). */
export interface SecretsProviderOptions {
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** The minimum interval between two forced re-reads. @default per provider (30 s / 60 s) */
  minRefreshIntervalMs?: number;
}

/** Concurrent callers share one pending call of `fn` (Powertools' cache does not join in-flight reads). */
function shared<T>(fn: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => {
    if (inFlight) return inFlight;
    const p = fn();
    inFlight = p;
    const clear = () => {
      if (inFlight === p) inFlight = undefined;
    };
    p.then(clear, clear);
    return p;
  };
}

/**
 * At most one forced re-read per interval, shared by concurrent callers. `run()` returns the
 * re-read's result, or undefined when a re-read happened (started) less than the interval ago.
 * A failed re-read counts too: a Secrets Manager outage is not retried on every request.
 */
function throttledRefresh<T>(read: () => Promise<T>, intervalMs: number, now: () => number): () => Promise<T | undefined> {
  let lastStart: number | undefined;
  let inFlight: Promise<T> | undefined;
  return () => {
    if (inFlight) return inFlight;
    const t = now();
    if (lastStart !== undefined && t - lastStart < intervalMs) return Promise.resolve(undefined);
    lastStart = t;
    const p = read();
    inFlight = p;
    const clear = () => {
      if (inFlight === p) inFlight = undefined;
    };
    p.then(clear, clear);
    return p;
  };
}

/** The environment variable of each source's signing secret in the local run (contract.md). */
export const SIGNING_SECRET_ENV: Record<SourceName, string> = {
  clerk: 'CLERK_WEBHOOK_SECRET',
  stripe: 'STRIPE_WEBHOOK_SECRET',
  shopify: 'SHOPIFY_WEBHOOK_SECRET',
  workos: 'WORKOS_WEBHOOK_SECRET',
  auth0: 'AUTH0_WEBHOOK_TOKEN',
  segment: 'SEGMENT_WEBHOOK_SECRET',
  standard: 'STANDARD_WEBHOOK_SECRET',
};

/**
 * Returns every configured secret of a source (several during a rotation); [] when none. A list
 * at hand (read less than 5 minutes ago, or from the environment) comes as it is, without a
 * promise: awaiting one cost about 3 % of a webhook's receiver CPU (figure 1 of `npm run bench`,
 * in-process A/B on Node 24.21), for the one webhook in thousands that waits for a read.
 */
export interface SigningSecrets {
  (source: SourceName): readonly string[] | Promise<readonly string[]>;
  /**
   * Re-reads the secrets now (after a signature failure: a secret rotated less than 5 minutes
   * ago is not in the cache yet) and returns the source's fresh list, or undefined when they
   * were re-read less than SIGNING_SECRETS_REFRESH_INTERVAL_MS ago. Absent where nothing can
   * change at run time (the local run's environment variables).
   */
  refresh?: (source: SourceName) => Promise<readonly string[] | undefined>;
}

/** A list of secrets: one string, or several separated by commas or whitespace (rotation). */
export function splitSecrets(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(splitSecrets);
  if (typeof value !== 'string') return [];
  return value
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function signingSecretsFromEnv(env: NodeJS.ProcessEnv): SigningSecrets {
  return (source) => splitSecrets(env[SIGNING_SECRET_ENV[source]]);
}

/** The secret documents' schemas, built on first use (importing this module builds nothing). */
function buildSecretSchemas() {
  return {
    signingSecrets: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
    credentials: z.object({ workspaceId: z.string().check(z.minLength(1)), apiKey: z.string().check(z.minLength(1)) }),
  };
}

let secretSchemas: ReturnType<typeof buildSecretSchemas> | undefined;

function schemas(): ReturnType<typeof buildSecretSchemas> {
  return (secretSchemas ??= buildSecretSchemas());
}

/**
 * A secret's value, read from Secrets Manager and parsed (`parse`), kept for
 * SECRET_MAX_AGE_SECONDS from its read: while fresh, `get()` costs a clock read and answers
 * without a promise, not Powertools' lookup plus JSON.parse and a schema check of the document
 * again (about 2 µs a webhook on Node 24, against 0.1 µs: figure 1 of `npm run bench` reads the
 * signing secrets through this). Once stale, the next caller reads it again; concurrent callers
 * share that read. `refresh()` reads it now (at most once per `refreshIntervalMs`, see
 * throttledRefresh) and keeps what it read; undefined when throttled.
 *
 * The only cache of the value: Powertools reads with maxAge 0 (it stores nothing). Two caches of
 * the same age, one under the other, would keep a value up to twice as long when a read falls
 * between their expiries (the outer one stale, the inner one still answering the old document),
 * and a removed signing secret would verify for up to 10 minutes.
 */
function secretValue<T>(
  secretId: string,
  client: SecretsManagerClient | undefined,
  parse: (raw: unknown) => T,
  refreshIntervalMs: number,
  now: () => number,
): { get: () => T | Promise<T>; refresh: () => Promise<T | undefined> } {
  const secrets = new SecretsProvider({ awsSdkV3Client: client ?? secretsManagerClient({}) });
  const read = async () => parse(await secrets.get(secretId, { maxAge: 0 }));
  let value: T | undefined;
  let until = Number.NEGATIVE_INFINITY;
  const keep = (v: T) => {
    value = v;
    until = now() + SECRET_MAX_AGE_SECONDS * 1000;
    return v;
  };
  const load = shared(async () => keep(await read()));
  return {
    get: () => (now() < until ? (value as T) : load()),
    refresh: throttledRefresh(async () => keep(await read()), refreshIntervalMs, now),
  };
}

/**
 * Deployed: one JSON secret `{ "clerk": "whsec_...", "stripe": ["whsec_new", "whsec_old"], ... }`.
 * Cached for SECRET_MAX_AGE_SECONDS per container.
 */
export function signingSecretsFromSecretsManager(secretId: string, client?: SecretsManagerClient, options: SecretsProviderOptions = {}): SigningSecrets {
  const value = secretValue(secretId, client, signingSecretLists, options.minRefreshIntervalMs ?? SIGNING_SECRETS_REFRESH_INTERVAL_MS, options.now ?? Date.now);
  const get: SigningSecrets = (source) => {
    const lists = value.get();
    return lists instanceof Promise ? lists.then((l) => listOf(l, source)) : listOf(lists, source);
  };
  get.refresh = async (source) => {
    const lists = await value.refresh();
    return lists === undefined ? undefined : listOf(lists, source);
  };
  return get;
}

/** Each source's secrets of a signing-secrets document, made once per read of it. */
type SecretLists = ReadonlyMap<string, readonly string[]>;

/**
 * The signing-secrets document's lists. In it a list is the rotation form: strings are taken
 * whole (a token may hold spaces).
 */
function signingSecretLists(raw: unknown): SecretLists {
  const doc = schemas().signingSecrets.safeParse(parseJson(raw));
  if (!doc.success) throw new ConfigError('the signing-secrets secret is not a JSON object of source -> secret(s)');
  const lists = new Map<string, readonly string[]>();
  for (const [source, value] of Object.entries(doc.data)) {
    lists.set(source, Object.freeze((Array.isArray(value) ? value : [value]).filter((s) => s.trim().length > 0)));
  }
  return lists;
}

const NONE: readonly string[] = Object.freeze([]);

function listOf(lists: SecretLists, source: SourceName): readonly string[] {
  return lists.get(source) ?? NONE;
}

/** SECRET_REFRESH_INTERVAL_MS (tests only: rotation scenarios seconds apart); undefined: the provider's default. */
function refreshOptions(env: NodeJS.ProcessEnv): SecretsProviderOptions {
  const v = env[ENV.secretRefreshIntervalMs];
  if (v === undefined || v === '') return {};
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${ENV.secretRefreshIntervalMs} must be a non-negative integer, not ${v}`);
  return { minRefreshIntervalMs: n };
}

export function signingSecretsFrom(env: NodeJS.ProcessEnv, client?: SecretsManagerClient): SigningSecrets {
  const arn = env.SIGNING_SECRETS_ARN;
  return arn ? signingSecretsFromSecretsManager(arn, client, refreshOptions(env)) : signingSecretsFromEnv(env);
}

/**
 * MoEngage credentials, cached; `refresh()` re-reads them (after a 401, a rotated key is picked
 * up). Deployed, `refresh()` asks Secrets Manager at most once per CREDENTIALS_REFRESH_INTERVAL_MS
 * per container (concurrent callers share that read); within the interval it answers the value
 * the last re-read got.
 */
export interface CredentialsProvider {
  get(): Promise<MoEngageCredentials>;
  refresh(): Promise<MoEngageCredentials>;
}

function parseJson(raw: unknown): unknown {
  if (typeof raw !== 'string') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

function moEngageCredentials(raw: unknown): MoEngageCredentials {
  const parsed = schemas().credentials.safeParse(parseJson(raw));
  if (!parsed.success) throw new ConfigError('the MoEngage secret must be JSON {"workspaceId": "...", "apiKey": "..."}');
  return parsed.data;
}

export function credentialsFromSecretsManager(secretId: string, client?: SecretsManagerClient, options: SecretsProviderOptions = {}): CredentialsProvider {
  // Concurrent calls (senderParallelism) share one read: a cold cache is filled by one call.
  const value = secretValue(secretId, client, moEngageCredentials, options.minRefreshIntervalMs ?? CREDENTIALS_REFRESH_INTERVAL_MS, options.now ?? Date.now);
  return {
    get: async () => value.get(),
    // Within the interval: the cached value, which is what the last re-read got (or older, if
    // that re-read failed: then the caller's retry goes through SQS as before).
    refresh: async () => (await value.refresh()) ?? value.get(),
  };
}

export function credentialsFromEnv(env: NodeJS.ProcessEnv): CredentialsProvider {
  const read = async () => {
    const parsed = schemas().credentials.safeParse({ workspaceId: env.MOENGAGE_WORKSPACE_ID, apiKey: env.MOENGAGE_API_KEY });
    if (!parsed.success) throw new ConfigError('set MOENGAGE_WORKSPACE_ID and MOENGAGE_API_KEY (or MOENGAGE_SECRET_ARN)');
    return parsed.data;
  };
  return { get: read, refresh: read };
}

export function credentialsFrom(env: NodeJS.ProcessEnv, client?: SecretsManagerClient): CredentialsProvider {
  const arn = env.MOENGAGE_SECRET_ARN;
  return arn ? credentialsFromSecretsManager(arn, client, refreshOptions(env)) : credentialsFromEnv(env);
}

/** A Secrets Manager client honouring SECRETS_MANAGER_ENDPOINT (local emulation only). */
export function secretsManagerClient(env: NodeJS.ProcessEnv): SecretsManagerClient {
  const endpoint = env.SECRETS_MANAGER_ENDPOINT;
  // Bounded, so that a slow Secrets Manager yields the receiver's 503 rather than a Lambda timeout.
  const requestHandler = { requestTimeout: 3_000, connectionTimeout: 1_000 };
  return endpoint
    ? new SecretsManagerClient({ endpoint, region: env.AWS_REGION ?? 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 2, requestHandler })
    : new SecretsManagerClient({ maxAttempts: 2, requestHandler });
}
