/**
 * The per-user state store in Amazon DynamoDB (one item per source and user), used by the
 * sender only. One strongly consistent read before a delivery (a batch's users together, in
 * BatchGetItem requests of up to 100 keys; GetItem for a user read alone), one conditional
 * UpdateItem after MoEngage accepted it: the condition refuses to move a user's version
 * backwards, so that no writer can overwrite a newer state with an older one. Reads fetch the
 * whole item: its `a_<hash>` names are not known before it is read.
 *
 * Item: `pk` (`<source>#<hashed user>`), `v` (snapshot version), `del` (tombstone), `ids`
 * (hashes of the last applied event ids), `a_<hash>` (a partial source's per-attribute
 * versions), `ttl` (epoch seconds: the item expires `retention` after its last change). No PII:
 * the user and attribute names are hashed, versions are times and event ids.
 */
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { ENV } from '../core/names';
import type { EventClaim, StateCommit, UserState } from '../core/state';

export interface StateStore {
  /** The user's state (an empty one when the user has none). Rejects when the table cannot be read. */
  read(key: string): Promise<UserState>;
  /**
   * The states of several users at once (duplicates read once). Never rejects: a key whose
   * state could not be read (the table refused or did not answer) is absent from the map, and
   * its reader falls back to `read`.
   */
  readMany(keys: readonly string[]): Promise<Map<string, UserState>>;
  /**
   * Writes a commit. `conflict`: the condition failed (a newer version was applied meanwhile);
   * rejects when the table cannot be written.
   */
  commit(key: string, commit: StateCommit): Promise<'ok' | 'conflict'>;
  /**
   * Claims the Create Event of a provider event (key: eventClaimKey) for the delivery `token`
   * until `leaseUntilMs`: granted when nobody claimed it or a pending claim's lease ended.
   * Rejects when the table cannot be read or written.
   */
  claimEvent(key: string, token: string, leaseUntilMs: number): Promise<EventClaim>;
  /** Records that MoEngage accepted the claimed Create Event (for good: it is never sent again). */
  markEventSent(key: string): Promise<void>;
  /** Gives up `token`'s claim after a failed Create Event, so that the retry may claim it at once. */
  releaseEvent(key: string, token: string): Promise<void>;
}

export interface DynamoStateStoreOptions {
  client: Pick<DynamoDBClient, 'send'>;
  tableName: string;
  /** How long an item is kept after its last change, in seconds. */
  retentionSeconds: number;
  now: () => number;
  /** Waits between BatchGetItem rounds (unprocessed keys). Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter of those waits, in [0, 1). Default: Math.random. */
  random?: () => number;
}

/** Keys per BatchGetItem request (DynamoDB's limit). */
export const BATCH_GET_MAX_KEYS = 100;

/**
 * Unprocessed keys of a BatchGetItem (DynamoDB returns them when throttled) are asked again
 * after a wait drawn in [0, 50 ms × 2^retry) ("full jitter"), at most 3 times, and only while
 * the call is within the budget of a single read: the client's 2 attempts of 1 s
 * (dynamoClientFrom). Keys left over are read one by one by the sender.
 */
export const BATCH_GET_RETRIES = 3;
const BATCH_GET_BACKOFF_MS = 50;
const BATCH_GET_BUDGET_MS = 2_000;

export function dynamoStateStore(options: DynamoStateStoreOptions): StateStore {
  const { client, tableName } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;

  /** One chunk of readMany: its states into `states`, unprocessed keys asked again within the budget. */
  async function batchGet(chunk: string[], states: Map<string, UserState>, startedAt: number): Promise<void> {
    let pending = chunk;
    for (let retry = 0; ; retry++) {
      let unprocessed: string[];
      try {
        const out = await client.send(
          new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: pending.map((key) => ({ pk: { S: key } })), ConsistentRead: true } } }),
        );
        const found = new Map<string, Record<string, AttributeValue>>();
        for (const item of out.Responses?.[tableName] ?? []) if (item.pk?.S !== undefined) found.set(item.pk.S, item);
        const left = new Set((out.UnprocessedKeys?.[tableName]?.Keys ?? []).flatMap((k) => (k.pk?.S !== undefined ? [k.pk.S] : [])));
        for (const key of pending) if (!left.has(key)) states.set(key, stateOfItem(found.get(key)));
        unprocessed = pending.filter((key) => left.has(key));
      } catch {
        // The client's own retry failed too: these keys are read one by one by the sender.
        return;
      }
      if (unprocessed.length === 0 || retry >= BATCH_GET_RETRIES) return;
      const waitMs = Math.floor(random() * BATCH_GET_BACKOFF_MS * 2 ** retry);
      if (options.now() - startedAt + waitMs >= BATCH_GET_BUDGET_MS) return;
      await sleep(waitMs);
      pending = unprocessed;
    }
  }

  return {
    async read(key) {
      const out = await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: key } }, ConsistentRead: true }));
      return stateOfItem(out.Item);
    },
    async readMany(keys) {
      const states = new Map<string, UserState>();
      const unique = [...new Set(keys)];
      const chunks: string[][] = [];
      for (let i = 0; i < unique.length; i += BATCH_GET_MAX_KEYS) chunks.push(unique.slice(i, i + BATCH_GET_MAX_KEYS));
      const startedAt = options.now();
      await Promise.all(chunks.map((chunk) => batchGet(chunk, states, startedAt)));
      return states;
    },
    async commit(key, commit) {
      const input = updateOf(key, commit, Math.floor(options.now() / 1000) + options.retentionSeconds);
      try {
        await client.send(new UpdateItemCommand({ TableName: tableName, ...input }));
        return 'ok';
      } catch (err) {
        if (isConditionFailure(err)) return 'conflict';
        throw err;
      }
    },
    async claimEvent(key, token, leaseUntilMs) {
      const nowMs = options.now();
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: {
              pk: { S: key },
              st: { S: 'pending' },
              tok: { S: token },
              lease: { N: String(leaseUntilMs) },
              ttl: { N: String(Math.floor(nowMs / 1000) + options.retentionSeconds) },
            },
            ConditionExpression: 'attribute_not_exists(pk) OR (#st = :pending AND #lease < :now)',
            ExpressionAttributeNames: { '#st': 'st', '#lease': 'lease' },
            ExpressionAttributeValues: { ':pending': { S: 'pending' }, ':now': { N: String(nowMs) } },
          }),
        );
        return { outcome: 'claimed' };
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
      const out = await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: key } }, ConsistentRead: true }));
      if (out.Item?.st?.S === 'sent') return { outcome: 'sent' };
      // Pending (or gone since the condition failed): busy until its lease ends, at least a moment.
      const lease = Number(out.Item?.lease?.N ?? '0');
      return { outcome: 'busy', untilMs: Math.max(lease, nowMs) };
    },
    async markEventSent(key) {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: key } },
          UpdateExpression: 'SET #st = :sent, #ttl = :ttl REMOVE #tok, #lease',
          ExpressionAttributeNames: { '#st': 'st', '#ttl': 'ttl', '#tok': 'tok', '#lease': 'lease' },
          ExpressionAttributeValues: { ':sent': { S: 'sent' }, ':ttl': { N: String(Math.floor(options.now() / 1000) + options.retentionSeconds) } },
        }),
      );
    },
    async releaseEvent(key, token) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { pk: { S: key } },
            UpdateExpression: 'SET #lease = :zero',
            ConditionExpression: '#st = :pending AND #tok = :tok',
            ExpressionAttributeNames: { '#st': 'st', '#tok': 'tok', '#lease': 'lease' },
            ExpressionAttributeValues: { ':pending': { S: 'pending' }, ':tok': { S: token }, ':zero': { N: '0' } },
          }),
        );
      } catch (err) {
        // Claimed by another delivery since (our lease ended), or sent: nothing of ours to release.
        if (!isConditionFailure(err)) throw err;
      }
    },
  };
}

function isConditionFailure(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException || (err as Error)?.name === 'ConditionalCheckFailedException';
}

/** A stored item as a UserState. */
function stateOfItem(item: Record<string, AttributeValue> | undefined): UserState {
  const state: UserState = { attributes: {}, recentIds: [] };
  if (!item) return state;
  if (item.v?.S) state.version = item.v.S;
  if (item.del?.BOOL) state.deleted = true;
  if (item.ids?.L) state.recentIds = item.ids.L.flatMap((x) => (x.S ? [x.S] : []));
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith('a_') && value.S) state.attributes[name] = value.S;
  }
  return state;
}

/** The UpdateItem of a commit: the new values, and the condition that keeps versions from moving backwards. */
function updateOf(key: string, commit: StateCommit, ttlEpochSeconds: number) {
  const names: Record<string, string> = { '#ids': 'ids', '#ttl': 'ttl' };
  const values: Record<string, AttributeValue> = {
    ':ids': { L: commit.recentIds.map((id) => ({ S: id })) },
    ':ttl': { N: String(ttlEpochSeconds) },
  };
  const set = ['#ids = :ids', '#ttl = :ttl'];
  const remove: string[] = [];
  const conditions: string[] = [];
  if (commit.version !== undefined) {
    names['#v'] = 'v';
    names['#del'] = 'del';
    values[':v'] = { S: commit.version };
    set.push('#v = :v');
    if (commit.deleted) {
      values[':true'] = { BOOL: true };
      set.push('#del = :true');
    } else {
      remove.push('#del');
    }
    conditions.push('(attribute_not_exists(#v) OR #v < :v)');
  }
  if (commit.attributeKeys && commit.attributeVersion !== undefined) {
    names['#v'] = 'v';
    names['#del'] = 'del';
    values[':av'] = { S: commit.attributeVersion };
    conditions.push('(attribute_not_exists(#v) OR #v < :av)');
    commit.attributeKeys.forEach((attr, i) => {
      names[`#a${i}`] = attr;
      set.push(`#a${i} = :av`);
      conditions.push(`(attribute_not_exists(#a${i}) OR #a${i} < :av)`);
    });
    if (!remove.includes('#del')) remove.push('#del');
  }
  return {
    Key: { pk: { S: key } },
    UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
    ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/**
 * The sender's DynamoDB client: DYNAMODB_ENDPOINT points it at dynalite (local run, tests).
 * Its calls (single items, or batch reads of up to 100 items of a few hundred bytes) answer in
 * milliseconds; a call that takes a second is failing, and the message is better retried later
 * (it is never sent unguarded) than the invocation spent waiting: at most 2 attempts of 1 s each.
 */
export function dynamoClientFrom(env: NodeJS.ProcessEnv): DynamoDBClient {
  const endpoint = env[ENV.dynamodbEndpoint];
  const requestHandler = { requestTimeout: 1_000, connectionTimeout: 1_000 };
  if (endpoint) {
    return new DynamoDBClient({
      endpoint,
      region: env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'local' },
      maxAttempts: 2,
      requestHandler,
    });
  }
  return new DynamoDBClient({ maxAttempts: 2, requestHandler });
}
