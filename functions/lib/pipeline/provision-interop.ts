import * as z from 'zod';
import { InteropProvisioningFailedError } from '../errors.js';
import { parseOpenApi } from '../openapi.js';
import type { PipelineDeps } from './deps.js';
import { deploymentOf } from './deployments.js';
import { recordStep } from './record-step.js';

export const ProvisionInteropEventSchema = z.object({ releaseId: z.string().min(1) });

/** What the state machine keeps: the gateway deployment, or null when interop is off. */
type InteropResult = { deploymentId: string | null };

/** Publishes the release's OpenAPI contract on the partner gateway, proxying to the new production target. */
export async function provisionInterop(deps: PipelineDeps, releaseId: string): Promise<InteropResult> {
  const release = await deps.store.requirePrepared(releaseId);
  const config = release.catalog.interop;
  return recordStep<'ProvisionInterop', InteropResult>(deps.store, releaseId, 'ProvisionInterop', async () => {
    if (!config.enabled)
      return { result: { deploymentId: null }, status: 'SKIPPED', details: { reason: 'interop disabled in the catalog' } };
    const deployed = await deploymentOf(deps, releaseId, 'production');
    if (!deployed?.endpoint) throw new InteropProvisioningFailedError('production has no endpoint for the gateway to proxy to');
    const spec = await parseOpenApi(await deps.artifacts.getText(release.request.artifacts.openapi));
    const out = await deps.provisioner().provision({
      service: release.service,
      releaseId,
      version: release.version,
      spec: spec.document as Record<string, unknown>,
      targetUrl: deployed.endpoint,
      config,
    });
    await deps.store.updateRelease(releaseId, { links: { ...(release.links ?? {}), interopUrl: out.baseUrl } });
    return { result: { deploymentId: out.deploymentId }, details: { ...out } };
  });
}
