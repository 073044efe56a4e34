/**
 * The layering of docs/architecture.md, read from the import lines of every source file: what
 * each layer may import (other layers, npm packages, Node.js built-ins) and no import cycle
 * between files. A new edge either fits a rule here or changes the page and this table together.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');

/** Layer → the layers it may import from (besides itself). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  'functions/core': [],
  'functions/sources': ['functions/core'],
  'functions/shared': ['functions/core'],
  'functions/receiver': ['functions/core', 'functions/sources', 'functions/shared'],
  'functions/sender': ['functions/core', 'functions/shared'],
  lib: ['functions/core', 'functions/sources'],
  local: ['functions/core', 'functions/sources', 'functions/shared', 'functions/receiver', 'functions/sender', 'lib'],
  bin: ['functions/core', 'functions/sources', 'functions/shared', 'lib', 'dist'],
  bench: ['functions/core', 'functions/sources', 'functions/shared', 'functions/receiver', 'functions/sender', 'lib', 'local', 'scripts'],
  scripts: [],
};

/** The pure layers: the npm packages and Node.js built-ins they may use (no I/O). */
const PURE: Record<string, { packages: readonly string[]; builtins: readonly string[] }> = {
  'functions/core': { packages: ['zod'], builtins: ['node:crypto', 'node:buffer'] },
  'functions/sources': { packages: [], builtins: ['node:crypto', 'node:buffer'] },
};

function layerOf(rel: string): string {
  const [top, second] = rel.split('/');
  return top === 'functions' ? `functions/${second}` : top!;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (/\.(ts|mts|mjs)$/.test(entry) && !entry.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every module specifier a file imports or re-exports, static or dynamic (`import type` included). */
function importsOf(text: string): string[] {
  const specs: string[] = [];
  const patterns = [/^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gm, /^\s*import\s*['"]([^'"]+)['"]/gm, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const p of patterns) for (const m of text.matchAll(p)) specs.push(m[1]!);
  return specs;
}

/** A relative specifier resolved to a file of the tree (extension-less, index, or .ts for .js). */
function resolveFile(from: string, spec: string): string {
  const base = resolve(dirname(from), spec);
  const candidates = [base, `${base}.ts`, `${base}.mts`, `${base}.mjs`, join(base, 'index.ts'), base.replace(/\.js$/, '.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? base;
}

const packageName = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

const FILES = Object.keys(MAY_IMPORT)
  .map((l) => l.split('/')[0]!)
  .filter((d, i, all) => all.indexOf(d) === i)
  .flatMap((d) => sourceFiles(join(ROOT, d)));

const GRAPH = new Map(
  FILES.map((file) => {
    const specs = importsOf(readFileSync(file, 'utf8'));
    return [file, { specs, local: specs.filter((s) => s.startsWith('.')).map((s) => resolveFile(file, s)) }] as const;
  }),
);

/** The layer table of docs/architecture.md: folder → the project folders its "may import" cell names. */
function documentedLayers(): Record<string, string[]> {
  const page = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const known = [...Object.keys(MAY_IMPORT), 'dist'];
  const functions = known.filter((l) => l.startsWith('functions/'));
  const names = (cell: string) =>
    [...cell.matchAll(/`([^`]+)`/g)]
      .map((m) => m[1]!.replace(/\/$/, ''))
      .flatMap((n) => (n === 'functions/*' ? functions : [n]))
      .filter((n) => known.includes(n));
  const rows: Record<string, string[]> = {};
  for (const line of page.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length !== 5 || !cells[1]!.startsWith('`')) continue;
    for (const layer of names(cells[1]!)) rows[layer] = names(cells[3]!);
  }
  return rows;
}

/** Paths in backticks that name a file of the tree (from the root, or from functions/). */
function documentedFiles(): string[] {
  const page = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  return [...page.matchAll(/`([A-Za-z0-9_./<>-]+\.(?:ts|mjs|md))`/g)].map((m) => m[1]!).filter((p) => p.includes('/') && !p.includes('<'));
}

describe('layers (docs/architecture.md)', () => {
  it('the page\'s layer table states exactly these rules', () => {
    const documented = documentedLayers();
    expect(Object.keys(documented).sort()).toEqual(Object.keys(MAY_IMPORT).sort());
    for (const [layer, allowed] of Object.entries(MAY_IMPORT)) expect([...documented[layer]!].sort(), layer).toEqual([...allowed].sort());
  });

  it('every file the page names exists', () => {
    const files = documentedFiles();
    expect(files.length).toBeGreaterThan(20);
    const missing = files.filter((p) => ![join(ROOT, p), join(ROOT, 'functions', p)].some((c) => existsSync(c)));
    expect(missing).toEqual([]);
  });

  it('reads real import lines (the rules below could fail)', () => {
    expect(FILES.length).toBeGreaterThan(50);
    const receiver = GRAPH.get(join(ROOT, 'functions/receiver/handler.ts'))!;
    expect(receiver.specs).toContain('../sources');
    expect(receiver.local).toContain(join(ROOT, 'functions/sources/index.ts'));
    expect(importsOf("import type {\n  A,\n  B,\n} from '../core/x';\nexport { y } from \"./y\";\nconst m = await import('../lib/z');")).toEqual(['../core/x', './y', '../lib/z']);
  });

  it('each layer imports only the layers below it', () => {
    const wrong: string[] = [];
    for (const [file, { local }] of GRAPH) {
      const from = layerOf(relative(ROOT, file));
      const allowed = MAY_IMPORT[from];
      if (!allowed) continue;
      for (const target of local) {
        const to = layerOf(relative(ROOT, target));
        if (to !== from && !allowed.includes(to)) wrong.push(`${relative(ROOT, file)} imports ${relative(ROOT, target)} (${from} may not import ${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('functions/core and functions/sources stay pure: no AWS, no I/O modules', () => {
    const wrong: string[] = [];
    for (const [file, { specs }] of GRAPH) {
      const layer = layerOf(relative(ROOT, file));
      const rule = PURE[layer];
      if (!rule) continue;
      for (const spec of specs.filter((s) => !s.startsWith('.'))) {
        const ok = spec.startsWith('node:') ? rule.builtins.includes(spec) : rule.packages.includes(packageName(spec));
        if (!ok) wrong.push(`${relative(ROOT, file)} imports ${spec}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('no import cycle between files', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(ROOT, f)).join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of GRAPH.get(file)?.local ?? []) if (GRAPH.has(next)) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of GRAPH.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
