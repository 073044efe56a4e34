/**
 * The package as a user installs it: `npm pack`, then two CDK apps created from scratch in a
 * temporary folder install the tarball and synthesize offline (no AWS account, no Docker, no
 * esbuild, no tsx, no lock file of this repository):
 *
 *   - a TypeScript app laid out like the classic `cdk init app --language typescript`: CommonJS,
 *     ts-node (type-checking against the package's .d.ts), with the lowest aws-cdk-lib and
 *     constructs the package accepts (its peerDependencies floor);
 *   - a plain ESM JavaScript app, with this repository's aws-cdk-lib and constructs.
 *
 * Both construct `new MoEngageAdapter(stack, 'MoEngage', { moengageDc: '01' })` exactly as the
 * README's "Use it in your own CDK app" shows. Packages come from the npm cache when present.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../scripts/build';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const dev = pkg.devDependencies;
const pkgDeps = pkg as { dependencies?: Record<string, string> };
/** The lowest versions the peerDependencies accept (`^2.257.0` → 2.257.0). */
const floor = (name: string): string => (pkg.peerDependencies[name] ?? '').replace(/^[\^~>=]+/, '');
const TS_NODE_VERSION = '10.9.2';

const work = mkdtempSync(join(tmpdir(), 'moengage-consumer-'));
let tarball = '';

/** The environment of the npm and cdk commands: no telemetry, notices or update checks. */
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  CDK_DISABLE_CLI_TELEMETRY: 'true',
  CDK_DISABLE_VERSION_CHECK: 'true',
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
};

async function sh(cwd: string, file: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, env, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed in ${cwd}:\n${e.stderr ?? ''}\n${e.stdout ?? ''}\n${e.message}`);
  }
}

function write(dir: string, files: Record<string, string | object>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  }
}

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, any> }> };

/** Runs `npx cdk synth` (the app's own CDK CLI) and returns the stack's template. */
async function synth(dir: string, stack: string): Promise<Template> {
  await sh(dir, 'npx', ['--no-install', 'cdk', 'synth', '--quiet', '--no-notices', '--no-version-reporting']);
  return JSON.parse(readFileSync(join(dir, 'cdk.out', `${stack}.template.json`), 'utf8')) as Template;
}

function ofType(t: Template, type: string): [string, Record<string, any>][] {
  return Object.entries(t.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties ?? {}]);
}

/** The receiver with its Function URL (and both URL permissions), the sender with its SQS event source, the queue with its DLQ. */
function expectAdapter(t: Template, dir: string): void {
  const fns = ofType(t, 'AWS::Lambda::Function');
  const receiver = fns.find(([id]) => id.startsWith('MoEngageReceiver'));
  const sender = fns.find(([id]) => id.startsWith('MoEngageSender'));
  expect(receiver, 'receiver function').toBeDefined();
  expect(sender, 'sender function').toBeDefined();
  for (const [, p] of [receiver!, sender!]) expect(p).toMatchObject({ Runtime: 'nodejs24.x', Handler: 'index.handler', Architectures: ['arm64'] });

  const urls = ofType(t, 'AWS::Lambda::Url');
  expect(urls).toHaveLength(1);
  expect(urls[0]![1]).toMatchObject({ AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': [receiver![0], 'Arn'] } });
  const actions = ofType(t, 'AWS::Lambda::Permission')
    .filter(([, p]) => JSON.stringify(p.FunctionName).includes(receiver![0]))
    .map(([, p]) => p.Action as string);
  expect(actions.sort()).toEqual(['lambda:InvokeFunction', 'lambda:InvokeFunctionUrl']);

  const queues = ofType(t, 'AWS::SQS::Queue');
  const main = queues.find(([, p]) => p.RedrivePolicy !== undefined);
  expect(main, 'main queue with a redrive policy').toBeDefined();
  const dlqId = (main![1].RedrivePolicy.deadLetterTargetArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  expect(queues.map(([id]) => id)).toContain(dlqId);

  const esm = ofType(t, 'AWS::Lambda::EventSourceMapping');
  expect(esm).toHaveLength(1);
  expect(esm[0]![1]).toMatchObject({
    EventSourceArn: { 'Fn::GetAtt': [main![0], 'Arn'] },
    FunctionName: { Ref: sender![0] },
    FunctionResponseTypes: ['ReportBatchItemFailures'],
  });

  // The staged code is the package's prebuilt bundle.
  for (const [, p] of [receiver!, sender!]) {
    const key = (p.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
    const staged = join(dir, 'cdk.out', `asset.${key}`);
    expect(readdirSync(staged).sort()).toEqual(['index.mjs', 'index.mjs.map']);
  }
}

beforeAll(async () => {
  // `npm pack` runs the prepack script: `npm run build`.
  const out = await sh(PROJECT_ROOT, 'npm', ['pack', '--silent', '--pack-destination', work]);
  tarball = join(work, out.trim().split('\n').pop() ?? '');
  expect(existsSync(tarball)).toBe(true);
}, 600_000);

// Two apps' node_modules: removing them takes a while on a loaded machine.
afterAll(() => rm(work, { recursive: true, force: true }), 600_000);

describe('the packed tarball', () => {
  it('holds the built library, types, assets and CLI, and no sources, tests or fixtures', async () => {
    const list = await sh(work, 'tar', ['-tzf', tarball]);
    const files = list.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const f of ['package.json', 'README.md', 'dist/index.mjs', 'dist/index.cjs', 'dist/cli.mjs', 'dist/types/lib/index.d.ts', 'assets/receiver/index.mjs', 'assets/sender/index.mjs', 'bin/moengage-adapter.mjs']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /^(test|functions|lib|local|bench|scripts)\//.test(f) || f.endsWith('.test.ts') || /\/cli\.ts$/.test(f))).toEqual([]);
  });

  it('declares every package dist/ imports as a dependency or peer dependency', () => {
    const declared = new Set([...Object.keys(pkgDeps.dependencies ?? {}), ...Object.keys(pkg.peerDependencies)]);
    const imported = new Set<string>();
    for (const file of ['index.mjs', 'index.cjs', 'cli.mjs']) {
      const text = readFileSync(join(PROJECT_ROOT, 'dist', file), 'utf8');
      for (const m of text.matchAll(/(?:from|import|require\()\s*["']([^."'][^"']*)["']/g)) {
        const spec = m[1]!;
        if (spec.startsWith('node:')) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    expect([...imported].filter((p) => !declared.has(p))).toEqual([]);
  });
});

describe('a cdk-init-style TypeScript app (CommonJS, ts-node), at the peerDependencies floor', () => {
  const dir = join(work, 'ts-app');
  it('installs the tarball and synthesizes offline', async () => {
    write(dir, {
      'package.json': {
        name: 'ts-app',
        version: '0.1.0',
        private: true,
        bin: { 'ts-app': 'bin/ts-app.js' },
        scripts: { build: 'tsc', cdk: 'cdk' },
        devDependencies: { '@types/node': dev['@types/node'], 'aws-cdk': dev['aws-cdk'], 'ts-node': TS_NODE_VERSION, typescript: dev.typescript },
        dependencies: { 'aws-cdk-lib': floor('aws-cdk-lib'), constructs: floor('constructs'), [pkg.name]: `file:${tarball}` },
      },
      'tsconfig.json': {
        compilerOptions: {
          target: 'ES2020',
          module: 'commonjs',
          lib: ['es2020', 'dom'],
          declaration: true,
          strict: true,
          noImplicitAny: true,
          strictNullChecks: true,
          noImplicitThis: true,
          alwaysStrict: true,
          noUnusedLocals: false,
          noUnusedParameters: false,
          noImplicitReturns: true,
          noFallthroughCasesInSwitch: false,
          inlineSourceMap: true,
          inlineSources: true,
          experimentalDecorators: true,
          strictPropertyInitialization: false,
          typeRoots: ['./node_modules/@types'],
        },
        exclude: ['node_modules', 'cdk.out'],
      },
      'cdk.json': { app: 'npx ts-node --prefer-ts-exts bin/ts-app.ts' },
      'bin/ts-app.ts': [
        '#!/usr/bin/env node',
        "import * as cdk from 'aws-cdk-lib';",
        "import { TsAppStack } from '../lib/ts-app-stack';",
        '',
        'const app = new cdk.App();',
        "new TsAppStack(app, 'TsAppStack');",
        '',
      ].join('\n'),
      'lib/ts-app-stack.ts': [
        "import * as cdk from 'aws-cdk-lib';",
        "import { Construct } from 'constructs';",
        "import { MoEngageAdapter } from 'moengage-webhook-adapter';",
        '',
        'export class TsAppStack extends cdk.Stack {',
        '  constructor(scope: Construct, id: string, props?: cdk.StackProps) {',
        '    super(scope, id, props);',
        "    const adapter = new MoEngageAdapter(this, 'MoEngage', { moengageDc: '01' });",
        "    new cdk.CfnOutput(this, 'WebhookBaseUrl', { value: adapter.webhookBaseUrl });",
        '  }',
        '}',
        '',
      ].join('\n'),
    });
    await sh(dir, 'npm', ['install', '--prefer-offline', '--ignore-scripts']);
    expectAdapter(await synth(dir, 'TsAppStack'), dir);
  }, 900_000);
});

describe('a plain ESM JavaScript app', () => {
  const dir = join(work, 'esm-app');
  it('installs the tarball and synthesizes offline', async () => {
    write(dir, {
      'package.json': {
        name: 'esm-app',
        version: '0.1.0',
        private: true,
        type: 'module',
        devDependencies: { 'aws-cdk': dev['aws-cdk'] },
        dependencies: { 'aws-cdk-lib': dev['aws-cdk-lib'], constructs: dev.constructs, [pkg.name]: `file:${tarball}` },
      },
      'cdk.json': { app: 'node bin/app.js' },
      'bin/app.js': [
        "import { App, CfnOutput, Stack } from 'aws-cdk-lib';",
        "import { MoEngageAdapter } from 'moengage-webhook-adapter';",
        '',
        'const app = new App();',
        "const stack = new Stack(app, 'EsmAppStack');",
        "const adapter = new MoEngageAdapter(stack, 'MoEngage', { moengageDc: '01' });",
        "new CfnOutput(stack, 'WebhookBaseUrl', { value: adapter.webhookBaseUrl });",
        '',
      ].join('\n'),
    });
    await sh(dir, 'npm', ['install', '--prefer-offline', '--ignore-scripts']);
    expectAdapter(await synth(dir, 'EsmAppStack'), dir);
    // Nothing of the build came along; the DLQ tool (the package's bin) runs from dist/.
    for (const tool of ['esbuild', 'tsx', 'typescript']) expect(existsSync(join(dir, 'node_modules', tool)), tool).toBe(false);
    expect(await sh(dir, 'npx', ['--no-install', 'moengage-adapter', '--help'])).toContain('moengage-adapter dlq <command>');
  }, 900_000);
});
