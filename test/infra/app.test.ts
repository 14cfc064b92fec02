import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build-app.js';
import { HANDLER_NAMES } from '../../functions/steps.js';
import { DEFAULT_CATALOG_PATH } from '../../infra/paths.js';
import { FIXTURES, FIXTURE_CATALOG_PATH, appContext } from './synth.js';

const BAD_CATALOG_PATH = path.join(FIXTURES, 'bad-catalog.json');
const scratch = mkdtempSync(path.join(tmpdir(), 'launchway-infra-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const appWith = (context: Record<string, unknown> = {}) => new App({ context: appContext(context) });

describe('CDK app', () => {
  it('builds the stack from the catalog named by the `catalog` context', () => {
    const stack = buildApp(appWith({ catalog: FIXTURE_CATALOG_PATH, mailFrom: 'ship@example.org' }), {});
    expect(stack.stackName).toBe('Launchway');
    expect(Object.keys(stack.pipeline.catalog.services)).toEqual(['orders']);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    for (const name of HANDLER_NAMES) {
      expect(stack.resolve(stack.pipeline.functions[name].runtime.name)).toBe('nodejs22.x');
    }
    template.hasOutput('StateMachineArn', {});
    template.hasOutput('ApprovalApiUrl', {});
  });

  it('is environment-agnostic, so it synthesizes without an account', () => {
    const stack = buildApp(appWith({ catalog: FIXTURE_CATALOG_PATH }), {});
    expect(stack.environment).toBe('aws://unknown-account/unknown-region');
  });

  it('reads LAUNCHWAY_CATALOG and LAUNCHWAY_STACK_NAME when there is no context', () => {
    const stack = buildApp(appWith(), { LAUNCHWAY_CATALOG: FIXTURE_CATALOG_PATH, LAUNCHWAY_STACK_NAME: 'LaunchwayStaging' });
    expect(stack.stackName).toBe('LaunchwayStaging');
    expect(Object.keys(stack.pipeline.catalog.services)).toEqual(['orders']);
  });

  it('prefers the context over the environment', () => {
    const stack = buildApp(appWith({ catalog: FIXTURE_CATALOG_PATH }), { LAUNCHWAY_CATALOG: BAD_CATALOG_PATH });
    expect(Object.keys(stack.pipeline.catalog.services)).toEqual(['orders']);
  });

  it.runIf(existsSync(DEFAULT_CATALOG_PATH))('deploys examples/catalog.json by default', () => {
    const stack = buildApp(appWith(), {});
    expect(Object.keys(stack.pipeline.catalog.services).length).toBeGreaterThan(0);
  });

  it('refuses a malformed catalog with every problem, naming the file and each field', () => {
    const build = () => buildApp(appWith({ catalog: BAD_CATALOG_PATH }), {});
    expect(build).toThrow(BAD_CATALOG_PATH);
    expect(build).toThrow(/services\.orders\.approvers\.0: expected an email address/);
    expect(build).toThrow(/services\.orders\.production: /);
  });

  it('names a catalog file that does not exist', () => {
    const missing = path.join(scratch, 'nope.json');
    expect(() => buildApp(appWith({ catalog: missing }), {})).toThrow(`Cannot read the Launchway catalog ${missing}`);
  });

  it('names a catalog file that is not JSON', () => {
    const file = path.join(scratch, 'broken.json');
    writeFileSync(file, '{ "services": ');
    expect(() => buildApp(appWith({ catalog: file }), {})).toThrow(`The Launchway catalog ${file} is not valid JSON`);
  });

  it('adds the GitHub CI role, the custom domains and the alarm topic from context, without looking anything up', () => {
    const stack = buildApp(
      appWith({
        catalog: FIXTURE_CATALOG_PATH,
        githubRepository: 'acme/orders',
        githubBranch: 'release',
        approvalDomainName: 'approvals.example.com',
        interopDomainName: 'api.example.com',
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
        hostedZoneId: 'Z0123',
        hostedZoneName: 'example.com',
        alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops-alarms',
        removalPolicy: 'destroy',
      }),
      {},
    );
    const template = Template.fromStack(stack);
    expect(stack.pipeline.githubCiRole?.subject).toBe('repo:acme/orders:ref:refs/heads/release');
    template.hasOutput('GithubCiRoleArn', {});
    template.resourceCountIs('AWS::ApiGateway::DomainName', 2);
    template.resourceCountIs('AWS::Route53::RecordSet', 2);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:ops-alarms'] });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });

  it('reads the same settings from LAUNCHWAY_* variables', () => {
    const stack = buildApp(appWith(), {
      LAUNCHWAY_CATALOG: FIXTURE_CATALOG_PATH,
      LAUNCHWAY_GITHUB_REPOSITORY: 'acme/orders',
      LAUNCHWAY_INTEROP_DOMAIN_NAME: 'api.example.com',
      LAUNCHWAY_CERTIFICATE_ARN: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
    });
    expect(stack.pipeline.githubCiRole?.subject).toBe('repo:acme/orders:ref:refs/heads/main');
    expect(stack.pipeline.domains?.interopDomainName).toBe('api.example.com');
    expect(stack.pipeline.domains?.approvalDomain).toBeUndefined();
  });

  it.each([
    [{ interopDomainName: 'api.example.com' }, /certificateArn is not: a custom domain needs an ACM certificate/],
    [
      { approvalDomainName: 'a.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc', hostedZoneId: 'Z1' },
      /hostedZoneId and hostedZoneName go together/,
    ],
    [{ removalPolicy: 'snapshot' }, /removalPolicy expected "retain" or "destroy", got "snapshot"/],
  ])('refuses inconsistent settings %j', (context, message) => {
    expect(() => buildApp(appWith({ catalog: FIXTURE_CATALOG_PATH, ...context }), {})).toThrow(message);
  });

  it('refuses a sender that is not an email address', () => {
    expect(() => buildApp(appWith({ catalog: FIXTURE_CATALOG_PATH, mailFrom: 'launchway' }), {})).toThrow(
      /mailFrom expected an email address, got "launchway"/,
    );
  });
});
