import { Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { BUCKET_LAYOUT } from '../functions/lib/bucket-layout.js';
import { deployPermissions } from '../functions/lib/deploy/iam.js';
import { STATE_MACHINE_HANDLERS } from './handlers.js';
import { interopGatewayGrants } from './interop-grants.js';
import type { LaunchwayFunction } from './launchway-function.js';
import { ROLLBACK_HOLDERS } from './pipeline-functions.js';
import type { ReleasePipeline } from './release-pipeline.js';

/**
 * The cdk-nag AwsSolutions findings on a ReleasePipeline that were reviewed and accepted, each acknowledged on the
 * one resource it concerns, for the one finding (wildcard findings by their exact resource or action), with the
 * reason. Anything new, such as a grant that adds a wildcard, stays a finding until someone reviews it here.
 *
 * cdk-nag v3 reads CDK's own acknowledgements (`Validations.of(scope).acknowledge`); its v2 `NagSuppressions` API
 * no longer exists.
 */
export function suppressReviewedFindings(pipeline: ReleasePipeline): void {
  const arnOf = (construct: IConstruct) => `<${logicalIdOf(construct)}.Arn>`;
  const tableArn = arnOf(pipeline.table);
  const bucketArn = arnOf(pipeline.bucket);

  for (const fn of Object.values(pipeline.functions)) {
    acknowledge(
      fn,
      'L1',
      'nodejs22.x is pinned on purpose: the bundles are built for it (esbuild target node22) and tested on it; the runtime moves with that target, not whenever Lambda adds a version.',
    );
    const role = fn.role!;
    acknowledge(
      role,
      'IAM5[Resource::*]',
      'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) have no resource-level permissions.',
    );
    acknowledge(
      role,
      `IAM5[Resource::${tableArn}/index/*]`,
      'The history index (gsi1) of the releases table: index names are not known to grantReadWriteData, and gsi1 is the only index.',
    );
    // Only where the role holds the bucket-wide read grant (the approval API reads two prefixes instead).
    if (grantsAction(role, 's3:GetBucket*')) {
      const reads =
        "Read-only grant on the artifacts bucket: the handler reads the deployed catalog and the release's own artifacts, reports and notes, whose keys contain the release id and so cannot be listed ahead.";
      for (const finding of ['Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*', `Resource::${bucketArn}/*`]) {
        acknowledge(role, `IAM5[${finding}]`, reads);
      }
    }
  }
  acknowledge(
    pipeline.functions['approval-api'].role!,
    `IAM5[Resource::${bucketArn}/${BUCKET_LAYOUT.reportsPrefix}*]`,
    "GetObject on smoke reports only: the approval page links each release's JUnit and JSON reports through short-lived presigned URLs, and report keys contain the release id, so they cannot be listed ahead.",
  );

  const writes = (fn: LaunchwayFunction, prefix: string, what: string) => {
    acknowledge(
      fn.role!,
      `IAM5[Resource::${bucketArn}/${prefix}*]`,
      `Writes ${what} under ${prefix}; each release gets its own keys below the prefix.`,
    );
    acknowledge(
      fn.role!,
      'IAM5[Action::s3:Abort*]',
      `s3:AbortMultipartUpload under ${prefix} only, so an interrupted upload can be cleaned up.`,
    );
  };
  writes(pipeline.functions['smoke-test-staging'], BUCKET_LAYOUT.reportsPrefix, 'reports');
  writes(pipeline.functions['validate-production'], BUCKET_LAYOUT.reportsPrefix, 'reports');
  writes(pipeline.functions['publish-release-notes'], BUCKET_LAYOUT.releaseNotesPrefix, 'release notes');

  const gatewayPaths = new Set(
    interopGatewayGrants(pipeline.domains?.interopDomainName)
      .flatMap((g) => g.paths)
      .filter((p) => p.includes('*')),
  );
  acknowledge(
    pipeline.functions['validate-production'].role!,
    'IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/apikeys/*]',
    'ValidateProduction reads the value of the validation API key the provisioner created at run time (GetApiKey); key ids are unknown at deploy, and GET on /apikeys/* in this region is the only API Gateway permission it has.',
  );
  acknowledge(
    pipeline.executionStatusDeadLetters,
    'SQS3',
    'This queue is itself the dead-letter queue of the execution-status rule target and of the function’s asynchronous invocations; a person reads it when its alarm fires, so it needs no queue behind it.',
  );
  for (const name of ['provision-interop', ...ROLLBACK_HOLDERS] as const) {
    for (const path of gatewayPaths) {
      acknowledge(
        pipeline.functions[name].role!,
        `IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::${path}]`,
        'The interop REST APIs, keys, usage plans and stages are created at run time, so their ids are unknown at deploy; each API Gateway method is allowed only on the management paths the provisioner calls it on, in this region.',
      );
    }
  }

  // Deploy targets (functions/lib/deploy/iam.ts): wildcards the providers cannot avoid, per target. Rendered with
  // cdk-nag's own spelling of the pseudo parameters, so the ids match its findings exactly.
  const nagEnv = { partition: '<AWS::Partition>', region: '<AWS::Region>', account: '<AWS::AccountId>' };
  const deployers = [pipeline.functions.deploy, pipeline.functions['deploy-status'], ...ROLLBACK_HOLDERS.map((n) => pipeline.functions[n])];
  for (const [service, config] of Object.entries(pipeline.catalog.services)) {
    for (const target of [config.staging, config.production]) {
      for (const permission of deployPermissions(target, nagEnv)) {
        for (const resource of permission.resources.filter((r) => r.includes('*'))) {
          const reason = deployWildcardReason(target.type, resource, service);
          for (const fn of deployers) acknowledge(fn.role!, `IAM5[Resource::${resource}]`, reason);
        }
      }
    }
  }

  acknowledge(
    pipeline.node.findChild('PrepareStopsSupersededReleases'),
    `IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${logicalIdOf(pipeline.stateMachine)}.Name>:*]`,
    "StopExecution on this state machine's executions only, whose names (release ids) are not known in advance: Prepare stops the older releases a newer one supersedes (queue 'supersede').",
  );

  const machineRole = pipeline.stateMachine.role;
  acknowledge(
    machineRole,
    'IAM5[Resource::*]',
    'X-Ray tracing and the CloudWatch Logs delivery actions Step Functions logging needs have no resource-level permissions.',
  );
  for (const { name } of STATE_MACHINE_HANDLERS) {
    acknowledge(
      machineRole,
      `IAM5[Resource::${arnOf(pipeline.functions[name])}:*]`,
      `Invoke of ${name} through a qualified ARN (a version or alias) of that one function.`,
    );
  }

  const api = pipeline.approvalApi;
  acknowledge(
    api,
    'APIG2',
    'API Gateway validates the required approvalId path parameter. The POST body is an HTML form (application/x-www-form-urlencoded), which API Gateway models cannot describe; the handler validates it with zod.',
  );
  acknowledge(
    api.deploymentStage,
    'APIG3',
    'No WAF web ACL by default: the stage is throttled (5 rps, burst 10), every link is HMAC-signed with an expiry, and GET changes nothing. Associate an account web ACL with the stage where policy requires one.',
  );
  for (const method of api.methods) {
    if (method === pipeline.approvalDecisionMethod) {
      acknowledge(
        method,
        'COG4',
        "AWS_IAM authorization, not Cognito: `launchway approve|reject` signs with the approver's own AWS identity (SigV4), and the handler maps the caller ARN to an approver through the catalog.",
      );
      continue;
    }
    const reason =
      'The signed link is the credential: approvers open it from email, without an AWS or Cognito identity. POST verifies the KMS HMAC signature, the expiry and the approver before it records a decision; GET changes nothing.';
    acknowledge(method, 'APIG4', reason);
    acknowledge(method, 'COG4', reason);
  }
  const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
  if (cloudWatchRole) {
    acknowledge(
      cloudWatchRole,
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'The account-level role API Gateway assumes to write access and execution logs; AWS documents this managed policy for it. Set apiGatewayCloudWatchRole: false where the account already has one.',
    );
  }

  acknowledge(
    pipeline.bucket,
    'S1',
    'No server access logs: the bucket holds release artifacts written by CI and the pipeline through IAM-scoped roles, and CloudTrail records the API calls. Add CloudTrail S3 data events where object-level audit is required.',
  );

  // The AwsCustomResource provider function that uploads the catalog (its role is the custom resource's principal).
  acknowledge(
    pipeline.catalogObject.grantPrincipal as unknown as IConstruct,
    'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    `The CDK-managed provider function of the catalog upload (AwsCustomResource) is created with the basic execution policy; it runs only during deploys, and its own permissions are s3:PutObject on ${BUCKET_LAYOUT.catalogKey}.`,
  );

  const ci = pipeline.githubCiRole;
  if (ci) {
    const uploads = BUCKET_LAYOUT.releaseUploadsPrefix;
    acknowledge(
      ci.role,
      `IAM5[Resource::${bucketArn}/${uploads}*]`,
      `CI uploads each release's files under ${uploads}<service>/<version>/<commit>/, keys known only when the release is made.`,
    );
    const machine = logicalIdOf(pipeline.stateMachine);
    acknowledge(
      ci.role,
      `IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${machine}"}]}]}:*]`,
      'DescribeExecution on executions of this state machine only; execution names are derived from each release.',
    );
  }
}

/** Why a deploy target's grant holds a wildcard (see functions/lib/deploy/iam.ts). */
function deployWildcardReason(type: string, resource: string, service: string): string {
  if (resource === '*') {
    return `${service} (${type}): ecs:DescribeTaskDefinition and ecs:RegisterTaskDefinition support no resource-level permissions; what runs is decided by UpdateService, scoped to the one service.`;
  }
  switch (type) {
    case 'lambda-alias':
      return `${service} (lambda-alias): qualified ARNs of the one target function, for its alias and its published versions.`;
    case 'cloudformation':
      return `${service} (cloudformation): a stack id ends in a random suffix, so the one stack is named stack/<name>/*.`;
    case 'http':
      return `${service} (http): execute-api:Invoke on the hook's own API id and stage; the account is open because the hook may live in the service team's account, and GET covers the status paths the hook chooses.`;
    default:
      return `${service} (${type}): the target's own resources only (functions/lib/deploy/iam.ts).`;
  }
}

/** Whether any statement of the role's default policy lists this action, exactly as written. */
function grantsAction(role: iam.IRole, action: string): boolean {
  const policy = role.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
  const statements = (policy?.document.toJSON() as { Statement?: { Action: string | string[] }[] } | undefined)?.Statement ?? [];
  return statements.some((s) => [s.Action].flat().includes(action));
}

function acknowledge(scope: IConstruct, finding: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions-${finding}`, reason });
}

/** The CloudFormation logical id of a construct's resource, as cdk-nag prints it in finding ids. */
function logicalIdOf(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  const stack = Stack.of(element);
  return stack.resolve(stack.getLogicalId(element)) as string;
}
