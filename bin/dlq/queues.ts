/**
 * Queue selection: `--stack NAME`, `--queue-url URL --dlq-url URL [--endpoint URL] [--region R]`,
 * or `--local` (the running `npm run dev`, found through GET /_dev/status).
 */
import { DescribeStacksCommand, type Output as StackOutput } from '@aws-sdk/client-cloudformation';
import { GetQueueAttributesCommand, type QueueAttributeName } from '@aws-sdk/client-sqs';
import { ConfigError, UsageError, toCliError } from './errors';
import type { CfnLike, QueuePair, SqsLike } from './types';

export type QueueSelection =
  | { mode: 'stack'; stack: string; region?: string }
  | { mode: 'urls'; queueUrl: string; dlqUrl: string; endpoint?: string; region?: string }
  | { mode: 'local'; port: number };

export interface SelectionArgs {
  stack?: string;
  'queue-url'?: string;
  'dlq-url'?: string;
  endpoint?: string;
  region?: string;
  local?: boolean;
  port?: string;
}

/** Configuration of the SQSClient to build for the selected queues. */
export interface SqsConfig {
  region?: string;
  /** Always set when known: fauxqs queue URLs use a `*.localhost` host that only resolves through it. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export interface ResolvedTarget {
  queues: QueuePair;
  sqs: SqsConfig;
  /** For messages: `stack adapter-prod (eu-west-1)`, `npm run dev on port 3000`, ... */
  description: string;
  /** `--local`: the adapter configuration the dev server runs with (its /_dev/status), when it reports one. */
  adapterConfig?: unknown;
}

/** The credentials fauxqs (and any local emulator) accepts. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
const LOCAL_REGION = 'us-east-1';

function checkUrl(value: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} must be a URL, e.g. https://sqs.eu-west-1.amazonaws.com/123456789012/name (got "${value.slice(0, 80)}")`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`${flag} must be an http(s) URL`);
  return value;
}

function parsePort(value: string, flag = '--port'): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${flag} must be a port number (1-65535), got "${value}"`);
  return n;
}

/**
 * Validates the queue-selection flags: exactly one of --stack / --queue-url+--dlq-url / --local.
 * `mainOnly` (the backfill, which only writes to the main queue): --queue-url alone suffices.
 */
export function selectionFromArgs(args: SelectionArgs, env: Record<string, string | undefined>, opts: { mainOnly?: boolean } = {}): QueueSelection {
  const urls = args['queue-url'] !== undefined || args['dlq-url'] !== undefined;
  const chosen = [args.stack !== undefined, urls, args.local === true].filter(Boolean).length;
  if (chosen === 0) {
    throw new UsageError(`Choose the queues: --stack NAME, --queue-url URL${opts.mainOnly ? '' : ' --dlq-url URL'}, or --local.`);
  }
  if (chosen > 1) throw new UsageError('Use only one of --stack, --queue-url/--dlq-url and --local.');
  if (args.endpoint !== undefined && !urls) throw new UsageError('--endpoint goes with --queue-url and --dlq-url (--local finds the endpoint itself).');
  if (args.port !== undefined && !args.local) throw new UsageError('--port goes with --local.');

  if (args.stack !== undefined) {
    if (args.stack.trim() === '') throw new UsageError('--stack needs the stack name.');
    return { mode: 'stack', stack: args.stack, ...(args.region ? { region: args.region } : {}) };
  }
  if (urls && opts.mainOnly) {
    if (!args['queue-url']) throw new UsageError('--queue-url needs the main queue URL.');
    const queueUrl = checkUrl(args['queue-url'], '--queue-url');
    const endpoint = args.endpoint === undefined ? undefined : checkUrl(args.endpoint, '--endpoint');
    return { mode: 'urls', queueUrl, dlqUrl: '', ...(endpoint ? { endpoint } : {}), ...(args.region ? { region: args.region } : {}) };
  }
  if (urls) {
    if (!args['queue-url'] || !args['dlq-url']) throw new UsageError('Give both --queue-url (the main queue) and --dlq-url (its dead-letter queue).');
    const queueUrl = checkUrl(args['queue-url'], '--queue-url');
    const dlqUrl = checkUrl(args['dlq-url'], '--dlq-url');
    if (queueUrl === dlqUrl) throw new UsageError('--queue-url and --dlq-url are the same queue.');
    const endpoint = args.endpoint === undefined ? undefined : checkUrl(args.endpoint, '--endpoint');
    return {
      mode: 'urls',
      queueUrl,
      dlqUrl,
      ...(endpoint ? { endpoint } : {}),
      ...(args.region ? { region: args.region } : {}),
    };
  }
  if (args.region !== undefined) throw new UsageError('--region does not go with --local (the local run is always us-east-1).');
  const port = args.port !== undefined ? parsePort(args.port) : env.PORT ? parsePort(env.PORT, 'PORT') : 3000;
  return { mode: 'local', port };
}

/** The region in an SQS queue URL (`https://sqs.eu-west-1.amazonaws.com/...`, legacy `https://eu-west-1.queue.amazonaws.com/...`). */
export function regionFromQueueUrl(queueUrl: string): string | undefined {
  let host: string;
  try {
    host = new URL(queueUrl).hostname;
  } catch {
    return undefined;
  }
  const modern = /^sqs\.([a-z]{2}(?:-[a-z]+)+-\d+)\./.exec(host);
  if (modern) return modern[1];
  const legacy = /^([a-z]{2}(?:-[a-z]+)+-\d+)\.queue\.amazonaws\.com(\.cn)?$/.exec(host);
  if (legacy) return legacy[1];
  if (host === 'queue.amazonaws.com') return 'us-east-1';
  return undefined;
}

/** Whether an endpoint is this machine (an emulator: fauxqs, LocalStack, ...). */
export function isLoopback(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Picks a stack output: `QueueUrl` exactly, or else the one output whose key ends with it
 * (a CfnOutput inside a construct gets a prefix and an 8-hex suffix). For `QueueUrl`,
 * dead-letter outputs are never taken.
 */
export function pickOutput(outputs: readonly StackOutput[], key: string): string | undefined {
  const exact = outputs.find((o) => o.OutputKey === key);
  if (exact?.OutputValue) return exact.OutputValue;
  const pattern = new RegExp(`${key}(?:[0-9A-F]{8})?$`);
  const candidates = outputs.filter(
    (o) => o.OutputKey && o.OutputValue && pattern.test(o.OutputKey) && (key !== 'QueueUrl' || !/dlq|deadletter/i.test(o.OutputKey)),
  );
  if (candidates.length === 1) return candidates[0]!.OutputValue;
  if (candidates.length > 1) {
    throw new ConfigError(`The stack has several ${key} outputs (${candidates.map((o) => o.OutputKey).join(', ')}); pass --queue-url and --dlq-url instead.`);
  }
  return undefined;
}

export interface ResolveDeps {
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  createCfn: (config: { region?: string }) => CfnLike & { destroy?: () => void };
  /** Milliseconds to wait for the dev server's /_dev/status. */
  localTimeoutMs?: number;
}

async function resolveStack(sel: Extract<QueueSelection, { mode: 'stack' }>, deps: ResolveDeps): Promise<ResolvedTarget> {
  const region = sel.region ?? deps.env.AWS_REGION ?? deps.env.AWS_DEFAULT_REGION;
  const where = region ? `region ${region}` : 'the default region';
  const cfn = deps.createCfn(region ? { region } : {});
  let outputs: StackOutput[];
  let status: string | undefined;
  try {
    const res = await cfn.send(new DescribeStacksCommand({ StackName: sel.stack }));
    const stack = res.Stacks?.[0];
    if (!stack) throw new ConfigError(`Stack "${sel.stack}" not found in ${where}.`);
    outputs = stack.Outputs ?? [];
    status = stack.StackStatus;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const message = err instanceof Error ? err.message : '';
    if (/does not exist/i.test(message)) throw new ConfigError(`Stack "${sel.stack}" not found in ${where} (check the name, --region / AWS_REGION and the account).`);
    throw toCliError(err, { doing: `reading stack "${sel.stack}"`, endpoint: `CloudFormation in ${where}` });
  } finally {
    cfn.destroy?.();
  }
  const queueUrl = pickOutput(outputs, 'QueueUrl');
  const dlqUrl = pickOutput(outputs, 'DlqUrl');
  if (!queueUrl || !dlqUrl) {
    const missing = [queueUrl ? undefined : 'QueueUrl', dlqUrl ? undefined : 'DlqUrl'].filter(Boolean).join(' and ');
    throw new ConfigError(
      `Stack "${sel.stack}" has no ${missing} output (status ${status ?? 'unknown'}): is it the adapter's stack, fully deployed? Otherwise pass --queue-url and --dlq-url.`,
    );
  }
  const sqsRegion = region ?? regionFromQueueUrl(queueUrl);
  return {
    queues: { queueUrl, dlqUrl },
    sqs: sqsRegion ? { region: sqsRegion } : {},
    description: `stack ${sel.stack}${sqsRegion ? ` (${sqsRegion})` : ''}`,
  };
}

function resolveUrls(sel: Extract<QueueSelection, { mode: 'urls' }>, env: Record<string, string | undefined>): ResolvedTarget {
  const region = sel.region ?? regionFromQueueUrl(sel.queueUrl) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (sel.endpoint ? LOCAL_REGION : undefined);
  const sqs: SqsConfig = {};
  if (region) sqs.region = region;
  if (sel.endpoint) {
    sqs.endpoint = sel.endpoint;
    // An emulator on this machine accepts any credentials; real ones from the environment still win.
    if (isLoopback(sel.endpoint) && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE) sqs.credentials = { ...LOCAL_CREDENTIALS };
  }
  return {
    queues: { queueUrl: sel.queueUrl, dlqUrl: sel.dlqUrl },
    sqs,
    description: sel.endpoint ? `queues at ${sel.endpoint}` : `queues in ${region ?? 'the default region'}`,
  };
}

const localStatusKeys = ['queueUrl', 'dlqUrl', 'sqsEndpoint'] as const;

async function resolveLocal(sel: Extract<QueueSelection, { mode: 'local' }>, deps: ResolveDeps): Promise<ResolvedTarget> {
  const base = `http://127.0.0.1:${sel.port}`;
  const notRunning = `No dev server on ${base}: start it with \`npm run dev\` (or pass --port if it uses another PORT).`;
  let res: Response;
  try {
    res = await deps.fetch(`${base}/_dev/status`, { signal: AbortSignal.timeout(deps.localTimeoutMs ?? 3000) });
  } catch {
    throw new ConfigError(notRunning);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new ConfigError(`The server on ${base} answered HTTP ${res.status} for /_dev/status: is it \`npm run dev\` of this adapter?`);
  }
  let status: Record<string, unknown>;
  try {
    status = (await res.json()) as Record<string, unknown>;
  } catch {
    throw new ConfigError(`The server on ${base} did not answer /_dev/status with JSON: is it \`npm run dev\` of this adapter?`);
  }
  const missing = localStatusKeys.filter((k) => typeof status?.[k] !== 'string' || status[k] === '');
  if (missing.length > 0) throw new ConfigError(`The dev server on ${base} reports no ${missing.join(', ')} in /_dev/status.`);
  return {
    queues: { queueUrl: status.queueUrl as string, dlqUrl: status.dlqUrl as string },
    sqs: { region: LOCAL_REGION, endpoint: status.sqsEndpoint as string, credentials: { ...LOCAL_CREDENTIALS } },
    description: `npm run dev on port ${sel.port}`,
    ...(status.adapterConfig !== undefined ? { adapterConfig: status.adapterConfig } : {}),
  };
}

export async function resolveTarget(sel: QueueSelection, deps: ResolveDeps): Promise<ResolvedTarget> {
  switch (sel.mode) {
    case 'stack':
      return resolveStack(sel, deps);
    case 'urls':
      return resolveUrls(sel, deps.env);
    case 'local':
      return resolveLocal(sel, deps);
  }
}

export interface QueueInfo {
  mainArn: string;
  dlqArn: string;
  fifo: boolean;
  /** ApproximateNumberOfMessages of the DLQ (visible ones) when checked. */
  dlqVisible: number;
  /** ApproximateNumberOfMessagesNotVisible of the DLQ (in flight: someone else is reading it). */
  dlqInFlight: number;
}

function deadLetterTarget(policy: string | undefined): string | undefined {
  if (!policy) return undefined;
  try {
    return (JSON.parse(policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn || undefined;
  } catch {
    return undefined;
  }
}

export function isFifoUrl(url: string): boolean {
  return url.replace(/\/+$/, '').endsWith('.fifo');
}

/**
 * Checks both queues exist and belong together (the main queue's RedrivePolicy names the DLQ),
 * so that swapped or mistyped URLs never make `redrive` or `purge` touch the wrong queue.
 */
export async function inspectQueues(sqs: SqsLike, queues: QueuePair, endpoint?: string): Promise<QueueInfo & { warnings: string[] }> {
  const get = async (url: string, names: QueueAttributeName[]) => {
    try {
      const res = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names }));
      return res.Attributes ?? {};
    } catch (err) {
      throw toCliError(err, { queueUrl: url, doing: 'reading the queue attributes', ...(endpoint ? { endpoint } : {}) });
    }
  };
  const dlq = await get(queues.dlqUrl, ['QueueArn', 'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'FifoQueue', 'RedrivePolicy']);
  const main = await get(queues.queueUrl, ['QueueArn', 'RedrivePolicy', 'FifoQueue']);
  const warnings: string[] = [];
  const dlqArn = dlq.QueueArn ?? '';
  const mainArn = main.QueueArn ?? '';
  const dlqFifo = dlq.FifoQueue === 'true' || isFifoUrl(queues.dlqUrl);
  const mainFifo = main.FifoQueue === 'true' || isFifoUrl(queues.queueUrl);
  if (dlqFifo !== mainFifo) {
    throw new ConfigError(`The main queue is ${mainFifo ? 'FIFO' : 'standard'} but the DLQ is ${dlqFifo ? 'FIFO' : 'standard'}: these are not a queue and its DLQ.`);
  }
  const mainTarget = deadLetterTarget(main.RedrivePolicy);
  if (mainTarget) {
    if (dlqArn && mainTarget !== dlqArn) {
      throw new ConfigError(`The main queue's dead-letter queue is ${mainTarget}, not ${dlqArn}: check --queue-url and --dlq-url (swapped?).`);
    }
  } else if (mainArn && deadLetterTarget(dlq.RedrivePolicy) === mainArn) {
    throw new ConfigError('--dlq-url is the queue whose dead-letter queue is --queue-url: the two are swapped.');
  } else {
    warnings.push('note: the main queue has no RedrivePolicy; cannot confirm that --dlq-url is its dead-letter queue.');
  }
  return {
    mainArn,
    dlqArn,
    fifo: mainFifo,
    dlqVisible: Number(dlq.ApproximateNumberOfMessages ?? 0) || 0,
    dlqInFlight: Number(dlq.ApproximateNumberOfMessagesNotVisible ?? 0) || 0,
    warnings,
  };
}
