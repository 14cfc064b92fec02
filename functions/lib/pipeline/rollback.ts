import * as z from 'zod';
import { RollbackFailedError, describeError } from '../errors.js';
import { publishedInterop } from '../store/records.js';
import type { PipelineDeps } from './deps.js';
import { deploymentOf } from './deployments.js';
import { recordStep } from './record-step.js';

export const RollbackEventSchema = z.object({
  releaseId: z.string().min(1),
  /** The failure that triggered the rollback, as the state machine's Catch recorded it. */
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).partial().optional(),
});
export type RollbackEvent = z.infer<typeof RollbackEventSchema>;

/**
 * Puts production back as it was before this release: the previous version live again (or nothing, for a first
 * release) and the gateway's previous deployment on the stage.
 */
export async function rollbackProduction(deps: PipelineDeps, event: RollbackEvent): Promise<{ restoredVersion: string | null }> {
  const { store } = deps;
  const release = await store.requirePrepared(event.releaseId);
  const service = release.catalog;
  await store.updateRelease(release.releaseId, { status: 'ROLLING_BACK' });
  return recordStep(store, release.releaseId, 'Rollback', async () => {
    const details = await deploymentOf(deps, release.releaseId, 'production');
    const previous = details?.previous ?? undefined;
    const failed =
      details?.handle && Object.keys(details.handle).length > 0
        ? { version: release.version, artifactKey: '', releaseId: release.releaseId, handle: details.handle }
        : undefined;

    const restored = await deps.providerFor(service.production).rollback({
      service: release.service,
      environment: 'production',
      target: service.production,
      failed,
      previous,
    });
    if (previous && restored && restored.state !== 'SUCCEEDED') {
      throw new RollbackFailedError(`could not restore ${release.service} ${previous.version}: ${restored.message ?? restored.state}`);
    }
    if (previous && restored) {
      await store.putCurrent({
        service: release.service,
        environment: 'production',
        version: previous.version,
        releaseId: previous.releaseId,
        artifactKey: previous.artifactKey,
        handle: restored.handle,
      });
    }

    const interop = publishedInterop(await store.stepResult(release.releaseId, 'ProvisionInterop'));
    let gateway: string | null = null;
    if (interop?.deploymentId) {
      const prev = interop.previousDeploymentId;
      await deps.provisioner().rollback(release.service, prev);
      gateway = prev ?? '(removed)';
    }
    return {
      result: { restoredVersion: previous?.version ?? null },
      details: {
        restoredVersion: previous?.version ?? null,
        restoredEndpoint: restored?.endpoint ?? null,
        gatewayDeployment: gateway,
        reason: event.error
          ? describeError(Object.assign(new Error(event.error.Cause ?? ''), { name: event.error.Error ?? 'Error' }))
          : null,
      },
    };
  });
}
