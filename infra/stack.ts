import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ReleasePipeline, type ReleasePipelineProps } from './release-pipeline.js';

export interface LaunchwayStackProps extends StackProps {
  /**
   * Everything the pipeline needs; see ReleasePipelineProps. A function receives the stack, so props can import
   * existing resources (a topic, a certificate, a hosted zone) into it.
   */
  readonly pipeline: ReleasePipelineProps | ((stack: Stack) => ReleasePipelineProps);
}

/**
 * The deployable Launchway stack: one ReleasePipeline and the outputs the `launchway` CLI and CI need. It is
 * environment-agnostic (no account or region lookups), so it synthesizes offline.
 */
export class LaunchwayStack extends Stack {
  readonly pipeline: ReleasePipeline;

  constructor(scope: Construct, id: string, props: LaunchwayStackProps) {
    super(scope, id, props);
    const pipelineProps = typeof props.pipeline === 'function' ? props.pipeline(this) : props.pipeline;
    this.pipeline = new ReleasePipeline(this, 'Pipeline', pipelineProps);
    const { pipeline } = this;

    const outputs: Record<string, { value: string; description: string } | undefined> = {
      StateMachineArn: { value: pipeline.stateMachine.stateMachineArn, description: 'Release state machine (LAUNCHWAY_STATE_MACHINE_ARN)' },
      ReleasesTableName: { value: pipeline.table.tableName, description: 'Releases table (RELEASES_TABLE)' },
      ArtifactsBucketName: { value: pipeline.bucket.bucketName, description: 'Artifacts bucket (ARTIFACTS_BUCKET)' },
      OperateFunctionName: {
        value: pipeline.functions.operate.functionName,
        description: 'The function launchway rollback invokes (LAUNCHWAY_OPERATE_FUNCTION)',
      },
      ApprovalApiUrl: { value: pipeline.approvalUrl, description: 'Where approval links start (APPROVAL_BASE_URL)' },
      DashboardUrl: {
        value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${pipeline.dashboard.dashboardName}`,
        description: 'CloudWatch dashboard of the pipeline',
      },
      GithubCiRoleArn: pipeline.githubCiRole && {
        value: pipeline.githubCiRole.role.roleArn,
        description: 'role-to-assume for aws-actions/configure-aws-credentials',
      },
    };
    // Without a hosted zone, DNS is the operator's: these are the names to point CNAME (or alias) records at.
    const domains = pipeline.domains;
    if (domains && !pipelineProps.domain?.hostedZone) {
      if (domains.approvalDomain) {
        outputs.ApprovalDomainTarget = {
          value: domains.approvalDomain.domainNameAliasDomainName,
          description: `DNS target of ${pipelineProps.domain?.approvalDomainName}`,
        };
      }
      if (domains.interopDomain) {
        outputs.InteropDomainTarget = {
          value: domains.interopDomain.domainNameAliasDomainName,
          description: `DNS target of ${pipelineProps.domain?.interopDomainName}`,
        };
      }
    }
    for (const [name, output] of Object.entries(outputs)) if (output) new CfnOutput(this, name, output);
  }
}
