/**
 * Alarms and the CloudWatch dashboard of the adapter. The alarm ids below are a public
 * contract: the runbook (docs/runbook.md) refers to them.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, RECEIVER_SERVICE, SENDER_SERVICE } from '../functions/core/names';

/** The Powertools `service` of each function (shared with the handlers; also POWERTOOLS_SERVICE_NAME). */
export { RECEIVER_SERVICE, SENDER_SERVICE };

/**
 * Every alarm the adapter creates. The CloudWatch alarm name is `<prefix>-<id>`, the prefix
 * being the stack name unless configured otherwise (e.g. `MoEngageAdapter-DlqNotEmpty`).
 * Each alarm notifies the alarm topic when it fires and when it recovers.
 */
export const ALARMS = [
  {
    id: 'DlqNotEmpty',
    condition: 'DLQ ApproximateNumberOfMessagesVisible > 0 (maximum, 1 minute)',
    meaning:
      'At least one webhook could not be delivered and was parked in the dead-letter queue with its reason. Inspect with `npx moengage-adapter dlq list --stack <StackName>`, fix the cause, then `dlq redrive`.',
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
] as const;

export type AlarmId = (typeof ALARMS)[number]['id'];
export const ALARM_IDS: readonly AlarmId[] = ALARMS.map((a) => a.id);

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
  /** HTTP API ingress only: its 5xx and 4xx counts are graphed too. */
  readonly apiMetrics?: { serverErrors: cloudwatch.IMetric; clientErrors: cloudwatch.IMetric; count: cloudwatch.IMetric };
}

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

/** The alarms (by id) and the dashboard. */
export class AdapterObservability extends Construct {
  readonly alarms: Readonly<Record<AlarmId, cloudwatch.Alarm>>;
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

    const definitions: Record<AlarmId, Omit<cloudwatch.AlarmProps, 'alarmName' | 'alarmDescription' | 'treatMissingData'>> = {
      DlqNotEmpty: {
        metric: dlqDepth,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      },
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
    };

    const action = new SnsAction(topic);
    const alarms = {} as Record<AlarmId, cloudwatch.Alarm>;
    for (const spec of ALARMS) {
      const alarm = new cloudwatch.Alarm(this, spec.id, {
        ...definitions[spec.id],
        alarmName: alarmName(namePrefix, spec.id),
        alarmDescription: `${spec.meaning} Condition: ${spec.condition}. Runbook: docs/runbook.md#${spec.id.toLowerCase()}`,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      alarms[spec.id] = alarm;
    }
    this.alarms = alarms;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: namePrefix,
      defaultInterval: Duration.hours(3),
    });
    const region = Stack.of(this).region;
    const w = (width: number) => ({ width, height: 6 });

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# MoEngage webhook adapter (${namePrefix})\nWebhooks in → SQS → MoEngage. Alarms: ${ALARMS.map((a) => `\`${a.id}\``).join(', ')}. Region ${region}.`,
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
        title: 'Dead-letter queue depth',
        ...w(12),
        left: [dlqDepth],
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
        alarms: ALARMS.map((a) => alarms[a.id]),
        width: 24,
        height: 3,
      }),
    );
  }
}
