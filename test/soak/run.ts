/**
 * `npm run soak`: the longer reliability run (not in CI). The whole pipeline in-process, as
 * `npm run dev` runs it (the real receiver and sender Lambda entries with the production retry
 * policy, fauxqs as SQS, the poller as the event source mapping), against the MoEngage emulator
 * injecting faults into a share of its requests (429 with Retry-After, 500, 502, 503, timeouts,
 * connection resets; timeouts and resets half of the time after accepting the payload), then
 * recovering. A few users are refused by MoEngage (400) on purpose: those, and only those,
 * must end in the DLQ.
 *
 * Providers' own misbehaviour rides along: for every `--late-every`-th user an older version of
 * the user (60 s earlier, another event id) is posted after the newer one was accepted (a late
 * retry); for every `--duplicate-every`-th user the newer event is posted again (a provider
 * retry of the same event id). At the end every user's final profile at the MoEngage emulator
 * (the accepted payloads folded in the order MoEngage accepted them) is compared with the
 * provider's latest state (the payload the source maps from the user's newest event).
 *
 * Prints events, faults injected by kind, delivered (unique users at MoEngage), duplicates,
 * parked, lost, profiles equal to the provider's latest state, and the durations, and exits
 * non-zero if anything was lost, parked without reason, a profile differs, or it did not drain
 * in time. Every server listens on 127.0.0.1; traffic goes nowhere else.
 * Bounded: it stops at --max-minutes whatever happens.
 *
 *   npm run soak -- [--events 5000] [--fault-rate 0.3] [--reject 25] [--seed 1] [--max-minutes 10]
 *                   [--concurrency 16] [--queue-type fifo|standard] [--late-every 5] [--duplicate-every 7]
 */
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { parseAdapterConfig, SOURCE_NAMES, sourceOptions, type SourceName } from '../../functions/core/config';
import { readParkAttributes } from '../../functions/core/dlq';
import { decodeEnvelope } from '../../functions/core/envelope';
import { validateCustomerPayload } from '../../functions/core/moengage/payload-validator';
import { ENV } from '../../functions/core/names';
import { startDev, type DevHandle } from '../../local/dev';
import { seededRandom, TRANSIENT_FAULTS, type PayloadValidator } from '../../local/moengage-emulator';
import { buildSampleEvent, DEV_SECRETS, postSignedRequest, SAMPLE_STANDARD_MAPPING, signSample, type SignedRequest } from '../../local/samples';
import { SOURCES } from '../../functions/sources';
import type { QueueType } from '../../local/sqs';

export interface SoakOptions {
  events: number;
  faultRate: number;
  /** Users MoEngage refuses with a 400 (injected permanent errors). */
  reject: number;
  seed: number;
  maxMinutes: number;
  /** Concurrent webhook posts. */
  concurrency: number;
  queueType: QueueType;
  /** Every n-th user also gets an older version of itself, posted late (0: none). */
  lateEvery: number;
  /** Every n-th user's newest event is posted twice (0: none). */
  duplicateEvery: number;
  log: (line: string) => void;
}

export const DEFAULT_SOAK_OPTIONS: Omit<SoakOptions, 'log'> = {
  events: 5_000,
  faultRate: 0.3,
  reject: 25,
  seed: 1,
  maxMinutes: 10,
  concurrency: 16,
  queueType: 'fifo',
  lateEvery: 5,
  duplicateEvery: 7,
};


export interface SoakResult {
  events: number;
  accepted: number;
  receiverRetries: number;
  notAccepted: number;
  moengageRequests: number;
  /** Injected faults / requests while faults were on. */
  faultRateUnderFaults: number;
  faults: { total: number; '429': number; '500': number; '502': number; '503': number; timeout: number; reset: number; acceptedBeforeFault: number };
  delivered: number;
  duplicates: number;
  duplicatesAcceptedUnanswered: number;
  duplicatesAnsweredTwice: number;
  parked: number;
  parkedInjected: number;
  parkedUnexpected: number;
  parkedReasons: Record<string, number>;
  rejectedButDelivered: number;
  lost: number;
  /** Late older versions and re-posted duplicates sent by the "providers". */
  lateSent: number;
  duplicatesSent: number;
  /** Users compared (accepted, not refused on purpose) and those whose final profile differs from the provider's latest state. */
  profilesCompared: number;
  profilesDiffering: number;
  /** A few differing users (customer id and attribute), for the report. */
  differences: string[];
  drained: boolean;
  durationMs: { total: number; posting: number; underFaults: number; recovery: number };
}


function userId(source: SourceName, i: number): string {
  switch (source) {
    case 'clerk':
      return `user_soak_${i}`;
    case 'stripe':
      return `cus_soak_${i}`;
    case 'shopify':
      return String(8_000_000_000_000 + i);
    case 'workos':
      return `user_01SOAK${i}`;
    case 'auth0':
      return `auth0|soak${i}`;
    case 'segment':
      return `seg-soak-${i}`;
    case 'standard':
      return `usr_soak_${i}`;
  }
}

/** Sources round-robin, one distinct user per event, ids derived from the seed. */
function buildEvent(i: number, seed: number, version: 'current' | 'older' = 'current'): SignedRequest {
  const source = SOURCE_NAMES[i % SOURCE_NAMES.length] as SourceName;
  let n = 0;
  const randomHex = () => createHash('sha256').update(`${seed}:${i}:${version}:${n++}`).digest('hex').slice(0, 32);
  const now = new Date();
  const older = version === 'older';
  const sample = buildSampleEvent(source, {
    // A user update (not a create): both versions are snapshots of the same user, 60 s apart.
    type: source === 'shopify' ? 'customers/update' : source === 'stripe' ? 'customer.updated' : source === 'segment' ? 'identify' : 'user.updated',
    now: older ? new Date(now.getTime() - 60_000) : now,
    user: { id: userId(source, i), firstName: older ? 'Stale' : 'Jane', email: older ? `stale.${i}@example.com` : `jane.${i}@example.com` },
    randomHex,
  });
  return signSample(sample, DEV_SECRETS[source]);
}

const DEV_CONFIG = parseAdapterConfig({ sources: { standard: { mapping: SAMPLE_STANDARD_MAPPING } } });

/** The payload the source maps from a signed request (what the provider's latest state is, for MoEngage). */
function mappedAttributes(request: SignedRequest): Record<string, unknown> | undefined {
  const source = SOURCES[request.source];
  const req = { method: 'POST', path: request.path, headers: request.headers, rawBody: Buffer.from(request.body, 'utf8') };
  const ctx = { now: new Date(), options: sourceOptions(DEV_CONFIG, request.source) };
  const parsed = source.parse(req, ctx);
  if (!parsed.ok) return undefined;
  const mapped = source.map(parsed.event, ctx);
  return mapped.kind === 'payload' ? (mapped.payload.attributes as Record<string, unknown>) : undefined;
}

async function depth(client: SQSClient, queueUrl: string): Promise<number> {
  const out = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
  );
  const a = out.Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
}

/** Every DLQ message once: its customer_id and failure reason. */
async function readDlq(client: SQSClient, dlqUrl: string): Promise<{ customerId: string; reason: string }[]> {
  const out: { customerId: string; reason: string }[] = [];
  for (;;) {
    const got = await client.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 3_600, MessageAttributeNames: ['All'], WaitTimeSeconds: 0 }));
    const messages = got.Messages ?? [];
    if (messages.length === 0) return out;
    for (const m of messages) {
      const env = decodeEnvelope(m.Body ?? '');
      out.push({ customerId: env.ok ? (env.envelope.payload.customer_id ?? '(none)') : '(not an envelope)', reason: readParkAttributes(m.MessageAttributes).reason ?? '(none)' });
    }
  }
}

/** Concurrent sender invocations (the event source mapping's maximum concurrency). */
const SENDER_CONCURRENCY = 4;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const { log } = opts;
  const t0 = Date.now();
  const deadline = t0 + opts.maxMinutes * 60_000;
  const random = seededRandom(opts.seed);

  const events = Array.from({ length: opts.events }, (_, i) => buildEvent(i, opts.seed));
  // The providers' misbehaviour: late older versions, and the same event delivered twice.
  const lateOf = new Map<number, SignedRequest>();
  if (opts.lateEvery > 0) for (let i = 0; i < events.length; i += opts.lateEvery) lateOf.set(i, buildEvent(i, opts.seed, 'older'));
  const duplicated = new Set<number>();
  if (opts.duplicateEvery > 0) for (let i = 3; i < events.length; i += opts.duplicateEvery) duplicated.add(i);
  // Injected permanent errors: these users are refused by MoEngage (400) every time.
  const refused = new Set<string>();
  const step = Math.max(1, Math.floor(opts.events / Math.max(1, opts.reject)));
  for (let i = step - 1; i < events.length && refused.size < opts.reject; i += step) refused.add((events[i] as SignedRequest).customerId);
  const validate: PayloadValidator = (payload, rules) => {
    const id = (payload as { customer_id?: unknown }).customer_id;
    if (typeof id === 'string' && refused.has(id)) return { ok: false, field: 'attributes', message: 'the attribute value is invalid' };
    return validateCustomerPayload(payload, rules);
  };

  const dev: DevHandle = await startDev({
    port: 0,
    sqsPort: 0,
    quiet: true,
    env: {
      // Timeout faults cost 1 s each; the in-invocation retries fit in the 10 s function timeout.
      [ENV.moengageTimeoutMs]: '1000',
      // The local run's invocations share one rate limiter (SENDER_MAX_CONCURRENCY=1): the workspace's budget.
      [ENV.rateLimitPerMinute]: '10000',
    },
    queueType: opts.queueType,
    // High enough that no transient failure exhausts a message within the run.
    maxReceiveCount: 50,
    visibilityTimeoutSeconds: 60,
    emulator: { validate, maxRecords: opts.events * 4, rateLimit: { customerPerWindow: 1_000_000 } },
    poller: { waitTimeSeconds: 1, functionTimeoutMs: 10_000, maxConcurrency: SENDER_CONCURRENCY },
  });
  const emulator = dev.emulator;
  if (!emulator) throw new Error('the soak needs the MoEngage emulator (unset MOENGAGE_BASE_URL / MOENGAGE_DC)');

  const deliveredIds = () => new Set(emulator.accepted.map((a) => String(a.payload.customer_id)));
  let progress: NodeJS.Timeout | undefined;
  try {
    log(`soak: ${opts.events} events over ${SOURCE_NAMES.length} sources, faults on ${Math.round(opts.faultRate * 100)} % of MoEngage requests, ${refused.size} users refused (400), ${opts.queueType} queue, seed ${opts.seed}`);
    emulator.faults.setProbabilistic({ rate: opts.faultRate, kinds: TRANSIENT_FAULTS, random });
    progress = setInterval(() => {
      void depth(dev.sqs.client, dev.sqs.queueUrl)
        .then((d) => log(`  ${Math.round((Date.now() - t0) / 1000)} s: delivered ${deliveredIds().size}, MoEngage requests ${emulator.requests}, faults ${emulator.stats().faultsInjected}, queue ${d}`))
        .catch(() => {});
    }, 10_000);
    progress.unref();

    // 1. Post everything, retrying like a provider (same signed request, backoff) on a non-2xx.
    // After a user's event is accepted, its late older version and its duplicate follow.
    const statuses = new Array<number>(events.length).fill(0);
    let receiverRetries = 0;
    let lateSent = 0;
    let duplicatesSent = 0;
    const post = async (request: SignedRequest): Promise<number> => {
      let status = 0;
      for (let attempt = 1; attempt <= 8; attempt++) {
        try {
          status = (await postSignedRequest(dev.url, request)).status;
        } catch {
          status = 0;
        }
        if (status >= 200 && status < 300) break;
        receiverRetries++;
        await sleep(Math.min(2_000, 100 * 2 ** attempt));
      }
      return status;
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        while (next < events.length && Date.now() < deadline) {
          const i = next++;
          statuses[i] = await post(events[i] as SignedRequest);
          if (statuses[i] !== 202) continue;
          const late = lateOf.get(i);
          if (late && (await post(late)) === 202) lateSent++;
          if (duplicated.has(i) && (await post(events[i] as SignedRequest)) >= 200) duplicatesSent++;
        }
      }),
    );
    const tPosted = Date.now();
    const acceptedIds = events.filter((_, i) => statuses[i] === 202).map((e) => e.customerId);
    const expectedDelivered = acceptedIds.filter((id) => !refused.has(id));
    log(`posted in ${((tPosted - t0) / 1000).toFixed(1)} s: ${acceptedIds.length} accepted (202), ${receiverRetries} receiver retries`);

    // 2. Faults stay on until most of the traffic went through them (or a third of the time budget).
    const faultPhaseEnd = t0 + (deadline - t0) / 3;
    while (deliveredIds().size < expectedDelivered.length * 0.9 && Date.now() < faultPhaseEnd) await sleep(250);
    const tRecovery = Date.now();
    const underFaults = emulator.stats();
    emulator.faults.clear();
    log(`MoEngage recovers after ${((tRecovery - t0) / 1000).toFixed(1)} s (${deliveredIds().size} delivered so far)`);

    // 3. Drain: every accepted event delivered or (refused ones) parked, the queue empty.
    let drained = false;
    while (Date.now() < deadline) {
      const delivered = deliveredIds();
      if (expectedDelivered.every((id) => delivered.has(id)) && (await depth(dev.sqs.client, dev.sqs.queueUrl)) === 0) {
        drained = true;
        break;
      }
      await sleep(500);
    }
    const tDone = Date.now();
    await dev.poller.stop();

    const parkedList = await readDlq(dev.sqs.client, dev.sqs.dlqUrl);
    const parkedIds = new Set(parkedList.map((p) => p.customerId));
    const parkedReasons: Record<string, number> = {};
    for (const p of parkedList) parkedReasons[p.reason] = (parkedReasons[p.reason] ?? 0) + 1;
    const delivered = deliveredIds();
    const stats = emulator.stats();
    const ok = stats.byStatus['200'] ?? 0;
    const lost = acceptedIds.filter((id) => !delivered.has(id) && !parkedIds.has(id)).length;

    // 4. Every user's final profile at MoEngage against the provider's latest state.
    const profiles = new Map<string, Record<string, unknown>>();
    for (const a of emulator.accepted) {
      const id = String(a.payload.customer_id);
      profiles.set(id, { ...(profiles.get(id) ?? {}), ...((a.payload.attributes as Record<string, unknown>) ?? {}) });
    }
    let profilesCompared = 0;
    const differences: string[] = [];
    let profilesDiffering = 0;
    events.forEach((request, i) => {
      if (statuses[i] !== 202 || refused.has(request.customerId)) return;
      profilesCompared++;
      const latest = mappedAttributes(request) ?? {};
      const profile = profiles.get(request.customerId) ?? {};
      const wrong = Object.keys(latest).filter((k) => JSON.stringify(profile[k]) !== JSON.stringify(latest[k]));
      if (wrong.length > 0) {
        profilesDiffering++;
        if (differences.length < 5) differences.push(`${request.customerId}: ${wrong.join(', ')}`);
      }
    });
    return {
      events: events.length,
      accepted: acceptedIds.length,
      receiverRetries,
      notAccepted: events.length - acceptedIds.length,
      moengageRequests: stats.requests,
      faultRateUnderFaults: underFaults.requests > 0 ? underFaults.faultsInjected / underFaults.requests : 0,
      faults: {
        total: stats.faultsInjected,
        '429': stats.byStatus['429'] ?? 0,
        '500': stats.byStatus['500'] ?? 0,
        '502': stats.byStatus['502'] ?? 0,
        '503': stats.byStatus['503'] ?? 0,
        timeout: stats.timeouts,
        reset: stats.resets,
        acceptedBeforeFault: stats.acceptedUsers - ok,
      },
      delivered: delivered.size,
      duplicates: emulator.accepted.length - delivered.size,
      duplicatesAcceptedUnanswered: stats.acceptedUsers - ok,
      duplicatesAnsweredTwice: ok - delivered.size,
      parked: parkedList.length,
      parkedInjected: parkedList.filter((p) => refused.has(p.customerId) && p.reason === 'moengage_rejected').length,
      parkedUnexpected: parkedList.filter((p) => !(refused.has(p.customerId) && p.reason === 'moengage_rejected')).length,
      parkedReasons,
      rejectedButDelivered: [...refused].filter((id) => delivered.has(id)).length,
      lost,
      lateSent,
      duplicatesSent,
      profilesCompared,
      profilesDiffering,
      differences,
      drained,
      durationMs: { total: tDone - t0, posting: tPosted - t0, underFaults: tRecovery - t0, recovery: tDone - tRecovery },
    };
  } finally {
    if (progress) clearInterval(progress);
    await dev.stop();
  }
}

export function formatSoakResult(r: SoakResult): string[] {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return [
    '',
    'soak result',
    `  events              ${r.events} (accepted 202: ${r.accepted}, receiver retries: ${r.receiverRetries}, never accepted: ${r.notAccepted})`,
    `  MoEngage requests   ${r.moengageRequests} (${(r.faultRateUnderFaults * 100).toFixed(1)} % faulted while faults were on)`,
    `  faults injected     ${r.faults.total}: 429 ${r.faults['429']}, 500 ${r.faults['500']}, 502 ${r.faults['502']}, 503 ${r.faults['503']}, timeout ${r.faults.timeout}, reset ${r.faults.reset} (payload accepted before the fault: ${r.faults.acceptedBeforeFault})`,
    `  delivered (unique)  ${r.delivered}`,
    `  duplicates          ${r.duplicates} (accepted then timed out / reset: ${r.duplicatesAcceptedUnanswered}; answered 200 twice: ${r.duplicatesAnsweredTwice})`,
    `  parked              ${r.parked} (injected 400s: ${r.parkedInjected}; unexpected: ${r.parkedUnexpected}) ${JSON.stringify(r.parkedReasons)}`,
    `  lost                ${r.lost}`,
    `  provider misbehaviour  late older versions ${r.lateSent}, duplicate deliveries ${r.duplicatesSent}`,
    `  profiles            ${r.profilesCompared - r.profilesDiffering} / ${r.profilesCompared} equal to the provider's latest state${r.differences.length > 0 ? ` (differing: ${r.differences.join('; ')})` : ''}`,
    `  drained             ${r.drained ? 'yes' : 'NO'}`,
    `  duration            ${s(r.durationMs.total)} (posting ${s(r.durationMs.posting)}, under faults ${s(r.durationMs.underFaults)}, recovery ${s(r.durationMs.recovery)})`,
  ];
}

/** Exit code: 0 only if nothing was lost, nothing parked without being refused on purpose, and everything drained. */
export function soakExitCode(r: SoakResult): number {
  return r.lost === 0 && r.parkedUnexpected === 0 && r.rejectedButDelivered === 0 && r.drained && r.notAccepted === 0 && r.profilesDiffering === 0 ? 0 : 1;
}

export function parseSoakArgs(argv: readonly string[]): Omit<SoakOptions, 'log'> | { error: string } {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        events: { type: 'string' },
        'fault-rate': { type: 'string' },
        reject: { type: 'string' },
        seed: { type: 'string' },
        'max-minutes': { type: 'string' },
        concurrency: { type: 'string' },
        'queue-type': { type: 'string' },
        'late-every': { type: 'string' },
        'duplicate-every': { type: 'string' },
      },
    }).values as Record<string, string | undefined>;
  } catch (err) {
    return { error: (err as Error).message };
  }
  const out = { ...DEFAULT_SOAK_OPTIONS };
  const int = (name: string, min: number, max: number): number | string | undefined => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    return Number.isInteger(n) && n >= min && n <= max ? n : `--${name} must be an integer from ${min} to ${max}`;
  };
  const checks: [keyof typeof out, number | string | undefined][] = [
    ['events', int('events', 1, 100_000)],
    ['reject', int('reject', 0, 10_000)],
    ['seed', int('seed', 0, 2 ** 31)],
    ['maxMinutes', int('max-minutes', 1, 60)],
    ['concurrency', int('concurrency', 1, 256)],
    ['lateEvery', int('late-every', 0, 100_000)],
    ['duplicateEvery', int('duplicate-every', 0, 100_000)],
  ];
  for (const [key, v] of checks) {
    if (typeof v === 'string') return { error: v };
    if (v !== undefined) (out as Record<string, unknown>)[key] = v;
  }
  if (values['fault-rate'] !== undefined) {
    const rate = Number(values['fault-rate']);
    if (!(rate >= 0 && rate <= 0.9)) return { error: '--fault-rate must be a number from 0 to 0.9' };
    out.faultRate = rate;
  }
  const qt = values['queue-type'];
  if (qt !== undefined) {
    if (qt !== 'fifo' && qt !== 'standard') return { error: '--queue-type must be fifo or standard' };
    out.queueType = qt;
  }
  if (out.reject >= out.events) return { error: '--reject must be smaller than --events' };
  return out;
}

async function main(): Promise<number> {
  const parsed = parseSoakArgs(process.argv.slice(2));
  if ('error' in parsed) {
    console.error(parsed.error);
    return 2;
  }
  // Hard stop: whatever happens, the process ends shortly after the time budget.
  setTimeout(() => {
    console.error('soak: time budget exceeded while stopping; exiting');
    process.exit(1);
  }, (parsed.maxMinutes * 60 + 60) * 1000).unref();
  const result = await runSoak({ ...parsed, log: (l) => console.log(l) });
  for (const line of formatSoakResult(result)) console.log(line);
  return soakExitCode(result);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`soak failed: ${(err as Error)?.stack ?? String(err)}`);
      process.exitCode = 1;
    },
  );
}
