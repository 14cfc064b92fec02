import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createBucket, createReleasesTable, startDynalite, startS3rver, type RunningServer } from '../../local/emulators.js';
import { resetClients } from '../../functions/lib/clients.js';
import { resetConfig } from '../../functions/lib/config.js';

export interface TestEmulators {
  dynamo: RunningServer;
  s3: RunningServer;
  table: string;
  bucket: string;
  dir: string;
  stop(): Promise<void>;
}

/**
 * Starts dynalite and s3rver on free loopback ports, creates the table and bucket, and points the SDK at them
 * through the standard AWS_ENDPOINT_URL_* variables, exactly as embedded mode does.
 */
export async function startTestEmulators(): Promise<TestEmulators> {
  const dir = await mkdtemp(path.join(tmpdir(), 'launchway-test-'));
  const dynamo = await startDynalite();
  const s3 = await startS3rver({ directory: path.join(dir, 's3') });
  const table = 'launchway-releases';
  const bucket = 'launchway-artifacts';
  await createReleasesTable(dynamo.url, table);
  await createBucket(s3.url, bucket);
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.url;
  process.env.AWS_ENDPOINT_URL_S3 = s3.url;
  process.env.RELEASES_TABLE = table;
  process.env.ARTIFACTS_BUCKET = bucket;
  resetClients();
  resetConfig();
  return {
    dynamo,
    s3,
    table,
    bucket,
    dir,
    async stop() {
      resetClients();
      await Promise.all([dynamo.close(), s3.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
