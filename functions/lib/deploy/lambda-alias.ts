import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  CreateAliasCommand,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  GetFunctionUrlConfigCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  type LambdaClient,
  type PublishVersionCommandOutput,
} from '@aws-sdk/client-lambda';
import { alarmProblems } from './alarm-watch.js';
import { discardLambdaVersion } from './discard-aws.js';
import { cloudWatchClient, lambdaClient } from '../clients.js';
import { getConfig } from '../config.js';
import type { DeployProvider, DeployRequest, DeployStatus, RollbackRequest } from './deploy-provider.js';
import { errorText, isError, parseHandle, systemClock, targetOf, withoutUndefined, type Clock } from './support.js';
import type { LambdaAliasTarget } from './targets.js';
import { LambdaAliasHandleSchema, requireVersion, type LambdaAliasHandle } from './lambda-alias-handle.js';

/** What the provider needs from outside; tests pass mocked clients and their own clock. */
export interface LambdaAliasProviderOptions {
  /** @default the shared Lambda client */
  lambda?: LambdaClient;
  /** @default the shared CloudWatch client */
  cloudWatch?: CloudWatchClient;
  /** Bucket the artifact zip is in. @default ARTIFACTS_BUCKET */
  bucket?: string;
  clock?: Clock;
}

type Step = Promise<DeployStatus>;

/**
 * Deploys a zip to a Lambda function and moves an alias to it: UpdateFunctionCode from the artifact in S3, wait for
 * the update, PublishVersion (guarded by the code's SHA-256, so a concurrent update cannot slip in), then
 * UpdateAlias at once or through weighted alias routing (canary or linear) while CloudWatch alarms are watched.
 * An alarm in ALARM during the shift or the bake puts the alias back on the previous version.
 */
export class LambdaAliasProvider implements DeployProvider {
  readonly type = 'lambda-alias' as const;
  private readonly clock: Clock;

  constructor(private readonly options: LambdaAliasProviderOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  private get lambda(): LambdaClient {
    return this.options.lambda ?? lambdaClient();
  }

  private get cloudWatch(): CloudWatchClient {
    return this.options.cloudWatch ?? cloudWatchClient();
  }

  /** Checks the alarms, notes what the alias points at now, and starts the code update. */
  async start(req: DeployRequest): Promise<DeployStatus> {
    const target = targetOf(req.target, 'lambda-alias');
    const { functionName, alias } = target;
    const base = { functionName, alias, startedAt: this.isoNow() };

    const alarms = await alarmProblems(this.cloudWatch, target.trafficShifting.alarms);
    if (alarms) {
      return { state: 'FAILED', handle: { ...base }, message: `not deploying ${functionName}: ${alarms}` };
    }

    let previousVersion: string | undefined;
    let aliasExisted = true;
    try {
      const current = await this.lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: alias }));
      previousVersion = current.FunctionVersion;
    } catch (err) {
      if (!isError(err, 'ResourceNotFoundException')) throw err;
      aliasExisted = false;
    }
    // An alias on $LATEST has no fixed version to go back to; treat it like a first deploy.
    if (previousVersion !== undefined && !/^\d+$/.test(previousVersion)) previousVersion = undefined;

    let codeSha256: string | undefined;
    try {
      const updated = await this.lambda.send(
        new UpdateFunctionCodeCommand({ FunctionName: functionName, S3Bucket: this.bucket(), S3Key: req.artifactKey }),
      );
      codeSha256 = updated.CodeSha256;
    } catch (err) {
      if (
        isError(
          err,
          'ResourceNotFoundException',
          'ResourceConflictException',
          'InvalidParameterValueException',
          'CodeStorageExceededException',
        )
      ) {
        return { state: 'FAILED', handle: { ...base }, message: `UpdateFunctionCode on ${functionName} failed: ${errorText(err)}` };
      }
      throw err;
    }
    if (!codeSha256) throw new Error(`UpdateFunctionCode on ${functionName} returned no CodeSha256`);

    const handle = withoutUndefined<LambdaAliasHandle>({ ...base, phase: 'UPDATING', codeSha256, previousVersion, aliasExisted });
    return { state: 'IN_PROGRESS', handle, message: `updating the code of ${functionName} from ${req.artifactKey}` };
  }

  /**
   * Advances the deployment by one step of its phase (see LambdaAliasHandleSchema). The code update and activation
   * fail past `updateTimeoutSeconds`; while traffic shifts or bakes, the next poll is due at the next step.
   */
  async status(req: DeployRequest, rawHandle: Record<string, unknown>): Promise<DeployStatus> {
    const target = targetOf(req.target, 'lambda-alias');
    const handle = parseHandle(LambdaAliasHandleSchema, rawHandle, 'handle');
    const status = await this.advance(req, target, handle);
    if (status.state !== 'IN_PROGRESS') return status;
    const next = status.handle as LambdaAliasHandle;
    const due = next.phase === 'SHIFTING' ? next.nextStepAt : next.phase === 'BAKING' ? next.bakeUntil : undefined;
    if (due) return { ...status, dueInSeconds: (Date.parse(due) - this.clock.now()) / 1000 };
    if (this.clock.now() - Date.parse(handle.startedAt) <= target.updateTimeoutSeconds * 1000) return status;
    const limit = `${target.updateTimeoutSeconds}s (updateTimeoutSeconds)`;
    return { ...status, state: 'FAILED', message: `${status.message}; still not complete after ${limit}` };
  }

  private advance(req: DeployRequest, target: LambdaAliasTarget, handle: LambdaAliasHandle): Step {
    switch (handle.phase) {
      case 'UPDATING':
        return this.afterUpdate(req, target, handle);
      case 'ACTIVATING':
        return this.afterPublish(target, handle);
      case 'SHIFTING':
        return this.shift(target, handle);
      case 'BAKING':
        return this.bake(target, handle);
      case 'DONE':
        return this.finish(target, handle);
    }
  }

  /**
   * Points the alias back at the previous deployment's version with no routing. Without a previous deployment, the
   * version the failed deployment found on the alias (if any) is restored; with neither, there is nothing to put
   * back and the alias is left alone (deleting it would take the function offline).
   */
  async rollback(args: RollbackRequest): Promise<DeployStatus | undefined> {
    const target = targetOf(args.target, 'lambda-alias');
    const failed = args.failed ? LambdaAliasHandleSchema.partial().safeParse(args.failed.handle) : undefined;
    const previous = args.previous ? parseHandle(LambdaAliasHandleSchema.partial(), args.previous.handle, 'previous.handle') : undefined;
    const version = previous?.version ?? (failed?.success ? failed.data.previousVersion : undefined);
    if (!version) {
      if (!args.previous) return undefined;
      return {
        state: 'FAILED',
        handle: { ...args.previous.handle },
        message: `the previous deployment of ${args.service} (${args.previous.version}) records no Lambda version to return ${target.alias} to`,
      };
    }
    const out = await this.pointAlias(target, version, true);
    const endpoint = await this.endpointOf(target);
    // The previous deployment's own handle, on the version it had: the live record after the rollback.
    const handle = withoutUndefined({
      ...previous,
      functionName: target.functionName,
      alias: target.alias,
      phase: 'DONE' as const,
      aliasExisted: true,
      version,
      weight: undefined,
      nextStepAt: undefined,
      bakeUntil: undefined,
      aliasArn: out.AliasArn,
      endpoint,
    });
    return { state: 'SUCCEEDED', endpoint, handle, message: `${target.functionName}:${target.alias} is back on version ${version}` };
  }

  /** Puts the alias back only while it still routes to this deployment's version (discard-aws.ts). */
  async discard(req: DeployRequest, handle: Record<string, unknown>): Promise<string> {
    return discardLambdaVersion(this.lambda, targetOf(req.target, 'lambda-alias'), handle);
  }

  private async afterUpdate(req: DeployRequest, target: LambdaAliasTarget, handle: LambdaAliasHandle): Step {
    const config = await this.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: handle.functionName }));
    if (config.LastUpdateStatus === 'InProgress') {
      return { state: 'IN_PROGRESS', handle, message: `code update of ${handle.functionName} in progress` };
    }
    if (config.LastUpdateStatus === 'Failed') {
      const why = [config.LastUpdateStatusReasonCode, config.LastUpdateStatusReason].filter(Boolean).join(': ');
      return { state: 'FAILED', handle, message: `code update of ${handle.functionName} failed: ${why || 'no reason given'}` };
    }
    if (config.CodeSha256 !== handle.codeSha256) {
      return {
        state: 'FAILED',
        handle,
        message: `${handle.functionName} now runs code ${config.CodeSha256}, not the ${handle.codeSha256} this deployment installed; someone else updated it`,
      };
    }
    let published: PublishVersionCommandOutput;
    try {
      published = await this.lambda.send(
        new PublishVersionCommand({
          FunctionName: handle.functionName,
          CodeSha256: handle.codeSha256,
          Description: `Launchway ${req.service} ${req.version} (${req.releaseId})`,
        }),
      );
    } catch (err) {
      // Another update began between our check and the publish: let the next poll look again.
      if (isError(err, 'ResourceConflictException'))
        return { state: 'IN_PROGRESS', handle, message: `waiting to publish: ${errorText(err)}` };
      if (isError(err, 'PreconditionFailedException')) {
        return {
          state: 'FAILED',
          handle,
          message: `PublishVersion refused: the code of ${handle.functionName} changed under this deployment`,
        };
      }
      throw err;
    }
    if (!published.Version) throw new Error(`PublishVersion on ${handle.functionName} returned no Version`);
    const next: LambdaAliasHandle = { ...handle, phase: 'ACTIVATING', version: published.Version };
    if (published.State && published.State !== 'Active') {
      return { state: 'IN_PROGRESS', handle: next, message: `version ${published.Version} is ${published.State}` };
    }
    return this.route(target, next);
  }

  private async afterPublish(target: LambdaAliasTarget, handle: LambdaAliasHandle): Step {
    const version = requireVersion(handle);
    const config = await this.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: handle.functionName, Qualifier: version }));
    if (config.State === 'Active') return this.route(target, handle);
    if (config.State === 'Failed' || config.State === 'Inactive') {
      const why = [config.StateReasonCode, config.StateReason].filter(Boolean).join(': ');
      return {
        state: 'FAILED',
        handle,
        message: `version ${version} of ${handle.functionName} is ${config.State}: ${why || 'no reason given'}`,
      };
    }
    return { state: 'IN_PROGRESS', handle, message: `version ${version} is ${config.State ?? 'not active yet'}` };
  }

  /** The new version is Active: switch the alias, or start shifting traffic to it. */
  private async route(target: LambdaAliasTarget, handle: LambdaAliasHandle): Step {
    const version = requireVersion(handle);
    const shifting = target.trafficShifting;
    // Weighted routing needs a version to share traffic with; a first deploy (or a re-publish of the code that is
    // already live) switches at once.
    if (shifting.type === 'all-at-once' || !handle.previousVersion || handle.previousVersion === version) {
      const out = await this.pointAlias(target, version, handle.aliasExisted);
      return this.bakeOrFinish(target, { ...handle, aliasExisted: true, aliasArn: out.AliasArn });
    }
    const weight = shifting.percent;
    const out = await this.routeWeight(target, handle.previousVersion, version, weight);
    const next: LambdaAliasHandle = {
      ...handle,
      phase: 'SHIFTING',
      weight,
      aliasArn: out.AliasArn,
      nextStepAt: this.isoIn(shifting.intervalSeconds),
    };
    return {
      state: 'IN_PROGRESS',
      handle: next,
      message: `${weight}% of ${target.alias} on version ${version}, ${100 - weight}% on ${handle.previousVersion}`,
    };
  }

  private async shift(target: LambdaAliasTarget, handle: LambdaAliasHandle): Step {
    const version = requireVersion(handle);
    const shifting = target.trafficShifting;
    const alarm = await alarmProblems(this.cloudWatch, target.trafficShifting.alarms);
    if (alarm) return this.revert(target, handle, `${alarm} at ${handle.weight ?? 0}% on version ${version}`);
    if (this.clock.now() < Date.parse(handle.nextStepAt ?? handle.startedAt)) {
      return { state: 'IN_PROGRESS', handle, message: `${handle.weight}% on version ${version}; next step at ${handle.nextStepAt}` };
    }
    const step = shifting.type === 'linear' ? shifting.percent : 100;
    const weight = Math.min(100, (handle.weight ?? 0) + step);
    if (weight >= 100 || shifting.type === 'all-at-once') {
      const out = await this.pointAlias(target, version, true);
      return this.bakeOrFinish(target, { ...handle, weight: 100, aliasArn: out.AliasArn });
    }
    await this.routeWeight(target, handle.previousVersion!, version, weight);
    const next: LambdaAliasHandle = { ...handle, weight, nextStepAt: this.isoIn(shifting.intervalSeconds) };
    return { state: 'IN_PROGRESS', handle: next, message: `${weight}% of ${target.alias} on version ${version}` };
  }

  private async bakeOrFinish(target: LambdaAliasTarget, handle: LambdaAliasHandle): Step {
    const { bakeSeconds } = target.trafficShifting;
    if (bakeSeconds > 0) {
      const next: LambdaAliasHandle = { ...handle, phase: 'BAKING', bakeUntil: this.isoIn(bakeSeconds) };
      return { state: 'IN_PROGRESS', handle: next, message: `baking version ${handle.version} until ${next.bakeUntil}` };
    }
    return this.finish(target, handle);
  }

  private async bake(target: LambdaAliasTarget, handle: LambdaAliasHandle): Step {
    const alarm = await alarmProblems(this.cloudWatch, target.trafficShifting.alarms);
    if (alarm) return this.revert(target, handle, `${alarm} during the bake of version ${handle.version}`);
    if (this.clock.now() < Date.parse(handle.bakeUntil ?? handle.startedAt)) {
      return { state: 'IN_PROGRESS', handle, message: `baking version ${handle.version} until ${handle.bakeUntil}` };
    }
    return this.finish(target, handle);
  }

  private async finish(target: LambdaAliasTarget, handle: LambdaAliasHandle): Step {
    const done: LambdaAliasHandle = { ...handle, phase: 'DONE', weight: undefined, nextStepAt: undefined, bakeUntil: undefined };
    done.endpoint = await this.endpointOf(target);
    return {
      state: 'SUCCEEDED',
      endpoint: done.endpoint,
      handle: withoutUndefined(done),
      message: `${target.functionName}:${target.alias} is on version ${done.version}`,
    };
  }

  /** An alarm fired: the alias goes back to the previous version with no routing, and the deployment fails. */
  private async revert(target: LambdaAliasTarget, handle: LambdaAliasHandle, why: string): Step {
    if (!handle.previousVersion) {
      return { state: 'FAILED', handle, message: `${why}; there is no previous version, so ${target.alias} stays on ${handle.version}` };
    }
    await this.pointAlias(target, handle.previousVersion, true);
    const back: LambdaAliasHandle = { ...handle, weight: 0, nextStepAt: undefined, bakeUntil: undefined };
    return {
      state: 'FAILED',
      handle: withoutUndefined(back),
      message: `${why}; ${target.functionName}:${target.alias} is back on version ${handle.previousVersion}`,
    };
  }

  /** The alias on exactly one version, routing cleared. */
  private async pointAlias(target: LambdaAliasTarget, version: string, exists: boolean) {
    const input = {
      FunctionName: target.functionName,
      Name: target.alias,
      FunctionVersion: version,
      RoutingConfig: { AdditionalVersionWeights: {} },
    };
    return exists ? this.lambda.send(new UpdateAliasCommand(input)) : this.lambda.send(new CreateAliasCommand(input));
  }

  /** The alias on `primary`, with `percent`% of invocations routed to `canary`. */
  private routeWeight(target: LambdaAliasTarget, primary: string, canary: string, percent: number) {
    return this.lambda.send(
      new UpdateAliasCommand({
        FunctionName: target.functionName,
        Name: target.alias,
        FunctionVersion: primary,
        RoutingConfig: { AdditionalVersionWeights: { [canary]: percent / 100 } },
      }),
    );
  }

  private async endpointOf(target: LambdaAliasTarget): Promise<string | undefined> {
    if (target.endpointUrl) return target.endpointUrl;
    if (!target.functionUrl) return undefined;
    const url = await this.lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: target.functionName, Qualifier: target.alias }));
    return url.FunctionUrl;
  }

  private bucket(): string {
    return this.options.bucket ?? getConfig().ARTIFACTS_BUCKET;
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }

  private isoIn(seconds: number): string {
    return new Date(this.clock.now() + seconds * 1000).toISOString();
  }
}
