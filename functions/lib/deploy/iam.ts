import type { DeployTarget } from './targets.js';

/**
 * The least privilege each deploy target needs, as plain data: the CDK construct turns it into IAM statements on
 * the functions that start, poll and roll back deployments, and tests read it without synthesizing anything.
 *
 * What is deliberately not here: reading the artifact. UpdateFunctionCode (S3Bucket/S3Key) and CloudFormation's
 * TemplateURL make the service read the object with the caller's permissions, and the presigned URL of the http
 * target is signed by the caller; the deploy functions' read grant on the artifacts bucket covers all three.
 */

/** One IAM statement (Allow). */
export interface DeployPermission {
  readonly actions: string[];
  readonly resources: string[];
  /** IAM conditions, e.g. `{ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } }`. */
  readonly conditions?: Record<string, Record<string, string | string[]>>;
}

/** Where the pipeline runs. Values may be CDK tokens (`Aws.PARTITION`, …): they are only concatenated. */
export interface AwsEnvironment {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/** The statements a target's provider needs; empty for targets that call no AWS API (local-process). */
export function deployPermissions(target: DeployTarget, env: AwsEnvironment): DeployPermission[] {
  switch (target.type) {
    case 'local-process':
      return [];
    case 'lambda-alias':
      return lambdaAlias(target, env);
    case 'cloudformation':
      return cloudFormation(target, env);
    case 'ecs-service':
      return ecsService(target, env);
    case 'http':
      return httpHook(target, env);
    default: {
      const unknown: never = target;
      throw new Error(`no deploy permissions defined for target type ${String((unknown as { type: unknown }).type)}`);
    }
  }
}

function lambdaAlias(target: Extract<DeployTarget, { type: 'lambda-alias' }>, env: AwsEnvironment): DeployPermission[] {
  const arn = /^arn:(?<partition>[^:]+):lambda:(?<region>[^:]+):(?<account>\d{12}):function:(?<name>[^:]+)$/.exec(
    target.functionName,
  )?.groups;
  const fn = arn
    ? `arn:${arn.partition}:lambda:${arn.region}:${arn.account}:function:${arn.name}`
    : `arn:${env.partition}:lambda:${env.region}:${env.account}:function:${target.functionName}`;
  const actions = [
    'lambda:GetAlias',
    'lambda:UpdateFunctionCode',
    'lambda:GetFunctionConfiguration',
    'lambda:PublishVersion',
    'lambda:UpdateAlias',
    // A first deploy creates the alias.
    'lambda:CreateAlias',
  ];
  if (target.functionUrl) actions.push('lambda:GetFunctionUrlConfig');
  // The unqualified ARN for code and versions; `:*` for the alias and qualified reads of a published version.
  const statements: DeployPermission[] = [{ actions, resources: [fn, `${fn}:*`] }];
  const alarms = target.trafficShifting.alarms;
  if (alarms.length > 0) {
    statements.push({
      actions: ['cloudwatch:DescribeAlarms'],
      resources: alarms.map((name) => `arn:${env.partition}:cloudwatch:${env.region}:${env.account}:alarm:${name}`),
    });
  }
  return statements;
}

function cloudFormation(target: Extract<DeployTarget, { type: 'cloudformation' }>, env: AwsEnvironment): DeployPermission[] {
  const region = target.region ?? env.region;
  // Stack ids end in a random suffix, so the stack is named by `stack/<name>/*`; change set actions authorize on it.
  const stack = `arn:${env.partition}:cloudformation:${region}:${env.account}:stack/${target.stackName}/*`;
  return [
    {
      actions: [
        'cloudformation:DescribeStacks',
        'cloudformation:CreateChangeSet',
        'cloudformation:DescribeChangeSet',
        'cloudformation:ExecuteChangeSet',
        'cloudformation:DeleteChangeSet',
        'cloudformation:DescribeStackEvents',
      ],
      resources: [stack],
    },
    // CloudFormation creates the stack's resources with this service role, so the pipeline itself needs no rights
    // on them; it may hand this one role to CloudFormation and to nothing else.
    {
      actions: ['iam:PassRole'],
      resources: [target.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
    },
  ];
}

function ecsService(target: Extract<DeployTarget, { type: 'ecs-service' }>, env: AwsEnvironment): DeployPermission[] {
  const arn = /^arn:(?<partition>[^:]+):ecs:(?<region>[^:]+):(?<account>\d{12}):cluster\/(?<name>.+)$/.exec(target.cluster)?.groups;
  const where = arn ?? { partition: env.partition, region: env.region, account: env.account, name: target.cluster };
  const statements: DeployPermission[] = [
    {
      actions: ['ecs:DescribeServices', 'ecs:UpdateService'],
      resources: [`arn:${where.partition}:ecs:${where.region}:${where.account}:service/${where.name}/${target.service}`],
    },
    // DescribeTaskDefinition and RegisterTaskDefinition support no resource-level permissions: IAM accepts only "*"
    // for them. Neither starts anything; what runs is decided by UpdateService, which is scoped above.
    { actions: ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'], resources: ['*'] },
  ];
  if (target.taskRoleArns.length > 0) {
    // A new revision passes the task and execution roles to ECS; only the roles the catalog lists, only to ECS tasks.
    statements.push({
      actions: ['iam:PassRole'],
      resources: [...target.taskRoleArns],
      conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    });
  }
  return statements;
}

/**
 * A hook behind API Gateway IAM auth needs execute-api:Invoke from the caller: POST on the deploy path, GET on the
 * API's paths (the status URL's path is the hook's choice). The account is a wildcard because the hook's API may
 * live in the service team's account; the API id pins it. Hooks elsewhere (a function URL, a custom domain) cannot
 * be mapped to an ARN from their URL: their owner grants the pipeline's role in the hook's resource policy.
 */
function httpHook(target: Extract<DeployTarget, { type: 'http' }>, env: AwsEnvironment): DeployPermission[] {
  if (target.auth !== 'sigv4' || target.signingService !== 'execute-api') return [];
  const url = new URL(target.deployUrl);
  const api = /^(?<id>[a-z0-9]+)\.execute-api\.(?<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.groups;
  const [, stage, ...rest] = url.pathname.split('/');
  if (!api || !stage) return [];
  const base = `arn:${env.partition}:execute-api:${api.region}:*:${api.id}/${stage}`;
  return [{ actions: ['execute-api:Invoke'], resources: [`${base}/POST/${rest.join('/')}`, `${base}/GET/*`] }];
}
