import { describe, expect, it, vi } from 'vitest';
import { parseAdapterConfig, SOURCE_NAMES, type SourceName } from '../../functions/core/config';
import { decodeEnvelope, deduplicationId, messageGroupId } from '../../functions/core/envelope';
import { METRIC } from '../../functions/core/names';
import { MAX_BODY_BYTES, receiveWebhook, type QueueMessage, type ReceiverDeps } from '../../functions/receiver/receive';
import { recordingTelemetry } from '../../functions/shared/observability';
import type { Mapped, WebhookRequest, WebhookSource } from '../../functions/sources/types';

/** A source whose behaviour each test sets: the receiver's routing and answers are what is tested here. */
function fakeSource(name: SourceName, mapped: () => Mapped): WebhookSource {
  return {
    name,
    verify: (req, secrets) =>
      req.headers['x-sig'] !== undefined && secrets.includes(req.headers['x-sig']) ? { ok: true } : { ok: false, message: 'signature mismatch' },
    parse: (req) => {
      try {
        const body = JSON.parse(req.rawBody.toString('utf8')) as { id?: string; type?: string };
        if (!body.id || !body.type) return { ok: false, message: 'missing id or type' };
        return { ok: true, event: { id: body.id, type: body.type, occurredAtMs: Date.parse('2026-01-01T00:00:00.000Z'), body } };
      } catch {
        return { ok: false, message: 'body is not valid JSON' };
      }
    },
    map: () => mapped(),
  };
}

const payloadMapped = (): Mapped => ({
  kind: 'payload',
  payload: { type: 'customer', customer_id: 'user_1', attributes: { u_em: 'a@example.com' } },
  customerKey: 'user_1',
  dropped: [],
});

function setup(opts: { mapped?: () => Mapped; enqueue?: (m: QueueMessage) => Promise<void>; secrets?: string[]; config?: unknown; queueType?: 'fifo' | 'standard' } = {}) {
  const sent: QueueMessage[] = [];
  const telemetry = recordingTelemetry();
  const sources = Object.fromEntries(SOURCE_NAMES.map((n) => [n, fakeSource(n, opts.mapped ?? payloadMapped)])) as Record<SourceName, WebhookSource>;
  const deps: ReceiverDeps = {
    sources,
    config: parseAdapterConfig(opts.config ?? {}),
    secrets: async () => opts.secrets ?? ['good'],
    enqueue:
      opts.enqueue ??
      (async (m) => {
        sent.push(m);
      }),
    queueType: opts.queueType ?? 'fifo',
    now: () => new Date('2026-11-29T10:00:00.000Z'),
    telemetry,
  };
  return { deps, sent, telemetry };
}

function req(over: Partial<WebhookRequest> & { body?: string } = {}): WebhookRequest {
  return {
    method: 'POST',
    path: '/webhooks/clerk',
    headers: { 'x-sig': 'good', 'content-type': 'application/json' },
    rawBody: Buffer.from(over.body ?? JSON.stringify({ id: 'evt_1', type: 'user.created' })),
    ...over,
  };
}

const errorOf = (body: string) => (JSON.parse(body) as { error: { type: string; message: string; field?: string } }).error;

describe('receiver answers (contract.md)', () => {
  it('202 only after the queue accepted a FIFO message with group and dedup ids', async () => {
    const { deps, sent, telemetry } = setup();
    const res = await receiveWebhook(req(), deps);
    expect(res.statusCode).toBe(202);
    expect(JSON.parse(res.body)).toEqual({ status: 'accepted', source: 'clerk', eventId: 'evt_1' });
    expect(sent).toHaveLength(1);
    const m = sent[0]!;
    expect(m.groupId).toBe(messageGroupId('user_1'));
    expect(m.deduplicationId).toBe(deduplicationId('clerk', 'evt_1'));
    expect(m.attributes).toEqual({ source: 'clerk', event_type: 'user.created' });
    const env = decodeEnvelope(m.body);
    expect(env.ok && env.envelope).toMatchObject({
      v: 1,
      source: 'clerk',
      eventId: 'evt_1',
      eventType: 'user.created',
      receivedAt: '2026-11-29T10:00:00.000Z',
      payload: { type: 'customer', customer_id: 'user_1' },
    });
    expect(telemetry.counts.get(METRIC.enqueued)).toBe(1);
  });

  it('standard queues get no group or dedup id', async () => {
    const { deps, sent } = setup({ queueType: 'standard' });
    expect((await receiveWebhook(req(), deps)).statusCode).toBe(202);
    expect(sent[0]!.groupId).toBeUndefined();
    expect(sent[0]!.deduplicationId).toBeUndefined();
  });

  it('the group id never shows the raw identity', async () => {
    const { deps, sent } = setup({
      mapped: () => ({ kind: 'payload', payload: { type: 'customer', customer_id: 'jane@example.com' }, customerKey: 'jane@example.com', dropped: [] }),
    });
    await receiveWebhook(req(), deps);
    expect(sent[0]!.groupId).not.toContain('jane');
  });

  it('404 for an unknown source or route, 405 for GET on a source', async () => {
    const { deps, sent } = setup();
    expect((await receiveWebhook(req({ path: '/webhooks/github' }), deps)).statusCode).toBe(404);
    expect((await receiveWebhook(req({ path: '/other' }), deps)).statusCode).toBe(404);
    const r405 = await receiveWebhook(req({ method: 'GET' }), deps);
    expect(r405.statusCode).toBe(405);
    expect(r405.headers.allow).toBe('POST');
    expect(sent).toHaveLength(0);
  });

  it('404 for a source disabled in configuration', async () => {
    const { deps } = setup({ config: { sources: { stripe: { enabled: false } } } });
    expect((await receiveWebhook(req({ path: '/webhooks/stripe' }), deps)).statusCode).toBe(404);
  });

  it('401 for a missing or wrong signature, nothing queued, secret never echoed', async () => {
    const { deps, sent } = setup();
    const res = await receiveWebhook(req({ headers: { 'x-sig': 'bad' } }), deps);
    expect(res.statusCode).toBe(401);
    expect(errorOf(res.body).type).toBe('unauthorized');
    expect(res.body).not.toContain('good');
    expect((await receiveWebhook(req({ headers: {} }), deps)).statusCode).toBe(401);
    expect(sent).toHaveLength(0);
  });

  it('400 for a body that is not the JSON the source sends', async () => {
    const { deps, sent } = setup();
    const res = await receiveWebhook(req({ body: '{"id":' }), deps);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res.body).type).toBe('bad_request');
    expect(sent).toHaveLength(0);
  });

  it('413 for a body over 256 KB, before any signature work', async () => {
    const { deps, sent } = setup();
    // spies on the secrets and on the source's verify and parse (the request is for clerk)
    const spied = () => {
      const secrets = vi.fn(deps.secrets);
      const verify = vi.fn(deps.sources.clerk.verify);
      const parse = vi.fn(deps.sources.clerk.parse);
      return { secrets, verify, parse, deps: { ...deps, secrets, sources: { ...deps.sources, clerk: { ...deps.sources.clerk, verify, parse } } } };
    };
    const over = spied();
    const res = await receiveWebhook(req({ rawBody: Buffer.alloc(MAX_BODY_BYTES + 1, 0x20) }), over.deps);
    expect(res.statusCode).toBe(413);
    expect(over.secrets).not.toHaveBeenCalled();
    expect(over.verify).not.toHaveBeenCalled();
    expect(over.parse).not.toHaveBeenCalled();
    expect(sent).toHaveLength(0);
    // the spies see the work when there is some: a body of exactly the limit is read and verified
    const atLimit = spied();
    const body = JSON.stringify({ id: 'evt_1', type: 'user.created' });
    const res2 = await receiveWebhook(req({ rawBody: Buffer.from(body.padEnd(MAX_BODY_BYTES, ' ')) }), atLimit.deps);
    expect(res2.statusCode).toBe(202);
    expect(atLimit.secrets).toHaveBeenCalledTimes(1);
    expect(atLimit.verify).toHaveBeenCalledTimes(1);
  });

  it('200 ignored for an event type the source does not act on', async () => {
    const { deps, sent } = setup({ mapped: () => ({ kind: 'ignored', reason: 'event type not acted on' }) });
    const res = await receiveWebhook(req(), deps);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'ignored' });
    expect(sent).toHaveLength(0);
  });

  it('422 naming the field for a verified event that cannot become a payload', async () => {
    const { deps, sent } = setup({ mapped: () => ({ kind: 'rejected', field: 'customer_id', message: 'customer_id is missing' }) });
    const res = await receiveWebhook(req(), deps);
    expect(res.statusCode).toBe(422);
    expect(errorOf(res.body)).toMatchObject({ type: 'unprocessable_event', field: 'customer_id' });
    expect(sent).toHaveLength(0);
  });

  it('5xx when the queue does not accept the message, so that the provider retries', async () => {
    const { deps, telemetry } = setup({
      enqueue: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    });
    const res = await receiveWebhook(req(), deps);
    expect(res.statusCode).toBeGreaterThanOrEqual(500);
    expect(errorOf(res.body).type).toBe('queue_unavailable');
    expect(res.body).not.toContain('ECONNREFUSED');
    expect(telemetry.counts.get(METRIC.enqueueFailed)).toBe(1);
    expect(telemetry.counts.get(METRIC.serverErrors)).toBe(1);
  });

  it('503 when no signing secret is configured: the provider keeps retrying until it is; counted for the alarm', async () => {
    const { deps, sent, telemetry } = setup({ secrets: [] });
    expect((await receiveWebhook(req(), deps)).statusCode).toBe(503);
    expect(sent).toHaveLength(0);
    expect(telemetry.counts.get(METRIC.serverErrors)).toBe(1);
  });

  it('503 when the signing secrets cannot be read; counted for the alarm', async () => {
    const { deps, telemetry } = setup();
    deps.secrets = async () => {
      throw new Error('ThrottlingException');
    };
    const res = await receiveWebhook(req(), deps);
    expect(res.statusCode).toBe(503);
    expect(errorOf(res.body).type).toBe('secrets_unavailable');
    expect(telemetry.counts.get(METRIC.serverErrors)).toBe(1);
  });

  it('every error body is {"error":{"type","message"}}', async () => {
    const { deps } = setup();
    for (const r of [req({ path: '/x' }), req({ method: 'PUT' }), req({ headers: {} }), req({ body: 'nope' })]) {
      const res = await receiveWebhook(r, deps);
      const e = errorOf(res.body);
      expect(typeof e.type).toBe('string');
      expect(typeof e.message).toBe('string');
    }
  });

  it('logs carry ids, never payload values', async () => {
    const { deps, telemetry } = setup();
    await receiveWebhook(req(), deps);
    expect(JSON.stringify(telemetry.lines)).not.toContain('a@example.com');
    expect(JSON.stringify(telemetry.lines)).not.toContain('user_1');
  });
});
