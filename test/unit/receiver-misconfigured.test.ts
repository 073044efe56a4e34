/**
 * A misconfigured receiver (issue 14): every refused request is counted for the alarm; the
 * reason is logged on a container's first refusal, then at most once a minute with the number
 * of requests refused since, and at once when the reason changes.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/config';
import { METRIC } from '../../functions/core/names';
import { MISCONFIGURATION_LOG_INTERVAL_MS, misconfigurationReporter } from '../../functions/receiver/handler';
import { recordingTelemetry } from '../../functions/shared/observability';

function setup() {
  const t = recordingTelemetry();
  let now = 1_000_000;
  const report = misconfigurationReporter(t, () => now);
  const lines = () => t.lines.filter((l) => l.message === 'receiver misconfigured');
  return { t, report, lines, advance: (ms: number) => (now += ms) };
}

describe('misconfigured receiver reporting', () => {
  it('counts every refused request, logs the first one at once', () => {
    const { t, report, lines } = setup();
    report(new ConfigError('environment variable QUEUE_URL is not set'));
    expect(lines()).toEqual([{ level: 'ERROR', message: 'receiver misconfigured', fields: { error: 'environment variable QUEUE_URL is not set', requestsRefused: 1 } }]);
    expect(t.counts.get(METRIC.serverErrors)).toBe(1);
  });

  it('within the minute: counted, not logged again; after it: one line with the number refused since the last', () => {
    const { t, report, lines, advance } = setup();
    const err = new ConfigError('environment variable QUEUE_URL is not set');
    report(err);
    for (let i = 0; i < 99; i++) {
      advance(500);
      report(err);
    }
    // 49.5 s after the first line: still one line, 100 refusals counted.
    expect(lines()).toHaveLength(1);
    expect(t.counts.get(METRIC.serverErrors)).toBe(100);
    advance(MISCONFIGURATION_LOG_INTERVAL_MS - 49_500 - 1);
    report(err);
    expect(lines()).toHaveLength(1);
    advance(1);
    report(err);
    expect(lines()).toHaveLength(2);
    // This request and the 100 refused since the first line.
    expect(lines()[1]?.fields).toEqual({ error: 'environment variable QUEUE_URL is not set', requestsRefused: 101 });
    expect(t.counts.get(METRIC.serverErrors)).toBe(102);
  });

  it('a different reason is logged at once', () => {
    const { report, lines, advance } = setup();
    report(new ConfigError('environment variable QUEUE_URL is not set'));
    advance(1_000);
    report(new ConfigError('QUEUE_TYPE must be fifo or standard, not lifo'));
    expect(lines().map((l) => l.fields?.error)).toEqual(['environment variable QUEUE_URL is not set', 'QUEUE_TYPE must be fifo or standard, not lifo']);
    expect(lines()[1]?.fields?.requestsRefused).toBe(1);
  });
});
