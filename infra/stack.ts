import { Stack, type StackProps } from 'aws-cdk-lib';
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
 * The deployable Launchway stack: one ReleasePipeline, with the outputs the `launchway` CLI and CI need. It is
 * environment-agnostic (no account or region lookups), so it synthesizes offline.
 */
export class LaunchwayStack extends Stack {
  readonly pipeline: ReleasePipeline;

  constructor(scope: Construct, id: string, props: LaunchwayStackProps) {
    super(scope, id, props);
    const pipelineProps = typeof props.pipeline === 'function' ? props.pipeline(this) : props.pipeline;
    this.pipeline = new ReleasePipeline(this, 'Pipeline', pipelineProps);
  }
}
