/**
 * A small AWS Secrets Manager emulator (node:http, 127.0.0.1 only) speaking the AWS JSON 1.1
 * protocol the SDK uses: `POST /` with `X-Amz-Target: secretsmanager.<Operation>` and a JSON
 * body; answers shaped like AWS's (epoch-second timestamps, `__type` errors with
 * `x-amzn-ErrorType`), so that @aws-sdk/client-secrets-manager and Powertools'
 * SecretsProvider accept them. Point a client at it with `endpoint` (the handlers read
 * SECRETS_MANAGER_ENDPOINT).
 *
 * Operations: CreateSecret, GetSecretValue, PutSecretValue, DescribeSecret. Versions carry
 * staging labels the way Secrets Manager moves them: a new AWSCURRENT version pushes the
 * previous one to AWSPREVIOUS. ClientRequestToken is the version id (idempotent retries;
 * the same token with another value is a ResourceExistsException).
 *
 * Used by the credential-rotation tests. Secret values are never logged nor put in errors.
 * Signatures are not verified (any SigV4-signed request is accepted); an unsigned one is not.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

const SECRETS_MANAGER_TARGET_PREFIX = 'secretsmanager.';
const JSON_11 = 'application/x-amz-json-1.1';
/** Secrets Manager's largest secret value. */
const MAX_SECRET_BYTES = 65_536;
/** Requests larger than this are refused without being parsed. */
const MAX_REQUEST_BYTES = 1024 * 1024;

export type SecretsManagerOperation = 'CreateSecret' | 'GetSecretValue' | 'PutSecretValue' | 'DescribeSecret';
const OPERATIONS: readonly SecretsManagerOperation[] = ['CreateSecret', 'GetSecretValue', 'PutSecretValue', 'DescribeSecret'];

const STAGE_CURRENT = 'AWSCURRENT';
const STAGE_PREVIOUS = 'AWSPREVIOUS';

/** A secret value: a string, bytes, or an object (stored as its JSON text). */
export type SecretValue = string | Uint8Array | Record<string, unknown>;

export interface SecretsManagerEmulatorOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Region used in ARNs. Default us-east-1. */
  region?: string;
  /** Account used in ARNs. Default 000000000000. */
  accountId?: string;
  /** Injectable clock (epoch ms). */
  now?: () => number;
  /** Injectable version ids (when the request carries no ClientRequestToken). Default randomUUID. */
  versionId?: () => string;
  /** Injectable 6-character ARN suffix. Default random. */
  arnSuffix?: () => string;
  /** One line per request: operation, secret name, status. Never values. Default: silent. */
  log?: (line: string) => void;
}

export interface SecretsManagerCall {
  operation: string;
  /** The SecretId / Name of the request, as sent. */
  secretId?: string;
  status: number;
  /** The error type when status is not 200. */
  error?: string;
  at: number;
}

export interface SecretRef {
  arn: string;
  name: string;
  versionId: string;
}

export interface SecretsManagerEmulator {
  /** `http://127.0.0.1:PORT`: the SECRETS_MANAGER_ENDPOINT. */
  readonly url: string;
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  /** Every API request, in arrival order (no values). */
  readonly calls: readonly SecretsManagerCall[];
  /** Calls of one operation, optionally for one secret (name or ARN). */
  count(operation: SecretsManagerOperation, secretId?: string): number;
  /** Creates a secret directly (same rules as CreateSecret). */
  createSecret(name: string, value: SecretValue, options?: { description?: string }): SecretRef;
  /** Stores a new AWSCURRENT version directly (same rules as PutSecretValue). */
  putSecretValue(secretId: string, value: SecretValue): SecretRef;
  /** The AWSCURRENT string value, or undefined. */
  currentString(secretId: string): string | undefined;
  /** `true`: every API request answers 500 InternalServiceError (Secrets Manager unavailable). */
  setUnavailable(unavailable: boolean): void;
  close(): Promise<void>;
}

/** An error answered the AWS way. */
class SecretsManagerError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

interface Version {
  id: string;
  string?: string;
  binary?: Buffer;
  createdAt: number;
  stages: Set<string>;
}

interface Secret {
  name: string;
  arn: string;
  description?: string;
  createdAt: number;
  lastChangedAt: number;
  lastAccessedAt?: number;
  versions: Map<string, Version>;
}

const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const TOKEN = /^[A-Za-z0-9-]{32,64}$/;
const STAGE = /^[A-Za-z0-9_.@-]{1,256}$/;
const ARN_SUFFIX_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function defaultArnSuffix(): string {
  const bytes = randomBytes(6);
  let s = '';
  for (const b of bytes) s += ARN_SUFFIX_CHARS[b % ARN_SUFFIX_CHARS.length];
  return s;
}

/** Epoch seconds with milliseconds, the awsJson1_1 timestamp format. */
function epochSeconds(ms: number): number {
  return Math.round(ms) / 1000;
}

function startOfDayUtc(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalString(input: Record<string, unknown>, key: string): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new SecretsManagerError('InvalidParameterException', `${key} must be a string`);
  return v;
}

function requiredString(input: Record<string, unknown>, key: string): string {
  const v = optionalString(input, key);
  if (v === undefined || v === '') {
    throw new SecretsManagerError('ValidationException', `1 validation error detected: Value null at '${lowerFirst(key)}' failed to satisfy constraint: Member must not be null`);
  }
  return v;
}

function lowerFirst(s: string): string {
  return s.slice(0, 1).toLowerCase() + s.slice(1);
}

interface ValueInput {
  string?: string;
  binary?: Buffer;
}

function valueFromRequest(input: Record<string, unknown>): ValueInput | undefined {
  const s = optionalString(input, 'SecretString');
  const b = optionalString(input, 'SecretBinary');
  if (s !== undefined && b !== undefined) {
    throw new SecretsManagerError('InvalidParameterException', "You can't specify both a binary secret value and a string secret value in the same secret.");
  }
  if (s !== undefined) return checkSize({ string: s });
  if (b !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b)) throw new SecretsManagerError('InvalidParameterException', 'SecretBinary must be base64-encoded.');
    return checkSize({ binary: Buffer.from(b, 'base64') });
  }
  return undefined;
}

function valueFromApi(value: SecretValue): ValueInput {
  if (typeof value === 'string') return checkSize({ string: value });
  if (value instanceof Uint8Array) return checkSize({ binary: Buffer.from(value) });
  return checkSize({ string: JSON.stringify(value) });
}

function checkSize(v: ValueInput): ValueInput {
  const size = v.string !== undefined ? Buffer.byteLength(v.string, 'utf8') : (v.binary?.length ?? 0);
  if (size > MAX_SECRET_BYTES) throw new SecretsManagerError('InvalidParameterException', `The secret value can't be larger than ${MAX_SECRET_BYTES} bytes.`);
  return v;
}

function sameValue(version: Version, v: ValueInput): boolean {
  if (v.string !== undefined) return version.string === v.string;
  if (v.binary !== undefined) return version.binary !== undefined && version.binary.equals(v.binary);
  return version.string === undefined && version.binary === undefined;
}

export async function startSecretsManagerEmulator(options: SecretsManagerEmulatorOptions = {}): Promise<SecretsManagerEmulator> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const now = options.now ?? Date.now;
  const newVersionId = options.versionId ?? randomUUID;
  const arnSuffix = options.arnSuffix ?? defaultArnSuffix;
  const log = options.log ?? (() => {});

  const secrets = new Map<string, Secret>();
  const calls: SecretsManagerCall[] = [];
  let unavailable = false;
  const sockets = new Set<Socket>();

  function find(secretId: string): Secret {
    const byName = secrets.get(secretId);
    if (byName) return byName;
    for (const s of secrets.values()) {
      // A full ARN, or a partial ARN (without the random 6-character suffix).
      if (s.arn === secretId || s.arn.slice(0, -7) === secretId) return s;
    }
    throw new SecretsManagerError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  }

  function lookup(secretId: string): Secret | undefined {
    try {
      return find(secretId);
    } catch {
      return undefined;
    }
  }

  /** Moves `stage` to `version` (removing it from every other version). */
  function attachStage(secret: Secret, version: Version, stage: string): void {
    for (const v of secret.versions.values()) if (v !== version) v.stages.delete(stage);
    version.stages.add(stage);
  }

  /** Adds a version (or returns the existing one for a retried token); stages default to AWSCURRENT. */
  function addVersion(secret: Secret, value: ValueInput, token: string | undefined, stages: readonly string[] | undefined): Version {
    if (token !== undefined && !TOKEN.test(token)) {
      throw new SecretsManagerError('InvalidParameterException', 'ClientRequestToken must be 32 to 64 characters: letters, digits and hyphens.');
    }
    const id = token ?? newVersionId();
    const existing = secret.versions.get(id);
    if (existing) {
      if (sameValue(existing, value)) return existing;
      throw new SecretsManagerError('ResourceExistsException', 'A resource with the ID you requested already exists.');
    }
    const labels = stages ?? [STAGE_CURRENT];
    for (const l of labels) if (!STAGE.test(l)) throw new SecretsManagerError('InvalidParameterException', 'Invalid VersionStages value.');
    const at = now();
    const version: Version = { id, ...value, createdAt: at, stages: new Set() };
    const current = [...secret.versions.values()].find((v) => v.stages.has(STAGE_CURRENT));
    secret.versions.set(id, version);
    for (const l of labels) attachStage(secret, version, l);
    if (labels.includes(STAGE_CURRENT) && current && current !== version) attachStage(secret, current, STAGE_PREVIOUS);
    secret.lastChangedAt = at;
    return version;
  }

  function create(name: string, value: ValueInput | undefined, token: string | undefined, description: string | undefined): { secret: Secret; version?: Version } {
    if (!NAME.test(name)) throw new SecretsManagerError('InvalidParameterException', 'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!');
    if (secrets.has(name)) throw new SecretsManagerError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    const at = now();
    const secret: Secret = {
      name,
      arn: `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${arnSuffix()}`,
      ...(description !== undefined ? { description } : {}),
      createdAt: at,
      lastChangedAt: at,
      versions: new Map(),
    };
    const version = value ? addVersion(secret, value, token, undefined) : undefined;
    secrets.set(name, secret);
    return { secret, ...(version ? { version } : {}) };
  }

  function selectVersion(secret: Secret, versionId: string | undefined, stage: string | undefined): Version {
    if (versionId !== undefined) {
      const v = secret.versions.get(versionId);
      if (!v || (stage !== undefined && !v.stages.has(stage))) {
        throw new SecretsManagerError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
      }
      return v;
    }
    const label = stage ?? STAGE_CURRENT;
    for (const v of secret.versions.values()) if (v.stages.has(label)) return v;
    throw new SecretsManagerError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${label}`);
  }

  const operations: Record<SecretsManagerOperation, (input: Record<string, unknown>) => Record<string, unknown>> = {
    CreateSecret(input) {
      const name = requiredString(input, 'Name');
      const { secret, version } = create(name, valueFromRequest(input), optionalString(input, 'ClientRequestToken'), optionalString(input, 'Description'));
      return { ARN: secret.arn, Name: secret.name, ...(version ? { VersionId: version.id } : {}) };
    },
    GetSecretValue(input) {
      const secret = find(requiredString(input, 'SecretId'));
      const version = selectVersion(secret, optionalString(input, 'VersionId'), optionalString(input, 'VersionStage'));
      secret.lastAccessedAt = startOfDayUtc(now());
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.id,
        ...(version.string !== undefined ? { SecretString: version.string } : {}),
        ...(version.binary !== undefined ? { SecretBinary: version.binary.toString('base64') } : {}),
        VersionStages: [...version.stages],
        CreatedDate: epochSeconds(version.createdAt),
      };
    },
    PutSecretValue(input) {
      const secret = find(requiredString(input, 'SecretId'));
      const value = valueFromRequest(input);
      if (!value) throw new SecretsManagerError('InvalidRequestException', 'You must provide either SecretString or SecretBinary.');
      const rawStages = input.VersionStages;
      let stages: string[] | undefined;
      if (rawStages !== undefined && rawStages !== null) {
        if (!Array.isArray(rawStages) || rawStages.length === 0 || !rawStages.every((s): s is string => typeof s === 'string')) {
          throw new SecretsManagerError('InvalidParameterException', 'VersionStages must be a non-empty list of strings.');
        }
        stages = rawStages;
      }
      const version = addVersion(secret, value, optionalString(input, 'ClientRequestToken'), stages);
      return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
    },
    DescribeSecret(input) {
      const secret = find(requiredString(input, 'SecretId'));
      const versions: Record<string, string[]> = {};
      for (const v of secret.versions.values()) if (v.stages.size > 0) versions[v.id] = [...v.stages];
      return {
        ARN: secret.arn,
        Name: secret.name,
        ...(secret.description !== undefined ? { Description: secret.description } : {}),
        RotationEnabled: false,
        LastChangedDate: epochSeconds(secret.lastChangedAt),
        ...(secret.lastAccessedAt !== undefined ? { LastAccessedDate: epochSeconds(secret.lastAccessedAt) } : {}),
        VersionIdsToStages: versions,
        CreatedDate: epochSeconds(secret.createdAt),
      };
    },
  };

  function respond(res: ServerResponse, status: number, body: unknown, requestId: string, errorType?: string): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': JSON_11,
      'content-length': String(Buffer.byteLength(text)),
      'x-amzn-requestid': requestId,
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    });
    res.end(text);
  }

  function readBody(req: IncomingMessage): Promise<Buffer | 'too_large'> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_REQUEST_BYTES) {
          over = true;
          chunks.length = 0;
        } else if (!over) chunks.push(c);
      });
      req.on('end', () => resolve(over ? 'too_large' : Buffer.concat(chunks)));
      req.on('error', reject);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const body = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(SECRETS_MANAGER_TARGET_PREFIX) ? target.slice(SECRETS_MANAGER_TARGET_PREFIX.length) : target;
    let secretId: string | undefined;
    const fail = (err: SecretsManagerError) => {
      calls.push({ operation, ...(secretId !== undefined ? { secretId } : {}), status: err.status, error: err.type, at: now() });
      log(`[secrets-manager] ${operation || '(no target)'} ${secretId ?? '-'} ${err.status} ${err.type}`);
      respond(res, err.status, { __type: err.type, Message: err.message }, requestId, err.type);
    };

    if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
      fail(new SecretsManagerError('UnknownOperationException', 'Unknown operation', 404));
      return;
    }
    if (body === 'too_large') {
      fail(new SecretsManagerError('SerializationException', 'Request too large', 413));
      return;
    }
    if (!/^AWS4-HMAC-SHA256 /.test(String(req.headers.authorization ?? ''))) {
      fail(new SecretsManagerError('MissingAuthenticationTokenException', 'Missing Authentication Token'));
      return;
    }
    if (!(OPERATIONS as readonly string[]).includes(operation) || !target.startsWith(SECRETS_MANAGER_TARGET_PREFIX)) {
      fail(new SecretsManagerError('UnknownOperationException', 'Unknown operation'));
      return;
    }
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== JSON_11) {
      fail(new SecretsManagerError('SerializationException', `Content-Type must be ${JSON_11}`));
      return;
    }
    let input: unknown;
    try {
      input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      fail(new SecretsManagerError('SerializationException', 'Malformed JSON request body'));
      return;
    }
    if (!isObject(input)) {
      fail(new SecretsManagerError('SerializationException', 'The request body must be a JSON object'));
      return;
    }
    const id = input.SecretId ?? input.Name;
    if (typeof id === 'string') secretId = id;
    if (unavailable) {
      fail(new SecretsManagerError('InternalServiceError', 'An error occurred on the server side.', 500));
      return;
    }
    let output: Record<string, unknown>;
    try {
      output = operations[operation as SecretsManagerOperation](input);
    } catch (err) {
      if (err instanceof SecretsManagerError) {
        fail(err);
        return;
      }
      throw err;
    }
    calls.push({ operation, ...(secretId !== undefined ? { secretId } : {}), status: 200, at: now() });
    log(`[secrets-manager] ${operation} ${secretId ?? '-'} 200`);
    respond(res, 200, output, requestId);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) respond(res, 500, { __type: 'InternalServiceError', Message: 'An error occurred on the server side.' }, randomUUID(), 'InternalServiceError');
      else res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed = false;

  const ref = (secret: Secret, version: Version): SecretRef => ({ arn: secret.arn, name: secret.name, versionId: version.id });

  return {
    url: `http://${host}:${port}`,
    port,
    region,
    accountId,
    calls,
    count(operation, id) {
      // A call names its secret by name, full ARN or partial ARN: match any of the three.
      let names = id === undefined ? undefined : new Set([id]);
      if (id !== undefined) {
        const s = lookup(id);
        if (s) names = new Set([s.name, s.arn, s.arn.slice(0, -7)]);
      }
      return calls.filter((c) => c.operation === operation && (names === undefined || (c.secretId !== undefined && names.has(c.secretId)))).length;
    },
    createSecret(name, value, opts) {
      const { secret, version } = create(name, valueFromApi(value), undefined, opts?.description);
      if (!version) throw new Error('unreachable: a value was given');
      return ref(secret, version);
    },
    putSecretValue(secretId, value) {
      const secret = find(secretId);
      return ref(secret, addVersion(secret, valueFromApi(value), undefined, undefined));
    },
    currentString(secretId) {
      const secret = lookup(secretId);
      if (!secret) return undefined;
      return [...secret.versions.values()].find((v) => v.stages.has(STAGE_CURRENT))?.string;
    },
    setUnavailable(on) {
      unavailable = on;
    },
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
    },
  };
}
