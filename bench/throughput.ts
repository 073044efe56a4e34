/**
 * Figure 3: delivered users per minute through the local pipeline while the MoEngage emulator
 * enforces the documented limits scaled in time, as a fraction of the limit.
 *
 * Method, per mode:
 * 1. startDev (in-process) with the sender gated, and the emulator limits scaled to a
 *    `windowMs` window (e.g. 6 s: 1,000 Track User requests, 6,000 Bulk Import users: the same
 *    per-minute rates as documented).
 * 2. Pre-load: `webhooks` signed sample webhooks (the seven sources in turn, one distinct user
 *    each) posted in parallel through the receiver (HTTP → receiver handler → SQS); every one
 *    must be answered 202. Pre-loading makes the backlog larger than the limit can drain.
 * 3. Open the gate and wait until every user answered 202 is at the emulator.
 * 4. Rate: the emulator's fixed windows are epoch-aligned; the figure counts the users accepted
 *    in the whole windows that lie between the gate opening and the moment the backlog ran low
 *    (the acceptance of the last users, minus what two rounds of in-flight batches hold), divided
 *    by (windows × the per-window limit). The average over the whole drain is shown too.
 * 5. 429s: the emulator's 429 answers / its requests. Lost: users answered 202 that never arrived.
 */
import { availableParallelism } from 'node:os';
import { startBenchPipeline, until, type BenchPipeline, type PipelineOptions, type SenderInvocation } from './pipeline';
import { mean, preciseNow, progress, signedTraffic } from './util';

export const THROUGHPUT_TARGET_FRACTION = 0.95;
export const MAX_429_FRACTION = 0.01;

/** The sender's state-table operations that read (strongly consistent) and that write. */
const STATE_READS = ['GetItem', 'BatchGetItem'];
const STATE_WRITES = ['UpdateItem', 'PutItem'];

export interface ThroughputResult {
  label: string;
  mode: 'customer' | 'bulk';
  queueType: 'fifo' | 'standard';
  windowMs: number;
  /** Limit in users per window (Track User requests, or Bulk Import users). */
  limitPerWindow: number;
  /** The same limit per minute. */
  limitPerMinute: number;
  webhooks: number;
  accepted202: number;
  preloadMs: number;
  preloadPerSecond: number;
  delivered: number;
  /** Users answered 202 that had not reached the emulator when the drain time ran out, but were still queued or in the DLQ. */
  pending: number;
  /** Users answered 202 that reached neither the emulator, nor the queue, nor the DLQ. */
  lost: number;
  duplicates: number;
  /** Whole windows counted, and the users accepted in them. */
  fullWindows: number;
  usersInFullWindows: number;
  /** Per window, users accepted (whole windows only). */
  perWindow: number[];
  fraction: number;
  /** users / min over the whole drain (gate opening → last acceptance). */
  averagePerMinute: number;
  averageFraction: number;
  requests: number;
  requests429: number;
  fraction429: number;
  byStatus: Record<string, number>;
  dlqDepth: number;
  queueDepthAfter: number;
  /** Sender invocations during the drain. */
  invocations: number;
  meanRecordsPerInvocation: number;
  maxRecordsPerInvocation: number;
  /** MoEngage requests per delivered user (bulk: < 1). */
  requestsPerUser: number;
  /** Sender handler time per message, ms (wall time: what Lambda bills). */
  senderMsPerMessage: number;
  /**
   * CPU ms per message of the whole process during the drain (sender, poller, local SQS, state
   * table and MoEngage emulator together): an upper bound on the sender's own CPU per message.
   */
  processCpuMsPerMessage: number;
  /** Σ ceil(ms) over invocations / messages: billed ms per message. */
  senderBilledMsPerMessage: number;
  senderInvocationsPerMessage: number;
  receiveCallsPerMessage: number;
  deleteCallsPerMessage: number;
  /** Messages that failed (reported or whole batch) and came back: ChangeMessageVisibility per message at most. */
  failedPerMessage: number;
  meanMessageBytes: number;
  /** The per-user state store was on; its read and write request units per message (what DynamoDB bills). */
  stateStore: boolean;
  stateReadsPerMessage: number;
  stateWritesPerMessage: number;
  pollerConcurrency: number;
  senderParallelism: number;
  batchSize: number;
  batchingWindowMs: number;
  passed: boolean;
  /** Rate-limit headers restated at windowMs / 60 resolution (see bench/pipeline.ts). */
  scaledHeaders: boolean;
  /** Shown for comparison; not one of the figures with a target. */
  informational: boolean;
  notes: string[];
}

export interface ThroughputOptions extends Omit<PipelineOptions, 'gated'> {
  label: string;
  webhooks: number;
  /** Parallel posts while pre-loading. Default 32. */
  postConcurrency?: number;
  /** Longest wait for the drain. Default: 3 × the time the limit needs, + 30 s. */
  drainTimeoutMs?: number;
  informational?: boolean;
}

function summarizeInvocations(list: SenderInvocation[]) {
  const messages = list.reduce((n, i) => n + i.records, 0);
  const ms = list.reduce((n, i) => n + i.ms, 0);
  const billed = list.reduce((n, i) => n + Math.ceil(i.ms), 0);
  const bytes = list.reduce((n, i) => n + i.bodyBytes, 0);
  return {
    messages,
    msPerMessage: messages > 0 ? ms / messages : Number.NaN,
    billedMsPerMessage: messages > 0 ? billed / messages : Number.NaN,
    invocationsPerMessage: messages > 0 ? list.length / messages : Number.NaN,
    meanRecords: messages / Math.max(1, list.length),
    maxRecords: list.reduce((m, i) => Math.max(m, i.records), 0),
    meanBytes: messages > 0 ? bytes / messages : Number.NaN,
  };
}

export async function benchThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const scaledHeaders = options.scaleHeaderResolution ?? true;
  const p: BenchPipeline = await startBenchPipeline({ ...options, gated: true, scaleHeaderResolution: scaledHeaders });
  const notes: string[] = [];
  try {
    const limitPerWindow = options.mode === 'bulk' ? p.limits.bulkUsersPerWindow : p.limits.customerPerWindow;
    const limitPerMinute = (limitPerWindow * 60_000) / options.windowMs;
    const traffic = signedTraffic(options.webhooks, `${options.label.replace(/\W+/g, '')}${Date.now().toString(36)}`);
    progress(`${options.label}: pre-loading ${options.webhooks} webhooks through the receiver`);
    const t = performance.now();
    const outcomes = await p.postAll(traffic, options.postConcurrency ?? 32);
    const preloadMs = performance.now() - t;
    const ok = outcomes.filter((o) => o.status === 202);
    const statusCounts = new Map<number, number>();
    for (const o of outcomes) statusCounts.set(o.status, (statusCounts.get(o.status) ?? 0) + 1);
    if (ok.length !== outcomes.length) notes.push(`pre-load answers: ${JSON.stringify(Object.fromEntries(statusCounts))}`);
    progress(`${options.label}: ${ok.length} accepted in ${(preloadMs / 1000).toFixed(1)} s (${Math.round((ok.length / preloadMs) * 1000)}/s); delivering`);

    const wanted = new Set(ok.map((o) => o.customerId));
    const receiveCalls0 = p.dev.poller.counters.receiveCalls;
    const deleteCalls0 = p.dev.poller.counters.deleteCalls;
    const failed0 = p.dev.poller.counters.failed;
    // Request units, not requests: each item read or written is billed, batched or not (items under 4 KB / 1 KB).
    const tableItems = (ops: string[]) => ops.reduce((n, op) => n + (p.dev.dynamo?.items[op] ?? 0), 0);
    const reads0 = tableItems(STATE_READS);
    const writes0 = tableItems(STATE_WRITES);
    const cpu0 = process.cpuUsage();
    const t0 = preciseNow();
    p.open();
    const drainTimeoutMs = options.drainTimeoutMs ?? Math.ceil((3 * ok.length * 60_000) / limitPerMinute) + 30_000;
    const arrived = () => {
      let n = 0;
      for (const id of wanted) if (p.firstAccepted.has(id)) n++;
      return n;
    };
    let lastLog = Date.now();
    const drained = await until(() => {
      if (Date.now() - lastLog > 5_000) {
        lastLog = Date.now();
        progress(`${options.label}: ${arrived()} / ${wanted.size} delivered`);
      }
      return arrived() >= wanted.size;
    }, drainTimeoutMs, 50);
    if (!drained) notes.push(`not every accepted user arrived within ${Math.round(drainTimeoutMs / 1000)} s`);
    // Let the last batches settle (deletes) before reading the counters.
    await until(() => p.dev.poller.counters.inFlight === 0, 10_000, 20);
    const cpu = process.cpuUsage(cpu0);

    const times = [...wanted].map((id) => p.firstAccepted.get(id)).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    const delivered = times.length;
    const tLast = times[times.length - 1] ?? t0;
    const batch = p.dev.status().batchSize;
    const pollerConcurrency = options.pollerConcurrency ?? 2;
    const tail = Math.min(delivered - 1, 2 * batch * pollerConcurrency);
    const tSaturated = times[Math.max(0, delivered - 1 - tail)] ?? t0;
    const W = options.windowMs;
    const firstWindow = Math.ceil(t0 / W) * W;
    const perWindow: number[] = [];
    for (let start = firstWindow; start + W <= tSaturated; start += W) {
      // All acceptances in the window (other runs' users cannot be there: one pipeline per run).
      let n = 0;
      for (const at of p.firstAccepted.values()) if (at >= start && at < start + W) n++;
      perWindow.push(n);
    }
    const usersInFullWindows = perWindow.reduce((a, b) => a + b, 0);
    const fraction = perWindow.length > 0 ? usersInFullWindows / (perWindow.length * limitPerWindow) : Number.NaN;
    if (perWindow.length < 2) notes.push(`only ${perWindow.length} whole window(s) of saturation: pre-load more webhooks for a steadier figure`);
    const averagePerMinute = tLast > t0 ? (delivered * 60_000) / (tLast - t0) : Number.NaN;

    const stats = p.emulator.stats();
    const requests = stats?.requests ?? 0;
    const requests429 = stats?.byStatus['429'] ?? 0;
    const inv = p.senderInvocations.filter((i) => i.startedAt >= t0 - 1);
    const s = summarizeInvocations(p.senderInvocations);
    const messages = s.messages;
    const counters = p.dev.poller.counters;
    const dlqDepth = await p.depth('dlq');
    const queueDepthAfter = await p.depth('queue');
    // Not delivered yet is not lost: what is still queued (or parked) when the drain time ran out
    // is counted apart; lost is what reached neither MoEngage, nor the queue, nor the DLQ.
    const pending = Math.min(wanted.size - delivered, queueDepthAfter + dlqDepth);
    const lost = wanted.size - delivered - pending;
    if (pending > 0) notes.push(`${pending} accepted users were still queued (or in the DLQ) when the drain time ran out`);
    if (counters.timeouts > 0 || counters.errors > 0) notes.push(`sender invocations: ${counters.timeouts} timed out, ${counters.errors} threw`);
    if (counters.failed - failed0 > 0) notes.push(`${counters.failed - failed0} messages failed and were left for redelivery`);
    // The whole pipeline (sender, poller, local SQS, DynamoDB and MoEngage) runs in this process: its
    // CPU per message over the machine's cores bounds what it can deliver, whatever the sender does.
    const cpuMsPerMessage = messages > 0 ? (cpu.user + cpu.system) / 1000 / messages : Number.NaN;
    const cores = availableParallelism();
    const cpuCeilingPerMinute = cpuMsPerMessage > 0 ? (60_000 * cores) / cpuMsPerMessage : Number.POSITIVE_INFINITY;
    if (cpuCeilingPerMinute < limitPerMinute) {
      notes.push(
        `bounded by this machine's CPU: the in-process pipeline used ${cpuMsPerMessage.toFixed(2)} ms of CPU per message (sender, poller, local SQS, ` +
          `DynamoDB and MoEngage emulators in one process), so this machine's ${cores} cores carry at most ${Math.round(cpuCeilingPerMinute).toLocaleString('en-US')} messages/min ` +
          `(${(cpuCeilingPerMinute / limitPerMinute).toFixed(2)} of the limit); figure 6 measures the deployed sender in its own container`,
      );
    }
    const duplicates = p.acceptedUsers() - p.firstAccepted.size;
    const fraction429 = requests > 0 ? requests429 / requests : 0;
    const passed = fraction >= THROUGHPUT_TARGET_FRACTION && fraction429 < MAX_429_FRACTION && lost === 0 && pending === 0 && ok.length === outcomes.length;
    const result: ThroughputResult = {
      label: options.label,
      mode: options.mode,
      queueType: options.queueType,
      windowMs: W,
      limitPerWindow,
      limitPerMinute,
      webhooks: options.webhooks,
      accepted202: ok.length,
      preloadMs,
      preloadPerSecond: (ok.length / preloadMs) * 1000,
      delivered,
      pending,
      lost,
      duplicates,
      fullWindows: perWindow.length,
      usersInFullWindows,
      perWindow,
      fraction,
      averagePerMinute,
      averageFraction: averagePerMinute / limitPerMinute,
      requests,
      requests429,
      fraction429,
      byStatus: stats?.byStatus ?? {},
      dlqDepth,
      queueDepthAfter,
      invocations: inv.length,
      meanRecordsPerInvocation: s.meanRecords,
      maxRecordsPerInvocation: s.maxRecords,
      requestsPerUser: delivered > 0 ? requests / delivered : Number.NaN,
      senderMsPerMessage: s.msPerMessage,
      processCpuMsPerMessage: messages > 0 ? (cpu.user + cpu.system) / 1000 / messages : Number.NaN,
      senderBilledMsPerMessage: s.billedMsPerMessage,
      senderInvocationsPerMessage: s.invocationsPerMessage,
      receiveCallsPerMessage: messages > 0 ? (counters.receiveCalls - receiveCalls0) / messages : Number.NaN,
      deleteCallsPerMessage: messages > 0 ? (counters.deleteCalls - deleteCalls0) / messages : Number.NaN,
      failedPerMessage: messages > 0 ? (counters.failed - failed0) / messages : Number.NaN,
      meanMessageBytes: s.meanBytes,
      stateStore: p.dev.dynamo !== undefined,
      stateReadsPerMessage: messages > 0 ? (tableItems(STATE_READS) - reads0) / messages : 0,
      stateWritesPerMessage: messages > 0 ? (tableItems(STATE_WRITES) - writes0) / messages : 0,
      pollerConcurrency,
      senderParallelism: options.senderParallelism ?? Math.min(batch, 64),
      batchSize: batch,
      batchingWindowMs: p.dev.status().batchingWindowMs,
      passed,
      scaledHeaders,
      informational: options.informational ?? false,
      notes,
    };
    progress(
      `${options.label}: ${(fraction * 100).toFixed(1)}% of the limit over ${perWindow.length} windows ${JSON.stringify(perWindow)}, ` +
        `429s ${requests429}/${requests}, lost ${lost}, pending ${pending}, ${s.meanRecords.toFixed(1)} msgs/invocation, ${mean(p.receiverMs).toFixed(2)} ms receiver`,
    );
    return result;
  } finally {
    await p.stop();
  }
}
