import { describe, expect, it } from 'vitest';
import { deployPermissions } from '../../functions/lib/deploy/iam.js';
import { DeployTargetSchema } from '../../functions/lib/deploy/targets.js';

const env = { partition: 'aws', region: 'us-east-1', account: '111122223333' };
const permissionsOf = (target: Record<string, unknown>) => deployPermissions(DeployTargetSchema.parse(target), env);

describe('deployPermissions', () => {
  it('needs nothing for a local process', () => {
    expect(permissionsOf({ type: 'local-process' })).toEqual([]);
  });

  it('scopes lambda-alias to the function and its qualifiers, adding alarms and the URL lookup only when used', () => {
    expect(permissionsOf({ type: 'lambda-alias', functionName: 'orders-api' })).toEqual([
      {
        actions: [
          'lambda:GetAlias',
          'lambda:UpdateFunctionCode',
          'lambda:GetFunctionConfiguration',
          'lambda:PublishVersion',
          'lambda:UpdateAlias',
          'lambda:CreateAlias',
        ],
        resources: [
          'arn:aws:lambda:us-east-1:111122223333:function:orders-api',
          'arn:aws:lambda:us-east-1:111122223333:function:orders-api:*',
        ],
      },
    ]);
    const withExtras = permissionsOf({
      type: 'lambda-alias',
      functionName: 'arn:aws:lambda:eu-west-1:444455556666:function:orders-api',
      functionUrl: true,
      trafficShifting: { type: 'linear', alarms: ['orders-5xx', 'orders-p99'] },
    });
    expect(withExtras[0].actions).toContain('lambda:GetFunctionUrlConfig');
    // The function's own ARN wins over the pipeline's region and account.
    expect(withExtras[0].resources).toEqual([
      'arn:aws:lambda:eu-west-1:444455556666:function:orders-api',
      'arn:aws:lambda:eu-west-1:444455556666:function:orders-api:*',
    ]);
    expect(withExtras[1]).toEqual({
      actions: ['cloudwatch:DescribeAlarms'],
      resources: [
        'arn:aws:cloudwatch:us-east-1:111122223333:alarm:orders-5xx',
        'arn:aws:cloudwatch:us-east-1:111122223333:alarm:orders-p99',
      ],
    });
  });

  it('scopes cloudformation to the stack in its region and passes only its service role, only to CloudFormation', () => {
    const role = 'arn:aws:iam::111122223333:role/orders-cfn';
    expect(permissionsOf({ type: 'cloudformation', stackName: 'orders', roleArn: role, region: 'eu-west-1' })).toEqual([
      {
        actions: [
          'cloudformation:DescribeStacks',
          'cloudformation:CreateChangeSet',
          'cloudformation:DescribeChangeSet',
          'cloudformation:ExecuteChangeSet',
          'cloudformation:DeleteChangeSet',
          'cloudformation:DescribeStackEvents',
        ],
        resources: ['arn:aws:cloudformation:eu-west-1:111122223333:stack/orders/*'],
      },
      {
        actions: ['iam:PassRole'],
        resources: [role],
        conditions: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
      },
    ]);
  });

  it('scopes ecs-service to the service, with "*" only where ECS allows nothing else, and passes only the listed roles', () => {
    const roles = ['arn:aws:iam::111122223333:role/task', 'arn:aws:iam::111122223333:role/exec'];
    expect(permissionsOf({ type: 'ecs-service', cluster: 'prod', service: 'orders', containerName: 'app', taskRoleArns: roles })).toEqual([
      { actions: ['ecs:DescribeServices', 'ecs:UpdateService'], resources: ['arn:aws:ecs:us-east-1:111122223333:service/prod/orders'] },
      { actions: ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'], resources: ['*'] },
      { actions: ['iam:PassRole'], resources: roles, conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } } },
    ]);
    const byArn = permissionsOf({
      type: 'ecs-service',
      cluster: 'arn:aws:ecs:eu-west-1:444455556666:cluster/prod',
      service: 'orders',
      containerName: 'app',
    });
    expect(byArn).toHaveLength(2);
    expect(byArn[0].resources).toEqual(['arn:aws:ecs:eu-west-1:444455556666:service/prod/orders']);
  });

  it('grants execute-api:Invoke for a SigV4 hook on API Gateway, and nothing for other hooks', () => {
    expect(permissionsOf({ type: 'http', deployUrl: 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1/hooks/deploy' })).toEqual([
      {
        actions: ['execute-api:Invoke'],
        resources: [
          'arn:aws:execute-api:eu-west-1:*:abc123defg/v1/POST/hooks/deploy',
          'arn:aws:execute-api:eu-west-1:*:abc123defg/v1/GET/*',
        ],
      },
    ]);
    expect(
      permissionsOf({ type: 'http', deployUrl: 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1/deploy', auth: 'none' }),
    ).toEqual([]);
    expect(permissionsOf({ type: 'http', deployUrl: 'https://xyz.lambda-url.eu-west-1.on.aws/', signingService: 'lambda' })).toEqual([]);
    expect(permissionsOf({ type: 'http', deployUrl: 'https://hooks.example.com/deploy' })).toEqual([]);
  });

  it('never grants an action wildcard', () => {
    const all = [
      { type: 'lambda-alias', functionName: 'f', functionUrl: true, trafficShifting: { type: 'canary', alarms: ['a'] } },
      { type: 'cloudformation', stackName: 's', roleArn: 'arn:aws:iam::111122223333:role/r' },
      { type: 'ecs-service', cluster: 'c', service: 's', containerName: 'app', taskRoleArns: ['arn:aws:iam::111122223333:role/t'] },
      { type: 'http', deployUrl: 'https://abc.execute-api.us-east-1.amazonaws.com/prod/deploy' },
    ].flatMap((t) => permissionsOf(t).flatMap((p) => p.actions));
    expect(all.length).toBeGreaterThan(10);
    expect(all.filter((a) => a.includes('*'))).toEqual([]);
  });
});
