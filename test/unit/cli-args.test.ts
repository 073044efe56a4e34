import { describe, expect, it } from 'vitest';
import { main, type CliDeps } from '../../bin/cli';
import { COMMANDS } from '../../bin/dlq/help';
import type { Output } from '../../bin/dlq/types';

/** Deps that fail the test if anything tries to connect: usage errors are found before any I/O. */
function offline() {
  let out = '';
  let err = '';
  const io: Output = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const deps: Partial<CliDeps> = {
    io,
    env: {},
    fetch: (() => {
      throw new Error('fetch must not be called');
    }) as typeof fetch,
    createSqs: () => {
      throw new Error('no SQS client must be created');
    },
    createCfn: () => {
      throw new Error('no CloudFormation client must be created');
    },
  };
  return { deps, out: () => out, err: () => err, errLines: () => err.split('\n').filter(Boolean) };
}

describe('--help', () => {
  it('prints the tool help with the commands and the exit codes (exit 0)', async () => {
    const t = offline();
    expect(await main(['--help'], t.deps)).toBe(0);
    expect(t.out()).toContain('Usage: npx --no-install moengage-adapter dlq <command> [options]');
    for (const c of COMMANDS) expect(t.out()).toMatch(new RegExp(`^  ${c}\\s`, 'm'));
    expect(t.out()).toMatch(/^ {2}0 {2}done$/m);
    expect(t.out()).toMatch(/^ {2}3 {2}configuration or connection error/m);
    expect(t.err()).toBe('');
    const viaDlq = offline();
    expect(await main(['dlq', '--help'], viaDlq.deps)).toBe(0);
    expect(viaDlq.out()).toBe(t.out());
  });

  it.each(COMMANDS)('dlq %s --help (exit 0, even with other options)', async (command) => {
    const t = offline();
    expect(await main(['dlq', command, '--local', '--help'], t.deps)).toBe(0);
    expect(t.out()).toContain(`Usage: npx --no-install moengage-adapter dlq ${command}`);
    expect(t.out()).toContain('Exit codes:');
    expect(t.out()).toContain('--stack NAME');
  });

  it('says in list --help that the JSON keeps the customer id unmasked', async () => {
    const t = offline();
    await main(['dlq', 'list', '-h'], t.deps);
    expect(t.out()).toContain('customerId is NOT masked');
  });

  it('no arguments: help on stderr, exit 2', async () => {
    const t = offline();
    expect(await main([], t.deps)).toBe(2);
    expect(t.err()).toContain('Usage:');
    expect(t.out()).toBe('');
  });
});

describe('usage errors: exit 2, one line, nothing contacted', () => {
  it.each([
    [['frobnicate'], 'error: Unknown command "frobnicate": the tool has `dlq <list|redrive|export|purge>` and `backfill <source>`.'],
    [['dlq', 'peek'], 'error: Unknown dlq command "peek": use one of list, redrive, export, purge.'],
    [['dlq', 'list'], 'error: Choose the queues: --stack NAME, --queue-url URL --dlq-url URL, or --local.'],
    [['dlq', 'list', '--stack', 's', '--local'], 'error: Use only one of --stack, --queue-url/--dlq-url and --local.'],
    [['dlq', 'list', '--queue-url', 'https://sqs.eu-west-1.amazonaws.com/1/q'], 'error: Give both --queue-url (the main queue) and --dlq-url (its dead-letter queue).'],
    [['dlq', 'list', '--queue-url', 'not a url', '--dlq-url', 'https://x/y'], undefined],
    [['dlq', 'list', '--stack', 's', '--endpoint', 'http://127.0.0.1:9324'], 'error: --endpoint goes with --queue-url and --dlq-url (--local finds the endpoint itself).'],
    [['dlq', 'list', '--stack', 's', '--port', '3000'], 'error: --port goes with --local.'],
    [['dlq', 'list', '--local', '--port', '99999'], 'error: --port must be a port number (1-65535), got "99999"'],
    [['dlq', 'list', '--local', '--region', 'eu-west-1'], 'error: --region does not go with --local (the local run is always us-east-1).'],
    [['dlq', 'list', '--local', '--bogus'], 'error: Unknown option --bogus for `dlq list`.'],
    [['dlq', 'list', '--local', '--yes'], 'error: Unknown option --yes for `dlq list`.'],
    [['dlq', 'list', '--local', '--limit'], 'error: --limit needs a value.'],
    [['dlq', 'list', '--local', '--json=yes'], 'error: --json takes no value.'],
    [['dlq', 'list', '--local', 'extra'], 'error: Unexpected argument extra for `dlq list`.'],
    [['dlq', 'list', '--local', '--limit', '0'], 'error: --limit must be a whole number of 1 or more, got "0".'],
    [['dlq', 'list', '--local', '--limit', '2.5'], 'error: --limit must be a whole number of 1 or more, got "2.5".'],
    [['dlq', 'list', '--local', '--reason', 'boom'], undefined],
    [['dlq', 'list', '--local', '--source', 'github'], undefined],
    [['dlq', 'redrive', '--local', '--rate', '-1'], 'error: --rate needs a value (write --rate=VALUE for one that starts with a dash).'],
    [['dlq', 'redrive', '--local', '--rate=0'], 'error: --rate must be a positive number, got "0".'],
    [['dlq', 'export', '--local'], 'error: export needs --out FILE.jsonl.'],
    [['dlq', 'purge', '--local'], undefined],
    [['dlq', 'purge', '--local', '--yes', '--no-export', '--out', 'f.jsonl'], 'error: --out and --no-export contradict each other.'],
  ])('%j', async (argv, expected) => {
    const t = offline();
    expect(await main(argv, t.deps)).toBe(2);
    expect(t.errLines()).toHaveLength(1);
    const lineText = t.errLines()[0]!;
    expect(lineText).toMatch(/^error: .* Run `npx --no-install moengage-adapter dlq( \w+)? --help`\.$/);
    if (expected) expect(lineText.startsWith(expected)).toBe(true);
    expect(t.out()).toBe('');
  });

  it('names the valid codes for a bad --reason', async () => {
    const t = offline();
    await main(['dlq', 'list', '--local', '--reason', 'boom'], t.deps);
    expect(t.err()).toContain('--reason must be one of: moengage_rejected, payload_too_large');
    expect(t.err()).toContain('unknown');
  });

  it('purge without --yes says how to confirm', async () => {
    const t = offline();
    expect(await main(['dlq', 'purge', '--stack', 'adapter-prod'], t.deps)).toBe(2);
    expect(t.err()).toMatch(/^error: purge deletes every message in the DLQ: add --yes to confirm/);
  });
});
