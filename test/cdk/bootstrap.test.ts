/**
 * `npx cdk bootstrap aws://ACCOUNT_ID/REGION` inside the repository (README, docs/deploy.md).
 * The CLI runs the app before it bootstraps. What it hands the app is captured from the real
 * CLI of this repository (aws-cdk, run with a stand-in app that records its environment and
 * exits 1, so that the CLI stops before any AWS call); bin/app.ts is then run with exactly that
 * environment, as the CLI would run it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCdkApp, deploysNothing, MoEngageAdapterStack, NOT_DEPLOYABLE_RULE } from '../../lib/adapter-stack';
import { MISSING_DC_MESSAGE } from '../../lib/app-config';
import { CDK_JSON_CONTEXT } from './synth';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CDK_CLI = join(ROOT, 'node_modules/aws-cdk/bin/cdk');
const dirs: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** No AWS credentials of any kind: neither the CLI nor the app can reach an account. */
function isolatedEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: tempDir('adapter-home-'),
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    AWS_CONFIG_FILE: '/nonexistent/config',
    ...extra,
  };
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, env, timeout: 90_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The CDK_* variables the CLI gave the app for `cdk bootstrap aws://123456789012/eu-west-1`. */
let given: Record<string, string>;

beforeAll(async () => {
  const dir = tempDir('adapter-bootstrap-');
  const record = join(dir, 'env.json');
  // A .js file: the CLI runs it with its own node (CommonJS: no package.json around it).
  const standIn = join(dir, 'record-env.js');
  writeFileSync(
    standIn,
    `const { writeFileSync } = require('node:fs');
writeFileSync(${JSON.stringify(record)}, JSON.stringify(Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('CDK_')))));
process.exit(1);
`,
  );
  const cli = await run(
    process.execPath,
    [CDK_CLI, 'bootstrap', 'aws://123456789012/eu-west-1', '--app', standIn, '--output', join(dir, 'cdk.out'), '--no-notices'],
    isolatedEnv({ AWS_REGION: 'eu-west-1' }),
  );
  expect(cli.code, cli.stderr).not.toBe(0); // the stand-in stops it
  expect(cli.stderr).toContain('Subprocess exited with error 1');
  given = JSON.parse(readFileSync(record, 'utf8')) as Record<string, string>;
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('cdk bootstrap inside the repository', () => {
  it('the CLI runs the app with cdk.json\'s context, no data center, and bundling off', () => {
    const context = JSON.parse(given.CDK_CONTEXT_JSON!) as Record<string, unknown>;
    expect(context['aws:cdk:bundling-stacks']).toEqual([]);
    expect(context).not.toHaveProperty('moengageDc');
    expect(context['@aws-cdk/core:checkSecretUsage']).toBe(true);
  });

  it('bin/app.ts, run that way, synthesizes a stack of the same name and region that cannot be deployed', async () => {
    const outdir = tempDir('adapter-bootstrap-out-');
    const r = await run(process.execPath, ['--import', 'tsx', 'bin/app.ts'], isolatedEnv({ ...given, CDK_OUTDIR: outdir, AWS_REGION: 'eu-west-1' }));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { type: string; environment?: string }> };
    expect(manifest.artifacts.MoEngageAdapter).toMatchObject({ type: 'aws:cloudformation:stack', environment: 'aws://unknown-account/eu-west-1' });
    const template = JSON.parse(readFileSync(join(outdir, 'MoEngageAdapter.template.json'), 'utf8')) as {
      Rules: Record<string, { Assertions: { AssertDescription: string }[] }>;
      Resources: Record<string, { Type: string }>;
    };
    expect(template.Rules[NOT_DEPLOYABLE_RULE]!.Assertions[0]!.AssertDescription).toContain(MISSING_DC_MESSAGE);
    expect(Object.values(template.Resources).map((res) => res.Type)).toEqual(['AWS::CDK::Metadata']);
  });

  it('a command that deploys (bundling on) still stops with the one-line message', async () => {
    const context = { ...(JSON.parse(given.CDK_CONTEXT_JSON!) as Record<string, unknown>), 'aws:cdk:bundling-stacks': ['**'] };
    const outdir = tempDir('adapter-deploy-out-');
    const r = await run(process.execPath, ['--import', 'tsx', 'bin/app.ts'], isolatedEnv({ ...given, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir }));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${MISSING_DC_MESSAGE}\n`);
  });
});

describe('buildCdkApp', () => {
  const app = (context: Record<string, unknown>) => new App({ context: { ...CDK_JSON_CONTEXT, ...context } });

  it('knows the commands that deploy nothing by the empty bundling-stacks list', () => {
    expect(deploysNothing(app({ 'aws:cdk:bundling-stacks': [] }))).toBe(true);
    expect(deploysNothing(app({ 'aws:cdk:bundling-stacks': ['**'] }))).toBe(false);
    expect(deploysNothing(app({}))).toBe(false);
  });

  it('with a data center, a command that deploys nothing gets the real stack', () => {
    const stack = buildCdkApp(app({ 'aws:cdk:bundling-stacks': [], moengageDc: '01' }), { processEnv: {}, nag: false });
    expect(stack).toBeInstanceOf(MoEngageAdapterStack);
  });

  it('keeps the stack name of the configuration and still reports other configuration problems', () => {
    const named = buildCdkApp(app({ 'aws:cdk:bundling-stacks': [], stackName: 'Hooks-Prod' }), { processEnv: {} });
    expect(named.stackName).toBe('Hooks-Prod');
    expect(() => buildCdkApp(app({ 'aws:cdk:bundling-stacks': [], maxRecieveCount: '3' }), { processEnv: {} })).toThrow(
      /Unknown context key maxRecieveCount \(did you mean maxReceiveCount\?\)/,
    );
    expect(() => buildCdkApp(app({ 'aws:cdk:bundling-stacks': [], moengageDc: '7' }), { processEnv: {} })).toThrow(/Invalid context moengageDc "7"/);
  });
});
