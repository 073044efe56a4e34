/**
 * `npm run bench`: measures the six figures of BENCHMARKS.md side by side in one run and
 * writes the file (a script, never a test).
 *
 *   npm run bench                 full run (~15 minutes on 2 cores), writes ./BENCHMARKS.md
 *   npm run bench -- --quick      smaller samples (a smoke run; the figures are noisier)
 *   npm run bench -- --out FILE   write somewhere else
 *   npm run bench -- --only hot-path   figure 1 alone, spliced into the existing file
 *   npm run bench -- --only bundles    figure 2 alone, spliced into the existing file
 *   npm run bench -- --only memory     figure 6 alone, printed (needs root and a CPU cgroup)
 *   npm run bench -- --render FILE     BENCHMARKS.md again from the raw measurements a full run
 *                                      saved (FILE: its moengage-bench-report.json), measuring nothing
 *
 * Progress goes to stderr; the summary table to stdout.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectedSlowestMs } from '../lib/concurrency';
import { benchBundles } from './bundles';
import { computeCost, deployedMemorySizes, formatUsd, PRICES, type CostResult } from './cost';
import { benchHotPath, type HotPathRow } from './hot-path';
import { benchLatency, type LatencyResult } from './latency';
import { benchLambdaShare, renderLambdaShare, type ShareRow } from './lambda-share';
import { BULK_IMPORT_LIMIT_PER_MINUTE, TRACK_USER_LIMIT_PER_MINUTE } from '../functions/core/moengage/limits';
import { BENCH_LATENCY, benchSenderConcurrency, CUSTOMER_BATCH } from './pipeline';
import { renderReport, spliceFigure, summaryRows, type BenchReport } from './report';
import { benchThroughput, type ThroughputResult } from './throughput';
import { machineInfo, progress, PROJECT_ROOT } from './util';

interface Args {
  quick: boolean;
  out: string;
  /** `hot-path`: figure 1 alone, `bundles`: figure 2 alone, spliced into the existing report. `memory`: figure 6 alone, printed. */
  only?: 'hot-path' | 'bundles' | 'memory';
  /** The raw measurements of an earlier full run, rendered again instead of measuring. */
  render?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, out: join(PROJECT_ROOT, 'BENCHMARKS.md') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--out' && argv[i + 1]) args.out = argv[++i] as string;
    else if (a?.startsWith('--out=')) args.out = a.slice('--out='.length);
    else if (a === '--only' && (argv[i + 1] === 'hot-path' || argv[i + 1] === 'bundles' || argv[i + 1] === 'memory')) {
      args.only = argv[++i] as 'hot-path' | 'bundles' | 'memory';
    }
    else if (a === '--render' && argv[i + 1]) args.render = argv[++i] as string;
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run bench [-- --quick] [-- --out FILE] [-- --only hot-path|bundles|memory] [-- --render REPORT_JSON]\n');
      process.exit(0);
    } else throw new Error(`unknown argument: ${a}`);
  }
  return args;
}

const WINDOW_MS = 6_000;


function costFor(
  label: string,
  t: ThroughputResult,
  l: LatencyResult,
  mem: { receiverMb: number; senderMb: number } = deployedMemorySizes(t.mode),
  senderBilledMsPerMessage = t.senderBilledMsPerMessage,
  receiverBilledMs = l.receiverBilledMs,
): CostResult {
  const ratePerMinute = t.mode === 'bulk' ? BULK_IMPORT_LIMIT_PER_MINUTE : TRACK_USER_LIMIT_PER_MINUTE;
  // Little's law: containers busy = arrivals per second × seconds each.
  const receiverContainers = Math.max(1, Math.ceil((ratePerMinute / 60) * (receiverBilledMs / 1000)));
  const senderContainers = t.pollerConcurrency;
  return computeCost({
    label,
    mode: t.mode,
    queueType: t.queueType,
    receiverMemoryMb: mem.receiverMb,
    senderMemoryMb: mem.senderMb,
    receiverBilledMs,
    senderBilledMsPerMessage,
    senderInvocationsPerMessage: t.senderInvocationsPerMessage,
    meanMessageBytes: t.meanMessageBytes,
    receiveCallsPerMessage: t.receiveCallsPerMessage,
    deleteCallsPerMessage: t.deleteCallsPerMessage,
    changeVisibilityPerMessage: t.failedPerMessage,
    stateReadsPerMessage: t.stateReadsPerMessage,
    stateWritesPerMessage: t.stateWritesPerMessage,
    ratePerMinute,
    receiverContainers,
    senderContainers,
  });
}

/** Findings read off the data (only those the numbers of this run support). */
/** What the hot path weighs in the deployed receiver's CPU per invocation (figure 6, at its default size), when both were measured. */
function receiverShare(report: BenchReport): string {
  const hot = report.hotPath;
  const memory = report.memory;
  if (!hot || !memory?.available) return '';
  const receiver = memory.rows.find((x) => x.fn === 'receiver' && x.memoryMb === memory.defaults.receiverMb);
  if (!receiver) return '';
  const clerk = hot.rows.find((x) => x.source === 'clerk');
  if (!clerk) return '';
  const share = clerk.receiverNs / 1e6 / receiver.cpuMsPerInvocation;
  return (
    ` For scale: the deployed receiver at its default ${receiver.memoryMb} MB used ${receiver.cpuMsPerInvocation.toFixed(1)} ms of CPU per Clerk webhook in figure 6 ` +
    `(the Function URL event, SendMessage through the SDK, logs and metrics); the Clerk hot path is ${(100 * share).toFixed(1)} % of it.`
  );
}

function findings(report: BenchReport): string[] {
  const notes: string[] = [];
  const hot = report.hotPath;
  if (hot && !hot.rows.every((x) => x.ratio <= hot.target)) {
    const range = (values: number[]) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}×`;
    // The sources over the target, against the others: their floor (which grows with the body) and the receiver's work above it.
    const over = hot.rows.filter((x) => x.ratio > hot.target);
    const within = hot.rows.filter((x) => x.ratio <= hot.target);
    const ns = (n: number) => `${Math.round(n).toLocaleString('en-US')} ns`;
    const above = (x: HotPathRow) => x.receiverNs - x.floorNs;
    const nsRange = (rows: HotPathRow[], f: (x: HotPathRow) => number) => `${ns(Math.min(...rows.map(f)))}–${ns(Math.max(...rows.map(f)))}`;
    const detail = (x: HotPathRow) =>
      `${x.source} ${x.ratio.toFixed(2)}× (${x.bodyBytes}-byte body: floor ${ns(x.floorNs)}, receiver's work above it ${ns(above(x))})`;
    notes.push(
      `Figure 1: ${within.length} of ${hot.rows.length} sources are within ${hot.target}× the floor; over it: ${over.map(detail).join(', ')}` +
        (within.length > 0
          ? `, against the others' floors of ${nsRange(within, (x) => x.floorNs)} and work above them of ${nsRange(within, above)}. `
          : '. ') +
        `The receivers measure ${range(hot.rows.map((x) => x.ratio))} the floor. The floor plus the output any receiver ` +
        `writes (group id hash, envelope JSON, receipt time, 202 answer; none of the adapter's reading, rules or mapping) measures ` +
        `${range(hot.rows.map((x) => x.floorPlusOutputRatio))} in the same rounds, which leaves ${range(hot.rows.map((x) => hot.target - x.floorPlusOutputRatio))} ` +
        `of the floor for reading the body, MoEngage's rules and the mapping; the adapter spends ${range(hot.rows.map((x) => x.ratio - x.floorPlusOutputRatio))} on them.` +
        receiverShare(report),
    );
  }
  for (const c of report.cost) {
    if (c.passed || c.inputs.mode !== 'customer') continue;
    const sum = (pred: (item: string) => boolean) => c.lines.filter((l) => pred(l.item)).reduce((n, l) => n + l.usd, 0);
    const fixed = sum((item) => !item.endsWith('compute'));
    const compute = sum((item) => item.endsWith('compute'));
    // The least a FIFO batch of 10 can bill at this latency: every invocation waits for its slowest answer.
    const waitMs = expectedSlowestMs(BENCH_LATENCY.medianMs, BENCH_LATENCY.p99Ms, CUSTOMER_BATCH) / CUSTOMER_BATCH;
    const waitUsd = (waitMs / 1000) * (c.inputs.senderMemoryMb / 1024) * 1e6 * PRICES.lambdaGbSecondArm;
    notes.push(
      `${c.inputs.label}: ${formatUsd(c.totalUsd)} against ${formatUsd(c.target)}. Of it, ${formatUsd(fixed)} are per-request prices paid once per webhook whatever the code does ` +
        `(the receiver's invocation, SendMessage${c.inputs.label.includes('state store') && !c.inputs.label.includes('stateStore: false') ? ', the state table\'s read and write' : ''}, the event source's receives and deletes); ` +
        `compute is ${formatUsd(compute)}, of which the sender's wait for MoEngage alone is at least ${formatUsd(waitUsd)} at ${c.inputs.senderMemoryMb} MB ` +
        `(a FIFO batch holds at most ${CUSTOMER_BATCH} messages, and an invocation lasts until the slowest of their answers: ${Math.round(waitMs * CUSTOMER_BATCH)} ms expected at this latency model).`,
    );
  }
  return notes;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.render) {
    const report = JSON.parse(await readFile(args.render, 'utf8')) as BenchReport;
    report.startedAt = new Date(report.startedAt); // JSON wrote it as text
    report.renderedAt = new Date();
    report.notes = findings(report);
    await writeFile(args.out, renderReport(report), 'utf8');
    process.stdout.write(`rendered ${args.out} from ${args.render} (the run of ${report.startedAt})\n`);
    return;
  }
  // The handlers are imported in this process: keep Powertools quiet from the start.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const startedAt = new Date();
  const t0 = performance.now();
  const loadAverage = loadavg();
  const sizes = args.quick
    ? { rounds: 9, importRuns: 7, customer: 3_000, customerUnscaled: 0, bulk: 14_000, latencySeconds: 5 }
    : { rounds: 15, importRuns: 15, customer: 5_000, customerUnscaled: 4_000, bulk: 27_000, latencySeconds: 10 };

  if (args.only === 'bundles') {
    progress('figure 2 alone: bundles');
    // Alone, the figure can afford twice the samples: tighter medians on a shared machine.
    const bundles = await benchBundles({ runs: 2 * sizes.importRuns + 1 });
    const report: BenchReport = {
      command: `npm run bench -- ${args.quick ? '--quick ' : ''}--only bundles`,
      startedAt,
      durationMs: performance.now() - t0,
      machine: machineInfo(),
      loadAverage,
      bundles,
      throughput: [],
      latency: [],
      cost: [],
      notes: [],
    };
    await writeFile(args.out, spliceFigure(2, await readFile(args.out, 'utf8'), report), 'utf8');
    for (const s of summaryRows(report)) process.stdout.write(`${s.result.replaceAll('*', '').padEnd(5)} ${s.figure}: ${s.measured} | ${s.baseline} | ratio ${s.ratio} | target ${s.target}\n`);
    process.stdout.write(`updated figure 2 in ${args.out} (${Math.round(report.durationMs / 1000)} s)\n`);
    return;
  }
  if (args.only === 'memory') {
    progress('figure 6 alone: memory sizes at Lambda\'s CPU share');
    const memory = await benchLambdaShare(args.quick ? { receiverRequests: 100, senderBatches: 20 } : {});
    process.stdout.write(`${renderLambdaShare(memory).join('\n')}\n`);
    return;
  }
  if (args.only === 'hot-path') {
    progress('figure 1 alone: receiver hot path');
    const hotPath = await benchHotPath({ rounds: sizes.rounds });
    const report: BenchReport = {
      command: `npm run bench -- ${args.quick ? '--quick ' : ''}--only hot-path`,
      startedAt,
      durationMs: performance.now() - t0,
      machine: machineInfo(),
      loadAverage,
      hotPath,
      throughput: [],
      latency: [],
      cost: [],
      notes: [],
    };
    await writeFile(args.out, spliceFigure(1, await readFile(args.out, 'utf8'), report), 'utf8');
    for (const s of summaryRows(report)) process.stdout.write(`${s.result.replaceAll('*', '').padEnd(5)} ${s.figure}: ${s.measured} | ${s.baseline} | ratio ${s.ratio} | target ${s.target}\n`);
    for (const x of hotPath.rows) process.stdout.write(`      ${x.source}: ${Math.round(x.receiverNs)} ns vs ${Math.round(x.floorNs)} ns = ${x.ratio.toFixed(2)}x (rounds ${x.roundRatios[0].toFixed(2)}-${x.roundRatios[1].toFixed(2)}x)\n`);
    for (const note of findings(report)) process.stdout.write(`${note}\n`);
    process.stdout.write(`updated figure 1 in ${args.out} (${Math.round(report.durationMs / 1000)} s)\n`);
    return;
  }
  progress('figure 1: receiver hot path');
  const hotPath = await benchHotPath({ rounds: sizes.rounds });
  progress('figure 2: bundles');
  const bundles = await benchBundles({ runs: sizes.importRuns });
  progress('figure 4: latency (before the throughput runs: it also times the receiver at a moderate rate)');
  const latency = [
    await benchLatency({ label: 'customer mode (FIFO)', mode: 'customer', queueType: 'fifo', ratePerSecond: 50, seconds: sizes.latencySeconds, windowMs: WINDOW_MS, pollerConcurrency: benchSenderConcurrency('customer'), floorRequests: 40 }),
    // 100 events/s: the rate at which bulk mode's defaults must fill requests with ≥ 50 users.
    await benchLatency({ label: 'bulk mode (standard)', mode: 'bulk', queueType: 'standard', ratePerSecond: 100, seconds: sizes.latencySeconds, windowMs: WINDOW_MS, pollerConcurrency: benchSenderConcurrency('bulk'), floorRequests: 40 }),
  ];
  progress('figure 6: memory sizes at Lambda\'s CPU share');
  const memory = await benchLambdaShare(args.quick ? { receiverRequests: 100, senderBatches: 20 } : {});
  progress('figure 3: throughput');
  const throughput = [
    await benchThroughput({ label: 'customer mode (FIFO)', mode: 'customer', queueType: 'fifo', windowMs: WINDOW_MS, webhooks: sizes.customer, pollerConcurrency: benchSenderConcurrency('customer') }),
    await benchThroughput({ label: 'bulk mode (standard)', mode: 'bulk', queueType: 'standard', windowMs: WINDOW_MS, webhooks: sizes.bulk, pollerConcurrency: benchSenderConcurrency('bulk') }),
  ];
  // The same customer-mode run without the per-user state store (`stateStore: false`), for figure 5.
  const stateless = await benchThroughput({
    label: 'customer mode (FIFO), stateStore: false',
    mode: 'customer',
    queueType: 'fifo',
    windowMs: WINDOW_MS,
    webhooks: sizes.customer,
    stateStore: false,
    pollerConcurrency: benchSenderConcurrency('customer'),
    informational: true,
  });
  if (!args.quick) {
    // For comparison: the emulator's whole-second headers as they are, against the scaled window.
    throughput.push(
      await benchThroughput({
        label: 'customer mode (FIFO)',
        mode: 'customer',
        queueType: 'fifo',
        windowMs: WINDOW_MS,
        webhooks: sizes.customerUnscaled,
        scaleHeaderResolution: false,
        pollerConcurrency: benchSenderConcurrency('customer'),
        informational: true,
      }),
    );
  }
  throughput.push(stateless);
  progress('figure 5: cost');
  const cost: CostResult[] = [];
  const [tc, tb] = throughput;
  const [lc, lb] = latency;
  const sensitivity: CostResult[] = [];
  // Customer mode is priced with the deployed bundles' times at the default memory sizes, at Lambda's
  // CPU share (figure 6), where this machine can measure them; otherwise with the in-process runs.
  const customerDefaults = deployedMemorySizes('customer');
  const measuredAt = (fn: 'receiver' | 'sender', memoryMb: number, stateStore: boolean, batchSize = CUSTOMER_BATCH): ShareRow | undefined =>
    memory.rows.find(
      (x) => x.fn === fn && x.memoryMb === memoryMb && (fn === 'receiver' || (x.mode === 'customer' && x.stateStore === stateStore && x.batchSize === batchSize)),
    );
  const perMessage = (row: ShareRow | undefined) => (row ? row.meanBilledMs / row.messagesPerInvocation : undefined);
  const receiverMeasured = measuredAt('receiver', customerDefaults.receiverMb, false)?.meanBilledMs;
  if (tc && lc) cost.push(costFor('customer mode (FIFO), with the state store', tc, lc, undefined, perMessage(measuredAt('sender', customerDefaults.senderMb, true)), receiverMeasured));
  if (lc) cost.push(costFor('customer mode (FIFO), stateStore: false', stateless, lc, undefined, perMessage(measuredAt('sender', customerDefaults.senderMb, false)), receiverMeasured));
  if (tb && lb) cost.push(costFor('bulk mode (standard)', tb, lb));
  // The same configuration at a trickle (every message its own invocation, as below ~10 webhooks/s
  // on a FIFO queue): one receive and one delete per message, and the sender's time of a one-message
  // invocation measured at its default size (figure 6); where figure 6 could not run, one MoEngage
  // answer (mean 381 ms) plus the overhead of the in-process run (invocation time beyond the slowest
  // of its batch's answers, which at saturation includes waiting for the rate limiter: an overestimate).
  const trickle: CostResult[] = [];
  for (const [label, t, l, stateStore] of [
    ['customer mode (FIFO), with the state store, at a trickle', tc, lc, true],
    ['customer mode (FIFO), stateStore: false, at a trickle', stateless, lc, false],
  ] as const) {
    if (!t || !l) continue;
    const perInvocation = t.senderBilledMsPerMessage * t.meanRecordsPerInvocation;
    const overhead = Math.max(0, perInvocation - expectedSlowestMs(BENCH_LATENCY.medianMs, BENCH_LATENCY.p99Ms, Math.round(t.meanRecordsPerInvocation)));
    const estimated = Math.ceil(expectedSlowestMs(BENCH_LATENCY.medianMs, BENCH_LATENCY.p99Ms, 1) + overhead);
    const billed = measuredAt('sender', customerDefaults.senderMb, stateStore, 1)?.meanBilledMs ?? estimated;
    trickle.push(
      costFor(
        label,
        { ...t, senderInvocationsPerMessage: 1, receiveCallsPerMessage: 1, deleteCallsPerMessage: 1, meanRecordsPerInvocation: 1 },
        l,
        deployedMemorySizes(t.mode),
        billed,
        receiverMeasured,
      ),
    );
  }

  // The same cases at other sender memory sizes: with the sender's time measured at that size
  // (figure 6) where it was, else taken as the same as at the default size.
  for (const c of cost) {
    const statelessCase = c.inputs.label.includes('stateStore: false');
    const t = statelessCase ? stateless : c.inputs.mode === 'bulk' ? tb : tc;
    const l = c.inputs.mode === 'bulk' ? lb : lc;
    if (!t || !l) continue;
    for (const senderMb of [128, 256, 512, 1024]) {
      if (senderMb === c.inputs.senderMemoryMb) continue;
      const row = c.inputs.mode === 'customer' ? measuredAt('sender', senderMb, !statelessCase) : undefined;
      sensitivity.push(
        costFor(
          `${c.inputs.label}, sender ${senderMb} MB ${row ? '(measured at that size, figure 6)' : '(time assumed as at the default size)'}`,
          t,
          l,
          { receiverMb: c.inputs.receiverMemoryMb, senderMb },
          perMessage(row) ?? c.inputs.senderBilledMsPerMessage,
          c.inputs.receiverBilledMs,
        ),
      );
    }
  }

  const report: BenchReport = {
    command: args.quick ? 'npm run bench -- --quick' : 'npm run bench',
    startedAt,
    durationMs: performance.now() - t0,
    machine: machineInfo(),
    loadAverage,
    hotPath,
    bundles,
    throughput,
    latency,
    memory,
    cost,
    costSensitivity: sensitivity,
    costTrickle: trickle,
    notes: [],
  };
  // The raw measurements first: a report that fails to render can be rendered again from them
  // (`npm run bench -- --render FILE`).
  const raw = join(tmpdir(), 'moengage-bench-report.json');
  await writeFile(raw, JSON.stringify(report), 'utf8');
  progress(`raw measurements: ${raw}`);
  report.notes = findings(report);
  await writeFile(args.out, renderReport(report), 'utf8');
  for (const s of summaryRows(report)) process.stdout.write(`${s.result.replaceAll('*', '').padEnd(5)} ${s.figure}: ${s.measured} | ${s.baseline} | ratio ${s.ratio} | target ${s.target}\n`);
  process.stdout.write(`wrote ${args.out} (${Math.round(report.durationMs / 1000)} s)\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`npm run bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
