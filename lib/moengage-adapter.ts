/**
 * `MoEngageAdapter`: the whole adapter as one L3 construct, for this repository's stack and for
 * users' own CDK apps.
 *
 *   provider ──HTTPS──▶ receiver Lambda (Function URL or HTTP API)
 *                          │ verified, mapped envelope
 *                          ▼
 *                       SQS queue (FIFO by default) ──redrive──▶ DLQ
 *                          │ event source (partial batch responses)
 *                          ▼
 *                       sender Lambda ──HTTPS──▶ MoEngage (Track User / Bulk Import)
 *
 * Secrets are referenced by ARN only; their values never appear in the template or the
 * functions' environment.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, Duration, Fn, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { DomainName, HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { z } from 'zod';
import {
  adapterConfigSchema,
  formatIssues,
  SOURCE_NAMES,
  sourceOptions,
  type AdapterConfig,
  type SourceName,
} from '../functions/core/config';
import { DATA_CENTERS, resolveBaseUrl, type DataCenter } from '../functions/core/moengage/data-center';
import { BULK_IMPORT_LIMIT_PER_MINUTE, TRACK_USER_LIMIT_PER_MINUTE } from '../functions/core/moengage/limits';
import { ENV, METRICS_NAMESPACE } from '../functions/core/names';
import { customerIdFieldProblems } from '../functions/sources/body-paths';
import { AppConfigError, defaultBatchSize, defaultQueueType } from './app-config';
import { defaultSenderMemoryMb, deriveSenderConcurrency, MAX_SENDER_CONCURRENCY, MIN_SENDER_CONCURRENCY } from './concurrency';
import { acknowledge, NAG_REASONS } from './nag';
import { ALARM_DESCRIPTION_LIMIT, ALARMS, AdapterObservability, alarmDescription, RECEIVER_SERVICE, SENDER_SERVICE, STATE_TABLE_OPERATIONS, type AdapterAlarms } from './observability';

/**
 * The Lambda code: the bundles `npm run build` writes to assets/{receiver,sender}/ (scripts/build.ts),
 * shipped inside the package; synth only points at them, so no bundler runs in the user's app.
 */
export const ASSETS_DIR = fileURLToPath(new URL('../assets/', import.meta.url));
export const LAMBDA_HANDLER = 'index.handler';

/** The code of one of the adapter's Lambdas, from the package's prebuilt assets. */
export function adapterLambdaCode(name: 'receiver' | 'sender'): lambda.Code {
  const dir = join(ASSETS_DIR, name);
  if (!existsSync(join(dir, 'index.mjs'))) {
    fail(`The ${name} Lambda bundle ${join(dir, 'index.mjs')} is missing: run \`npm run build\` in a clone of this repository, or reinstall the package`);
  }
  return lambda.Code.fromAsset(dir);
}

/** SQS's longest retention: the main queue and the DLQ both keep messages this long. */
export const QUEUE_RETENTION = Duration.days(14);
/** AWS recommends at least 5 receives before a Lambda SQS source's message goes to the DLQ. */
export const RECOMMENDED_MIN_RECEIVE_COUNT = 5;
/** The state table's partition key and TTL attribute (epoch seconds); the sender's code uses the same names. */
export const STATE_TABLE_KEY = 'pk';
export const STATE_TABLE_TTL_ATTRIBUTE = 'ttl';
/** SNS limits a topic's display name to 100 characters. */
const SNS_DISPLAY_NAME_MAX = 100;
/** A KMS key ARN (multi-Region keys included); aliases are not accepted in a key policy's Resource. */
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/** Lambda's limit on the total size of a function's environment variables. */
const LAMBDA_ENV_LIMIT_BYTES = 4096;
/** The size assumed for an unresolved token (an ARN or URL) when estimating the environment size. */
const TOKEN_SIZE_ESTIMATE = 256;

export type AdapterConfigInput = z.input<typeof adapterConfigSchema>;

export type IngressOptions =
  | { readonly type: 'functionUrl' }
  | {
      readonly type: 'httpApi';
      /** Stage throttling. @default { rateLimit: 500, burstLimit: 1000 } */
      readonly throttling?: { readonly rateLimit: number; readonly burstLimit: number };
      /** A custom domain; the ACM certificate must be in the stack's region. */
      readonly customDomain?: { readonly domainName: string; readonly certificateArn: string };
    };

export interface MoEngageAdapterProps {
  /** MoEngage data center. Required unless `moengageBaseUrl` is set. */
  readonly moengageDc?: DataCenter;
  /** Send to this base URL instead of https://api-{DC}.moengage.com. */
  readonly moengageBaseUrl?: string;
  /** `customer` (one Track User call per user, default) or `bulk` (Bulk Import). */
  readonly deliveryMode?: 'customer' | 'bulk';
  /**
   * `fifo` (per-user ordering, exactly-once enqueue) or `standard`.
   * @default `standard` in bulk mode (batches that fill Bulk Import requests), else `fifo`
   */
  readonly queueType?: 'fifo' | 'standard';
  /** Receives before a message moves to the DLQ. @default 5 (at least 2) */
  readonly maxReceiveCount?: number;
  /** Messages per sender invocation. @default 100 in bulk mode on a standard queue (one Bulk Import request), else 10 */
  readonly batchSize?: number;
  /** Standard queue only: how long the event source gathers a batch. @default 1 second */
  readonly maxBatchingWindow?: Duration;
  /** @default { type: 'functionUrl' } */
  readonly ingress?: IngressOptions;
  /** The public base URL providers post to (the base of the `WebhookUrl*` outputs), when a proxy or CDN sits in front. */
  readonly publicBaseUrl?: string;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** AWS X-Ray active tracing. @default false */
  readonly tracing?: boolean;
  /** @default 256 */
  readonly receiverMemorySize?: number;
  /** @default 128 in customer mode, 256 in bulk mode (see defaultSenderMemoryMb) */
  readonly senderMemorySize?: number;
  /** @default 10 seconds */
  readonly receiverTimeout?: Duration;
  /** @default 60 seconds */
  readonly senderTimeout?: Duration;
  /**
   * Concurrent MoEngage requests in one sender invocation (each user's messages still go in
   * order). @default the batch size, at most 64: a whole batch in flight at once
   */
  readonly senderParallelism?: number;
  /** The event source's maxConcurrency. @default deriveSenderConcurrency(...) */
  readonly senderMaxConcurrency?: number;
  /** Expected MoEngage median response time, for deriving the sender's concurrency. @default 300 ms */
  readonly expectedMoEngageLatency?: Duration;
  /** Expected MoEngage 99th-percentile response time, for deriving the sender's concurrency. @default 1.5 seconds */
  readonly expectedMoEngageLatencyP99?: Duration;
  /** Track User users per minute of the workspace. @default 10,000 */
  readonly rateLimitPerMinute?: number;
  /** Bulk Import users per minute of the workspace. @default 60,000 */
  readonly bulkRateLimitPerMinute?: number;
  /** MoEngage request timeout. @default the sender's own (10 seconds) */
  readonly moengageTimeout?: Duration;
  /**
   * The MoEngage credentials secret `{"workspaceId": "...", "apiKey": "..."}`: a secret, its
   * name, or its full ARN. @default a new secret with a placeholder value
   */
  readonly moengageSecret?: secretsmanager.ISecret | string;
  /**
   * The signing-secrets secret `{"clerk": "whsec_...", ...}`: a secret, its name, or its full
   * ARN. @default a new secret without any source's secret
   */
  readonly signingSecret?: secretsmanager.ISecret | string;
  /** Per-source options, the `standard` source's mapping, identity resolution. @default {} */
  readonly adapter?: AdapterConfigInput;
  /** Subscribe this address to the alarm topic. */
  readonly alarmEmail?: string;
  /**
   * What happens to the main queue, the DLQ and the state table when they leave the stack (a
   * `cdk destroy`, or a change that replaces them, such as switching `queueType`). RETAIN keeps
   * them, with the events and state they hold, until an operator has drained the queues
   * (`dlq purge --queue main --yes` and `dlq purge --yes` save every message before deleting
   * it) and deletes them by hand. DESTROY deletes them with whatever they hold: drain the
   * queues first (docs/deploy.md, Teardown).
   * @default RemovalPolicy.RETAIN
   */
  readonly queueRemovalPolicy?: RemovalPolicy;
  /**
   * Where this repository's files are browsable (e.g.
   * `https://github.com/acme/moengage-webhook-adapter/blob/v1.2.0`): every alarm description
   * then links to `<runbookBaseUrl>/docs/runbook.md#<alarm id>`, a link that works in an SNS
   * e-mail or a chat message.
   * @default none: the descriptions name the repository path `docs/runbook.md#<alarm id>`
   */
  readonly runbookBaseUrl?: string;
  /** QueueBacklogOld threshold. @default 15 minutes */
  readonly queueAgeAlarmThreshold?: Duration;
  /**
   * The customer-managed KMS key that encrypts the existing secrets (`moengageSecret` /
   * `signingSecret` given as a name or ARN): a key or its key ARN. Each function role gets
   * `kms:Decrypt` on it, only through Secrets Manager and only for its own secret. A secret
   * passed as an `ISecret` with an `encryptionKey` needs nothing here.
   * @default none: the secrets use the AWS managed key aws/secretsmanager
   */
  readonly secretsKmsKey?: kms.IKey | string;
  /**
   * Reserved concurrency of the receiver: at most this many requests run at once, so that a
   * flood of (forged) requests cannot use up the account's concurrency and starve the sender
   * and the account's other functions; requests above it are answered 429 and retried by the
   * providers. Off by default: new accounts may have a concurrency quota as low as 10, and
   * Lambda keeps 100 unreserved, so a reservation can make the deployment fail there.
   * @default none (the receiver uses the account's unreserved concurrency)
   */
  readonly receiverReservedConcurrency?: number;
  /**
   * A per-user state table (DynamoDB) for the sender: event versions, tombstones of deleted
   * users, applied event ids. `false`: no table; the sender delivers statelessly (late or
   * replayed events can overwrite newer data, deletions leave no tombstone, deduplication only
   * within SQS FIFO's 5 minutes).
   * @default true
   */
  readonly stateStore?: boolean;
  /**
   * How long a user's state (and a deleted user's tombstone, and an applied event id) is kept
   * after its last change: the replay and deduplication window. Whole days, 1 to 365.
   * @default Duration.days(7)
   */
  readonly stateRetention?: Duration;
  /** Prefix of the alarm and dashboard names. @default the stack name */
  readonly namePrefix?: string;
  /**
   * The Lambda code (forks: your own bundle exporting `handler` from `index.mjs`, e.g.
   * `lambda.Code.fromAsset(dir)`). @default this package's prebuilt assets/receiver|sender
   */
  readonly code?: { readonly receiver?: lambda.Code; readonly sender?: lambda.Code };
}

interface SecretRef {
  secret: secretsmanager.ISecret;
  /** The ARN (or pattern) a policy must name to allow reading this secret. */
  policyArn: string;
  created: boolean;
}

/** `Resource` of a policy statement for a secret: the exact ARN when known, else the `-??????` suffix pattern. */
function secretPolicyArn(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}

const SECRET_SUFFIX = /-[A-Za-z0-9]{6}$/;

function fail(message: string): never {
  throw new AppConfigError(message);
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) fail(`Invalid configuration ${name}: must be an integer from ${min} to ${max}, not ${value}`);
  return value;
}

export class MoEngageAdapter extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly receiver: lambda.Function;
  readonly sender: lambda.Function;
  readonly moengageSecret: secretsmanager.ISecret;
  readonly signingSecret: secretsmanager.ISecret;
  readonly alarmTopic: sns.Topic;
  readonly alarms: AdapterAlarms;
  /** The per-user state table (absent with `stateStore: false`). */
  readonly stateTable?: dynamodb.Table;
  readonly dashboard: cloudwatch.Dashboard;
  readonly functionUrl?: lambda.FunctionUrl;
  readonly httpApi?: HttpApi;
  readonly customDomain?: DomainName;
  /** The URL providers post to, without a trailing slash (a token until deployment). */
  readonly webhookBaseUrl: string;
  /** `{base}/webhooks/{source}` of each enabled source. */
  readonly webhookUrls: Readonly<Partial<Record<SourceName, string>>>;
  /** The sender event source's maxConcurrency (derived or given). */
  readonly senderMaxConcurrency: number;
  readonly adapterConfig: AdapterConfig;
  readonly queueType: 'fifo' | 'standard';
  readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: MoEngageAdapterProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const namePrefix = props.namePrefix ?? stack.stackName;

    // ----- validation -----------------------------------------------------------------------
    if (props.moengageDc === undefined && props.moengageBaseUrl === undefined) {
      fail(`Missing context moengageDc: pass -c moengageDc=01 (one of ${DATA_CENTERS.join(', ')})`);
    }
    if (props.moengageDc !== undefined && !(DATA_CENTERS as readonly string[]).includes(props.moengageDc)) {
      fail(`Invalid context moengageDc "${String(props.moengageDc)}": pass -c moengageDc=01 (one of ${DATA_CENTERS.join(', ')})`);
    }
    if (props.moengageBaseUrl !== undefined) {
      try {
        resolveBaseUrl({ baseUrl: props.moengageBaseUrl });
      } catch (err) {
        fail(`Invalid configuration moengageBaseUrl: ${(err as Error).message.replace(/^MOENGAGE_BASE_URL /, '')}`);
      }
    }
    const parsedAdapter = adapterConfigSchema.safeParse(props.adapter ?? {});
    if (!parsedAdapter.success) fail(formatIssues(parsedAdapter.error, 'adapter', adapterConfigSchema).split('\n').map((l) => `Invalid configuration ${l}`).join('\n'));
    this.adapterConfig = parsedAdapter.data;
    const idProblems = customerIdFieldProblems(this.adapterConfig, 'adapter');
    if (idProblems.length > 0) fail(idProblems.map((l) => `Invalid configuration ${l}`).join('\n'));

    const deliveryMode = props.deliveryMode ?? 'customer';
    const queueType = (this.queueType = props.queueType ?? defaultQueueType(deliveryMode));
    const fifo = queueType === 'fifo';
    const maxReceiveCount = (this.maxReceiveCount = checkInt('maxReceiveCount', props.maxReceiveCount ?? 5, 2, 1000));
    const batchSize = checkInt('batchSize', props.batchSize ?? defaultBatchSize(deliveryMode, queueType), 1, fifo ? 10 : 10_000);
    const batchingWindow = fifo ? undefined : (props.maxBatchingWindow ?? Duration.seconds(1));
    if (fifo && props.maxBatchingWindow !== undefined && props.maxBatchingWindow.toSeconds() > 0) {
      fail('Invalid configuration maxBatchingWindowSeconds: a FIFO event source has no batching window: use queueType "standard"');
    }
    if (batchingWindow !== undefined) checkInt('maxBatchingWindowSeconds', batchingWindow.toSeconds(), batchSize > 10 ? 1 : 0, 300);
    const parallelism = checkInt('senderParallelism', props.senderParallelism ?? Math.min(batchSize, 64), 1, 64);
    const receiverTimeout = props.receiverTimeout ?? Duration.seconds(10);
    const senderTimeout = props.senderTimeout ?? Duration.seconds(60);
    checkInt('receiverTimeoutSeconds', receiverTimeout.toSeconds(), 1, 60);
    checkInt('senderTimeoutSeconds', senderTimeout.toSeconds(), 5, 900);
    // The sender makes a MoEngage call only when a whole request timeout (+ 1 s) still fits in
    // the invocation: a sender timeout at most that long could never call MoEngage.
    const moengageTimeoutMs = props.moengageTimeout?.toMilliseconds() ?? 10_000;
    if (moengageTimeoutMs + 1_000 >= senderTimeout.toMilliseconds()) {
      fail(
        `Invalid configuration senderTimeoutSeconds / moengageTimeoutMs: the sender timeout (${senderTimeout.toSeconds()} s) must be longer than the MoEngage request timeout (${moengageTimeoutMs} ms) + 1 s`,
      );
    }
    const rateLimit = checkInt('rateLimitPerMinute', props.rateLimitPerMinute ?? TRACK_USER_LIMIT_PER_MINUTE, 1, 10_000_000);
    const bulkRateLimit = checkInt('bulkRateLimitPerMinute', props.bulkRateLimitPerMinute ?? BULK_IMPORT_LIMIT_PER_MINUTE, 1, 10_000_000);
    const latencyMs = (props.expectedMoEngageLatency ?? Duration.millis(300)).toMilliseconds();
    const latencyP99Ms = (props.expectedMoEngageLatencyP99 ?? Duration.millis(Math.max(1500, latencyMs))).toMilliseconds();
    if (latencyP99Ms < latencyMs) fail('Invalid configuration expectedMoEngageLatencyP99Ms: the p99 must be at least the median (expectedMoEngageLatencyMs)');
    const senderMemoryMb = checkInt('senderMemoryMb', props.senderMemorySize ?? defaultSenderMemoryMb(deliveryMode), 128, 10_240);
    this.senderMaxConcurrency =
      props.senderMaxConcurrency !== undefined
        ? checkInt('senderMaxConcurrency', props.senderMaxConcurrency, MIN_SENDER_CONCURRENCY, MAX_SENDER_CONCURRENCY)
        : deliveryMode === 'bulk'
          ? // One Bulk Import request carries the whole batch (≤ 100,000 bytes), one request per invocation.
            deriveSenderConcurrency({ limitPerMinute: bulkRateLimit, latencyMs, latencyP99Ms, parallelism: 1, usersPerRequest: batchSize, requestsPerInvocation: 1, memoryMb: senderMemoryMb })
          : // One Track User request per message, `parallelism` at a time.
            deriveSenderConcurrency({ limitPerMinute: rateLimit, latencyMs, latencyP99Ms, parallelism, usersPerRequest: 1, requestsPerInvocation: batchSize, memoryMb: senderMemoryMb });
    const ingress: IngressOptions = props.ingress ?? { type: 'functionUrl' };
    if (ingress.type === 'httpApi' && receiverTimeout.toSeconds() > 29) {
      fail('Invalid configuration receiverTimeoutSeconds: API Gateway waits at most 29 seconds for the receiver: use at most 29 with the httpApi ingress');
    }
    if (maxReceiveCount < RECOMMENDED_MIN_RECEIVE_COUNT) {
      Annotations.of(this).addWarningV2(
        'moengage-adapter:maxReceiveCount',
        `maxReceiveCount ${maxReceiveCount} is below ${RECOMMENDED_MIN_RECEIVE_COUNT}, the minimum AWS recommends for a Lambda SQS source: a throttled or briefly failing sender can move messages to the DLQ before they had a fair chance`,
      );
    }
    const reservedConcurrency =
      props.receiverReservedConcurrency !== undefined ? checkInt('receiverReservedConcurrency', props.receiverReservedConcurrency, 1, 100_000) : undefined;
    const stateStore = props.stateStore ?? true;
    if (!stateStore && props.stateRetention !== undefined) {
      fail('Invalid configuration stateRetentionDays: there is no state to keep with stateStore false: drop stateRetentionDays or set stateStore true');
    }
    const stateRetentionDays = checkInt('stateRetentionDays', (props.stateRetention ?? Duration.days(7)).toHours() / 24, 1, 365);
    if (!stateStore) {
      const deleting = SOURCE_NAMES.filter((s) => sourceOptions(this.adapterConfig, s).enabled && sourceOptions(this.adapterConfig, s).deleteUsers);
      if (deleting.length > 0) {
        Annotations.of(this).addWarningV2(
          'moengage-adapter:deleteUsersWithoutState',
          `deleteUsers is on for ${deleting.join(', ')} but stateStore is false: without tombstones a late or retried older event re-creates a deleted user in MoEngage`,
        );
      }
    }
    if (typeof props.secretsKmsKey === 'string' && !KMS_KEY_ARN.test(props.secretsKmsKey)) {
      fail(
        `Invalid configuration existingSecretsKmsKeyArn: pass the key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY_ID, from aws kms describe-key --key-id alias/NAME), not "${props.secretsKmsKey.slice(0, 80)}"`,
      );
    }
    if (props.secretsKmsKey !== undefined && props.moengageSecret === undefined && props.signingSecret === undefined) {
      fail(
        'Invalid configuration existingSecretsKmsKeyArn: the secrets this stack creates use the AWS managed key aws/secretsmanager: pass it only with existingMoEngageSecret or existingSigningSecret',
      );
    }
    const runbookBaseUrl = props.runbookBaseUrl === undefined ? undefined : checkRunbookBaseUrl(props.runbookBaseUrl, stack.stackName);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const logLevel = props.logLevel ?? 'INFO';

    // ----- secrets --------------------------------------------------------------------------
    const moengage = this.secretRef('MoEngageSecret', props.moengageSecret, () =>
      new secretsmanager.Secret(this, 'MoEngageSecret', {
        description: `${namePrefix}: MoEngage Data API credentials, JSON {"workspaceId": "...", "apiKey": "..."}. Replace the placeholder with put-secret-value.`,
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ workspaceId: 'REPLACE_WITH_WORKSPACE_ID' }),
          generateStringKey: 'apiKey',
          excludePunctuation: true,
          passwordLength: 32,
        },
      }),
    );
    const signing = this.secretRef('SigningSecret', props.signingSecret, () =>
      new secretsmanager.Secret(this, 'SigningSecret', {
        description: `${namePrefix}: webhook signing secrets, JSON {"clerk": "whsec_...", "stripe": "whsec_...", ...}. No source is accepted until its secret is put here.`,
        // A JSON object without any source's key: every source answers 503 until configured.
        generateSecretString: {
          secretStringTemplate: '{}',
          generateStringKey: '_placeholder',
          excludePunctuation: true,
          passwordLength: 32,
        },
      }),
    );
    this.moengageSecret = moengage.secret;
    this.signingSecret = signing.secret;
    for (const ref of [moengage, signing]) {
      if (ref.created) acknowledge(ref.secret, 'AwsSolutions-SMG4', NAG_REASONS.secretRotation);
    }

    // ----- queues ---------------------------------------------------------------------------
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...(fifo ? { fifo: true, contentBasedDeduplication: true } : {}),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // At least as long as the main queue's: with a standard queue a message keeps its
      // original enqueue time when the redrive policy moves it here.
      retentionPeriod: QUEUE_RETENTION,
      removalPolicy: props.queueRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    // AWS: visibility timeout ≥ 6 × the function timeout (+ the batching window), so that a
    // message is not redelivered while an invocation that throttled and retried still holds it.
    const visibilitySeconds = 6 * senderTimeout.toSeconds() + (batchingWindow?.toSeconds() ?? 0);
    this.queue = new sqs.Queue(this, 'Queue', {
      ...(fifo
        ? {
            fifo: true,
            contentBasedDeduplication: false,
            deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
            fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
          }
        : {}),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(visibilitySeconds),
      // The longest SQS allows: messages outlive an event source that is disabled or throttled
      // for days, instead of expiring without ever reaching the DLQ.
      retentionPeriod: QUEUE_RETENTION,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      removalPolicy: props.queueRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    // ----- functions ------------------------------------------------------------------------
    const common = {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: LAMBDA_HANDLER,
      ...(props.tracing ? { tracing: lambda.Tracing.ACTIVE } : {}),
    };
    const powertools = (service: string) => ({
      POWERTOOLS_SERVICE_NAME: service,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: logLevel,
      // No NODE_OPTIONS=--enable-source-maps: it parses the source map on every cold start; the
      // bundles map their stacks lazily instead (functions/shared/lazy-source-maps.ts).
    });

    const receiverLogs = new logs.LogGroup(this, 'ReceiverLogs', { retention, removalPolicy: RemovalPolicy.DESTROY });
    const receiverRole = this.functionRole('ReceiverRole', receiverLogs);
    receiverRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'EnqueueWebhooks', actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
    receiverRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ReadSigningSecrets', actions: ['secretsmanager:GetSecretValue'], resources: [signing.policyArn] }),
    );
    this.grantSecretKey(receiverRole, 'DecryptSigningSecrets', signing, props.secretsKmsKey);

    // The public URL is known before the function only for a configured URL, a custom domain or
    // an HTTP API; a Function URL's own address would be a circular reference, and the receiver
    // then uses the request's Host.
    const customDomain = ingress.type === 'httpApi' ? ingress.customDomain : undefined;
    let httpApi: HttpApi | undefined;
    if (ingress.type === 'httpApi') {
      httpApi = new HttpApi(this, 'HttpApi', {
        apiName: `${namePrefix}-webhooks`,
        description: 'MoEngage webhook adapter: POST /webhooks/{source}',
        createDefaultStage: false,
        // With a custom domain, providers are pointed at it only.
        disableExecuteApiEndpoint: customDomain !== undefined,
      });
    }
    const derivedBaseUrl =
      props.publicBaseUrl?.replace(/\/+$/, '') ??
      (customDomain ? `https://${customDomain.domainName}` : httpApi ? httpApi.apiEndpoint : undefined);

    const receiverEnv: Record<string, string> = {
      [ENV.queueUrl]: this.queue.queueUrl,
      [ENV.queueType]: queueType,
      [ENV.signingSecretsArn]: signing.secret.secretArn,
      [ENV.adapterConfigJson]: JSON.stringify(this.adapterConfig),
      ...powertools(RECEIVER_SERVICE),
    };
    checkEnvironmentSize('receiver', receiverEnv);
    this.receiver = new lambda.Function(this, 'Receiver', {
      ...common,
      code: props.code?.receiver ?? adapterLambdaCode('receiver'),
      description: 'MoEngage adapter: verifies provider webhooks and enqueues MoEngage user updates',
      memorySize: checkInt('receiverMemoryMb', props.receiverMemorySize ?? 256, 128, 10_240),
      timeout: receiverTimeout,
      ...(reservedConcurrency !== undefined ? { reservedConcurrentExecutions: reservedConcurrency } : {}),
      role: receiverRole,
      logGroup: receiverLogs,
      environment: receiverEnv,
    });

    const senderLogs = new logs.LogGroup(this, 'SenderLogs', { retention, removalPolicy: RemovalPolicy.DESTROY });
    const senderRole = this.functionRole('SenderRole', senderLogs);
    senderRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ParkInDeadLetterQueue', actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
    );
    senderRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ReadMoEngageCredentials', actions: ['secretsmanager:GetSecretValue'], resources: [moengage.policyArn] }),
    );
    this.grantSecretKey(senderRole, 'DecryptMoEngageCredentials', moengage, props.secretsKmsKey);
    if (stateStore) {
      // On-demand, AWS owned key (like the queues' SQS-managed SSE: no key to grant, no KMS
      // request charges or quota), point-in-time recovery, items expire through TTL.
      this.stateTable = new dynamodb.Table(this, 'StateTable', {
        partitionKey: { name: STATE_TABLE_KEY, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.DEFAULT,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: STATE_TABLE_TTL_ATTRIBUTE,
        removalPolicy: props.queueRemovalPolicy ?? RemovalPolicy.RETAIN,
      });
      senderRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadWriteUserState',
          actions: STATE_TABLE_OPERATIONS.map((op) => `dynamodb:${op}`),
          resources: [this.stateTable.tableArn],
        }),
      );
      if (queueType === 'fifo') {
        // A failing message leaves its user's line as a copy in a group of its own (deliver.ts, retryLater).
        senderRole.addToPrincipalPolicy(
          new iam.PolicyStatement({ sid: 'RequeueRetriesOutOfLine', actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
        );
      }
    }
    const senderEnv: Record<string, string> = {
      [ENV.queueUrl]: this.queue.queueUrl,
      [ENV.dlqUrl]: this.deadLetterQueue.queueUrl,
      [ENV.queueType]: queueType,
      [ENV.moengageSecretArn]: moengage.secret.secretArn,
      ...(props.moengageDc ? { [ENV.moengageDc]: props.moengageDc } : {}),
      ...(props.moengageBaseUrl ? { [ENV.moengageBaseUrl]: props.moengageBaseUrl } : {}),
      [ENV.deliveryMode]: deliveryMode,
      [ENV.maxReceiveCount]: String(maxReceiveCount),
      [ENV.senderParallelism]: String(parallelism),
      [ENV.rateLimitPerMinute]: String(rateLimit),
      [ENV.bulkRateLimitPerMinute]: String(bulkRateLimit),
      [ENV.senderMaxConcurrency]: String(this.senderMaxConcurrency),
      ...(props.moengageTimeout ? { [ENV.moengageTimeoutMs]: String(props.moengageTimeout.toMilliseconds()) } : {}),
      ...(this.stateTable ? { [ENV.stateTable]: this.stateTable.tableName, [ENV.stateRetentionDays]: String(stateRetentionDays) } : {}),
      ...powertools(SENDER_SERVICE),
    };
    checkEnvironmentSize('sender', senderEnv);
    this.sender = new lambda.Function(this, 'Sender', {
      ...common,
      code: props.code?.sender ?? adapterLambdaCode('sender'),
      description: 'MoEngage adapter: delivers queued user updates to MoEngage, parks failures in the DLQ',
      memorySize: senderMemoryMb,
      timeout: senderTimeout,
      role: senderRole,
      logGroup: senderLogs,
      environment: senderEnv,
    });
    // The event source grants Receive/Delete/ChangeMessageVisibility/GetQueueAttributes on the
    // main queue: the sender also changes visibility itself to back off redeliveries.
    this.sender.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: this.senderMaxConcurrency,
        ...(batchingWindow ? { maxBatchingWindow: batchingWindow } : {}),
      }),
    );
    if (props.tracing) {
      for (const role of [receiverRole, senderRole]) acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', NAG_REASONS.xray);
    }

    // ----- ingress --------------------------------------------------------------------------
    let apiMetrics: ConstructorParameters<typeof AdapterObservability>[2]['apiMetrics'];
    if (httpApi && ingress.type === 'httpApi') {
      this.httpApi = httpApi;
      const integration = new HttpLambdaIntegration('ReceiverIntegration', this.receiver);
      const routes = [
        ...httpApi.addRoutes({ path: '/webhooks/{source}', methods: [HttpMethod.ANY], integration }),
        ...httpApi.addRoutes({ path: '/healthz', methods: [HttpMethod.GET], integration }),
      ];
      for (const route of routes) acknowledge(route, 'AwsSolutions-APIG4', NAG_REASONS.signatureAuth);
      const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention, removalPolicy: RemovalPolicy.DESTROY });
      if (customDomain) {
        this.customDomain = new DomainName(this, 'CustomDomain', {
          domainName: customDomain.domainName,
          certificate: Certificate.fromCertificateArn(this, 'Certificate', customDomain.certificateArn),
        });
      }
      const throttling = ingress.throttling ?? { rateLimit: 500, burstLimit: 1000 };
      new HttpStage(this, 'Stage', {
        httpApi,
        stageName: '$default',
        autoDeploy: true,
        throttle: { rateLimit: throttling.rateLimit, burstLimit: throttling.burstLimit },
        accessLogSettings: {
          destination: new LogGroupLogDestination(accessLogs),
          format: AccessLogFormat.custom(
            JSON.stringify({
              requestId: '$context.requestId',
              requestTime: '$context.requestTime',
              routeKey: '$context.routeKey',
              path: '$context.path',
              status: '$context.status',
              responseLength: '$context.responseLength',
              responseLatency: '$context.responseLatency',
              integrationError: '$context.integrationErrorMessage',
              sourceIp: '$context.identity.sourceIp',
            }),
          ),
        },
        ...(this.customDomain ? { domainMapping: { domainName: this.customDomain } } : {}),
      });
      apiMetrics = {
        count: httpApi.metricCount({ period: Duration.minutes(5), statistic: 'Sum', label: 'Requests' }),
        clientErrors: httpApi.metricClientError({ period: Duration.minutes(5), statistic: 'Sum', label: '4xx' }),
        serverErrors: httpApi.metricServerError({ period: Duration.minutes(5), statistic: 'Sum', label: '5xx' }),
      };
      this.webhookBaseUrl = derivedBaseUrl ?? httpApi.apiEndpoint;
    } else {
      // Requests are authenticated by each provider's signature, inside the receiver.
      this.functionUrl = this.receiver.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
      // The Function URL ends with "/": drop it so that every base URL has the same shape.
      this.webhookBaseUrl =
        derivedBaseUrl ?? Fn.join('', ['https://', Fn.select(2, Fn.split('/', this.functionUrl.url))]);
    }

    this.webhookUrls = Object.fromEntries(
      SOURCE_NAMES.filter((s) => sourceOptions(this.adapterConfig, s).enabled).map((s) => [s, `${this.webhookBaseUrl}/webhooks/${s}`]),
    );

    // ----- alarms and dashboard -------------------------------------------------------------
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: alarmTopicDisplayName(namePrefix),
      enforceSSL: true,
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));

    const observability = new AdapterObservability(this, 'Observability', {
      namePrefix,
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      receiver: this.receiver,
      sender: this.sender,
      topic: this.alarmTopic,
      queueAgeThreshold: props.queueAgeAlarmThreshold ?? Duration.minutes(15),
      ...(runbookBaseUrl ? { runbookBaseUrl } : {}),
      ...(apiMetrics ? { apiMetrics } : {}),
      ...(this.stateTable ? { stateTable: this.stateTable } : {}),
    });
    this.alarms = observability.alarms;
    this.dashboard = observability.dashboard;
  }

  /** The console URL of the dashboard. */
  get dashboardUrl(): string {
    const region = Stack.of(this).region;
    return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.dashboard.dashboardName}`;
  }

  /**
   * kms:Decrypt for an existing secret encrypted with a customer-managed key: the secret's own
   * key (an ISecret with encryptionKey) or `secretsKmsKey`; only through Secrets Manager and
   * only for that secret (Secrets Manager passes the secret's ARN as encryption context).
   */
  private grantSecretKey(role: iam.Role, sid: string, ref: SecretRef, secretsKmsKey: kms.IKey | string | undefined): void {
    if (ref.created) return;
    const key = ref.secret.encryptionKey ?? secretsKmsKey;
    if (key === undefined) return;
    const keyArn = typeof key === 'string' ? key : key.keyArn;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid,
        actions: ['kms:Decrypt'],
        resources: [keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` },
          StringLike: { 'kms:EncryptionContext:SecretARN': ref.policyArn },
        },
      }),
    );
  }

  /** A role with nothing but writing to its own log group; the rest is added statement by statement. */
  private functionRole(id: string, logGroup: logs.LogGroup): iam.Role {
    const role = new iam.Role(this, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    return role;
  }

  private secretRef(id: string, given: secretsmanager.ISecret | string | undefined, create: () => secretsmanager.Secret): SecretRef {
    if (given === undefined) {
      const secret = create();
      return { secret, policyArn: secret.secretArn, created: true };
    }
    let secret: secretsmanager.ISecret;
    if (typeof given !== 'string') secret = given;
    else if (given.startsWith('arn:')) {
      const name = given.split(':secret:')[1] ?? '';
      secret = SECRET_SUFFIX.test(name)
        ? secretsmanager.Secret.fromSecretCompleteArn(this, id, given)
        : secretsmanager.Secret.fromSecretPartialArn(this, id, given);
    } else secret = secretsmanager.Secret.fromSecretNameV2(this, id, given);
    return { secret, policyArn: secretPolicyArn(secret), created: false };
  }
}

/** The alarm topic's display name, `<prefix> alarms`, within SNS's 100 characters (stack names may have 100). */
export function alarmTopicDisplayName(namePrefix: string): string {
  const suffix = ' alarms';
  return namePrefix.length + suffix.length <= SNS_DISPLAY_NAME_MAX ? `${namePrefix}${suffix}` : `${namePrefix.slice(0, SNS_DISPLAY_NAME_MAX - suffix.length)}${suffix}`;
}

/** An http(s) URL without credentials, query or fragment, short enough for every alarm description to fit CloudWatch's limit. */
function checkRunbookBaseUrl(value: string, stackName: string): string {
  const trimmed = value.trim().replace(/\/+$/, '');
  let url: URL | undefined;
  try {
    url = new URL(trimmed);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.search || url.hash) {
    fail('Invalid configuration runbookBaseUrl: must be an http(s) URL without credentials, query or fragment, e.g. https://github.com/acme/moengage-webhook-adapter/blob/main');
  }
  const longest = Math.max(...ALARMS.map((spec) => alarmDescription(spec, trimmed, Token.isUnresolved(stackName) ? 'x'.repeat(128) : stackName).length));
  if (longest > ALARM_DESCRIPTION_LIMIT) {
    fail(`Invalid configuration runbookBaseUrl: too long, an alarm description would be ${longest} characters (CloudWatch allows ${ALARM_DESCRIPTION_LIMIT})`);
  }
  return trimmed;
}

/** Fails synth when a function's environment would exceed Lambda's 4 KB (mostly: a large `adapter` mapping). */
function checkEnvironmentSize(fn: string, env: Record<string, string>): void {
  let size = 0;
  for (const [k, v] of Object.entries(env)) size += k.length + (Token.isUnresolved(v) ? TOKEN_SIZE_ESTIMATE : Buffer.byteLength(v, 'utf8'));
  if (size > LAMBDA_ENV_LIMIT_BYTES) {
    const adapterJson = env[ENV.adapterConfigJson];
    const adapterBytes = adapterJson ? Buffer.byteLength(adapterJson, 'utf8') : 0;
    fail(
      `Invalid configuration adapter: the ${fn} environment would be about ${size} bytes (the adapter configuration is ${adapterBytes}); Lambda allows ${LAMBDA_ENV_LIMIT_BYTES} in total: shorten the mapping`,
    );
  }
}
