import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { BUCKET_LAYOUT } from '../functions/lib/bucket-layout.js';
import type { Catalog } from '../functions/lib/catalog.js';

/**
 * Puts the validated catalog at CATALOG_KEY on every deploy, in `scope` (the pipeline). An AwsCustomResource
 * PutObject rather than BucketDeployment: it synthesizes offline without Docker or a staged asset, needs only
 * s3:PutObject on that one key, and does not prune the rest of the prefix. Returns the JSON it uploads too.
 */
export function deployCatalog(
  scope: Construct,
  bucket: s3.IBucket,
  catalog: Catalog,
  logGroup: logs.ILogGroup,
): { resource: cr.AwsCustomResource; body: string } {
  const body = JSON.stringify(catalog, null, 2);
  const putCatalog: cr.AwsSdkCall = {
    service: 'S3',
    action: 'putObject',
    parameters: {
      Bucket: bucket.bucketName,
      Key: BUCKET_LAYOUT.catalogKey,
      Body: body,
      ContentType: 'application/json',
    },
    physicalResourceId: cr.PhysicalResourceId.of(BUCKET_LAYOUT.catalogKey),
  };
  const resource = new cr.AwsCustomResource(scope, 'CatalogObject', {
    onUpdate: putCatalog,
    policy: cr.AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects(BUCKET_LAYOUT.catalogKey)],
      }),
    ]),
    installLatestAwsSdk: false,
    logGroup,
  });
  return { resource, body };
}
