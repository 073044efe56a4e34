/** docs/runbook.md covers every alarm the stack creates, every failure reason and every exit code. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REASON_CODES } from '../../bin/dlq/entry';
import { EXIT } from '../../bin/dlq/errors';
import { EXIT_CODES } from '../../bin/dlq/help';
import { ALARM_IDS } from '../../lib/observability';

const runbook = readFileSync(resolve(__dirname, '../../docs/runbook.md'), 'utf8');

describe('docs/runbook.md', () => {
  it.each(ALARM_IDS)('has a section for alarm %s (the anchor its alarm description links to)', (id) => {
    expect(runbook).toMatch(new RegExp(`^## ${id}$`, 'm'));
    const section = runbook.split(new RegExp(`^## ${id}$`, 'm'))[1]!.split(/^## /m)[0]!;
    for (const part of ['**What it means.**', '**Diagnose.**', '**Fix.**', '**Redrive.**', '**Verify.**']) expect(section).toContain(part);
  });

  it('lists every failure reason code in its table', () => {
    for (const code of REASON_CODES) expect(runbook).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });

  it('documents the exit codes the tool uses, like --help does', () => {
    for (const code of Object.values(EXIT)) {
      expect(runbook).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
      expect(EXIT_CODES).toMatch(new RegExp(`^ {2}${code} {2}\\S`, 'm'));
    }
  });

  it('shows the secret rotation and the redrive commands', () => {
    expect(runbook).toContain('aws secretsmanager put-secret-value --secret-id <MoEngageSecretName>');
    expect(runbook).toContain('npx --no-install moengage-adapter dlq redrive --stack "$STACK" --reason');
  });
});
