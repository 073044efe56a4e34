/**
 * The receiver's core: route → verify → parse → act on or ignore → map → validate → enqueue.
 * No AWS here: the queue, the secrets, the clock and telemetry are injected.
 * Answers follow contract.md's "Receiver answers" table.
 */
import { isSourceName, SOURCE_NAMES, sourceOptions, type AdapterConfig, type SourceName } from '../core/config';
import { receiptIsoString } from '../core/iso-time';
import { deduplicationId, encodeEnvelope, ENVELOPE_VERSION, messageGroupId, type Envelope } from '../core/envelope';
import { METRIC } from '../core/names';
import type { SigningSecrets } from '../shared/secrets';
import type { Telemetry } from '../shared/observability';
import { mappedEvents } from '../sources/events';
import type { SourceContext, WebhookRequest, WebhookSource } from '../sources/types';

/** The largest body accepted (contract.md): 256 KB. */
export const MAX_BODY_BYTES = 256 * 1024;

export interface QueueMessage {
  body: string;
  /** FIFO only. */
  groupId?: string;
  /** FIFO only. */
  deduplicationId?: string;
  attributes: Record<string, string>;
}

export interface ReceiverDeps {
  sources: Readonly<Record<SourceName, WebhookSource>>;
  config: AdapterConfig;
  secrets: SigningSecrets;
  /**
   * Resolves once the queue durably accepted the message; rejects otherwise. `signal` aborts
   * the request when the invocation's time budget runs out (the answer is then a 503).
   */
  enqueue: (message: QueueMessage, signal?: AbortSignal) => Promise<void>;
  queueType: 'fifo' | 'standard';
  now: () => Date;
  telemetry: Telemetry;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

function json(statusCode: number, body: unknown, extra?: Record<string, string>): HttpResponse {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (extra) Object.assign(headers, extra);
  return { statusCode, headers, body: JSON.stringify(body) };
}

export function errorResponse(
  statusCode: number,
  type: string,
  message: string,
  more: Record<string, string> = {},
  headers: Record<string, string> = {},
): HttpResponse {
  return json(statusCode, { error: { type, message, ...more } }, headers);
}

const ROUTE_PREFIX = '/webhooks/';

/** `{source}` of `/webhooks/{source}` or `/webhooks/{source}/` (what /^\/webhooks\/([^/]+)\/?$/ captures), else undefined. */
function routeName(path: string): string | undefined {
  if (!path.startsWith(ROUTE_PREFIX)) return undefined;
  const end = path.endsWith('/') ? path.length - 1 : path.length;
  const name = path.slice(ROUTE_PREFIX.length, end);
  return name !== '' && !name.includes('/') ? name : undefined;
}

/** The route's source as an error message may show it: at most 40 URL-safe characters, anything else as `?`. */
function shownSource(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._~-]/g, '?');
  return safe.length > 40 ? `${safe.slice(0, 40)}...` : safe;
}

/** A refusal of the webhook itself (4xx): counted by reason and logged without any value from it. */
function reject(
  t: Telemetry,
  source: SourceName,
  status: number,
  type: string,
  reason: string,
  message: string,
  more?: Record<string, string>,
): HttpResponse {
  t.count(METRIC.rejected, 1, { name: 'reason', value: reason });
  t.warn('webhook rejected', { source, status, reason, detail: message });
  return errorResponse(status, type, message, more);
}

export async function receiveWebhook(req: WebhookRequest, deps: ReceiverDeps): Promise<HttpResponse> {
  const { telemetry: t } = deps;
  if (req.path === '/healthz' && req.method === 'GET') return json(200, { status: 'ok' });

  const name = routeName(req.path);
  if (!name || !isSourceName(name)) {
    const enabled = SOURCE_NAMES.filter((s) => sourceOptions(deps.config, s).enabled).join(', ');
    return errorResponse(
      404,
      'not_found',
      name ? `unknown source "${shownSource(name)}": the enabled sources are ${enabled}` : `unknown route: webhooks are received at POST /webhooks/{source}, source one of ${enabled}`,
    );
  }
  const options = sourceOptions(deps.config, name);
  if (!options.enabled) return errorResponse(404, 'not_found', `source ${name} is not enabled`);
  if (req.method !== 'POST') {
    return errorResponse(405, 'method_not_allowed', 'webhooks are received with POST', {}, { allow: 'POST' });
  }
  const source = deps.sources[name];
  t.count(METRIC.received, 1, { name: 'source', value: name });

  if (req.rawBody.length > MAX_BODY_BYTES) {
    return reject(t, name, 413, 'payload_too_large', 'too_large', `body is larger than ${MAX_BODY_BYTES} bytes`);
  }

  let secrets: readonly string[];
  try {
    const listed = deps.secrets(name);
    secrets = Array.isArray(listed) ? listed : await listed;
  } catch (err) {
    t.count(METRIC.serverErrors);
    t.error('signing secrets unavailable', { source: name, error: (err as Error).name });
    return errorResponse(503, 'secrets_unavailable', 'the signing secret could not be read; retry later');
  }
  if (secrets.length === 0) {
    // The operator may have just added this source's key: re-read (throttled like below).
    secrets = (await refreshedSecrets(deps, name, secrets)) ?? secrets;
  }
  if (secrets.length === 0) {
    t.count(METRIC.serverErrors);
    t.error('no signing secret configured', { source: name });
    return errorResponse(503, 'source_not_configured', `no signing secret is configured for ${name}; retry later`);
  }

  const ctx: SourceContext = { now: deps.now(), options, identityResolution: deps.config.identityResolution };
  let verified = source.verify(req, secrets, ctx);
  if (!verified.ok) {
    // A secret rotated less than the cache's 5 minutes ago: re-read (at most once a minute per
    // container, so that forged requests cannot drive Secrets Manager calls) and verify again.
    const fresh = await refreshedSecrets(deps, name, secrets);
    if (fresh) verified = source.verify(req, fresh, ctx);
  }
  if (!verified.ok) return reject(t, name, 401, 'unauthorized', 'signature', `signature verification failed: ${verified.message}`);

  const parsed = source.parse(req, ctx);
  if (!parsed.ok) return reject(t, name, 400, 'bad_request', 'bad_request', parsed.message);
  const event = parsed.event;

  const mapped = source.map(event, ctx);
  if (mapped.kind === 'ignored') {
    t.count(METRIC.ignored, 1, { name: 'source', value: name });
    t.info('webhook ignored', { source: name, eventId: event.id, eventType: event.type });
    return json(200, { status: 'ignored', source: name, eventType: event.type, reason: mapped.reason });
  }
  if (mapped.kind === 'rejected') {
    return reject(t, name, 422, 'unprocessable_event', 'unmappable', `${mapped.field}: ${mapped.message}`, { field: mapped.field });
  }
  if (mapped.kind === 'payload' && mapped.dropped.length > 0) {
    t.count(METRIC.attributesDropped, mapped.dropped.length);
    // Counts per reason only: attribute names come from user data (a metadata key may be an email).
    const byReason = new Map<string, number>();
    for (const d of mapped.dropped) byReason.set(d.reason, (byReason.get(d.reason) ?? 0) + 1);
    t.info('attributes dropped by the naming rule', {
      source: name,
      eventId: event.id,
      dropped: [...byReason].map(([reason, n]) => `${reason}:${n}`).join(','),
    });
  }

  // The `events` option: the MoEngage events of this provider event, for a user with a customer_id
  // (Create Event names its user by customer_id).
  let events = mapped.kind === 'payload' ? mappedEvents(name, event, options, ctx.now) : undefined;
  if (events && mapped.kind === 'payload' && mapped.payload.customer_id === undefined) {
    t.warn('event not sent: the user has no customer_id (identity resolution only)', { source: name, eventId: event.id, eventType: event.type });
    events = undefined;
  }
  const userKey = messageGroupId(mapped.customerKey);
  const envelope: Envelope = {
    v: ENVELOPE_VERSION,
    source: name,
    eventId: event.id,
    eventType: event.type,
    receivedAt: receiptIsoString(ctx.now.getTime()),
    ...(event.version ? { version: event.version } : {}),
    userKey,
    ...(mapped.kind === 'delete' ? { op: 'delete' as const } : {}),
    ...(mapped.kind === 'payload' && mapped.partial ? { partial: true as const } : {}),
    ...(events ? { events } : {}),
    payload: mapped.kind === 'delete' ? { type: 'customer', customer_id: mapped.customerId } : mapped.payload,
  };
  const message: QueueMessage = {
    body: encodeEnvelope(envelope),
    attributes: { source: name, event_type: event.type.slice(0, 256) },
  };
  if (deps.queueType === 'fifo') {
    message.groupId = userKey;
    message.deduplicationId = deduplicationId(name, event.id);
  }
  try {
    await deps.enqueue(message);
  } catch (err) {
    t.count(METRIC.enqueueFailed);
    t.count(METRIC.serverErrors);
    t.error('queue did not accept the message', { source: name, eventId: event.id, error: (err as Error).name });
    return errorResponse(503, 'queue_unavailable', 'the event could not be queued; retry later');
  }
  t.count(METRIC.enqueued, 1, { name: 'source', value: name });
  t.info('webhook enqueued', { source: name, eventId: event.id, eventType: event.type });
  return json(202, { status: 'accepted', source: name, eventId: event.id });
}

/** The source's secrets re-read after a signature failure, when that gave a different list; else undefined. */
async function refreshedSecrets(deps: ReceiverDeps, source: SourceName, current: readonly string[]): Promise<readonly string[] | undefined> {
  if (!deps.secrets.refresh) return undefined;
  let fresh: readonly string[] | undefined;
  try {
    fresh = await deps.secrets.refresh(source);
  } catch (err) {
    // The request is refused as unsigned either way; the next read (or re-read) tells more.
    deps.telemetry.warn('signing secrets re-read failed', { source, error: (err as Error).name });
    return undefined;
  }
  if (!fresh || fresh.length === 0) return undefined;
  if (fresh.length === current.length && fresh.every((s, i) => s === current[i])) return undefined;
  deps.telemetry.info('signing secrets re-read after a signature failure: changed', { source });
  return fresh;
}
