/**
 * The embedded SQS of `npm run dev`: fauxqs, bound to 127.0.0.1 only, with the main queue and
 * its DLQ created the way the deployed stack creates them (same type, same redrive policy,
 * visibility timeout = 6 × the sender's function timeout).
 *
 * fauxqs' own `startFauxqs()` listens on 0.0.0.0, so this module builds the fauxqs app with
 * `buildApp()` and listens on the loopback address itself. Queue URLs use fauxqs' AWS-like
 * `http://sqs.<region>.localhost:<port>/000000000000/<name>` form; every client therefore
 * needs an explicit `endpoint` (createSqsClient does that).
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import type { AddressInfo } from 'node:net';

export type QueueType = 'fifo' | 'standard';

const QUEUE_BASE_NAME = 'moengage-adapter-queue';
const DLQ_BASE_NAME = 'moengage-adapter-dlq';
/** Receives before SQS moves a message to the DLQ (the stack's default). */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;
/** 6 × the sender's 30 s function timeout, as deployed. */
const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 180;
/** The DLQ keeps messages for the SQS maximum, 14 days. */
export const DLQ_RETENTION_SECONDS = 1_209_600;
/** The main queue keeps messages 14 days too, as deployed (issue 12: they must outlive a stalled event source). */
export const QUEUE_RETENTION_SECONDS = 1_209_600;
const LOCAL_REGION = 'us-east-1';

function queueNames(queueType: QueueType): { queueName: string; dlqName: string } {
  const suffix = queueType === 'fifo' ? '.fifo' : '';
  return { queueName: `${QUEUE_BASE_NAME}${suffix}`, dlqName: `${DLQ_BASE_NAME}${suffix}` };
}

/** An SQS client for a local endpoint: dummy region and credentials, endpoint pinned. */
function createSqsClient(endpoint: string, region = LOCAL_REGION): SQSClient {
  return new SQSClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
  });
}

export interface LocalSqsOptions {
  /** Default 0 (a free port); `npm run dev` uses SQS_PORT (9324). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default `fifo`. */
  queueType?: QueueType;
  /** Default 5. */
  maxReceiveCount?: number;
  /** Default 180. */
  visibilityTimeoutSeconds?: number;
  /** Main queue retention. Default 14 days, as deployed. */
  messageRetentionSeconds?: number;
  /** Default us-east-1. */
  region?: string;
  /** Override the queue names (both must carry `.fifo` for a FIFO queue). */
  queueName?: string;
  dlqName?: string;
}

export interface LocalSqs {
  /** `http://127.0.0.1:PORT`: the SQS_ENDPOINT. */
  endpoint: string;
  port: number;
  region: string;
  queueType: QueueType;
  queueName: string;
  dlqName: string;
  queueUrl: string;
  dlqUrl: string;
  queueArn: string;
  dlqArn: string;
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  client: SQSClient;
  stop(): Promise<void>;
}

export async function startLocalSqs(options: LocalSqsOptions = {}): Promise<LocalSqs> {
  const host = options.host ?? '127.0.0.1';
  const queueType = options.queueType ?? 'fifo';
  const region = options.region ?? LOCAL_REGION;
  const maxReceiveCount = options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_TIMEOUT_SECONDS;
  const names = queueNames(queueType);
  const queueName = options.queueName ?? names.queueName;
  const dlqName = options.dlqName ?? names.dlqName;
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
    throw new Error('maxReceiveCount must be an integer from 1 to 1000');
  }
  if (!Number.isInteger(visibilityTimeoutSeconds) || visibilityTimeoutSeconds < 0 || visibilityTimeoutSeconds > 43_200) {
    throw new Error('visibilityTimeoutSeconds must be an integer from 0 to 43200');
  }
  if (queueType === 'fifo' && !(queueName.endsWith('.fifo') && dlqName.endsWith('.fifo'))) {
    throw new Error('FIFO queue names must end with .fifo');
  }

  const app = buildApp({ logger: false, defaultRegion: region });
  let client: SQSClient | undefined;
  try {
    await app.listen({ port: options.port ?? 0, host });
    const port = (app.server.address() as AddressInfo).port;
    const endpoint = `http://${host}:${port}`;
    client = createSqsClient(endpoint, region);

    const fifo: Record<string, string> = queueType === 'fifo' ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' } : {};
    const dlq = await client.send(
      new CreateQueueCommand({
        QueueName: dlqName,
        Attributes: { ...fifo, MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS) },
      }),
    );
    const dlqUrl = required(dlq.QueueUrl, 'DLQ url');
    const dlqArn = await queueArn(client, dlqUrl);
    const main = await client.send(
      new CreateQueueCommand({
        QueueName: queueName,
        Attributes: {
          ...fifo,
          VisibilityTimeout: String(visibilityTimeoutSeconds),
          MessageRetentionPeriod: String(options.messageRetentionSeconds ?? QUEUE_RETENTION_SECONDS),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
        },
      }),
    );
    const queueUrl = required(main.QueueUrl, 'queue url');
    const arn = await queueArn(client, queueUrl);

    let stopped = false;
    const c = client;
    return {
      endpoint,
      port,
      region,
      queueType,
      queueName,
      dlqName,
      queueUrl,
      dlqUrl,
      queueArn: arn,
      dlqArn,
      maxReceiveCount,
      visibilityTimeoutSeconds,
      client: c,
      async stop() {
        if (stopped) return;
        stopped = true;
        c.destroy();
        await app.close();
      },
    };
  } catch (err) {
    client?.destroy();
    await app.close().catch(() => {});
    throw err;
  }
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new Error(`local SQS did not return a ${what}`);
  return value;
}

async function queueArn(client: SQSClient, queueUrl: string): Promise<string> {
  const attrs = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return required(attrs.Attributes?.QueueArn, 'queue ARN');
}
