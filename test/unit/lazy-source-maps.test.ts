/**
 * functions/shared/lazy-source-maps.ts in a bundle built with the Lambda build options
 * (scripts/build.ts): a stack shows source files, lines and function names, and the source map is
 * read only when a stack is formatted, not when the bundle loads.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { displaySource } from '../../functions/shared/lazy-source-maps';
import { lambdaEntrySource, LAMBDA_BUILD_OPTIONS, PROJECT_ROOT } from '../../scripts/build';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'lazy-source-maps-'));
const bundle = join(dir, 'index.mjs');

beforeAll(async () => {
  await build({
    ...LAMBDA_BUILD_OPTIONS,
    stdin: { contents: lambdaEntrySource('test/helpers/thrower.ts'), resolveDir: PROJECT_ROOT, sourcefile: 'entry.ts', loader: 'ts' },
    outfile: bundle,
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Imports the bundle in a fresh node, optionally runs `between` (JS), invokes the handler, prints the stack. */
async function stackOf(between = '', nodeOptions = ''): Promise<string> {
  const script = [
    `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
    between,
    "try { await m.handler({ message: 'no user id' }); } catch (err) { process.stdout.write(err.stack); }",
  ].join('\n');
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) },
    timeout: 30_000,
  });
  return stdout;
}

describe('lazy source maps', () => {
  it('shows the source file, line and column of each bundled frame, with its function name', async () => {
    const stack = await stackOf();
    const lines = stack.split('\n');
    expect(lines[0]).toBe('TypeError: invalid event: no user id');
    // The map's sources are relative to the bundle (here in a temporary folder): shown without the leading ../
    expect(lines[1]).toMatch(/^ {4}at validateEvent \((?!\.\.\/)\S*test\/helpers\/thrower\.ts:7:9\)$/);
    expect(lines[2]).toMatch(/^ {4}at (Module\.)?handler \((?!\.\.\/)\S*test\/helpers\/thrower\.ts:3:10\)$/);
    expect(stack).not.toContain('index.mjs:1:');
  });

  it('reads the map only when a stack is formatted: a map that appears after the bundle loaded is used', async () => {
    const map = `${bundle}.map`;
    const hidden = `${bundle}.hidden`;
    renameSync(map, hidden);
    try {
      const stack = await stackOf(`(await import('node:fs')).renameSync(${JSON.stringify(hidden)}, ${JSON.stringify(map)});`);
      expect(stack).toMatch(/at validateEvent \(\S*test\/helpers\/thrower\.ts:7:9\)/);
    } finally {
      try {
        renameSync(hidden, map);
      } catch {
        // already moved back by the child
      }
    }
  });

  it('without a readable map: bundle positions, function names kept', async () => {
    const map = `${bundle}.map`;
    renameSync(map, `${map}.away`);
    try {
      const stack = await stackOf();
      expect(stack).toMatch(/at validateEvent \(file:\/\/.*index\.mjs:\d+:\d+\)/);
    } finally {
      renameSync(`${map}.away`, map);
    }
  });

  it('stays out of the way when Node maps stacks itself (--enable-source-maps)', async () => {
    const stack = await stackOf('', '--enable-source-maps');
    expect(stack).toMatch(/at validateEvent \(.*thrower\.ts:7:9\)/);
  });

  it('displaySource drops the leading ../ of map sources', () => {
    expect(displaySource('../../functions/shared/runtime.ts')).toBe('functions/shared/runtime.ts');
    expect(displaySource('../../node_modules/@smithy/x/index.js')).toBe('node_modules/@smithy/x/index.js');
    expect(displaySource('./a.ts')).toBe('a.ts');
  });
});
