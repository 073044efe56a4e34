/**
 * The adapter as a CDK library, for users' own CDK apps:
 *
 * ```ts
 * import { MoEngageAdapter } from 'moengage-webhook-adapter';
 * new MoEngageAdapter(stack, 'MoEngage', { moengageDc: '01' });
 * ```
 */
export {
  MoEngageAdapter,
  alarmTopicDisplayName,
  QUEUE_RETENTION,
  RECOMMENDED_MIN_RECEIVE_COUNT,
  STATE_TABLE_KEY,
  STATE_TABLE_TTL_ATTRIBUTE,
  ASSETS_DIR,
  LAMBDA_HANDLER,
  adapterLambdaCode,
  type MoEngageAdapterProps,
  type IngressOptions,
  type AdapterConfigInput,
} from './moengage-adapter';
export {
  MoEngageAdapterStack,
  buildAdapterApp,
  buildCdkApp,
  deploysNothing,
  adapterPropsFromConfig,
  environmentFromProcess,
  webhookOutputKey,
  dlqCommand,
  OUTPUT_KEYS,
  type MoEngageAdapterStackProps,
  type BuildAdapterAppOptions,
} from './adapter-stack';
export {
  appConfigSchema,
  ingressSchema,
  loadAppConfig,
  parseAppConfig,
  AppConfigError,
  APP_CONFIG_KEYS,
  DATA_CENTERS,
  DEFAULT_STACK_NAME,
  LOG_RETENTION_DAYS,
  MISSING_DC_MESSAGE,
  type AppConfig,
  type AppConfigInput,
  type DataCenter,
  type IngressConfig,
  type LoadAppConfigOptions,
} from './app-config';
export {
  deriveSenderConcurrency,
  MIN_SENDER_CONCURRENCY,
  MAX_SENDER_CONCURRENCY,
  type SenderConcurrencyInput,
} from './concurrency';
export { TRACK_USER_LIMIT_PER_MINUTE, BULK_IMPORT_LIMIT_PER_MINUTE } from '../functions/core/moengage/limits';
export {
  ALARMS,
  ALARM_IDS,
  alarmIdsFor,
  alarmName,
  STATE_TABLE_OPERATIONS,
  alarmDescription,
  runbookLink,
  AdapterObservability,
  RECEIVER_SERVICE,
  SENDER_SERVICE,
  type AlarmId,
  type CoreAlarmId,
  type OptionalAlarmId,
  type AdapterAlarms,
  type AdapterObservabilityProps,
} from './observability';
export { acknowledge, applyNagChecks, NAG_REASONS } from './nag';
export { TOOL_COMMAND, toolCommand } from './tool-command';
