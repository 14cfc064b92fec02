import { beforeAll, describe, expect, it } from 'vitest';
import { BUCKET_LAYOUT } from '../../infra/release-pipeline.js';
import { allows, identityStatements, logicalIdOf, synthStack, type CfnResource, type Statement, type Synthesized } from './synth.js';

/**
 * The GitHub Actions OIDC role: who may assume it (one repository, one branch, the STS audience) and what it may
 * do (exactly what `launchway release … --wait` calls, on this pipeline's resources).
 */

let synth: Synthesized;
let roleId: string;
let statements: Statement[];
beforeAll(() => {
  synth = synthStack({ githubOidc: { repository: 'acme/orders-service' } });
  roleId = logicalIdOf(synth.stack, synth.stack.pipeline.githubCiRole!.role.node.defaultChild as never);
  statements = identityStatements(synth.template).filter((s) => s.roles.includes(roleId));
});

const resources = (s: Synthesized, type: string) => s.template.findResources(type) as Record<string, CfnResource>;
const idOf = (s: Synthesized, type: string) => {
  const ids = Object.keys(resources(s, type));
  expect(ids, type).toHaveLength(1);
  return ids[0];
};

describe('GitHub OIDC role trust', () => {
  it('trusts the GitHub OIDC provider only for the exact repository and branch, with the STS audience', () => {
    const role = resources(synth, 'AWS::IAM::Role')[roleId];
    const providerId = idOf(synth, 'AWS::IAM::OIDCProvider');
    expect(role.Properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: { Ref: providerId } },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
              'token.actions.githubusercontent.com:sub': 'repo:acme/orders-service:ref:refs/heads/main',
            },
          },
        },
      ],
    });
    expect(role.Properties.MaxSessionDuration).toBe(6 * 3600);
  });

  it('creates the provider for token.actions.githubusercontent.com with the STS client id when none is given', () => {
    const [provider] = Object.values(resources(synth, 'AWS::IAM::OIDCProvider'));
    expect(provider.Properties).toMatchObject({ Url: 'https://token.actions.githubusercontent.com', ClientIdList: ['sts.amazonaws.com'] });
  });

  it('reuses an existing provider and releases from another branch when told to', () => {
    const providerArn = 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com';
    const other = synthStack({ githubOidc: { repository: 'acme/orders-service', branch: 'release/v2', providerArn } });
    expect(Object.keys(resources(other, 'AWS::IAM::OIDCProvider'))).toEqual([]);
    const role = Object.values(resources(other, 'AWS::IAM::Role')).find((r) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('token.actions'),
    )!;
    const [statement] = (role.Properties.AssumeRolePolicyDocument as { Statement: { Principal: unknown; Condition: unknown }[] }).Statement;
    expect(statement.Principal).toEqual({ Federated: providerArn });
    expect(statement.Condition).toEqual({
      StringEquals: {
        'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
        'token.actions.githubusercontent.com:sub': 'repo:acme/orders-service:ref:refs/heads/release/v2',
      },
    });
  });

  it('outputs the role ARN, and creates no role or provider without githubOidc', () => {
    synth.template.hasOutput('GithubCiRoleArn', { Value: { 'Fn::GetAtt': [roleId, 'Arn'] } });
    const plain = synthStack();
    expect(Object.keys(resources(plain, 'AWS::IAM::OIDCProvider'))).toEqual([]);
    expect(Object.keys(plain.template.findOutputs('GithubCiRoleArn'))).toEqual([]);
    expect(plain.stack.pipeline.githubCiRole).toBeUndefined();
  });

  it.each([
    [{ repository: 'orders-service' }, /githubOidc\.repository expected "owner\/repo".*got "orders-service"/],
    [{ repository: 'acme/orders', branch: '*' }, /githubOidc\.branch expected a literal branch name without wildcards.*got "\*"/],
    [{ repository: 'acme/orders', branch: 'feature/*' }, /githubOidc\.branch expected a literal branch name/],
    [
      { repository: 'acme/orders', providerArn: 'arn:aws:iam::123456789012:oidc-provider/accounts.google.com' },
      /githubOidc\.providerArn expected the ARN of the token\.actions\.githubusercontent\.com OIDC provider/,
    ],
  ])('refuses %j with a message naming the field', (githubOidc, message) => {
    expect(() => synthStack({ githubOidc })).toThrow(message);
  });
});

describe('GitHub OIDC role permissions', () => {
  it('holds exactly six statements: upload, read the catalog, start, describe executions, read release records, describe its stack', () => {
    const bucketId = idOf(synth, 'AWS::S3::Bucket');
    const tableId = idOf(synth, 'AWS::DynamoDB::Table');
    const machineId = idOf(synth, 'AWS::StepFunctions::StateMachine');
    const objects = (key: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${key}`]] });
    const simplified = statements.map((s) => ({ Action: [...s.Action].sort(), Resource: s.Resource, Condition: s.Condition }));
    expect(simplified).toHaveLength(6);
    expect(simplified).toEqual(
      expect.arrayContaining([
        { Action: ['s3:PutObject'], Resource: [objects(`${BUCKET_LAYOUT.releaseUploadsPrefix}*`)], Condition: undefined },
        { Action: ['s3:GetObject'], Resource: [objects(BUCKET_LAYOUT.catalogKey)], Condition: undefined },
        { Action: ['states:StartExecution'], Resource: [{ Ref: machineId }], Condition: undefined },
        {
          Action: ['dynamodb:GetItem', 'dynamodb:Query'],
          Resource: [{ 'Fn::GetAtt': [tableId, 'Arn'] }],
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['RELEASE#*'] } },
        },
        // --stack reads the outputs of this stack only (AWS::StackId is its ARN), no other stack's.
        { Action: ['cloudformation:DescribeStacks'], Resource: [{ Ref: 'AWS::StackId' }], Condition: undefined },
      ]),
    );
    const describe = simplified.find((s) => s.Action.includes('states:DescribeExecution'))!;
    expect(describe.Action).toEqual(['states:DescribeExecution']);
    // arn:<partition>:states:<region>:<account>:execution:<this state machine's name>:*
    const arn = JSON.stringify(describe.Resource);
    expect(arn).toContain(':execution:');
    expect(arn).toContain(`{"Ref":"${machineId}"}`);
    expect(arn).toMatch(/\}\]\}\]\},":\*"\]\]\}\]$/);
  });

  it('allows every call `launchway release --wait` makes and nothing of the pipeline beyond them', () => {
    // What cli/release-client.ts sends, as IAM actions.
    const calls = [
      's3:GetObject',
      's3:PutObject',
      'states:StartExecution',
      'states:DescribeExecution',
      'dynamodb:GetItem',
      'dynamodb:Query',
      'cloudformation:DescribeStacks',
    ];
    for (const action of calls)
      expect(
        statements.some((s) => allows(s, action)),
        action,
      ).toBe(true);
    for (const action of [
      's3:DeleteObject',
      's3:ListBucket',
      'dynamodb:PutItem',
      'dynamodb:Scan',
      'states:StopExecution',
      'states:SendTaskSuccess',
      'lambda:InvokeFunction',
      'kms:GenerateMac',
      'cloudformation:DescribeStackResources',
      'cloudformation:GetTemplate',
      'cloudformation:UpdateStack',
    ]) {
      expect(
        statements.some((s) => allows(s, action)),
        action,
      ).toBe(false);
    }
  });
});
