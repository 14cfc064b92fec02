import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { describe, expect, it } from 'vitest';
import { HANDLER_NAMES, type HandlerName } from '../../functions/steps.js';
import type { ReleasePipelineDomainProps } from '../../infra/api-domains.js';
import { LaunchwayStack } from '../../infra/stack.js';
import { FIXTURE_CATALOG_PATH, allows, appContext, identityStatements, readJson, roleIdOf, type CfnResource } from './synth.js';

/** Custom domains of the approval links and the interop APIs: API Gateway domains, mapping, DNS, and what functions see. */

const CERT_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c';

function synthWithDomain(domain: (stack: Stack) => Partial<ReleasePipelineDomainProps>) {
  const app = new App({ context: appContext() });
  const stack = new LaunchwayStack(app, 'Domains', {
    pipeline: (s) => ({
      catalog: readJson(FIXTURE_CATALOG_PATH) as never,
      mailFrom: 'releases@example.com',
      domain: { certificate: acm.Certificate.fromCertificateArn(s, 'Cert', CERT_ARN), ...domain(s) },
    }),
  });
  const template = Template.fromStack(stack);
  const functionId = (name: HandlerName) =>
    stack.resolve(stack.getLogicalId(stack.pipeline.functions[name].node.defaultChild as never)) as string;
  const envOf = (name: HandlerName) =>
    ((template.toJSON().Resources[functionId(name)] as CfnResource).Properties.Environment as { Variables: Record<string, unknown> })
      .Variables;
  return { stack, template, functionId, envOf };
}

const zoneOf = (s: Stack) =>
  route53.HostedZone.fromHostedZoneAttributes(s, 'Zone', { hostedZoneId: 'Z0123456789', zoneName: 'example.com' });
const both = (s: Stack) => ({ approvalDomainName: 'approvals.example.com', interopDomainName: 'api.example.com', hostedZone: zoneOf(s) });
/** Both names and a zone, synthesized once for the tests that only read it. */
let withBoth: ReturnType<typeof synthWithDomain> | undefined;
const synthBoth = () => (withBoth ??= synthWithDomain(both));

describe('custom domains', () => {
  it('creates regional TLS 1.2 domains with the certificate for the approval and the interop names', () => {
    const { template } = synthBoth();
    const domains = Object.values(template.findResources('AWS::ApiGateway::DomainName')) as CfnResource[];
    expect(domains.map((d) => d.Properties.DomainName).sort()).toEqual(['api.example.com', 'approvals.example.com']);
    for (const d of domains) {
      expect(d.Properties).toMatchObject({
        RegionalCertificateArn: CERT_ARN,
        EndpointConfiguration: { Types: ['REGIONAL'] },
        SecurityPolicy: 'TLS_1_2',
      });
    }
  });

  it('maps the approval API stage at the root of the approval domain, and nothing on the interop domain', () => {
    const { template } = synthBoth();
    const [apiId] = Object.keys(template.findResources('AWS::ApiGateway::RestApi'));
    const [stageId] = Object.keys(template.findResources('AWS::ApiGateway::Stage'));
    const domainIds = Object.fromEntries(
      Object.entries(template.findResources('AWS::ApiGateway::DomainName')).map(([id, d]) => [
        (d as CfnResource).Properties.DomainName,
        id,
      ]),
    );
    const mappings = Object.values(template.findResources('AWS::ApiGateway::BasePathMapping')) as CfnResource[];
    expect(mappings).toHaveLength(1);
    expect(mappings[0].Properties).toEqual({
      DomainName: { Ref: domainIds['approvals.example.com'] },
      RestApiId: { Ref: apiId },
      Stage: { Ref: stageId },
    });
  });

  it('points approval links at the custom domain and switches the execute-api endpoint off', () => {
    const { template, envOf } = synthBoth();
    for (const name of ['approval', 'approval-api'] as const)
      expect(envOf(name).APPROVAL_BASE_URL, name).toBe('https://approvals.example.com');
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { DisableExecuteApiEndpoint: true });
    template.hasOutput('ApprovalApiUrl', { Value: 'https://approvals.example.com' });
  });

  it('tells the interop provisioner and the rollback holders its domain, and lets them manage base path mappings there only', () => {
    const { template, envOf, functionId } = synthBoth();
    for (const name of HANDLER_NAMES) {
      expect(envOf(name).INTEROP_PROVIDER, name).toBe('api-gateway');
      const expected = ['provision-interop', 'rollback', 'execution-status', 'operate'].includes(name) ? 'api.example.com' : undefined;
      expect(envOf(name).INTEROP_DOMAIN_NAME, name).toBe(expected);
    }
    const mappingGrants = identityStatements(template).filter((s) => JSON.stringify(s.Resource).includes('/domainnames/'));
    const roles = (['provision-interop', 'rollback', 'execution-status', 'operate'] as const)
      .map((n) => roleIdOf(template, functionId(n)))
      .sort();
    expect([...new Set(mappingGrants.flatMap((s) => s.roles))].sort()).toEqual(roles);
    const domainResources = mappingGrants
      .flatMap((s) => s.Resource.map((r) => JSON.stringify(r)))
      .filter((r) => r.includes('/domainnames/'));
    for (const r of domainResources) expect(r).toMatch(/::\/domainnames\/api\.example\.com\/basepathmappings(\/\*)?"\]\]\}$/);
    const methods = (action: string) => mappingGrants.some((s) => allows(s, action));
    expect(['apigateway:GET', 'apigateway:POST', 'apigateway:DELETE'].every(methods)).toBe(true);
    expect(methods('apigateway:PATCH')).toBe(false);
  });

  it('creates alias A records in the hosted zone for both names', () => {
    const { template } = synthBoth();
    const records = Object.values(template.findResources('AWS::Route53::RecordSet')) as CfnResource[];
    expect(records.map((r) => r.Properties.Name).sort()).toEqual(['api.example.com.', 'approvals.example.com.']);
    const domainIds = Object.fromEntries(
      Object.entries(template.findResources('AWS::ApiGateway::DomainName')).map(([id, d]) => [
        `${(d as CfnResource).Properties.DomainName}.`,
        id,
      ]),
    );
    for (const r of records) {
      const domainId = domainIds[r.Properties.Name as string];
      expect(r.Properties).toEqual({
        Name: r.Properties.Name,
        Type: 'A',
        HostedZoneId: 'Z0123456789',
        AliasTarget: {
          DNSName: { 'Fn::GetAtt': [domainId, 'RegionalDomainName'] },
          HostedZoneId: { 'Fn::GetAtt': [domainId, 'RegionalHostedZoneId'] },
        },
      });
    }
  });

  it('without a zone creates no records and outputs the names DNS must point at', () => {
    const { template } = synthWithDomain(() => ({ approvalDomainName: 'approvals.example.com', interopDomainName: 'api.example.com' }));
    template.resourceCountIs('AWS::Route53::RecordSet', 0);
    const [approvalDomainId] = Object.entries(template.findResources('AWS::ApiGateway::DomainName')).find(
      ([, d]) => (d as CfnResource).Properties.DomainName === 'approvals.example.com',
    )!;
    template.hasOutput('ApprovalDomainTarget', { Value: { 'Fn::GetAtt': [approvalDomainId, 'RegionalDomainName'] } });
    template.hasOutput('InteropDomainTarget', {});
  });

  it('may give the interop domain alone: approval links keep the execute-api URL', () => {
    const { template, envOf } = synthWithDomain(() => ({ interopDomainName: 'api.example.com' }));
    template.resourceCountIs('AWS::ApiGateway::DomainName', 1);
    template.resourceCountIs('AWS::ApiGateway::BasePathMapping', 0);
    expect(JSON.stringify(envOf('approval-api').APPROVAL_BASE_URL)).toContain('.execute-api.');
    expect(envOf('provision-interop').INTEROP_DOMAIN_NAME).toBe('api.example.com');
  });

  it.each([
    [() => ({}), /domain needs approvalDomainName, interopDomainName or both/],
    [
      () => ({ approvalDomainName: 'https://approvals.example.com' }),
      /domain\.approvalDomainName expected a lowercase host name.*got "https:\/\/approvals\.example\.com"/,
    ],
    [() => ({ interopDomainName: 'API.example.com' }), /domain\.interopDomainName expected a lowercase host name/],
    [() => ({ approvalDomainName: 'x.example.com', interopDomainName: 'x.example.com' }), /are both "x\.example\.com".*must differ/],
    [
      (s: Stack) => ({ approvalDomainName: 'approvals.example.org', hostedZone: zoneOf(s) }),
      /domain\.approvalDomainName "approvals\.example\.org" is not in the hosted zone example\.com/,
    ],
  ])('refuses incompatible domain props (%#) with a message naming the field', (domain, message) => {
    expect(() => synthWithDomain(domain as (s: Stack) => Partial<ReleasePipelineDomainProps>)).toThrow(message);
  });
});
