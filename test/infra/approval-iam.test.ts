import { beforeAll, describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ReleasePipeline } from '../../infra/release-pipeline.js';
import {
  allows,
  appContext,
  FIXTURE_CATALOG_PATH,
  identityStatements,
  readJson,
  roleIdOf,
  statementsOfRole,
  synthStack,
  type CfnResource,
  type Synthesized,
} from './synth.js';

/**
 * The approval API's IAM-authorized decision route (`launchway approve|reject` on AWS) and the approval function's
 * read access, which bounds what its presigned report links can fetch.
 */
let synth: Synthesized;
let resources: (type: string) => Record<string, CfnResource>;

beforeAll(() => {
  synth = synthStack();
  resources = (type) => synth.template.findResources(type) as Record<string, CfnResource>;
});

/** The full resource path of an API Gateway resource, from its PathPart chain. */
function pathOf(id: string, all: Record<string, CfnResource>): string {
  const parent = all[id].Properties.ParentId as { Ref?: string };
  const part = all[id].Properties.PathPart as string;
  return parent.Ref && all[parent.Ref] ? `${pathOf(parent.Ref, all)}/${part}` : `/${part}`;
}

describe('IAM-authorized decision route', () => {
  it('serves POST /releases/{releaseId}/decision with AWS_IAM authorization through the approval function', () => {
    const apiResources = resources('AWS::ApiGateway::Resource');
    const methods = Object.values(resources('AWS::ApiGateway::Method'));
    const byPath = methods.map((m) => ({ path: pathOf((m.Properties.ResourceId as { Ref: string }).Ref, apiResources), m }));

    const decision = byPath.filter((x) => x.path === '/releases/{releaseId}/decision');
    expect(decision).toHaveLength(1);
    expect(decision[0].m.Properties).toMatchObject({
      HttpMethod: 'POST',
      AuthorizationType: 'AWS_IAM',
      RequestParameters: { 'method.request.path.releaseId': true },
      Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' },
    });
    expect(JSON.stringify(decision[0].m.Properties.Integration)).toContain(`"Fn::GetAtt":["${synth.functionIds['approval-api']}","Arn"]`);

    // The link routes stay open (the signed link is the credential) and nothing else is unauthenticated.
    const open = byPath.filter((x) => x.m.Properties.AuthorizationType === 'NONE').map((x) => `${x.m.Properties.HttpMethod} ${x.path}`);
    expect(open.sort()).toEqual(['GET /approvals/{approvalId}', 'POST /approvals/{approvalId}']);
    expect(pathOf(synth.stack.resolve(synth.stack.pipeline.approvalDecisionMethod.resource.resourceId).Ref ?? '', apiResources)).toBe(
      '/releases/{releaseId}/decision',
    );
  });

  it('lets API Gateway invoke the approval function for the decision route', () => {
    const permissions = Object.values(resources('AWS::Lambda::Permission')).filter((p) =>
      JSON.stringify(p.Properties.SourceArn).includes('/POST/releases/*/decision'),
    );
    expect(permissions).toHaveLength(1);
    expect(permissions[0].Properties).toMatchObject({
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [synth.functionIds['approval-api'], 'Arn'] },
    });
  });

  it('grantDecide gives execute-api:Invoke on that one route of that stage, DescribeStacks on this stack, and nothing else', () => {
    const app = new App({ context: appContext() });
    const stack = new Stack(app, 'Grants');
    const pipeline = new ReleasePipeline(stack, 'Pipeline', {
      catalog: readJson(FIXTURE_CATALOG_PATH) as never,
      mailFrom: 'releases@launchway.example.com',
    });
    const approvers = new iam.Role(stack, 'ReleaseLeads', { assumedBy: new iam.AccountRootPrincipal() });
    const grant = pipeline.grantDecide(approvers);
    expect(grant.success).toBe(true);
    const template = Template.fromStack(stack);
    const roleId = stack.resolve((approvers.node.defaultChild as iam.CfnRole).logicalId) as string;
    const statements = statementsOfRole(template, roleId);
    expect(statements.map((s) => s.Action)).toEqual([['cloudformation:DescribeStacks'], ['execute-api:Invoke']]);
    expect(statements[0].Resource).toEqual([{ Ref: 'AWS::StackId' }]);
    const resource = JSON.stringify(statements[1].Resource);
    expect(resource).toContain('/v1/POST/releases/*/decision');
    expect(resource).toContain(stack.resolve(pipeline.approvalApi.restApiId).Ref);
  });
});

describe('approval function reads', () => {
  it('may read the catalog and the smoke reports only: a presigned report link can fetch nothing else', () => {
    const [bucketId] = Object.keys(resources('AWS::S3::Bucket'));
    const objects = (suffix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, suffix]] });
    const role = roleIdOf(synth.template, synth.functionIds['approval-api']);
    const s3 = statementsOfRole(synth.template, role).filter((s) => s.Action.some((a) => a.startsWith('s3:')));
    expect(s3).toHaveLength(1);
    expect(s3[0].Action).toEqual(['s3:GetObject']);
    expect(s3[0].Resource).toEqual([objects('/config/catalog.json'), objects('/reports/*')]);
    expect(s3.some((s) => allows(s, 's3:ListBucket') || allows(s, 's3:PutObject'))).toBe(false);
  });

  it('leaves the step functions their read of the whole bucket (artifacts, collections, specs)', () => {
    const [bucketId] = Object.keys(resources('AWS::S3::Bucket'));
    const everything = JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] });
    const readers = identityStatements(synth.template).filter(
      (s) => allows(s, 's3:GetObject') && s.Resource.some((r) => JSON.stringify(r) === everything),
    );
    const readerRoles = new Set(readers.flatMap((s) => s.roles));
    expect(readerRoles.has(roleIdOf(synth.template, synth.functionIds['prepare']))).toBe(true);
    expect(readerRoles.has(roleIdOf(synth.template, synth.functionIds['approval-api']))).toBe(false);
  });
});
