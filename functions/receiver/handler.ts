/**
 * Receiver Lambda (Function URL or API Gateway HTTP API, payload v2): wires receive.ts to
 * the HTTP event, SQS, Secrets Manager and Powertools. No logic of its own.
 */
import { SendMessageCommand, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { ENV, METRIC, RECEIVER_SERVICE } from '../core/names';
import { powertoolsTelemetry } from '../shared/observability';
import { adapterConfigFrom, cachedByEnv, queueTypeFrom, requireEnv, sqsClientFrom } from '../shared/runtime';
import { secretsManagerClient, SIGNING_SECRET_ENV, signingSecretsFrom } from '../shared/secrets';
import { SOURCES } from '../sources';
import type { WebhookRequest } from '../sources/types';
import { errorResponse, receiveWebhook, type QueueMessage, type ReceiverDeps } from './receive';

/** Turns a Function URL / HTTP API v2 event into the request the sources verify (exact raw bytes). */
export function toWebhookRequest(event: LambdaFunctionURLEvent, publicBaseUrl?: string): WebhookRequest {
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
    ...(publicBaseUrl ? { publicUrl: `${publicBaseUrl.replace(/\/+$/, '')}${path}` } : {}),
  };
}

export function sqsEnqueuer(client: SQSClient, queueUrl: string): (m: QueueMessage) => Promise<void> {
  return async (m) => {
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
    );
    if (!out.MessageId) throw new Error('SQS returned no MessageId');
  };
}

export type ReceiverHandler = (event: LambdaFunctionURLEvent, context?: Context) => Promise<LambdaFunctionURLResult>;

export function createReceiverHandler(deps: ReceiverDeps, publicBaseUrl?: string): ReceiverHandler {
  return async (event) => {
    const res = await receiveWebhook(toWebhookRequest(event, publicBaseUrl), deps);
    return { statusCode: res.statusCode, headers: res.headers, body: res.body };
  };
}

const telemetry = powertoolsTelemetry(RECEIVER_SERVICE);

function init(env: NodeJS.ProcessEnv): ReceiverHandler {
  const queueUrl = requireEnv(env, ENV.queueUrl);
  const deps: ReceiverDeps = {
    sources: SOURCES,
    config: adapterConfigFrom(env),
    secrets: signingSecretsFrom(env, env.SIGNING_SECRETS_ARN ? secretsManagerClient(env) : undefined),
    enqueue: sqsEnqueuer(sqsClientFrom(env), queueUrl),
    queueType: queueTypeFrom(env),
    now: () => new Date(),
    telemetry,
  };
  return createReceiverHandler(deps, env[ENV.publicBaseUrl]);
}

const current = cachedByEnv(init, [...Object.values(ENV), ...Object.values(SIGNING_SECRET_ENV), 'AWS_REGION']);

/** The Lambda entry point. Configuration errors answer 500 (logged once per cold start) and never leak details. */
export const handler = async (event: LambdaFunctionURLEvent, context?: Context): Promise<LambdaFunctionURLResult> => {
  if (context) telemetry.logger.addContext(context);
  let handle: ReceiverHandler;
  try {
    handle = current(process.env);
  } catch (err) {
    telemetry.count(METRIC.serverErrors);
    telemetry.error('receiver misconfigured', { error: (err as Error).message });
    telemetry.flush();
    const res = errorResponse(500, 'misconfigured', 'the adapter is misconfigured; see its logs');
    return { statusCode: res.statusCode, headers: res.headers, body: res.body };
  }
  try {
    return await handle(event, context);
  } finally {
    telemetry.flush();
  }
};
