import { App, RemovalPolicy } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as sns from 'aws-cdk-lib/aws-sns';
import { loadCatalogFile } from './catalog-file.js';
import { DEFAULT_CATALOG_PATH } from './paths.js';
import type { ReleasePipelineProps } from './release-pipeline.js';
import { LaunchwayStack } from './stack.js';

/**
 * Builds the Launchway stack into a CDK app (infra/app.ts is the entry `cdk` runs). Settings come from context
 * (`-c name=value`) first, then the environment. Nothing is looked up in an account, so synth works offline.
 *
 * | context | environment | meaning | default |
 * |---|---|---|---|
 * | `catalog` | LAUNCHWAY_CATALOG | the catalog file | examples/catalog.json |
 * | `mailFrom` | LAUNCHWAY_MAIL_FROM | sender of email, verified in SES | launchway@example.com (fine for synth only) |
 * | `stackName` | LAUNCHWAY_STACK_NAME | stack name | Launchway |
 * | `removalPolicy` | LAUNCHWAY_REMOVAL_POLICY | `retain` or `destroy` (data stores on stack deletion) | retain |
 * | `alarmTopicArn` | LAUNCHWAY_ALARM_TOPIC_ARN | SNS topic the alarms notify | none |
 * | `githubRepository` | LAUNCHWAY_GITHUB_REPOSITORY | `owner/repo` whose CI may start releases (OIDC role) | no role |
 * | `githubBranch` | LAUNCHWAY_GITHUB_BRANCH | the branch CI releases from | main |
 * | `githubOidcProviderArn` | LAUNCHWAY_GITHUB_OIDC_PROVIDER_ARN | the account's existing GitHub OIDC provider | created |
 * | `approvalDomainName`, `interopDomainName` | LAUNCHWAY_APPROVAL_DOMAIN_NAME, LAUNCHWAY_INTEROP_DOMAIN_NAME | custom domains | none |
 * | `certificateArn` | LAUNCHWAY_CERTIFICATE_ARN | ACM certificate for the custom domains (same region) | required with a domain |
 * | `hostedZoneId`, `hostedZoneName` | LAUNCHWAY_HOSTED_ZONE_ID, LAUNCHWAY_HOSTED_ZONE_NAME | zone for alias records | no records |
 */
export function buildApp(app: App = new App(), env: NodeJS.ProcessEnv = process.env): LaunchwayStack {
  const setting = (contextKey: string, envKey: string): string | undefined => {
    const value = app.node.tryGetContext(contextKey) ?? env[envKey];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  };
  const catalog = loadCatalogFile(setting('catalog', 'LAUNCHWAY_CATALOG') ?? DEFAULT_CATALOG_PATH);
  const removalPolicy = removalPolicyOf(setting('removalPolicy', 'LAUNCHWAY_REMOVAL_POLICY'));
  const alarmTopicArn = setting('alarmTopicArn', 'LAUNCHWAY_ALARM_TOPIC_ARN');
  const githubRepository = setting('githubRepository', 'LAUNCHWAY_GITHUB_REPOSITORY');
  const domain = {
    approvalDomainName: setting('approvalDomainName', 'LAUNCHWAY_APPROVAL_DOMAIN_NAME'),
    interopDomainName: setting('interopDomainName', 'LAUNCHWAY_INTEROP_DOMAIN_NAME'),
    certificateArn: setting('certificateArn', 'LAUNCHWAY_CERTIFICATE_ARN'),
    hostedZoneId: setting('hostedZoneId', 'LAUNCHWAY_HOSTED_ZONE_ID'),
    hostedZoneName: setting('hostedZoneName', 'LAUNCHWAY_HOSTED_ZONE_NAME'),
  };
  const wantsDomain = Boolean(domain.approvalDomainName || domain.interopDomainName);
  if (wantsDomain && !domain.certificateArn) {
    throw new Error(
      'approvalDomainName or interopDomainName is set, but certificateArn is not: a custom domain needs an ACM certificate in the same region',
    );
  }
  if (Boolean(domain.hostedZoneId) !== Boolean(domain.hostedZoneName)) {
    throw new Error('hostedZoneId and hostedZoneName go together: set both (the zone is not looked up, so synth stays offline)');
  }

  return new LaunchwayStack(app, setting('stackName', 'LAUNCHWAY_STACK_NAME') ?? 'Launchway', {
    description: 'Launchway release pipeline: Step Functions, Lambda, DynamoDB, S3, API Gateway approval links',
    pipeline: (stack): ReleasePipelineProps => ({
      catalog,
      mailFrom: setting('mailFrom', 'LAUNCHWAY_MAIL_FROM') ?? 'launchway@example.com',
      removalPolicy,
      alarmTopic: alarmTopicArn ? sns.Topic.fromTopicArn(stack, 'AlarmTopic', alarmTopicArn) : undefined,
      githubOidc: githubRepository
        ? {
            repository: githubRepository,
            branch: setting('githubBranch', 'LAUNCHWAY_GITHUB_BRANCH'),
            providerArn: setting('githubOidcProviderArn', 'LAUNCHWAY_GITHUB_OIDC_PROVIDER_ARN'),
          }
        : undefined,
      domain: wantsDomain
        ? {
            approvalDomainName: domain.approvalDomainName,
            interopDomainName: domain.interopDomainName,
            certificate: acm.Certificate.fromCertificateArn(stack, 'DomainCertificate', domain.certificateArn!),
            hostedZone:
              domain.hostedZoneId && domain.hostedZoneName
                ? route53.HostedZone.fromHostedZoneAttributes(stack, 'HostedZone', {
                    hostedZoneId: domain.hostedZoneId,
                    zoneName: domain.hostedZoneName,
                  })
                : undefined,
          }
        : undefined,
    }),
  });
}

function removalPolicyOf(value: string | undefined): RemovalPolicy | undefined {
  if (value === undefined) return undefined;
  if (value === 'retain') return RemovalPolicy.RETAIN;
  if (value === 'destroy') return RemovalPolicy.DESTROY;
  throw new Error(`removalPolicy expected "retain" or "destroy", got "${value}"`);
}
