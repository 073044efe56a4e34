/**
 * The Powertools telemetry's metrics as CloudWatch reads them (EMF lines on stdout): counts with a
 * dimension are summed per invocation and written at flush, one document per dimension value, with
 * the same dimension sets as a singleMetric() per count wrote before.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { powertoolsTelemetry } from '../../functions/shared/observability';

function emfLines(run: () => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  try {
    run();
  } finally {
    spy.mockRestore();
  }
  return lines
    .join('')
    .split('\n')
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('powertoolsTelemetry metrics', () => {
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  afterEach(() => {
    if (saved === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = saved;
  });

  it('sums dimensioned counts until flush and writes one document per dimension value', () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const t = powertoolsTelemetry('test-service');
    const before = emfLines(() => {
      t.count('Received', 1, { name: 'source', value: 'clerk' });
      t.count('Received', 1, { name: 'source', value: 'clerk' });
      t.count('Enqueued', 1, { name: 'source', value: 'clerk' });
      t.count('Received', 1, { name: 'source', value: 'stripe' });
      t.count('Rejected', 1, { name: 'reason', value: 'signature' });
      t.count('ServerErrors');
    });
    expect(before).toEqual([]);
    const docs = emfLines(() => t.flush());
    const byDims = new Map(docs.map((d) => [JSON.stringify((d._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]?.Dimensions), d]));
    expect(docs).toHaveLength(4);
    expect(docs.find((d) => d.source === 'clerk')).toMatchObject({ service: 'test-service', Received: 2, Enqueued: 1 });
    expect(docs.find((d) => d.source === 'stripe')).toMatchObject({ Received: 1 });
    expect(docs.find((d) => d.reason === 'signature')).toMatchObject({ Rejected: 1 });
    expect(byDims.get(JSON.stringify([['service', 'source']]))).toBeDefined();
    expect(byDims.get(JSON.stringify([['service', 'reason']]))).toBeDefined();
    expect(byDims.get(JSON.stringify([['service']]))).toMatchObject({ ServerErrors: 1 });
    // The next invocation starts from zero.
    expect(emfLines(() => t.flush())).toEqual([]);
    const next = emfLines(() => {
      t.count('Received', 1, { name: 'source', value: 'clerk' });
      t.flush();
    });
    expect(next).toHaveLength(1);
    expect(next[0]).toMatchObject({ source: 'clerk', Received: 1 });
    expect(next[0]).not.toHaveProperty('Enqueued');
  });
});
