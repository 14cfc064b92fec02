import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ArtifactStore } from '../functions/lib/artifact-store.js';
import { ReleaseStore } from '../functions/lib/store/release-store.js';

/**
 * The release table for `status`, `list` and `diff`, which only read: a DynamoDB client of its own, because
 * functions/lib/clients.ts loads every SDK client the handlers use (about 1.5 s of a command's start). Reads need no
 * marshalling options, and the table name comes straight from RELEASES_TABLE (the command checked it is set).
 */
export function readStore(): ReleaseStore {
  return new ReleaseStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), process.env.RELEASES_TABLE ?? '');
}

/**
 * The artifacts bucket for `diff`, which reads the catalog and the live contract: an S3 client of its own, set up as
 * functions/lib/clients.ts sets up the handlers' (path-style addressing on the embedded stack's s3rver, checksums only
 * when a request requires them). The bucket comes straight from ARTIFACTS_BUCKET (the command checked it is set).
 */
export function readArtifacts(): ArtifactStore {
  const s3 = new S3Client({
    forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return new ArtifactStore(s3, process.env.ARTIFACTS_BUCKET ?? '');
}
