/**
 * Where the handlers get their secrets: Secrets Manager when deployed (cached with a TTL by
 * Powertools Parameters, re-read on demand), the environment in the local run.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { ConfigError, SOURCE_NAMES, type SourceName } from '../core/config';
import type { MoEngageCredentials } from '../core/moengage/client';

/** Seconds a secret value is reused before Secrets Manager is asked again. */
export const SECRET_MAX_AGE_SECONDS = 300;

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

/** Returns every configured secret of a source (several during a rotation); [] when none. */
export type SigningSecrets = (source: SourceName) => Promise<string[]>;

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
  return async (source) => splitSecrets(env[SIGNING_SECRET_ENV[source]]);
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

function provider(client?: SecretsManagerClient): SecretsProvider {
  return new SecretsProvider({ awsSdkV3Client: client ?? secretsManagerClient({}) });
}

/**
 * Deployed: one JSON secret `{ "clerk": "whsec_...", "stripe": ["whsec_new", "whsec_old"], ... }`.
 * Cached for SECRET_MAX_AGE_SECONDS per container.
 */
export function signingSecretsFromSecretsManager(secretId: string, client?: SecretsManagerClient): SigningSecrets {
  const secrets = provider(client);
  return async (source) => {
    const raw = await secrets.get(secretId, { maxAge: SECRET_MAX_AGE_SECONDS });
    const doc = schemas().signingSecrets.safeParse(parseJson(raw));
    if (!doc.success) throw new ConfigError('the signing-secrets secret is not a JSON object of source -> secret(s)');
    // In the JSON document a list is the rotation form: strings are taken whole (a token may hold spaces).
    const value = doc.data[source];
    const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
    return list.filter((s) => s.trim().length > 0);
  };
}

export function signingSecretsFrom(env: NodeJS.ProcessEnv, client?: SecretsManagerClient): SigningSecrets {
  const arn = env.SIGNING_SECRETS_ARN;
  return arn ? signingSecretsFromSecretsManager(arn, client) : signingSecretsFromEnv(env);
}

/** MoEngage credentials, cached; `refresh()` re-reads them (after a 401, a rotated key is picked up). */
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

export function credentialsFromSecretsManager(secretId: string, client?: SecretsManagerClient): CredentialsProvider {
  const secrets = provider(client);
  const read = async (forceFetch: boolean) => {
    const raw = await secrets.get(secretId, { maxAge: SECRET_MAX_AGE_SECONDS, forceFetch });
    const parsed = schemas().credentials.safeParse(parseJson(raw));
    if (!parsed.success) {
      throw new ConfigError('the MoEngage secret must be JSON {"workspaceId": "...", "apiKey": "..."}');
    }
    return parsed.data;
  };
  return { get: () => read(false), refresh: () => read(true) };
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
  return arn ? credentialsFromSecretsManager(arn, client) : credentialsFromEnv(env);
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

export { SOURCE_NAMES };
