/**
 * The deployable stack and the app builder used by bin/app.ts (and the tests): configuration
 * from CDK context → `MoEngageAdapter` → stable stack outputs → cdk-nag.
 */
import { CfnOutput, CfnRule, Duration, Fn, RemovalPolicy, Stack, Tags, type App, type Environment, type StackProps } from 'aws-cdk-lib';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { SourceName } from '../functions/core/config';
import { loadAppConfig, MISSING_DC_MESSAGE, type AppConfig, type LoadAppConfigOptions } from './app-config';
import { MoEngageAdapter, type MoEngageAdapterProps } from './moengage-adapter';
import { applyNagChecks } from './nag';
import { toolCommand } from './tool-command';

/** Stack output keys. Stable: the DLQ tool reads QueueUrl and DlqUrl, the docs name the others. */
export const OUTPUT_KEYS = {
  webhookBaseUrl: 'WebhookBaseUrl',
  queueUrl: 'QueueUrl',
  dlqUrl: 'DlqUrl',
  dashboardUrl: 'DashboardUrl',
  moengageSecretName: 'MoEngageSecretName',
  signingSecretName: 'SigningSecretName',
  alarmTopicArn: 'AlarmTopicArn',
  dlqCommand: 'DlqCommand',
  senderMaxConcurrency: 'SenderMaxConcurrency',
  customDomainTarget: 'CustomDomainTarget',
  stateTableName: 'StateTableName',
} as const;

/** The output key of a source's webhook URL, e.g. `WebhookUrlClerk`. */
export function webhookOutputKey(source: SourceName): string {
  return `WebhookUrl${source.charAt(0).toUpperCase()}${source.slice(1)}`;
}

/** The CLI command printed as the DlqCommand output. */
export function dlqCommand(stackName: string): string {
  return toolCommand(`dlq list --stack ${stackName}`);
}

/** Maps the validated app configuration onto the construct's props. */
export function adapterPropsFromConfig(c: AppConfig): MoEngageAdapterProps {
  return {
    ...(c.moengageDc ? { moengageDc: c.moengageDc } : {}),
    ...(c.moengageBaseUrl ? { moengageBaseUrl: c.moengageBaseUrl } : {}),
    deliveryMode: c.deliveryMode,
    ...(c.queueType !== undefined ? { queueType: c.queueType } : {}),
    maxReceiveCount: c.maxReceiveCount,
    ...(c.batchSize !== undefined ? { batchSize: c.batchSize } : {}),
    ...(c.maxBatchingWindowSeconds !== undefined ? { maxBatchingWindow: Duration.seconds(c.maxBatchingWindowSeconds) } : {}),
    ingress:
      c.ingress.type === 'httpApi'
        ? {
            type: 'httpApi',
            ...(c.ingress.throttling ? { throttling: c.ingress.throttling } : {}),
            ...(c.ingress.customDomain ? { customDomain: c.ingress.customDomain } : {}),
          }
        : { type: 'functionUrl' },
    ...(c.publicBaseUrl ? { publicBaseUrl: c.publicBaseUrl } : {}),
    logRetention: c.logRetentionDays as logs.RetentionDays,
    logLevel: c.logLevel,
    tracing: c.tracing,
    receiverMemorySize: c.receiverMemoryMb,
    ...(c.senderMemoryMb !== undefined ? { senderMemorySize: c.senderMemoryMb } : {}),
    receiverTimeout: Duration.seconds(c.receiverTimeoutSeconds),
    senderTimeout: Duration.seconds(c.senderTimeoutSeconds),
    ...(c.senderParallelism !== undefined ? { senderParallelism: c.senderParallelism } : {}),
    ...(c.senderMaxConcurrency !== undefined ? { senderMaxConcurrency: c.senderMaxConcurrency } : {}),
    expectedMoEngageLatency: Duration.millis(c.expectedMoEngageLatencyMs),
    ...(c.expectedMoEngageLatencyP99Ms !== undefined ? { expectedMoEngageLatencyP99: Duration.millis(c.expectedMoEngageLatencyP99Ms) } : {}),
    rateLimitPerMinute: c.rateLimitPerMinute,
    bulkRateLimitPerMinute: c.bulkRateLimitPerMinute,
    ...(c.moengageTimeoutMs !== undefined ? { moengageTimeout: Duration.millis(c.moengageTimeoutMs) } : {}),
    ...(c.existingMoEngageSecret ? { moengageSecret: c.existingMoEngageSecret } : {}),
    ...(c.existingSigningSecret ? { signingSecret: c.existingSigningSecret } : {}),
    ...(c.existingSecretsKmsKeyArn ? { secretsKmsKey: c.existingSecretsKmsKeyArn } : {}),
    ...(c.receiverReservedConcurrency !== undefined ? { receiverReservedConcurrency: c.receiverReservedConcurrency } : {}),
    stateStore: c.stateStore,
    ...(c.stateRetentionDays !== undefined ? { stateRetention: Duration.days(c.stateRetentionDays) } : {}),
    adapter: c.adapter,
    ...(c.alarmEmail ? { alarmEmail: c.alarmEmail } : {}),
    queueAgeAlarmThreshold: Duration.minutes(c.queueAgeAlarmMinutes),
    queueRemovalPolicy: c.queueRemovalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    ...(c.runbookBaseUrl ? { runbookBaseUrl: c.runbookBaseUrl } : {}),
  };
}

export interface MoEngageAdapterStackProps extends StackProps {
  readonly config: AppConfig;
}

export class MoEngageAdapterStack extends Stack {
  readonly adapter: MoEngageAdapter;

  constructor(scope: Construct, id: string, props: MoEngageAdapterStackProps) {
    super(scope, id, {
      description: 'MoEngage webhook adapter: provider webhooks -> SQS -> MoEngage user updates',
      ...props,
    });
    Tags.of(this).add('app', 'moengage-webhook-adapter');
    const adapter = (this.adapter = new MoEngageAdapter(this, 'Adapter', adapterPropsFromConfig(props.config)));

    const output = (key: string, value: string, description: string) => new CfnOutput(this, key, { value, description });
    output(OUTPUT_KEYS.webhookBaseUrl, adapter.webhookBaseUrl, 'Base URL of the webhook endpoint');
    for (const [source, url] of Object.entries(adapter.webhookUrls) as [SourceName, string][]) {
      output(webhookOutputKey(source), url, `Point ${source} webhooks at this URL (POST)`);
    }
    output(OUTPUT_KEYS.queueUrl, adapter.queue.queueUrl, 'Main queue URL');
    output(OUTPUT_KEYS.dlqUrl, adapter.deadLetterQueue.queueUrl, 'Dead-letter queue URL');
    output(OUTPUT_KEYS.dashboardUrl, adapter.dashboardUrl, 'CloudWatch dashboard');
    output(OUTPUT_KEYS.moengageSecretName, adapter.moengageSecret.secretName, 'Put {"workspaceId","apiKey"} here');
    output(OUTPUT_KEYS.signingSecretName, adapter.signingSecret.secretName, 'Put {"<source>": "<signing secret>", ...} here');
    output(OUTPUT_KEYS.alarmTopicArn, adapter.alarmTopic.topicArn, 'SNS topic of the alarms: subscribe on-call here');
    output(OUTPUT_KEYS.dlqCommand, dlqCommand(this.stackName), 'Inspect the dead-letter queue');
    output(OUTPUT_KEYS.senderMaxConcurrency, String(adapter.senderMaxConcurrency), 'Sender event source maxConcurrency');
    if (adapter.stateTable) {
      output(OUTPUT_KEYS.stateTableName, adapter.stateTable.tableName, 'Per-user state table of the sender (versions, tombstones, applied event ids)');
    }
    if (adapter.customDomain) {
      output(OUTPUT_KEYS.customDomainTarget, adapter.customDomain.regionalDomainName, 'Point a CNAME (or alias) record of the custom domain here');
    }
  }
}

/**
 * The deployment environment: AWS_REGION first (the CDK CLI overwrites CDK_DEFAULT_REGION
 * when no AWS config exists), then CDK_DEFAULT_REGION; the account from CDK_DEFAULT_ACCOUNT.
 * Undefined (environment-agnostic) when neither is known.
 */
export function environmentFromProcess(env: NodeJS.ProcessEnv = process.env): Environment | undefined {
  const region = env.AWS_REGION || env.CDK_DEFAULT_REGION || undefined;
  const account = env.CDK_DEFAULT_ACCOUNT || undefined;
  if (!region && !account) return undefined;
  return { ...(account ? { account } : {}), ...(region ? { region } : {}) };
}

export interface BuildAdapterAppOptions extends LoadAppConfigOptions {
  /** The process environment (region and account). @default process.env */
  processEnv?: NodeJS.ProcessEnv;
  /** Register cdk-nag's AwsSolutions checks on the app. @default true */
  nag?: boolean;
}

/** Reads the configuration from the app's context and adds the stack (and cdk-nag) to the app. */
export function buildAdapterApp(app: App, options: BuildAdapterAppOptions = {}): MoEngageAdapterStack {
  const config = loadAppConfig((key) => app.node.tryGetContext(key), {
    contextKeys: Object.keys(app.node.getAllContext()),
    ...options,
  });
  const env = environmentFromProcess(options.processEnv ?? process.env);
  const stack = new MoEngageAdapterStack(app, config.stackName, { config, ...(env ? { env } : {}) });
  if (options.nag ?? true) applyNagChecks(app);
  return stack;
}

/**
 * Whether the CDK CLI runs the app for a command that deploys nothing: `cdk bootstrap`,
 * `destroy`, `list`, ... The CLI (aws-cdk 2.1148, `commandLineArgumentsToSettings`) bundles
 * assets only for deploy, diff, synth, watch, import, publish-assets and refactor; for every
 * other command it passes the context `aws:cdk:bundling-stacks` as an empty list.
 */
export function deploysNothing(app: App): boolean {
  const stacks: unknown = app.node.tryGetContext(BUNDLING_STACKS);
  return Array.isArray(stacks) && stacks.length === 0;
}

/** The id of the rule that makes a placeholder stack's template fail any deployment. */
export const NOT_DEPLOYABLE_RULE = 'NotDeployable';

/**
 * What bin/app.ts builds. A command that deploys nothing needs the stack's name and
 * environment, not the MoEngage data center: `npx cdk bootstrap aws://ACCOUNT_ID/REGION` (and
 * `cdk destroy`, `cdk list`) run the app too. Without a data center such a command gets a
 * placeholder stack of the same name and environment, whose template no deployment can apply
 * (a CloudFormation rule fails it before any change). Every other command, and every other
 * configuration problem, fails as `buildAdapterApp` does.
 */
export function buildCdkApp(app: App, options: BuildAdapterAppOptions = {}): Stack {
  if (!deploysNothing(app)) return buildAdapterApp(app, options);
  const config = loadAppConfig((key) => app.node.tryGetContext(key), {
    contextKeys: Object.keys(app.node.getAllContext()),
    ...options,
    dataCenterOptional: true,
  });
  if (config.moengageDc !== undefined || config.moengageBaseUrl !== undefined) return buildAdapterApp(app, options);
  const env = environmentFromProcess(options.processEnv ?? process.env);
  const stack = new Stack(app, config.stackName, {
    description: 'MoEngage webhook adapter: placeholder synthesized without moengageDc for a command that deploys nothing; not deployable',
    ...(env ? { env } : {}),
  });
  new CfnRule(stack, NOT_DEPLOYABLE_RULE, {
    assertions: [
      {
        assert: Fn.conditionEquals('moengageDc', 'missing'),
        assertDescription: `This template was synthesized without a data center and cannot be deployed. ${MISSING_DC_MESSAGE}`,
      },
    ],
  });
  return stack;
}
