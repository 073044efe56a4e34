/**
 * Names shared by the Lambda code, the CDK construct (alarms, dashboard), the local run
 * and the DLQ tool. Changing one here changes it everywhere.
 */

/**
 * The Powertools `service` of each function: the `service` dimension of its custom metrics
 * (the construct's alarms and dashboard filter on it) and the `service` key of its logs.
 */
export const RECEIVER_SERVICE = 'moengage-adapter-receiver';
export const SENDER_SERVICE = 'moengage-adapter-sender';

/** CloudWatch namespace of the adapter's custom metrics (Powertools Metrics, EMF). */
export const METRICS_NAMESPACE = 'MoEngageAdapter';

/** Custom metric names. All carry the `service` dimension; some add one more, noted. */
export const METRIC = {
  /** receiver: a webhook arrived for a known source (dimension `source`). */
  received: 'WebhookReceived',
  /** receiver: verified, but an event type the source does not act on (dimension `source`). */
  ignored: 'WebhookIgnored',
  /** receiver: answered 4xx (dimension `reason`: signature, bad_request, too_large, unmappable, ...). */
  rejected: 'WebhookRejected',
  /** receiver: accepted by SQS, answered 202 (dimension `source`). */
  enqueued: 'WebhookEnqueued',
  /** receiver: SQS did not accept the message, answered 5xx. */
  enqueueFailed: 'EnqueueFailed',
  /** receiver: any 5xx answer (queue refused, secrets unreadable or missing, misconfigured): alarmed. */
  serverErrors: 'ReceiverServerErrors',
  /** receiver: custom attributes dropped by the naming rule (reserved / moe_ / invalid names). */
  attributesDropped: 'AttributesDropped',
  /** sender: MoEngage answered 200 success (count of users). */
  delivered: 'Delivered',
  /** sender: one failed attempt (dimension `class`: permanent, auth, rate_limited, transient). */
  deliveryFailed: 'DeliveryFailed',
  /** sender: a message parked in the DLQ by the sender (dimension `reason`). */
  parked: 'Parked',
  /** sender: milliseconds from the receiver's acceptance to MoEngage's 200. */
  deliveryLatency: 'DeliveryLatency',
  /** sender: MoEngage answered 401 / 403 / 409 (credentials or account): alarmed. */
  authFailures: 'MoEngageAuthFailures',
  /** sender: MoEngage answered 429. */
  throttled: 'MoEngageThrottled',
  /** sender: an event older than the user's state already applied: not sent (dimension `source`). */
  staleDropped: 'StaleDropped',
  /** sender: a (source, event id) already applied: not sent again (dimension `source`). */
  duplicatesDropped: 'DuplicatesDropped',
  /** sender: an event with no usable version, applied unguarded (dimension `source`). */
  unversioned: 'UnversionedApplied',
  /** sender: MoEngage Delete User calls accepted. */
  usersDeleted: 'UsersDeleted',
  /** sender: MoEngage events (the `events` option) accepted by Create Event or in a Bulk Import request (dimension `source`). */
  eventsSent: 'EventsSent',
  /** sender: a provider event whose MoEngage events were already sent: not sent again (dimension `source`). */
  eventDuplicatesDropped: 'EventDuplicatesDropped',
  /** sender: the state store could not be read or written (the message is retried later). */
  stateStoreErrors: 'StateStoreErrors',
} as const;

/** Environment variables the Lambda handlers read. The CDK construct and `npm run dev` set them. */
export const ENV = {
  queueUrl: 'QUEUE_URL',
  dlqUrl: 'DLQ_URL',
  /** `fifo` or `standard`. */
  queueType: 'QUEUE_TYPE',
  /** Local run only: SQS endpoint override (fauxqs). */
  sqsEndpoint: 'SQS_ENDPOINT',
  /** Deployed: ARN of the JSON secret `{ "clerk": "whsec_..." | ["whsec_new", "whsec_old"], ... }`. */
  signingSecretsArn: 'SIGNING_SECRETS_ARN',
  /** Deployed: ARN of the JSON secret `{ "workspaceId": "...", "apiKey": "..." }`. */
  moengageSecretArn: 'MOENGAGE_SECRET_ARN',
  /** Inline JSON adapter configuration (deployed); `ADAPTER_CONFIG` is a file path (local run). */
  adapterConfigJson: 'ADAPTER_CONFIG_JSON',
  adapterConfigPath: 'ADAPTER_CONFIG',
  moengageDc: 'MOENGAGE_DC',
  moengageBaseUrl: 'MOENGAGE_BASE_URL',
  moengageWorkspaceId: 'MOENGAGE_WORKSPACE_ID',
  moengageApiKey: 'MOENGAGE_API_KEY',
  /** `customer` (default) or `bulk`. */
  deliveryMode: 'MOENGAGE_DELIVERY_MODE',
  /** The queue's maxReceiveCount: the sender parks a message itself on its last allowed receive. */
  maxReceiveCount: 'MAX_RECEIVE_COUNT',
  /** Concurrent MoEngage calls inside one sender invocation. */
  senderParallelism: 'SENDER_PARALLELISM',
  /** MoEngage request timeout in ms. */
  moengageTimeoutMs: 'MOENGAGE_TIMEOUT_MS',
  /** Workspace-wide user updates per minute this sender may use (shared by its concurrent invocations). */
  rateLimitPerMinute: 'MOENGAGE_RATE_LIMIT_PER_MINUTE',
  /** Create Event events per minute for the workspace (default 30,000, MoEngage's documented limit). */
  eventRateLimitPerMinute: 'MOENGAGE_EVENT_RATE_LIMIT_PER_MINUTE',
  /** Bulk Import users per minute for the workspace (default 60,000). */
  bulkRateLimitPerMinute: 'MOENGAGE_BULK_RATE_LIMIT_PER_MINUTE',
  /** The event source's maxConcurrency: each container paces itself at 1/N of the workspace budget. */
  senderMaxConcurrency: 'SENDER_MAX_CONCURRENCY',
  /** Local emulation only: Secrets Manager endpoint override. */
  secretsManagerEndpoint: 'SECRETS_MANAGER_ENDPOINT',
  /**
   * Tests only: the minimum interval (ms) between two forced re-reads of a secret (after a 401
   * or a signature failure); default 30 s for the MoEngage secret, 60 s for the signing secrets.
   */
  secretRefreshIntervalMs: 'SECRET_REFRESH_INTERVAL_MS',
  /** The per-user state table (DynamoDB). Unset: stateless delivery (`stateStore: false`). */
  stateTable: 'STATE_TABLE_NAME',
  /** Days a user's state and tombstone are kept after its last change (the replay window; default 7). */
  stateRetentionDays: 'STATE_RETENTION_DAYS',
  /** Local run and tests only: DynamoDB endpoint override (dynalite). */
  dynamodbEndpoint: 'DYNAMODB_ENDPOINT',
  /** Public base URL of the webhook endpoint, for providers whose signature covers the URL. */
} as const;

/**
 * MoEngage requests one invocation keeps in flight when SENDER_PARALLELISM is unset: a whole
 * batch of 10 (each user's messages still in order). The invocation is billed until its slowest
 * request answers, so sending the batch at once is the cheapest (BENCHMARKS.md, figure 5).
 */
export const DEFAULT_SENDER_PARALLELISM = 10;
