import type { Context } from 'aws-lambda';
import { expect } from 'vitest';
import type { Catalog } from '../../functions/lib/catalog.js';
import { documentClient } from '../../functions/lib/clients.js';
import { supervisor } from '../../functions/lib/deploy/process-supervisor.js';
import {
  ConflictError,
  DeploymentFailedError,
  InteropProvisioningFailedError,
  LockTimeoutError,
  NotFoundError,
  RollbackFailedError,
} from '../../functions/lib/errors.js';
import { provisionerFromConfig } from '../../functions/lib/interop/index.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { isTerminal, publishedInterop, type ReleaseRecord, type StepRecord } from '../../functions/lib/store/records.js';
import { stepOfState, type StepFunctionId } from '../../functions/steps.js';
import type { LambdaHandler } from '../../local/functions.js';
import type { EmbeddedOptions } from '../../local/runtime.js';
import {
  decide,
  finish,
  get,
  nextCommit,
  releaseOf,
  service,
  startTestStack,
  type ReleaseSpec,
  type TestStack,
} from '../helpers/pipeline.js';

/**
 * The fault matrix of issue 10: every Task state of statemachines/release.asl.json under four faults, each case one
 * release of the greeter example on the embedded stack, judged by how it ended (status, lock, production and the
 * gateway over HTTP, step history, the failing state on the record).
 */

/** Every Task state of the ASL, in pipeline order. */
export const TASK_STATES = [
  'Prepare',
  'AcquireLock',
  'DeployStaging',
  'CheckStaging',
  'SmokeTestStaging',
  'RequestApproval',
  'RemindApprovers',
  'DeployProduction',
  'CheckProduction',
  'ProvisionInterop',
  'ValidateProduction',
  'PublishReleaseNotes',
  'Rollback',
  'Finalize',
  'HoldForRedrive',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/**
 * - `domain`: the step fails with its own named error without doing its work (or for real: a failing collection, a
 *   refused version);
 * - `after-effect`: the real handler does its work, then the Lambda throws a plain Error;
 * - `late`: the state times out in the engine (States.Timeout) while its Lambda is held; the real handler runs
 *   after the release has ended, and must change nothing;
 * - `lambda-service`: Lambda refuses every attempt (one try and four retries) before the handler runs.
 */
export type FaultKind = 'domain' | 'after-effect' | 'late' | 'lambda-service';

/** Where production (and the gateway in front of it) must be when the release has ended. */
type Production = 'previous' | 'new' | 'either';

export interface FaultCase {
  state: TaskState;
  kind: FaultKind;
  status: 'FAILED' | 'ROLLED_BACK' | 'SUCCEEDED' | 'ROLLBACK_FAILED' | 'EXPIRED';
  production: Production;
  /**
   * The error comes inside the step, right after its side effect, instead of after the handler: the gateway's
   * answer to the stage switch is lost (the switch happened), so the step fails through its own error path.
   */
  inside?: true;
  /**
   * The state the record names as failing, when it is not the faulted one: a Rollback that timed out is retried and
   * succeeds, so the release ends ROLLED_BACK for the failure the Rollback undid.
   */
  names?: TaskState;
}

/** Services of the catalog: which one a case releases. */
type ServiceName = 'greeter' | 'reminded' | 'expiring';

/**
 * Expected ends, one row per case. Rules: a fault before production ends FAILED with production untouched; one
 * from DeployProduction to ValidateProduction ends ROLLED_BACK with production and the gateway back on the previous
 * version; release notes that cannot be written end SUCCEEDED with a warning; the Rollback (reached through a real
 * validation failure) failing ends ROLLBACK_FAILED, where production may be either version.
 */
// biome-ignore format: one row per case reads as a table.
export const FAULT_MATRIX: FaultCase[] = [
  // Domain: Prepare refuses a downgrade and SmokeTestStaging / ValidateProduction fail their collections for real.
  { state: 'Prepare', kind: 'domain', status: 'FAILED', production: 'previous' },
  { state: 'AcquireLock', kind: 'domain', status: 'FAILED', production: 'previous' },
  { state: 'DeployStaging', kind: 'domain', status: 'FAILED', production: 'previous' },
  { state: 'CheckStaging', kind: 'domain', status: 'FAILED', production: 'previous' },
  { state: 'SmokeTestStaging', kind: 'domain', status: 'FAILED', production: 'previous' },
  { state: 'RequestApproval', kind: 'domain', status: 'FAILED', production: 'previous' },
  { state: 'RemindApprovers', kind: 'domain', status: 'FAILED', production: 'previous' },
  { state: 'DeployProduction', kind: 'domain', status: 'ROLLED_BACK', production: 'previous' },
  { state: 'CheckProduction', kind: 'domain', status: 'ROLLED_BACK', production: 'previous' },
  { state: 'ProvisionInterop', kind: 'domain', status: 'ROLLED_BACK', production: 'previous' },
  { state: 'ValidateProduction', kind: 'domain', status: 'ROLLED_BACK', production: 'previous' },
  { state: 'PublishReleaseNotes', kind: 'domain', status: 'SUCCEEDED', production: 'new' },
  // Nothing was restored: the record says production may be on the failed version, and it is.
  { state: 'Rollback', kind: 'domain', status: 'ROLLBACK_FAILED', production: 'either' },
  // Finalize fails every attempt: KeepEnding fails the execution and the status-change handler ends it as decided.
  { state: 'Finalize', kind: 'domain', status: 'SUCCEEDED', production: 'new' },
  // HoldForRedrive fails the execution with the release's own error (ReleaseFailed) by design; the record, FAILED
  // at the staging smoke tests, must stay as Finalize wrote it whatever happens to it.
  { state: 'HoldForRedrive', kind: 'domain', status: 'FAILED', production: 'previous', names: 'SmokeTestStaging' },

  { state: 'Prepare', kind: 'after-effect', status: 'FAILED', production: 'previous' },
  // The lock was taken before the error: Finalize must still release it.
  { state: 'AcquireLock', kind: 'after-effect', status: 'FAILED', production: 'previous' },
  { state: 'DeployStaging', kind: 'after-effect', status: 'FAILED', production: 'previous' },
  { state: 'CheckStaging', kind: 'after-effect', status: 'FAILED', production: 'previous' },
  { state: 'SmokeTestStaging', kind: 'after-effect', status: 'FAILED', production: 'previous' },
  // The approval was requested and emailed; the release fails and its approval is cancelled.
  { state: 'RequestApproval', kind: 'after-effect', status: 'FAILED', production: 'previous' },
  { state: 'RemindApprovers', kind: 'after-effect', status: 'FAILED', production: 'previous' },
  // The new version was started: the rollback stops it and keeps the previous one.
  { state: 'DeployProduction', kind: 'after-effect', status: 'ROLLED_BACK', production: 'previous' },
  // The check switched production (CURRENT moved, the previous process stopped): the rollback puts it back.
  { state: 'CheckProduction', kind: 'after-effect', status: 'ROLLED_BACK', production: 'previous' },
  // The gateway stage moved to the new version: the rollback must move it back.
  { state: 'ProvisionInterop', kind: 'after-effect', status: 'ROLLED_BACK', production: 'previous' },
  // Issue 10's own case: the stage moved, then the step failed; the rollback must move the stage back all the same.
  { state: 'ProvisionInterop', kind: 'after-effect', status: 'ROLLED_BACK', production: 'previous', inside: true },
  { state: 'ValidateProduction', kind: 'after-effect', status: 'ROLLED_BACK', production: 'previous' },
  { state: 'PublishReleaseNotes', kind: 'after-effect', status: 'SUCCEEDED', production: 'new' },
  // The rollback did restore production before its Lambda failed; the record cannot know that.
  { state: 'Rollback', kind: 'after-effect', status: 'ROLLBACK_FAILED', production: 'either' },
  // Finalize ended the release, then failed each attempt: the handler finds it ended and changes nothing.
  { state: 'Finalize', kind: 'after-effect', status: 'SUCCEEDED', production: 'new' },
  { state: 'HoldForRedrive', kind: 'after-effect', status: 'FAILED', production: 'previous', names: 'SmokeTestStaging' },

  { state: 'Prepare', kind: 'late', status: 'FAILED', production: 'previous' },
  // The late acquire must not take the lock of an ended release.
  { state: 'AcquireLock', kind: 'late', status: 'FAILED', production: 'previous' },
  { state: 'DeployStaging', kind: 'late', status: 'FAILED', production: 'previous' },
  { state: 'CheckStaging', kind: 'late', status: 'FAILED', production: 'previous' },
  { state: 'SmokeTestStaging', kind: 'late', status: 'FAILED', production: 'previous' },
  // A waiting state's timeout is the approval's own: nobody decided in time (catalog timing, no reminder).
  { state: 'RequestApproval', kind: 'late', status: 'EXPIRED', production: 'previous' },
  // The reminder wait ran out (RemindApprovers' TimeoutSeconds lowered): EXPIRED, as the ASL's Catch decides.
  { state: 'RemindApprovers', kind: 'late', status: 'EXPIRED', production: 'previous' },
  // The late start must not leave the new version running.
  { state: 'DeployProduction', kind: 'late', status: 'ROLLED_BACK', production: 'previous' },
  { state: 'CheckProduction', kind: 'late', status: 'ROLLED_BACK', production: 'previous' },
  // The late publish must not move the gateway stage after the rollback.
  { state: 'ProvisionInterop', kind: 'late', status: 'ROLLED_BACK', production: 'previous' },
  { state: 'ValidateProduction', kind: 'late', status: 'ROLLED_BACK', production: 'previous' },
  { state: 'PublishReleaseNotes', kind: 'late', status: 'SUCCEEDED', production: 'new' },
  // Rollback is retried on States.Timeout (it is idempotent, and fenced): the retry restores production; the late
  // first attempt, finding the release ended and its lock released, changes nothing.
  { state: 'Rollback', kind: 'late', status: 'ROLLED_BACK', production: 'previous', names: 'ValidateProduction' },
  // Finalize's Retry covers States.ALL: the second attempt ends the release, the late first one changes nothing.
  { state: 'Finalize', kind: 'late', status: 'SUCCEEDED', production: 'new' },
  { state: 'HoldForRedrive', kind: 'late', status: 'FAILED', production: 'previous', names: 'SmokeTestStaging' },

  { state: 'Prepare', kind: 'lambda-service', status: 'FAILED', production: 'previous' },
  { state: 'AcquireLock', kind: 'lambda-service', status: 'FAILED', production: 'previous' },
  { state: 'DeployStaging', kind: 'lambda-service', status: 'FAILED', production: 'previous' },
  { state: 'CheckStaging', kind: 'lambda-service', status: 'FAILED', production: 'previous' },
  { state: 'SmokeTestStaging', kind: 'lambda-service', status: 'FAILED', production: 'previous' },
  { state: 'RequestApproval', kind: 'lambda-service', status: 'FAILED', production: 'previous' },
  { state: 'RemindApprovers', kind: 'lambda-service', status: 'FAILED', production: 'previous' },
  { state: 'DeployProduction', kind: 'lambda-service', status: 'ROLLED_BACK', production: 'previous' },
  { state: 'CheckProduction', kind: 'lambda-service', status: 'ROLLED_BACK', production: 'previous' },
  { state: 'ProvisionInterop', kind: 'lambda-service', status: 'ROLLED_BACK', production: 'previous' },
  { state: 'ValidateProduction', kind: 'lambda-service', status: 'ROLLED_BACK', production: 'previous' },
  { state: 'PublishReleaseNotes', kind: 'lambda-service', status: 'SUCCEEDED', production: 'new' },
  { state: 'Rollback', kind: 'lambda-service', status: 'ROLLBACK_FAILED', production: 'either' },
  // The Lambda retrier is used up first: the Catch sends it to KeepEnding, the handler ends the release.
  { state: 'Finalize', kind: 'lambda-service', status: 'SUCCEEDED', production: 'new' },
  { state: 'HoldForRedrive', kind: 'lambda-service', status: 'FAILED', production: 'previous', names: 'SmokeTestStaging' },
];

export const casesOf = (kind: FaultKind) => FAULT_MATRIX.filter((c) => c.kind === kind);

/** What a case's Lambda throws for the `domain` fault, where no real trigger is at hand: the step's own error. */
const DOMAIN_ERRORS: Partial<Record<TaskState, () => Error>> = {
  AcquireLock: () => new LockTimeoutError('injected: the lock was held for longer than lockWaitSeconds'),
  DeployStaging: () => new DeploymentFailedError('injected: staging deployment refused'),
  CheckStaging: () => new DeploymentFailedError('injected: staging deployment failed'),
  RequestApproval: () => new NotFoundError('injected: service not in the catalog'),
  RemindApprovers: () => new ConflictError('injected: approval superseded while the reminder was due'),
  DeployProduction: () => new DeploymentFailedError('injected: production deployment refused'),
  CheckProduction: () => new DeploymentFailedError('injected: production deployment failed'),
  ProvisionInterop: () => new InteropProvisioningFailedError('injected: the gateway refused the contract'),
  PublishReleaseNotes: () => Object.assign(new Error('injected: the bucket is gone'), { name: 'NoSuchBucket' }),
  Rollback: () => new RollbackFailedError('injected: could not restore the previous version'),
  Finalize: () => new ConflictError('injected: the release changed while it was being ended'),
};

/** The release files of a case, from the example directories, released under the case's own version. */
const FROM_100 = { bundleFrom: '1.0.0', collectionFrom: '1.0.0', openapiFrom: '1.0.0' };
/** 1.1.0's collection tests GET /languages, which the 1.0.0 contract does not publish: production validation fails. */
const VALIDATION_FAILS = { bundleFrom: '1.1.0', collectionFrom: '1.1.0', openapiFrom: '1.0.0' };
/** The same collection against the 1.0.0 service, which has no /languages: the staging smoke tests fail. */
const SMOKE_FAILS = { bundleFrom: '1.0.0', collectionFrom: '1.1.0', openapiFrom: '1.0.0' };

/** States after the approval: their cases approve the release. */
const AFTER_APPROVAL: readonly TaskState[] = TASK_STATES.slice(TASK_STATES.indexOf('DeployProduction')).filter(
  (s) => s !== 'HoldForRedrive',
);

/** The TimeoutSeconds every Task state gets in the late-completion stack: long for a step, short for a test. */
export const LATE_TIMEOUT_SECONDS = 5;

/** Bounds for a loaded 2-core machine: a release takes seconds. */
const CASE_MS = 90_000;

interface Baseline {
  interopUrl: string;
  apiKey: string;
}

/** The case the wrappers act on, while it runs. */
interface Armed {
  row: FaultCase;
  /** The late run of the held handler: what the record was just before, and the run itself. */
  late?: Promise<{ before: RecordSnapshot }>;
}

interface RecordSnapshot {
  release: Omit<ReleaseRecord, 'updatedAt'>;
  steps: StepRecord[];
}

/** One embedded stack running the cases of one fault kind, one after the other. */
export class FaultSuite {
  stack!: TestStack;
  store!: ReleaseStore;
  private armed?: Armed;
  private readonly baselines = new Map<ServiceName, Baseline>();
  private readonly patch = new Map<ServiceName, number>();

  constructor(private readonly kind: FaultKind) {}

  /** Boots the stack and releases 1.0.0 of each service the kind's cases use. */
  async start(): Promise<void> {
    const services: Catalog['services'] = {
      greeter: service(),
      // RequestApproval waits one second (the reminder point), then RemindApprovers the rest of ten minutes.
      reminded: service({ approvalTimeoutSeconds: 600, approvalReminderBeforeExpirySeconds: 599 }),
    };
    const options: Omit<EmbeddedOptions, 'catalog' | 'dataDir'> = {
      wrapHandler: (id, handler) => this.wrap(id, handler),
      retryIntervals: Object.fromEntries(TASK_STATES.map((s) => [s, 50])),
    };
    if (this.kind === 'late') {
      // No reminder: RequestApproval's own wait is the approval timeout.
      services.expiring = service({ approvalTimeoutSeconds: LATE_TIMEOUT_SECONDS, approvalReminderBeforeExpirySeconds: 0 });
      options.taskTimeouts = Object.fromEntries(TASK_STATES.filter((s) => s !== 'RequestApproval').map((s) => [s, LATE_TIMEOUT_SECONDS]));
    }
    this.stack = await startTestStack(services, options);
    this.store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
    for (const name of Object.keys(services) as ServiceName[]) await this.baseline(name);
  }

  async stop(): Promise<void> {
    await this.stack?.stopAll();
  }

  private async baseline(name: ServiceName): Promise<void> {
    const started = await releaseOf({ service: name, version: '1.0.0' });
    const [, view] = await Promise.all([decide(this.stack, started.releaseId, 'lead@example.com', 'approve'), finish(started)]);
    expect(view.status, `baseline 1.0.0 of ${name}`).toBe('SUCCEEDED');
    const interop = publishedInterop(await this.store.stepResult(view.releaseId, 'ProvisionInterop'))!;
    this.baselines.set(name, {
      interopUrl: view.links!.interopUrl,
      apiKey: await provisionerFromConfig().apiKeyValue(name, String(interop.validationKeyId)),
    });
    this.patch.set(name, 0);
  }

  /** Runs one case and checks how it ended; every check is soft, so a wrong end reports all that is wrong. */
  async run(row: FaultCase): Promise<void> {
    const svc: ServiceName =
      row.kind === 'late' && row.state === 'RequestApproval' ? 'expiring' : row.state === 'RemindApprovers' ? 'reminded' : 'greeter';
    const previous = await this.store.getCurrent(svc, 'production');
    const previousDeployment = await gatewayDeployment(svc);
    const spec = this.specFor(row, svc);
    this.armed = { row };
    if (row.kind === 'lambda-service') this.stack.sfn.injectFault(row.state, 'Lambda.ServiceException', 5);
    try {
      const started = await releaseOf(spec);
      const approve = AFTER_APPROVAL.includes(row.state) ? decide(this.stack, started.releaseId, 'lead@example.com', 'approve') : undefined;
      await Promise.all([approve, finish(started, CASE_MS)]);
      const execution = await this.stack.sfn.waitForExecution(started.executionArn, CASE_MS);
      if (execution.status !== 'SUCCEEDED') {
        await this.stack.sfn.statusEvents.waitFor(started.executionArn, execution.status, { timeoutMs: 30_000 });
      }
      let before: RecordSnapshot | undefined;
      if (row.kind === 'late') {
        expect(this.armed.late, `${row.state} was invoked and held`).toBeDefined();
        before = (await within(this.armed.late!, CASE_MS, 'the late completion'))?.before;
      }
      await this.judge(row, svc, started.releaseId, started.executionArn, spec.version, previous?.version ?? null, before);
    } finally {
      this.armed = undefined;
      await this.heal(svc, row, previousDeployment);
    }
  }

  private specFor(row: FaultCase, svc: ServiceName): ReleaseSpec {
    const n = (this.patch.get(svc) ?? 0) + 1;
    this.patch.set(svc, n);
    let files: Partial<ReleaseSpec> = FROM_100;
    if (row.state === 'Rollback' || (row.state === 'ValidateProduction' && row.kind === 'domain')) files = VALIDATION_FAILS;
    if (row.state === 'SmokeTestStaging' && row.kind === 'domain') files = SMOKE_FAILS;
    // HoldForRedrive is reached only by a failure before production: the staging smoke tests fail for real.
    if (row.state === 'HoldForRedrive') files = SMOKE_FAILS;
    // Below production's 1.0.x: Prepare refuses it with a field error.
    const version = row.state === 'Prepare' && row.kind === 'domain' ? `0.9.${n}` : `1.0.${n}`;
    return { service: svc, version, commit: nextCommit(), ...files };
  }

  private async judge(
    row: FaultCase,
    svc: ServiceName,
    releaseId: string,
    executionArn: string,
    version: string,
    previous: string | null,
    before: RecordSnapshot | undefined,
  ): Promise<void> {
    const now = await snapshot(this.store, releaseId);
    const { release, steps } = now;
    const at = (what: string) => `${row.state} × ${row.kind} (${releaseId}): ${what}`;

    expect.soft(release.status, at('terminal status')).toBe(row.status);
    if (row.status === 'EXPIRED') {
      expect.soft(release.error?.error, at('the error says the approval expired')).toBe('ApprovalExpired');
    } else if (row.status === 'ROLLBACK_FAILED') {
      expect.soft(release.error?.state, at('the record names the failing state')).toBe('Rollback');
      expect.soft(release.error?.rollbackOf?.state, at('the record names what was rolled back')).toBe('ValidateProduction');
    } else if (row.status === 'SUCCEEDED') {
      expect.soft(release.error, at('no error on a SUCCEEDED record')).toBeUndefined();
      const warned = row.state === 'PublishReleaseNotes' ? ['PublishReleaseNotes'] : [];
      expect
        .soft(
          (release.warnings ?? []).map((w) => w.step),
          at('warnings'),
        )
        .toEqual(warned);
    } else {
      expect.soft(release.error?.state, at('the record names the failing state')).toBe(row.names ?? row.state);
    }

    // The step history: every Task state that ran has its step recorded, and none is left RUNNING.
    const ran = await statesEntered(this.stack, executionArn);
    const recorded = steps.map((s) => s.step);
    const missing = [...new Set(ran.map(stepOfState).filter((s) => s !== undefined))].filter((s) => !recorded.includes(s));
    expect.soft(missing, at(`steps of the states that ran (${ran.join(', ')}) are recorded`)).toEqual([]);
    expect
      .soft(
        steps.filter((s) => s.status === 'RUNNING').map((s) => s.step),
        at('no step left RUNNING'),
      )
      .toEqual([]);
    const failedStep = stepOfState(row.names ?? row.state);
    if (failedStep && row.kind !== 'after-effect' && row.status !== 'SUCCEEDED' && row.status !== 'EXPIRED') {
      expect.soft(steps.find((s) => s.step === failedStep)?.status, at(`step ${failedStep} is FAILED`)).toBe('FAILED');
    }
    if (row.state === 'PublishReleaseNotes' && row.kind !== 'after-effect') {
      expect.soft(steps.find((s) => s.step === 'PublishReleaseNotes')?.status, at('the notes step is FAILED')).toBe('FAILED');
    }

    if (before) {
      // The late completion came after the release ended: it may have changed nothing on the record.
      expect.soft(changes(before, now), at('the record and its steps are unchanged by the late completion')).toEqual([]);
    }

    expect.soft(await lockHolder(this.store, svc), at('the service lock is free')).toBeNull();
    await this.judgeProduction(row, svc, releaseId, version, previous, at);
  }

  /** Production (CURRENT, over HTTP), the gateway (over HTTP, with a partner's key) and no stray process of the release. */
  private async judgeProduction(
    row: FaultCase,
    svc: ServiceName,
    releaseId: string,
    version: string,
    previous: string | null,
    at: (what: string) => string,
  ): Promise<void> {
    const current = await this.store.getCurrent(svc, 'production');
    const allowed = row.production === 'new' ? [version] : row.production === 'previous' ? [previous] : [previous, version];
    expect.soft(allowed, at(`CURRENT#production is ${allowed.join(' or ')}`)).toContain(current?.version ?? null);
    const live = current ? await answer(`${String(current.handle.url)}/greetings/ada`) : 'no CURRENT#production';
    expect.soft(live, at('production answers the version CURRENT#production names')).toBe(current?.version);
    const base = this.baselines.get(svc)!;
    const gateway = await answer(`${base.interopUrl}/greetings/ada`, base.apiKey);
    // The gateway serves what production serves; after a failed rollback, at least one of the two versions.
    const gatewayAllowed = row.production === 'either' ? [previous, version] : [current?.version];
    expect.soft(gatewayAllowed, at(`the gateway answers ${gatewayAllowed.join(' or ')} (got ${gateway})`)).toContain(gateway);
    // A process of this release still running in production must be the live one.
    const strays = supervisor
      .running()
      .filter((p) => p.logFile.includes(`/${svc}/production/${releaseId}/`) && p.pid !== current?.handle.pid)
      .map((p) => `pid ${p.pid} on port ${p.port}`);
    expect.soft(strays, at('no process of the release runs in production beside the live one')).toEqual([]);
  }

  /**
   * Keeps one wrong end from failing the cases after it: frees the lock, and puts the gateway back where the case
   * found it when production was to stay on the previous version.
   */
  private async heal(svc: ServiceName, row: FaultCase, previousDeployment: string | null): Promise<void> {
    const holder = await lockHolder(this.store, svc);
    if (holder) await this.store.releaseLock(svc, holder);
    if (row.production === 'previous' && previousDeployment && (await gatewayDeployment(svc)) !== previousDeployment) {
      await provisionerFromConfig().rollback(svc, previousDeployment);
    }
  }

  /** The fault of the armed case, around the real handler of the state it targets. */
  private wrap(id: StepFunctionId, handler: LambdaHandler): LambdaHandler {
    return async (event, context) => {
      const armed = this.armed;
      if (!armed || stateOf(id, event) !== armed.row.state) return handler(event, context);
      const { row } = armed;
      if (row.kind === 'domain') {
        const error = DOMAIN_ERRORS[row.state];
        if (error) throw error();
        return handler(event, context);
      }
      if (row.kind === 'after-effect' && row.inside) return loseStageSwitchAnswer(() => handler(event, context));
      if (row.kind === 'after-effect') {
        let result = await handler(event, context);
        // A status check's effect is the switch: poll (as its loop would) until the deployment is no longer in progress.
        const deadline = Date.now() + 30_000;
        while ((row.state === 'CheckStaging' || row.state === 'CheckProduction') && inProgress(result) && Date.now() < deadline) {
          await sleep(100);
          result = await handler(event, context);
        }
        throw new Error(`injected: ${row.state} failed after its work`);
      }
      if (row.kind === 'late' && !armed.late) {
        const releaseId = String((event as { releaseId?: unknown }).releaseId);
        armed.late = this.lateRun(row.state, releaseId, () => handler(event, freshContext(context)));
        // What the late run returns no longer matters to the engine, which timed the state out.
        const outcome = await armed.late.then(
          () => undefined,
          () => undefined,
        );
        return outcome;
      }
      return handler(event, context);
    };
  }

  /** Waits, bounded, until the engine has timed the state out and the release has ended; then runs the handler. */
  private async lateRun(state: TaskState, releaseId: string, run: () => Promise<unknown>): Promise<{ before: RecordSnapshot }> {
    const executionArn = await eventually(`the execution of ${releaseId}`, async () => {
      const found = this.stack.sfn.executions().find((e) => e.name === releaseId);
      return found?.executionArn;
    });
    await eventually(`TaskTimedOut of ${state}`, async () =>
      (await timedOutStates(this.stack, executionArn)).includes(state) ? true : undefined,
    );
    await eventually(`release ${releaseId} ended`, async () => {
      const release = await this.store.getRelease(releaseId);
      return release && isTerminal(release.status) ? true : undefined;
    });
    const before = await snapshot(this.store, releaseId);
    await run().catch(() => undefined);
    return { before };
  }
}

/** The ASL state a step function's invocation serves: a few functions serve two states, told apart by the payload. */
function stateOf(id: StepFunctionId, event: unknown): TaskState {
  const payload = (event ?? {}) as { environment?: string; phase?: string; action?: string };
  if (id === 'Deploy') return payload.environment === 'staging' ? 'DeployStaging' : 'DeployProduction';
  if (id === 'DeployStatus') return payload.environment === 'staging' ? 'CheckStaging' : 'CheckProduction';
  if (id === 'Approval') return payload.phase === 'remind' ? 'RemindApprovers' : 'RequestApproval';
  if (id === 'Finalize') return payload.action === 'hold' ? 'HoldForRedrive' : 'Finalize';
  return id;
}

/**
 * Runs `run` while the local gateway's answers to stage switches are lost on the way back: the switch is made,
 * the caller sees a network error, as when a connection drops after the request reached the gateway.
 */
async function loseStageSwitchAnswer<T>(run: () => Promise<T>): Promise<T> {
  const realFetch = globalThis.fetch;
  const admin = process.env.LOCAL_GATEWAY_ADMIN_URL!;
  globalThis.fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    const response = await realFetch(input, init);
    if (init?.method === 'PUT' && url.startsWith(admin) && /\/stages\/[^/]+$/.test(url)) {
      await response.arrayBuffer();
      throw new TypeError('fetch failed: the connection closed before the gateway answered');
    }
    return response;
  };
  try {
    return await run();
  } finally {
    globalThis.fetch = realFetch;
  }
}

const inProgress = (result: unknown) => (result as { state?: string } | null)?.state === 'IN_PROGRESS';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A late Lambda has its own time budget, whatever the state's timeout was. */
function freshContext(context: Context): Context {
  return { ...context, getRemainingTimeInMillis: () => 60_000 };
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls, bounded, until `probe` gives a value. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = CASE_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** What differs between two snapshots of a record, one line per changed field or step. */
function changes(before: RecordSnapshot, now: RecordSnapshot): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(before.release), ...Object.keys(now.release)]) as Set<keyof RecordSnapshot['release']>;
  for (const key of keys) {
    const [was, is] = [JSON.stringify(before.release[key]), JSON.stringify(now.release[key])];
    if (was !== is) out.push(`release.${key}: ${was} -> ${is}`);
  }
  const brief = (s: StepRecord | undefined) => (s ? `${s.status}${s.error ? ` (${s.error.error})` : ''}` : 'none');
  for (const name of new Set([...before.steps, ...now.steps].map((s) => s.step))) {
    const [was, is] = [before.steps.find((s) => s.step === name), now.steps.find((s) => s.step === name)];
    if (JSON.stringify(was) === JSON.stringify(is)) continue;
    const fields = Object.keys({ ...was, ...is }).filter(
      (k) => JSON.stringify(was?.[k as keyof StepRecord]) !== JSON.stringify(is?.[k as keyof StepRecord]),
    );
    out.push(`step ${name}: ${brief(was)} -> ${brief(is)} (changed: ${fields.join(', ')})`);
  }
  return out;
}

async function snapshot(store: ReleaseStore, releaseId: string): Promise<RecordSnapshot> {
  const { updatedAt: _updatedAt, ...release } = await store.requireRelease(releaseId);
  return { release, steps: await store.getSteps(releaseId) };
}

/** The execution's history events, oldest first. */
async function history(stack: TestStack, executionArn: string) {
  const events = [];
  let nextToken: string | undefined;
  do {
    const page = stack.sfn.getExecutionHistory({ executionArn, maxResults: 1000, nextToken });
    events.push(...page.events);
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** The Task states the execution entered, in order, repeats included. */
async function statesEntered(stack: TestStack, executionArn: string): Promise<string[]> {
  return (await history(stack, executionArn))
    .filter((e) => e.type === 'TaskStateEntered')
    .map((e) => String((e.stateEnteredEventDetails as { name?: string } | undefined)?.name));
}

/** The Task states whose task timed out (TaskTimedOut after the state was entered). */
async function timedOutStates(stack: TestStack, executionArn: string): Promise<string[]> {
  const out: string[] = [];
  let state = '';
  for (const e of await history(stack, executionArn)) {
    if (e.type === 'TaskStateEntered') state = String((e.stateEnteredEventDetails as { name?: string } | undefined)?.name);
    if (e.type === 'TaskTimedOut') out.push(state);
  }
  return out;
}

/** Null when nobody holds the service lock (probed with a one-second lease, released at once). */
export async function lockHolder(store: ReleaseStore, svc: string): Promise<string | null> {
  const probe = await store.acquireLock(svc, 'lock-probe', 1);
  if (!probe.acquired) return probe.holder ?? 'unknown';
  await store.releaseLock(svc, 'lock-probe');
  return null;
}

/** The version a greeter answers with at `url`, or what went wrong. */
async function answer(url: string, apiKey?: string): Promise<string> {
  try {
    const res = await get(url, apiKey);
    return res.status === 200 && typeof res.body?.version === 'string' ? res.body.version : `HTTP ${res.status}`;
  } catch (err) {
    return `unreachable (${(err as Error).message})`;
  }
}

async function gatewayDeployment(svc: string): Promise<string | null> {
  const res = await fetch(`${process.env.LOCAL_GATEWAY_ADMIN_URL}/services/${svc}`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) return null;
  return ((await res.json()) as { currentDeploymentId: string | null }).currentDeploymentId;
}
