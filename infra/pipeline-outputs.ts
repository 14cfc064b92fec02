import { CfnOutput, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { CLI_STACK_OUTPUTS, type CliStackOutput } from '../functions/lib/stack-outputs.js';
import type { ReleasePipelineDomainProps } from './api-domains.js';
import type { ReleasePipeline } from './release-pipeline.js';

interface Output {
  value: string;
  description: string;
}

/**
 * Creates the pipeline's stack outputs with fixed logical ids, whatever the construct's path: `launchway --stack`
 * finds StateMachineArn, ReleasesTableName, ArtifactsBucketName, ApprovalApiUrl and OperateFunctionName by these
 * names in LaunchwayStack and in any stack a team puts the construct in. Fixed ids also mean one set per stack: a
 * validation fails the synth, naming the `outputs` prop, when another output of the stack has one of these ids.
 */
export function createPipelineOutputs(pipeline: ReleasePipeline, domain: ReleasePipelineDomainProps | undefined): void {
  const region = Stack.of(pipeline).region;
  const { dashboardName } = pipeline.dashboard;
  const cli: Record<CliStackOutput, [value: string, what: string]> = {
    StateMachineArn: [pipeline.stateMachine.stateMachineArn, 'Release state machine'],
    ReleasesTableName: [pipeline.table.tableName, 'Releases table'],
    ArtifactsBucketName: [pipeline.bucket.bucketName, 'Artifacts bucket'],
    OperateFunctionName: [pipeline.functions.operate.functionName, 'The function launchway rollback invokes'],
    ApprovalApiUrl: [pipeline.approvalUrl, 'Where approval links start'],
  };
  const outputs: Record<string, Output | undefined> = {
    ...Object.fromEntries(
      Object.entries(cli).map(([id, [value, what]]) => [
        id,
        { value, description: `${what} (${CLI_STACK_OUTPUTS[id as CliStackOutput]})` },
      ]),
    ),
    DashboardUrl: {
      value: `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${dashboardName}`,
      description: 'CloudWatch dashboard of the pipeline',
    },
    GithubCiRoleArn: pipeline.githubCiRole && {
      value: pipeline.githubCiRole.role.roleArn,
      description: 'role-to-assume for aws-actions/configure-aws-credentials',
    },
  };
  // Without a hosted zone, DNS is the operator's: these are the names to point CNAME (or alias) records at.
  const domains = pipeline.domains;
  if (domains && !domain?.hostedZone) {
    if (domains.approvalDomain) {
      outputs.ApprovalDomainTarget = {
        value: domains.approvalDomain.domainNameAliasDomainName,
        description: `DNS target of ${domain?.approvalDomainName}`,
      };
    }
    if (domains.interopDomain) {
      outputs.InteropDomainTarget = {
        value: domains.interopDomain.domainNameAliasDomainName,
        description: `DNS target of ${domain?.interopDomainName}`,
      };
    }
  }
  const created: CfnOutput[] = [];
  for (const [id, output] of Object.entries(outputs)) {
    if (!output) continue;
    const cfn = new CfnOutput(pipeline, `Output${id}`, output);
    cfn.overrideLogicalId(id);
    created.push(cfn);
  }
  pipeline.node.addValidation({ validate: () => collisions(pipeline, created) });
}

/** Other outputs of the stack that take one of the pipeline's fixed output ids, each as a synth error. */
function collisions(pipeline: ReleasePipeline, own: readonly CfnOutput[]): string[] {
  const stack = Stack.of(pipeline);
  const ids = new Set(own.map((o) => stack.resolve(o.logicalId) as string));
  const errors: string[] = [];
  for (const other of stack.node.findAll()) {
    if (!(other instanceof CfnOutput) || own.includes(other)) continue;
    const id = stack.resolve(other.logicalId) as string;
    if (!ids.has(id)) continue;
    errors.push(
      `${other.node.path} has the stack output id "${id}", which ${pipeline.node.path} outputs too. ` +
        'A stack holds one set of Launchway outputs: give all but one ReleasePipeline `outputs: false`, or rename your output',
    );
  }
  return errors;
}

/** Lets an identity read the outputs as `launchway --stack` does: DescribeStacks on the stack of `scope` only. */
export function grantReadStackOutputs(scope: Construct, grantee: iam.IGrantable): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: ['cloudformation:DescribeStacks'], resourceArns: [Stack.of(scope).stackId] });
}
