import { stepOfState } from '../../steps.js';
import { ConflictError } from '../errors.js';
import { logger } from '../logger.js';
import { emitReleaseOutcome } from '../metrics.js';
import { buildOutcomeEmail } from '../notify/outcome-email.js';
import {
  findStep,
  isTerminal,
  type ReleaseError,
  type ReleaseRecord,
  type ReleaseStatus,
  type ReleaseWarning,
  type StepRecord,
  type TerminalStatus,
} from '../store/records.js';
import type { PipelineDeps } from './deps.js';
import { retireReplaced } from './retire.js';
import { toLive } from './deployments.js';

/** A Task state that failed, and the error it failed with. */
export interface FailedState {
  state: string;
  error: { error: string; cause: string };
}

/** How a release ends: what Finalize and the execution-status handler both hand to {@link finishRelease}. */
export interface ReleaseEnding {
  releaseId: string;
  status: TerminalStatus;
  error?: ReleaseError;
  warnings?: ReleaseWarning[];
  /**
   * Task states that failed. A state's step with no record (its Lambda failed before the handler ran) or still
   * RUNNING is recorded FAILED with that state's error, so the step history shows every step that ran.
   */
  failedStates?: FailedState[];
  /** The execution input: a release Prepare never recorded is recorded from it, rather than lost. */
  request?: Record<string, unknown>;
}

/** What finishing did: the release's terminal status, and whether this call was the one that wrote it. */
export interface Finished {
  status: ReleaseStatus;
  /** False when the release had already ended (a retried Finalize, or the status-change handler after Finalize). */
  ended: boolean;
}

/**
 * Ends a release, once: records the steps that failed without a record, closes every step still open, writes the
 * terminal status with a conditional update, releases the service lock, and (only the call whose write won) emits
 * the outcome metric and emails the people involved. Running it again, from Finalize or the status-change handler,
 * changes nothing but making sure the lock is released.
 */
export async function finishRelease(deps: PipelineDeps, ending: ReleaseEnding): Promise<Finished> {
  const { store } = deps;
  const release = (await store.getRelease(ending.releaseId)) ?? (await recordUnprepared(deps, ending));
  if (isTerminal(release.status)) {
    await store.releaseLock(release.service, release.releaseId);
    return { status: release.status, ended: false };
  }

  const failure = ending.error ? { error: ending.error.error, cause: ending.error.cause } : undefined;
  const steps = await store.getSteps(ending.releaseId);
  // Steps ended here as the failed states', so the sweep of the ones still RUNNING skips them without a second read.
  const endedHere = new Set<string>();
  for (const failed of ending.failedStates ?? []) {
    const step = stepOfState(failed.state);
    const recorded = step && steps.find((s) => s.step === step);
    if (step && (!recorded || recorded.status === 'RUNNING')) {
      await store.endStep(ending.releaseId, step, 'FAILED', { error: failed.error });
      endedHere.add(step);
    }
  }
  for (const step of steps) {
    if (step.status !== 'RUNNING' || endedHere.has(step.step)) continue;
    await store.endStep(ending.releaseId, step.step, 'FAILED', {
      error: failure ?? { error: 'Unfinished', cause: 'the release ended first' },
    });
  }

  const now = deps.now();
  const durationMs = now.getTime() - Date.parse(release.createdAt);
  try {
    await store.updateRelease(ending.releaseId, {
      status: ending.status,
      endedAt: now.toISOString(),
      durationMs,
      ...(ending.error ? { error: { ...(release.error ?? {}), ...ending.error } } : {}),
      ...(ending.warnings?.length ? { warnings: ending.warnings } : {}),
    });
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
    // Another writer ended it between our read and our write; theirs stands, and they notify.
    await store.releaseLock(release.service, release.releaseId);
    return { status: (await store.requireRelease(ending.releaseId)).status, ended: false };
  }
  // Before the lock goes: an operator's rollback, which needs the lock, then finds the version retiring and keeps it.
  if (ending.status === 'SUCCEEDED') await retireReplacedProduction(deps, release, steps);
  await store.releaseLock(release.service, release.releaseId);
  // An approval still open would keep working links to a release that can no longer be approved.
  if (ending.status !== 'EXPIRED') await store.approvals().cancelPending(release.releaseId, now.toISOString());
  emitReleaseOutcome(release.service, ending.status, durationMs);
  await notifyOutcome(deps, { ...release, status: ending.status, warnings: ending.warnings }, ending.error?.cause);
  return { status: ending.status, ended: true };
}

/**
 * A SUCCEEDED release is done with the production version it replaced: the gateway moved and validation passed.
 * Providers that kept it running for the switch (local-process) stop it after its drain.
 */
async function retireReplacedProduction(deps: PipelineDeps, release: ReleaseRecord, steps: readonly StepRecord[]): Promise<void> {
  const previous = findStep(steps, 'DeployProduction')?.details?.previous;
  if (!previous || !release.catalog) return;
  let current: Awaited<ReturnType<typeof deps.store.getCurrent>>;
  try {
    current = await deps.store.getCurrent(release.service, 'production');
  } catch (err) {
    // The outcome is decided; a version left running costs resources, not correctness, so the ending goes on.
    logger.warn('could not read CURRENT to retire the replaced version', { releaseId: release.releaseId, error: err as Error });
    return;
  }
  await retireReplaced(deps, {
    service: release.service,
    environment: 'production',
    target: release.catalog.production,
    deployment: previous,
    live: toLive(current),
  });
}

/** A record for a release Prepare never wrote (it crashed first), from the execution input, so the attempt is kept. */
async function recordUnprepared(deps: PipelineDeps, ending: ReleaseEnding): Promise<ReleaseRecord> {
  const req = ending.request;
  const text = (v: unknown) => (typeof v === 'string' ? v : '(unknown)');
  const now = deps.now().toISOString();
  const minimal: ReleaseRecord = {
    releaseId: ending.releaseId,
    service: text(req?.service),
    version: text(req?.version),
    commit: text(req?.commit),
    branch: 'main',
    triggeredBy: text(req?.triggeredBy),
    status: 'RUNNING',
    request: req ?? {},
    changes: [],
    createdAt: now,
    updatedAt: now,
  };
  if (await deps.store.createRelease(minimal)) return minimal;
  return deps.store.requireRelease(ending.releaseId);
}

/** Emails the release's outcome to whoever triggered, approves or follows it; a mail failure is only logged. */
export async function notifyOutcome(
  deps: Pick<PipelineDeps, 'notifier'>,
  release: ReleaseRecord,
  cause: string | undefined,
): Promise<void> {
  const to = [...new Set([release.triggeredBy, ...(release.catalog?.approvers ?? []), ...(release.catalog?.notify ?? [])])].filter((a) =>
    a.includes('@'),
  );
  if (to.length === 0) return;
  try {
    await deps.notifier().send(buildOutcomeEmail(release, to, cause));
  } catch (err) {
    // The release outcome is already recorded; a mail failure must not turn it into a failed finalization.
    logger.warn('could not send the outcome email', { error: err as Error });
  }
}
