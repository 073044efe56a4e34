/**
 * README → DLQ tool → "To rehearse locally": every line of that block, run as written by a
 * shell with PORT set to a running `npm run dev` (on a free port, not 3000): the curl switches,
 * `npm run send`, and the on-call command itself (`npx --no-install moengage-adapter ...`).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOL_COMMAND } from '../../lib/tool-command';
import { startDev, type DevHandle } from '../../local/dev';
import { waitFor } from '../helpers/wait';

const ROOT = resolve(__dirname, '../..');

/** The shell lines of the rehearsal block (comments after `#` stripped). */
function rehearsalLines(): string[] {
  const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
  const after = readme.split('To rehearse locally')[1]!;
  const block = /```bash\n([\s\S]*?)```/.exec(after)![1]!;
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

function sh(line: string, port: number): Promise<{ code: number; stdout: string; stderr: string }> {
  // Only what a terminal would have: no handler variables of this test process.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), CDK_DISABLE_CLI_TELEMETRY: 'true' };
  return new Promise((done) => {
    execFile('sh', ['-c', line], { cwd: ROOT, env, timeout: 90_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

async function depth(dev: DevHandle, url: string): Promise<number> {
  const a = await dev.sqs.client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(a.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

describe('README: the local DLQ rehearsal, as written', () => {
  let dev: DevHandle;
  beforeAll(async () => {
    dev = await startDev({ env: {}, port: 0, sqsPort: 0, quiet: true, poller: { waitTimeSeconds: 0 } });
  });
  afterAll(async () => {
    await dev?.stop();
  });

  it('parks a refused event, lists it, and redrives it once MoEngage accepts again', { timeout: 180_000 }, async () => {
    const lines = rehearsalLines();
    expect(lines).toEqual([
      expect.stringMatching(/^curl .*\{"mode":"reject"\}'$/),
      'npm run send -- clerk',
      `${TOOL_COMMAND} dlq list --local`,
      expect.stringMatching(/^curl .*\{"mode":"accept"\}'$/),
      `${TOOL_COMMAND} dlq redrive --local`,
    ]);
    const [reject, send, list, accept, redrive] = lines as [string, string, string, string, string];

    expect((await sh(reject, dev.port)).code).toBe(0);
    const sent = await sh(send, dev.port);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain(`POST http://127.0.0.1:${dev.port}/webhooks/clerk`);
    await waitFor(async () => (await depth(dev, dev.status().dlqUrl)) === 1, 'the refused event in the DLQ');

    const listed = await sh(list, dev.port);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/clerk\s+user\.created\s+\S+\s+moengage_rejected\s+400/);

    expect((await sh(accept, dev.port)).code).toBe(0);
    const redriven = await sh(redrive, dev.port);
    expect(redriven.code, redriven.stderr).toBe(0);
    expect(redriven.stdout).toBe('Moved 1 message(s) to the main queue; skipped 0; failed 0.\n');
    await waitFor(() => dev.emulator!.accepted.length === 1, 'the redriven event delivered');
    expect(await depth(dev, dev.status().dlqUrl)).toBe(0);
  });
});
