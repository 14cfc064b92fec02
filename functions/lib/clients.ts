import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * Every SDK client, created once per process on first use. Endpoints come from the standard `AWS_ENDPOINT_URL_*`
 * variables, so embedded mode needs no code path of its own. Domain classes take a client in their constructor;
 * these are what handlers pass. The PURE marks let esbuild drop the clients a Lambda bundle never calls.
 */
type Destroyable = { destroy(): void };
const made = new Map<string, Destroyable>();

function once<T extends Destroyable>(name: string, make: () => T): () => T {
  return () => {
    let client = made.get(name) as T | undefined;
    if (!client) {
      client = make();
      made.set(name, client);
    }
    return client;
  };
}

export const documentClient = /* @__PURE__ */ once('dynamodb', () =>
  DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  }),
);

/**
 * S3 checksums only when a request requires them: s3rver stores streamed uploads corrupted under the SDK's default
 * flexible checksums, and AWS accepts either way.
 */
export const s3Client = once(
  's3',
  () =>
    new S3Client({
      forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
);

export const sfnClient = /* @__PURE__ */ once('sfn', () => new SFNClient({}));
export const kmsClient = /* @__PURE__ */ once('kms', () => new KMSClient({}));
export const sesClient = /* @__PURE__ */ once('ses', () => new SESv2Client({}));
export const lambdaClient = /* @__PURE__ */ once('lambda', () => new LambdaClient({}));
export const cloudFormationClient = /* @__PURE__ */ once('cloudformation', () => new CloudFormationClient({}));
export const ecsClient = /* @__PURE__ */ once('ecs', () => new ECSClient({}));
export const apiGatewayClient = /* @__PURE__ */ once('apigateway', () => new APIGatewayClient({}));
export const secretsManagerClient = /* @__PURE__ */ once('secretsmanager', () => new SecretsManagerClient({}));
export const cloudWatchClient = /* @__PURE__ */ once('cloudwatch', () => new CloudWatchClient({}));

/** Drops the cached clients (embedded runtime restarts, tests). */
export function resetClients(): void {
  for (const client of made.values()) client.destroy();
  made.clear();
}
