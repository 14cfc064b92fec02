import * as z from 'zod';
import { InteropProvisioningFailedError } from '../errors.js';
import { parseOpenApi } from '../openapi.js';
import type { PreparedRelease } from '../store/records.js';
import type { PipelineDeps } from './deps.js';
import { deploymentOf } from './deployments.js';
import { claimFence, fencedOut, standing } from './fence.js';
import { recordStep } from './record-step.js';

export const ProvisionInteropEventSchema = z.object({ releaseId: z.string().min(1) });

/** What the state machine keeps: the gateway deployment, or null when interop is off. */
type InteropResult = { deploymentId: string | null };

/**
 * Publishes the release's OpenAPI contract on the partner gateway, proxying to the new production target. The stage's
 * deployment before the release is on the step record before the stage moves, so the Rollback can always put it back.
 * An attempt that lost its fence (fence.ts) while it published puts the stage back itself and records nothing.
 */
export async function provisionInterop(deps: PipelineDeps, releaseId: string): Promise<InteropResult> {
  const release = await deps.store.requirePrepared(releaseId);
  const config = release.catalog.interop;
  const fence = await claimFence(deps, release.service, releaseId, 'ProvisionInterop');
  return recordStep<'ProvisionInterop', InteropResult>(deps.store, releaseId, 'ProvisionInterop', async () => {
    if (!config.enabled)
      return { result: { deploymentId: null }, status: 'SKIPPED', details: { reason: 'interop disabled in the catalog' } };
    const deployed = await deploymentOf(deps, releaseId, 'production');
    if (!deployed?.endpoint) throw new InteropProvisioningFailedError('production has no endpoint for the gateway to proxy to');
    const spec = await parseOpenApi(await deps.artifacts.getText(release.request.artifacts.openapi));
    const stageBefore = await noteStageBefore(deps, release);
    const out = await deps.provisioner().provision({
      service: release.service,
      releaseId,
      version: release.version,
      spec: spec.document as Record<string, unknown>,
      targetUrl: deployed.endpoint,
      config,
    });
    const now = await standing(deps, fence);
    if (now === 'superseded') throw fencedOut(fence, 'to a later attempt', 'the stage is left to that attempt');
    if (now === 'lost') throw fencedOut(fence, 'while it published', await putStageBack(deps, release, out.deploymentId, stageBefore));
    await deps.store.updateRelease(releaseId, { links: { ...(release.links ?? {}), interopUrl: out.baseUrl } });
    return { result: { deploymentId: out.deploymentId }, details: { ...out, stageBefore } };
  });
}

/**
 * The stage's deployment before this release, recorded once: a retry finds the first attempt's note (the stage may
 * already serve that attempt's deployment, which is not what the Rollback should return to).
 */
async function noteStageBefore(deps: PipelineDeps, release: PreparedRelease): Promise<string | null> {
  const recorded = (await deps.store.stepResult(release.releaseId, 'ProvisionInterop'))?.details;
  if (recorded && 'stageBefore' in recorded && recorded.stageBefore !== undefined) return recorded.stageBefore;
  const stageBefore = (await deps.provisioner().stageDeployment(release.service, release.catalog.interop.stage)) ?? null;
  await deps.store.startStep(release.releaseId, 'ProvisionInterop', { stageBefore });
  return stageBefore;
}

/** A fenced-out attempt's undo: the stage goes back to what it served before, only while it still serves `made`. */
async function putStageBack(deps: PipelineDeps, release: PreparedRelease, made: string, stageBefore: string | null): Promise<string> {
  const { stage } = release.catalog.interop;
  const serving = await deps.provisioner().stageDeployment(release.service, stage);
  if (serving !== made) return `the stage ${stage} serves ${serving ?? 'nothing'}, not ${made}; left alone`;
  await deps.provisioner().rollback(release.service, stageBefore ?? undefined);
  return `the stage ${stage} is back on ${stageBefore ?? '(removed)'}`;
}
