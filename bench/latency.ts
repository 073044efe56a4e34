/**
 * Figure 4: end-to-end latency, from the receiver's 202 to MoEngage's 200, in the local
 * pipeline at a moderate rate under the limit.
 *
 * Method: startDev (in-process, not gated); signed webhooks (one distinct user each) posted
 * open-loop at `ratePerSecond` for `seconds`; for each, the time its POST returned 202 (the
 * bench's clock) and the time the emulator accepted that user (`onAccepted`, the same clock:
 * one process). The figure is p50 / p99 of the difference.
 *
 * Floor (baseline, same run): a single Track User request straight to the emulator (the part
 * of the path no pipeline can avoid), p50 / p99 over sequential requests. The issue sets no
 * latency target: the ratio is informational.
 *
 * The receiver handler's own time per webhook (HTTP event → SQS SendMessage) is recorded here
 * too, at this moderate concurrency, for the cost figure.
 */
import { BULK_IMPORT_LIMIT_PER_MINUTE, TRACK_USER_LIMIT_PER_MINUTE } from '../functions/core/moengage/limits';
import { postOne, startBenchPipeline, until, type PostOutcome } from './pipeline';
import { mean, percentile, preciseNow, progress, signedTraffic, sleep } from './util';

export interface LatencyResult {
  label: string;
  mode: 'customer' | 'bulk';
  queueType: 'fifo' | 'standard';
  ratePerSecond: number;
  /** The rate as a fraction of the mode's limit. */
  fractionOfLimit: number;
  webhooks: number;
  measured: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  floorP50Ms: number;
  floorP99Ms: number;
  /** Receiver handler ms per webhook (mean, and what Lambda bills: mean of ceil). */
  receiverMeanMs: number;
  receiverBilledMs: number;
  receiverP50Ms: number;
  batchSize: number;
  batchingWindowMs: number;
  /** Bulk Import: users per accepted request (bulk mode only; NaN otherwise). */
  usersPerRequest: number;
  pollerConcurrency: number;
  notes: string[];
}

export interface LatencyOptions {
  label: string;
  mode: 'customer' | 'bulk';
  queueType: 'fifo' | 'standard';
  ratePerSecond: number;
  seconds: number;
  windowMs: number;
  floorRequests?: number;
  /** Sender invocations in flight (the event source's maxConcurrency). */
  pollerConcurrency?: number;
}

async function floorRoundTrips(url: string, workspaceId: string, apiKey: string, n: number, tag: string): Promise<number[]> {
  const auth = `Basic ${Buffer.from(`${workspaceId}:${apiKey}`).toString('base64')}`;
  const out: number[] = [];
  // The first requests open the connection and warm the path up: not counted.
  const warmup = 10;
  for (let i = 0; i < n + warmup; i++) {
    const body = JSON.stringify({ type: 'customer', customer_id: `floor_${tag}_${i}`, attributes: { u_fn: 'Floor' } });
    const t = performance.now();
    const res = await fetch(`${url}/v1/customer/${workspaceId}?app_id=${workspaceId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: auth },
      body,
    });
    await res.arrayBuffer();
    if (res.status === 200 && i >= warmup) out.push(performance.now() - t);
  }
  return out;
}

export async function benchLatency(options: LatencyOptions): Promise<LatencyResult> {
  const p = await startBenchPipeline({
    mode: options.mode,
    queueType: options.queueType,
    windowMs: options.windowMs,
    gated: false,
    ...(options.pollerConcurrency !== undefined ? { pollerConcurrency: options.pollerConcurrency } : {}),
  });
  const notes: string[] = [];
  try {
    const tag = `${options.label.replace(/\W+/g, '')}${Date.now().toString(36)}`;
    const floor = await floorRoundTrips(p.emulator.url, p.emulator.workspaceId, p.emulator.apiKey, options.floorRequests ?? 100, tag);
    const count = Math.round(options.ratePerSecond * options.seconds);
    const traffic = signedTraffic(count, tag);
    // Receiver times from here on only (the floor requests did not go through it).
    const receiverFrom = p.receiverMs.length;
    progress(`${options.label}: ${count} webhooks at ${options.ratePerSecond}/s`);
    const pending: Promise<PostOutcome>[] = [];
    const start = performance.now();
    const interval = 1000 / options.ratePerSecond;
    for (let i = 0; i < count; i++) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const req = traffic[i];
      if (req) pending.push(postOne(p.dev.url, req).catch(() => ({ customerId: req.customerId, status: 0, at: preciseNow() })));
    }
    const outcomes = await Promise.all(pending);
    const ok = outcomes.filter((o) => o.status === 202);
    if (ok.length !== outcomes.length) notes.push(`${outcomes.length - ok.length} webhooks were not answered 202`);
    await until(() => ok.every((o) => p.firstAccepted.has(o.customerId)), 60_000, 20);
    const latencies: number[] = [];
    for (const o of ok) {
      const at = p.firstAccepted.get(o.customerId);
      if (at !== undefined) latencies.push(at - o.at);
    }
    if (latencies.length !== ok.length) notes.push(`${ok.length - latencies.length} accepted webhooks did not arrive within 60 s`);
    const receiverMs = p.receiverMs.slice(receiverFrom);
    const bulk = p.emulator.accepted.filter((a) => a.api === 'bulk');
    const usersPerRequest = bulk.length > 0 ? bulk.length / new Set(bulk.map((a) => a.requestId)).size : Number.NaN;
    const limitPerSecond = (options.mode === 'bulk' ? BULK_IMPORT_LIMIT_PER_MINUTE : TRACK_USER_LIMIT_PER_MINUTE) / 60;
    const result: LatencyResult = {
      label: options.label,
      mode: options.mode,
      queueType: options.queueType,
      ratePerSecond: options.ratePerSecond,
      fractionOfLimit: options.ratePerSecond / limitPerSecond,
      webhooks: count,
      measured: latencies.length,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: percentile(latencies, 100),
      floorP50Ms: percentile(floor, 50),
      floorP99Ms: percentile(floor, 99),
      receiverMeanMs: mean(receiverMs),
      receiverBilledMs: mean(receiverMs.map((ms) => Math.ceil(ms))),
      receiverP50Ms: percentile(receiverMs, 50),
      batchSize: p.dev.status().batchSize,
      batchingWindowMs: p.dev.status().batchingWindowMs,
      usersPerRequest,
      pollerConcurrency: options.pollerConcurrency ?? 2,
      notes,
    };
    progress(`${options.label}: p50 ${result.p50Ms.toFixed(0)} ms, p99 ${result.p99Ms.toFixed(0)} ms (floor p50 ${result.floorP50Ms.toFixed(1)} ms); receiver ${result.receiverMeanMs.toFixed(2)} ms`);
    return result;
  } finally {
    await p.stop();
  }
}
