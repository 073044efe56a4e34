import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { ParkInfo } from '../../functions/core/dlq';
import { encodeEnvelope, messageGroupId, type Envelope } from '../../functions/core/envelope';
import { MoEngageClient, type FetchLike, type MoEngageCredentials } from '../../functions/core/moengage/client';
import { RateLimiter } from '../../functions/core/moengage/rate-limit';
import { METRIC } from '../../functions/core/names';
import { retryPolicy } from '../../functions/core/retry';
import { deliverBatch, type SenderDeps } from '../../functions/sender/deliver';
import { recordingTelemetry } from '../../functions/shared/observability';

const SUCCESS = JSON.stringify({ status: 'success', message: 'Your request has been accepted and will be processed soon.' });
const fail400 = JSON.stringify({
  status: 'fail',
  error: { attribute: 'customer_id', message: 'customer_id is not found in the payload', type: 'MissingAttributeError', request_id: 'ZbPXtKFL' },
});
const fail401 = JSON.stringify({ status: 'fail', error: { message: 'App Secret key mismatch. Please login to the dashboard to verify key', type: 'Authentication required', request_id: 'PVUDFisO' } });

type Answer = { status: number; body?: string; headers?: Record<string, string> };

/** A scripted MoEngage: answers in order, then `fallback`; records every call. */
function scripted(answers: Answer[], fallback: Answer = { status: 200, body: SUCCESS }) {
  const calls: { url: string; auth: string | undefined; body: unknown }[] = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, auth: init.headers.Authorization, body: JSON.parse(init.body) as unknown });
    const a = answers.shift() ?? fallback;
    const headers = new Map(Object.entries(a.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    return { status: a.status, headers: { get: (n: string) => headers.get(n.toLowerCase()) ?? null }, text: async () => a.body ?? '' };
  };
  return { fetch, calls };
}

function envelope(n: number, customerId = `user_${n}`): Envelope {
  return {
    v: 1,
    source: 'clerk',
    eventId: `msg_${n}`,
    eventType: 'user.updated',
    receivedAt: '2026-11-29T10:00:00.000Z',
    payload: { type: 'customer', customer_id: customerId, attributes: { u_fn: `Name${n}` } },
  };
}

function record(n: number, opts: { receiveCount?: number; group?: string; body?: string } = {}): SQSRecord {
  const env = envelope(n);
  return {
    messageId: `m-${n}`,
    receiptHandle: `rh-${n}`,
    body: opts.body ?? encodeEnvelope(env),
    attributes: {
      ApproximateReceiveCount: String(opts.receiveCount ?? 1),
      SentTimestamp: '0',
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: '0',
      MessageGroupId: opts.group ?? messageGroupId(env.payload.customer_id!),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q.fifo',
    awsRegion: 'us-east-1',
  };
}

function harness(answers: Answer[], over: Partial<SenderDeps> = {}, fallback?: Answer) {
  const api = scripted(answers, fallback);
  let clock = Date.parse('2026-11-29T10:00:01.000Z');
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
    clock += ms;
  };
  const parked: { messageId: string; info: ParkInfo; meta: { source?: string; eventType?: string } }[] = [];
  const visibility: { messageId: string; seconds: number }[] = [];
  let creds: MoEngageCredentials = { workspaceId: 'ws1', apiKey: 'old-key' };
  let refreshes = 0;
  const telemetry = recordingTelemetry();
  const now = () => clock;
  const deps: SenderDeps = {
    mode: 'customer',
    fifo: true,
    client: new MoEngageClient({ baseUrl: 'http://moengage.test', fetch: api.fetch, now }),
    credentials: {
      get: async () => creds,
      refresh: async () => {
        refreshes++;
        return creds;
      },
    },
    queue: {
      changeVisibility: async (r, seconds) => {
        visibility.push({ messageId: r.messageId, seconds });
      },
      requeue: async () => {
        throw new Error('no requeue without the state store');
      },
      park: async (r, info, meta) => {
        parked.push({ messageId: r.messageId, info, meta });
      },
    },
    limiters: {
      customer: new RateLimiter({ capacityPerMinute: 600_000, now, sleep }),
      bulk: new RateLimiter({ capacityPerMinute: 600_000, now, sleep }),
      delete: new RateLimiter({ capacityPerMinute: 600_000, now, sleep }),
      event: new RateLimiter({ capacityPerMinute: 600_000, now, sleep }),
    },
    policy: retryPolicy(),
    maxReceiveCount: 5,
    parallelism: 4,
    remainingMs: () => 60_000,
    sleep,
    random: () => 0.5,
    now,
    telemetry,
    ...over,
  };
  return {
    deps,
    api,
    parked,
    visibility,
    sleeps,
    telemetry,
    rotate: (apiKey: string) => {
      creds = { workspaceId: 'ws1', apiKey };
    },
    refreshes: () => refreshes,
  };
}

describe('sender core: customer mode', () => {
  it('delivers each message with one Track User call: URL, Basic auth and body exact', async () => {
    const h = harness([]);
    const results = await deliverBatch([record(1), record(2)], h.deps);
    expect([...results.values()]).toEqual([
      { ok: true, action: 'delivered' },
      { ok: true, action: 'delivered' },
    ]);
    expect(h.api.calls).toHaveLength(2);
    expect(h.api.calls[0]!.url).toBe('http://moengage.test/v1/customer/ws1?app_id=ws1');
    expect(h.api.calls[0]!.auth).toBe(`Basic ${Buffer.from('ws1:old-key').toString('base64')}`);
    expect(h.api.calls.map((c) => c.body)).toContainEqual(envelope(1).payload);
    expect(h.telemetry.counts.get(METRIC.delivered)).toBe(2);
  });

  it("the delivered log line carries MoEngage's request id and whether its body confirmed success", async () => {
    const h = harness([
      { status: 200, body: SUCCESS, headers: { 'x-request-id': 'req-ok' } },
      { status: 200, body: '<html>proxy</html>' },
    ]);
    await deliverBatch([record(1), record(2)], h.deps);
    const delivered = h.telemetry.lines
      .filter((l) => l.message === 'delivered')
      .map((l) => l.fields)
      .sort((a, b) => String(a?.eventId).localeCompare(String(b?.eventId)));
    expect(delivered).toEqual([
      { source: 'clerk', eventId: 'msg_1', eventType: 'user.updated', requestId: 'req-ok', confirmed: true },
      { source: 'clerk', eventId: 'msg_2', eventType: 'user.updated', requestId: undefined, confirmed: false },
    ]);
  });

  it('retries a 500 within the invocation with backoff, then delivers', async () => {
    const h = harness([{ status: 500, body: '{"status":"fail","error":{"type":"Server Error","message":"x","request_id":"KovrwJiF"}}' }]);
    const results = await deliverBatch([record(1)], h.deps);
    expect(results.get('m-1')).toEqual({ ok: true, action: 'delivered' });
    expect(h.api.calls).toHaveLength(2);
    expect(h.sleeps.some((ms) => ms > 0)).toBe(true);
    expect(h.parked).toHaveLength(0);
  });

  it('honours Retry-After on a 429 before retrying', async () => {
    const h = harness([{ status: 429, body: '{"status":"fail","error":{"type":"Rate Limits Exceeded","message":"m","request_id":"onqucLYL"}}', headers: { 'Retry-After': '2' } }]);
    const results = await deliverBatch([record(1)], h.deps);
    expect(results.get('m-1')).toEqual({ ok: true, action: 'delivered' });
    expect(h.sleeps.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2_000);
    expect(h.telemetry.counts.get(METRIC.throttled)).toBe(1);
  });

  it('parks a 400 at once with MoEngage\'s reason, without another attempt', async () => {
    const h = harness([{ status: 400, body: fail400 }]);
    const results = await deliverBatch([record(1)], h.deps);
    expect(results.get('m-1')).toEqual({ ok: true, action: 'parked' });
    expect(h.api.calls).toHaveLength(1);
    expect(h.parked).toHaveLength(1);
    expect(h.parked[0]!.info).toMatchObject({
      reason: 'moengage_rejected',
      status: 400,
      detail: { type: 'MissingAttributeError', request_id: 'ZbPXtKFL' },
      attempts: 1,
    });
    expect(h.parked[0]!.meta).toEqual({ source: 'clerk', eventType: 'user.updated' });
  });

  it('413 and 415 are permanent too', async () => {
    const h = harness([{ status: 413, body: '{}' }, { status: 415, body: '{}' }]);
    await deliverBatch([record(1)], h.deps);
    await deliverBatch([record(2)], h.deps);
    expect(h.parked.map((p) => p.info.reason)).toEqual(['payload_too_large', 'unsupported_media_type']);
  });

  it('after a 401 re-reads the secret once and delivers with the rotated key', async () => {
    const h = harness([{ status: 401, body: fail401 }]);
    h.rotate('new-key');
    const results = await deliverBatch([record(1)], h.deps);
    expect(results.get('m-1')).toEqual({ ok: true, action: 'delivered' });
    expect(h.refreshes()).toBe(1);
    expect(h.telemetry.counts.get(METRIC.authFailures)).toBe(1);
  });

  it('a persistent 5xx is deferred through SQS with a visibility timeout, not parked, before the last receive', async () => {
    const h = harness([], {}, { status: 503, body: '' });
    const results = await deliverBatch([record(1, { receiveCount: 2 })], h.deps);
    expect(results.get('m-1')!.ok).toBe(false);
    expect(h.api.calls).toHaveLength(3);
    expect(h.visibility).toHaveLength(1);
    expect(h.visibility[0]!.seconds).toBeGreaterThan(0);
    expect(h.parked).toHaveLength(0);
  });

  it('on the last allowed receive the sender parks it itself as retries_exhausted', async () => {
    const h = harness([], {}, { status: 502, body: '' });
    const results = await deliverBatch([record(1, { receiveCount: 5 })], h.deps);
    expect(results.get('m-1')).toEqual({ ok: true, action: 'parked' });
    expect(h.parked[0]!.info).toMatchObject({ reason: 'retries_exhausted', status: 502, attempts: 5 });
  });

  it('keeps per-user order: once a message of a group fails, its later messages are not sent', async () => {
    const h = harness([{ status: 503 }, { status: 503 }, { status: 503 }]);
    const g = messageGroupId('same-user');
    const results = await deliverBatch([record(1, { group: g }), record(2, { group: g })], { ...h.deps, parallelism: 1 });
    expect(results.get('m-1')!.ok).toBe(false);
    expect(results.get('m-2')!.ok).toBe(false);
    expect(h.api.calls.every((c) => (c.body as { customer_id: string }).customer_id === 'user_1')).toBe(true);
  });

  it('a standard queue does not hold back other messages after a failure', async () => {
    const h = harness([{ status: 400, body: fail400 }]);
    const results = await deliverBatch([record(1), record(2)], { ...h.deps, fifo: false, parallelism: 1 });
    expect(results.get('m-1')).toEqual({ ok: true, action: 'parked' });
    expect(results.get('m-2')).toEqual({ ok: true, action: 'delivered' });
  });

  it('a body that is not an envelope is parked as invalid_message', async () => {
    const h = harness([]);
    const results = await deliverBatch([record(1, { body: 'not json' })], h.deps);
    expect(results.get('m-1')).toEqual({ ok: true, action: 'parked' });
    expect(h.parked[0]!.info.reason).toBe('invalid_message');
    expect(h.api.calls).toHaveLength(0);
  });

  it('if the DLQ refuses the message it stays on the main queue (failure reported)', async () => {
    const h = harness([{ status: 400, body: fail400 }]);
    h.deps.queue.park = async () => {
      throw new Error('DLQ down');
    };
    const results = await deliverBatch([record(1)], h.deps);
    expect(results.get('m-1')!.ok).toBe(false);
  });
});

describe('sender core: the invocation deadline', () => {
  it('with no time left for a call, a message is put back for a prompt retry without calling MoEngage', async () => {
    const h = harness([], { remainingMs: () => 2_500 });
    const results = await deliverBatch([record(1, { receiveCount: 2 })], h.deps);
    expect(results.get('m-1')).toMatchObject({ ok: false, visibilityTimeoutSeconds: 1 });
    expect(h.api.calls).toHaveLength(0);
    expect(h.visibility).toEqual([{ messageId: 'm-1', seconds: 1 }]);
    expect(h.parked).toHaveLength(0);
  });

  it('on the last allowed receive with no time left it is parked with a reason, never left to the redrive policy', async () => {
    const h = harness([], { remainingMs: () => 2_500 });
    const results = await deliverBatch([record(1, { receiveCount: 5 })], h.deps);
    expect(results.get('m-1')).toEqual({ ok: true, action: 'parked' });
    expect(h.parked[0]!.info.reason).toBe('retries_exhausted');
  });

  it('a rate-limiter pause longer than the time left defers instead of waiting past the timeout', async () => {
    const h = harness([]);
    h.deps.limiters.customer.penalize(50_000);
    const results = await deliverBatch([record(1)], { ...h.deps, remainingMs: () => 30_000 });
    expect(results.get('m-1')!.ok).toBe(false);
    expect(h.api.calls).toHaveLength(0);
  });

  it('a short invocation still calls MoEngage, with the request timeout cut to the time left', async () => {
    const seen: (number | undefined)[] = [];
    const h = harness([]);
    const client = h.deps.client;
    h.deps.client = Object.assign(Object.create(Object.getPrototypeOf(client) as object) as typeof client, client, {
      trackUser: (c: MoEngageCredentials, p: Envelope['payload'], o?: { timeoutMs?: number }) => {
        seen.push(o?.timeoutMs);
        return client.trackUser(c, p, o);
      },
    });
    await deliverBatch([record(1)], { ...h.deps, remainingMs: () => 5_000 });
    await deliverBatch([record(2)], { ...h.deps, remainingMs: () => 60_000 });
    expect(seen).toEqual([4_000, undefined]);
  });
});

describe('sender core: failures around the call', () => {
  it('an unreadable MoEngage secret is handled like a 401: counted, retried later, parked as auth_failed at the end', async () => {
    const h = harness([]);
    h.deps.credentials = {
      get: async () => {
        throw new Error('AccessDeniedException');
      },
      refresh: async () => {
        throw new Error('AccessDeniedException');
      },
    };
    const early = await deliverBatch([record(1, { receiveCount: 1 })], h.deps);
    expect(early.get('m-1')!.ok).toBe(false);
    expect(h.visibility).toHaveLength(1);
    expect(h.telemetry.counts.get(METRIC.authFailures)).toBeGreaterThanOrEqual(1);
    const last = await deliverBatch([record(2, { receiveCount: 5 })], h.deps);
    expect(last.get('m-2')).toEqual({ ok: true, action: 'parked' });
    expect(h.parked[0]!.info).toMatchObject({ reason: 'auth_failed', detail: { type: 'CredentialsUnavailable' } });
    expect(h.api.calls).toHaveLength(0);
  });

  it('a FIFO message held back behind a failed one gets the same visibility timeout', async () => {
    const h = harness([], {}, { status: 503 });
    const g = messageGroupId('same-user');
    await deliverBatch([record(1, { group: g, receiveCount: 1 }), record(2, { group: g })], { ...h.deps, parallelism: 1 });
    expect(h.visibility).toHaveLength(2);
    expect(h.visibility[1]!.seconds).toBe(h.visibility[0]!.seconds);
  });

  it('never more than 3 MoEngage calls per message in one invocation, even when a 401 comes last', async () => {
    const h = harness([{ status: 503 }, { status: 503 }, { status: 401, body: fail401 }], {}, { status: 200, body: SUCCESS });
    await deliverBatch([record(1)], h.deps);
    expect(h.api.calls).toHaveLength(3);
  });
});

describe('sender core: bulk mode', () => {
  it('a payload too big for a Bulk Import request goes through Track User instead of the DLQ', async () => {
    const h = harness([]);
    const big: Envelope = { ...envelope(9), payload: { type: 'customer', customer_id: 'user_big', attributes: Object.fromEntries(Array.from({ length: 230 }, (_, i) => [`a${i}`, 'x'.repeat(500)])) } };
    const r = { ...record(9), body: encodeEnvelope(big) };
    const results = await deliverBatch([r, record(1)], { ...h.deps, mode: 'bulk' });
    expect(results.get('m-9')).toEqual({ ok: true, action: 'delivered' });
    expect(results.get('m-1')).toEqual({ ok: true, action: 'delivered' });
    expect(h.parked).toHaveLength(0);
    expect(h.api.calls.some((c) => c.url.includes('/v1/customer/') && (c.body as { customer_id: string }).customer_id === 'user_big')).toBe(true);
  });

  it('packs the batch into one Bulk Import request', async () => {
    const h = harness([]);
    const records = [1, 2, 3, 4, 5].map((n) => record(n));
    const results = await deliverBatch(records, { ...h.deps, mode: 'bulk' });
    expect([...results.values()].every((r) => r.ok)).toBe(true);
    expect(h.api.calls).toHaveLength(1);
    expect(h.api.calls[0]!.url).toBe('http://moengage.test/v1/transition/ws1?app_id=ws1');
    const body = h.api.calls[0]!.body as { type: string; elements: unknown[] };
    expect(body.type).toBe('transition');
    expect(body.elements).toHaveLength(5);
  });

  it('a 400 on a bulk request falls back to per-user calls so that good users are not parked', async () => {
    const h = harness([{ status: 400, body: fail400 }, { status: 200, body: SUCCESS }, { status: 400, body: fail400 }, { status: 200, body: SUCCESS }]);
    const records = [1, 2, 3].map((n) => record(n));
    const results = await deliverBatch(records, { ...h.deps, mode: 'bulk', parallelism: 1 });
    expect(h.api.calls[0]!.url).toContain('/v1/transition/');
    expect(h.api.calls.slice(1).every((c) => c.url.includes('/v1/customer/'))).toBe(true);
    expect(results.get('m-1')).toEqual({ ok: true, action: 'delivered' });
    expect(results.get('m-2')).toEqual({ ok: true, action: 'parked' });
    expect(results.get('m-3')).toEqual({ ok: true, action: 'delivered' });
    expect(h.parked.map((p) => p.messageId)).toEqual(['m-2']);
  });

  it('a 5xx on a bulk request defers every user of it', async () => {
    const h = harness([], {}, { status: 500, body: '' });
    const results = await deliverBatch([record(1), record(2)], { ...h.deps, mode: 'bulk' });
    expect([...results.values()].every((r) => !r.ok)).toBe(true);
    expect(h.visibility).toHaveLength(2);
    expect(h.parked).toHaveLength(0);
  });
});
