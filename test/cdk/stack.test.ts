/**
 * The default deployment (`cdk synth -c moengageDc=01`): one synthesis shared by every assertion.
 */
import { join } from 'node:path';
import { FileSystem } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SOURCE_NAMES } from '../../functions/core/config';
import { ENV, METRIC, METRICS_NAMESPACE } from '../../functions/core/names';
import { OUTPUT_KEYS, webhookOutputKey } from '../../lib/adapter-stack';
import { ASSETS_DIR } from '../../lib/moengage-adapter';
import { ALARMS, alarmIdsFor, RECEIVER_SERVICE, SENDER_SERVICE } from '../../lib/observability';
import { actionsOf, policyStatements, resource, resourcesOf, resourcesOfType, synthAdapter, type Synthesized } from './synth';

let s: Synthesized;
let queue: { id: string; props: Record<string, any> };
let dlq: { id: string; props: Record<string, any> };
let receiver: { id: string; props: Record<string, any> };
let sender: { id: string; props: Record<string, any> };
let table: { id: string; props: Record<string, any> };

beforeAll(() => {
  s = synthAdapter();
  queue = resource(s, 'AWS::SQS::Queue', 'AdapterQueue');
  dlq = resource(s, 'AWS::SQS::Queue', 'AdapterDeadLetterQueue');
  receiver = resource(s, 'AWS::Lambda::Function', 'AdapterReceiver');
  sender = resource(s, 'AWS::Lambda::Function', 'AdapterSender');
  table = resource(s, 'AWS::DynamoDB::Table', 'AdapterStateTable');
});

const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

describe('queues', () => {
  it('main queue: high-throughput FIFO without content-based deduplication', () => {
    expect(queue.props).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
    });
  });

  it('both queues use SQS-managed SSE', () => {
    expect(queue.props.SqsManagedSseEnabled).toBe(true);
    expect(dlq.props.SqsManagedSseEnabled).toBe(true);
    expect(queue.props.KmsMasterKeyId).toBeUndefined();
  });

  it('both queues keep messages 14 days (the SQS maximum): the DLQ at least as long as the main queue', () => {
    expect(dlq.props.FifoQueue).toBe(true);
    expect(queue.props.MessageRetentionPeriod).toBe(14 * 86_400);
    expect(dlq.props.MessageRetentionPeriod).toBe(14 * 86_400);
    expect(dlq.props.MessageRetentionPeriod).toBeGreaterThanOrEqual(queue.props.MessageRetentionPeriod);
  });

  it('both queues are retained when they leave the stack (no silent loss of queued events)', () => {
    const queues = s.template.findResources('AWS::SQS::Queue');
    expect(Object.values(queues).map((q) => (q as { DeletionPolicy?: string }).DeletionPolicy)).toEqual(['Retain', 'Retain']);
  });

  it('visibility timeout is at least 6 × the sender timeout', () => {
    expect(sender.props.Timeout).toBe(60);
    expect(queue.props.VisibilityTimeout).toBeGreaterThanOrEqual(6 * sender.props.Timeout);
  });

  it('redrive policy targets the DLQ with maxReceiveCount 5', () => {
    expect(queue.props.RedrivePolicy).toEqual({ deadLetterTargetArn: arnOf(dlq.id), maxReceiveCount: 5 });
  });

  it('both queues refuse requests without TLS', () => {
    for (const q of [queue, dlq]) {
      s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(q.id)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });
});

describe('functions', () => {
  it('both run Node.js 24 on arm64 with their own log group (1 month)', () => {
    for (const fn of [receiver, sender]) {
      expect(fn.props.Runtime).toBe('nodejs24.x');
      expect(fn.props.Architectures).toEqual(['arm64']);
      expect(fn.props.Handler).toBe('index.handler');
      const logGroupId = (fn.props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(s.json.Resources[logGroupId]?.Type).toBe('AWS::Logs::LogGroup');
      expect(s.json.Resources[logGroupId]?.Properties?.RetentionInDays).toBe(30);
    }
  });

  it('memory and timeouts: receiver 256 MB / 10 s, sender 128 MB (customer mode) / 60 s', () => {
    expect(receiver.props).toMatchObject({ MemorySize: 256, Timeout: 10 });
    expect(sender.props).toMatchObject({ MemorySize: 128, Timeout: 60 });
  });

  it('the receiver has no reserved concurrency by default', () => {
    expect(receiver.props.ReservedConcurrentExecutions).toBeUndefined();
    expect(sender.props.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('tracing is off by default', () => {
    expect(receiver.props.TracingConfig).toBeUndefined();
    expect(sender.props.TracingConfig).toBeUndefined();
  });

  it('receiver: a Function URL without IAM auth and without CORS', () => {
    const urls = resourcesOfType(s, 'AWS::Lambda::Url');
    expect(urls).toHaveLength(1);
    expect(urls[0]![1]).toEqual({ AuthType: 'NONE', TargetFunctionArn: arnOf(receiver.id) });
    expect(resourcesOfType(s, 'AWS::ApiGatewayV2::Api')).toHaveLength(0);
  });

  it('receiver: the public Function URL grants both lambda:InvokeFunctionUrl and lambda:InvokeFunction (required since October 2025)', () => {
    const permissions = resourcesOfType(s, 'AWS::Lambda::Permission')
      .map(([, p]) => p)
      .filter((p) => JSON.stringify(p.FunctionName) === JSON.stringify(arnOf(receiver.id)));
    expect(permissions).toEqual(
      expect.arrayContaining([
        { Action: 'lambda:InvokeFunctionUrl', FunctionName: arnOf(receiver.id), FunctionUrlAuthType: 'NONE', Principal: '*' },
        { Action: 'lambda:InvokeFunction', FunctionName: arnOf(receiver.id), InvokedViaFunctionUrl: true, Principal: '*' },
      ]),
    );
    expect(permissions).toHaveLength(2);
  });

  it('code: the prebuilt bundles of assets/ (what `npm run build` ships), no bundling at synth', () => {
    for (const [fn, name] of [
      [receiver, 'receiver'],
      [sender, 'sender'],
    ] as const) {
      const hash = FileSystem.fingerprint(join(ASSETS_DIR, name));
      expect(fn.props.Code).toMatchObject({ S3Key: `${hash}.zip` });
    }
  });

  it('no NODE_OPTIONS: the bundles map their stacks lazily, not at every cold start', () => {
    for (const fn of [receiver, sender]) expect(Object.keys(fn.props.Environment.Variables)).not.toContain('NODE_OPTIONS');
  });

  it('sender: SQS event source with partial batch responses and derived maxConcurrency', () => {
    const esm = resource(s, 'AWS::Lambda::EventSourceMapping', 'AdapterSender');
    expect(esm.props).toMatchObject({
      EventSourceArn: arnOf(queue.id),
      FunctionName: ref(sender.id),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 31 },
    });
    // FIFO event sources have no batching window.
    expect(esm.props.MaximumBatchingWindowInSeconds).toBeUndefined();
  });
});

describe('environment', () => {
  const env = (fn: { props: Record<string, any> }) => fn.props.Environment.Variables as Record<string, unknown>;

  it('receiver: queue, secret ARN, adapter config, Powertools', () => {
    const secret = resource(s, 'AWS::SecretsManager::Secret', 'AdapterSigningSecret');
    expect(env(receiver)).toEqual({
      [ENV.queueUrl]: ref(queue.id),
      [ENV.queueType]: 'fifo',
      [ENV.signingSecretsArn]: ref(secret.id),
      [ENV.adapterConfigJson]: '{"sources":{}}',
      POWERTOOLS_SERVICE_NAME: RECEIVER_SERVICE,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
  });

  it('sender: queues, secret ARN, data center, limits, concurrency', () => {
    const secret = resource(s, 'AWS::SecretsManager::Secret', 'AdapterMoEngageSecret');
    expect(env(sender)).toEqual({
      [ENV.queueUrl]: ref(queue.id),
      [ENV.dlqUrl]: ref(dlq.id),
      [ENV.queueType]: 'fifo',
      [ENV.moengageSecretArn]: ref(secret.id),
      [ENV.moengageDc]: '01',
      [ENV.deliveryMode]: 'customer',
      [ENV.maxReceiveCount]: '5',
      [ENV.senderParallelism]: '10',
      [ENV.rateLimitPerMinute]: '10000',
      [ENV.bulkRateLimitPerMinute]: '60000',
      [ENV.senderMaxConcurrency]: '31',
      [ENV.stateTable]: ref(table.id),
      [ENV.stateRetentionDays]: '7',
      POWERTOOLS_SERVICE_NAME: SENDER_SERVICE,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
  });

  it('secrets are generated by Secrets Manager: no value in the template', () => {
    const secrets = resourcesOfType(s, 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(2);
    for (const [, props] of secrets) {
      expect(props.SecretString).toBeUndefined();
      expect(props.GenerateSecretString).toBeDefined();
    }
    const moengage = resource(s, 'AWS::SecretsManager::Secret', 'AdapterMoEngageSecret');
    expect(moengage.props.GenerateSecretString).toMatchObject({
      SecretStringTemplate: '{"workspaceId":"REPLACE_WITH_WORKSPACE_ID"}',
      GenerateStringKey: 'apiKey',
    });
    // Every secret reaches a function only as a reference to its ARN.
    const all = JSON.stringify([env(receiver), env(sender)]);
    expect(all).not.toMatch(/apiKey|whsec_|SecretString/);
  });
});

describe('IAM: least privilege', () => {
  it('the roles have no managed policies', () => {
    for (const [, role] of resourcesOfType(s, 'AWS::IAM::Role')) expect(role.ManagedPolicyArns).toBeUndefined();
  });

  it('no statement allows every resource', () => {
    for (const st of policyStatements(s)) expect(resourcesOf(st)).not.toContain('*');
  });

  it('no wildcard actions', () => {
    for (const st of policyStatements(s)) for (const a of actionsOf(st)) expect(a).not.toContain('*');
  });

  it('receiver: its logs, SendMessage on the main queue, GetSecretValue on the signing secret', () => {
    const secret = resource(s, 'AWS::SecretsManager::Secret', 'AdapterSigningSecret');
    const logGroup = (receiver.props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    const statements = policyStatements(s).filter((st) => st.policy.startsWith('AdapterReceiverRole'));
    expect(statements.map(({ Action, Resource }) => ({ Action, Resource }))).toEqual([
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: arnOf(logGroup) },
      { Action: 'sqs:SendMessage', Resource: arnOf(queue.id) },
      { Action: 'secretsmanager:GetSecretValue', Resource: ref(secret.id) },
    ]);
  });

  it('sender: consume the main queue (and requeue retries into it), SendMessage on the DLQ, GetSecretValue on the MoEngage secret', () => {
    const secret = resource(s, 'AWS::SecretsManager::Secret', 'AdapterMoEngageSecret');
    const statements = policyStatements(s).filter((st) => st.policy.startsWith('AdapterSenderRole'));
    const byResource = new Map<string, string[]>();
    for (const st of statements) {
      for (const r of resourcesOf(st)) byResource.set(JSON.stringify(r), [...(byResource.get(JSON.stringify(r)) ?? []), ...actionsOf(st)]);
    }
    // SendMessage on the main queue: a failing message leaves its user's FIFO line as a copy in a group of its own.
    expect(byResource.get(JSON.stringify(arnOf(queue.id)))?.sort()).toEqual(
      ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage', 'sqs:SendMessage'].sort(),
    );
    expect(byResource.get(JSON.stringify(arnOf(dlq.id)))).toEqual(['sqs:SendMessage']);
    expect(byResource.get(JSON.stringify(ref(secret.id)))).toEqual(['secretsmanager:GetSecretValue']);
    expect(byResource.get(JSON.stringify(arnOf(table.id)))).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(byResource.size).toBe(5); // the four above and its log group
  });
});

describe('per-user state table', () => {
  it('on-demand, partition key pk (String) only, TTL on ttl, point-in-time recovery', () => {
    expect(table.props).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    expect(table.props.ProvisionedThroughput).toBeUndefined();
    expect(table.props.GlobalSecondaryIndexes).toBeUndefined();
    expect(table.props.StreamSpecification).toBeUndefined();
  });

  it('encrypted at rest with the AWS owned key (SSEEnabled false selects it; no KMS key to grant)', () => {
    expect(table.props.SSESpecification).toEqual({ SSEEnabled: false });
  });

  it('retained when it leaves the stack, like the queues', () => {
    const t = s.template.findResources('AWS::DynamoDB::Table');
    expect(Object.values(t).map((r) => (r as { DeletionPolicy?: string; UpdateReplacePolicy?: string }).DeletionPolicy)).toEqual(['Retain']);
    expect((t[table.id] as { UpdateReplacePolicy?: string }).UpdateReplacePolicy).toBe('Retain');
  });

  it('only the sender may use it, with exactly BatchGetItem, GetItem, PutItem, UpdateItem on that table', () => {
    const onTable = policyStatements(s).filter((st) => JSON.stringify(st.Resource).includes(table.id));
    expect(onTable).toHaveLength(1);
    expect(onTable[0]!.policy.startsWith('AdapterSenderRole')).toBe(true);
    expect(onTable[0]!.Resource).toEqual(arnOf(table.id));
    expect(actionsOf(onTable[0]!)).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    for (const st of policyStatements(s)) for (const a of actionsOf(st)) if (a.startsWith('dynamodb:')) expect(st.policy.startsWith('AdapterSenderRole')).toBe(true);
    const receiverEnv = JSON.stringify(receiver.props.Environment.Variables);
    expect(receiverEnv).not.toContain(table.id);
    expect(receiverEnv).not.toContain(ENV.stateTable);
  });

  it('StateTableName output', () => {
    expect(s.json.Outputs?.[OUTPUT_KEYS.stateTableName]?.Value).toEqual(ref(table.id));
  });
});

describe('alarms', () => {
  const alarms = () => resourcesOfType(s, 'AWS::CloudWatch::Alarm').map(([, a]) => a);
  const created = alarmIdsFor({ httpApi: false, stateStore: true });

  it.each(created)('%s exists under its documented name and notifies the topic', (id) => {
    const topic = resource(s, 'AWS::SNS::Topic', 'AdapterAlarmTopic');
    const alarm = alarms().find((a) => a.AlarmName === `MoEngageAdapter-${id}`);
    expect(alarm).toBeDefined();
    expect(alarm!.AlarmActions).toEqual([ref(topic.id)]);
    expect(alarm!.OKActions).toEqual([ref(topic.id)]);
    expect(alarm!.TreatMissingData).toBe('notBreaching');
    expect(alarm!.AlarmDescription).toContain(`docs/runbook.md#${id.toLowerCase()}`);
  });

  it('creates exactly the documented alarms: all but the HTTP API one for a Function URL', () => {
    expect(alarms().map((a) => a.AlarmName).sort()).toEqual(created.map((id) => `MoEngageAdapter-${id}`).sort());
    expect(created).toEqual(ALARMS.map((a) => a.id).filter((id) => id !== 'ApiServerErrors'));
  });

  const byName = (id: string) => alarms().find((a) => a.AlarmName === `MoEngageAdapter-${id}`)! as Record<string, any>;
  /** The watched metric, whichever of the two forms CloudFormation uses for a single-metric alarm. */
  const stat = (alarm: Record<string, any>) =>
    alarm.MetricName
      ? { Metric: { Namespace: alarm.Namespace, MetricName: alarm.MetricName, Dimensions: alarm.Dimensions }, Stat: alarm.Statistic, Period: alarm.Period }
      : (alarm.Metrics as any[]).find((m) => m.ReturnData !== false && m.MetricStat)?.MetricStat;

  it('DlqNotEmpty: DLQ visible messages > 0', () => {
    const a = byName('DlqNotEmpty');
    expect(a).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(stat(a).Metric).toEqual({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq.id, 'QueueName'] } }],
    });
  });

  it('DlqArrivals: DLQ NumberOfMessagesSent sum > 0 per 5 minutes, besides DlqNotEmpty', () => {
    const a = byName('DlqArrivals');
    expect(a).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1 });
    expect(stat(a)).toEqual({
      Metric: { Namespace: 'AWS/SQS', MetricName: 'NumberOfMessagesSent', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq.id, 'QueueName'] } }] },
      Stat: 'Sum',
      Period: 300,
    });
    expect(byName('DlqNotEmpty')).toBeDefined();
  });

  it('QueueBacklogOld: age of the oldest main-queue message > 15 minutes', () => {
    const a = byName('QueueBacklogOld');
    expect(a).toMatchObject({ Threshold: 900, ComparisonOperator: 'GreaterThanThreshold' });
    expect(stat(a).Metric.MetricName).toBe('ApproximateAgeOfOldestMessage');
    expect(stat(a).Metric.Dimensions[0].Value).toEqual({ 'Fn::GetAtt': [queue.id, 'QueueName'] });
  });

  it('Lambda alarms watch the right function', () => {
    const fnOf = (id: string) => stat(byName(id)).Metric.Dimensions[0].Value;
    expect(stat(byName('SenderErrors')).Metric.MetricName).toBe('Errors');
    expect(fnOf('SenderErrors')).toEqual(ref(sender.id));
    expect(stat(byName('SenderThrottles')).Metric.MetricName).toBe('Throttles');
    expect(fnOf('SenderThrottles')).toEqual(ref(sender.id));
    expect(stat(byName('ReceiverErrors')).Metric.MetricName).toBe('Errors');
    expect(fnOf('ReceiverErrors')).toEqual(ref(receiver.id));
    expect(stat(byName('ReceiverThrottles'))).toMatchObject({ Metric: { Namespace: 'AWS/Lambda', MetricName: 'Throttles' }, Stat: 'Sum', Period: 300 });
    expect(fnOf('ReceiverThrottles')).toEqual(ref(receiver.id));
    expect(byName('ReceiverThrottles')).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
  });

  it('StateTableErrors: ThrottledRequests + SystemErrors of the three operations + StateStoreErrors ≥ 1', () => {
    const a = byName('StateTableErrors');
    expect(a).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1 });
    const metrics = a.Metrics as any[];
    expect(metrics.find((m) => m.ReturnData !== false).Expression).toBe('FILL(throttled, 0) + FILL(systemErrors, 0) + FILL(storeErrors, 0)');
    const stats = metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat);
    // PutMetricAlarm accepts at most 10 metrics with MetricStat.
    expect(stats.length).toBeLessThanOrEqual(10);
    for (const name of ['ThrottledRequests', 'SystemErrors']) {
      const ops = stats
        .filter((st) => st.Metric.Namespace === 'AWS/DynamoDB' && st.Metric.MetricName === name)
        .map((st) => {
          expect(st.Stat).toBe('Sum');
          const dims = Object.fromEntries((st.Metric.Dimensions as { Name: string; Value: unknown }[]).map((d) => [d.Name, d.Value]));
          expect(dims.TableName).toEqual(ref(table.id));
          return dims.Operation;
        });
      expect(ops.sort()).toEqual(['BatchGetItem', 'GetItem', 'PutItem', 'UpdateItem']);
    }
    expect(stats.find((st) => st.Metric.MetricName === METRIC.stateStoreErrors).Metric).toEqual({
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.stateStoreErrors,
      Dimensions: [{ Name: 'service', Value: SENDER_SERVICE }],
    });
  });

  it('ReceiverServerErrors: every receiver 5xx answer + receiver errors ≥ 1', () => {
    const a = byName('ReceiverServerErrors');
    expect(a).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    const metrics = a.Metrics as any[];
    expect(metrics.find((m) => m.ReturnData !== false).Expression).toBe('FILL(serverErrors, 0) + FILL(receiverErrors, 0)');
    expect(metrics.find((m) => m.Id === 'serverErrors').MetricStat.Metric).toEqual({
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.serverErrors,
      Dimensions: [{ Name: 'service', Value: RECEIVER_SERVICE }],
    });
    expect(metrics.find((m) => m.Id === 'receiverErrors').MetricStat.Metric.Dimensions[0].Value).toEqual(ref(receiver.id));
  });

  it('MoEngageAuthFailures: the sender custom metric ≥ 1', () => {
    const a = byName('MoEngageAuthFailures');
    expect(a).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(stat(a)).toMatchObject({
      Metric: { Namespace: METRICS_NAMESPACE, MetricName: METRIC.authFailures, Dimensions: [{ Name: 'service', Value: SENDER_SERVICE }] },
      Stat: 'Sum',
    });
  });

  it('the alarm topic refuses publishing without TLS and has no subscription by default', () => {
    const topic = resource(s, 'AWS::SNS::Topic', 'AdapterAlarmTopic');
    s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [ref(topic.id)],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    expect(resourcesOfType(s, 'AWS::SNS::Subscription')).toHaveLength(0);
  });
});

describe('dashboard', () => {
  it('exists and graphs webhooks, deliveries, latency, queues and both functions', () => {
    const dashboards = resourcesOfType(s, 'AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const [, props] = dashboards[0]!;
    expect(props.DashboardName).toBe('MoEngageAdapter');
    const body = JSON.stringify(props.DashboardBody);
    for (const metric of [METRIC.received, METRIC.enqueued, METRIC.rejected, METRIC.ignored, METRIC.delivered, METRIC.deliveryFailed, METRIC.parked, METRIC.deliveryLatency]) {
      expect(body).toContain(metric);
    }
    for (const text of ['p50', 'p99', 'ApproximateAgeOfOldestMessage', 'ApproximateNumberOfMessagesVisible', 'Throttles', 'Duration', 'Errors']) {
      expect(body).toContain(text);
    }
    expect(body).toContain(receiver.id);
    expect(body).toContain(sender.id);
    expect(body).toContain(dlq.id);
    expect(body).toContain('NumberOfMessagesSent');
  });

  it('graphs the state table (throttles, system errors, consumed units) and the guarded events', () => {
    const body = JSON.stringify(resourcesOfType(s, 'AWS::CloudWatch::Dashboard')[0]![1].DashboardBody);
    expect(body).toContain(table.id);
    for (const text of ['ThrottledRequests', 'SystemErrors', 'ConsumedReadCapacityUnits', 'ConsumedWriteCapacityUnits', METRIC.stateStoreErrors, METRIC.staleDropped, METRIC.duplicatesDropped, METRIC.usersDeleted]) {
      expect(body).toContain(text);
    }
  });
});

describe('outputs', () => {
  const outputs = () => s.json.Outputs ?? {};

  it('has the stable keys the DLQ tool and the docs use', () => {
    for (const key of ['QueueUrl', 'DlqUrl', 'DashboardUrl', 'MoEngageSecretName', 'SigningSecretName', 'AlarmTopicArn', 'DlqCommand', 'WebhookBaseUrl']) {
      expect(outputs()).toHaveProperty(key);
    }
    expect(outputs()[OUTPUT_KEYS.queueUrl]!.Value).toEqual(ref(queue.id));
    expect(outputs()[OUTPUT_KEYS.dlqUrl]!.Value).toEqual(ref(dlq.id));
  });

  it('DlqCommand is the exact CLI command', () => {
    expect(outputs().DlqCommand!.Value).toBe('npx --no-install moengage-adapter dlq list --stack MoEngageAdapter');
  });

  it('one webhook URL per enabled source, ending in /webhooks/{source}', () => {
    for (const source of SOURCE_NAMES) {
      const value = JSON.stringify(outputs()[webhookOutputKey(source)]?.Value);
      expect(value).toContain(`/webhooks/${source}`);
      expect(value).toContain('FunctionUrl');
    }
    expect(webhookOutputKey('auth0')).toBe('WebhookUrlAuth0');
  });
});

describe('cdk-nag', () => {
  it('AwsSolutions: no unacknowledged error or warning', () => {
    expect(s.nagFindings).toEqual([]);
  });

  it('no CDK error or warning annotations', () => {
    expect(s.annotations.errors).toEqual([]);
    expect(s.annotations.warnings).toEqual([]);
  });
});
