/**
 * Every documented configuration synthesizes, passes cdk-nag, and does what its key says.
 * One synthesis per describe block, shared by its assertions.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/core/names';
import { AppConfigError } from '../../lib/app-config';
import { alarmTopicDisplayName, MoEngageAdapter } from '../../lib/moengage-adapter';
import { actionsOf, CDK_JSON_CONTEXT, policyStatements, resource, resourcesOf, resourcesOfType, synthAdapter, type Synthesized } from './synth';

const env = (s: Synthesized, prefix: string) => resource(s, 'AWS::Lambda::Function', prefix).props.Environment.Variables as Record<string, unknown>;

function expectNagClean(s: Synthesized, warnings: RegExp[] = []): void {
  expect(s.nagFindings).toEqual([]);
  expect(s.annotations.errors).toEqual([]);
  const texts = s.annotations.warnings.map((w) => String((w as { entry: { data: unknown } }).entry.data));
  expect(texts).toHaveLength(warnings.length);
  warnings.forEach((pattern, i) => expect(texts[i]).toMatch(pattern));
}

const alarmNamed = (s: Synthesized, name: string) => resourcesOfType(s, 'AWS::CloudWatch::Alarm').find(([, a]) => a.AlarmName === name)?.[1] as Record<string, any> | undefined;

describe('standard queue, bulk delivery, alarm e-mail', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthAdapter({ queueType: 'standard', deliveryMode: 'bulk', alarmEmail: 'oncall@example.com', maxReceiveCount: '3', logRetentionDays: '90' });
  });

  it('standard queue and DLQ, still encrypted, DLQ kept at least as long', () => {
    const queue = resource(s, 'AWS::SQS::Queue', 'AdapterQueue').props;
    const dlq = resource(s, 'AWS::SQS::Queue', 'AdapterDeadLetterQueue').props;
    expect(queue.FifoQueue).toBeUndefined();
    expect(dlq.FifoQueue).toBeUndefined();
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(dlq.MessageRetentionPeriod).toBeGreaterThanOrEqual(queue.MessageRetentionPeriod);
    expect(queue.RedrivePolicy.maxReceiveCount).toBe(3);
  });

  it('batching window on the event source, counted in the visibility timeout', () => {
    const esm = resource(s, 'AWS::Lambda::EventSourceMapping', 'AdapterSender').props;
    expect(esm.MaximumBatchingWindowInSeconds).toBe(1);
    expect(esm.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(resource(s, 'AWS::SQS::Queue', 'AdapterQueue').props.VisibilityTimeout).toBe(6 * 60 + 1);
  });

  it('bulk mode: Bulk Import budget, batches of 100 at 256 MB: 10/s × (0.381 + 0.1 + 3 ms × 100 × 1769/256) s × 1.25 = 31.9 → 32', () => {
    expect(env(s, 'AdapterSender')).toMatchObject({ [ENV.deliveryMode]: 'bulk', [ENV.queueType]: 'standard', [ENV.senderMaxConcurrency]: '32', [ENV.maxReceiveCount]: '3' });
    expect(resource(s, 'AWS::Lambda::EventSourceMapping', 'AdapterSender').props.ScalingConfig).toEqual({ MaximumConcurrency: 32 });
    expect(env(s, 'AdapterReceiver')[ENV.queueType]).toBe('standard');
  });

  it('e-mail subscription on the alarm topic', () => {
    const topic = resource(s, 'AWS::SNS::Topic', 'AdapterAlarmTopic');
    s.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: { Ref: topic.id } });
  });

  it('log retention from configuration', () => {
    for (const [, lg] of resourcesOfType(s, 'AWS::Logs::LogGroup')) expect(lg.RetentionInDays).toBe(90);
  });

  it('both standard queues keep messages 14 days (a standard DLQ message keeps its original enqueue time)', () => {
    expect(resource(s, 'AWS::SQS::Queue', 'AdapterQueue').props.MessageRetentionPeriod).toBe(14 * 86_400);
    expect(resource(s, 'AWS::SQS::Queue', 'AdapterDeadLetterQueue').props.MessageRetentionPeriod).toBe(14 * 86_400);
  });

  it('passes cdk-nag; warns once that maxReceiveCount 3 is below the recommended 5', () =>
    expectNagClean(s, [/^maxReceiveCount 3 is below 5, the minimum AWS recommends for a Lambda SQS source/]));
});

describe('HTTP API ingress with a custom domain, throttling and tracing', () => {
  let s: Synthesized;
  const certificateArn = 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab';
  beforeAll(() => {
    s = synthAdapter({
      ingress: JSON.stringify({ type: 'httpApi', throttling: { rateLimit: 50, burstLimit: 100 }, customDomain: { domainName: 'hooks.example.com', certificateArn } }),
      tracing: 'true',
    });
  });

  it('an HTTP API instead of a Function URL, reachable only through the custom domain', () => {
    expect(resourcesOfType(s, 'AWS::Lambda::Url')).toHaveLength(0);
    expect(resource(s, 'AWS::ApiGatewayV2::Api', 'AdapterHttpApi').props).toMatchObject({ ProtocolType: 'HTTP', DisableExecuteApiEndpoint: true });
    const routes = resourcesOfType(s, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.RouteKey).sort();
    expect(routes).toEqual(['ANY /webhooks/{source}', 'GET /healthz']);
    s.template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'hooks.example.com',
      DomainNameConfigurations: [{ CertificateArn: certificateArn, EndpointType: 'REGIONAL' }],
    });
    expect(resourcesOfType(s, 'AWS::ApiGatewayV2::ApiMapping')).toHaveLength(1);
  });

  it('stage throttling and access logs', () => {
    const stage = resource(s, 'AWS::ApiGatewayV2::Stage', 'AdapterStage').props;
    expect(stage).toMatchObject({ StageName: '$default', AutoDeploy: true, DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 } });
    expect(stage.AccessLogSettings.Format).toContain('$context.requestId');
  });

  it('outputs point at the domain', () => {
    expect(s.json.Outputs?.WebhookUrlClerk?.Value).toBe('https://hooks.example.com/webhooks/clerk');
    expect(s.json.Outputs?.WebhookBaseUrl?.Value).toBe('https://hooks.example.com');
    expect(s.json.Outputs?.CustomDomainTarget?.Value).toEqual({ 'Fn::GetAtt': [resource(s, 'AWS::ApiGatewayV2::DomainName', 'AdapterCustomDomain').id, 'RegionalDomainName'] });
  });

  it('X-Ray active tracing; X-Ray is the only statement on "*"', () => {
    for (const fn of ['AdapterReceiver', 'AdapterSender']) expect(resource(s, 'AWS::Lambda::Function', fn).props.TracingConfig).toEqual({ Mode: 'Active' });
    const star = policyStatements(s).filter((st) => resourcesOf(st).includes('*'));
    expect(star.length).toBe(2);
    for (const st of star) expect(actionsOf(st).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
  });

  it('passes cdk-nag (route authorization and X-Ray acknowledged with reasons)', () => expectNagClean(s));
});

describe('HTTP API without a custom domain', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthAdapter({ ingress: 'httpApi' });
  });

  it('default throttling, execute-api endpoint as the public URL', () => {
    const stage = resource(s, 'AWS::ApiGatewayV2::Stage', 'AdapterStage').props;
    expect(stage.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 });
    const api = resource(s, 'AWS::ApiGatewayV2::Api', 'AdapterHttpApi');
    expect(api.props.DisableExecuteApiEndpoint).toBe(false);
    expect(s.json.Outputs?.WebhookBaseUrl?.Value).toEqual({ 'Fn::GetAtt': [api.id, 'ApiEndpoint'] });
    expect(JSON.stringify(s.json.Outputs?.WebhookUrlStripe?.Value)).toContain('/webhooks/stripe');
  });

  it('ApiServerErrors alarms on the HTTP API 5xx count (sum ≥ 1 per 5 minutes), and is in the runbook', () => {
    const api = resource(s, 'AWS::ApiGatewayV2::Api', 'AdapterHttpApi');
    const alarm = alarmNamed(s, 'MoEngageAdapter-ApiServerErrors')!;
    expect(alarm).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1 });
    expect(alarm.Metrics).toHaveLength(1);
    expect(alarm.Metrics[0].MetricStat).toEqual({
      Metric: { Namespace: 'AWS/ApiGateway', MetricName: '5xx', Dimensions: [{ Name: 'ApiId', Value: { Ref: api.id } }] },
      Period: 300,
      Stat: 'Sum',
    });
    expect(alarm.AlarmDescription).toContain('docs/runbook.md#apiservererrors');
  });

  it('passes cdk-nag', () => expectNagClean(s));
});

describe('existing secrets (by name and by full ARN)', () => {
  let s: Synthesized;
  const signingArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/webhook-signing-AbC123';
  beforeAll(() => {
    s = synthAdapter({ existingMoEngageSecret: 'prod/moengage', existingSigningSecret: signingArn });
  });

  it('creates no secret', () => {
    expect(resourcesOfType(s, 'AWS::SecretsManager::Secret')).toHaveLength(0);
  });

  it('grants GetSecretValue on exactly those secrets, and passes their ARNs', () => {
    const statements = policyStatements(s).filter((st) => actionsOf(st).includes('secretsmanager:GetSecretValue'));
    expect(statements).toHaveLength(2);
    const receiverSt = statements.find((st) => st.policy.startsWith('AdapterReceiverRole'))!;
    expect(receiverSt.Resource).toBe(signingArn);
    const senderSt = statements.find((st) => st.policy.startsWith('AdapterSenderRole'))!;
    expect(JSON.stringify(senderSt.Resource)).toContain(':secret:prod/moengage-??????');
    expect(env(s, 'AdapterReceiver')[ENV.signingSecretsArn]).toBe(signingArn);
    expect(JSON.stringify(env(s, 'AdapterSender')[ENV.moengageSecretArn])).toContain(':secret:prod/moengage');
  });

  it('outputs the secret names', () => {
    expect(s.json.Outputs?.MoEngageSecretName?.Value).toBe('prod/moengage');
    expect(s.json.Outputs?.SigningSecretName?.Value).toBe('prod/webhook-signing');
  });

  it('no kms:Decrypt without a customer-managed key', () => {
    expect(policyStatements(s).flatMap(actionsOf)).not.toContain('kms:Decrypt');
  });

  it('passes cdk-nag (no rotation finding on secrets it does not own)', () => expectNagClean(s));
});

describe('existing secrets encrypted with a customer-managed KMS key', () => {
  let s: Synthesized;
  const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const signingArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/webhook-signing-AbC123';
  beforeAll(() => {
    s = synthAdapter({ existingMoEngageSecret: 'prod/moengage', existingSigningSecret: signingArn, existingSecretsKmsKeyArn: keyArn });
  });

  it('each role may decrypt with the key, only through Secrets Manager and only for its own secret', () => {
    const decrypt = policyStatements(s).filter((st) => actionsOf(st).includes('kms:Decrypt'));
    expect(decrypt).toHaveLength(2);
    for (const st of decrypt) {
      expect(actionsOf(st)).toEqual(['kms:Decrypt']);
      expect(st.Resource).toBe(keyArn);
      expect(JSON.stringify((st as unknown as { Condition: unknown }).Condition)).toContain('secretsmanager.');
    }
    const receiverSt = decrypt.find((st) => st.policy.startsWith('AdapterReceiverRole')) as unknown as { Condition: Record<string, Record<string, unknown>> };
    expect(receiverSt.Condition.StringLike).toEqual({ 'kms:EncryptionContext:SecretARN': signingArn });
    expect(JSON.stringify(receiverSt.Condition.StringEquals!['kms:ViaService'])).toMatch(/secretsmanager\.","?.*amazonaws\.com/);
    const senderSt = decrypt.find((st) => st.policy.startsWith('AdapterSenderRole')) as unknown as { Condition: Record<string, Record<string, unknown>> };
    expect(JSON.stringify(senderSt.Condition.StringLike!['kms:EncryptionContext:SecretARN'])).toContain(':secret:prod/moengage-??????');
  });

  it('passes cdk-nag', () => expectNagClean(s));
});

describe('stateless sender (stateStore false), receiver reserved concurrency, deleteUsers from context', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthAdapter({
      stateStore: 'false',
      receiverReservedConcurrency: '50',
      adapter: JSON.stringify({ sources: { clerk: { deleteUsers: true }, stripe: { deleteUsers: false } } }),
    });
  });

  it('no table, no state environment, no DynamoDB permission, no table alarm or output', () => {
    expect(resourcesOfType(s, 'AWS::DynamoDB::Table')).toHaveLength(0);
    expect(env(s, 'AdapterSender')).not.toHaveProperty(ENV.stateTable);
    expect(env(s, 'AdapterSender')).not.toHaveProperty(ENV.stateRetentionDays);
    expect(policyStatements(s).flatMap(actionsOf).filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
    expect(alarmNamed(s, 'MoEngageAdapter-StateTableErrors')).toBeUndefined();
    expect(s.json.Outputs).not.toHaveProperty('StateTableName');
  });

  it('the sender cannot enqueue into the main queue (no out-of-line retries without the state store)', () => {
    const sender = policyStatements(s).filter((st) => st.policy.startsWith('AdapterSenderRole'));
    const onQueue = sender.filter((st) => JSON.stringify(st.Resource).includes('AdapterQueue') && !JSON.stringify(st.Resource).includes('DeadLetter'));
    expect(onQueue.flatMap(actionsOf)).not.toContain('sqs:SendMessage');
  });

  it('reserved concurrency on the receiver only', () => {
    expect(resource(s, 'AWS::Lambda::Function', 'AdapterReceiver').props.ReservedConcurrentExecutions).toBe(50);
    expect(resource(s, 'AWS::Lambda::Function', 'AdapterSender').props.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('deleteUsers reaches the receiver\'s adapter configuration per source', () => {
    const json = JSON.parse(env(s, 'AdapterReceiver')[ENV.adapterConfigJson] as string);
    expect(json.sources.clerk.deleteUsers).toBe(true);
    expect(json.sources.stripe.deleteUsers).toBe(false);
  });

  it('passes cdk-nag; warns that deletions without the state store leave no tombstone', () =>
    expectNagClean(s, [/^deleteUsers is on for clerk but stateStore is false: without tombstones a late or retried older event re-creates a deleted user/]));
});

describe('state retention and a 100-character stack name (HTTP API ingress)', () => {
  let s: Synthesized;
  const stackName = `A${'b'.repeat(98)}9`;
  beforeAll(() => {
    s = synthAdapter({ stackName, stateRetentionDays: '30', ingress: 'httpApi' });
  });

  it('the display name is `<prefix> alarms` up to 93 characters of prefix, clipped from 94 on', () => {
    expect(alarmTopicDisplayName('x'.repeat(93))).toBe(`${'x'.repeat(93)} alarms`);
    expect(alarmTopicDisplayName('x'.repeat(94))).toBe(`${'x'.repeat(93)} alarms`);
    expect(alarmTopicDisplayName('x'.repeat(100))).toHaveLength(100);
    expect(alarmTopicDisplayName('MoEngageAdapter')).toBe('MoEngageAdapter alarms');
  });

  it('synthesizes; the alarm topic display name is clipped to SNS\'s 100 characters', () => {
    expect(stackName).toHaveLength(100);
    const displayName = resource(s, 'AWS::SNS::Topic', 'AdapterAlarmTopic').props.DisplayName as string;
    expect(displayName.length).toBeLessThanOrEqual(100);
    expect(displayName.endsWith(' alarms')).toBe(true);
    expect(displayName.startsWith(stackName.slice(0, 93))).toBe(true);
    expect(alarmNamed(s, `${stackName}-DlqNotEmpty`)).toBeDefined();
    expect(alarmNamed(s, `${stackName}-ApiServerErrors`)).toBeDefined();
    expect(resource(s, 'AWS::ApiGatewayV2::Api', 'AdapterHttpApi').props.Name).toBe(`${stackName}-webhooks`);
  });

  it('the retention reaches the sender', () => {
    expect(env(s, 'AdapterSender')[ENV.stateRetentionDays]).toBe('30');
  });

  it('passes cdk-nag', () => expectNagClean(s));
});

describe('configFile with the adapter configuration, base URL instead of a data center', () => {
  let s: Synthesized;
  let dir: string;
  const adapter = {
    sources: {
      standard: { mapping: { events: ['user.updated'], customerId: 'data.id', attributes: { u_em: 'data.email' } } },
      stripe: { enabled: false },
      clerk: { customerIdField: 'email', updateExistingOnly: true },
    },
    identityResolution: { identifiers: { moe_email: 'u_em' } },
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'adapter-config-'));
    const file = join(dir, 'adapter.json');
    writeFileSync(file, JSON.stringify({ moengageBaseUrl: 'https://moengage-proxy.example.com', senderMaxConcurrency: 50, stackName: 'Hooks-Prod', ...adapter }));
    s = synthAdapter({ moengageDc: undefined, configFile: file });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the receiver gets the adapter configuration as JSON (sources, mapping, identity resolution)', () => {
    const json = JSON.parse(env(s, 'AdapterReceiver')[ENV.adapterConfigJson] as string);
    expect(json.sources.standard.mapping.events).toEqual(['user.updated']);
    expect(json.sources.stripe.enabled).toBe(false);
    expect(json.sources.clerk.customerIdField).toBe('email');
    expect(json.identityResolution).toEqual(adapter.identityResolution);
  });

  it('no webhook URL output for a disabled source', () => {
    expect(s.json.Outputs).not.toHaveProperty('WebhookUrlStripe');
    expect(s.json.Outputs).toHaveProperty('WebhookUrlStandard');
    expect(s.json.Outputs).toHaveProperty('WebhookUrlClerk');
  });

  it('base URL instead of a data center; concurrency override; stack name', () => {
    const senderEnv = env(s, 'AdapterSender');
    expect(senderEnv[ENV.moengageBaseUrl]).toBe('https://moengage-proxy.example.com');
    expect(senderEnv).not.toHaveProperty(ENV.moengageDc);
    expect(senderEnv[ENV.senderMaxConcurrency]).toBe('50');
    expect(resource(s, 'AWS::Lambda::EventSourceMapping', 'AdapterSender').props.ScalingConfig).toEqual({ MaximumConcurrency: 50 });
    expect(s.stack.stackName).toBe('Hooks-Prod');
    expect(s.json.Outputs?.DlqCommand?.Value).toBe('npx --no-install moengage-adapter dlq list --stack Hooks-Prod');
    const alarmNames = resourcesOfType(s, 'AWS::CloudWatch::Alarm').map(([, a]) => a.AlarmName);
    expect(alarmNames).toContain('Hooks-Prod-DlqNotEmpty');
  });

  it('passes cdk-nag', () => expectNagClean(s));
});

describe('tuning keys (as -c strings)', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthAdapter({
      publicBaseUrl: 'https://hooks.example.org/',
      logLevel: 'DEBUG',
      receiverMemoryMb: '512',
      senderMemoryMb: '1024',
      receiverTimeoutSeconds: '15',
      senderTimeoutSeconds: '120',
      senderParallelism: '8',
      expectedMoEngageLatencyMs: '600',
      rateLimitPerMinute: '20000',
      moengageTimeoutMs: '5000',
      queueAgeAlarmMinutes: '30',
      queueType: 'standard',
      batchSize: '100',
      maxBatchingWindowSeconds: '5',
    });
  });

  it('memory, timeouts, log level', () => {
    expect(resource(s, 'AWS::Lambda::Function', 'AdapterReceiver').props).toMatchObject({ MemorySize: 512, Timeout: 15 });
    expect(resource(s, 'AWS::Lambda::Function', 'AdapterSender').props).toMatchObject({ MemorySize: 1024, Timeout: 120 });
    expect(env(s, 'AdapterSender').POWERTOOLS_LOG_LEVEL).toBe('DEBUG');
    expect(env(s, 'AdapterReceiver').POWERTOOLS_LOG_LEVEL).toBe('DEBUG');
  });

  it('visibility timeout follows the sender timeout and the batching window: 6 × 120 + 5', () => {
    expect(resource(s, 'AWS::SQS::Queue', 'AdapterQueue').props.VisibilityTimeout).toBe(725);
    expect(resource(s, 'AWS::Lambda::EventSourceMapping', 'AdapterSender').props).toMatchObject({ BatchSize: 100, MaximumBatchingWindowInSeconds: 5 });
  });

  it('concurrency derived from the tuned limit, latency, parallelism and memory: 3.33/s × (12.5 × 0.648 + (1.083 − 0.648) + 0.1 + 3 ms × 100 × 1769/1024) s × 1.25 = 38.2 → 39', () => {
    expect(resource(s, 'AWS::Lambda::EventSourceMapping', 'AdapterSender').props.ScalingConfig).toEqual({ MaximumConcurrency: 39 });
    expect(env(s, 'AdapterSender')).toMatchObject({
      [ENV.senderMaxConcurrency]: '39',
      [ENV.senderParallelism]: '8',
      [ENV.rateLimitPerMinute]: '20000',
      [ENV.moengageTimeoutMs]: '5000',
    });
  });

  it('public base URL (trailing slash dropped) is the base of the outputs', () => {
    expect(s.json.Outputs?.WebhookBaseUrl?.Value).toBe('https://hooks.example.org');
    expect(s.json.Outputs?.WebhookUrlSegment?.Value).toBe('https://hooks.example.org/webhooks/segment');
  });

  it('backlog alarm threshold', () => {
    const alarm = resourcesOfType(s, 'AWS::CloudWatch::Alarm').find(([, a]) => a.AlarmName === 'MoEngageAdapter-QueueBacklogOld')!;
    expect(alarm[1].Threshold).toBe(1800);
  });

  it('passes cdk-nag', () => expectNagClean(s));
});

describe('the construct in a user\'s own stack', () => {
  function userStack(): Stack {
    const app = new App({ context: { ...CDK_JSON_CONTEXT } });
    return new Stack(app, 'UserStack');
  }

  it('bulk mode alone defaults to full Bulk Import requests: a standard queue, batches of 100 over 1 s', () => {
    const stack = userStack();
    const adapter = new MoEngageAdapter(stack, 'Bulk', { moengageDc: '01', deliveryMode: 'bulk' });
    const t = Template.fromStack(stack);
    expect(adapter.queueType).toBe('standard');
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 100, MaximumBatchingWindowInSeconds: 1, ScalingConfig: { MaximumConcurrency: 32 } });
    t.resourcePropertiesCountIs('AWS::SQS::Queue', { FifoQueue: true }, 0);
    // Batches of up to 100 messages: 256 MB for the sender (128 MB in customer mode).
    t.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 256, Environment: { Variables: { MOENGAGE_DELIVERY_MODE: 'bulk' } } });
  });

  it('synthesizes with only a data center, names alarms after the stack', () => {
    const stack = userStack();
    const adapter = new MoEngageAdapter(stack, 'MoEngage', {
      moengageDc: '02',
      moengageSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Existing', 'team/moengage'),
      senderTimeout: Duration.seconds(120),
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'UserStack-MoEngageAuthFailures' });
    t.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, VisibilityTimeout: 720 });
    expect(adapter.senderMaxConcurrency).toBe(31);
    expect(Object.keys(adapter.webhookUrls)).toHaveLength(7);
  });

  it('deleteUsers and the state options as construct props', () => {
    const stack = userStack();
    const adapter = new MoEngageAdapter(stack, 'MoEngage', {
      moengageDc: '01',
      adapter: { sources: { auth0: { deleteUsers: true } } },
      stateRetention: Duration.days(3),
    });
    const t = Template.fromStack(stack);
    const receiverEnv = t.findResources('AWS::Lambda::Function');
    const vars = Object.values(receiverEnv).map((r) => (r as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables);
    expect(JSON.parse(vars.find((v) => v[ENV.adapterConfigJson])![ENV.adapterConfigJson] as string).sources.auth0.deleteUsers).toBe(true);
    expect(vars.find((v) => v[ENV.stateRetentionDays])![ENV.stateRetentionDays]).toBe('3');
    expect(adapter.stateTable).toBeDefined();
    t.resourceCountIs('AWS::DynamoDB::Table', 1);
  });

  it('an ISecret carrying its encryption key grants kms:Decrypt on that key', () => {
    const stack = userStack();
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:us-east-1:123456789012:key/abcd1234-ab12-cd34-ef56-abcdef123456');
    new MoEngageAdapter(stack, 'MoEngage', {
      moengageDc: '01',
      moengageSecret: secretsmanager.Secret.fromSecretAttributes(stack, 'Existing', {
        secretCompleteArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:team/moengage-AbCdEf',
        encryptionKey: key,
      }),
    });
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown; Condition?: unknown }[] } } }).Properties.PolicyDocument.Statement,
    );
    const decrypt = statements.filter((st) => st.Action === 'kms:Decrypt');
    expect(decrypt).toHaveLength(1);
    expect(decrypt[0]!.Resource).toBe('arn:aws:kms:us-east-1:123456789012:key/abcd1234-ab12-cd34-ef56-abcdef123456');
    expect(JSON.stringify(decrypt[0]!.Condition)).toContain('arn:aws:secretsmanager:us-east-1:123456789012:secret:team/moengage-AbCdEf');
  });

  it.each([
    [{ maxReceiveCount: 1 }, /^Invalid configuration maxReceiveCount: must be an integer from 2 to 1000, not 1$/],
    [{ receiverReservedConcurrency: 0 }, /^Invalid configuration receiverReservedConcurrency: must be an integer from 1 to 100000, not 0$/],
    [{ stateStore: false, stateRetention: Duration.days(7) }, /^Invalid configuration stateRetentionDays: there is no state to keep with stateStore false/],
    [{ stateRetention: Duration.hours(36) }, /^Invalid configuration stateRetentionDays: must be an integer from 1 to 365, not 1.5$/],
    [{ moengageSecret: 'prod/moengage', secretsKmsKey: 'alias/moengage' }, /^Invalid configuration existingSecretsKmsKeyArn: pass the key ARN \(arn:aws:kms:REGION:ACCOUNT:key\/KEY_ID/],
    [{ secretsKmsKey: 'arn:aws:kms:us-east-1:123456789012:key/abcd1234-ab12-cd34-ef56-abcdef123456' }, /^Invalid configuration existingSecretsKmsKeyArn: the secrets this stack creates use the AWS managed key/],
    [{ batchSize: 11 }, /^Invalid configuration batchSize: /],
    [{ senderMaxConcurrency: 1001 }, /^Invalid configuration senderMaxConcurrency: /],
    [{ moengageTimeout: Duration.seconds(60) }, /^Invalid configuration senderTimeoutSeconds \/ moengageTimeoutMs: the sender timeout \(60 s\) must be longer than the MoEngage request timeout \(60000 ms\) \+ 1 s$/],
    [{ senderTimeout: Duration.seconds(10) }, /the sender timeout \(10 s\) must be longer than the MoEngage request timeout \(10000 ms\) \+ 1 s/],
    [{ queueType: 'fifo' as const, maxBatchingWindow: Duration.seconds(5) }, /^Invalid configuration maxBatchingWindowSeconds: /],
    [{ adapter: { sources: { standard: { mapping: { events: [] } } } } }, /^Invalid configuration adapter\.sources\.standard\.mapping\.events: /],
    [{ moengageDc: undefined }, /^Missing context moengageDc: pass -c moengageDc=01/],
    [{ moengageDc: '7' as never }, /^Invalid context moengageDc "7"/],
  ])('rejects invalid props %#', (props, pattern) => {
    const stack = userStack();
    expect(() => new MoEngageAdapter(stack, 'MoEngage', { moengageDc: '01', ...props })).toThrow(AppConfigError);
    expect(() => new MoEngageAdapter(userStack(), 'MoEngage', { moengageDc: '01', ...props })).toThrow(pattern);
  });

  it('fails synth when the adapter configuration would overflow Lambda\'s 4 KB environment', () => {
    const attributes = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`custom_attribute_${i}`, `data.object.field_${i}`]));
    expect(
      () => new MoEngageAdapter(userStack(), 'MoEngage', { moengageDc: '01', adapter: { sources: { standard: { mapping: { events: ['x'], customerId: 'data.id', attributes } } } } }),
    ).toThrow(/^Invalid configuration adapter: the receiver environment would be about \d+ bytes/);
  });
});
