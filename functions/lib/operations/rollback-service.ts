import { verifyRestore } from '../artifact-integrity.js';
import type { DeployProvider, LiveDeployment } from '../deploy/deploy-provider.js';
import { ConflictError, RollbackFailedError, ValidationError } from '../errors.js';
import type { InteropProvisioner } from '../interop/interop-provisioner.js';
import { logger } from '../logger.js';
import { notifyOutcome } from '../pipeline/finish-release.js';
import { gatewayTarget } from '../pipeline/rollback.js';
import { releasedTarget, retireReplaced } from '../pipeline/retire.js';
import type { DeployTarget } from '../catalog.js';
import type { PipelineDeps } from '../pipeline/deps.js';
import { findStep, type CurrentRecord, type PreparedRelease, type ReleaseRecord, type RolledBackBy } from '../store/records.js';
import type { ReleaseStore } from '../store/release-store.js';
import { checkOperator, type OperatorInput } from './operator-input.js';

/** What the rollback command uses: the pipeline's store, deploy providers, gateway provisioner and notifier. */
export type RollbackServiceDeps = Pick<PipelineDeps, 'store' | 'artifacts' | 'providerFor' | 'provisioner' | 'notifier' | 'now'>;

export interface RollbackServiceResult {
  service: string;
  /** The release undone: now ROLLED_BACK. */
  undone: { releaseId: string; version: string };
  /** The release live again in production. */
  restored: { releaseId: string; version: string; endpoint: string | null };
  /** The gateway deployment put back, or null when the undone release published none. */
  gatewayDeployment: string | null;
  rolledBackBy: RolledBackBy;
}

/**
 * How long the command holds the service lock at most: the operate function's timeout (540 s) and a margin. A killed
 * invocation never releases the lock itself, so a longer lease would keep every release of the service queued.
 */
const LOCK_LEASE_SECONDS = 600;
/** How many of the service's newest releases are searched for the one production serves. */
const SEARCH_DEPTH = 100;
const UNDOABLE = ['SUCCEEDED', 'ROLLBACK_FAILED'];

/**
 * `launchway rollback <service>`: puts production back on the release before the one it serves. With the service
 * lock held (refused while a release holds it), finds the release to undo (the newest SUCCEEDED or ROLLBACK_FAILED
 * one whose version may be live), restores its DeployProduction step's previous deployment and its ProvisionInterop
 * step's previous gateway deployment (in that order), points CURRENT#production at the restored release, retires the
 * undone version once the gateway left it, marks the undone one
 * ROLLED_BACK with who and why, and emails its people. A service's first release has nothing to go back to and is
 * refused: retiring production altogether is not a rollback.
 */
export async function rollbackService(
  deps: RollbackServiceDeps,
  input: OperatorInput & { service: string },
): Promise<RollbackServiceResult> {
  const { by, reason } = checkOperator(input);
  const { store } = deps;
  const { service } = input;
  const holder = `rollback:${service}:${deps.now().toISOString()}`;
  const lock = await store.acquireLock(service, holder, LOCK_LEASE_SECONDS);
  if (!lock.acquired) {
    const what = lock.holder ? `held by ${lock.holder}` : 'held';
    throw new ValidationError(`the lock of ${service} is ${what}: a release is under way`, {
      service: `${what}; cancel it first (launchway cancel ${lock.holder ?? '<releaseId>'} --reason …), or wait until it ends`,
    });
  }
  try {
    const current = await store.getCurrent(service, 'production');
    const release = await releaseToUndo(store, service, current);
    const deployed = (await store.stepResult(release.releaseId, 'DeployProduction'))?.details;
    const previous = deployed?.previous ?? undefined;
    if (!previous) {
      throw new ValidationError(
        `${release.releaseId} is the first release of ${service} in production: there is no earlier version to restore`,
        {
          service: `${release.releaseId} (${release.version}) is its first production release; release the version you want instead`,
        },
      );
    }
    const at = deps.now().toISOString();
    const live = current?.releaseId === release.releaseId ? current.handle : deployed?.handle;
    const failed: LiveDeployment | undefined =
      live && Object.keys(live).length > 0
        ? { version: release.version, artifactKey: release.request.artifacts.bundle, releaseId: release.releaseId, handle: live }
        : undefined;
    // Before anything is touched: an artifact replaced since it was live is refused, production left as it is.
    await verifyRestore(deps.artifacts, release.catalog.production, previous);
    const previousTarget = await releasedTarget(store, previous, 'production');
    const restored = await restoreProduction(deps.providerFor(release.catalog.production), release, previous, failed, previousTarget);
    await store.putCurrent({
      service,
      environment: 'production',
      version: previous.version,
      releaseId: previous.releaseId,
      artifactKey: previous.artifactKey,
      artifactSha256: previous.artifactSha256,
      handle: restored.handle,
    });
    const gatewayDeployment = await restoreGateway(store, deps.provisioner, release);
    // The undone version stops only once the gateway left it, after its drain (providers that keep it until then).
    if (failed) {
      const live = { ...previous, handle: restored.handle };
      await retireReplaced(deps, { service, environment: 'production', target: release.catalog.production, deployment: failed, live });
    }
    const rolledBackBy: RolledBackBy = { by, reason, at, restoredVersion: previous.version, restoredReleaseId: previous.releaseId };
    const marked = await store.operator.markRolledBack(release.releaseId, rolledBackBy);
    if (!marked) throw new ConflictError(`${release.releaseId} changed while it was rolled back; production serves ${previous.version}`);
    logger.info('production rolled back by an operator', { service, undone: release.releaseId, restored: previous.releaseId, by, reason });
    await notifyOutcome(deps, marked, `rolled back by ${by}: ${reason}`);
    return {
      service,
      undone: { releaseId: release.releaseId, version: release.version },
      restored: { releaseId: previous.releaseId, version: previous.version, endpoint: restored.endpoint ?? null },
      gatewayDeployment,
      rolledBackBy,
    };
  } finally {
    await store.releaseLock(service, holder);
  }
}

/**
 * The release whose version production may serve: the one CURRENT#production names, or a ROLLBACK_FAILED release
 * newer than it (its failed version may be live while CURRENT still names it or the one before).
 */
async function releaseToUndo(store: ReleaseStore, service: string, current: CurrentRecord | undefined): Promise<PreparedRelease> {
  for (const release of await store.listByService(service, SEARCH_DEPTH)) {
    // Only a prepared release (request checked, catalog kept) ever reached production.
    if (release.releaseId === current?.releaseId) {
      if (UNDOABLE.includes(release.status) && release.catalog) return release as PreparedRelease;
      break;
    }
    if (release.status === 'ROLLBACK_FAILED' && release.catalog) return release as PreparedRelease;
  }
  const live = current ? `production serves ${current.version} (${current.releaseId}), which` : 'nothing is live in production, so nothing';
  throw new ValidationError(`no release of ${service} to roll back: ${live} can be undone`, {
    service: current ? `${current.releaseId} is not SUCCEEDED or ROLLBACK_FAILED` : 'no release of it is live in production',
  });
}

async function restoreProduction(
  provider: DeployProvider,
  release: PreparedRelease,
  previous: LiveDeployment,
  failed?: LiveDeployment,
  previousTarget?: DeployTarget,
) {
  const target = release.catalog.production;
  const restored = await provider.rollback({
    service: release.service,
    environment: 'production',
    target,
    failed,
    previous,
    ...(previousTarget ? { previousTarget } : {}),
  });
  if (restored?.state !== 'SUCCEEDED') {
    const why = restored?.message ?? restored?.state ?? 'the provider restored nothing';
    throw new RollbackFailedError(
      `could not restore ${release.service} ${previous.version}: ${why}; ${release.releaseId} stays ${release.status}`,
    );
  }
  return restored;
}

/**
 * Puts back the gateway deployment the undone release replaced, whenever its ProvisionInterop started moving the
 * stage (pipeline/rollback.ts' rule); null when it never touched the gateway.
 */
async function restoreGateway(store: ReleaseStore, provisioner: () => InteropProvisioner, release: ReleaseRecord): Promise<string | null> {
  const stageBefore = gatewayTarget(findStep(await store.getSteps(release.releaseId), 'ProvisionInterop'));
  if (stageBefore === undefined) return null;
  await provisioner().rollback(release.service, stageBefore ?? undefined);
  return stageBefore ?? '(removed)';
}
