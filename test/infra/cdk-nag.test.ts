import path from 'node:path';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ReleasePipeline, type ReleasePipelineProps } from '../../infra/release-pipeline.js';
import { LaunchwayStack } from '../../infra/stack.js';
import { FIXTURES, FIXTURE_CATALOG_PATH, allows, appContext, identityStatements, readJson } from './synth.js';

/**
 * cdk-nag's AwsSolutions pack over the pipeline, run the way its v3 docs recommend for tests (`validateScope`):
 * zero findings, errors and warnings alike. The reviewed exceptions are acknowledged in infra/nag-suppressions.ts,
 * each on its resource; this test fails on anything new.
 */

const AWS_TARGETS_CATALOG_PATH = path.join(FIXTURES, 'aws-targets-catalog.json');

/** Each finding as `rule at construct path`, so a failure lists what to fix or review. */
function findings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(scope);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}: ${v.description}`),
  );
}

function pipelineIn(props: Partial<ReleasePipelineProps> & { stack?: (stack: Stack) => Partial<ReleasePipelineProps> } = {}) {
  const app = new App({ context: appContext() });
  const stack = new Stack(app, 'Nag');
  const { stack: fromStack, ...rest } = props;
  const pipeline = new ReleasePipeline(stack, 'Pipeline', {
    catalog: readJson(FIXTURE_CATALOG_PATH) as never,
    mailFrom: 'releases@example.com',
    ...rest,
    ...fromStack?.(stack),
  });
  return { stack, pipeline };
}

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unreviewed in the deployable stack (default settings)', () => {
    const app = new App({ context: appContext() });
    const stack = new LaunchwayStack(app, 'Launchway', {
      pipeline: { catalog: readJson(FIXTURE_CATALOG_PATH) as never, mailFrom: 'releases@example.com' },
    });
    expect(findings(stack)).toEqual([]);
  });

  it('finds nothing unreviewed with every option on: AWS deploy targets, custom domains and zone, CI role, alarm topic, DESTROY', () => {
    const { stack } = pipelineIn({
      catalog: readJson(AWS_TARGETS_CATALOG_PATH) as never,
      removalPolicy: RemovalPolicy.DESTROY,
      githubOidc: { repository: 'acme/orders' },
      stack: (s) => ({
        alarmTopic: new sns.Topic(s, 'Alarms', { enforceSSL: true }),
        domain: {
          approvalDomainName: 'approvals.example.com',
          interopDomainName: 'api.example.com',
          certificate: acm.Certificate.fromCertificateArn(s, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc'),
          hostedZone: route53.HostedZone.fromHostedZoneAttributes(s, 'Zone', { hostedZoneId: 'Z0123', zoneName: 'example.com' }),
        },
      }),
    });
    // The test's own topic is not the pipeline's business; its findings (SNS2 encryption) are out of scope here.
    expect(findings(stack).filter((f) => !f.includes('/Alarms/'))).toEqual([]);
  });

  it('grants no action wildcard and keeps task callbacks on the approval API role, with every option on', () => {
    const { stack, pipeline } = pipelineIn({
      catalog: readJson(AWS_TARGETS_CATALOG_PATH) as never,
      githubOidc: { repository: 'acme/orders' },
    });
    const statements = identityStatements(Template.fromStack(stack));
    expect(statements.length).toBeGreaterThan(30);
    for (const s of statements) {
      // Neither "*" nor a whole service ("iam:*"); prefixes of read families such as s3:GetObject* are the grant helpers'.
      for (const action of s.Action) expect(action, s.holder).not.toMatch(/^(\*|[a-z0-9-]+:\*)$/);
    }
    const approvalRole = stack.resolve((pipeline.functions['approval-api'].role!.node.defaultChild as iam.CfnRole).logicalId);
    for (const action of ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat']) {
      const holders = statements.filter((s) => allows(s, action)).flatMap((s) => s.roles);
      expect(holders, action).toEqual(action === 'states:SendTaskHeartbeat' ? [] : [approvalRole]);
    }
  });

  it('does report a finding the pipeline has not reviewed (the check is not a no-op)', () => {
    const { stack, pipeline } = pipelineIn();
    // An extra wildcard on a handler role, as a careless grant would add.
    pipeline.functions['acquire-lock'].addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:DeleteTable'], resources: ['arn:aws:dynamodb:*:*:table/*'] }),
    );
    const found = findings(stack);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      /^error AwsSolutions-IAM5\[Resource::arn:aws:dynamodb:\*:\*:table\/\*\] at Nag\/Pipeline\/AcquireLockFunctionRole\/DefaultPolicy\/Resource/,
    );
  });

  it('acknowledges on specific resources only, each with a reason, never on the stack or the pipeline as a whole', () => {
    const { stack, pipeline } = pipelineIn({ githubOidc: { repository: 'acme/orders' } });
    const acknowledged: { path: string; id: string; reason: string }[] = [];
    const visit = (c: IConstruct) => {
      for (const entry of c.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>))
          acknowledged.push({ path: c.node.path, id, reason });
      }
      for (const child of c.node.children) visit(child);
    };
    visit(stack);
    expect(acknowledged.length).toBeGreaterThan(20);
    for (const a of acknowledged) {
      expect(a.path, a.id).not.toBe(stack.node.path);
      expect(a.path, a.id).not.toBe(pipeline.node.path);
      expect(a.id).toMatch(/^Annotation::AwsSolutions-[A-Z]+\d+/);
      // A reason says why, in a sentence: not "ok" or "n/a".
      expect(a.reason.length, `${a.path} ${a.id}`).toBeGreaterThan(40);
    }
    // Wildcard findings are acknowledged one by one (the resource or action named), never the IAM5 rule as a whole.
    expect(acknowledged.filter((a) => /AwsSolutions-IAM5$/.test(a.id))).toEqual([]);
    expect(acknowledged.filter((a) => /AwsSolutions-IAM4$/.test(a.id))).toEqual([]);
    // The examples the brief names: reports/* on smoke-test-staging, API authorization on the methods.
    expect(acknowledged).toContainEqual(
      expect.objectContaining({
        path: 'Nag/Pipeline/SmokeTestStagingFunctionRole',
        id: expect.stringMatching(/IAM5\[Resource::<PipelineArtifacts[0-9A-F]+\.Arn>\/reports\/\*\]$/),
      }),
    );
    expect(
      acknowledged
        .filter((a) => a.id.endsWith('-APIG4'))
        .map((a) => a.path)
        .sort(),
    ).toEqual([
      'Nag/Pipeline/ApprovalApi/Default/approvals/{approvalId}/GET',
      'Nag/Pipeline/ApprovalApi/Default/approvals/{approvalId}/POST',
    ]);
  });
});
