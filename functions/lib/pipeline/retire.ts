import type { DeployTarget } from '../catalog.js';
import type { LiveDeployment } from '../deploy/deploy-provider.js';
import type { Environment } from '../environment.js';
import { logger } from '../logger.js';
import type { PipelineDeps } from './deps.js';

/**
 * The target a live deployment was released with: its release's catalog snapshot, so the version is started again
 * as it was released (command, ports, secrets), whatever a later catalog or release says. Undefined when unknown
 * (no record, or a record from before snapshots).
 */
export async function releasedTarget(
  store: Pick<PipelineDeps['store'], 'getRelease'>,
  deployment: Pick<LiveDeployment, 'releaseId'> | undefined,
  environment: Environment,
): Promise<DeployTarget | undefined> {
  if (!deployment) return undefined;
  const release = await store.getRelease(deployment.releaseId);
  return release?.catalog?.[environment];
}

/** A deployment traffic has left, and what serves instead. */
export interface Replaced {
  service: string;
  environment: Environment;
  target: DeployTarget;
  deployment: LiveDeployment;
  /** What serves now; the provider never retires it. */
  live?: LiveDeployment;
}

/**
 * Retires a deployment the release is done with (the production version a SUCCEEDED release replaced, or the one a
 * Rollback undid, once the gateway left it), after the target's `drainSeconds`. Only providers that keep replaced
 * versions running have `retire`; for the others this does nothing. A failure is logged and returned, never
 * thrown: the release's outcome is already decided, and a version left running costs resources, not correctness.
 */
export async function retireReplaced(deps: Pick<PipelineDeps, 'providerFor'>, replaced: Replaced): Promise<string | undefined> {
  const drainSeconds = 'drainSeconds' in replaced.target ? replaced.target.drainSeconds : 0;
  const context = { service: replaced.service, environment: replaced.environment, releaseId: replaced.deployment.releaseId };
  try {
    const provider = deps.providerFor(replaced.target);
    if (!provider.retire) return undefined;
    const done = await provider.retire({ ...replaced, drainSeconds });
    logger.info('retired a replaced deployment', { ...context, done });
    return done;
  } catch (err) {
    logger.warn('could not retire a replaced deployment', { ...context, error: err as Error });
    return `could not retire ${replaced.deployment.version}: ${(err as Error).message}`;
  }
}
