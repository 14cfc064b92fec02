import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ReleasePipeline, type ReleasePipelineProps } from './release-pipeline.js';

export interface LaunchwayStackProps extends StackProps {
  /** Everything the pipeline needs; see ReleasePipelineProps. */
  readonly pipeline: ReleasePipelineProps;
}

/**
 * The deployable Launchway stack: one ReleasePipeline and the outputs the `launchway` CLI and CI need. It is
 * environment-agnostic (no account or region lookups), so it synthesizes offline.
 */
export class LaunchwayStack extends Stack {
  readonly pipeline: ReleasePipeline;

  constructor(scope: Construct, id: string, props: LaunchwayStackProps) {
    super(scope, id, props);
    this.pipeline = new ReleasePipeline(this, 'Pipeline', props.pipeline);

    const outputs: Record<string, { value: string; description: string }> = {
      StateMachineArn: { value: this.pipeline.stateMachine.stateMachineArn, description: 'Release state machine' },
      ReleasesTableName: { value: this.pipeline.table.tableName, description: 'RELEASES_TABLE' },
      ArtifactsBucketName: { value: this.pipeline.bucket.bucketName, description: 'ARTIFACTS_BUCKET' },
      ApprovalApiUrl: { value: this.pipeline.approvalApi.url, description: 'APPROVAL_BASE_URL' },
    };
    for (const [name, output] of Object.entries(outputs)) new CfnOutput(this, name, output);
  }
}
