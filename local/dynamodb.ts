/**
 * The embedded DynamoDB of `npm run dev` and the tests: dynalite (in-process, memory-level,
 * DynamoDB's validation and conditional writes), bound to 127.0.0.1 only, with the per-user
 * state table created with the deployed table's key schema. The sender talks to it through
 * @aws-sdk/client-dynamodb, as deployed (DYNAMODB_ENDPOINT points the client here).
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

export const STATE_TABLE_NAME = 'moengage-adapter-state';

export interface LocalDynamo {
  endpoint: string;
  port: number;
  tableName: string;
  client: DynamoDBClient;
  /** Requests served, by operation (`GetItem`, `UpdateItem`, ...): what a deployed table bills. */
  readonly requests: Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

/** A DynamoDB client for a local endpoint: dummy region and credentials, endpoint pinned. */
export function createDynamoClient(endpoint: string, region = 'us-east-1'): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 3 });
}

/** Starts dynalite on 127.0.0.1 (`port` 0: a free port) and creates the state table. */
export async function startLocalDynamo(options: { port?: number; tableName?: string } = {}): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const requests: Record<string, number> = {};
  server.prependListener('request', (req) => {
    const target = req.headers['x-amz-target'];
    const op = typeof target === 'string' ? target.slice(target.indexOf('.') + 1) : 'unknown';
    requests[op] = (requests[op] ?? 0) + 1;
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
  return { endpoint, port, tableName, client, requests, stop };
}
