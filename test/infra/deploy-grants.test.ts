import { beforeAll, describe, expect, it } from 'vitest';
import type { HandlerName } from '../../functions/steps.js';
import type { CatalogInput } from '../../infra/release-pipeline.js';
import { identityStatements, roleIdOf, synthStack, type Statement, type Synthesized } from './synth.js';

/**
 * The deploy providers' IAM, as synthesized from a catalog with one target of each type: every statement lands on
 * the deploy, deploy-status and (production only) rollback roles, scoped to the catalog's resources.
 */

const ACCOUNT = '123456789012';
const approvers = ['lead@example.com'];
const catalog: CatalogInput = {
  services: {
    orders: {
      approvers,
      staging: {
        type: 'lambda-alias',
        functionName: 'orders-api-staging',
        trafficShifting: { type: 'canary', percent: 10, alarms: ['orders-staging-5xx'] },
        functionUrl: true,
      },
      production: {
        type: 'cloudformation',
        stackName: 'orders-prod',
        roleArn: `arn:aws:iam::${ACCOUNT}:role/orders-cfn`,
        region: 'eu-west-1',
        endpointOutput: 'ApiUrl',
      },
    },
    billing: {
      approvers,
      staging: {
        type: 'ecs-service',
        cluster: `arn:aws:ecs:us-west-2:${ACCOUNT}:cluster/staging`,
        service: 'billing',
        containerName: 'app',
        taskRoleArns: [`arn:aws:iam::${ACCOUNT}:role/billing-task`, `arn:aws:iam::${ACCOUNT}:role/billing-exec`],
      },
      production: { type: 'http', deployUrl: 'https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/prod/deploy' },
    },
    greeter: { approvers, staging: { type: 'local-process' }, production: { type: 'local-process' } },
  },
};

/** A resource as text: `Fn::Join` flattened and pseudo parameters written `${AWS::Partition}`. */
function text(resource: unknown): string {
  if (typeof resource === 'string') return resource;
  const r = resource as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
  if (r.Ref) return `\${${r.Ref}}`;
  if (r['Fn::Join']) return r['Fn::Join'][1].map(text).join(r['Fn::Join'][0]);
  return JSON.stringify(resource);
}

/** Every action deployPermissions grants; nothing else in the stack should hold any of them. */
const DEPLOY_ACTION =
  /^(lambda:(GetAlias|UpdateFunctionCode|GetFunctionConfiguration|PublishVersion|UpdateAlias|CreateAlias|GetFunctionUrlConfig)|cloudformation:.+|ecs:.+|cloudwatch:DescribeAlarms|execute-api:Invoke|iam:PassRole)$/;
/** CDK merges and sorts statements, so resources are compared as sorted text. */
const sortedText = (resources: unknown[]) => resources.map(text).sort();

describe('deploy target grants', () => {
  let synth: Synthesized;
  let statements: Statement[];
  let roleOf: (name: HandlerName) => string;
  const withAction = (action: string) => statements.filter((s) => s.Action.includes(action));

  beforeAll(() => {
    synth = synthStack({ catalog });
    statements = identityStatements(synth.template);
    roleOf = (name) => roleIdOf(synth.template, synth.functionIds[name]);
  });

  /** The roles that hold a statement allowing `action`, sorted. */
  const holders = (action: string) => [...new Set(withAction(action).flatMap((s) => s.roles))].sort();
  const expectHolders = (action: string, names: HandlerName[]) => expect(holders(action)).toEqual(names.map((n) => roleOf(n)).sort());

  it('gives the lambda-alias permissions on that function and its alias to deploy and deploy-status only', () => {
    for (const action of [
      'lambda:UpdateFunctionCode',
      'lambda:PublishVersion',
      'lambda:UpdateAlias',
      'lambda:GetAlias',
      'lambda:GetFunctionConfiguration',
      'lambda:GetFunctionUrlConfig',
    ]) {
      expectHolders(action, ['deploy', 'deploy-status']);
    }
    const [statement] = withAction('lambda:UpdateFunctionCode');
    expect(sortedText(statement.Resource)).toEqual([
      `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:orders-api-staging`,
      `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:orders-api-staging:*`,
    ]);
    expectHolders('cloudwatch:DescribeAlarms', ['deploy', 'deploy-status']);
    expect(withAction('cloudwatch:DescribeAlarms')[0].Resource.map(text)).toEqual([
      `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:orders-staging-5xx`,
    ]);
  });

  it('gives the production cloudformation permissions on that stack, in its region, to the rollback holders (rollback, execution-status, operate) too', () => {
    for (const action of [
      'cloudformation:CreateChangeSet',
      'cloudformation:DescribeChangeSet',
      'cloudformation:ExecuteChangeSet',
      'cloudformation:DescribeStacks',
      'cloudformation:DescribeStackEvents',
    ]) {
      expectHolders(action, ['deploy', 'deploy-status', 'rollback', 'execution-status', 'operate']);
    }
    expect(withAction('cloudformation:ExecuteChangeSet')[0].Resource.map(text)).toEqual([
      `arn:\${AWS::Partition}:cloudformation:eu-west-1:\${AWS::AccountId}:stack/orders-prod/*`,
    ]);
  });

  it('lets the pipeline pass only the listed roles, each only to the service that uses it', () => {
    const passedTo = (s: Statement) => (s.Condition as { StringEquals: Record<string, string> }).StringEquals['iam:PassedToService'];
    const passRole = withAction('iam:PassRole');
    expect([...new Set(passRole.map(passedTo))].sort()).toEqual(['cloudformation.amazonaws.com', 'ecs-tasks.amazonaws.com']);
    const toCfn = passRole.filter((s) => passedTo(s) === 'cloudformation.amazonaws.com');
    const toEcs = passRole.filter((s) => passedTo(s) === 'ecs-tasks.amazonaws.com');
    for (const s of toCfn) expect(s.Resource).toEqual([`arn:aws:iam::${ACCOUNT}:role/orders-cfn`]);
    for (const s of toEcs)
      expect(sortedText(s.Resource)).toEqual([`arn:aws:iam::${ACCOUNT}:role/billing-exec`, `arn:aws:iam::${ACCOUNT}:role/billing-task`]);
    // The staging ECS target's roles are passed only where staging deploys happen; the production stack's role in rollback too.
    const rolesOf = (list: Statement[]) => [...new Set(list.flatMap((s) => s.roles))].sort();
    expect(rolesOf(toEcs)).toEqual([roleOf('deploy'), roleOf('deploy-status')].sort());
    expect(rolesOf(toCfn)).toEqual(
      [roleOf('deploy'), roleOf('deploy-status'), roleOf('rollback'), roleOf('execution-status'), roleOf('operate')].sort(),
    );
  });

  it('scopes ECS service actions to the service, and uses "*" only for the task definition actions that require it', () => {
    expectHolders('ecs:UpdateService', ['deploy', 'deploy-status']);
    expect(withAction('ecs:UpdateService')[0].Resource.map(text)).toEqual([`arn:aws:ecs:us-west-2:${ACCOUNT}:service/staging/billing`]);
    // CDK may merge them with other "*" statements of the same role (X-Ray), so only deploy actions are compared.
    const star = statements
      .filter((s) => s.Resource.includes('*'))
      .flatMap((s) => s.Action.filter((a) => DEPLOY_ACTION.test(a)).map((a) => `${s.roles.join(',')} ${a}`));
    expect(star.sort()).toEqual(
      ['deploy', 'deploy-status']
        .flatMap((n) => [
          `${roleOf(n as HandlerName)} ecs:DescribeTaskDefinition`,
          `${roleOf(n as HandlerName)} ecs:RegisterTaskDefinition`,
        ])
        .sort(),
    );
  });

  it('lets the production http hook be invoked through its API Gateway API only', () => {
    expectHolders('execute-api:Invoke', ['deploy', 'deploy-status', 'rollback', 'execution-status', 'operate']);
    for (const s of withAction('execute-api:Invoke')) {
      expect(sortedText(s.Resource)).toEqual([
        `arn:\${AWS::Partition}:execute-api:eu-central-1:*:a1b2c3d4e5/prod/GET/*`,
        `arn:\${AWS::Partition}:execute-api:eu-central-1:*:a1b2c3d4e5/prod/POST/deploy`,
      ]);
    }
  });

  it('puts no deploy action on any other role, and no statement anywhere allows Action "*"', () => {
    const allowed = new Set([roleOf('deploy'), roleOf('deploy-status'), roleOf('rollback'), roleOf('execution-status'), roleOf('operate')]);
    const elsewhere = statements.filter((s) => s.Action.some((a) => DEPLOY_ACTION.test(a)) && s.roles.some((r) => !allowed.has(r)));
    expect(elsewhere.map((s) => ({ holder: s.holder, actions: s.Action.filter((a) => DEPLOY_ACTION.test(a)) }))).toEqual([]);
    for (const s of statements) {
      expect(
        s.Action.filter((a) => a === '*' || a.endsWith(':*')),
        `${s.holder} ${s.Action.join(',')}`,
      ).toEqual([]);
    }
  });

  it('adds nothing for a catalog of local-process targets only', () => {
    const local = synthStack({ catalog: { services: { greeter: catalog.services.greeter } } });
    const deployStatements = identityStatements(local.template).filter((s) => s.Action.some((a) => DEPLOY_ACTION.test(a)));
    expect(deployStatements).toEqual([]);
  });
});
