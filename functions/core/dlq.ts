/**
 * The dead-letter contract (contract.md, "Dead-letter queue"): a parked message carries its
 * reason as SQS message attributes. Shared by the sender (writes) and the DLQ tool (reads).
 */

export const DLQ_ATTRIBUTES = {
  reason: 'failure_reason',
  status: 'failure_status',
  detail: 'failure_detail',
  attempts: 'attempts',
  failedAt: 'failed_at',
  source: 'source',
  eventType: 'event_type',
} as const;

/** Short failure codes. */
export const FAILURE_REASONS = [
  'moengage_rejected', // 400 or a 200 whose body says fail
  'payload_too_large', // 413
  'unsupported_media_type', // 415
  'auth_failed', // 401 / 403 / 409 until the receive count ran out
  'account_blocked', // 403 with a blocked / suspended account type
  'rate_limited', // 429 until the receive count ran out
  'retries_exhausted', // 5xx, timeouts, resets until the receive count ran out
  'invalid_message', // the body is not an adapter envelope
  'state_unavailable', // the per-user state table could not be read or written until the receive count ran out
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export interface FailureDetail {
  /** MoEngage's error type, e.g. "MissingAttributeError". */
  type?: string;
  /** MoEngage's error message (never contains our secrets). */
  message?: string;
  /** MoEngage's request_id, for their support. */
  request_id?: string;
  /** The attribute MoEngage named, if any. */
  attribute?: string;
}

export interface ParkInfo {
  reason: FailureReason;
  status?: number;
  detail?: FailureDetail;
  attempts: number;
  failedAt: string;
}

type StringAttr = { DataType: 'String' | 'Number'; StringValue: string };

/** SQS MessageAttributes for a parked message (values cut to stay well under SQS limits). */
export function parkAttributes(info: ParkInfo, meta: { source?: string; eventType?: string } = {}): Record<string, StringAttr> {
  const attrs: Record<string, StringAttr> = {
    [DLQ_ATTRIBUTES.reason]: { DataType: 'String', StringValue: info.reason },
    [DLQ_ATTRIBUTES.attempts]: { DataType: 'Number', StringValue: String(info.attempts) },
    [DLQ_ATTRIBUTES.failedAt]: { DataType: 'String', StringValue: info.failedAt },
  };
  if (info.status !== undefined) attrs[DLQ_ATTRIBUTES.status] = { DataType: 'Number', StringValue: String(info.status) };
  if (info.detail && Object.keys(info.detail).length > 0) {
    attrs[DLQ_ATTRIBUTES.detail] = { DataType: 'String', StringValue: detailJson(info.detail) };
  }
  if (meta.source) attrs[DLQ_ATTRIBUTES.source] = { DataType: 'String', StringValue: meta.source };
  if (meta.eventType) attrs[DLQ_ATTRIBUTES.eventType] = { DataType: 'String', StringValue: meta.eventType.slice(0, 256) };
  return attrs;
}

/** Characters SQS refuses in attribute values (and astral ones some emulators refuse), replaced. */
const SQS_UNSAFE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/g;

/** `failure_detail`: valid JSON of at most ~1.7 KB, each field cut, nothing SQS would refuse. */
export function detailJson(detail: FailureDetail): string {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(detail)) {
    if (typeof v === 'string') out[k] = v.replace(SQS_UNSAFE, '\uFFFD').slice(0, 400);
  }
  return JSON.stringify(out);
}

/** Reads the parked-message attributes back (DLQ tool). Missing attributes stay undefined. */
export function readParkAttributes(
  attrs: Record<string, { StringValue?: string | undefined } | undefined> | undefined,
): Partial<ParkInfo> & { source?: string; eventType?: string } {
  const get = (k: string) => attrs?.[k]?.StringValue;
  const out: Partial<ParkInfo> & { source?: string; eventType?: string } = {};
  const reason = get(DLQ_ATTRIBUTES.reason);
  if (reason) out.reason = reason as FailureReason;
  const status = get(DLQ_ATTRIBUTES.status);
  if (status) out.status = Number(status);
  const detail = get(DLQ_ATTRIBUTES.detail);
  if (detail) {
    try {
      out.detail = JSON.parse(detail) as FailureDetail;
    } catch {
      out.detail = { message: detail };
    }
  }
  const attempts = get(DLQ_ATTRIBUTES.attempts);
  if (attempts) out.attempts = Number(attempts);
  const failedAt = get(DLQ_ATTRIBUTES.failedAt);
  if (failedAt) out.failedAt = failedAt;
  const source = get(DLQ_ATTRIBUTES.source);
  if (source) out.source = source;
  const eventType = get(DLQ_ATTRIBUTES.eventType);
  if (eventType) out.eventType = eventType;
  return out;
}
