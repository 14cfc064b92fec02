import { S3Client } from '@aws-sdk/client-s3';
import { ArtifactStore } from '../functions/lib/artifact-store.js';

/**
 * The artifacts bucket for `diff` and `report`, which only read: an S3 client of its own, in a module apart from
 * read-store.ts so `status` and `list` do not load S3. Set up as functions/lib/clients.ts sets up the handlers'
 * (path-style addressing on the embedded stack's s3rver, checksums only when a request requires them). The bucket
 * comes straight from ARTIFACTS_BUCKET (the command checked it is set).
 */
export function readArtifacts(): ArtifactStore {
  const s3 = new S3Client({
    forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return new ArtifactStore(s3, process.env.ARTIFACTS_BUCKET ?? '');
}
