/**
 * Shared helpers of `npm run bench`: statistics, the machine description, sample traffic and
 * the quiet no-op telemetry. Benchmark code only (never imported by functions/ or lib/).
 */
import { cpus, totalmem } from 'node:os';
import type { SourceName } from '../functions/core/config';
import { SOURCE_NAMES } from '../functions/core/config';
import type { Telemetry } from '../functions/shared/observability';
import { buildSignedSample, type SignedRequest } from '../local/samples';

export const PROJECT_ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

/** The median of `values` (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in [0, 100]). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1] as number;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  node: string;
  platform: string;
  arch: string;
  memoryGiB: number;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** A Telemetry that does nothing: the hot path is measured without logging or metrics I/O. */
export const NOOP_TELEMETRY: Telemetry = {
  count() {},
  milliseconds() {},
  info() {},
  warn() {},
  error() {},
};

/** A user id valid for `source` (Shopify ids are numeric), unique per (tag, index). */
function sampleUserId(source: SourceName, tag: string, index: number): string {
  if (source === 'shopify') {
    // 13 digits like real Shopify ids; the tag picks a disjoint range per run.
    let h = 0;
    for (const c of tag) h = (h * 31 + c.charCodeAt(0)) % 9_000;
    return String(7_000_000_000_000 + h * 100_000_000 + index);
  }
  return `bench_${tag}_${index}`;
}

/**
 * `count` signed sample webhooks, the seven sources in turn, each for its own user (so that
 * FIFO groups never serialize them and every one is a distinct user at MoEngage).
 */
export function signedTraffic(count: number, tag: string, now: () => Date = () => new Date()): SignedRequest[] {
  const out: SignedRequest[] = [];
  for (let i = 0; i < count; i++) {
    const source = SOURCE_NAMES[i % SOURCE_NAMES.length] as SourceName;
    out.push(buildSignedSample(source, { now: now(), user: { id: sampleUserId(source, tag, i), email: `${tag}.${i}@example.com` } }));
  }
  return out;
}

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

/** Epoch milliseconds with sub-millisecond precision (one clock for the whole bench process). */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A log line on stderr (progress), so that stdout stays the summary. */
export function progress(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}
