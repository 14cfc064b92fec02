import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  ExecuteChangeSetCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import * as z from 'zod';
import { ArtifactStore } from '../artifact-store.js';
import { cloudFormationClient, s3Client } from '../clients.js';
import { getConfig } from '../config.js';
import type { DeployProvider, DeployRequest, DeployStatus, RollbackRequest } from './deploy-provider.js';
import { discardChangeSet } from './discard-aws.js';
import {
  errorText,
  isError,
  parseHandle,
  pollUntil,
  ROLLBACK_BUDGET_MS,
  ROLLBACK_POLL_MS,
  systemClock,
  targetOf,
  withoutUndefined,
  type Clock,
} from './support.js';
import type { CloudFormationTarget } from './targets.js';
import {
  changeSetName,
  describeStack,
  FAILED_STATUSES,
  NEEDS_DELETE,
  NO_CHANGES,
  reasonSuffix,
  SUCCEEDED_STATUSES,
} from './cloudformation-stacks.js';

/** CloudFormation takes a TemplateBody up to 51,200 bytes; a larger template goes by TemplateURL (up to 1 MB). */
export const MAX_TEMPLATE_BODY_BYTES = 51_200;

/**
 * A cloudformation deployment:
 * - CHANGE_SET: the change set is being created; once CREATE_COMPLETE it is executed.
 * - EXECUTING: ExecuteChangeSet was called with `requestToken`; the stack's status decides the outcome.
 * - DONE: live. `templateKey` is the template this stack now runs (what a later rollback redeploys).
 */
export const CloudFormationHandleSchema = z.object({
  stackName: z.string().min(1),
  region: z.string().optional(),
  stackId: z.string().optional(),
  changeSetId: z.string().min(1),
  changeSetName: z.string().min(1),
  changeSetType: z.enum(['CREATE', 'UPDATE']),
  phase: z.enum(['CHANGE_SET', 'EXECUTING', 'DONE']),
  /** ClientRequestToken of the execution; stack events carry it, which picks out this execution's failures. */
  requestToken: z.string().optional(),
  templateKey: z.string().min(1),
  startedAt: z.iso.datetime(),
  endpoint: z.string().optional(),
});
export type CloudFormationHandle = z.infer<typeof CloudFormationHandleSchema>;

export interface CloudFormationProviderOptions {
  /** The client for a region (undefined: the pipeline's region). @default the shared client, or one per other region */
  cloudFormation?: (region: string | undefined) => CloudFormationClient;
  /** Where templates are read from. @default an ArtifactStore on ARTIFACTS_BUCKET */
  artifacts?: ArtifactStore;
  clock?: Clock;
  /** How long and how often a rollback polls. @default ROLLBACK_BUDGET_MS, ROLLBACK_POLL_MS */
  rollbackBudgetMs?: number;
  rollbackPollMs?: number;
}

type Step = Promise<DeployStatus>;

/**
 * Deploys a CloudFormation template (the artifact, JSON or YAML) as a change set: CreateChangeSet (CREATE for a new
 * stack, UPDATE otherwise), wait for it, ExecuteChangeSet, then follow the stack's status. A change set with no
 * changes is a successful no-op. Rollback redeploys the previous release's template the same way.
 */
export class CloudFormationProvider implements DeployProvider {
  readonly type = 'cloudformation' as const;
  private readonly clock: Clock;
  private readonly regional = new Map<string, CloudFormationClient>();
  private artifactStore?: ArtifactStore;

  constructor(private readonly options: CloudFormationProviderOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.artifactStore = options.artifacts;
  }

  /** Reads the template, checks the stack can take a change set, and creates one. */
  async start(req: DeployRequest): Promise<DeployStatus> {
    const target = targetOf(req.target, 'cloudformation');
    return this.createChangeSet(target, req.artifactKey, changeSetName(`launchway-${req.environment}-${req.releaseId}`));
  }

  /** Advances the deployment one step (see CloudFormationHandleSchema); in progress past `timeoutSeconds` it fails. */
  async status(req: DeployRequest, rawHandle: Record<string, unknown>): Promise<DeployStatus> {
    const target = targetOf(req.target, 'cloudformation');
    const handle = parseHandle(CloudFormationHandleSchema, rawHandle, 'handle');
    const status = await this.advance(target, handle);
    if (status.state !== 'IN_PROGRESS' || this.clock.now() - Date.parse(handle.startedAt) <= target.timeoutSeconds * 1000) return status;
    return { ...status, state: 'FAILED', message: `${status.message}; still not complete after ${target.timeoutSeconds}s` };
  }

  /**
   * Redeploys the previous release's template (`previous.artifactKey`) with the target's parameters, waiting first
   * for a stack still busy (rolling back on its own, say) to settle, and polling within the rollback budget. Without
   * a previous release the stack is left as it is: deleting it is an operator's decision.
   */
  async rollback(args: RollbackRequest): Promise<DeployStatus | undefined> {
    const target = targetOf(args.target, 'cloudformation');
    const previous = args.previous;
    if (!previous) return undefined;
    const cfn = this.client(target);
    const timedOut = (what: string): DeployStatus => ({
      state: 'FAILED',
      handle: { ...previous.handle },
      message: `rollback of ${target.stackName} to ${previous.version} did not finish within ${Math.round(this.rollbackBudget() / 1000)}s (${what})`,
    });
    const budget = { budgetMs: this.rollbackBudget(), intervalMs: this.options.rollbackPollMs ?? ROLLBACK_POLL_MS };
    const deadline = this.clock.now() + budget.budgetMs;

    let busy = '';
    const settled = await pollUntil(
      this.clock,
      budget,
      async () => {
        const stack = await describeStack(cfn, target.stackName);
        busy = stack?.StackStatus ?? 'missing';
        return stack?.StackStatus?.endsWith('_IN_PROGRESS') && stack.StackStatus !== 'REVIEW_IN_PROGRESS' ? undefined : true;
      },
      () => false,
    );
    if (!settled) return timedOut(`the stack stayed ${busy}`);

    const name = changeSetName(`launchway-rollback-${previous.releaseId}-${this.clock.now()}`);
    let status = await this.createChangeSet(target, previous.artifactKey, name);
    const remaining = { ...budget, budgetMs: Math.max(0, deadline - this.clock.now()) };
    return pollUntil(
      this.clock,
      remaining,
      async () => {
        if (status.state !== 'IN_PROGRESS') return status;
        status = await this.advance(target, parseHandle(CloudFormationHandleSchema, status.handle, 'handle'));
        return status.state === 'IN_PROGRESS' ? undefined : status;
      },
      () => timedOut(status.message ?? 'still in progress'),
    );
  }

  /** Deletes the change set while it is not executed yet (discard-aws.ts). */
  async discard(req: DeployRequest, handle: Record<string, unknown>): Promise<string> {
    return discardChangeSet(this.client(targetOf(req.target, 'cloudformation')), handle);
  }

  private async createChangeSet(target: CloudFormationTarget, templateKey: string, name: string): Step {
    const cfn = this.client(target);
    const started = {
      stackName: target.stackName,
      region: target.region,
      templateKey,
      startedAt: new Date(this.clock.now()).toISOString(),
    };
    const failed = (message: string): DeployStatus => ({ state: 'FAILED', handle: withoutUndefined({ ...started }), message });

    const stack = await describeStack(cfn, target.stackName);
    const current = stack?.StackStatus;
    if (current && NEEDS_DELETE.has(current)) {
      return failed(`stack ${target.stackName} is ${current}; it cannot be updated until it is deleted${reasonSuffix(stack)}`);
    }
    if (current?.endsWith('_IN_PROGRESS') && current !== 'REVIEW_IN_PROGRESS') {
      return failed(`stack ${target.stackName} is busy (${current}); another operation must finish first`);
    }
    // A stack in REVIEW_IN_PROGRESS exists only as the shell of a CREATE change set that was never executed.
    const changeSetType = !stack || current === 'REVIEW_IN_PROGRESS' ? 'CREATE' : 'UPDATE';

    const template = await this.templateSource(cfn, templateKey);
    if ('error' in template) return failed(template.error);

    let changeSetId: string | undefined;
    let stackId = stack?.StackId;
    try {
      const out = await cfn.send(
        new CreateChangeSetCommand({
          StackName: target.stackName,
          ChangeSetName: name,
          ChangeSetType: changeSetType,
          ...template,
          Parameters: Object.entries(target.parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
          Capabilities: target.capabilities,
          RoleARN: target.roleArn,
          Description: `Launchway: ${templateKey}`,
          // A retried start sends the same name and token; CloudFormation then knows it is not a second change set.
          ClientToken: name,
        }),
      );
      changeSetId = out.Id;
      stackId = out.StackId ?? stackId;
    } catch (err) {
      if (isError(err, 'AlreadyExistsException')) {
        const existing = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: name, StackName: target.stackName }));
        changeSetId = existing.ChangeSetId;
        stackId = existing.StackId ?? stackId;
      } else if (isError(err, 'ValidationError', 'InsufficientCapabilitiesException', 'LimitExceededException')) {
        return failed(`CreateChangeSet on ${target.stackName} was refused: ${errorText(err)}`);
      } else {
        throw err;
      }
    }
    if (!changeSetId) throw new Error(`CreateChangeSet on ${target.stackName} returned no change set id`);
    const handle = withoutUndefined<CloudFormationHandle>({
      ...started,
      stackId,
      changeSetId,
      changeSetName: name,
      changeSetType,
      phase: 'CHANGE_SET',
    });
    return { state: 'IN_PROGRESS', handle, message: `creating ${changeSetType} change set ${name} on ${target.stackName}` };
  }

  private async advance(target: CloudFormationTarget, handle: CloudFormationHandle): Step {
    const cfn = this.client(target);
    if (handle.phase === 'CHANGE_SET') {
      const cs = await cfn.send(
        new DescribeChangeSetCommand({ ChangeSetName: handle.changeSetId, StackName: handle.stackId ?? handle.stackName }),
      );
      if (cs.Status === 'FAILED') {
        if (NO_CHANGES.test(cs.StatusReason ?? '')) {
          // An empty change set stays listed on the stack; it has no further use.
          await cfn.send(new DeleteChangeSetCommand({ ChangeSetName: handle.changeSetId, StackName: handle.stackId ?? handle.stackName }));
          return this.settle(
            target,
            { ...handle, phase: 'DONE' },
            await describeStack(cfn, handle.stackId ?? handle.stackName),
            'no changes',
          );
        }
        return {
          state: 'FAILED',
          handle,
          message: `change set ${handle.changeSetName} on ${handle.stackName} failed: ${cs.StatusReason ?? 'no reason given'}`,
        };
      }
      if (cs.Status !== 'CREATE_COMPLETE') {
        return { state: 'IN_PROGRESS', handle, message: `change set ${handle.changeSetName} is ${cs.Status}` };
      }
      if (cs.ExecutionStatus === 'OBSOLETE' || cs.ExecutionStatus === 'EXECUTE_FAILED') {
        return {
          state: 'FAILED',
          handle,
          message: `change set ${handle.changeSetName} is ${cs.ExecutionStatus}${cs.StatusReason ? `: ${cs.StatusReason}` : ''}`,
        };
      }
      if (cs.ExecutionStatus !== 'AVAILABLE') {
        // UNAVAILABLE while CloudFormation prepares it; EXECUTE_* if an earlier poll executed it and then failed to record that.
        if (cs.ExecutionStatus?.startsWith('EXECUTE_')) return this.executing(target, { ...handle, phase: 'EXECUTING' });
        return {
          state: 'IN_PROGRESS',
          handle,
          message: `change set ${handle.changeSetName} is not executable yet (${cs.ExecutionStatus})`,
        };
      }
      const requestToken = handle.changeSetName;
      await cfn.send(
        new ExecuteChangeSetCommand({
          ChangeSetName: handle.changeSetId,
          StackName: handle.stackId ?? handle.stackName,
          ClientRequestToken: requestToken,
        }),
      );
      const next: CloudFormationHandle = { ...handle, phase: 'EXECUTING', requestToken, stackId: cs.StackId ?? handle.stackId };
      return { state: 'IN_PROGRESS', handle: next, message: `executing change set ${handle.changeSetName} on ${handle.stackName}` };
    }
    return this.executing(target, handle);
  }

  private async executing(target: CloudFormationTarget, handle: CloudFormationHandle): Step {
    const cfn = this.client(target);
    const stack = await describeStack(cfn, handle.stackId ?? handle.stackName);
    const status = stack?.StackStatus;
    if (status && SUCCEEDED_STATUSES.has(status)) return this.settle(target, { ...handle, phase: 'DONE' }, stack, status);
    if (!status || FAILED_STATUSES.has(status)) {
      const event = await this.firstFailure(cfn, handle);
      const why = [stack?.StackStatusReason, event].filter(Boolean).join('; ');
      return { state: 'FAILED', handle, message: `stack ${handle.stackName} is ${status ?? 'gone'}${why ? `: ${why}` : ''}` };
    }
    return { state: 'IN_PROGRESS', handle, message: `stack ${handle.stackName} is ${status}` };
  }

  /** The stack runs the template: SUCCEEDED with the endpoint from the named output. */
  private settle(target: CloudFormationTarget, handle: CloudFormationHandle, stack: Stack | undefined, how: string): DeployStatus {
    const done = withoutUndefined<CloudFormationHandle>({ ...handle, phase: 'DONE', stackId: stack?.StackId ?? handle.stackId });
    if (!target.endpointOutput) return { state: 'SUCCEEDED', handle: done, message: `stack ${handle.stackName}: ${how}` };
    const output = stack?.Outputs?.find((o) => o.OutputKey === target.endpointOutput);
    if (!output?.OutputValue) {
      const names = (stack?.Outputs ?? []).map((o) => o.OutputKey).join(', ') || 'none';
      return {
        state: 'FAILED',
        handle: done,
        message: `stack ${handle.stackName} has no output ${target.endpointOutput} for the endpoint (outputs: ${names})`,
      };
    }
    done.endpoint = output.OutputValue;
    return { state: 'SUCCEEDED', endpoint: output.OutputValue, handle: done, message: `stack ${handle.stackName}: ${how}` };
  }

  /**
   * The root cause, when cheap to find: the oldest failed resource event of this execution on the first page of
   * events (newest first). Cancellations are consequences of the first failure, not causes.
   */
  private async firstFailure(cfn: CloudFormationClient, handle: CloudFormationHandle): Promise<string | undefined> {
    try {
      const out = await cfn.send(new DescribeStackEventsCommand({ StackName: handle.stackId ?? handle.stackName }));
      const failures = (out.StackEvents ?? []).filter(
        (e) =>
          e.ResourceStatus?.endsWith('_FAILED') &&
          (!handle.requestToken || e.ClientRequestToken === handle.requestToken) &&
          e.LogicalResourceId !== handle.stackName &&
          !/cancelled/i.test(e.ResourceStatusReason ?? ''),
      );
      const first = failures.at(-1);
      return first
        ? `${first.LogicalResourceId} (${first.ResourceType}) ${first.ResourceStatus}: ${first.ResourceStatusReason ?? ''}`.trim()
        : undefined;
    } catch {
      // The reason from DescribeStacks is already in the message; the event is a bonus.
      return undefined;
    }
  }

  /** TemplateBody when it fits, otherwise a TemplateURL into the artifacts bucket. */
  private async templateSource(
    cfn: CloudFormationClient,
    key: string,
  ): Promise<{ TemplateBody: string } | { TemplateURL: string } | { error: string }> {
    const store = this.artifacts();
    const bytes = await store.getBytes(key);
    if (bytes.byteLength === 0) return { error: `template ${store.uri(key)} is empty` };
    if (bytes.byteLength <= MAX_TEMPLATE_BODY_BYTES) return { TemplateBody: Buffer.from(bytes).toString('utf8') };
    const region = await cfn.config.region();
    const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    const path = key.split('/').map(encodeURIComponent).join('/');
    return { TemplateURL: `https://${store.bucket}.s3.${region}.${suffix}/${path}` };
  }

  private client(target: CloudFormationTarget): CloudFormationClient {
    if (this.options.cloudFormation) return this.options.cloudFormation(target.region);
    if (!target.region) return cloudFormationClient();
    let client = this.regional.get(target.region);
    if (!client) {
      client = new CloudFormationClient({ region: target.region });
      this.regional.set(target.region, client);
    }
    return client;
  }

  private artifacts(): ArtifactStore {
    return (this.artifactStore ??= new ArtifactStore(s3Client(), getConfig().ARTIFACTS_BUCKET));
  }

  private rollbackBudget(): number {
    return this.options.rollbackBudgetMs ?? ROLLBACK_BUDGET_MS;
  }
}
