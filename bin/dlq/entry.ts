/**
 * One DLQ message as the tool sees it: the envelope (when the body is one) and the park
 * attributes the sender wrote (functions/core/dlq.ts).
 */
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import { SOURCE_NAMES } from '../../functions/core/config';
import { DLQ_ATTRIBUTES, FAILURE_REASONS, readParkAttributes, type FailureDetail } from '../../functions/core/dlq';
import { decodeEnvelope, type Envelope } from '../../functions/core/envelope';
import { UsageError } from './errors';

/** The reason shown for a message without a `failure_reason` attribute (moved by the queue's redrive policy). */
const UNKNOWN_REASON = 'unknown';
export const REASON_CODES: readonly string[] = [...FAILURE_REASONS, UNKNOWN_REASON];

export interface DlqEntry {
  messageId: string;
  receiptHandle: string;
  body: string;
  messageAttributes: Record<string, MessageAttributeValue>;
  /** SQS system attributes: SentTimestamp, MessageGroupId, MessageDeduplicationId, ApproximateReceiveCount. */
  attributes: Record<string, string>;
  envelope: Envelope | undefined;
  source: string | null;
  eventId: string | null;
  eventType: string | null;
  customerId: string | null;
  reason: string;
  status: number | null;
  detail: FailureDetail | null;
  attempts: number | null;
  failedAt: string | null;
  /** When the message entered the DLQ (SentTimestamp), ms since the epoch. */
  sentAt: number | null;
}

export function toEntry(msg: Message): DlqEntry {
  const body = msg.Body ?? '';
  const decoded = decodeEnvelope(body);
  const envelope = decoded.ok ? decoded.envelope : undefined;
  const park = readParkAttributes(msg.MessageAttributes);
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.Attributes ?? {})) if (typeof v === 'string') attributes[k] = v;
  const sent = Number(attributes.SentTimestamp);
  const num = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? n : null);
  return {
    messageId: msg.MessageId ?? '',
    receiptHandle: msg.ReceiptHandle ?? '',
    body,
    messageAttributes: msg.MessageAttributes ?? {},
    attributes,
    envelope,
    source: envelope?.source ?? park.source ?? null,
    eventId: envelope?.eventId ?? null,
    eventType: envelope?.eventType ?? park.eventType ?? null,
    customerId: envelope?.payload.customer_id ?? null,
    reason: park.reason ?? UNKNOWN_REASON,
    status: num(park.status),
    detail: park.detail ?? null,
    attempts: num(park.attempts),
    failedAt: park.failedAt ?? null,
    sentAt: Number.isFinite(sent) && sent > 0 ? sent : null,
  };
}

export interface EntryFilter {
  reason?: string;
  source?: string;
}

export function matches(entry: DlqEntry, filter: EntryFilter): boolean {
  if (filter.reason !== undefined && entry.reason !== filter.reason) return false;
  if (filter.source !== undefined && entry.source !== filter.source) return false;
  return true;
}

export function hasFilter(filter: EntryFilter): boolean {
  return filter.reason !== undefined || filter.source !== undefined;
}

/** Validates `--reason` and `--source` against the known codes (a typo would silently match nothing). */
export function parseFilter(args: { reason?: string | undefined; source?: string | undefined }): EntryFilter {
  const filter: EntryFilter = {};
  if (args.reason !== undefined) {
    if (!REASON_CODES.includes(args.reason)) throw new UsageError(`--reason must be one of: ${REASON_CODES.join(', ')} (got "${args.reason}")`);
    filter.reason = args.reason;
  }
  if (args.source !== undefined) {
    if (!(SOURCE_NAMES as readonly string[]).includes(args.source)) throw new UsageError(`--source must be one of: ${SOURCE_NAMES.join(', ')} (got "${args.source}")`);
    filter.source = args.source;
  }
  return filter;
}

/** `list --json`: one object per message. customerId is NOT masked (machine output). */
export type ListJson = Pick<
  DlqEntry,
  'messageId' | 'source' | 'eventId' | 'eventType' | 'customerId' | 'reason' | 'status' | 'detail' | 'attempts' | 'failedAt'
>;

export function listJson(e: DlqEntry): ListJson {
  return {
    messageId: e.messageId,
    source: e.source,
    eventId: e.eventId,
    eventType: e.eventType,
    customerId: e.customerId,
    reason: e.reason,
    status: e.status,
    detail: e.detail,
    attempts: e.attempts,
    failedAt: e.failedAt,
  };
}

export interface ExportAttribute {
  DataType: string;
  StringValue?: string;
  /** Base64. */
  BinaryValue?: string;
}

/** Which queue a command reads: the DLQ (default) or the main queue (`--queue main`). */
export type QueueChoice = 'dlq' | 'main';

export function parseQueueChoice(value: string | undefined): QueueChoice {
  if (value === undefined || value === 'dlq') return 'dlq';
  if (value === 'main') return 'main';
  throw new UsageError(`--queue must be dlq or main (got "${value}")`);
}

/**
 * `export`: the list fields, the full body and every attribute (message and system). From the
 * main queue, `reason` is null: nothing failed there.
 */
export interface ExportJson extends Omit<ListJson, 'reason'> {
  reason: string | null;
  body: string;
  messageAttributes: Record<string, ExportAttribute>;
  attributes: Record<string, string>;
}

export function exportJson(e: DlqEntry, queue: QueueChoice = 'dlq'): ExportJson {
  const messageAttributes: Record<string, ExportAttribute> = {};
  for (const [k, v] of Object.entries(e.messageAttributes)) {
    const a: ExportAttribute = { DataType: v.DataType ?? 'String' };
    if (v.StringValue !== undefined) a.StringValue = v.StringValue;
    if (v.BinaryValue !== undefined) a.BinaryValue = Buffer.from(v.BinaryValue).toString('base64');
    messageAttributes[k] = a;
  }
  return { ...listJson(e), ...(queue === 'main' ? { reason: null } : {}), body: e.body, messageAttributes, attributes: { ...e.attributes } };
}

/** Attributes that describe the failure: dropped on redrive, so that a redriven message starts fresh. */
export const PARK_ATTRIBUTE_NAMES: readonly string[] = [
  DLQ_ATTRIBUTES.reason,
  DLQ_ATTRIBUTES.status,
  DLQ_ATTRIBUTES.detail,
  DLQ_ATTRIBUTES.attempts,
  DLQ_ATTRIBUTES.failedAt,
];
