/**
 * bin/app.ts as the CDK CLI runs it (context in CDK_CONTEXT_JSON, output in CDK_OUTDIR):
 * configuration errors are one clean line and exit code 1; a valid configuration synthesizes
 * with cdk-nag registered. The functions' code is the assets/ bundles (test/global-setup.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MISSING_DC_MESSAGE } from '../../lib/app-config';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const outdirs: string[] = [];

function runApp(context: Record<string, unknown>): Promise<{ code: number; stdout: string; stderr: string; outdir: string }> {
  const outdir = mkdtempSync(join(tmpdir(), 'adapter-cdk-out-'));
  outdirs.push(outdir);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'test',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CDK_CONTEXT_JSON: JSON.stringify(context),
    CDK_OUTDIR: outdir,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'bin/app.ts'], { cwd: ROOT, env, timeout: 90_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr, outdir });
    });
  });
}

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

describe('bin/app.ts', () => {
  it('without a data center: exactly the one-line message on stderr, exit code 1, no stack trace', async () => {
    const r = await runApp({});
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${MISSING_DC_MESSAGE}\n`);
    expect(r.stdout).toBe('');
    expect(existsSync(join(r.outdir, 'manifest.json'))).toBe(false);
  });

  it('with an invalid data center: one line naming it', async () => {
    const r = await runApp({ moengageDc: '7' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Invalid context moengageDc "7": pass -c moengageDc=01 (one of 01, 02, 03, 04, 05, 06, 101)\n');
  });

  it('with moengageDc=01: synthesizes the stack, cdk-nag finds nothing', async () => {
    const r = await runApp({ moengageDc: '01' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const template = JSON.parse(readFileSync(join(r.outdir, 'MoEngageAdapter.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
    const types = Object.values(template.Resources).map((res) => res.Type);
    expect(types.filter((t) => t === 'AWS::Lambda::Function')).toHaveLength(2);
    expect(types.filter((t) => t === 'AWS::SQS::Queue')).toHaveLength(2);
    const report = JSON.parse(readFileSync(join(r.outdir, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] };
    expect(report.pluginReports).toEqual([]);
  });
});
