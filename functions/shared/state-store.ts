/**
 * The per-user state store in Amazon DynamoDB (one item per source and user), used by the
 * sender only. One strongly consistent GetItem before a delivery, one conditional UpdateItem
 * after MoEngage accepted it: the condition refuses to move a user's version backwards, so that
 * no writer can overwrite a newer state with an older one.
 *
 * Item: `pk` (`<source>#<hashed user>`), `v` (snapshot version), `del` (tombstone), `ids`
 * (hashes of the last applied event ids), `a_<hash>` (a partial source's per-attribute
 * versions), `ttl` (epoch seconds: the item expires `retention` after its last change). No PII:
 * the user and attribute names are hashed, versions are times and event ids.
 */
import {
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
}

export function dynamoStateStore(options: DynamoStateStoreOptions): StateStore {
  const { client, tableName } = options;
  return {
    async read(key) {
      const out = await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: key } }, ConsistentRead: true }));
      return stateOfItem(out.Item);
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
export function stateOfItem(item: Record<string, AttributeValue> | undefined): UserState {
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
export function updateOf(key: string, commit: StateCommit, ttlEpochSeconds: number) {
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
 * Single-item calls answer in milliseconds; a call that takes a second is failing, and the
 * message is better retried later (it is never sent unguarded) than the invocation spent
 * waiting: at most 2 attempts of 1 s each.
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
