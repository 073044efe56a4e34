/**
 * A sender harness for unit and property tests: deliverBatch with a fake MoEngage that keeps
 * per-user profiles (Track User merges attributes, Bulk Import merges each customer element,
 * Delete User removes the profile), a scripted failure stream, virtual time, and SQS records
 * built from envelopes.
 */
import type { SQSRecord } from 'aws-lambda';
import { encodeEnvelope, type Envelope } from '../../functions/core/envelope';
import { MoEngageClient, type FetchLike } from '../../functions/core/moengage/client';
import { RateLimiter } from '../../functions/core/moengage/rate-limit';
import { retryPolicy } from '../../functions/core/retry';
import type { ParkInfo } from '../../functions/core/dlq';
import { deliverBatch, RETRY_ATTRIBUTES, type RecordResult, type SenderDeps } from '../../functions/sender/deliver';
import { recordingTelemetry } from '../../functions/shared/observability';
import type { StateStore } from '../../functions/shared/state-store';

const SUCCESS = JSON.stringify({ status: 'success', message: 'Your request has been accepted and will be processed soon.' });

export type Profiles = Map<string, Record<string, unknown>>;

/** Applies a Track User payload to `profiles` as MoEngage does: attributes merge into the user's profile. */
export function mergeInto(profiles: Profiles, payload: { customer_id?: string; attributes?: Record<string, unknown> }): void {
  const id = payload.customer_id;
  if (id === undefined) return;
  profiles.set(id, { ...(profiles.get(id) ?? {}), ...(payload.attributes ?? {}) });
}

export interface FakeMoEngage {
  fetch: FetchLike;
  profiles: Profiles;
  calls: { path: string; body: unknown; status: number }[];
  deletes: Map<string, number>;
  /** Answers `status` instead of applying, while `shouldFail(body)` says so. */
  failWhen: (shouldFail: (path: string, body: Record<string, unknown>) => number | undefined) => void;
}

function fakeMoEngage(): FakeMoEngage {
  const profiles: Profiles = new Map();
  const deletes = new Map<string, number>();
  const calls: FakeMoEngage['calls'] = [];
  let shouldFail: (path: string, body: Record<string, unknown>) => number | undefined = () => undefined;
  const answer = (status: number, body: string) => ({ status, headers: { get: () => null }, text: async () => body });
  const fetch: FetchLike = async (url, init) => {
    const path = new URL(url).pathname;
    const body = JSON.parse(init.body) as Record<string, unknown>;
    const failStatus = shouldFail(path, body);
    if (failStatus !== undefined) {
      calls.push({ path, body, status: failStatus });
      return answer(failStatus, JSON.stringify({ status: 'fail', error: { type: 'InternalError', message: 'injected', request_id: 'test' } }));
    }
    calls.push({ path, body, status: 200 });
    if (path === '/v1/customer/delete') {
      const id = String(body.identity_value);
      profiles.delete(id);
      deletes.set(id, (deletes.get(id) ?? 0) + 1);
    } else if (path.startsWith('/v1/transition/')) {
      for (const el of body.elements as Record<string, unknown>[]) if (el.type === 'customer') mergeInto(profiles, el as { customer_id?: string });
    } else if (path.startsWith('/v1/customer/')) {
      mergeInto(profiles, body as { customer_id?: string });
    }
    return answer(200, SUCCESS);
  };
  return { fetch, profiles, calls, deletes, failWhen: (f) => (shouldFail = f) };
}

let seq = 0;

/**
 * An SQS record carrying `envelope` (FIFO group = the envelope's userKey). `retryAttempts`: a
 * requeued copy (SenderQueue.requeue) carrying the attempts its original made, due now.
 */
export function recordOf(envelope: Envelope, receiveCount = 1, messageId = `m-${++seq}`, retryAttempts?: number): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: encodeEnvelope(envelope),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '0',
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: '0',
      MessageGroupId: envelope.userKey ?? 'g',
    },
    messageAttributes:
      retryAttempts === undefined ? {} : { [RETRY_ATTRIBUTES.attempts]: { stringValue: String(retryAttempts), dataType: 'Number', stringListValues: [], binaryListValues: [] } },
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q.fifo',
    awsRegion: 'us-east-1',
  };
}

export interface Harness {
  deps: SenderDeps;
  moengage: FakeMoEngage;
  parked: { messageId: string; info: ParkInfo }[];
  /** Retries taken out of their user's line (FIFO with the state store). */
  requeued: { record: SQSRecord; attempts: number; notBefore: number }[];
  telemetry: ReturnType<typeof recordingTelemetry>;
  deliver(records: SQSRecord[]): Promise<Map<string, RecordResult>>;
}

export function senderHarness(options: { state?: StateStore; mode?: 'customer' | 'bulk'; fifo?: boolean; maxReceiveCount?: number } = {}): Harness {
  const moengage = fakeMoEngage();
  let clock = Date.parse('2026-12-01T10:00:00.000Z');
  const sleep = async (ms: number) => {
    clock += ms;
  };
  const now = () => clock;
  const telemetry = recordingTelemetry();
  const parked: Harness['parked'] = [];
  const requeued: Harness['requeued'] = [];
  const deps: SenderDeps = {
    mode: options.mode ?? 'customer',
    fifo: options.fifo ?? true,
    client: new MoEngageClient({ baseUrl: 'http://moengage.test', fetch: moengage.fetch, now }),
    credentials: { get: async () => ({ workspaceId: 'ws1', apiKey: 'k' }), refresh: async () => ({ workspaceId: 'ws1', apiKey: 'k' }) },
    queue: {
      changeVisibility: async () => {},
      requeue: async (r, retry) => {
        requeued.push({ record: r, ...retry });
      },
      park: async (r, info) => {
        parked.push({ messageId: r.messageId, info });
      },
    },
    limiters: {
      customer: new RateLimiter({ capacityPerMinute: 6_000_000, now, sleep }),
      bulk: new RateLimiter({ capacityPerMinute: 6_000_000, now, sleep }),
      delete: new RateLimiter({ capacityPerMinute: 6_000_000, now, sleep }),
      event: new RateLimiter({ capacityPerMinute: 6_000_000, now, sleep }),
    },
    policy: retryPolicy(),
    maxReceiveCount: options.maxReceiveCount ?? 5,
    parallelism: 4,
    remainingMs: () => 60_000,
    sleep,
    random: () => 0.5,
    now,
    telemetry,
    ...(options.state ? { state: options.state } : {}),
  };
  return { deps, moengage, parked, requeued, telemetry, deliver: (records) => deliverBatch(records, deps) };
}
