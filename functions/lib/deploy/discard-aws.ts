import { DeleteChangeSetCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetAliasCommand, UpdateAliasCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import * as z from 'zod';
import { isError } from './support.js';

/**
 * How the lambda-alias and cloudformation providers retire a deployment a fenced-out step attempt made
 * (DeployProvider.discard). Kept apart from the providers, whose files are long enough, and reading only the handle
 * fields they need, so a handle from any phase (even a failed start's) is accepted.
 */

const LambdaHandle = z.object({ version: z.string().optional(), previousVersion: z.string().optional() }).loose();

/**
 * Puts the alias back on the version it had before, only while it still sends traffic to this deployment's version
 * (as primary or weighted), and only if nothing moved it meanwhile (UpdateAlias with the RevisionId read). The
 * published version stays: versions are immutable and cost nothing idle, and `$LATEST` serves no alias.
 */
export async function discardLambdaVersion(
  lambda: LambdaClient,
  target: { functionName: string; alias: string },
  raw: Record<string, unknown>,
): Promise<string> {
  const { functionName, alias } = target;
  const parsed = LambdaHandle.safeParse(raw);
  const version = parsed.success ? parsed.data.version : undefined;
  const previousVersion = parsed.success ? parsed.data.previousVersion : undefined;
  if (!version) return `no version of ${functionName} was published; ${alias} was not moved`;
  let current: { FunctionVersion?: string; RevisionId?: string; RoutingConfig?: { AdditionalVersionWeights?: Record<string, number> } };
  try {
    current = await lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: alias }));
  } catch (err) {
    if (isError(err, 'ResourceNotFoundException')) return `${functionName}:${alias} does not exist`;
    throw err;
  }
  const weighted = Object.keys(current.RoutingConfig?.AdditionalVersionWeights ?? {});
  if (current.FunctionVersion !== version && !weighted.includes(version))
    return `${alias} does not route to version ${version}; left alone`;
  if (!previousVersion) return `${alias} routes to version ${version} and had no version before it; left alone`;
  await lambda.send(
    new UpdateAliasCommand({
      FunctionName: functionName,
      Name: alias,
      FunctionVersion: previousVersion,
      RoutingConfig: { AdditionalVersionWeights: {} },
      RevisionId: current.RevisionId,
    }),
  );
  return `${alias} is back on version ${previousVersion}`;
}

const CloudFormationHandle = z
  .object({ stackName: z.string(), stackId: z.string().optional(), changeSetId: z.string().optional(), phase: z.string().optional() })
  .loose();

/**
 * Deletes the change set the attempt created while it was not executed yet. Once executed, the stack runs the
 * template: undoing that means redeploying the previous one, which is the Rollback's work, not a late attempt's.
 * The pipeline checks its fence before every status poll, so only a poll already in flight can get that far.
 */
export async function discardChangeSet(cfn: CloudFormationClient, raw: Record<string, unknown>): Promise<string> {
  const parsed = CloudFormationHandle.safeParse(raw);
  if (!parsed.success || !parsed.data.changeSetId) return 'no change set was created';
  const { changeSetId, stackId, stackName, phase } = parsed.data;
  if (phase !== 'CHANGE_SET') return `change set ${changeSetId} was already executed on ${stackName}; left to the rollback`;
  try {
    await cfn.send(new DeleteChangeSetCommand({ ChangeSetName: changeSetId, StackName: stackId ?? stackName }));
  } catch (err) {
    if (isError(err, 'ChangeSetNotFoundException', 'ChangeSetNotFound')) return `change set ${changeSetId} was already gone`;
    // Executed between the last poll and now: CloudFormation refuses to delete it.
    if (isError(err, 'InvalidChangeSetStatusException', 'InvalidChangeSetStatus'))
      return `change set ${changeSetId} was already executed on ${stackName}; left to the rollback`;
    throw err;
  }
  return `deleted change set ${changeSetId} on ${stackName}`;
}
