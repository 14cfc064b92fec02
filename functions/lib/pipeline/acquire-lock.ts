import * as z from 'zod';
import { LockTimeoutError } from '../errors.js';
import type { PipelineDeps } from './deps.js';

export const AcquireLockEventSchema = z.object({
  releaseId: z.string().min(1),
  action: z.literal('acquire'),
});

/** Margin added to the approval timeout for the lock lease, covering deploys, tests and rollback. */
const LEASE_MARGIN_SECONDS = 6 * 3600;

/**
 * Takes the per-service lock. When another release holds it, the release is QUEUED and the state machine waits and
 * asks again; after the catalog's `lockWaitSeconds` it gives up with LockTimeout.
 */
export async function acquireLock(deps: PipelineDeps, releaseId: string): Promise<{ acquired: boolean; holder: string | null }> {
  const { store } = deps;
  const release = await store.requirePrepared(releaseId);
  const service = release.catalog;
  const lease = service.approvalTimeoutSeconds + service.lockWaitSeconds + LEASE_MARGIN_SECONDS;
  await store.startStep(releaseId, 'AcquireLock');
  const result = await store.acquireLock(release.service, releaseId, lease);
  const now = deps.now();
  if (result.acquired) {
    const waitedMs = release.queuedAt ? now.getTime() - Date.parse(release.queuedAt) : 0;
    await store.updateRelease(releaseId, { status: 'RUNNING' });
    await store.endStep(releaseId, 'AcquireLock', 'SUCCEEDED', { details: { waitedMs } });
    return { acquired: true, holder: releaseId };
  }
  const queuedAt = release.queuedAt ?? now.toISOString();
  if (now.getTime() - Date.parse(queuedAt) > service.lockWaitSeconds * 1000) {
    throw new LockTimeoutError(
      `release ${result.holder ?? 'unknown'} of ${release.service} held the lock for longer than lockWaitSeconds (${service.lockWaitSeconds} s)`,
    );
  }
  if (release.status !== 'QUEUED') await store.updateRelease(releaseId, { status: 'QUEUED', queuedAt });
  await store.startStep(releaseId, 'AcquireLock', { waitingFor: result.holder ?? null, queuedAt });
  return { acquired: false, holder: result.holder ?? null };
}
