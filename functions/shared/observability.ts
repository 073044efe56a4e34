/**
 * Logging and metrics for the handlers: Powertools Logger (JSON, correlation ids) and
 * Metrics (EMF). The pure core talks to the small `Telemetry` interface instead, so tests
 * can observe it. Nothing here ever logs a body, a header value, a secret or a raw identity.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../core/names';

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Telemetry {
  count(metric: string, value?: number, dimension?: { name: string; value: string }): void;
  milliseconds(metric: string, value: number): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface PowertoolsTelemetry extends Telemetry {
  logger: Logger;
  metrics: Metrics;
  /**
   * Writes the buffered metrics (call once at the end of every invocation). The handlers call
   * this and logger.addContext themselves rather than use Powertools' logMetrics and
   * injectLambdaContext (decorators, or Middy middleware): logMetrics publishes `metrics` alone,
   * so the per-dimension counts below would never be written, and it publishes unconditionally,
   * printing "No application metrics to publish" to stderr as plain text after every invocation
   * whose counts all carried a dimension, such as every accepted webhook; injectLambdaContext
   * replaces one line, at the cost of a class with legacy decorators or a Middy dependency.
   */
  flush(): void;
}

export function powertoolsTelemetry(serviceName: string): PowertoolsTelemetry {
  const logger = new Logger({ serviceName });
  const namespace = process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE;
  const metrics = new Metrics({ namespace, serviceName });
  // Counts with a dimension (per source, per reason) are summed during the invocation and written
  // at flush, one EMF document per dimension value, by one Metrics object per dimension value made
  // once per container: a singleMetric() per count built a Metrics object and wrote a document for
  // every count (BENCHMARKS.md figure 6 profile: about a sixth of the receiver's CPU per webhook).
  const byDimension = new Map<string, { metrics: Metrics; counts: Map<string, number> }>();
  return {
    logger,
    metrics,
    count(metric, value = 1, dimension) {
      if (!dimension) {
        metrics.addMetric(metric, MetricUnit.Count, value);
        return;
      }
      const key = `${dimension.name}\u0000${dimension.value}`;
      let group = byDimension.get(key);
      if (!group) {
        group = { metrics: new Metrics({ namespace, serviceName, defaultDimensions: { [dimension.name]: dimension.value } }), counts: new Map() };
        byDimension.set(key, group);
      }
      group.counts.set(metric, (group.counts.get(metric) ?? 0) + value);
    },
    milliseconds(metric, value) {
      metrics.addMetric(metric, MetricUnit.Milliseconds, value);
    },
    info: (message, fields) => logger.info(message, clean(fields)),
    warn: (message, fields) => logger.warn(message, clean(fields)),
    error: (message, fields) => logger.error(message, clean(fields)),
    flush() {
      for (const group of byDimension.values()) {
        if (group.counts.size === 0) continue;
        for (const [name, value] of group.counts) group.metrics.addMetric(name, MetricUnit.Count, value);
        group.counts.clear();
        group.metrics.publishStoredMetrics();
      }
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    },
  };
}

function clean(fields: LogFields | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(fields ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

/** A Telemetry that records everything in memory (tests). */
export interface RecordingTelemetry extends Telemetry {
  counts: Map<string, number>;
  lines: { level: string; message: string; fields?: LogFields }[];
}

export function recordingTelemetry(): RecordingTelemetry {
  const counts = new Map<string, number>();
  const lines: RecordingTelemetry['lines'] = [];
  const key = (m: string, d?: { name: string; value: string }) => (d ? `${m}{${d.name}=${d.value}}` : m);
  return {
    counts,
    lines,
    count(metric, value = 1, dimension) {
      counts.set(key(metric, dimension), (counts.get(key(metric, dimension)) ?? 0) + value);
      if (dimension) counts.set(metric, (counts.get(metric) ?? 0) + value);
    },
    milliseconds(metric, value) {
      counts.set(`${metric}:samples`, (counts.get(`${metric}:samples`) ?? 0) + 1);
      void value;
    },
    info: (message, fields) => lines.push({ level: 'INFO', message, fields }),
    warn: (message, fields) => lines.push({ level: 'WARN', message, fields }),
    error: (message, fields) => lines.push({ level: 'ERROR', message, fields }),
  };
}
