/**
 * The deploy and on-call documentation against the code: the printed on-call command, the
 * bootstrap step, the teardown order, the context keys, PORT, and the runbook's verify step
 * (whose shell is run here).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_HELP, TOOL_HELP } from '../../bin/dlq/help';
import { APP_CONFIG_KEYS } from '../../lib/app-config';
import { TOOL_COMMAND } from '../../lib/tool-command';

const ROOT = resolve(__dirname, '../..');
const read = (path: string) => readFileSync(resolve(ROOT, path), 'utf8');
const DOCS = { 'README.md': read('README.md'), 'docs/deploy.md': read('docs/deploy.md'), 'docs/runbook.md': read('docs/runbook.md') };

/** The section of a markdown document under a heading, up to the next heading of the same level. */
function section(doc: string, heading: string): string {
  const level = /^#+/.exec(heading)![0];
  const start = doc.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no section ${heading}`);
  const rest = doc.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^${level} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}

describe('the on-call command in the docs and the help', () => {
  const texts = { ...DOCS, 'dlq --help': TOOL_HELP, ...Object.fromEntries(Object.entries(COMMAND_HELP).map(([k, v]) => [`dlq ${k} --help`, v])) };

  it.each(Object.keys(texts))('%s gives it only in the form that cannot download a package', (name) => {
    const text = texts[name as keyof typeof texts];
    const all = text.match(/moengage-adapter dlq/g) ?? [];
    const safe = text.split(`${TOOL_COMMAND} dlq`).length - 1;
    expect(all.length).toBeGreaterThan(0);
    expect(safe).toBe(all.length);
    expect(text).not.toMatch(/npx moengage-adapter/);
  });

  it('the runbook says how to get the clone the command runs from', () => {
    const tool = section(DOCS['docs/runbook.md'], '## The DLQ tool');
    for (const step of ['git clone ', 'git checkout ', 'npm ci', '--no-install']) expect(tool).toContain(step);
  });
});

describe('bootstrap', () => {
  it.each(['README.md', 'docs/deploy.md'] as const)('%s bootstraps the deployed region of the current account', (name) => {
    const doc = DOCS[name];
    const bootstrap = doc.split('\n').filter((l) => l.includes('cdk bootstrap '));
    expect(bootstrap).toHaveLength(1);
    expect(bootstrap[0]).toMatch(/^npx cdk bootstrap "aws:\/\/\$ACCOUNT_ID\/\$AWS_REGION"/);
    expect(doc).toContain('ACCOUNT_ID=$(aws sts get-caller-identity --query Account --output text)');
    expect(doc).toMatch(/^export AWS_REGION=/m);
    expect(doc).not.toMatch(/cdk bootstrap aws:\/\/ACCOUNT_ID\/us-east-1/);
  });
});

describe('teardown (docs/deploy.md)', () => {
  const teardown = section(DOCS['docs/deploy.md'], '## Teardown');

  it('takes the queue URLs and saves both queues before the destroy, and deletes the queues last', () => {
    const at = (needle: string) => {
      const i = teardown.indexOf(needle);
      expect(i, needle).toBeGreaterThanOrEqual(0);
      return i;
    };
    const order = [
      at('QUEUE_URL=$(out QueueUrl); DLQ_URL=$(out DlqUrl)'),
      at(`${TOOL_COMMAND} dlq purge --stack "$STACK" --queue main --yes`),
      at(`${TOOL_COMMAND} dlq purge --stack "$STACK" --yes`),
      at('npx cdk destroy'),
      at('aws sqs delete-queue --queue-url "$DLQ_URL"'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('names the queueRemovalPolicy values the app accepts', () => {
    expect(APP_CONFIG_KEYS).toContain('queueRemovalPolicy');
    expect(teardown).toContain('`queueRemovalPolicy` (`retain`)');
    expect(teardown).toContain('-c queueRemovalPolicy=destroy');
  });
});

describe('README', () => {
  it('documents exactly the context keys the app reads', () => {
    const table = section(DOCS['README.md'], '## Configuration');
    const documented = [...table.matchAll(/^\| `([A-Za-z0-9]+)` \|/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...APP_CONFIG_KEYS, 'configFile'].sort());
  });

  it('says which commands read PORT, and the rehearsal uses it', () => {
    const row = DOCS['README.md'].split('\n').find((l) => l.startsWith('| `PORT`'))!;
    expect(row).toContain('`npm run send`');
    expect(row).toContain('`--local`');
    const rehearsal = section(DOCS['README.md'], '### DLQ tool').split('To rehearse locally')[1]!;
    const curls = rehearsal.split('\n').filter((l) => l.startsWith('curl '));
    expect(curls).toHaveLength(2);
    for (const c of curls) expect(c).toContain('${PORT:-3000}');
    expect(rehearsal).not.toMatch(/localhost:3000|127\.0\.0\.1:3000/);
  });

  it('says when a DLQ message has no reason, and when standard has a mapping without configuration', () => {
    const dlq = section(DOCS['README.md'], '## Retries and the dead-letter queue');
    expect(dlq).toMatch(/without\*\* a reason\s+only when the sender never finished with it/);
    expect(dlq).toContain('reason `unknown`');
    const standard = section(DOCS['README.md'], '### Standard Webhooks (your own apps)');
    expect(standard).toContain('refused with 422 (field `mapping`), deployed and locally, with one');
    expect(standard).toContain('`npm run dev` started without any adapter configuration');
  });
});

describe('runbook verify step', () => {
  const verify = section(DOCS['docs/runbook.md'], '## Verify');

  it.each(Object.keys(DOCS))('%s uses no GNU-only date options (macOS has BSD date)', (name) => {
    expect(DOCS[name as keyof typeof DOCS]).not.toMatch(/\bdate [^\n]*-d /);
  });

  it('its time window, run as written, is the last hour in ISO 8601', () => {
    const lines = verify
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^(START|END)=/.test(l));
    expect(lines).toHaveLength(2);
    const out = execFileSync('sh', ['-c', `${lines.join('\n')}\nprintf '%s\\n%s\\n' "$START" "$END"`], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    const [start, end] = out.trim().split('\n').map((t) => Date.parse(t));
    expect(out.trim().split('\n').every((t) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(t))).toBe(true);
    expect(end! - start!).toBeGreaterThanOrEqual(3_600_000);
    expect(end! - start!).toBeLessThan(3_660_000);
    expect(Math.abs(Date.now() - end!)).toBeLessThan(60_000);
    expect(verify).toContain('--start-time "$START" --end-time "$END"');
  });
});
