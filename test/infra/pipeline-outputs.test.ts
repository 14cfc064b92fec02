import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { CLI_STACK_OUTPUTS } from '../../functions/lib/stack-outputs.js';
import { ReleasePipeline, type ReleasePipelineProps } from '../../infra/release-pipeline.js';
import { FIXTURE_CATALOG_PATH, appContext, logicalIdOf, readJson } from './synth.js';

/**
 * The outputs `launchway --stack` reads exist on any stack that holds a ReleasePipeline, under the same logical ids
 * as in LaunchwayStack, and two pipelines cannot silently fight over them.
 */

const props = (extra: Partial<ReleasePipelineProps> = {}): ReleasePipelineProps => ({
  catalog: readJson(FIXTURE_CATALOG_PATH) as ReleasePipelineProps['catalog'],
  mailFrom: 'releases@team.example.com',
  ...extra,
});
const teamStack = () => new Stack(new App({ context: appContext() }), 'TeamStack');

describe('pipeline outputs', () => {
  it("gives a team's own stack the five CLI outputs under fixed logical ids, pointing at this pipeline", () => {
    const stack = teamStack();
    const pipeline = new ReleasePipeline(stack, 'Releases', props());
    const outputs = Template.fromStack(stack).toJSON().Outputs as Record<string, { Value: unknown; Description: string }>;
    const id = (element: Parameters<Stack['getLogicalId']>[0]) => logicalIdOf(stack, element);
    expect(outputs.StateMachineArn.Value).toEqual({ Ref: id(pipeline.stateMachine.node.defaultChild as never) });
    expect(outputs.ReleasesTableName.Value).toEqual({ Ref: id(pipeline.table.node.defaultChild as never) });
    expect(outputs.ArtifactsBucketName.Value).toEqual({ Ref: id(pipeline.bucket.node.defaultChild as never) });
    expect(outputs.OperateFunctionName.Value).toEqual({ Ref: id(pipeline.functions.operate.node.defaultChild as CfnFunction) });
    expect(JSON.stringify(outputs.ApprovalApiUrl.Value)).toContain(id(pipeline.approvalApi.node.defaultChild as never));
    for (const [name, variable] of Object.entries(CLI_STACK_OUTPUTS)) expect(outputs[name].Description, name).toContain(variable);
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['DashboardUrl']));
    expect(Object.keys(outputs)).not.toContain('GithubCiRoleArn');
  });

  it('refuses a second pipeline with outputs in the same stack, naming the `outputs` prop, and accepts it with outputs: false', () => {
    const clash = teamStack();
    new ReleasePipeline(clash, 'Releases', props());
    new ReleasePipeline(clash, 'MoreReleases', props());
    expect(() => Template.fromStack(clash)).toThrow(
      new RegExp(
        'TeamStack/MoreReleases/OutputStateMachineArn has the stack output id "StateMachineArn", ' +
          'which TeamStack/Releases outputs too.*`outputs: false`',
      ),
    );

    const stack = teamStack();
    const first = new ReleasePipeline(stack, 'Releases', props());
    new ReleasePipeline(stack, 'MoreReleases', props({ outputs: false }));
    const outputs = Template.fromStack(stack).toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.StateMachineArn.Value).toEqual({ Ref: logicalIdOf(stack, first.stateMachine.node.defaultChild as never) });
    expect(Object.keys(outputs).filter((name) => name in CLI_STACK_OUTPUTS)).toHaveLength(5);
  });

  it("refuses a team's own output that takes one of the ids, and creates none with outputs: false", () => {
    const stack = teamStack();
    new CfnOutput(stack, 'ReleasesTableName', { value: 'theirs' });
    new ReleasePipeline(stack, 'Releases', props());
    expect(() => Template.fromStack(stack)).toThrow(
      /TeamStack\/ReleasesTableName has the stack output id "ReleasesTableName".*rename your output/,
    );

    const quiet = teamStack();
    new ReleasePipeline(quiet, 'Releases', props({ outputs: false }));
    const names = Object.keys(Template.fromStack(quiet).toJSON().Outputs ?? {});
    expect(names.filter((name) => name in CLI_STACK_OUTPUTS || name === 'DashboardUrl')).toEqual([]);
  });
});
