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
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { ENV } from '../core/names';
import type { StateCommit, UserState } from '../core/state';

export interface StateStore {
  /** The user's state (an empty one when the user has none). Rejects when the table cannot be read. */
  read(key: string): Promise<UserState>;
  /**
   * Writes a commit. `conflict`: the condition failed (a newer version was applied meanwhile);
   * rejects when the table cannot be written.
   */
  commit(key: string, commit: StateCommit): Promise<'ok' | 'conflict'>;
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
        if (err instanceof ConditionalCheckFailedException || (err as Error)?.name === 'ConditionalCheckFailedException') return 'conflict';
        throw err;
      }
    },
  };
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
