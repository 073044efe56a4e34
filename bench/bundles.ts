/**
 * Figure 2: cold start as Lambda pays it. Bytes and fresh-process import time of the deployed
 * receiver and sender bundles, against a bundle of the bare SQS client built and run the same way.
 *
 * Bundles: scripts/build.ts `buildAssets()` (the one bundling path: what `npm run build`, `cdk
 * synth` and the tests use, and what the package ships), into a scratch folder; the baseline with
 * the same esbuild options (`LAMBDA_BUILD_OPTIONS`).
 *
 * Import time: on Node.js 24 (Lambda's nodejs24.x; `npx -p node@24` when this machine runs
 * another), with each function's environment from the synthesized template (NODE_OPTIONS
 * included when the template sets it; tokens such as queue URLs replaced by placeholders) plus
 * what Lambda sets (AWS_REGION, AWS_LAMBDA_FUNCTION_NAME...). `node --input-type=module -e
 * "…await import(file)…"` in fresh processes, all bundles interleaved, `runs` times each; the
 * figure is the median of the in-process hrtime around the dynamic import (node's own start-up
 * is excluded, as it is the same for all).
 *
 * "before" rows: the previous deployment for comparison (NodejsFunction's bundling without
 * keepNames, source contents in the map, NODE_OPTIONS=--enable-source-maps), against a baseline
 * run the same way.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { buildAdapterApp } from '../lib/adapter-stack';
import { buildAssets, LAMBDA_BUILD_OPTIONS, LAMBDA_HANDLERS, PROJECT_ROOT, REQUIRE_SHIM } from '../scripts/build';
import { node24Binary } from '../scripts/node24';
import { median, progress } from './util';

const run = promisify(execFile);

const BUNDLE_TARGET_RATIO = 1.2;

/** The bare SQS client: the least a Lambda that talks to SQS ships. */
const BASELINE_SOURCE = "import { SQSClient } from '@aws-sdk/client-sqs';\nexport const c = new SQSClient({});\n";

/** What the "before" rows ran with: the deployment before the prebuilt assets. */
export const BEFORE_SETTINGS = 'NODE_OPTIONS=--enable-source-maps, no keepNames, sources in the map';
const BEFORE_NOTE = `the previous deployment: ${BEFORE_SETTINGS}`;

export type BundleName = 'baseline (bare SQSClient)' | 'receiver' | 'sender' | 'baseline, before' | 'receiver, before' | 'sender, before';

export interface BundleRow {
  name: BundleName;
  /** The row its ratios are computed against. */
  baseline: BundleName;
  /** A build or environment that is not deployed (informational). */
  whatIf?: string;
  bytes: number;
  sourceMapBytes: number;
  gzipBytes: number;
  /** Median wall-clock ms of the import (what a cold start waits). */
  importMs: number;
  importSamples: number[];
  /** Median CPU ms of the import (user + system, all threads: insensitive to other load on the machine). */
  importCpuMs: number;
  importCpuSamples: number[];
  /** Minified bytes per package (node_modules package, or project folder), largest first. */
  byPackage: [string, number][];
  /** NODE_OPTIONS of the run ('' when unset). */
  nodeOptions: string;
}

export interface BundleResult {
  rows: BundleRow[];
  runs: number;
  target: number;
  /** The Node.js version the imports ran on. */
  node: string;
  /** The esbuild options of the deployed bundles (as given to esbuild.build, minus entry and outfile). */
  options: Record<string, unknown>;
  /** The receiver's environment as measured (placeholders for tokens). */
  environment: Record<string, string>;
}

/** The options the construct used to give NodejsFunction (before the prebuilt assets). */
const BEFORE_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: true,
  external: [],
  banner: { js: REQUIRE_SHIM },
  logLevel: 'warning',
};

/** What Lambda itself sets in a function's environment (values as in us-east-1). */
const LAMBDA_RUNTIME_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
  AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
  LAMBDA_TASK_ROOT: '/var/task',
  TZ: ':UTC',
};

/**
 * Each function's environment from the synthesized default stack (`cdk synth -c moengageDc=01`),
 * with unresolved values (queue URLs, secret ARNs) replaced by placeholders of the same shape.
 */
export function templateEnvironments(): Record<'receiver' | 'sender', Record<string, string>> {
  const app = new App({ context: { moengageDc: '01' } });
  const stack = buildAdapterApp(app, { processEnv: {}, nag: false });
  const template = app.synth().getStackArtifact(stack.artifactId).template as {
    Resources: Record<string, { Type: string; Properties?: { Description?: string; Environment?: { Variables?: Record<string, unknown> } } }>;
  };
  const out: Partial<Record<'receiver' | 'sender', Record<string, string>>> = {};
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const name = id.includes('Receiver') ? 'receiver' : id.includes('Sender') ? 'sender' : undefined;
    if (!name) continue;
    const vars = r.Properties?.Environment?.Variables ?? {};
    out[name] = Object.fromEntries(
      Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : placeholder(k)]),
    );
  }
  if (!out.receiver || !out.sender) throw new Error('bundles: the synthesized template has no receiver or sender function');
  return out as Record<'receiver' | 'sender', Record<string, string>>;
}

function placeholder(name: string): string {
  if (name.endsWith('_ARN')) return 'arn:aws:secretsmanager:us-east-1:123456789012:secret:placeholder-AbCdEf';
  if (name.includes('QUEUE_URL') || name.includes('DLQ_URL')) return 'https://sqs.us-east-1.amazonaws.com/123456789012/placeholder.fifo';
  return 'placeholder';
}

/** Output bytes per node_modules package (or per project folder such as functions/core). */
function bytesByPackage(metafile: Metafile): [string, number][] {
  const by = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [file, input] of Object.entries(output.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
      const key = m?.[1] ?? file.split('/').slice(0, 2).join('/');
      by.set(key, (by.get(key) ?? 0) + input.bytesInOutput);
    }
  }
  return [...by].sort((a, b) => b[1] - a[1]);
}

/** What `bundle` adds over `baseline`, per package (positive deltas only), largest first. */
export function packageDeltas(bundle: [string, number][], baseline: [string, number][]): [string, number][] {
  const base = new Map(baseline);
  return bundle
    .map(([k, v]): [string, number] => [k, v - (base.get(k) ?? 0)])
    .filter(([, d]) => d > 0)
    .sort((a, b) => b[1] - a[1]);
}

async function gzipSize(file: string): Promise<number> {
  const { gzipSync } = await import('node:zlib');
  return gzipSync(await readFile(file), { level: 9 }).length;
}

/** Wall-clock and CPU (user + system, all threads) milliseconds of one fresh-process import. */
async function importMs(node: string, file: string, env: Record<string, string>): Promise<{ wall: number; cpu: number }> {
  const script =
    'const c = process.cpuUsage(); const t = process.hrtime.bigint(); await import(process.argv[1]); ' +
    'const w = Number(process.hrtime.bigint() - t) / 1e6; const u = process.cpuUsage(c); ' +
    'process.stdout.write(w + " " + (u.user + u.system) / 1000);';
  const { stdout } = await run(node, ['--input-type=module', '-e', script, pathToFileURL(file).href], {
    env: { PATH: process.env.PATH ?? '', ...LAMBDA_RUNTIME_ENV, ...env, POWERTOOLS_LOG_LEVEL: 'SILENT' },
    timeout: 60_000,
  });
  const [wall, cpu] = stdout.trim().split(' ').map(Number);
  if (!Number.isFinite(wall) || !Number.isFinite(cpu)) throw new Error(`bundles: could not read the import time of ${file}: ${stdout.slice(0, 200)}`);
  return { wall: wall as number, cpu: cpu as number };
}

interface Built {
  name: BundleName;
  baseline: BundleName;
  whatIf?: string;
  file: string;
  env: Record<string, string>;
  byPackage: [string, number][];
}

async function buildOne(options: BuildOptions, outfile: string, input: { stdin?: string; entry?: string }): Promise<[string, number][]> {
  const opts: BuildOptions = { ...options, outfile, metafile: true };
  if (input.stdin !== undefined) opts.stdin = { contents: input.stdin, resolveDir: PROJECT_ROOT, sourcefile: 'baseline-sqs.mjs', loader: 'js' };
  else if (input.entry !== undefined) opts.entryPoints = [join(PROJECT_ROOT, input.entry)];
  const result = await build(opts);
  return result.metafile ? bytesByPackage(result.metafile) : [];
}

export async function benchBundles(options: { runs?: number; before?: boolean } = {}): Promise<BundleResult> {
  const runs = options.runs ?? 15;
  const node = await node24Binary();
  const nodeVersion = (await run(node, ['--version'])).stdout.trim();
  const envs = templateEnvironments();
  const dir = await mkdtemp(join(tmpdir(), 'moengage-bench-bundles-'));
  try {
    const built: Built[] = [];
    // The deployed bundles, by the build script itself (metafile for the per-package bytes).
    const metas = new Map<string, [string, number][]>();
    const assets = await buildAssets(join(dir, 'assets'), { metafile: true });
    for (const a of assets) {
      const r = await build({ ...LAMBDA_BUILD_OPTIONS, entryPoints: [join(PROJECT_ROOT, LAMBDA_HANDLERS[a.name])], outfile: join(dir, 'meta', a.name, 'index.mjs'), metafile: true, write: false });
      metas.set(a.name, r.metafile ? bytesByPackage(r.metafile) : []);
    }
    const baseFile = join(dir, 'baseline', 'index.mjs');
    built.push({ name: 'baseline (bare SQSClient)', baseline: 'baseline (bare SQSClient)', file: baseFile, env: envs.receiver, byPackage: await buildOne(LAMBDA_BUILD_OPTIONS, baseFile, { stdin: BASELINE_SOURCE }) });
    for (const a of assets) built.push({ name: a.name, baseline: 'baseline (bare SQSClient)', file: a.file, env: envs[a.name], byPackage: metas.get(a.name) ?? [] });
    if (options.before !== false) {
      const withMaps = (env: Record<string, string>) => ({ ...env, NODE_OPTIONS: '--enable-source-maps' });
      const beforeBase = join(dir, 'baseline-before', 'index.mjs');
      built.push({ name: 'baseline, before', baseline: 'baseline, before', whatIf: BEFORE_NOTE, file: beforeBase, env: withMaps(envs.receiver), byPackage: await buildOne(BEFORE_OPTIONS, beforeBase, { stdin: BASELINE_SOURCE }) });
      for (const name of ['receiver', 'sender'] as const) {
        const file = join(dir, `${name}-before`, 'index.mjs');
        built.push({ name: `${name}, before`, baseline: 'baseline, before', whatIf: BEFORE_NOTE, file, env: withMaps(envs[name]), byPackage: await buildOne(BEFORE_OPTIONS, file, { entry: LAMBDA_HANDLERS[name] }) });
      }
    }
    progress(`bundles built in ${dir}; importing on ${nodeVersion}`);

    const samples = new Map<string, number[]>(built.map((b) => [b.name, []]));
    const cpuSamples = new Map<string, number[]>(built.map((b) => [b.name, []]));
    // One warm-up import each (file system cache), not counted.
    for (const b of built) await importMs(node, b.file, b.env);
    for (let i = 0; i < runs; i++) {
      for (const b of built) {
        const m = await importMs(node, b.file, b.env);
        samples.get(b.name)?.push(m.wall);
        cpuSamples.get(b.name)?.push(m.cpu);
      }
    }

    const rows: BundleRow[] = [];
    for (const b of built) {
      const s = samples.get(b.name) ?? [];
      rows.push({
        name: b.name,
        baseline: b.baseline,
        ...(b.whatIf ? { whatIf: b.whatIf } : {}),
        bytes: (await stat(b.file)).size,
        sourceMapBytes: (await stat(`${b.file}.map`).catch(() => ({ size: 0 }))).size,
        gzipBytes: await gzipSize(b.file),
        importMs: median(s),
        importSamples: s,
        importCpuMs: median(cpuSamples.get(b.name) ?? []),
        importCpuSamples: cpuSamples.get(b.name) ?? [],
        byPackage: b.byPackage,
        nodeOptions: b.env.NODE_OPTIONS ?? '',
      });
      progress(`bundle ${b.name}: ${(await stat(b.file)).size} bytes, import ${median(s).toFixed(1)} ms wall, ${median(cpuSamples.get(b.name) ?? []).toFixed(1)} ms CPU`);
    }
    const { banner: _banner, logLevel: _logLevel, ...shown } = LAMBDA_BUILD_OPTIONS;
    return {
      rows,
      runs,
      target: BUNDLE_TARGET_RATIO,
      node: nodeVersion,
      options: { ...shown, banner: '(createRequire shim)' },
      environment: { ...LAMBDA_RUNTIME_ENV, ...envs.receiver },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
