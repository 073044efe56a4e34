/**
 * Receiver Lambda (Function URL or API Gateway HTTP API, payload v2): wires receive.ts to
 * the HTTP event, SQS, Secrets Manager and Powertools. No logic of its own.
 */
import { SendMessageCommand, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { ENV, METRIC, RECEIVER_SERVICE } from '../core/names';
import { powertoolsTelemetry, type Telemetry } from '../shared/observability';
import { adapterConfigFrom, cachedByEnv, queueTypeFrom, requireEnv, sqsClientFrom } from '../shared/runtime';
import { secretsManagerClient, SIGNING_SECRET_ENV, signingSecretsFrom, type SigningSecrets } from '../shared/secrets';
import { SOURCES } from '../sources';
import type { WebhookRequest } from '../sources/types';
import { errorResponse, receiveWebhook, type QueueMessage, type ReceiverDeps } from './receive';

/** Turns a Function URL / HTTP API v2 event into the request the sources verify (exact raw bytes). */
export function toWebhookRequest(event: LambdaFunctionURLEvent): WebhookRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
  const body = event.body ?? '';
  const rawBody = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  const path = event.rawPath ?? event.requestContext?.http?.path ?? '/';
  return {
    method: (event.requestContext?.http?.method ?? 'GET').toUpperCase(),
    path,
    headers,
    rawBody,
  };
}

export function sqsEnqueuer(client: SQSClient, queueUrl: string): (m: QueueMessage, signal?: AbortSignal) => Promise<void> {
  return async (m, signal) => {
    const attributes: Record<string, MessageAttributeValue> = {};
    for (const [k, v] of Object.entries(m.attributes)) attributes[k] = { DataType: 'String', StringValue: v };
    const out = await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: m.body,
        MessageAttributes: attributes,
        ...(m.groupId ? { MessageGroupId: m.groupId } : {}),
        ...(m.deduplicationId ? { MessageDeduplicationId: m.deduplicationId } : {}),
      }),
      // Aborts the HTTP request and the SDK's retries when the invocation's budget runs out.
      signal ? { abortSignal: signal } : {},
    );
    if (!out.MessageId) throw new Error('SQS returned no MessageId');
  };
}

export type ReceiverHandler = (event: LambdaFunctionURLEvent, context?: Context) => Promise<LambdaFunctionURLResult>;

/**
 * Milliseconds of the invocation kept back for answering (and flushing metrics) after the
 * dependencies' budget ran out; at most half the remaining time.
 */
export const RESPONSE_RESERVE_MS = 1_000;

/** The error a dependency call fails with when the invocation's budget ran out (logged by name). */
export class BudgetExceededError extends Error {
  override name = 'TimeoutError';
}

export interface ReceiverHandlerOptions {
  /** @default RESPONSE_RESERVE_MS */
  reserveMs?: number;
}

/**
 * The invocation's time budget: Secrets Manager reads and the SQS send must settle before
 * `remaining time - reserve`, else they fail with BudgetExceededError and the receiver answers
 * the contract's 503 (secrets_unavailable / queue_unavailable) instead of running into the
 * Lambda timeout (which a Function URL or API Gateway turns into a bare 502/504).
 */
class Budget {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(readonly ms: number) {
    this.timer = setTimeout(() => this.controller.abort(new BudgetExceededError(`the receiver's ${ms} ms budget ran out`)), ms);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Settles with `work`, or rejects with BudgetExceededError when the budget runs out first. */
  bound<T>(work: Promise<T>): Promise<T> {
    const signal = this.controller.signal;
    // A late rejection of abandoned work must not become an unhandled rejection.
    work.catch(() => undefined);
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      work.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err as Error);
        },
      );
    });
  }

  end(): void {
    clearTimeout(this.timer);
  }
}

function boundedSecrets(secrets: SigningSecrets, budget: Budget): SigningSecrets {
  // A list at hand (no read to wait for) passes as it is.
  const bounded: SigningSecrets = (source) => {
    const listed = secrets(source);
    return Array.isArray(listed) ? listed : budget.bound(listed as Promise<readonly string[]>);
  };
  const refresh = secrets.refresh;
  if (refresh) bounded.refresh = (source) => budget.bound(refresh(source));
  return bounded;
}

export function createReceiverHandler(deps: ReceiverDeps, options: ReceiverHandlerOptions = {}): ReceiverHandler {
  return async (event, context) => {
    const request = toWebhookRequest(event);
    const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
    let res;
    if (remaining === undefined) {
      res = await receiveWebhook(request, deps);
    } else {
      const reserve = Math.min(options.reserveMs ?? RESPONSE_RESERVE_MS, remaining / 2);
      const budget = new Budget(Math.max(1, Math.floor(remaining - reserve)));
      try {
        res = await receiveWebhook(request, {
          ...deps,
          secrets: boundedSecrets(deps.secrets, budget),
          enqueue: (m) => budget.bound(deps.enqueue(m, budget.signal)),
        });
      } finally {
        budget.end();
      }
    }
    return { statusCode: res.statusCode, headers: res.headers, body: res.body };
  };
}

const telemetry = powertoolsTelemetry(RECEIVER_SERVICE);

/** The receiver's SQS client: 3 attempts of at most 1 s to connect and 2 s to answer (SendMessage takes tens of ms). */
export const RECEIVER_SQS_CLIENT = { maxAttempts: 3, connectionTimeoutMs: 1_000, requestTimeoutMs: 2_000 } as const;

function init(env: NodeJS.ProcessEnv): ReceiverHandler {
  const queueUrl = requireEnv(env, ENV.queueUrl);
  const deps: ReceiverDeps = {
    sources: SOURCES,
    config: adapterConfigFrom(env),
    secrets: signingSecretsFrom(env, env.SIGNING_SECRETS_ARN ? secretsManagerClient(env) : undefined),
    // Short attempts, so that an SDK retry still fits in the budget (see createReceiverHandler).
    enqueue: sqsEnqueuer(sqsClientFrom(env, RECEIVER_SQS_CLIENT), queueUrl),
    queueType: queueTypeFrom(env),
    now: () => new Date(),
    telemetry,
  };
  return createReceiverHandler(deps);
}

const current = cachedByEnv(init, [...Object.values(ENV), ...Object.values(SIGNING_SECRET_ENV), 'AWS_REGION']);

/** How often a misconfigured receiver container repeats its `receiver misconfigured` line. */
export const MISCONFIGURATION_LOG_INTERVAL_MS = 60_000;

/**
 * Reports a configuration error for each request it refuses: ReceiverServerErrors (the alarmed
 * metric) every time; the `receiver misconfigured` line with its reason on a container's first
 * refusal, then at most once per interval with the number of requests refused since the last
 * line (this one included), and at once when the reason changes. So a log search over any
 * minute of the outage finds the reason, and a provider's retry storm does not write one error
 * line per webhook. The environment of a Lambda container never changes: fixing it starts new
 * containers, which log afresh.
 */
export function misconfigurationReporter(t: Telemetry, now: () => number, intervalMs = MISCONFIGURATION_LOG_INTERVAL_MS): (err: unknown) => void {
  let last: { at: number; reason: string } | undefined;
  let refused = 0;
  return (err) => {
    const reason = err instanceof Error ? err.message : String(err);
    t.count(METRIC.serverErrors);
    refused += 1;
    const at = now();
    if (last && last.reason === reason && at - last.at < intervalMs) return;
    t.error('receiver misconfigured', { error: reason, requestsRefused: refused });
    last = { at, reason };
    refused = 0;
  };
}

const reportMisconfiguration = misconfigurationReporter(telemetry, Date.now);

/**
 * The Lambda entry point. Configuration errors answer 500 and never leak details (see
 * misconfigurationReporter for what is logged). Context and flush by hand, not with Powertools'
 * injectLambdaContext and logMetrics: see PowertoolsTelemetry.flush.
 */
export const handler = async (event: LambdaFunctionURLEvent, context?: Context): Promise<LambdaFunctionURLResult> => {
  if (context) telemetry.logger.addContext(context);
  try {
    let handle: ReceiverHandler;
    try {
      handle = current(process.env);
    } catch (err) {
      reportMisconfiguration(err);
      const res = errorResponse(500, 'misconfigured', 'the adapter is misconfigured; see its logs');
      return { statusCode: res.statusCode, headers: res.headers, body: res.body };
    }
    return await handle(event, context);
  } finally {
    telemetry.flush();
  }
};
