/**
 * Sender Lambda (SQS event source, ReportBatchItemFailures): wires deliver.ts to SQS,
 * Secrets Manager, MoEngage and Powertools' batch processors. No logic of its own.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ConfigError } from '../core/config';
import { parkAttributes } from '../core/dlq';
import { MoEngageClient } from '../core/moengage/client';
import { resolveBaseUrl } from '../core/moengage/data-center';
import {
  BULK_IMPORT_LIMIT_PER_MINUTE,
  CREATE_EVENT_LIMIT_PER_MINUTE,
  DELETE_USER_LIMIT_PER_MINUTE,
  TRACK_USER_LIMIT_PER_MINUTE,
} from '../core/moengage/limits';
import { RateLimiter } from '../core/moengage/rate-limit';
import { DEFAULT_SENDER_PARALLELISM, ENV, SENDER_SERVICE } from '../core/names';
import { retryPolicy, type RetryPolicy } from '../core/retry';
import { powertoolsTelemetry, type Telemetry } from '../shared/observability';
import { cachedByEnv, positiveInt, queueTypeFrom, requireEnv, sqsClientFrom } from '../shared/runtime';
import { credentialsFrom, secretsManagerClient } from '../shared/secrets';
import { dynamoClientFrom, dynamoStateStore, type StateStore } from '../shared/state-store';
import { deliverBatch, RETRY_ATTRIBUTES, STATE_WRITE_BUDGET_MS, type SenderDeps, type SenderQueue } from './deliver';

export function sqsSenderQueue(client: SQSClient, queueUrl: string, dlqUrl: string, fifo: boolean): SenderQueue {
  return {
    async changeVisibility(record, seconds) {
      await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: seconds }));
    },
    async requeue(record, retry) {
      const attrs: Record<string, { DataType: string; StringValue: string }> = {};
      for (const [name, a] of Object.entries(record.messageAttributes ?? {})) {
        if (a?.stringValue !== undefined && name !== RETRY_ATTRIBUTES.attempts && name !== RETRY_ATTRIBUTES.notBefore) {
          attrs[name] = { DataType: a.dataType === 'Number' ? 'Number' : 'String', StringValue: a.stringValue };
        }
      }
      attrs[RETRY_ATTRIBUTES.attempts] = { DataType: 'Number', StringValue: String(retry.attempts) };
      attrs[RETRY_ATTRIBUTES.notBefore] = { DataType: 'Number', StringValue: String(Math.ceil(retry.notBefore)) };
      const out = await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: record.body,
          MessageAttributes: attrs,
          // A group of its own while it waits (the copy does not hold its user's later messages
          // back); its user's group once due (deliver.ts). The deduplication id is the copy's own:
          // requeueing the same message twice (its deletion failed) sends one copy.
          MessageGroupId: retry.group ?? `retry-${record.messageId}`,
          MessageDeduplicationId: `retry:${record.messageId}`,
        }),
      );
      if (!out.MessageId) throw new Error('SQS returned no MessageId');
    },
    async park(record, info, meta) {
      const out = await client.send(
        new SendMessageCommand({
          QueueUrl: dlqUrl,
          MessageBody: record.body,
          MessageAttributes: parkAttributes(info, meta),
          ...(fifo
            ? {
                MessageGroupId: record.attributes?.MessageGroupId ?? record.messageId,
                // One parked copy per SQS message, even if parking is retried.
                MessageDeduplicationId: `parked:${record.messageId}`,
              }
            : {}),
        }),
      );
      if (!out.MessageId) throw new Error('SQS returned no MessageId');
    },
  };
}

export type SenderHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * Builds the handler. `makeDeps` gets the invocation's context so that retries are bounded
 * by the time the invocation has left. deliverBatch decides every message, FIFO ordering
 * included (it holds a group's later messages back where arrival order matters); the batch
 * processor only reports its results, so that there is one group-skipping path.
 */
export function createSenderHandler(makeDeps: (context: Context) => SenderDeps): SenderHandler {
  return async (event, context) => {
    const deps = makeDeps(context);
    const results = await deliverBatch(event.Records, deps);
    const recordHandler = async (record: SQSRecord): Promise<void> => {
      const result = results.get(record.messageId);
      if (!result) throw new Error('message was not processed');
      if (!result.ok) throw result.error;
    };
    // throwOnFullBatchFailure: false reports every message as a batch item failure instead of
    // failing the invocation: the messages come back through SQS either way, and MoEngage
    // being down must not count as a Lambda error.
    return processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });
  };
}

interface Runtime {
  handler: SenderHandler;
}

const telemetry = powertoolsTelemetry(SENDER_SERVICE);

/**
 * The sender wired from its environment. `policy` overrides parts of the retry policy (tests
 * shorten the redelivery visibility so that SQS-level retries happen within seconds).
 */
export function senderFromEnv(env: NodeJS.ProcessEnv, t: Telemetry = telemetry, policyOverrides: Partial<RetryPolicy> = {}): Runtime {
  const queueUrl = requireEnv(env, ENV.queueUrl);
  const dlqUrl = requireEnv(env, ENV.dlqUrl);
  const fifo = queueTypeFrom(env) === 'fifo';
  const mode = env[ENV.deliveryMode] ?? 'customer';
  if (mode !== 'customer' && mode !== 'bulk') throw new ConfigError(`${ENV.deliveryMode} must be customer or bulk, not ${mode}`);
  const sqs = sqsClientFrom(env);
  const timeoutMs = positiveInt(env, ENV.moengageTimeoutMs, 10_000);
  const client = new MoEngageClient({
    baseUrl: resolveBaseUrl({ dc: env[ENV.moengageDc], baseUrl: env[ENV.moengageBaseUrl] }),
    fetch: globalThis.fetch,
    timeoutMs,
  });
  const state = stateStoreFrom(env, Date.now);
  // The last decision must fit in the invocation after a full request timeout (and, with the
  // state store, the write that records the delivery).
  const policy = retryPolicy({ safetyMarginMs: timeoutMs + 1_000 + (state ? STATE_WRITE_BUDGET_MS : 0), ...policyOverrides });
  const credentials = credentialsFrom(env, env.MOENGAGE_SECRET_ARN ? secretsManagerClient(env) : undefined);
  // The workspace's budget is shared by the concurrent sender invocations: each container
  // paces itself at its share, and MoEngage's x-ratelimit headers correct it at run time.
  const concurrency = positiveInt(env, ENV.senderMaxConcurrency, 1);
  const customerLimit = positiveInt(env, ENV.rateLimitPerMinute, TRACK_USER_LIMIT_PER_MINUTE);
  const bulkLimit = positiveInt(env, ENV.bulkRateLimitPerMinute, BULK_IMPORT_LIMIT_PER_MINUTE);
  const eventLimit = positiveInt(env, ENV.eventRateLimitPerMinute, CREATE_EVENT_LIMIT_PER_MINUTE);
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const now = () => Date.now();
  const limiters = {
    customer: new RateLimiter({ capacityPerMinute: Math.max(1, Math.floor(customerLimit / concurrency)), share: 1 / concurrency, now, sleep }),
    bulk: new RateLimiter({ capacityPerMinute: Math.max(1, Math.floor(bulkLimit / concurrency)), share: 1 / concurrency, now, sleep }),
    delete: new RateLimiter({ capacityPerMinute: Math.max(1, Math.floor(DELETE_USER_LIMIT_PER_MINUTE / concurrency)), share: 1 / concurrency, now, sleep }),
    event: new RateLimiter({ capacityPerMinute: Math.max(1, Math.floor(eventLimit / concurrency)), share: 1 / concurrency, now, sleep }),
  };
  const queue = sqsSenderQueue(sqs, queueUrl, dlqUrl, fifo);
  const maxReceiveCount = positiveInt(env, ENV.maxReceiveCount, 5);
  const parallelism = positiveInt(env, ENV.senderParallelism, DEFAULT_SENDER_PARALLELISM);
  const makeDeps = (context: Context): SenderDeps => ({
    mode,
    fifo,
    client,
    credentials,
    queue,
    limiters,
    policy,
    maxReceiveCount,
    parallelism,
    remainingMs: () => (typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : 30_000),
    sleep,
    random: Math.random,
    now,
    telemetry: t,
    ...(state ? { state } : {}),
  });
  return { handler: createSenderHandler(makeDeps) };
}

/** Days a user's state is kept after its last change, by default: longer than any provider's retries (Stripe: 3 days). */
export const DEFAULT_STATE_RETENTION_DAYS = 7;

/** The per-user state store of STATE_TABLE_NAME; undefined (stateless delivery) when it is not set. */
function stateStoreFrom(env: NodeJS.ProcessEnv, now: () => number): StateStore | undefined {
  const tableName = env[ENV.stateTable];
  if (!tableName) return undefined;
  const days = positiveInt(env, ENV.stateRetentionDays, DEFAULT_STATE_RETENTION_DAYS);
  return dynamoStateStore({ client: dynamoClientFrom(env), tableName, retentionSeconds: days * 86_400, now });
}

const current = cachedByEnv((env) => senderFromEnv(env), [...Object.values(ENV), 'AWS_REGION']);

/** The Lambda entry point. Context and flush by hand, not with Powertools' injectLambdaContext and logMetrics: see PowertoolsTelemetry.flush. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  telemetry.logger.addContext(context);
  try {
    return await current(process.env).handler(event, context);
  } finally {
    telemetry.flush();
  }
};
