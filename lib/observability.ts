/**
 * Alarms and the CloudWatch dashboard of the adapter. The alarm ids below are a public
 * contract: the runbook (docs/runbook.md) refers to them.
 */
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, RECEIVER_SERVICE, SENDER_SERVICE } from '../functions/core/names';
import { toolCommand } from './tool-command';

/** The Powertools `service` of each function (shared with the handlers; also POWERTOOLS_SERVICE_NAME). */
export { RECEIVER_SERVICE, SENDER_SERVICE };

/**
 * Every alarm the adapter creates. The CloudWatch alarm name is `<prefix>-<id>`, the prefix
 * being the stack name unless configured otherwise (e.g. `MoEngageAdapter-DlqNotEmpty`).
 * Each alarm notifies the alarm topic when it fires and when it recovers. An alarm with `when`
 * exists only in deployments that have that part (`httpApi`: the HTTP API ingress;
 * `stateStore`: the per-user state table).
 */
export const ALARMS = [
  {
    id: 'DlqNotEmpty',
    condition: 'DLQ ApproximateNumberOfMessagesVisible > 0 (maximum, 1 minute)',
    meaning:
      'At least one webhook could not be delivered and was parked in the dead-letter queue with its reason. Inspect with `' + toolCommand('dlq list --stack <StackName>') + '` (from a clone of the adapter\'s repository), fix the cause, then `dlq redrive`.',
  },
  {
    id: 'DlqArrivals',
    condition: 'DLQ NumberOfMessagesSent > 0 (sum, 5 minutes)',
    meaning:
      'The sender parked new messages in the dead-letter queue during the last 5 minutes. DlqNotEmpty notifies only when the DLQ goes from empty to not empty; this one fires again for every new period with arrivals while the DLQ stays undrained. Inspect with `' + toolCommand('dlq list --stack <StackName>') + '`.',
  },
  {
    id: 'QueueBacklogOld',
    condition: 'main queue ApproximateAgeOfOldestMessage > queueAgeAlarmMinutes (default 15 min; maximum, 5 minutes)',
    meaning:
      'Deliveries are stuck or slower than arrivals: MoEngage is failing or throttling, the credentials are wrong, or the sender cannot run. Users see stale profiles in MoEngage until it clears.',
  },
  {
    id: 'SenderErrors',
    condition: 'sender Lambda Errors >= 1 (sum, 5 minutes)',
    meaning:
      'Sender invocations failed as a whole (crash, timeout, misconfiguration such as an unreadable secret). Messages are retried by SQS and reach the DLQ after maxReceiveCount receives.',
  },
  {
    id: 'SenderThrottles',
    condition: 'sender Lambda Throttles >= 1 (sum, 5 minutes)',
    meaning:
      'Lambda refused to run the sender: the account or a reserved-concurrency limit is exhausted. Deliveries are delayed; raise the account limit or lower senderMaxConcurrency.',
  },
  {
    id: 'ReceiverErrors',
    condition: 'receiver Lambda Errors >= 1 (sum, 5 minutes)',
    meaning: 'Receiver invocations failed as a whole: providers got a 5xx and will retry. Check the receiver logs.',
  },
  {
    id: 'ReceiverThrottles',
    condition: 'receiver Lambda Throttles >= 1 (sum, 5 minutes)',
    meaning:
      'Lambda refused to run the receiver (account concurrency exhausted, or receiverReservedConcurrency reached): providers got 429 and retry on their schedule. Lambda Errors does not count throttles.',
  },
  {
    id: 'ReceiverServerErrors',
    condition: 'custom metric ReceiverServerErrors + receiver Lambda Errors >= 1 (sum, 5 minutes)',
    meaning:
      'The receiver answered 5xx: SQS did not accept a message (EnqueueFailed), a signing secret is missing or unreadable, the function is misconfigured, or it failed. Providers retry on their schedule; a long outage can exhaust their retries.',
  },
  {
    id: 'MoEngageAuthFailures',
    condition: 'custom metric MoEngageAuthFailures >= 1 (sum, 5 minutes)',
    meaning:
      'MoEngage answered 401/403/409: the workspace id or API key in the MoEngage secret is wrong or was rotated, or the account is blocked. Fix the secret; affected messages retry, then park as auth_failed.',
  },
  {
    id: 'ApiServerErrors',
    when: 'httpApi',
    condition: 'HTTP API 5xx >= 1 (sum, 5 minutes)',
    meaning:
      'The HTTP API answered 5xx: the receiver answered 5xx, timed out (API Gateway waits 29 s at most), was throttled or could not be invoked. Providers retry on their schedule.',
  },
  {
    id: 'StateTableErrors',
    when: 'stateStore',
    condition:
      'state table ThrottledRequests + SystemErrors (BatchGetItem, GetItem, PutItem, UpdateItem) + custom metric StateStoreErrors >= 1 (sum, 5 minutes)',
    meaning:
      'The per-user state table throttled or failed requests, or the sender could not read or write it (access denied, missing table, network). Affected messages are never sent unguarded: they are retried through SQS, and park as state_unavailable if it lasts.',
  },
] as const satisfies readonly { id: string; condition: string; meaning: string; when?: 'httpApi' | 'stateStore' }[];

export type AlarmId = (typeof ALARMS)[number]['id'];
/** The alarms every deployment has. */
export type CoreAlarmId = Exclude<(typeof ALARMS)[number], { when: string }>['id'];
/** The alarms of optional parts (`when`). */
export type OptionalAlarmId = Exclude<AlarmId, CoreAlarmId>;
export const ALARM_IDS: readonly AlarmId[] = ALARMS.map((a) => a.id);

/** The alarms a deployment creates, given whether it has the HTTP API ingress and the state table. */
export function alarmIdsFor(parts: { httpApi: boolean; stateStore: boolean }): AlarmId[] {
  return ALARMS.filter((a) => !('when' in a) || parts[a.when]).map((a) => a.id);
}

/** Where an alarm's runbook section is when no runbookBaseUrl is configured: the path in the repository. */
const RUNBOOK_PATH = 'docs/runbook.md';

/** CloudWatch's limit on an alarm description. */
export const ALARM_DESCRIPTION_LIMIT = 1024;

/**
 * The link to an alarm's runbook section: `<runbookBaseUrl>/docs/runbook.md#<id in lower case>`,
 * or the repository path `docs/runbook.md#<id>` without a base URL.
 */
export function runbookLink(id: string, runbookBaseUrl?: string): string {
  const path = `${RUNBOOK_PATH}#${id.toLowerCase()}`;
  return runbookBaseUrl ? `${runbookBaseUrl.replace(/\/+$/, '')}/${path}` : path;
}

/**
 * The description of an alarm: what it means (with the stack's name in its commands, when
 * known), its condition and the link to its runbook section.
 */
export function alarmDescription(spec: { id: string; meaning: string; condition: string }, runbookBaseUrl?: string, stackName?: string): string {
  const meaning = stackName ? spec.meaning.replaceAll('<StackName>', stackName) : spec.meaning;
  return `${meaning} Condition: ${spec.condition}. Runbook: ${runbookLink(spec.id, runbookBaseUrl)}`;
}

/** The CloudWatch alarm name of an alarm id. */
export function alarmName(prefix: string, id: AlarmId): string {
  return `${prefix}-${id}`;
}

export interface AdapterObservabilityProps {
  /** Prefix of the alarm names and the dashboard name (usually the stack name). */
  readonly namePrefix: string;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly receiver: IFunction;
  readonly sender: IFunction;
  readonly topic: ITopic;
  /** QueueBacklogOld threshold. */
  readonly queueAgeThreshold: Duration;
  /**
   * Where the repository's files are browsable, e.g. `https://github.com/acme/moengage-webhook-adapter/blob/v1.2.0`:
   * each alarm description links to `<runbookBaseUrl>/docs/runbook.md#<alarm id>`.
   * @default none: the descriptions name the path `docs/runbook.md#<alarm id>`
   */
  readonly runbookBaseUrl?: string;
  /** HTTP API ingress only: its 5xx count is alarmed (ApiServerErrors), its 5xx and 4xx counts graphed. */
  readonly apiMetrics?: { serverErrors: cloudwatch.IMetric; clientErrors: cloudwatch.IMetric; count: cloudwatch.IMetric };
  /** The per-user state table (stateStore): alarmed (StateTableErrors) and graphed. */
  readonly stateTable?: ITable;
}

/** The state table operations the sender uses (its IAM grant is exactly these). */
export const STATE_TABLE_OPERATIONS = [Operation.BATCH_GET_ITEM, Operation.GET_ITEM, Operation.PUT_ITEM, Operation.UPDATE_ITEM] as const;

const FIVE_MINUTES = Duration.minutes(5);

function customMetric(metricName: string, service: string, statistic = 'Sum', label?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic,
    period: FIVE_MINUTES,
    ...(label ? { label } : {}),
  });
}

/**
 * The sum over every value of one extra dimension (e.g. WebhookReceived by `source`), as a
 * single series. Search expressions can be graphed but not alarmed on.
 */
function searchSum(metricName: string, service: string, dimension: string, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SUM(SEARCH('{${METRICS_NAMESPACE},service,${dimension}} MetricName="${metricName}" service="${service}"', 'Sum', 300))`,
    usingMetrics: {},
    label,
    period: FIVE_MINUTES,
  });
}

/** One series per value of the extra dimension. */
function searchEach(metricName: string, service: string, dimension: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRICS_NAMESPACE},service,${dimension}} MetricName="${metricName}" service="${service}"', 'Sum', 300)`,
    usingMetrics: {},
    label: '',
    period: FIVE_MINUTES,
  });
}

/**
 * The sum over the sender's operations (BatchGetItem, GetItem, PutItem, UpdateItem) of a
 * DynamoDB metric that CloudWatch emits per `TableName` and `Operation` (ThrottledRequests,
 * SystemErrors; on-demand tables too). CDK's `metric...ForOperations` helpers name their per-operation ids after the
 * operation alone, so two of them cannot share an expression: these ids carry a prefix.
 */
function perOperationSum(table: ITable, metricName: string, idPrefix: string, label: string): cloudwatch.MathExpression {
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  for (const op of STATE_TABLE_OPERATIONS) {
    usingMetrics[`${idPrefix}${op}`] = table.metric(metricName, {
      dimensionsMap: { TableName: table.tableName, Operation: op },
      statistic: 'Sum',
      period: FIVE_MINUTES,
    });
  }
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics).map((id) => `FILL(${id}, 0)`).join(' + '),
    usingMetrics,
    label,
    period: FIVE_MINUTES,
  });
}

/** The alarms (by id) and the dashboard. */
export type AdapterAlarms = Readonly<Record<CoreAlarmId, cloudwatch.Alarm>> & Readonly<Partial<Record<OptionalAlarmId, cloudwatch.Alarm>>>;

export class AdapterObservability extends Construct {
  readonly alarms: AdapterAlarms;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: AdapterObservabilityProps) {
    super(scope, id);
    const { queue, deadLetterQueue: dlq, receiver, sender, topic, namePrefix } = props;

    const receiverErrors = receiver.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum', label: 'Receiver errors' });
    const senderErrors = sender.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum', label: 'Sender errors' });
    const enqueueFailed = customMetric(METRIC.enqueueFailed, RECEIVER_SERVICE, 'Sum', 'Enqueue failed');
    const serverErrors = customMetric(METRIC.serverErrors, RECEIVER_SERVICE, 'Sum', 'Receiver 5xx answers');
    const authFailures = customMetric(METRIC.authFailures, SENDER_SERVICE, 'Sum', 'MoEngage auth failures');
    const dlqDepth = dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum', label: 'DLQ messages' });
    const oldestAge = queue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: 'Maximum', label: 'Oldest message age (s)' });

    const dlqArrivals = dlq.metricNumberOfMessagesSent({ period: FIVE_MINUTES, statistic: 'Sum', label: 'Parked (messages sent to the DLQ)' });
    const receiverThrottles = receiver.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum', label: 'Receiver throttles' });
    const table = props.stateTable;
    const tableMetrics = table
      ? {
          throttled: perOperationSum(table, 'ThrottledRequests', 'throttled', 'Throttled requests'),
          systemErrors: perOperationSum(table, 'SystemErrors', 'systemErrors', 'System errors'),
          storeErrors: customMetric(METRIC.stateStoreErrors, SENDER_SERVICE, 'Sum', 'Sender state store errors'),
        }
      : undefined;

    type Definition = Omit<cloudwatch.AlarmProps, 'alarmName' | 'alarmDescription' | 'treatMissingData'>;
    const atLeastOne = (metric: cloudwatch.IMetric): Definition => ({
      metric,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
    const definitions: Record<CoreAlarmId, Definition> & Partial<Record<OptionalAlarmId, Definition>> = {
      DlqNotEmpty: {
        metric: dlqDepth,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      },
      DlqArrivals: {
        metric: dlqArrivals,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      },
      ReceiverThrottles: atLeastOne(receiverThrottles),
      QueueBacklogOld: {
        metric: oldestAge,
        threshold: props.queueAgeThreshold.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      },
      SenderErrors: {
        metric: senderErrors,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      },
      SenderThrottles: {
        metric: sender.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      },
      ReceiverErrors: {
        metric: receiverErrors,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      },
      ReceiverServerErrors: {
        metric: new cloudwatch.MathExpression({
          expression: 'FILL(serverErrors, 0) + FILL(receiverErrors, 0)',
          usingMetrics: { serverErrors, receiverErrors },
          label: 'Receiver 5xx answers',
          period: FIVE_MINUTES,
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      },
      MoEngageAuthFailures: {
        metric: authFailures,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      },
      ...(props.apiMetrics ? { ApiServerErrors: atLeastOne(props.apiMetrics.serverErrors) } : {}),
      ...(tableMetrics
        ? {
            StateTableErrors: atLeastOne(
              new cloudwatch.MathExpression({
                expression: 'FILL(throttled, 0) + FILL(systemErrors, 0) + FILL(storeErrors, 0)',
                usingMetrics: tableMetrics,
                label: 'State table throttles and errors',
                period: FIVE_MINUTES,
              }),
            ),
          }
        : {}),
    };

    const action = new SnsAction(topic);
    const stackName = Token.isUnresolved(Stack.of(this).stackName) ? undefined : Stack.of(this).stackName;
    const alarms: Partial<Record<AlarmId, cloudwatch.Alarm>> = {};
    const created = ALARMS.filter((spec) => definitions[spec.id] !== undefined);
    for (const spec of created) {
      const definition = definitions[spec.id]!;
      const alarm = new cloudwatch.Alarm(this, spec.id, {
        ...definition,
        alarmName: alarmName(namePrefix, spec.id),
        alarmDescription: alarmDescription(spec, props.runbookBaseUrl, stackName),
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      alarms[spec.id] = alarm;
    }
    this.alarms = alarms as AdapterAlarms;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: namePrefix,
      defaultInterval: Duration.hours(3),
    });
    const region = Stack.of(this).region;
    const w = (width: number) => ({ width, height: 6 });

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# MoEngage webhook adapter (${namePrefix})\nWebhooks in → SQS → MoEngage. Alarms: ${created.map((a) => `\`${a.id}\``).join(', ')}. Region ${region}.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Webhooks (per 5 min)',
        ...w(12),
        left: [
          searchSum(METRIC.received, RECEIVER_SERVICE, 'source', 'Received'),
          searchSum(METRIC.enqueued, RECEIVER_SERVICE, 'source', 'Enqueued'),
          searchSum(METRIC.rejected, RECEIVER_SERVICE, 'reason', 'Rejected (4xx)'),
          searchSum(METRIC.ignored, RECEIVER_SERVICE, 'source', 'Ignored'),
          enqueueFailed,
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Rejected webhooks by reason',
        ...w(6),
        left: [searchEach(METRIC.rejected, RECEIVER_SERVICE, 'reason')],
      }),
      new cloudwatch.GraphWidget({
        title: 'Received by source',
        ...w(6),
        left: [searchEach(METRIC.received, RECEIVER_SERVICE, 'source')],
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'MoEngage deliveries (per 5 min)',
        ...w(12),
        left: [
          customMetric(METRIC.delivered, SENDER_SERVICE, 'Sum', 'Delivered'),
          searchSum(METRIC.deliveryFailed, SENDER_SERVICE, 'class', 'Failed attempts'),
          searchSum(METRIC.parked, SENDER_SERVICE, 'reason', 'Parked in DLQ'),
          customMetric(METRIC.throttled, SENDER_SERVICE, 'Sum', 'MoEngage 429'),
          authFailures,
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Delivery latency, acceptance → MoEngage 200 (ms)',
        ...w(6),
        left: [
          customMetric(METRIC.deliveryLatency, SENDER_SERVICE, 'p50', 'p50'),
          customMetric(METRIC.deliveryLatency, SENDER_SERVICE, 'p99', 'p99'),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Parked by reason',
        ...w(6),
        left: [searchEach(METRIC.parked, SENDER_SERVICE, 'reason')],
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Main queue',
        ...w(12),
        left: [
          queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum', label: 'Waiting' }),
          queue.metricApproximateNumberOfMessagesNotVisible({ period: Duration.minutes(1), statistic: 'Maximum', label: 'In flight / backing off' }),
        ],
        right: [queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum', label: 'Oldest message age (s)' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queue: depth and arrivals',
        ...w(12),
        left: [dlqDepth],
        right: [dlqArrivals],
      }),
    );
    const lambdaWidgets = (fn: IFunction, name: string) => [
      new cloudwatch.GraphWidget({
        title: `${name}: invocations, errors, throttles`,
        ...w(6),
        left: [
          fn.metricInvocations({ period: FIVE_MINUTES, statistic: 'Sum', label: 'Invocations' }),
          fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum', label: 'Errors' }),
          fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum', label: 'Throttles' }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: `${name}: duration (ms)`,
        ...w(6),
        left: [
          fn.metricDuration({ period: FIVE_MINUTES, statistic: 'p50', label: 'p50' }),
          fn.metricDuration({ period: FIVE_MINUTES, statistic: 'p99', label: 'p99' }),
          fn.metricDuration({ period: FIVE_MINUTES, statistic: 'Maximum', label: 'max' }),
        ],
      }),
    ];
    this.dashboard.addWidgets(...lambdaWidgets(receiver, 'Receiver'), ...lambdaWidgets(sender, 'Sender'));
    if (table && tableMetrics) {
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'State table: throttles and errors (per 5 min)',
          ...w(12),
          left: [tableMetrics.throttled, tableMetrics.systemErrors, tableMetrics.storeErrors],
          right: [
            table.metricConsumedReadCapacityUnits({ period: FIVE_MINUTES, statistic: 'Sum', label: 'Read units' }),
            table.metricConsumedWriteCapacityUnits({ period: FIVE_MINUTES, statistic: 'Sum', label: 'Write units' }),
          ],
        }),
        new cloudwatch.GraphWidget({
          title: 'Per-user state: guarded events (per 5 min)',
          ...w(12),
          left: [
            searchSum(METRIC.staleDropped, SENDER_SERVICE, 'source', 'Stale, dropped'),
            searchSum(METRIC.duplicatesDropped, SENDER_SERVICE, 'source', 'Duplicates, dropped'),
            searchSum(METRIC.unversioned, SENDER_SERVICE, 'source', 'Unversioned, applied'),
            searchSum(METRIC.usersDeleted, SENDER_SERVICE, 'source', 'Users deleted'),
          ],
        }),
      );
    }
    if (props.apiMetrics) {
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'HTTP API',
          ...w(12),
          left: [props.apiMetrics.count, props.apiMetrics.clientErrors, props.apiMetrics.serverErrors],
        }),
      );
    }
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: created.map((a) => alarms[a.id]!),
        width: 24,
        height: 3,
      }),
    );
  }
}
