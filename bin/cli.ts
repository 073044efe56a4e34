/**
 * `npx --no-install moengage-adapter dlq <list|redrive|export|purge>` (lib/tool-command.ts): parses the arguments and wires the
 * commands of bin/dlq/ to real clients. All behaviour lives in bin/dlq/.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SQSClient } from '@aws-sdk/client-sqs';
import { backfillCommand } from './backfill/command';
import { BACKFILL_HELP } from './backfill/help';
import { BACKFILL_SOURCES, isBackfillSource } from './backfill/types';
import { isSourceName, parseAdapterConfig, type AdapterConfig } from '../functions/core/config';
import { adapterConfigFrom } from '../functions/shared/runtime';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parseFilter, parseQueueChoice } from './dlq/entry';
import { CliError, ConfigError, EXIT, UsageError, toCliError } from './dlq/errors';
import { exportCommand } from './dlq/export';
import { COMMAND_HELP, COMMANDS, TOOL_HELP, type CommandName } from './dlq/help';
import { DEFAULT_LIST_LIMIT, listCommand } from './dlq/list';
import { PURGE_NEEDS_YES, purgeCommand } from './dlq/purge';
import { isFifoUrl, resolveTarget, selectionFromArgs, type SqsConfig } from './dlq/queues';
import { redriveCommand } from './dlq/redrive';
import { TOOL_COMMAND } from '../lib/tool-command';
import { note, realClock, type CfnLike, type Clock, type CommandContext, type Output, type SqsLike } from './dlq/types';

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

const SELECTION_OPTIONS: OptionSpec = {
  stack: { type: 'string' },
  'queue-url': { type: 'string' },
  'dlq-url': { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  local: { type: 'boolean' },
  port: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const FILTER_OPTIONS: OptionSpec = { reason: { type: 'string' }, source: { type: 'string' } };

const COMMAND_OPTIONS: Record<CommandName, OptionSpec> = {
  list: { json: { type: 'boolean' }, limit: { type: 'string' }, ...FILTER_OPTIONS },
  redrive: { 'dry-run': { type: 'boolean' }, rate: { type: 'string' }, limit: { type: 'string' }, native: { type: 'boolean' }, ...FILTER_OPTIONS },
  export: { out: { type: 'string' }, queue: { type: 'string' }, ...FILTER_OPTIONS },
  purge: { yes: { type: 'boolean' }, 'no-export': { type: 'boolean' }, out: { type: 'string' }, queue: { type: 'string' } },
};

export interface CliDeps {
  io: Output;
  clock: Clock;
  env: Record<string, string | undefined>;
  cwd: string;
  fetch: typeof fetch;
  createSqs: (config: SqsConfig) => SqsLike & { destroy?: () => void };
  createCfn: (config: { region?: string }) => CfnLike & { destroy?: () => void };
  randomId: () => string;
  signal?: AbortSignal;
  /** ReceiveMessage WaitTimeSeconds (tests against the emulator use 0). */
  receiveWaitSeconds?: number;
  /** Milliseconds to wait for the dev server's /_dev/status. */
  localTimeoutMs?: number;
}

export function defaultDeps(): CliDeps {
  return {
    io: {
      out: (t) => void process.stdout.write(t),
      err: (t) => void process.stderr.write(t),
      errIsTTY: process.stderr.isTTY === true,
    },
    clock: realClock,
    env: process.env,
    cwd: process.cwd(),
    fetch: globalThis.fetch,
    createSqs: (c) => new SQSClient({ ...c, maxAttempts: 3 }),
    createCfn: (c) => new CloudFormationClient({ ...c, maxAttempts: 3 }),
    randomId: () => randomBytes(6).toString('hex'),
  };
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number of 1 or more, got "${value}".`);
  return n;
}

function positiveNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got "${value}".`);
  return n;
}

const BACKFILL_OPTIONS: OptionSpec = {
  stack: { type: 'string' },
  'queue-url': { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  local: { type: 'boolean' },
  port: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  'api-url': { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string' },
  'dry-run': { type: 'boolean' },
  rate: { type: 'string' },
  resume: { type: 'boolean' },
  checkpoint: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
};

/** --since: an ISO 8601 date or date-time, not in the future. */
function parseSince(value: string | undefined, nowMs: number): Date | undefined {
  if (value === undefined) return undefined;
  const ok = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim());
  const ms = Date.parse(value.trim());
  if (!ok || !Number.isFinite(ms)) throw new UsageError(`--since must be an ISO 8601 date or date-time such as 2025-01-31 or 2025-01-31T12:00:00Z (got "${value.slice(0, 40)}")`);
  if (ms > nowMs) throw new UsageError('--since is in the future: nothing would be read.');
  return new Date(ms);
}

/** --config FILE or inline JSON: the adapter configuration (also accepted: a file of the CDK context, `{ "adapter": {...} }`). */
function loadConfigArg(value: string, cwd: string): AdapterConfig {
  let text = value.trim();
  let where = '--config';
  if (!text.startsWith('{')) {
    const path = isAbsolute(text) ? text : join(cwd, text);
    where = path;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`--config: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError(`--config: ${where} is not JSON.`);
  }
  if (typeof json === 'object' && json !== null && 'adapter' in json && !('sources' in json)) json = (json as { adapter: unknown }).adapter;
  try {
    return parseAdapterConfig(json, where);
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\n/g, '; '));
  }
}

async function backfillMain(source: string | undefined, rest: readonly string[], deps: CliDeps): Promise<number> {
  const { io } = deps;
  if (source === undefined || source === '--help' || source === '-h' || source === 'help') {
    if (source === undefined) {
      io.err(BACKFILL_HELP);
      return EXIT.usage;
    }
    io.out(BACKFILL_HELP);
    return EXIT.ok;
  }
  if (!isBackfillSource(source)) {
    const why = isSourceName(source) ? `${source} has no user list to read` : `unknown source "${source}"`;
    throw new UsageError(`Cannot backfill ${source}: ${why}; use one of ${BACKFILL_SOURCES.join(', ')}.`);
  }
  let values: Values;
  try {
    values = parseArgs({ args: [...rest], options: BACKFILL_OPTIONS, strict: true, allowPositionals: false }).values as Values;
  } catch (err) {
    throw argError(err, source, 'backfill');
  }
  if (values.help) {
    io.out(BACKFILL_HELP);
    return EXIT.ok;
  }
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const bool = (k: string) => values[k] === true;
  const limit = positiveInt(str('limit'), '--limit');
  const rate = positiveNumber(str('rate'), '--rate');
  const since = parseSince(str('since'), deps.clock.now());
  const dryRun = bool('dry-run');
  if (dryRun && bool('resume')) throw new UsageError('--dry-run reads from the start and writes no checkpoint: it does not go with --resume.');
  const selected = str('stack') !== undefined || str('queue-url') !== undefined || bool('local');
  let config: AdapterConfig | undefined = str('config') !== undefined ? loadConfigArg(str('config')!, deps.cwd) : undefined;
  if (!config && (deps.env.ADAPTER_CONFIG_JSON || deps.env.ADAPTER_CONFIG)) {
    try {
      config = adapterConfigFrom(deps.env as NodeJS.ProcessEnv);
    } catch (err) {
      throw new ConfigError((err as Error).message.replace(/\n/g, '; '));
    }
  }

  let queue: Parameters<typeof backfillCommand>[0]['queue'];
  let sqs: (SqsLike & { destroy?: () => void }) | undefined;
  if (selected || !dryRun) {
    const selection = selectionFromArgs(
      {
        ...(str('stack') !== undefined ? { stack: str('stack') } : {}),
        ...(str('queue-url') !== undefined ? { 'queue-url': str('queue-url') } : {}),
        ...(str('endpoint') !== undefined ? { endpoint: str('endpoint') } : {}),
        ...(str('region') !== undefined ? { region: str('region') } : {}),
        ...(str('port') !== undefined ? { port: str('port') } : {}),
        local: bool('local'),
      },
      deps.env,
      { mainOnly: true },
    );
    const target = await resolveTarget(selection, {
      env: deps.env,
      fetch: deps.fetch,
      createCfn: deps.createCfn,
      ...(deps.localTimeoutMs !== undefined ? { localTimeoutMs: deps.localTimeoutMs } : {}),
    });
    if (!config && target.adapterConfig !== undefined) config = parseAdapterConfig(target.adapterConfig, 'the dev server\'s adapter configuration');
    if (!config) {
      throw new UsageError(
        "Pass --config FILE with the adapter configuration the stack runs with (its `adapter` settings), so that users are mapped as its receiver maps them; --config '{}' for the defaults.",
      );
    }
    if (!dryRun) {
      sqs = deps.createSqs(target.sqs);
      queue = {
        sqs,
        queueUrl: target.queues.queueUrl,
        fifo: isFifoUrl(target.queues.queueUrl),
        endpoint: target.sqs.endpoint ?? `SQS${target.sqs.region ? ` in ${target.sqs.region}` : ''}`,
      };
    }
  }
  if (!config) note(io, 'note: no adapter configuration given (--config FILE): users are mapped with the default options.');
  config ??= parseAdapterConfig({});
  try {
    return await backfillCommand(
      { io, clock: deps.clock, env: deps.env, cwd: deps.cwd, fetch: deps.fetch, ...(deps.signal ? { signal: deps.signal } : {}), ...(queue ? { queue } : {}) },
      {
        source,
        ...(str('api-url') !== undefined ? { apiUrl: str('api-url')! } : {}),
        ...(since ? { since } : {}),
        ...(limit !== undefined ? { limit } : {}),
        dryRun,
        ...(rate !== undefined ? { rate } : {}),
        resume: bool('resume'),
        json: bool('json'),
        ...(str('checkpoint') !== undefined ? { checkpoint: str('checkpoint')! } : {}),
        config,
      },
    );
  } finally {
    sqs?.destroy?.();
  }
}

/** parseArgs' messages are long and mention positionals; one short line instead. */
function argError(err: unknown, command: string, group = 'dlq'): UsageError {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? 'an option';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new UsageError(`Unknown option ${option} for \`${group} ${command}\`.`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/argument missing/.test(message)) return new UsageError(`${option} needs a value.`);
    if (/ambiguous/.test(message)) return new UsageError(`${option} needs a value (write ${option}=VALUE for one that starts with a dash).`);
    if (/does not take an argument/.test(message)) return new UsageError(`${option} takes no value.`);
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new UsageError(`Unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''} for \`${group} ${command}\`.`);
  return new UsageError(message.split('\n')[0] ?? 'Bad arguments.');
}

type Values = Record<string, string | boolean | undefined>;

/** Runs the tool; returns the exit code. Never throws: every error becomes one line on stderr. */
export async function main(argv: readonly string[], overrides: Partial<CliDeps> = {}): Promise<number> {
  const deps: CliDeps = { ...defaultDeps(), ...overrides };
  const { io } = deps;
  let command: CommandName | undefined;
  let isBackfill = false;
  try {
    const [group, name, ...rest] = argv;
    if (group === 'backfill') {
      isBackfill = true;
      return await backfillMain(name, rest, deps);
    }
    if (group === undefined) {
      io.err(TOOL_HELP);
      return EXIT.usage;
    }
    if (group === '--help' || group === '-h' || group === 'help') {
      io.out(TOOL_HELP);
      return EXIT.ok;
    }
    if (group !== 'dlq') throw new UsageError(`Unknown command "${group}": the tool has \`dlq <${COMMANDS.join('|')}>\` and \`backfill <source>\`.`);
    if (name === undefined) {
      io.err(TOOL_HELP);
      return EXIT.usage;
    }
    if (name === '--help' || name === '-h' || name === 'help') {
      io.out(TOOL_HELP);
      return EXIT.ok;
    }
    if (!(COMMANDS as string[]).includes(name)) throw new UsageError(`Unknown dlq command "${name}": use one of ${COMMANDS.join(', ')}.`);
    command = name as CommandName;

    let values: Values;
    try {
      values = parseArgs({
        args: [...rest],
        options: { ...SELECTION_OPTIONS, ...COMMAND_OPTIONS[command] },
        strict: true,
        allowPositionals: false,
      }).values as Values;
    } catch (err) {
      throw argError(err, command);
    }
    if (values.help) {
      io.out(COMMAND_HELP[command]);
      return EXIT.ok;
    }
    const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
    const bool = (k: string) => values[k] === true;

    // Everything that needs no AWS call is checked before connecting.
    const filter = parseFilter({ reason: str('reason'), source: str('source') });
    const limit = positiveInt(str('limit'), '--limit');
    const rate = positiveNumber(str('rate'), '--rate');
    const queue = parseQueueChoice(str('queue'));
    if (command === 'export' && !str('out')) throw new UsageError('export needs --out FILE.jsonl.');
    if (command === 'purge' && !bool('yes')) throw new UsageError(PURGE_NEEDS_YES);
    if (command === 'purge' && bool('no-export') && str('out')) throw new UsageError('--out and --no-export contradict each other.');

    const selection = selectionFromArgs(
      {
        ...(str('stack') !== undefined ? { stack: str('stack') } : {}),
        ...(str('queue-url') !== undefined ? { 'queue-url': str('queue-url') } : {}),
        ...(str('dlq-url') !== undefined ? { 'dlq-url': str('dlq-url') } : {}),
        ...(str('endpoint') !== undefined ? { endpoint: str('endpoint') } : {}),
        ...(str('region') !== undefined ? { region: str('region') } : {}),
        ...(str('port') !== undefined ? { port: str('port') } : {}),
        local: bool('local'),
      },
      deps.env,
    );
    const target = await resolveTarget(selection, {
      env: deps.env,
      fetch: deps.fetch,
      createCfn: deps.createCfn,
      ...(deps.localTimeoutMs !== undefined ? { localTimeoutMs: deps.localTimeoutMs } : {}),
    });
    const sqs = deps.createSqs(target.sqs);
    const ctx: CommandContext = {
      sqs,
      queues: target.queues,
      io,
      clock: deps.clock,
      randomId: deps.randomId,
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(deps.receiveWaitSeconds !== undefined ? { receiveWaitSeconds: deps.receiveWaitSeconds } : {}),
      endpoint: target.sqs.endpoint ?? `SQS${target.sqs.region ? ` in ${target.sqs.region}` : ''}`,
    };
    try {
      switch (command) {
        case 'list':
          return await listCommand(ctx, { json: bool('json'), limit: limit ?? DEFAULT_LIST_LIMIT, filter });
        case 'redrive':
          return await redriveCommand(ctx, {
            filter,
            dryRun: bool('dry-run'),
            native: bool('native'),
            ...(rate !== undefined ? { rate } : {}),
            ...(limit !== undefined ? { limit } : {}),
          });
        case 'export':
          return await exportCommand(ctx, { out: str('out')!, filter, cwd: deps.cwd, queue });
        case 'purge':
          return await purgeCommand(ctx, { yes: true, export: !bool('no-export'), ...(str('out') ? { out: str('out')! } : {}), cwd: deps.cwd, queue });
        default:
          throw new UsageError(`Unknown dlq command "${String(command)}".`);
      }
    } finally {
      sqs.destroy?.();
    }
  } catch (err) {
    const e = err instanceof CliError ? err : toCliError(err);
    const hint = e.exitCode === EXIT.usage ? ` Run \`${TOOL_COMMAND} ${isBackfill ? 'backfill' : `dlq${command ? ` ${command}` : ''}`} --help\`.` : '';
    note(io, `error: ${e.message}${hint}`);
    if (deps.env.MOENGAGE_ADAPTER_DEBUG && !(err instanceof CliError) && err instanceof Error && err.stack) io.err(`${err.stack}\n`);
    return e.exitCode;
  }
}

/** The bin entry: real process, Ctrl-C stops gracefully (held messages are made visible again). */
export async function run(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(`\nstopping after the current ${argv[0] === 'backfill' ? 'page (the checkpoint is written)' : 'message'} (Ctrl-C again to quit at once)...\n`);
      controller.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  try {
    process.exitCode = await main(argv, { signal: controller.signal });
  } finally {
    process.off('SIGINT', onSigint);
  }
}
