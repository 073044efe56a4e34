/**
 * Renders BENCHMARKS.md from one run's results. Pure: data in, Markdown out.
 */
import { BEFORE_SETTINGS, packageDeltas, type BundleResult } from './bundles';
import { formatUsd, type CostResult } from './cost';
import type { HotPathResult, HotPathRow } from './hot-path';
import type { LatencyResult } from './latency';
import { renderLambdaShare, type ShareResult } from './lambda-share';
import type { ThroughputResult } from './throughput';
import { MAX_429_FRACTION, THROUGHPUT_TARGET_FRACTION } from './throughput';
import { fmt, fmtInt, type MachineInfo } from './util';
import { BULK_IMPORT_LIMIT_PER_MINUTE, TRACK_USER_LIMIT_PER_MINUTE } from '../functions/core/moengage/limits';
import { benchSenderConcurrency } from './pipeline';

export interface BenchReport {
  command: string;
  startedAt: Date;
  durationMs: number;
  machine: MachineInfo;
  /** Load average when the run started (other processes on the machine skew absolute numbers). */
  loadAverage: number[];
  hotPath?: HotPathResult;
  bundles?: BundleResult;
  throughput: ThroughputResult[];
  latency: LatencyResult[];
  /** Figure 6: the deployed bundles at Lambda's CPU share per memory size. */
  memory?: ShareResult;
  cost: CostResult[];
  /** The same cost model with a sender duration that was not measured (what-if). */
  costSensitivity?: CostResult[];
  /** The default configurations priced at a trickle (one message per invocation). */
  costTrickle?: CostResult[];
  notes: string[];
  /** Set when the file was rendered again from the run's raw measurements (`npm run bench -- --render`): the notes are from then. */
  renderedAt?: Date;
}

/** A default memory size may cost at most this much more than the cheapest size measured (the receiver trades a little for latency). */
const MEMORY_TARGET_RATIO = 1.1;

const pf = (ok: boolean) => (ok ? '**pass**' : '**FAIL**');
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export interface SummaryRow {
  figure: string;
  measured: string;
  baseline: string;
  ratio: string;
  target: string;
  result: string;
}

export function summaryRows(r: BenchReport): SummaryRow[] {
  const rows: SummaryRow[] = [];
  if (r.hotPath) {
    const worst = [...r.hotPath.rows].sort((a, b) => b.ratio - a.ratio)[0];
    const median = [...r.hotPath.rows].sort((a, b) => a.ratio - b.ratio)[Math.floor(r.hotPath.rows.length / 2)];
    if (worst && median) {
      rows.push({
        figure: '1. Receiver hot path (per webhook)',
        measured: `${fmtInt(median.receiverNs)} ns (${median.source}, median source); worst ${worst.source} ${fmtInt(worst.receiverNs)} ns`,
        baseline: `HMAC + JSON.parse: ${fmtInt(median.floorNs)} ns / ${fmtInt(worst.floorNs)} ns`,
        ratio: `${fmt(median.ratio)}× / ${fmt(worst.ratio)}×`,
        target: `≤ ${r.hotPath.target}× (every source)`,
        result: pf(r.hotPath.rows.every((x) => x.ratio <= r.hotPath!.target)),
      });
    }
  }
  if (r.bundles) {
    const base = r.bundles.rows.find((x) => x.name === 'baseline (bare SQSClient)');
    for (const name of ['receiver', 'sender'] as const) {
      const row = r.bundles.rows.find((x) => x.name === name);
      if (!row || !base) continue;
      const cpuRatio = row.importCpuMs / base.importCpuMs;
      rows.push({
        figure: `2. ${name} cold start: import on ${r.bundles.node}, deployed environment`,
        measured: `${fmt(row.importCpuMs, 1)} ms CPU (${fmt(row.importMs, 1)} ms wall; ${kb(row.bytes)})`,
        baseline: `bare SQSClient ${fmt(base.importCpuMs, 1)} ms CPU (${fmt(base.importMs, 1)} ms wall; ${kb(base.bytes)})`,
        ratio: `${fmt(cpuRatio)}× CPU (wall ${fmt(row.importMs / base.importMs)}×, bytes ${fmt(row.bytes / base.bytes)}×)`,
        target: `import CPU ≤ ${r.bundles.target}×`,
        result: pf(cpuRatio <= r.bundles.target),
      });
    }
  }
  for (const t of r.throughput) {
    if (t.informational) continue;
    rows.push({
      figure: `3. Throughput, ${t.label}`,
      measured: `${fmtInt((t.usersInFullWindows / Math.max(1, t.fullWindows)) * (60_000 / t.windowMs))} users/min; 429s ${fmt(t.fraction429 * 100, 2)} %; lost ${t.lost}${t.pending > 0 ? `; ${fmtInt(t.pending)} still queued at the end` : ''}`,
      baseline: `limit ${fmtInt(t.limitPerMinute)} users/min`,
      ratio: t.fullWindows > 0 ? fmt(t.fraction, 3) : 'n/a (no whole window)',
      target: `≥ ${THROUGHPUT_TARGET_FRACTION}, 429s < ${MAX_429_FRACTION * 100} %, none lost`,
      result: pf(t.passed),
    });
  }
  for (const l of r.latency) {
    rows.push({
      figure: `4. Latency 202 → MoEngage 200, ${l.label}`,
      measured: `p50 ${fmt(l.p50Ms, 1)} ms, p99 ${fmt(l.p99Ms, 1)} ms`,
      baseline: `one direct Track User call: p50 ${fmt(l.floorP50Ms, 2)} ms, p99 ${fmt(l.floorP99Ms, 2)} ms`,
      ratio: `p99: ${fmt(l.p99Ms / l.floorP99Ms, 1)}×`,
      target: 'none set (informational)',
      result: 'n/a',
    });
  }
  for (const c of r.cost) {
    rows.push({
      figure: `5. Cost per 1M webhooks, ${c.inputs.label}`,
      measured: formatUsd(c.totalUsd),
      baseline: `target ${formatUsd(c.target)}`,
      ratio: fmt(c.totalUsd / c.target, 3),
      target: `≤ ${formatUsd(c.target)}`,
      result: pf(c.passed),
    });
  }
  if (r.memory?.available) {
    for (const [fn, mode] of [['receiver', 'customer'], ['sender', 'customer'], ['sender', 'bulk']] as const) {
      const measured = r.memory.rows.filter((x) => x.fn === fn && (fn === 'receiver' || (x.stateStore && x.mode === mode && x.batchSize > 1)));
      const defaultMb = fn === 'receiver' ? r.memory.defaults.receiverMb : mode === 'bulk' ? r.memory.defaults.bulkSenderMb : r.memory.defaults.senderMb;
      const chosen = measured.find((x) => x.memoryMb === defaultMb);
      const cheapest = [...measured].sort((a, b) => a.usdPerMillion - b.usdPerMillion)[0];
      if (!chosen || !cheapest) continue;
      if (fn === 'sender') {
        // The construct's derived concurrency against the measured invocation: enough invocations in
        // flight to carry the whole MoEngage budget at the measured mean time per batch?
        const limit = mode === 'bulk' ? BULK_IMPORT_LIMIT_PER_MINUTE : TRACK_USER_LIMIT_PER_MINUTE;
        const needed = (limit / 60 / chosen.messagesPerInvocation) * (chosen.meanBilledMs / 1000);
        const derived = benchSenderConcurrency(mode);
        rows.push({
          figure: `6. sender concurrency (${mode} mode, ${defaultMb} MB): the derived maxConcurrency against the measured invocation`,
          measured: `derived ${derived}`,
          baseline: `${fmt(needed, 1)} invocations in flight carry ${fmtInt(limit)} users/min at ${fmt(chosen.meanBilledMs, 0)} ms per batch of ${fmt(chosen.messagesPerInvocation, 0)}`,
          ratio: fmt(derived / needed, 2),
          target: '≥ 1 (the derivation covers the measured time)',
          result: pf(derived >= needed),
        });
      }
      const ratio = chosen.usdPerMillion / cheapest.usdPerMillion;
      rows.push({
        figure: `6. ${fn} memory${fn === 'sender' ? ` (${mode} mode)` : ''}, the default ${defaultMb} MB at Lambda's CPU share`,
        measured: `compute ${formatUsd(chosen.usdPerMillion)} per 1M; median invocation ${fmt(chosen.medianMs, 1)} ms`,
        baseline: `cheapest measured: ${cheapest.memoryMb} MB, ${formatUsd(cheapest.usdPerMillion)}`,
        ratio: `${fmt(ratio, 3)}`,
        target: `≤ ${MEMORY_TARGET_RATIO}× the cheapest measured size`,
        result: pf(ratio <= MEMORY_TARGET_RATIO),
      });
    }
  }
  return rows;
}

/** The stages on the receiver's path (validate and the floor's parts are not). */
function onPath(s: HotPathRow['stages']): number {
  return s.options + s.verify + s.parse + s.map + s.ids + s.envelope;
}

export function renderReport(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push('# Benchmarks', '');
  out.push(
    `Generated by \`${r.command}\` on ${r.startedAt.toISOString().slice(0, 10)} (${r.startedAt.toISOString()}); the run took ${fmt(r.durationMs / 1000, 0)} s.` +
      (r.renderedAt ? ` Rendered again from that run's raw measurements on ${r.renderedAt.toISOString()} (\`npm run bench -- --render\`): same figures, the notes as the bench now writes them.` : ''),
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node} (${m.platform}/${m.arch}); load average at start ${r.loadAverage.map((x) => x.toFixed(2)).join(' / ')}.`,
    'Every figure is a ratio of two things measured side by side in this run, so that the load of the machine weighs on both sides;',
    'absolute times depend on the machine and on whatever else ran at the same time.',
    '',
  );
  out.push('## Summary', '');
  out.push(
    table(
      ['Figure', 'Measured', 'Floor / baseline', 'Ratio', 'Target', 'Result'],
      summaryRows(r).map((s) => [s.figure, s.measured, s.baseline, s.ratio, s.target, s.result]),
    ),
    '',
  );

  if (r.hotPath) {
    const h = r.hotPath;
    out.push('## 1. Receiver hot path', '');
    out.push(
      '`receiveWebhook` (functions/receiver/receive.ts) with the real `SOURCES`, the local run\'s adapter configuration, the deployed',
      'signing-secrets provider (Secrets Manager through Powertools, its document already read), a no-op enqueue and no-op telemetry: route,',
      'options, secrets, verify, parse, map (payload valid by construction), FIFO ids, envelope, the 202 answer.',
      'Each request is a realistic signed sample of its source (local/samples.ts), answered 202. Floor: the provider\'s HMAC over the same body',
      '(keyed with a KeyObject made once, the cheapest keying on Node 24) + `JSON.parse` of it.',
      `On ${h.node} (Lambda's nodejs24.x), each source in a node process of its own (so that no source runs on the JIT state another left behind),`,
      `${fmtInt(h.warmupMs)} ms of warm-up, then ${h.rounds} interleaved rounds of ~${h.roundMs} ms per side; median ns per webhook of each side, and their ratio.`,
      'Times are CPU time of the process (`process.cpuUsage()`, every thread), not wall-clock time: on this shared machine the wall clock also counts',
      'the time other processes held the core, which varies from round to round. "Rounds" is the lowest and the highest ratio of a single round',
      '(receiver and floor of the same round): how far the rounds disagreed.',
      '"Floor + output" is a reference measured in the same rounds: the floor (its HMAC compared with `timingSafeEqual`) plus what any receiver',
      'writes for the same webhook, none of the adapter\'s reading, rules or mapping: the FIFO group id\'s SHA-256, the time of receipt in ISO 8601,',
      'the JSON of the very envelope the receiver enqueued, one awaited enqueue and the 202 answer\'s JSON. What the ratio leaves above it is the',
      'budget for reading the provider\'s body, MoEngage\'s rules and the mapping.',
      '',
    );
    out.push(
      table(
        ['Source', 'Body', 'Receiver ns/op', 'Floor ns/op', 'Floor', 'Ratio', 'Rounds', 'Floor + output', 'Target', 'Result'],
        h.rows.map((x) => [
          x.source,
          `${x.bodyBytes} B`,
          fmtInt(x.receiverNs),
          fmtInt(x.floorNs),
          x.floorAlgorithm,
          `${fmt(x.ratio)}×`,
          `${fmt(x.roundRatios[0])}–${fmt(x.roundRatios[1])}×`,
          `${fmt(x.floorPlusOutputRatio)}×`,
          `≤ ${h.target}×`,
          pf(x.ratio <= h.target),
        ]),
      ),
      '',
      'Where the time goes (each stage alone, median CPU ns; `map` builds a payload valid by construction; `ids` are the FIFO group id (a SHA-256 of the',
      'user\'s key) and deduplication id; `envelope` encodes the envelope the receiver enqueued; `rest` is the receiver\'s figure less the stages on its',
      'path (options to envelope): awaits, the answer, garbage collection, and the stages running colder than alone; `validate` is the strict validator',
      'of payload.ts (tests only), shown for scale, not on the receiver path; "HMAC, Buffer key" is the floor\'s HMAC keyed with the secret\'s bytes in a',
      'Buffer rather than a KeyObject: on Node 24 that keying alone costs about five times the HMAC):',
      '',
      table(
        ['Source', 'options (zod)', 'verify', 'parse', 'map', 'ids', 'envelope', 'rest', 'validate', 'floor: HMAC', 'floor: JSON.parse', 'HMAC, Buffer key'],
        h.rows.map((x) => [
          x.source,
          fmtInt(x.stages.options),
          fmtInt(x.stages.verify),
          fmtInt(x.stages.parse),
          fmtInt(x.stages.map),
          fmtInt(x.stages.ids),
          fmtInt(x.stages.envelope),
          fmtInt(x.receiverNs - onPath(x.stages)),
          fmtInt(x.stages.validate),
          fmtInt(x.stages.floorHmac),
          fmtInt(x.stages.floorJson),
          fmtInt(x.stages.hmacBufferKey),
        ]),
      ),
      '',
    );
  }

  if (r.bundles) {
    const b = r.bundles;
    const byName = new Map(b.rows.map((x) => [x.name, x]));
    const base = byName.get('baseline (bare SQSClient)');
    out.push('## 2. Cold start: the deployed bundles', '');
    out.push(
      'The bundles `npm run build` ships (scripts/build.ts `buildAssets()`, the one bundling path), esbuild options:',
      '`' + JSON.stringify(b.options) + '`.',
      `Import: on ${b.node} (Lambda's nodejs24.x), in a fresh process per import with the function's environment from the synthesized template`,
      '(tokens replaced by placeholders) plus what Lambda sets (AWS_REGION, AWS_EXECUTION_ENV...);',
      `\`node --input-type=module -e "…await import(file)…"\`, all bundles interleaved, ${b.runs} runs each, medians (node's own start-up excluded):`,
      'CPU time (user + system of the process, `process.cpuUsage()` around the import) and wall-clock time. The target is on CPU time: it is the',
      'work a cold start does, and it does not count the time other processes on this shared machine took the cores (wall-clock time does;',
      'on an idle machine, and in a Lambda sandbox, the import is CPU-bound and the two agree).',
      'Baseline: `' + "import { SQSClient } from '@aws-sdk/client-sqs'; export const c = new SQSClient({})" + '` built and run the same way.',
      'Target: import CPU ≤ ' + `${b.target}× the baseline (cold start); bytes are shown for scale. The "before" rows are the previous deployment, against a baseline run the same way.`,
      '',
      'The receiver\'s environment as measured: `' + JSON.stringify(b.environment) + '`.',
      '',
    );
    out.push(
      table(
        ['Bundle', 'NODE_OPTIONS', 'Bytes', 'Source map', 'gzip', 'Bytes ratio', 'Import CPU (median)', 'CPU ratio', 'Import wall (median)', 'Wall ratio', 'Target', 'Result'],
        b.rows.map((x) => {
          const rb = byName.get(x.baseline) ?? base;
          const br = rb ? x.bytes / rb.bytes : Number.NaN;
          const cr = rb ? x.importCpuMs / rb.importCpuMs : Number.NaN;
          const ir = rb ? x.importMs / rb.importMs : Number.NaN;
          const isBase = x.name === x.baseline;
          return [
            x.whatIf ? `${x.name} (${x.whatIf})` : x.name,
            x.nodeOptions ? `\`${x.nodeOptions}\`` : '(unset)',
            `${fmtInt(x.bytes)} (${kb(x.bytes)})`,
            kb(x.sourceMapBytes),
            kb(x.gzipBytes),
            isBase ? '1.00×' : `${fmt(br)}×`,
            `${fmt(x.importCpuMs, 1)} ms`,
            isBase ? '1.00×' : `${fmt(cr)}×`,
            `${fmt(x.importMs, 1)} ms`,
            isBase ? '1.00×' : `${fmt(ir)}×`,
            isBase || x.whatIf ? '' : `CPU ≤ ${b.target}×`,
            isBase || x.whatIf ? '' : pf(cr <= b.target),
          ];
        }),
      ),
      '',
    );
    for (const name of ['receiver', 'sender'] as const) {
      const now = byName.get(name);
      const before = byName.get(`${name}, before`);
      const beforeBase = byName.get('baseline, before');
      if (now && base && before && beforeBase) {
        out.push(
          `Cold start of the ${name}: ${fmt(now.importCpuMs, 1)} ms CPU, ${fmt(now.importCpuMs / base.importCpuMs)}× the baseline; ` +
            `the previous deployment (${BEFORE_SETTINGS}) took ${fmt(before.importCpuMs, 1)} ms CPU, ${fmt(before.importCpuMs / beforeBase.importCpuMs)}× its baseline ` +
            `and ${fmt(before.importCpuMs / base.importCpuMs)}× today's.`,
          '',
        );
      }
    }
    if (base) {
      for (const name of ['receiver', 'sender'] as const) {
        const row = byName.get(name);
        if (!row) continue;
        const deltas = packageDeltas(row.byPackage, base.byPackage).slice(0, 8);
        out.push(`What the ${name} adds over the baseline (minified bytes by package): ` + deltas.map(([k, v]) => `${k} ${kb(v)}`).join(', ') + '.', '');
      }
    }
  }

  if (r.throughput.length > 0) {
    out.push('## 3. Throughput under the MoEngage limits', '');
    const t0 = r.throughput[0];
    out.push(
      `The whole pipeline in-process (\`startDev\`, port 0, quiet): receiver → fauxqs → poller (event source mapping) → sender → MoEngage emulator.`,
      `The emulator enforces the documented limits scaled in time: windows of ${t0 ? t0.windowMs / 1000 : '?'} s with 1,000 Track User requests and 6,000 Bulk Import users`,
      'per window (10,000 / min and 60,000 / min, as documented). The sender is configured with the same per-minute limits',
      '(MOENGAGE_RATE_LIMIT_PER_MINUTE=10000, MOENGAGE_BULK_RATE_LIMIT_PER_MINUTE=60000) and SENDER_MAX_CONCURRENCY=1: in one process all',
      "invocations share one module and so one pair of rate limiters, i.e. one container's budget is the workspace's.",
      'The queue is pre-loaded through the receiver (signed webhooks posted in parallel, the seven sources in turn, one user each) while the sender',
      'is held; then the sender is released and the figure counts users accepted in the whole emulator windows between the release and the moment',
      'the backlog ran low. The emulator states `x-ratelimit-reset` / `Retry-After` in whole seconds; with the window scaled 10× down, a pass-through',
      'proxy restates them at 0.1 s (1/60 of the window, the resolution whole seconds have against MoEngage\'s 60 s windows; see bench/pipeline.ts).',
      'The row "headers in whole seconds" is the same customer-mode run without that proxy, for comparison: every answer then overstates the time to',
      'the reset by up to 1 s, i.e. up to 1/6 of a scaled window, and the pacing sender leaves that part of each window unused.',
      'MoEngage\'s response time is modelled: the emulator answers every request after a lognormal delay, median 300 ms, p99 1.5 s (mean 381 ms;',
      'seeded, `MOENGAGE_EMULATOR_LATENCY_MS=300,1500,SEED`). "N concurrent" is the sender concurrency the construct derives for that latency',
      '(lib/concurrency.ts, `deriveSenderConcurrency`): the poller runs that many invocations at once, as the event source\'s maxConcurrency would.',
      'Each invocation sends its whole batch at once (SENDER_PARALLELISM 10, each user\'s messages in order). "Sender ms / msg" is wall time: it',
      'includes waiting for MoEngage, which Lambda bills. "Process CPU ms / msg" is the CPU the whole process used during the drain (sender, poller,',
      'local SQS, state table and emulator) per message: an upper bound on the sender\'s own CPU.',
      '',
    );
    out.push(
      table(
        ['Mode', 'Queue, batches', 'Limit / min', 'Delivered / min (whole windows)', 'Fraction', 'Per window', '429s', 'Lost', 'DLQ', 'Target', 'Result'],
        r.throughput.map((t) => [
          t.scaledHeaders ? t.label : `${t.label}; headers in whole seconds`,
          `${t.queueType}, ≤ ${t.batchSize}${t.batchingWindowMs > 0 ? ` / ${t.batchingWindowMs} ms window` : ''}, ${t.pollerConcurrency} concurrent`,
          fmtInt(t.limitPerMinute),
          fmtInt((t.usersInFullWindows / Math.max(1, t.fullWindows)) * (60_000 / t.windowMs)),
          fmt(t.fraction, 3),
          t.perWindow.map(fmtInt).join(', '),
          `${t.requests429} / ${fmtInt(t.requests)} (${fmt(t.fraction429 * 100, 2)} %)`,
          `${t.lost} of ${fmtInt(t.accepted202)}${t.pending > 0 ? ` (${fmtInt(t.pending)} still queued)` : ''}`,
          String(t.dlqDepth),
          t.informational ? '(comparison)' : `≥ ${THROUGHPUT_TARGET_FRACTION}`,
          t.informational ? 'n/a' : pf(t.passed),
        ]),
      ),
      '',
      table(
        ['Mode', 'Pre-load', 'Invocations', 'Msgs / invocation', 'MoEngage requests / user', 'Average over the drain', 'Sender ms / msg', 'Process CPU ms / msg', 'Notes'],
        r.throughput.map((t) => [
          t.scaledHeaders ? t.label : `${t.label}; headers in whole seconds`,
          `${fmtInt(t.accepted202)} webhooks in ${fmt(t.preloadMs / 1000, 1)} s (${fmtInt(t.preloadPerSecond)}/s)`,
          fmtInt(t.invocations),
          `${fmt(t.meanRecordsPerInvocation, 1)} (max ${t.maxRecordsPerInvocation})`,
          fmt(t.requestsPerUser, 3),
          `${fmtInt(t.averagePerMinute)} / min (${fmt(t.averageFraction, 3)}; includes the first, partial window)`,
          fmt(t.senderMsPerMessage, 2),
          fmt(t.processCpuMsPerMessage, 2),
          t.notes.join('; ') || '',
        ]),
      ),
      '',
    );
  }

  if (r.latency.length > 0) {
    out.push('## 4. End-to-end latency', '');
    out.push(
      'From the moment each POST returned 202 (the bench\'s clock) to the moment the emulator accepted that user (`onAccepted`, the same clock),',
      'webhooks posted open-loop at a moderate rate under the limit. In-process the sender can reach MoEngage before the 202 has travelled back to',
      'the poster, so small negative values occur. Floor: a single Track User request sent straight to the emulator in the same run (it includes the',
      'modelled MoEngage response time, median 300 ms / p99 1.5 s). No latency target was set. Bulk mode runs at its defaults (`MOENGAGE_DELIVERY_MODE=bulk`',
      'alone: a standard queue, batches of up to 100 over a 1 s window) at 100 webhooks/s; "Users / Bulk Import request" is what MoEngage received.',
      '',
    );
    out.push(
      table(
        ['Mode', 'Rate', 'Batches', 'Users / Bulk Import request', 'Webhooks', 'p50', 'p99', 'max', 'Floor p50 / p99', 'Ratio p99', 'Target', 'Result'],
        r.latency.map((l) => [
          l.label,
          `${l.ratePerSecond}/s (${fmt(l.fractionOfLimit * 100, 0)} % of the limit)`,
          `≤ ${l.batchSize}${l.batchingWindowMs > 0 ? `, ${l.batchingWindowMs} ms window` : ''}, ${l.pollerConcurrency} concurrent`,
          l.mode === 'bulk' ? `${fmt(l.usersPerRequest, 1)} (target ≥ 50: ${l.usersPerRequest >= 50 ? 'pass' : 'FAIL'})` : 'n/a',
          `${l.measured} / ${l.webhooks}`,
          `${fmt(l.p50Ms, 1)} ms`,
          `${fmt(l.p99Ms, 1)} ms`,
          `${fmt(l.maxMs, 1)} ms`,
          `${fmt(l.floorP50Ms, 2)} / ${fmt(l.floorP99Ms, 2)} ms`,
          `${fmt(l.p99Ms / l.floorP99Ms, 1)}×`,
          'none',
          'n/a',
        ]),
      ),
      '',
    );
  }

  if (r.cost.length > 0) {
    out.push('## 5. Cost per million webhooks', '');
    out.push(
      'AWS list prices, us-east-1: Lambda arm64 $0.0000133334 per GB-s + $0.20 per 1M requests (Function URL: no charge); SQS FIFO $0.50 and',
      'standard $0.40 per 1M requests (each 64 KB chunk a request); Secrets Manager $0.05 per 10,000 calls (5-minute cache). Durations are the ones',
      'measured in this run, rounded up to the millisecond per invocation as Lambda bills them. Customer mode: the deployed bundles at the default',
      'memory sizes at Lambda\'s CPU share (figure 6: receiver per webhook, sender per message, waiting on MoEngage\'s modelled response time, which',
      'Lambda bills too) where this machine could measure them, else the in-process runs. Bulk mode: the receiver from the latency run (in-process,',
      'local SQS: a real SendMessage takes longer) and the sender from the throughput run (saturated: includes waiting for the rate limiter).',
      'Memory sizes are the construct\'s defaults (lib/moengage-adapter.ts).',
      'Sender containers (for Secrets Manager reads) are the derived concurrency of figure 3. DynamoDB: the state table\'s measured requests, on-demand.',
      '',
    );
    for (const c of r.cost) {
      out.push(`### ${c.inputs.label}`, '');
      out.push(
        table(
          ['Item', 'Arithmetic', 'USD'],
          [...c.lines.map((l) => [l.item, l.arithmetic, formatUsd(l.usd)]), ['**Total**', `target ≤ ${formatUsd(c.target)}: ${c.passed ? 'pass' : 'FAIL'}`, `**${formatUsd(c.totalUsd)}**`]],
        ),
        '',
      );
    }
    if (r.costSensitivity && r.costSensitivity.length > 0) {
      out.push(
        '### Sender memory',
        '',
        'The same cases priced at other sender memory sizes: with the sender\'s time measured at that size at Lambda\'s CPU share (figure 6) where',
        'the row says so; otherwise its time is taken as at the default size (it waits on MoEngage for most of its invocation; figure 6 shows how',
        'much longer a smaller CPU share makes it).',
        '',
        table(
          ['Case', 'Sender billed ms / message', 'Sender compute', 'Total', 'Target'],
          r.costSensitivity.map((c) => {
            const compute = c.lines.find((l) => l.item === 'Sender Lambda compute');
            return [c.inputs.label, fmt(c.inputs.senderBilledMsPerMessage, 2), compute ? formatUsd(compute.usd) : 'n/a', formatUsd(c.totalUsd), `${formatUsd(c.target)}: ${c.passed ? 'within' : '**over**'}`];
          }),
        ),
        '',
      );
    }
  }

  if (r.cost.length > 0) {
    out.push(
      '## Cost model',
      '',
      'The one cost model of this project: README.md and docs/deploy.md quote these totals (test/unit/docs-deploy.test.ts checks that they agree).',
      'Per million webhooks, AWS usage only, from the measurements above. Assumptions, each a choice a deployment may differ in:',
      '',
      '- AWS list prices, us-east-1, no free tier; the construct\'s defaults (Function URL, tracing off, sender memory per mode as in figure 5).',
      '- One webhook = one user update. MoEngage answers in a lognormal time, median 300 ms, p99 1.5 s (the sender is billed for that wait).',
      '- Two traffic regimes. Full batches: traffic fast enough to fill them (the runs drain a backlog at the limit). A trickle: every message its',
      '  own invocation (a FIFO event source does not wait to fill a batch; below ~10 webhooks/s, i.e. up to ~25 M a month, most batches hold one',
      '  message): per message one ReceiveMessage and one DeleteMessage instead of 0.1 each, one sender invocation, and the sender\'s time of a',
      '  one-message invocation at its default size measured in figure 6 (where figure 6 could not run: one MoEngage answer, mean 381 ms, plus the',
      '  overhead of the full-batch run). They are what docs/deploy.md uses for its monthly figures.',
      '- The receiver sends to a local SQS here; a real SendMessage adds its round trip to each receiver invocation (10–30 ms at 256 MB: + $0.03–0.10).',
      '- Not per webhook, priced in docs/deploy.md ("Monthly cost"): secrets, alarms, dashboard, custom metrics, idle long polls of the event source,',
      '  DynamoDB storage and point-in-time recovery; also there: CloudWatch Logs ingestion (about 3 KB per webhook, $1.50 per million) and data transfer.',
      '',
      table(
        ['Case', 'Sender ms / message', 'Sender MB', 'Per million webhooks', 'Target (full batches)'],
        [...r.cost, ...(r.costTrickle ?? [])].map((c) => [
          c.inputs.label,
          fmt(c.inputs.senderBilledMsPerMessage, 1),
          String(c.inputs.senderMemoryMb),
          formatUsd(c.totalUsd),
          r.cost.includes(c) ? `≤ ${formatUsd(c.target)}: ${c.passed ? 'pass' : 'FAIL'}` : '(none)',
        ]),
      ),
      '',
    );
    for (const c of r.costTrickle ?? []) {
      out.push(`### ${c.inputs.label}`, '', table(['Item', 'Arithmetic', 'USD'], [...c.lines.map((l) => [l.item, l.arithmetic, formatUsd(l.usd)]), ['**Total**', '', `**${formatUsd(c.totalUsd)}**`]]), '');
    }
  }

  if (r.memory) out.push(...renderLambdaShare(r.memory));

  if (r.notes.length > 0) {
    out.push('## Notes', '');
    for (const n of r.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}

/**
 * Replaces figure `n` (its summary rows and its section) of an existing BENCHMARKS.md with the
 * figure `n` of `r` (a run of that figure alone), leaving every other figure as it was, and says
 * so under the title.
 */
export function spliceFigure(n: 1 | 2, existing: string, r: BenchReport): string {
  const fresh = renderReport(r);
  const section = (md: string): [number, number] => {
    const start = md.indexOf(`\n## ${n}. `);
    if (start < 0) return [-1, -1];
    const next = md.indexOf('\n## ', start + 1);
    return [start, next < 0 ? md.length : next];
  };
  const [fs, fe] = section(fresh);
  const [es, ee] = section(existing);
  if (fs < 0 || es < 0) throw new Error(`spliceFigure: no "## ${n}." section to replace`);
  let out = existing.slice(0, es) + fresh.slice(fs, fe) + existing.slice(ee);
  const rowPrefix = `| ${n}. `;
  const rows = fresh.split('\n').filter((l) => l.startsWith(rowPrefix));
  const lines = out.split('\n');
  const first = lines.findIndex((l) => l.startsWith(rowPrefix));
  const kept = lines.filter((l) => !l.startsWith(rowPrefix));
  if (first >= 0) kept.splice(first, 0, ...rows);
  out = kept.join('\n');
  const note =
    `Figure ${n} was regenerated alone by \`${r.command}\` on ${r.startedAt.toISOString()} (${fmt(r.durationMs / 1000, 0)} s; load average at start ` +
    `${r.loadAverage.map((x) => x.toFixed(2)).join(' / ')}); the other figures are from the run above.`;
  out = out.replace(new RegExp(`\\nFigure ${n} was regenerated alone by [^\\n]*\\n`), '\n');
  // The notes stay in figure order: after the machine paragraph, before the summary.
  const summary = out.indexOf('\n## Summary');
  if (summary < 0) throw new Error('spliceFigure: no "## Summary" section');
  const before = out.slice(0, summary).trimEnd().split('\n');
  const noteAt = before.findIndex((l) => /^Figure (\d) was regenerated alone/.exec(l) !== null && Number(/^Figure (\d)/.exec(l)?.[1]) > n);
  if (noteAt >= 0) before.splice(noteAt, 0, note);
  else before.push(note);
  return `${before.join('\n')}\n${out.slice(summary)}`;
}
