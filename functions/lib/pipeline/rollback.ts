import * as z from 'zod';
import { verifyRestore } from '../artifact-integrity.js';
import { RollbackFailedError, describeError } from '../errors.js';
import { publishedInterop, type StepRecordOf } from '../store/records.js';
import type { PipelineDeps } from './deps.js';
import { deploymentOf } from './deployments.js';
import { claimFence, fencedOut, type Fence } from './fence.js';
import { recordStep } from './record-step.js';
import { releasedTarget, retireReplaced } from './retire.js';

export const RollbackEventSchema = z.object({
  releaseId: z.string().min(1),
  /** The failure that triggered the rollback, as the state machine's Catch recorded it. */
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).partial().optional(),
});
export type RollbackEvent = z.infer<typeof RollbackEventSchema>;

/**
 * Puts production back as it was before this release: the previous version live again (or nothing, for a first
 * release), then the gateway's previous deployment on the stage, then the failed version retired (after its drain),
 * in that order so a partner's request always finds a version answering. It claims the release's fence first, so a forward
 * step still running (timed out, not yet returned) can no longer record anything; a rollback whose release no
 * longer holds the lock (it ended, maybe the next release runs) changes nothing and throws FencedOut.
 */
export async function rollbackProduction(deps: PipelineDeps, event: RollbackEvent): Promise<{ restoredVersion: string | null }> {
  const { store } = deps;
  const release = await store.requirePrepared(event.releaseId);
  const service = release.catalog;
  const fence = await claimFence(deps, release.service, release.releaseId, 'Rollback');
  await store.updateRelease(release.releaseId, { status: 'ROLLING_BACK' });
  return recordStep(store, release.releaseId, 'Rollback', async () => {
    const details = await deploymentOf(deps, release.releaseId, 'production');
    const previous = details?.previous ?? undefined;
    const failed =
      details?.handle && Object.keys(details.handle).length > 0
        ? { version: release.version, artifactKey: '', releaseId: release.releaseId, handle: details.handle }
        : undefined;

    // An artifact replaced since it was live is not started again: the rollback fails (ROLLBACK_FAILED) instead.
    await verifyRestore(deps.artifacts, service.production, previous);
    const previousTarget = await releasedTarget(store, previous, 'production');
    const restored = await deps.providerFor(service.production).rollback({
      service: release.service,
      environment: 'production',
      target: service.production,
      failed,
      previous,
      ...(previousTarget ? { previousTarget } : {}),
    });
    if (previous && restored && restored.state !== 'SUCCEEDED') {
      throw new RollbackFailedError(`could not restore ${release.service} ${previous.version}: ${restored.message ?? restored.state}`);
    }
    await keepFence(deps, fence);
    if (previous && restored) {
      await store.putCurrent({
        service: release.service,
        environment: 'production',
        version: previous.version,
        releaseId: previous.releaseId,
        artifactKey: previous.artifactKey,
        artifactSha256: previous.artifactSha256,
        handle: restored.handle,
      });
    }

    const stageBefore = gatewayTarget(await store.stepResult(release.releaseId, 'ProvisionInterop'));
    let gateway: string | null = null;
    if (stageBefore !== undefined) {
      await deps.provisioner().rollback(release.service, stageBefore ?? undefined);
      gateway = stageBefore ?? '(removed)';
    }
    await keepFence(deps, fence);
    // Only now that the gateway left the failed version may it stop (after the drain): until then partners reach it.
    const retired = failed
      ? await retireReplaced(deps, {
          service: release.service,
          environment: 'production',
          target: service.production,
          deployment: failed,
          live: previous && restored ? { ...previous, handle: restored.handle } : undefined,
        })
      : undefined;
    return {
      result: { restoredVersion: previous?.version ?? null },
      details: {
        restoredVersion: previous?.version ?? null,
        restoredEndpoint: restored?.endpoint ?? null,
        gatewayDeployment: gateway,
        ...(retired ? { retired } : {}),
        reason: event.error
          ? describeError(Object.assign(new Error(event.error.Cause ?? ''), { name: event.error.Error ?? 'Error' }))
          : null,
      },
    };
  });
}

/** Between restores: a release that lost its lock meanwhile (its lease passed to another) stops before writing. */
async function keepFence(deps: PipelineDeps, fence: Fence): Promise<void> {
  if (!(await deps.store.fences.check(fence.service, fence.releaseId, fence.token))) throw fencedOut(fence, 'while it restored');
}

/**
 * The deployment the gateway stage goes back to once ProvisionInterop started, whatever its outcome (it may have
 * moved the stage and failed after): what the stage served before (null: remove it). Undefined when the stage was
 * never going to be touched (interop skipped, or the step never got as far as noting it).
 */
export function gatewayTarget(record: StepRecordOf<'ProvisionInterop'> | undefined): string | null | undefined {
  const details = record?.details;
  if (details && 'stageBefore' in details && details.stageBefore !== undefined) return details.stageBefore;
  // Records written before the stage was noted: only a published deployment says where the stage was.
  const published = publishedInterop(record);
  return published ? (published.previousDeploymentId ?? null) : undefined;
}
