/**
 * Figure 2: bundle bytes and fresh-process import time of the receiver and sender Lambdas,
 * against a bundle of the bare SQS client built the same way.
 *
 * Build: esbuild's JS API with the options the CDK construct gives NodejsFunction
 * (lib/moengage-adapter.ts `BUNDLING`, read at run time): ESM, platform node, minify,
 * mainFields, the `require` banner, linked source map, AWS SDK bundled (no externals).
 * The bytes are those of the node24 build (what deploys); the import times are measured on
 * a node20 build of the same sources (this machine runs Node 20).
 *
 * Import time: `node --input-type=module -e "…await import(file)…"` in fresh processes, the
 * three bundles interleaved, `runs` times each; the figure is the median of the in-process
 * hrtime around the dynamic import (node's own start-up is excluded, as it is the same for all).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { median, progress, PROJECT_ROOT } from './util';

const run = promisify(execFile);

export const BUNDLE_TARGET_RATIO = 1.2;

/** The bare SQS client: the least a Lambda that talks to SQS ships. */
export const BASELINE_SOURCE = "import { SQSClient } from '@aws-sdk/client-sqs';\nexport const c = new SQSClient({});\n";

export type BundleName = 'baseline (bare SQSClient)' | 'receiver' | 'sender' | 'receiver, what-if' | 'sender, what-if';

export interface BundleRow {
  name: BundleName;
  /** A build of the same sources with one change that is not deployed (informational). */
  whatIf?: string;
  bytes: number;
  sourceMapBytes: number;
  gzipBytes: number;
  importMs: number;
  importSamples: number[];
  /** Minified bytes per package (node_modules package, or project folder), largest first. */
  byPackage: [string, number][];
}

export interface BundleResult {
  rows: BundleRow[];
  runs: number;
  target: number;
  /** The esbuild options used (as given to esbuild.build, minus entry and outfile). */
  options: Record<string, unknown>;
}

interface CdkBundling {
  format?: string;
  target?: string;
  mainFields?: string[];
  minify?: boolean;
  sourceMap?: boolean;
  externalModules?: string[];
  banner?: string;
}

/** esbuild options equivalent to the construct's NodejsFunction bundling, for `target`. */
export function esbuildOptionsFrom(bundling: CdkBundling, target: string): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    format: bundling.format === 'esm' ? 'esm' : 'cjs',
    target,
    minify: bundling.minify ?? false,
    sourcemap: bundling.sourceMap ? true : false,
    ...(bundling.mainFields ? { mainFields: bundling.mainFields } : {}),
    external: bundling.externalModules ?? [],
    ...(bundling.banner ? { banner: { js: bundling.banner } } : {}),
    logLevel: 'silent',
  };
}

/** Output bytes per node_modules package (or per project folder such as functions/core). */
export function bytesByPackage(metafile: Metafile): [string, number][] {
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

async function importMs(file: string): Promise<number> {
  const script =
    'const t = process.hrtime.bigint(); await import(process.argv[1]); ' +
    'process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));';
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(file).href], {
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', POWERTOOLS_LOG_LEVEL: 'SILENT', NODE_NO_WARNINGS: '1' },
    timeout: 60_000,
  });
  const ms = Number(stdout.trim());
  if (!Number.isFinite(ms)) throw new Error(`bundles: could not read the import time of ${file}: ${stdout.slice(0, 200)}`);
  return ms;
}

export const ZOD_WHAT_IF = "functions/ importing `* as z from 'zod'` instead of `{ z } from 'zod'`";

/**
 * What-if build: the project's `import { z } from 'zod'` read as `import * as z from 'zod'`.
 * The named import pulls zod's whole `z` namespace object (every locale, JSON Schema
 * conversion...) into the bundle; the namespace import lets esbuild drop what is unused.
 */
const zodNamespaceImport: Plugin = {
  name: 'zod-namespace-import',
  setup(b) {
    b.onLoad({ filter: /\/functions\/.*\.ts$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replace(/import \{ z \} from 'zod';/g, "import * as z from 'zod';"),
      loader: 'ts',
    }));
  },
};

export async function benchBundles(options: { runs?: number; whatIf?: boolean } = {}): Promise<BundleResult> {
  const runs = options.runs ?? 15;
  // The construct module imports aws-cdk-lib: read once, only for its BUNDLING constant.
  const { BUNDLING, RECEIVER_ENTRY, SENDER_ENTRY } = await import('../lib/moengage-adapter');
  const bundling = BUNDLING as unknown as CdkBundling;
  const deployTarget = bundling.target ?? 'node24';
  const dir = await mkdtemp(join(tmpdir(), 'moengage-bench-bundles-'));
  try {
    const entries: { name: BundleName; stdin?: string; entry?: string; plugins?: Plugin[]; whatIf?: string }[] = [
      { name: 'baseline (bare SQSClient)', stdin: BASELINE_SOURCE },
      { name: 'receiver', entry: RECEIVER_ENTRY },
      { name: 'sender', entry: SENDER_ENTRY },
    ];
    if (options.whatIf !== false) {
      entries.push(
        { name: 'receiver, what-if', entry: RECEIVER_ENTRY, plugins: [zodNamespaceImport], whatIf: ZOD_WHAT_IF },
        { name: 'sender, what-if', entry: SENDER_ENTRY, plugins: [zodNamespaceImport], whatIf: ZOD_WHAT_IF },
      );
    }
    const built: { name: BundleName; whatIf?: string; deployFile: string; localFile: string; byPackage: [string, number][] }[] = [];
    for (const e of entries) {
      const slug = e.name.replace(/[^a-z]+/g, '-');
      const files = { deployFile: join(dir, `${slug}-${deployTarget}`, 'index.mjs'), localFile: join(dir, `${slug}-node20`, 'index.mjs') };
      let byPackage: [string, number][] = [];
      for (const [target, outfile] of [
        [deployTarget, files.deployFile],
        ['node20', files.localFile],
      ] as const) {
        const opts: BuildOptions = { ...esbuildOptionsFrom(bundling, target), outfile, metafile: true };
        if (e.plugins) opts.plugins = e.plugins;
        if (e.stdin !== undefined) opts.stdin = { contents: e.stdin, resolveDir: PROJECT_ROOT, sourcefile: 'baseline-sqs.mjs', loader: 'js' };
        else if (e.entry !== undefined) opts.entryPoints = [e.entry];
        const result = await build(opts);
        if (target === deployTarget && result.metafile) byPackage = bytesByPackage(result.metafile);
      }
      built.push({ name: e.name, ...(e.whatIf ? { whatIf: e.whatIf } : {}), ...files, byPackage });
    }
    progress(`bundles built in ${dir}`);

    const samples = new Map<string, number[]>(built.map((b) => [b.name, []]));
    // One warm-up import each (file system cache), not counted.
    for (const b of built) await importMs(b.localFile);
    for (let i = 0; i < runs; i++) {
      for (const b of built) samples.get(b.name)?.push(await importMs(b.localFile));
    }

    const rows: BundleRow[] = [];
    for (const b of built) {
      const s = samples.get(b.name) ?? [];
      rows.push({
        name: b.name,
        ...(b.whatIf ? { whatIf: b.whatIf } : {}),
        bytes: (await stat(b.deployFile)).size,
        sourceMapBytes: (await stat(`${b.deployFile}.map`).catch(() => ({ size: 0 }))).size,
        gzipBytes: await gzipSize(b.deployFile),
        importMs: median(s),
        importSamples: s,
        byPackage: b.byPackage,
      });
      progress(`bundle ${b.name}: ${(await stat(b.deployFile)).size} bytes, import ${median(s).toFixed(1)} ms`);
    }
    const shown = esbuildOptionsFrom(bundling, deployTarget);
    return { rows, runs, target: BUNDLE_TARGET_RATIO, options: { ...shown, banner: bundling.banner ? '(createRequire shim, as in lib/)' : undefined } };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
