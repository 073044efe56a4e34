/**
 * Operator errors: each becomes ONE clear line and an exit code, never a stack trace.
 *   0 ok, 1 operation failed or incomplete, 2 usage error, 3 configuration / connection error.
 */

export const EXIT = { ok: 0, failed: 1, usage: 2, config: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

/** Bad arguments: exit 2. */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** Credentials, not found, access denied, nothing listening: exit 3. */
export class ConfigError extends CliError {
  override name = 'ConfigError';
  constructor(message: string) {
    super(message, EXIT.config);
  }
}

/** The operation ran but did not complete: exit 1. */
export class OperationError extends CliError {
  override name = 'OperationError';
  constructor(message: string) {
    super(message, EXIT.failed);
  }
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  Code?: unknown;
  __type?: unknown;
  cause?: unknown;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** All the names an AWS SDK / Node error goes by (name, Code, __type, code, and its cause's). */
export function errorNames(err: unknown): string[] {
  const names: string[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 3 && typeof e === 'object' && e !== null; depth++) {
    const x = e as ErrorLike;
    for (const v of [x.name, x.Code, x.code, x.__type]) {
      const s = str(v);
      if (s) names.push(s.includes('#') ? s.slice(s.lastIndexOf('#') + 1) : s);
    }
    e = x.cause;
  }
  return names;
}

/** The first line of an error's message, cut short: SDK messages can be long and multi-line. */
export function firstLine(err: unknown): string {
  const raw = typeof err === 'object' && err !== null ? str((err as ErrorLike).message) : str(err);
  const first = (raw ?? 'unknown error').split('\n')[0]!.trim();
  return first.length > 300 ? `${first.slice(0, 297)}...` : first;
}

const QUEUE_NOT_FOUND = ['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'NonExistentQueue'];
const ACCESS_DENIED = [
  'AccessDenied',
  'AccessDeniedException',
  'AuthorizationError',
  'UnauthorizedOperation',
  'KMS.AccessDeniedException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidAccessKeyId',
  'InvalidSecurity',
];
const UNREACHABLE = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'TimeoutError'];
const UNSUPPORTED = ['InvalidAction', 'UnsupportedOperation', 'UnknownOperationException', 'AWS.SimpleQueueService.UnsupportedOperation'];

export interface ErrorContext {
  /** What was being done, e.g. `reading the DLQ`. */
  doing?: string;
  /** The queue URL involved, named in "not found". */
  queueUrl?: string;
  /** The endpoint, named in "cannot reach". */
  endpoint?: string;
}

/**
 * Turns any error into a CliError with one line. Known operator problems (no credentials, queue
 * not found, access denied, no region, unreachable endpoint) are configuration errors (exit 3).
 */
export function toCliError(err: unknown, ctx: ErrorContext = {}): CliError {
  if (err instanceof CliError) return err;
  const names = errorNames(err);
  const has = (list: readonly string[]) => names.some((n) => list.includes(n));
  const msg = firstLine(err);

  if (names.includes('CredentialsProviderError') || /could not load credentials/i.test(msg)) {
    return new ConfigError(
      'No AWS credentials found: set AWS_PROFILE (and run `aws sso login` if it uses SSO) or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.',
    );
  }
  if (/region is missing/i.test(msg)) {
    return new ConfigError('No AWS region: pass --region or set AWS_REGION.');
  }
  if (has(QUEUE_NOT_FOUND)) {
    return new ConfigError(`Queue not found: ${ctx.queueUrl ?? 'the queue'} does not exist (check the URL, the region and the account).`);
  }
  if (has(ACCESS_DENIED)) {
    const code = names.find((n) => ACCESS_DENIED.includes(n));
    return new ConfigError(`Access denied${ctx.doing ? ` ${ctx.doing}` : ''} (${code}): the current AWS identity is not allowed to do this.`);
  }
  if (has(UNSUPPORTED)) {
    return new OperationError(`This SQS endpoint does not support the operation${ctx.doing ? ` (${ctx.doing})` : ''}: ${msg}`);
  }
  if (has(UNREACHABLE) || /fetch failed|socket hang up|connect ECONNREFUSED/i.test(msg)) {
    return new ConfigError(`Cannot reach ${ctx.endpoint ?? 'the AWS endpoint'}: ${names.find((n) => UNREACHABLE.includes(n)) ?? msg}.`);
  }
  const name = names.find((n) => n !== 'Error') ?? 'Error';
  return new OperationError(`${ctx.doing ? `Failed ${ctx.doing}` : 'Failed'}: ${name}: ${msg}`);
}

/** Whether an error is one of those that make every further call fail too (stop, do not count and go on). */
export function isFatal(err: unknown): boolean {
  return toCliError(err).exitCode === EXIT.config;
}
