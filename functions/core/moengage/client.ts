/**
 * The MoEngage HTTP client: Track User, Bulk Import, Create Event and Delete User over an
 * injected fetch, with a per-request deadline, answers classified by classify.ts. Pure: fetch
 * and the clock are injected; nothing here logs.
 *
 * Never throws for anything the network or MoEngage does: timeouts, DNS failures, resets and
 * unexpected answers all become outcomes. Failure details never carry the API key or the
 * Authorization header.
 */
import { ConfigError } from '../config';
import type { FailureDetail } from '../dlq';
import { classifyResponse, classifyTransportError } from './classify';
import type { DeliveryOutcome } from './delivery-outcome';
import type { HeadersLike } from './rate-limit-headers';
import type { BulkElement, CustomerPayload, EventPayload } from './types';

export interface MoEngageCredentials {
  workspaceId: string;
  apiKey: string;
}

/** The part of `fetch` the client uses; the global fetch satisfies it. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{ status: number; headers: HeadersLike; text(): Promise<string> }>;

export interface MoEngageClientOptions {
  /** From resolveBaseUrl(). */
  baseUrl: string;
  fetch: FetchLike;
  /** Per request, covering the answer's body too. Default 10 s. */
  timeoutMs?: number;
  /** Wall clock in epoch milliseconds (latency, HTTP-date Retry-After). Default Date.now. */
  now?: () => number;
}

export interface RequestOptions {
  /** Overrides the client's timeout for this request (e.g. to fit the invocation's remaining time). */
  timeoutMs?: number;
}

/** The MoEngage endpoints the client calls: Track User, Bulk Import, Create Event, Delete User. */
export type MoEngageEndpoint = 'customer' | 'transition' | 'event' | 'delete';

class TimeoutSignal extends Error {
  override name = 'TimeoutSignal';
}

export class MoEngageClient {
  readonly baseUrl: string;
  private readonly fetchFn: FetchLike;
  /** The default timeout of one request, in ms. */
  readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(options: MoEngageClientOptions) {
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new ConfigError('the MoEngage request timeout must be a positive number of milliseconds');
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchFn = options.fetch;
    this.timeoutMs = timeoutMs;
    this.now = options.now ?? Date.now;
  }

  /** Track User: `POST {base}/v1/customer/{workspaceId}?app_id={workspaceId}`. */
  trackUser(creds: MoEngageCredentials, payload: CustomerPayload, opts: RequestOptions = {}): Promise<DeliveryOutcome> {
    return this.post(creds, 'customer', JSON.stringify(payload), opts.timeoutMs);
  }

  /** Bulk Import: `POST {base}/v1/transition/{workspaceId}?app_id={workspaceId}` (see bulk.ts for packing). */
  bulkImport(creds: MoEngageCredentials, elements: BulkElement[], opts: RequestOptions = {}): Promise<DeliveryOutcome> {
    if (elements.length === 0) return Promise.reject(new RangeError('bulkImport needs at least one element'));
    return this.post(creds, 'transition', JSON.stringify({ type: 'transition', elements }), opts.timeoutMs);
  }

  /**
   * Delete User: `POST {base}/v1/customer/delete?app_id={workspaceId}` with
   * `{"identity_type":"customer_id","identity_value":<customerId>}`, one user per request
   * (MoEngage's limit: 5,000 requests a minute). MoEngage answers `"status":"success"` when it
   * accepted the deletion, which it carries out after a 24-hour buffer during which the user can
   * still be updated (and any later update re-creates a deleted user). The answer is classified
   * exactly like Track User's (classifyResponse): an empty customer_id is sent as it is, and
   * MoEngage's refusal (400) is the outcome; nothing here throws.
   */
  deleteUser(creds: MoEngageCredentials, customerId: string, opts: RequestOptions = {}): Promise<DeliveryOutcome> {
    return this.post(creds, 'delete', JSON.stringify({ identity_type: 'customer_id', identity_value: customerId }), opts.timeoutMs);
  }

  /**
   * Create Event: `POST {base}/v1/event/{workspaceId}?app_id={workspaceId}` with
   * `{"type":"event","customer_id":...,"actions":[...]}`; answers classified as Track User's.
   */
  createEvent(creds: MoEngageCredentials, payload: EventPayload, opts: RequestOptions = {}): Promise<DeliveryOutcome> {
    return this.post(creds, 'event', JSON.stringify(payload), opts.timeoutMs);
  }

  /** The URL of an endpoint (Track User `customer`, Bulk Import `transition`, Create Event `event`, Delete User `delete`) for a workspace. */
  urlFor(endpoint: MoEngageEndpoint, workspaceId: string): string {
    const ws = encodeURIComponent(workspaceId);
    if (endpoint === 'delete') return `${this.baseUrl}/v1/customer/delete?app_id=${ws}`;
    return `${this.baseUrl}/v1/${endpoint}/${ws}?app_id=${ws}`;
  }

  private async post(
    creds: MoEngageCredentials,
    endpoint: MoEngageEndpoint,
    body: string,
    timeoutOverride: number | undefined,
  ): Promise<DeliveryOutcome> {
    const workspaceId = (creds.workspaceId ?? '').trim();
    const apiKey = (creds.apiKey ?? '').trim();
    if (workspaceId === '' || apiKey === '') {
      // Nothing is sent; the retry policy treats it like a 401 (re-read the secret, then wait).
      return {
        kind: 'auth',
        reason: 'auth_failed',
        detail: { type: 'MissingCredentials', message: 'the MoEngage workspace ID or API key is empty' },
        latencyMs: 0,
      };
    }
    const token = Buffer.from(`${workspaceId}:${apiKey}`, 'utf8').toString('base64');
    const headers: Record<string, string> = {
      Authorization: `Basic ${token}`,
      'Content-Type': 'application/json',
    };
    const timeoutMs =
      timeoutOverride !== undefined && Number.isFinite(timeoutOverride) && timeoutOverride > 0
        ? Math.min(timeoutOverride, this.timeoutMs)
        : this.timeoutMs;

    const controller = new AbortController();
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Raced against the fetch and the body read, so that a fetch ignoring its signal still ends.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
        reject(new TimeoutSignal('timeout'));
      }, timeoutMs);
    });
    deadline.catch(() => undefined);

    const start = this.now();
    const elapsed = () => Math.max(0, Math.round(this.now() - start));
    let outcome: DeliveryOutcome;
    try {
      const response = await Promise.race([
        this.fetchFn(this.urlFor(endpoint, workspaceId), { method: 'POST', headers, body, signal: controller.signal }),
        deadline,
      ]);
      let text = '';
      try {
        text = await Promise.race([response.text(), deadline]);
      } catch {
        // The status line arrived but the body did not: classify on the status alone
        // (a 200 then counts as delivered, unconfirmed).
        text = '';
      }
      outcome = classifyResponse(response.status, response.headers, text, elapsed(), this.now());
    } catch (err) {
      outcome = classifyTransportError(err, timedOut, timeoutMs, elapsed());
    } finally {
      clearTimeout(timer);
    }
    return redactOutcome(outcome, [apiKey, token, `${workspaceId}:${apiKey}`]);
  }
}

/** Removes every occurrence of the given secrets from the outcome's detail strings. */
function redactOutcome(outcome: DeliveryOutcome, secrets: string[]): DeliveryOutcome {
  if (outcome.kind === 'delivered') return outcome;
  const present = secrets.filter((s) => s.length >= 4);
  const scrub = (value: string | undefined) => {
    if (value === undefined) return undefined;
    let out = value;
    for (const secret of present) out = out.split(secret).join('[redacted]');
    return out;
  };
  const detail: FailureDetail = {};
  for (const key of ['type', 'message', 'request_id', 'attribute'] as const) {
    const value = scrub(outcome.detail[key]);
    if (value !== undefined) detail[key] = value;
  }
  return { ...outcome, detail };
}
