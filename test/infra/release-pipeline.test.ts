import { createHash } from 'node:crypto';
import path from 'node:path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '../../functions/lib/catalog.js';
import { HANDLERS } from '../../infra/handlers.js';
import { HANDLER_NAMES, type HandlerName } from '../../functions/steps.js';
import { interopGatewayGrants } from '../../infra/interop-grants.js';
import { APPROVAL_API_STAGE, BUCKET_LAYOUT, ReleasePipeline } from '../../infra/release-pipeline.js';
import {
  FIXTURES,
  FIXTURE_CATALOG_PATH,
  allows,
  appContext,
  identityStatements,
  readJson,
  roleIdOf,
  statementsOfRole,
  synthStack,
  type CfnResource,
  type Synthesized,
} from './synth.js';

const MAIL_FROM = 'releases@launchway.example.com';
const AWS_TARGETS_CATALOG_PATH = path.join(FIXTURES, 'aws-targets-catalog.json');

let synth: Synthesized;
let template: Template;
beforeAll(() => {
  synth = synthStack();
  template = synth.template;
});

const resources = (type: string) => template.findResources(type) as Record<string, CfnResource>;
const roleOf = (name: HandlerName) => roleIdOf(template, synth.functionIds[name]);
const envOf = (name: HandlerName) =>
  (
    resources('AWS::Lambda::Function')[synth.functionIds[name]].Properties.Environment as {
      Variables: Record<string, unknown>;
    }
  ).Variables;

describe('ReleasePipeline table', () => {
  it('keys releases by pk/sk strings, on demand, with the gsi1 history index projecting everything', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'gsi1pk', AttributeType: 'S' },
        { AttributeName: 'gsi1sk', AttributeType: 'S' },
      ]),
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [
        {
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('has point-in-time recovery, encryption and deletion protection, and is retained by default', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('ReleasePipeline bucket', () => {
  it('blocks all public access, is versioned and encrypted', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 90 } })]),
      },
    });
  });

  it('denies every request that is not over TLS', () => {
    const [bucketId] = Object.keys(resources('AWS::S3::Bucket'));
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('receives the validated catalog, defaults filled in, at config/catalog.json', () => {
    const calls = Object.values(resources('Custom::AWS'));
    expect(calls).toHaveLength(1);
    // The SDK call is a JSON string joined around the bucket's Ref; put a marker in the Ref's place to read it.
    const create = calls[0].Properties.Create as { 'Fn::Join': [string, unknown[]] };
    const text = create['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<ref>')).join('');
    const call = JSON.parse(text) as { service: string; action: string; parameters: Record<string, string> };
    expect(call.service).toBe('S3');
    expect(call.action).toBe('putObject');
    expect(call.parameters.Bucket).toBe('<ref>');
    expect(call.parameters.Key).toBe(BUCKET_LAYOUT.catalogKey);
    const deployed = JSON.parse(call.parameters.Body);
    expect(deployed).toEqual(parseCatalog(readJson(FIXTURE_CATALOG_PATH)));
    expect(deployed.services.orders.lockWaitSeconds).toBe(7200); // a default zod filled in
  });
});

describe('ReleasePipeline functions', () => {
  it('has one function per handler, each Node.js 22 on arm64 with tracing and its own log group', () => {
    const ours = Object.entries(resources('AWS::Lambda::Function')).filter(
      ([, fn]) =>
        (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.POWERTOOLS_SERVICE_NAME ===
        'launchway',
    );
    expect(ours.map(([id]) => id).sort()).toEqual(Object.values(synth.functionIds).sort());
    expect(ours).toHaveLength(HANDLER_NAMES.length);
    for (const [, fn] of ours) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
      });
      const logGroupId = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(resources('AWS::Logs::LogGroup')[logGroupId].Properties.RetentionInDays).toBe(90);
    }
  });

  it('adds no Lambda function beyond the handlers except the catalog upload provider', () => {
    const others = Object.keys(resources('AWS::Lambda::Function')).filter((id) => !Object.values(synth.functionIds).includes(id));
    const [catalogCall] = Object.values(resources('Custom::AWS'));
    const providerId = (catalogCall.Properties.ServiceToken as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    expect(others).toEqual([providerId]);
  });

  it('sizes each function from the handler list', () => {
    for (const name of HANDLER_NAMES) {
      const fn = resources('AWS::Lambda::Function')[synth.functionIds[name]];
      expect(fn.Properties.Timeout, name).toBe(HANDLERS[name].timeoutSeconds);
      expect(fn.Properties.MemorySize, name).toBe(HANDLERS[name].memoryMiB);
    }
    // API Gateway gives up on an integration after 29 s.
    expect(HANDLERS['approval-api'].timeoutSeconds).toBeLessThan(29);
  });

  it('gives every handler the shared configuration under its one documented name', () => {
    const [tableId] = Object.keys(resources('AWS::DynamoDB::Table'));
    const [bucketId] = Object.keys(resources('AWS::S3::Bucket'));
    for (const name of HANDLER_NAMES) {
      expect(envOf(name), name).toMatchObject({
        RELEASES_TABLE: { Ref: tableId },
        ARTIFACTS_BUCKET: { Ref: bucketId },
        CATALOG_KEY: 'config/catalog.json',
        NOTIFIER: 'ses',
        MAIL_FROM,
        INTEROP_PROVIDER: 'api-gateway',
        LOG_LEVEL: 'INFO',
        POWERTOOLS_SERVICE_NAME: 'launchway',
      });
      // Without a custom interop domain partners call each REST API's execute-api URL.
      expect(envOf(name).INTEROP_DOMAIN_NAME, name).toBeUndefined();
    }
  });

  it('tells only the link signer and verifier about the signing key and the approval API URL', () => {
    const [keyId] = Object.keys(resources('AWS::KMS::Key'));
    const [apiId] = Object.keys(resources('AWS::ApiGateway::RestApi'));
    const [stage] = Object.values(resources('AWS::ApiGateway::Stage'));
    const baseUrl = {
      'Fn::Join': [
        '',
        [
          'https://',
          { Ref: apiId },
          '.execute-api.',
          { Ref: 'AWS::Region' },
          '.',
          { Ref: 'AWS::URLSuffix' },
          `/${stage.Properties.StageName}`,
        ],
      ],
    };
    for (const name of HANDLER_NAMES) {
      const env = envOf(name);
      if (name === 'approval' || name === 'approval-api') {
        expect(env.APPROVAL_SIGNING_KEY_ID, name).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
        expect(env.APPROVAL_BASE_URL, name).toEqual(baseUrl);
      } else {
        expect(env.APPROVAL_SIGNING_KEY_ID, name).toBeUndefined();
        expect(env.APPROVAL_BASE_URL, name).toBeUndefined();
      }
    }
  });

  it('changes CATALOG_SHA256 when the catalog changes, so warm functions drop a cached catalog', () => {
    const base = readJson(FIXTURE_CATALOG_PATH) as { services: { orders: { approvers: string[] } } };
    const changed = structuredClone(base);
    changed.services.orders.approvers.push('third@example.com');
    const other = synthStack({ catalog: changed as never });
    const sha = (s: Synthesized) =>
      (s.template.toJSON().Resources[s.functionIds.prepare].Properties.Environment.Variables as Record<string, string>).CATALOG_SHA256;
    expect(sha(synth)).toMatch(/^[0-9a-f]{64}$/);
    expect(sha(other)).not.toBe(sha(synth));
    expect(sha(synth)).toBe(
      createHash('sha256')
        .update(JSON.stringify(parseCatalog(base), null, 2))
        .digest('hex'),
    );
  });
});

describe('ReleasePipeline signing key', () => {
  it('is an HMAC_256 key for GenerateMac/VerifyMac', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', {
      KeySpec: 'HMAC_256',
      KeyUsage: 'GENERATE_VERIFY_MAC',
    });
  });
});

describe('ReleasePipeline IAM', () => {
  it('has no statement allowing every action', () => {
    const statements = identityStatements(template);
    expect(statements.length).toBeGreaterThan(20);
    for (const s of statements) expect(s.Action, s.holder).not.toContain('*');
    // Resource policies too (bucket policy, key policy).
    for (const type of ['AWS::S3::BucketPolicy', 'AWS::KMS::Key']) {
      for (const res of Object.values(resources(type))) {
        const doc = (res.Properties.PolicyDocument ?? res.Properties.KeyPolicy) as { Statement: { Action: unknown }[] };
        for (const s of doc.Statement) expect([s.Action].flat()).not.toContain('*');
      }
    }
  });

  it('lets only the approval API role complete the waiting approval task, on this state machine only', () => {
    const [stateMachineId] = Object.keys(resources('AWS::StepFunctions::StateMachine'));
    for (const action of ['states:SendTaskSuccess', 'states:SendTaskFailure']) {
      const granting = identityStatements(template).filter((s) => allows(s, action));
      expect(granting.length, action).toBe(1);
      expect(granting[0].roles).toEqual([roleOf('approval-api')]);
      expect(granting[0].Resource).toEqual([{ Ref: stateMachineId }]);
    }
  });

  it('lets approval and the approval API sign, the approval API verify, and nobody else', () => {
    const [keyId] = Object.keys(resources('AWS::KMS::Key'));
    const expectOnly = (action: string, names: HandlerName[]) => {
      const granting = identityStatements(template).filter((s) => allows(s, action));
      expect(granting.flatMap((s) => s.roles).sort(), action).toEqual(names.map(roleOf).sort());
      for (const g of granting) expect(g.Resource, action).toEqual([{ 'Fn::GetAtt': [keyId, 'Arn'] }]);
    };
    // The approval API re-signs the confirmation page's form (either decision, same approver and expiry).
    expectOnly('kms:GenerateMac', ['approval', 'approval-api']);
    expectOnly('kms:VerifyMac', ['approval-api']);
  });

  it('lets approval, finalize, execution-status and operate send email from the configured sender only', () => {
    const granting = identityStatements(template).filter((s) => allows(s, 'ses:SendEmail'));
    expect(granting.flatMap((s) => s.roles).sort()).toEqual(
      [roleOf('approval'), roleOf('finalize'), roleOf('execution-status'), roleOf('operate')].sort(),
    );
    for (const s of granting) {
      expect(s.Condition).toEqual({ StringEquals: { 'ses:FromAddress': MAIL_FROM } });
      const identities = JSON.stringify(s.Resource);
      expect(identities).toContain(`:identity/${MAIL_FROM}`);
      expect(identities).toContain(':identity/launchway.example.com');
      expect(identities).not.toContain('*');
    }
  });

  it('scopes object writes: smoke-test-staging and validate-production to reports/, publish-release-notes to release-notes/, the catalog upload to its key', () => {
    const [bucketId] = Object.keys(resources('AWS::S3::Bucket'));
    const objectsUnder = (suffix: string) => ({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, suffix]],
    });
    const writers = identityStatements(template).filter((s) => allows(s, 's3:PutObject'));
    const byRole = new Map(writers.map((s) => [s.roles.join(','), s.Resource]));
    const reportWriters: HandlerName[] = ['smoke-test-staging', 'validate-production'];
    for (const name of reportWriters) expect(byRole.get(roleOf(name)), name).toEqual([objectsUnder('/reports/*')]);
    expect(byRole.get(roleOf('publish-release-notes'))).toEqual([objectsUnder('/release-notes/*')]);
    const bucketWriters = [...reportWriters, 'publish-release-notes'];
    const otherWriters = writers.filter((s) => !bucketWriters.some((name) => s.roles.includes(roleOf(name as HandlerName))));
    expect(otherWriters).toHaveLength(1);
    expect(otherWriters[0].Resource).toEqual([objectsUnder('/config/catalog.json')]);
    for (const name of HANDLER_NAMES) {
      if (bucketWriters.includes(name)) continue;
      expect(
        statementsOfRole(template, roleOf(name)).some((s) => allows(s, 's3:PutObject')),
        name,
      ).toBe(false);
    }
  });

  it('lets every handler read and write the releases table, and only the table and its indexes', () => {
    const [tableId] = Object.keys(resources('AWS::DynamoDB::Table'));
    for (const name of HANDLER_NAMES) {
      const ddb = statementsOfRole(template, roleOf(name)).filter((s) => s.Action.some((a) => a.startsWith('dynamodb:')));
      expect(ddb.length, name).toBe(1);
      expect(ddb[0].Action).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query']));
      expect(ddb[0].Resource).toEqual([
        { 'Fn::GetAtt': [tableId, 'Arn'] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, '/index/*']] },
      ]);
    }
  });

  it('grants each API Gateway method only on the management paths the provisioner calls it on, in this region', () => {
    for (const name of ['provision-interop', 'rollback', 'execution-status', 'operate'] as const) {
      const gateway = statementsOfRole(template, roleOf(name)).filter((s) => s.Action.some((a) => a.startsWith('apigateway:')));
      const byMethod = Object.fromEntries(
        gateway.map((s) => [
          s.Action.join(','),
          s.Resource.map((r) => {
            const parts = (r as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
            expect(parts.slice(0, 4), name).toEqual(['arn:', { Ref: 'AWS::Partition' }, ':apigateway:', { Ref: 'AWS::Region' }]);
            return (parts[4] as string).replace(/^::/, '');
          }).sort(),
        ]),
      );
      expect(byMethod, name).toEqual(
        Object.fromEntries(interopGatewayGrants().map((g) => [`apigateway:${g.method}`, [...g.paths].sort()])),
      );
    }
    // What the provisioner never does: delete an API, a key or a usage plan, or touch custom domains without one.
    const paths = interopGatewayGrants().flatMap((g) => g.paths.map((p) => `${g.method} ${p}`));
    expect(paths).not.toContain('DELETE /restapis/*');
    expect(paths.some((p) => p.includes('/domainnames'))).toBe(false);
  });

  it('grants API Gateway management only to the interop provisioner and the rollback holders, scoped to gateway resources', () => {
    const granting = identityStatements(template).filter((s) => allows(s, 'apigateway:POST'));
    expect(granting.flatMap((s) => s.roles).sort()).toEqual(
      [roleOf('provision-interop'), roleOf('rollback'), roleOf('execution-status'), roleOf('operate')].sort(),
    );
    for (const s of granting) {
      for (const r of s.Resource) expect(JSON.stringify(r)).toMatch(/:apigateway:.*::\/(restapis|apikeys|usageplans|tags)/);
    }
  });
});

describe('ReleasePipeline approval API', () => {
  it('routes GET and POST on /approvals/{approvalId} to the approval-api function through a Lambda proxy', () => {
    const res = resources('AWS::ApiGateway::Resource');
    const [apiId] = Object.keys(resources('AWS::ApiGateway::RestApi'));
    const [approvalsId] = Object.entries(res).find(([, r]) => r.Properties.PathPart === 'approvals')!;
    expect(res[approvalsId].Properties.ParentId).toEqual({ 'Fn::GetAtt': [apiId, 'RootResourceId'] });
    const [idResource] = Object.entries(res).find(
      ([, r]) => r.Properties.PathPart === '{approvalId}' && JSON.stringify(r.Properties.ParentId) === JSON.stringify({ Ref: approvalsId }),
    )!;
    const methods = Object.values(resources('AWS::ApiGateway::Method')).filter(
      (m) => JSON.stringify(m.Properties.ResourceId) === JSON.stringify({ Ref: idResource }),
    );
    expect(methods.map((m) => m.Properties.HttpMethod).sort()).toEqual(['GET', 'POST']);
    for (const m of methods) {
      expect(m.Properties.ResourceId).toEqual({ Ref: idResource });
      expect(m.Properties.Integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
      expect(JSON.stringify(m.Properties.Integration)).toContain(`"Fn::GetAtt":["${synth.functionIds['approval-api']}","Arn"]`);
    }
  });

  it('lets API Gateway invoke the approval function for those two methods only', () => {
    const permissions = Object.values(resources('AWS::Lambda::Permission')).filter((p) =>
      /\/(GET|POST)\/approvals\/\*/.test(JSON.stringify(p.Properties.SourceArn)),
    );
    expect(permissions).toHaveLength(2);
    // The third is the IAM-authorized decision route (test/infra/approval-iam.test.ts), the fourth the
    // execution-status rule's (test/infra/execution-status-rule.test.ts).
    expect(Object.values(resources('AWS::Lambda::Permission'))).toHaveLength(4);
    for (const p of permissions) {
      expect(p.Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [synth.functionIds['approval-api'], 'Arn'] },
      });
      expect(JSON.stringify(p.Properties.SourceArn)).toMatch(/\/(GET|POST)\/approvals\/\*/);
    }
  });

  it('logs access as JSON, traces, and throttles the stage', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: APPROVAL_API_STAGE,
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10, HttpMethod: '*', ResourcePath: '/*' })],
    });
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
  });
});

describe('ReleasePipeline alarms and props', () => {
  it('creates the alarms without actions by default and wires them to the alarm topic when given', () => {
    expect(Object.values(resources('AWS::CloudWatch::Alarm'))).toHaveLength(7);
    for (const alarm of Object.values(resources('AWS::CloudWatch::Alarm'))) expect(alarm.Properties.AlarmActions).toBeUndefined();

    const app = new App({ context: appContext() });
    const stack = new Stack(app, 'WithTopic');
    const topic = new sns.Topic(stack, 'Alerts');
    new ReleasePipeline(stack, 'Pipeline', {
      catalog: readJson(FIXTURE_CATALOG_PATH) as never,
      mailFrom: MAIL_FROM,
      alarmTopic: topic,
      apiGatewayCloudWatchRole: false,
    });
    const t = Template.fromStack(stack);
    const [topicId] = Object.keys(t.findResources('AWS::SNS::Topic'));
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm')) as CfnResource[];
    expect(alarms).toHaveLength(7);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    t.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  it('removes data stores with DESTROY: no deletion protection, the bucket emptied first', () => {
    const { template: t } = synthStack({ removalPolicy: RemovalPolicy.DESTROY });
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
    t.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    t.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
    t.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete', Properties: Match.objectLike({ PendingWindowInDays: 7 }) });
  });

  it('warns at synth, once, that the local-process stages only run embedded, naming each (a warning, not an error)', () => {
    const annotations = Annotations.fromStack(synth.stack);
    annotations.hasWarning(
      '/LaunchwayTest/Pipeline',
      Match.stringLikeRegexp(
        '^services\\.orders\\.staging\\.type, services\\.orders\\.production\\.type are local-process: that target only runs ' +
          'embedded \\(launchway dev\\)\\. Set a lambda-alias, ecs-service, http or cloudformation target in the catalog before ' +
          'releasing on AWS\\. \\[ack: launchway:local-process-target\\]$',
      ),
    );
    expect(annotations.findWarning('*', Match.anyValue())).toHaveLength(1);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
  });

  it('synthesizes without warnings or errors when every target is on AWS, and names only the local-process stage', () => {
    const awsTargets = readJson(AWS_TARGETS_CATALOG_PATH) as { services: Record<string, Record<string, unknown>> };
    const clean = Annotations.fromStack(synthStack({ catalog: awsTargets as never }).stack);
    expect(clean.findWarning('*', Match.anyValue())).toEqual([]);
    expect(clean.findError('*', Match.anyValue())).toEqual([]);
    const mixed = structuredClone(awsTargets);
    mixed.services.orders.production = { type: 'local-process', healthPath: '/health' };
    const warnings = Annotations.fromStack(synthStack({ catalog: mixed as never }).stack).findWarning('*', Match.anyValue());
    expect(warnings.map((w) => w.entry.data)).toEqual([
      expect.stringMatching(/^services\.orders\.production\.type is local-process: that target only runs embedded \(launchway dev\)\./),
    ]);
  });

  it('sends as a given SES identity only, when sesIdentityArn names one', () => {
    const identity = 'arn:aws:ses:eu-west-1:210987654321:identity/launchway.example.com';
    const { template: t } = synthStack({ sesIdentityArn: identity });
    const granting = identityStatements(t).filter((s) => allows(s, 'ses:SendEmail'));
    expect(granting).toHaveLength(4);
    for (const s of granting) {
      expect(s.Resource).toEqual([identity]);
      expect(s.Condition).toEqual({ StringEquals: { 'ses:FromAddress': MAIL_FROM } });
    }
  });

  it.each([
    [{ mailFrom: 'not-an-address' }, /mailFrom expected an email address, got "not-an-address"/],
    [{ removalPolicy: RemovalPolicy.SNAPSHOT }, /removalPolicy expected RemovalPolicy\.RETAIN or RemovalPolicy\.DESTROY, got snapshot/],
    [
      { sesIdentityArn: 'launchway.example.com' },
      /sesIdentityArn expected arn:aws:ses:<region>:<account>:identity\/<address or domain>, got "launchway\.example\.com"/,
    ],
    [
      { sesIdentityArn: 'arn:aws:ses:eu-west-1:123456789012:identity/other.example.com' },
      /sesIdentityArn is the identity "other\.example\.com", which cannot send as mailFrom releases@launchway\.example\.com/,
    ],
    [{ approvalApiThrottle: { rateLimit: 0, burstLimit: 10 } }, /approvalApiThrottle\.rateLimit expected a positive integer, got 0/],
    [
      { catalog: { services: { orders: { approvers: [] } } } },
      /services\.orders\.approvers: expected at least one approver[\s\S]*services\.orders\.staging/,
    ],
  ])('rejects bad props with a message naming the field (%j)', (props, message) => {
    expect(() => synthStack(props as never)).toThrow(message);
  });
});

describe('production validation through the interop layer', () => {
  it('lets the validate-production function read API key values and nothing else on API Gateway', () => {
    const statements = identityStatements(template).filter((s) =>
      ([] as string[]).concat(s.Action as string | string[]).some((a) => a.startsWith('apigateway:')),
    );
    const smoke = statements.filter((s) => s.roles.includes(roleOf('validate-production')));
    expect(smoke).toHaveLength(1);
    expect([smoke[0].Action].flat()).toEqual(['apigateway:GET']);
    expect(JSON.stringify(smoke[0].Resource)).toContain('::/apikeys/*');
  });
});
