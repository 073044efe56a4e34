/**
 * `npm run build`: everything the published package ships, built from the TypeScript sources.
 *
 *   assets/receiver/index.mjs(.map)  the receiver Lambda, bundled (the construct deploys this folder)
 *   assets/sender/index.mjs(.map)    the sender Lambda, bundled
 *   dist/index.mjs, dist/index.cjs   the construct library (lib/index.ts) for ESM and CommonJS apps
 *   dist/cli.mjs                     the `moengage-adapter` DLQ tool
 *   dist/types/**.d.ts               the library's type declarations
 *
 * This is the one place the Lambda code is bundled: `cdk synth` in this repository (cdk.json's
 * app) and the tests (vitest globalSetup) call `buildAssets()` too, so what they synthesize,
 * test and benchmark is what deploys. `tsx scripts/build.ts assets` builds the assets only.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type BuildOptions } from 'esbuild';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ASSETS_DIR = join(PROJECT_ROOT, 'assets');
export const DIST_DIR = join(PROJECT_ROOT, 'dist');

/** The Lambda handlers: asset folder name → entry file (exporting `handler`). */
export const LAMBDA_HANDLERS = {
  receiver: 'functions/receiver/handler.ts',
  sender: 'functions/sender/handler.ts',
} as const;
export type LambdaName = keyof typeof LAMBDA_HANDLERS;

/** Makes `require` work in the ESM bundle for the CommonJS dependencies that call it. */
export const REQUIRE_SHIM =
  "import { createRequire as __adapterCreateRequire } from 'node:module'; const require = __adapterCreateRequire(import.meta.url);";

/**
 * esbuild options of both Lambda bundles: one ESM file for Node.js 24, AWS SDK included (smaller
 * and faster to load than the runtime's copy), minified with function names kept, a linked
 * source map without sources (read lazily, only when an error's stack is formatted: see
 * functions/shared/lazy-source-maps.ts).
 */
export const LAMBDA_BUILD_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  sourcesContent: false,
  external: [],
  banner: { js: REQUIRE_SHIM },
  legalComments: 'none',
  logLevel: 'warning',
};

/** The bundle's entry: the lazy source-map hook first, then the handler. */
export function lambdaEntrySource(handlerFile: string): string {
  return `import './functions/shared/lazy-source-maps-install';\nexport { handler } from './${handlerFile.replace(/\.ts$/, '')}';\n`;
}

export interface BuiltAsset {
  name: LambdaName;
  dir: string;
  file: string;
}

/** Bundles both handlers into `outDir/{receiver,sender}/index.mjs` (default: assets/). */
export async function buildAssets(outDir: string = ASSETS_DIR, overrides: BuildOptions = {}): Promise<BuiltAsset[]> {
  const out: BuiltAsset[] = [];
  for (const [name, entry] of Object.entries(LAMBDA_HANDLERS) as [LambdaName, string][]) {
    const dir = join(outDir, name);
    await rm(dir, { recursive: true, force: true });
    const file = join(dir, 'index.mjs');
    await build({
      ...LAMBDA_BUILD_OPTIONS,
      ...overrides,
      stdin: { contents: lambdaEntrySource(entry), resolveDir: PROJECT_ROOT, sourcefile: `${name}-entry.ts`, loader: 'ts' },
      outfile: file,
    });
    out.push({ name, dir, file });
  }
  return out;
}

/** Runtime packages of the library and the CLI: never bundled (installed with the package). */
const LIBRARY_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
  legalComments: 'none',
};

/** The library for ESM (dist/index.mjs) and CommonJS (dist/index.cjs), and the CLI. */
export async function buildLibrary(): Promise<void> {
  await rm(DIST_DIR, { recursive: true, force: true });
  await build({ ...LIBRARY_OPTIONS, entryPoints: [join(PROJECT_ROOT, 'lib/index.ts')], format: 'esm', outfile: join(DIST_DIR, 'index.mjs') });
  await build({
    ...LIBRARY_OPTIONS,
    entryPoints: [join(PROJECT_ROOT, 'lib/index.ts')],
    format: 'cjs',
    outfile: join(DIST_DIR, 'index.cjs'),
    // `import.meta.url` (the assets are found relative to the module) in CommonJS.
    define: { 'import.meta.url': '__adapterModuleUrl' },
    banner: { js: "const __adapterModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  await build({
    ...LIBRARY_OPTIONS,
    entryPoints: [join(PROJECT_ROOT, 'bin/cli.ts')],
    format: 'esm',
    outfile: join(DIST_DIR, 'cli.mjs'),
  });
  // Declarations: CommonJS-format .d.ts (valid for `require` and `import` consumers alike).
  const tsc = join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', join(PROJECT_ROOT, 'tsconfig.build.json')], { cwd: PROJECT_ROOT });
  await writeFile(join(DIST_DIR, 'types/package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
}

async function main(): Promise<void> {
  const what = process.argv[2] ?? 'all';
  if (what !== 'all' && what !== 'assets') throw new Error(`usage: tsx scripts/build.ts [all|assets], not ${what}`);
  await mkdir(ASSETS_DIR, { recursive: true });
  const assets = await buildAssets();
  for (const a of assets) process.stdout.write(`built ${a.file.slice(PROJECT_ROOT.length)}\n`);
  if (what === 'all') {
    await buildLibrary();
    process.stdout.write('built dist/ (index.mjs, index.cjs, cli.mjs, types/)\n');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
