import type { DeployProvider, DeployRequest, DeployStatus, LiveDeployment } from '../../functions/lib/deploy/deploy-provider.js';

/**
 * A deploy as the state machine runs it: `start`, then `status` every 100 ms until it leaves IN_PROGRESS, bounded
 * by `timeoutMs` (a deploy still running then fails the test, naming the release and the provider's last message).
 */
export async function deployUntilDone(provider: DeployProvider, req: DeployRequest, timeoutMs = 30_000): Promise<DeployStatus> {
  let status = await provider.start(req);
  const deadline = Date.now() + timeoutMs;
  while (status.state === 'IN_PROGRESS') {
    if (Date.now() > deadline) throw new Error(`deploy of ${req.releaseId} still IN_PROGRESS after ${timeoutMs} ms: ${status.message}`);
    await new Promise((r) => setTimeout(r, 100));
    status = await provider.status(req, status.handle);
  }
  return status;
}

/** The live deployment a finished deploy of `req` leaves, as the release record keeps it. */
export const liveOf = (req: DeployRequest, status: DeployStatus): LiveDeployment => ({
  version: req.version,
  artifactKey: req.artifactKey,
  releaseId: req.releaseId,
  handle: status.handle,
});
