import { Stack, type RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct, IConstruct } from 'constructs';
import { BUCKET_LAYOUT } from '../functions/lib/bucket-layout.js';
import type { Catalog } from '../functions/lib/catalog.js';
import { deployPermissions } from '../functions/lib/deploy/iam.js';
import { targetSecretArns, testSecretArns } from '../functions/lib/secret-grants.js';
import { HANDLER_NAMES, type HandlerName } from '../functions/steps.js';
import { interopGatewayStatements, validationKeyReadStatement } from './interop-grants.js';
import { LaunchwayFunction, type SesSender } from './launchway-function.js';

/**
 * The functions that roll production and the gateway back: the Rollback step, the execution-status handler that
 * does the same for an execution stopped, timed out or failed past the production deploy, and the operate function
 * behind `launchway rollback`.
 */
export const ROLLBACK_HOLDERS = ['rollback', 'execution-status', 'operate'] as const;

/** What the handlers are given and may touch. */
export interface PipelineFunctionsProps {
  /** Environment shared by every handler. */
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly table: dynamodb.Table;
  readonly bucket: s3.Bucket;
  /** The catalog upload, which every function waits for: a new catalog must be in place before they start. */
  readonly catalogObject: IConstruct;
  /** Each deploy target's least privilege goes to the functions that deploy, poll and roll back. */
  readonly catalog: Catalog;
  readonly signingKey: kms.Key;
  readonly sender: SesSender;
  /** The interop custom domain, when there is one: the provisioner maps each service's API under it. */
  readonly interopDomainName?: string;
}

/**
 * One function per handler of the step table (and the approval API) in `scope`, the pipeline, each with exactly
 * the grants its handler needs: the table to all, bucket reads, writes under its own prefix, the signing key,
 * SES, API Gateway management, the deploy targets.
 */
export function createPipelineFunctions(scope: Construct, props: PipelineFunctionsProps): Record<HandlerName, LaunchwayFunction> {
  const { bucket, signingKey, sender } = props;
  const functions = {} as Record<HandlerName, LaunchwayFunction>;
  for (const name of HANDLER_NAMES) {
    const fn = new LaunchwayFunction(scope, `${pascal(name)}Function`, {
      handlerName: name,
      environment: props.environment,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    // Every handler records its step and reads the catalog or the release's artifacts. The approval API reads only
    // the catalog and signs short-lived links to smoke reports, so what it may read is exactly that: a presigned
    // URL can do no more than the role that signed it.
    props.table.grantReadWriteData(fn);
    if (name === 'approval-api') {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [bucket.arnForObjects(BUCKET_LAYOUT.catalogKey), bucket.arnForObjects(`${BUCKET_LAYOUT.reportsPrefix}*`)],
        }),
      );
    } else {
      bucket.grantRead(fn);
    }
    fn.node.addDependency(props.catalogObject);
    functions[name] = fn;
  }
  grantDeployTargets(scope, props.catalog, functions);
  grantCatalogSecrets(scope, props.catalog, functions);

  for (const name of ['smoke-test-staging', 'validate-production'] as const) {
    functions[name].allowWritesUnder(bucket, BUCKET_LAYOUT.reportsPrefix);
  }
  functions['publish-release-notes'].allowWritesUnder(bucket, BUCKET_LAYOUT.releaseNotesPrefix);
  functions.approval.allowSigningKey(signingKey, 'kms:GenerateMac');
  functions.approval.allowSendEmailFrom(sender);
  functions.finalize.allowSendEmailFrom(sender);
  functions['execution-status'].allowSendEmailFrom(sender);
  functions.operate.allowSendEmailFrom(sender);
  functions['approval-api'].allowSigningKey(signingKey, 'kms:VerifyMac');
  // The confirmation page re-signs its form so one page can offer both Approve and Reject to the same approver.
  functions['approval-api'].allowSigningKey(signingKey, 'kms:GenerateMac');
  // The interop layer is API Gateway REST APIs created per service at run time, so no API id is known here;
  // the grant is limited to the API Gateway resources and methods the provisioner uses.
  for (const name of ['provision-interop', ...ROLLBACK_HOLDERS] as const) {
    for (const statement of interopGatewayStatements(scope, props.interopDomainName)) {
      functions[name].addToRolePolicy(statement);
    }
    if (props.interopDomainName) functions[name].addEnvironment('INTEROP_DOMAIN_NAME', props.interopDomainName);
  }
  functions['validate-production'].addToRolePolicy(validationKeyReadStatement(scope));
  return functions;
}

/**
 * Each catalog target's least privilege (functions/lib/deploy/iam.ts) for the functions that start and poll
 * deployments; the rollback holders get the production targets' only, since they roll back production alone.
 */
function grantDeployTargets(scope: Construct, catalog: Catalog, functions: Record<HandlerName, LaunchwayFunction>): void {
  const { partition, region, account } = Stack.of(scope);
  for (const service of Object.values(catalog.services)) {
    const targets = [
      { target: service.staging, holders: ['deploy', 'deploy-status'] as const },
      { target: service.production, holders: ['deploy', 'deploy-status', ...ROLLBACK_HOLDERS] as const },
    ];
    for (const { target, holders } of targets) {
      for (const permission of deployPermissions(target, { partition, region, account })) {
        for (const name of holders) {
          functions[name].addToRolePolicy(
            new iam.PolicyStatement({ actions: permission.actions, resources: permission.resources, conditions: permission.conditions }),
          );
        }
      }
    }
  }
}

/** The functions that read the secrets the catalog names: the test runs, and whoever starts a target's versions. */
const SECRET_READERS = ['smoke-test-staging', 'validate-production', 'deploy', 'deploy-status', ...ROLLBACK_HOLDERS] as const;

/**
 * `secretsmanager:GetSecretValue` on exactly the secrets the catalog names (functions/lib/secret-grants.ts): each
 * stage's test secrets to the function testing that stage, each target's `secretEnv` to the functions that deploy,
 * poll and (production) roll back that target. These functions read secrets from Secrets Manager.
 */
function grantCatalogSecrets(scope: Construct, catalog: Catalog, functions: Record<HandlerName, LaunchwayFunction>): void {
  const { partition, region, account } = Stack.of(scope);
  const env = { partition, region, account };
  const resources = new Map<HandlerName, Set<string>>(SECRET_READERS.map((name) => [name, new Set()]));
  const add = (names: readonly HandlerName[], arns: string[]) => {
    for (const name of names) for (const arn of arns) resources.get(name)?.add(arn);
  };
  for (const service of Object.values(catalog.services)) {
    add(['smoke-test-staging'], testSecretArns(service, 'staging', env));
    add(['validate-production'], testSecretArns(service, 'production', env));
    add(['deploy', 'deploy-status'], targetSecretArns(service.staging, env));
    add(['deploy', 'deploy-status', ...ROLLBACK_HOLDERS], targetSecretArns(service.production, env));
  }
  for (const [name, arns] of resources) {
    functions[name].addEnvironment('SECRETS_SOURCE', 'secrets-manager');
    if (arns.size === 0) continue;
    functions[name].addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [...arns].sort() }));
  }
}

/** `deploy-status` -> `DeployStatus`, for construct ids. */
function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, _dash: string, c: string) => c.toUpperCase());
}
