/** Human output: masked customer ids, ages, plain-text tables. */
import type { DlqEntry } from './entry';

/**
 * Masks a customer id for the table: `user_2abc…9xz`, `j***@example.com`, `+4…67`.
 * The table is read over shoulders and pasted into tickets; `--json` keeps the full id.
 */
export function maskCustomerId(id: string | null | undefined): string {
  if (id === null || id === undefined || id === '') return '-';
  const chars = [...id];
  const at = id.lastIndexOf('@');
  if (at > 0) return `${chars[0]}***${id.slice(at)}`;
  if (/^\+?[\d\s().-]{6,}$/.test(id)) {
    const digits = id.replace(/\D/g, '');
    return `${id.startsWith('+') ? '+' : ''}${digits.slice(0, 1)}…${digits.slice(-2)}`;
  }
  const n = chars.length;
  if (n <= 4) return `${chars[0]}…`;
  if (n <= 8) return `${chars[0]}…${chars[n - 1]}`;
  if (n <= 13) return `${chars.slice(0, 3).join('')}…${chars.slice(-2).join('')}`;
  return `${chars.slice(0, 8).join('')}…${chars.slice(-3).join('')}`;
}

/** `42s`, `5m`, `3h`, `2d`; `-` when unknown. */
export function formatAge(fromMs: number | null, nowMs: number): string {
  if (fromMs === null || !Number.isFinite(fromMs)) return '-';
  const s = Math.max(0, Math.floor((nowMs - fromMs) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** When the message failed: failed_at, else when it entered the DLQ. */
export function failedAtMs(e: DlqEntry): number | null {
  if (e.failedAt) {
    const t = Date.parse(e.failedAt);
    if (Number.isFinite(t)) return t;
  }
  return e.sentAt;
}

function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** Left-aligned columns separated by two spaces; no trailing spaces. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const fmt = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(Math.max(0, widths[i]! - [...c].length))))
      .join('  ')
      .trimEnd();
  return [fmt(headers), ...rows.map(fmt)].join('\n') + '\n';
}

export const TABLE_HEADERS = ['AGE', 'SOURCE', 'EVENT TYPE', 'CUSTOMER', 'REASON', 'STATUS', 'ATTEMPTS'] as const;

export function entryRow(e: DlqEntry, nowMs: number): string[] {
  return [
    formatAge(failedAtMs(e), nowMs),
    e.source ?? '-',
    cut(e.eventType ?? '-', 32),
    maskCustomerId(e.customerId),
    e.reason,
    e.status === null ? '-' : String(e.status),
    e.attempts === null ? '-' : String(e.attempts),
  ];
}

/** `retries_exhausted 3, auth_failed 1`, most frequent first. */
export function countBy(entries: readonly DlqEntry[], key: (e: DlqEntry) => string): string {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(key(e), (counts.get(key(e)) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

export function describeFilter(filter: { reason?: string; source?: string }): string {
  const parts = [filter.reason ? `reason ${filter.reason}` : '', filter.source ? `source ${filter.source}` : ''].filter(Boolean);
  return parts.length ? ` matching ${parts.join(' and ')}` : '';
}
