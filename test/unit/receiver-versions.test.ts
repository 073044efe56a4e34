/**
 * The real sources through the receiver: the envelope carries each event's version, the
 * `partial` flag of partial sources, and for a deletion (deleteUsers) `op: delete` with the
 * same user key as the user's updates, so that the sender guards them together.
 */
import { describe, expect, it } from 'vitest';
import { parseAdapterConfig, SOURCE_NAMES, type SourceName } from '../../functions/core/config';
import { decodeEnvelope, type Envelope } from '../../functions/core/envelope';
import { receiveWebhook, type QueueMessage, type ReceiverDeps } from '../../functions/receiver/receive';
import { recordingTelemetry } from '../../functions/shared/observability';
import { SOURCES } from '../../functions/sources';
import { buildSignedSample, DELETE_SAMPLE_TYPES, DEV_SECRETS, SAMPLE_STANDARD_MAPPING, type SignedRequest } from '../../local/samples';

const NOW = new Date('2026-03-01T10:00:00.000Z');

function deps(sent: QueueMessage[], sourceOptions: Record<string, unknown>): ReceiverDeps {
  // `mapping` is the standard source's alone.
  const { mapping, ...common } = sourceOptions;
  const sources = Object.fromEntries(
    SOURCE_NAMES.map((s) => [s, s === 'standard' ? { mapping: mapping ?? SAMPLE_STANDARD_MAPPING, ...common } : common]),
  );
  return {
    sources: SOURCES,
    config: parseAdapterConfig({ sources }),
    secrets: async (s) => [DEV_SECRETS[s]],
    enqueue: async (m) => void sent.push(m),
    queueType: 'fifo',
    now: () => NOW,
    telemetry: recordingTelemetry(),
  };
}

async function receive(signed: SignedRequest, sourceOptions: Record<string, unknown> = {}): Promise<{ status: number; envelope?: Envelope; message?: QueueMessage }> {
  const sent: QueueMessage[] = [];
  const res = await receiveWebhook(
    { method: 'POST', path: signed.path, headers: signed.headers, rawBody: Buffer.from(signed.body, 'utf8') },
    deps(sent, sourceOptions),
  );
  const message = sent[0];
  if (!message) return { status: res.statusCode };
  const decoded = decodeEnvelope(message.body);
  if (!decoded.ok) throw new Error(decoded.message);
  return { status: res.statusCode, envelope: decoded.envelope, message };
}

const deleting = SOURCE_NAMES.filter((s): s is Exclude<SourceName, 'segment'> => DELETE_SAMPLE_TYPES[s] !== undefined);

describe('receiver: versions, partial and deletions in the envelope', () => {
  it.each(SOURCE_NAMES)('%s: an update carries its version; only partial sources say partial', async (source) => {
    const { status, envelope } = await receive(buildSignedSample(source, { now: NOW }));
    expect(status).toBe(202);
    expect(envelope?.version).toMatch(/^\d{15}~/);
    expect(envelope?.op).toBeUndefined();
    expect(envelope?.partial).toBe(source === 'segment' ? true : undefined);
  });

  it('a partial standard mapping marks its envelopes partial', async () => {
    const signed = buildSignedSample('standard', { now: NOW });
    const { envelope } = await receive(signed, { mapping: { ...SAMPLE_STANDARD_MAPPING, partial: true } });
    expect(envelope?.partial).toBe(true);
  });

  it.each(deleting)('%s: with deleteUsers, the deletion is op delete for the same user key and FIFO group as an update, and newer', async (source) => {
    const update = await receive(buildSignedSample(source, { now: NOW, updatedAt: new Date(NOW.getTime() - 5_000) }), { deleteUsers: true });
    const deletion = await receive(buildSignedSample(source, { now: NOW, type: DELETE_SAMPLE_TYPES[source] }), { deleteUsers: true });
    expect(deletion.status).toBe(202);
    expect(deletion.envelope).toMatchObject({ op: 'delete', payload: { type: 'customer', customer_id: update.envelope?.payload.customer_id } });
    expect(Object.keys(deletion.envelope!.payload).sort()).toEqual(['customer_id', 'type']);
    expect(deletion.envelope?.userKey).toBe(update.envelope?.userKey);
    expect(deletion.message?.groupId).toBe(update.message?.groupId);
    expect(deletion.envelope!.version! > update.envelope!.version!).toBe(true);
  });

  it.each(deleting)('%s: without deleteUsers, the deletion is answered 200 ignored and nothing is queued', async (source) => {
    const { status, envelope } = await receive(buildSignedSample(source, { now: NOW, type: DELETE_SAMPLE_TYPES[source] }));
    expect(status).toBe(200);
    expect(envelope).toBeUndefined();
  });
});
