/**
 * The embedded DynamoDB of `npm run dev` and the tests: dynalite (in-process, memory-level,
 * DynamoDB's validation and conditional writes), bound to 127.0.0.1 only, with the per-user
 * state table created with the deployed table's key schema. The sender talks to it through
 * @aws-sdk/client-dynamodb, as deployed (DYNAMODB_ENDPOINT points the client here).
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

const STATE_TABLE_NAME = 'moengage-adapter-state';

export interface LocalDynamo {
  endpoint: string;
  port: number;
  tableName: string;
  client: DynamoDBClient;
  /** Requests served, by operation (`GetItem`, `BatchGetItem`, `UpdateItem`, ...). */
  readonly requests: Readonly<Record<string, number>>;
  /**
   * Items the requests asked for, by operation: 1 per single-item request, the keys of a
   * BatchGetItem, the put and delete requests of a BatchWriteItem. What an on-demand table bills
   * for items under 1 KB (4 KB for reads): one request unit per item, batched or not.
   */
  readonly items: Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

/** A DynamoDB client for a local endpoint: dummy region and credentials, endpoint pinned. */
function createDynamoClient(endpoint: string, region = 'us-east-1'): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 3 });
}

/** Starts dynalite on 127.0.0.1 (`port` 0: a free port) and creates the state table. */
export async function startLocalDynamo(options: { port?: number; tableName?: string } = {}): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const requests: Record<string, number> = {};
  const items: Record<string, number> = {};
  server.prependListener('request', (req) => {
    const target = req.headers['x-amz-target'];
    const op = typeof target === 'string' ? target.slice(target.indexOf('.') + 1) : 'unknown';
    requests[op] = (requests[op] ?? 0) + 1;
    if (op !== 'BatchGetItem' && op !== 'BatchWriteItem') {
      items[op] = (items[op] ?? 0) + 1;
      return;
    }
    // dynalite reads the body too: both listeners see every chunk.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      items[op] = (items[op] ?? 0) + batchItemCount(op, Buffer.concat(chunks).toString('utf8'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const tableName = options.tableName ?? STATE_TABLE_NAME;
  const client = createDynamoClient(endpoint);
  const stop = async () => {
    client.destroy();
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    // The deployed table's key schema (lib/: partition key `pk`, on-demand).
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint, port, tableName, client, requests, items, stop };
}

/** The items a BatchGetItem (its keys) or a BatchWriteItem (its put and delete requests) asks for; 0 for a body that is not one. */
function batchItemCount(op: 'BatchGetItem' | 'BatchWriteItem', body: string): number {
  let request: { RequestItems?: Record<string, unknown> };
  try {
    request = JSON.parse(body) as typeof request;
  } catch {
    return 0;
  }
  let n = 0;
  for (const table of Object.values(request.RequestItems ?? {})) {
    const list = op === 'BatchGetItem' ? (table as { Keys?: unknown })?.Keys : table;
    if (Array.isArray(list)) n += list.length;
  }
  return n;
}
