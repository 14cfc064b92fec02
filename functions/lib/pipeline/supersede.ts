import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import { MAX_APPROVAL_TIMEOUT_SECONDS, MAX_LOCK_WAIT_SECONDS } from '../catalog.js';
import { sfnClient } from '../clients.js';
import { logger } from '../logger.js';
import { ConflictError } from '../errors.js';
import type { ReleaseRecord, ReleaseStatus, StopRequest } from '../store/records.js';
import type { ReleaseStore } from '../store/release-store.js';
import { queueKey } from './queue-order.js';

/**
 * The statuses a newer release of a `supersede` service ends: waiting for the lock (PENDING, QUEUED) or for the
 * approval. A release past its approval (deploying to production, validating, rolling back) always finishes.
 */
export const SUPERSEDABLE: readonly ReleaseStatus[] = ['PENDING', 'QUEUED', 'AWAITING_APPROVAL'];

/**
 * How far back a newer release looks: an older release may wait for the lock and then for its approval, each at
 * most its catalog maximum, plus an hour for its deploy to staging and tests.
 */
export const SUPERSEDE_WINDOW_SECONDS = MAX_LOCK_WAIT_SECONDS + MAX_APPROVAL_TIMEOUT_SECONDS + 3600;

/** Stops an execution as StopExecution does; the status-change handler then ends its release. */
export type StopExecution = (executionArn: string, error: string, cause: string) => Promise<void>;

/** StopExecution through the Step Functions client (the embedded endpoint in embedded mode). */
export const stopWithStepFunctions: StopExecution = async (executionArn, error, cause) => {
  await sfnClient().send(new StopExecutionCommand({ executionArn, error, cause }));
};

/**
 * The releases `me` supersedes among `others`: of its service, started before it (by the queue's key, so never a
 * newer one), still waiting for the lock or the approval, with an execution to stop and no stop asked before.
 */
export function supersededBy(me: Pick<ReleaseRecord, 'releaseId' | 'service' | 'createdAt'>, others: ReleaseRecord[]): ReleaseRecord[] {
  const mine = queueKey(me);
  return others.filter(
    (r) =>
      r.releaseId !== me.releaseId &&
      r.service === me.service &&
      queueKey(r) < mine &&
      SUPERSEDABLE.includes(r.status) &&
      !r.stopRequest &&
      Boolean(r.executionArn),
  );
}

/**
 * Ends the older releases `me` supersedes: for each, a conditional write of a SUPERSEDED stop request (only while
 * it is still supersedable and nobody asked to stop it), then StopExecution; the status-change handler ends the
 * record SUPERSEDED, closes its approval (links answer 410 naming `me`) and releases its lock. Idempotent, so a
 * retried Prepare may run it again. Never throws: a release that cannot be stopped ends by its own timeouts, and
 * the queue no longer waits for it (queue-order.ts). Returns the ids it stopped.
 */
export async function supersedeOlder(
  store: ReleaseStore,
  me: Pick<ReleaseRecord, 'releaseId' | 'service' | 'version' | 'createdAt'>,
  stop: StopExecution,
  now: Date,
): Promise<string[]> {
  const stopped: string[] = [];
  try {
    const from = new Date(now.getTime() - SUPERSEDE_WINDOW_SECONDS * 1000).toISOString();
    const older = supersededBy(me, await store.order.startedBetween(me.service, from, queueKey(me), SUPERSEDABLE));
    for (const old of older) {
      if (await supersedeOne(store, me, old, stop, now)) stopped.push(old.releaseId);
    }
  } catch (err) {
    logger.error('could not supersede the older releases', { error: err as Error });
  }
  return stopped;
}

async function supersedeOne(
  store: ReleaseStore,
  me: Pick<ReleaseRecord, 'releaseId' | 'version'>,
  old: ReleaseRecord,
  stop: StopExecution,
  now: Date,
): Promise<boolean> {
  const request: StopRequest = {
    status: 'SUPERSEDED',
    by: 'launchway',
    reason: `superseded by ${me.releaseId} (${me.version})`,
    supersededBy: me.releaseId,
    at: now.toISOString(),
  };
  try {
    const { written } = await store.requestStop(old.releaseId, request, SUPERSEDABLE).catch((err: unknown) => {
      if (err instanceof ConflictError) return { written: false }; // it ended meanwhile: nothing to supersede
      throw err;
    });
    if (!written) return false;
    // The index that found it may lag: stop only what the record still says waits (an approval may have just come).
    const current = await store.getRelease(old.releaseId);
    if (!current || !SUPERSEDABLE.includes(current.status) || !current.executionArn) {
      await store.withdrawStop(old.releaseId, me.releaseId);
      return false;
    }
    await stop(current.executionArn, 'ReleaseSuperseded', request.reason);
    logger.info('superseded an older release', { superseded: old.releaseId, supersededBy: me.releaseId });
    return true;
  } catch (err) {
    logger.error('could not stop a superseded release; its own timeouts end it', { superseded: old.releaseId, error: err as Error });
    return false;
  }
}
