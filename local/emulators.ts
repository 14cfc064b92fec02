import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { HISTORY_INDEX } from '../functions/lib/store/table.js';

const require = createRequire(import.meta.url);

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Credentials the emulators accept; set so the SDK never looks for real ones. */
// s3rver accepts only its own fixed key pair; dynalite accepts any.
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const LOCAL_REGION = 'us-east-1';

/** Starts dynalite (DynamoDB wire API) on 127.0.0.1. `port: 0` picks a free port. */
export async function startDynalite(opts: { port?: number; path?: string } = {}): Promise<RunningServer> {
  const dynalite = require('dynalite') as (o: Record<string, unknown>) => import('node:http').Server;
  if (opts.path) await mkdir(opts.path, { recursive: true });
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(opts.path ? { path: opts.path } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Starts s3rver (S3 wire API) on 127.0.0.1 with its data under `directory`. */
export async function startS3rver(opts: { directory: string; port?: number }): Promise<RunningServer> {
  const S3rver = require('s3rver') as new (
    o: Record<string, unknown>,
  ) => {
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  };
  await mkdir(opts.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: opts.port ?? 0,
    silent: true,
    directory: opts.directory,
    resetOnClose: false,
    allowMismatchedSignatures: true,
  });
  const address = await server.run();
  return { url: `http://127.0.0.1:${address.port}`, port: address.port, close: () => server.close() };
}

/** Creates the releases table with the same keys and history index the CDK construct declares. */
export async function createReleasesTable(endpoint: string, table: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'gsi1pk', AttributeType: 'S' },
          { AttributeName: 'gsi1sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: HISTORY_INDEX,
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
  } catch (err) {
    if ((err as Error).name !== 'ResourceInUseException') throw err;
  }
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: table });
  client.destroy();
}

/** Creates the artifacts bucket unless it exists. */
export async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const client = new S3Client({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as Error).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
  client.destroy();
}
