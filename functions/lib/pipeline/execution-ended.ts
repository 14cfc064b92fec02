import * as z from 'zod';
import { describeError } from '../errors.js';
import { logger } from '../logger.js';
import { isTerminal, type ReleaseError, type ReleaseRecord, type StepRecord, type TerminalStatus } from '../store/records.js';
import type { PipelineDeps } from './deps.js';
import { FinalizeEventSchema, causeText, finalizeRelease } from './finalize.js';
import { finishRelease, type Finished } from './finish-release.js';
import { rollbackProduction } from './rollback.js';

/** The execution statuses the EventBridge rule forwards: the ways out no Catch can see. */
export const ENDED_EXECUTION_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

/**
 * The "Step Functions Execution Status Change" event EventBridge hands the function (and the embedded endpoint
 * emits the same). Only the fields used are checked; AWS sends absent values as null.
 */
export const ExecutionStatusEventSchema = z.object({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string().min(1),
    /** The execution name, which is the release id. */
    name: z.string().min(1),
    status: z.enum(ENDED_EXECUTION_STATUSES),
    /** The execution input (the release request); null when AWS left it out for size. */
    input: z.string().nullish(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
    /** How many times the execution had been redriven when this status came: 0 (or absent) for its first run. */
    redriveCount: z.number().int().min(0).nullish(),
  }),
});
export type ExecutionStatusEvent = z.infer<typeof ExecutionStatusEventSchema>;

/** What the handler did with an event. */
export type ExecutionEnded = Finished | { status: 'IGNORED'; ended: false; reason: string };

/**
 * Ends the release of an execution that stopped, timed out or failed without Finalize ending it: rolls production
 * and the gateway back when this release touched them, then finishes the release as Finalize would (terminal
 * status, steps closed, lock released, one email). A release that already ended only has its lock released, so the
 * handler may run after Finalize, before it, or twice.
 */
export async function endStoppedExecution(deps: PipelineDeps, event: ExecutionStatusEvent): Promise<ExecutionEnded> {
  const { detail } = event;
  const releaseId = detail.name;
  logger.appendKeys({ releaseId });
  const release = await deps.store.getRelease(releaseId);
  if (release?.executionArn && release.executionArn !== detail.executionArn) {
    // Prepare refused a second execution under a name already used: the record belongs to the first one.
    return { status: 'IGNORED', ended: false, reason: `release ${releaseId} belongs to ${release.executionArn}` };
  }
  const run = detail.redriveCount ?? 0;
  if (release?.redrive && run < release.redrive.count) {
    // An event of a run before `launchway redrive`, delivered late: the release may run again and hold the lock.
    return {
      status: 'IGNORED',
      ended: false,
      reason: `the event is of run ${run}; release ${releaseId} was redriven (${release.redrive.count})`,
    };
  }
  if (detail.status === 'FAILED' && detail.error === 'FinalizeFailed') {
    // The KeepEnding state put the whole execution state in the cause: end the release exactly as Finalize would have.
    const state = FinalizeEventSchema.shape.state.safeParse(parseJson(detail.cause));
    if (state.success) return finalizeRelease(deps, { releaseId, state: state.data });
    logger.warn('FinalizeFailed without a readable ending; ending the release from its record', { issues: state.error.issues });
  }
  if (release && isTerminal(release.status)) {
    await deps.store.releaseLock(release.service, releaseId);
    return { status: release.status, ended: false };
  }

  const steps = release ? await deps.store.getSteps(releaseId) : [];
  const cause = stopCause(event, release, steps);
  const touched = steps.some((s) => s.step === 'DeployProduction' || s.step === 'ProvisionInterop');
  const restored = steps.some((s) => s.step === 'Rollback' && s.status === 'SUCCEEDED');
  let rollbackError: { error: string; cause: string } | undefined;
  if (touched && !restored) {
    try {
      await rollbackProduction(deps, { releaseId, error: { Error: cause.error, Cause: cause.cause } });
    } catch (err) {
      rollbackError = describeError(err);
      logger.error('the rollback after the execution ended failed', { error: err as Error });
    }
  }

  const status: TerminalStatus = rollbackError
    ? 'ROLLBACK_FAILED'
    : detail.status === 'ABORTED'
      ? (release?.stopRequest?.status ?? 'CANCELLED')
      : touched
        ? 'ROLLED_BACK'
        : 'FAILED';
  const error: ReleaseError = rollbackError ? { ...rollbackError, state: 'Rollback', rollbackOf: cause } : cause;
  return finishRelease(deps, { releaseId, status, error, request: asRecord(parseJson(detail.input)) });
}

/** Why the execution ended, in the record's words, naming the step that was running when it did. */
function stopCause(event: ExecutionStatusEvent, release: ReleaseRecord | undefined, steps: StepRecord[]): ReleaseError {
  const { detail } = event;
  const running = steps.find((s) => s.status === 'RUNNING')?.step;
  const state = running ? { state: running } : {};
  if (detail.status === 'ABORTED') {
    const stop = release?.stopRequest;
    const cause = stop ? `${stop.status.toLowerCase()} by ${stop.by}: ${stop.reason}` : 'the execution was stopped (StopExecution)';
    return { error: 'ExecutionAborted', cause: detail.cause ? `${cause}; ${detail.cause}` : cause, ...state };
  }
  if (detail.status === 'TIMED_OUT') {
    return { error: 'ExecutionTimedOut', cause: "the execution ran past the state machine's TimeoutSeconds", ...state };
  }
  return { error: detail.error ?? 'ExecutionFailed', cause: causeText(detail.cause ?? undefined), ...state };
}

function parseJson(text: string | null | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
