import * as z from 'zod';
import { FencedOutError, LockTimeoutError, describeError } from '../errors.js';
import { logger } from '../logger.js';
import { lockPollSeconds } from '../poll-schedule.js';
import { isTerminal } from '../store/records.js';
import type { PreparedRelease } from '../store/records.js';
import type { PipelineDeps } from './deps.js';
import { waiterAhead } from './queue-order.js';
import { checkVersion, outOfOrder } from './release-order.js';

export const AcquireLockEventSchema = z.object({
  releaseId: z.string().min(1),
  action: z.literal('acquire'),
});

/** Margin added to the approval timeout for the lock lease, covering deploys, tests and rollback. */
const LEASE_MARGIN_SECONDS = 6 * 3600;

/**
 * Takes the per-service lock, first come, first served by execution start (queue-order.ts): while another release
 * holds it or one that started earlier still waits for it, the release is QUEUED and the state machine asks again;
 * after the catalog's `lockWaitSeconds` it gives up with LockTimeout. `waitSeconds` is how long WaitForLock waits
 * before asking again, growing with the time queued. With the lock, the version is checked again against
 * production, which may have moved on since Prepare. A late call that takes the lock after its release ended
 * gives it back at once (FencedOut), or the next release would queue for the whole lease.
 */
export async function acquireLock(
  deps: PipelineDeps,
  releaseId: string,
): Promise<{ acquired: boolean; holder: string | null; waitSeconds: number }> {
  const { store } = deps;
  const release = await store.requirePrepared(releaseId);
  const service = release.catalog;
  const lease = service.approvalTimeoutSeconds + service.lockWaitSeconds + LEASE_MARGIN_SECONDS;
  if (isTerminal(release.status)) throw new FencedOutError(`AcquireLock of ${releaseId} came after the release ended ${release.status}`);
  await store.startStep(releaseId, 'AcquireLock');
  const now = deps.now();
  // A retry of a round that took the lock keeps it, whoever queued since: the queue only decides who takes it next.
  const ours = (await store.order.lockHolder(release.service)) === releaseId;
  const ahead = ours ? undefined : await waiterAhead(store, release, now);
  const result = ahead ? { acquired: false, holder: ahead.releaseId } : await store.acquireLock(release.service, releaseId, lease);
  if (result.acquired) {
    await giveBackIfEnded(deps, release);
    await refuseBackwards(deps, release);
    const waitedMs = release.queuedAt ? now.getTime() - Date.parse(release.queuedAt) : 0;
    await store.updateRelease(releaseId, { status: 'RUNNING' });
    await store.endStep(releaseId, 'AcquireLock', 'SUCCEEDED', { details: { waitedMs } });
    return { acquired: true, holder: releaseId, waitSeconds: 0 };
  }
  const queuedAt = release.queuedAt ?? now.toISOString();
  const queuedMs = now.getTime() - Date.parse(queuedAt);
  if (queuedMs > service.lockWaitSeconds * 1000) {
    const why = ahead ? 'started earlier and still waits for the lock' : 'held the lock';
    throw new LockTimeoutError(
      `release ${result.holder ?? 'unknown'} of ${release.service} ${why} for longer than lockWaitSeconds (${service.lockWaitSeconds} s)`,
    );
  }
  // Written every round, not only the first: `updatedAt` is the heartbeat by which later releases tell a live
  // waiter from a dead one.
  await store.updateRelease(releaseId, { status: 'QUEUED', queuedAt });
  await store.startStep(releaseId, 'AcquireLock', { waitingFor: result.holder ?? null, queuedAt });
  return { acquired: false, holder: result.holder ?? null, waitSeconds: lockPollSeconds(queuedMs / 1000) };
}

/**
 * The release's end releases the lock after it writes the terminal status, so reading the status after taking the
 * lock is enough: either the end came first and we see it here, or our lock was taken first and the end releases it.
 */
async function giveBackIfEnded(deps: PipelineDeps, release: PreparedRelease): Promise<void> {
  const now = await deps.store.requireRelease(release.releaseId);
  if (!isTerminal(now.status)) return;
  await deps.store.releaseLock(release.service, release.releaseId);
  logger.warn('gave back a lock taken after the release ended', { releaseId: release.releaseId, status: now.status });
  throw new FencedOutError(
    `AcquireLock of ${release.releaseId} took ${release.service}'s lock after the release ended ${now.status}; gave it back`,
  );
}

/**
 * With the lock held, production cannot move under us: a release whose version is no longer greater than the live
 * one (a newer release ran while it waited) gives the lock back and fails with the field error Prepare would give.
 * The error goes on the record before the throw, so the FAILED record Finalize writes keeps `error.fields`.
 */
async function refuseBackwards(deps: PipelineDeps, release: PreparedRelease): Promise<void> {
  const { store } = deps;
  const fields = await checkVersion(store, release, release.catalog.allowDowngrade);
  if (Object.keys(fields).length === 0) return;
  const err = outOfOrder(fields);
  await store.releaseLock(release.service, release.releaseId);
  await store.updateRelease(release.releaseId, { error: { ...describeError(err), fields } });
  await store.endStep(release.releaseId, 'AcquireLock', 'FAILED', { error: describeError(err), details: { fields } });
  throw err;
}
