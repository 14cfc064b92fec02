import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';

/**
 * SDK clients, created once per process on first use. Endpoints come from the standard `AWS_ENDPOINT_URL_*`
 * variables, so embedded mode needs no code path of its own.
 */
let ddb: DynamoDBDocumentClient | undefined;
let s3: S3Client | undefined;
let sfn: SFNClient | undefined;

export function documentClient(): DynamoDBDocumentClient {
  ddb ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
  return ddb;
}

/**
 * S3 checksums only when a request requires them: s3rver stores streamed uploads corrupted under the SDK's default
 * flexible checksums, and AWS accepts either way.
 */
export function s3Client(): S3Client {
  s3 ??= new S3Client({
    forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return s3;
}

export function sfnClient(): SFNClient {
  sfn ??= new SFNClient({});
  return sfn;
}

/** Drops the cached clients (embedded runtime restarts, tests). */
export function resetClients(): void {
  ddb?.destroy();
  s3?.destroy();
  sfn?.destroy();
  ddb = s3 = sfn = undefined;
}
