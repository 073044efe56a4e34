/**
 * Readable stack traces from the minified Lambda bundles, without paying for them at cold start.
 *
 * `NODE_OPTIONS=--enable-source-maps` makes Node read and parse the bundle's source map (about
 * 1 MB of JSON) while the bundle loads, on every cold start, error or not. Instead, the bundles
 * install an `Error.prepareStackTrace` hook (below) before anything else runs: nothing is read
 * until a stack is first formatted (an error logged or returned), and then `index.mjs.map` next
 * to the bundle is parsed once and every frame of the bundle is shown at its source position:
 *
 *   Error: environment variable QUEUE_URL is not set
 *       at requireEnv (functions/shared/runtime.ts:11:20)
 *
 * Function names survive minification through esbuild's `keepNames`, so a frame still names its
 * function when the map is missing or unreadable (then the bundle position is shown).
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

type CallSite = NodeJS.CallSite;

/** A source path of the map as shown in a stack: relative to the project (no leading `../`). */
export function displaySource(source: string): string {
  return source.replace(/^(?:\.\.\/)+/, '').replace(/^\.\//, '');
}

/**
 * Formats one frame as V8 does (`at fn (file:line:col)`), with a bundle position replaced by its
 * source position when the map has one.
 */
function formatFrame(site: CallSite, bundleUrl: string, map: () => SourceMap | undefined): string {
  const text = String(site);
  const file = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (file !== bundleUrl || line === null || column === null) return `    at ${text}`;
  const entry = map()?.findEntry(line - 1, column - 1) as
    | { originalSource?: string; originalLine?: number; originalColumn?: number }
    | undefined;
  if (!entry || entry.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) return `    at ${text}`;
  const original = `${displaySource(entry.originalSource)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  const position = `${file}:${line}:${column}`;
  return `    at ${text.includes(position) ? text.replace(position, original) : `${text} [${original}]`}`;
}

/** The first line V8 prints for an error (`Name: message`), never throwing. */
function header(error: unknown): string {
  try {
    return Error.prototype.toString.call(error);
  } catch {
    return 'Error';
  }
}

export interface LazySourceMapsOptions {
  /** Reads the map; default: `<bundle>.map` from disk. */
  readMap?: (bundlePath: string) => string;
}

/**
 * Installs the hook for the bundle at `bundleUrl` (its `import.meta.url`). Does nothing when Node
 * already maps stacks (`--enable-source-maps`). Node's own default hook is replaced: it only
 * formats frames as V8 does, which this hook also does.
 */
export function installLazySourceMaps(bundleUrl: string, options: LazySourceMapsOptions = {}): boolean {
  if ((process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled) return false;
  const readMap = options.readMap ?? ((path: string) => readFileSync(`${path}.map`, 'utf8'));
  let cached: SourceMap | null | undefined;
  const map = (): SourceMap | undefined => {
    if (cached === undefined) {
      try {
        cached = new SourceMap(JSON.parse(readMap(fileURLToPath(bundleUrl))) as ConstructorParameters<typeof SourceMap>[0]);
      } catch {
        cached = null;
      }
    }
    return cached ?? undefined;
  };
  Error.prepareStackTrace = (error, sites) => {
    const lines = [header(error)];
    for (const site of sites) {
      try {
        lines.push(formatFrame(site, bundleUrl, map));
      } catch {
        lines.push(`    at ${String(site)}`);
      }
    }
    return lines.join('\n');
  };
  return true;
}
