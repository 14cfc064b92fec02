import { randomUUID } from 'node:crypto';
import type { Catalog } from '../functions/lib/catalog.js';
import type { DeployTarget } from '../functions/lib/catalog.js';
import { releasedTarget } from '../functions/lib/pipeline/retire.js';
import type { DeployProvider } from '../functions/lib/deploy/index.js';
import { LocalProcessProvider } from '../functions/lib/deploy/local-process.js';
import type { ExecutionStatusEvent } from '../functions/lib/pipeline/execution-ended.js';
import type { ReleaseStore } from '../functions/lib/store/release-store.js';
import { isTerminal, type Environment, type ReleaseRecord } from '../functions/lib/store/records.js';

/** Why a release whose execution the restart lost was ended: kept in the record's error cause. */
const LOST_EXECUTION_CAUSE = 'the embedded stack restarted; execution lost';

/** One thing the boot did to bring the stack back, as a line for the console. */
export interface RecoveryLine {
  ok: boolean;
  message: string;
}

const ENVIRONMENTS: readonly Environment[] = ['staging', 'production'];
/** Scan bound: a laptop's release history, not a production table. */
const MAX_RELEASES = 100_000;

/**
 * Ends every release that is not terminal but whose execution the engine does not know (the embedded engine keeps
 * executions in memory, so a restart loses them all). Each goes through the execution-status handler with the
 * ABORTED event Step Functions would send for a stopped execution: production rolled back if it was touched, the
 * record terminal with the reason, the lock released, one email.
 */
export async function finalizeLostReleases(deps: {
  store: ReleaseStore;
  stateMachineArn: string;
  /** Asked at the moment a release is ended: a release started since the boot (the port is live) is the engine's. */
  executionExists: (executionArn: string) => boolean;
  endExecution: (event: ExecutionStatusEvent & { id: string }) => Promise<unknown>;
}): Promise<RecoveryLine[]> {
  const open = (await deps.store.listAll(MAX_RELEASES)).filter((r) => !isTerminal(r.status));
  const lines: RecoveryLine[] = [];
  // Oldest first: an older release may hold the lock a newer one waited for.
  for (const release of open.reverse()) {
    // Prepare writes the record with its execution's ARN, so a record without one had no execution left either.
    if (release.executionArn && deps.executionExists(release.executionArn)) continue;
    try {
      await deps.endExecution(lostExecutionEvent(release, deps.stateMachineArn));
      const after = await deps.store.getRelease(release.releaseId);
      lines.push({ ok: true, message: `${release.releaseId} was ${release.status}; its execution was lost: ended ${after?.status}` });
    } catch (err) {
      lines.push({ ok: false, message: `${release.releaseId} (${release.status}) could not be ended: ${(err as Error).message}` });
    }
  }
  return lines;
}

/** The status-change event of a stopped execution, for a release whose execution the restart lost. */
function lostExecutionEvent(release: ReleaseRecord, stateMachineArn: string): ExecutionStatusEvent & { id: string } {
  const executionArn = release.executionArn ?? `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${release.releaseId}`;
  return {
    id: randomUUID(),
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      executionArn,
      name: release.releaseId,
      status: 'ABORTED',
      input: null,
      error: 'States.Aborted',
      cause: LOST_EXECUTION_CAUSE,
      redriveCount: release.redrive?.count ?? 0,
    },
  };
}

/**
 * Starts again the versions `CURRENT#<service>#<environment>` names for every local-process target of the catalog,
 * on the port recorded in their handle, so the gateway's routes and the URLs people hold answer again. The record
 * then holds the new process's handle: the next deploy stops that process when it replaces it.
 */
export async function restartLiveVersions(deps: {
  store: ReleaseStore;
  catalog: Catalog;
  providerFor: (target: DeployTarget) => DeployProvider;
}): Promise<RecoveryLine[]> {
  const lines: RecoveryLine[] = [];
  for (const [service, config] of Object.entries(deps.catalog.services)) {
    for (const environment of ENVIRONMENTS) {
      const current = await deps.store.getCurrent(service, environment);
      if (!current) continue;
      // As it was released (command, ports, secrets), whatever the catalog says now; the catalog's for older records.
      const target = (await releasedTarget(deps.store, current, environment)) ?? config[environment];
      if (target.type !== 'local-process') continue;
      const what = `${service} ${current.version} (${environment})`;
      const provider = deps.providerFor(target);
      if (!(provider instanceof LocalProcessProvider)) continue;
      try {
        // ensureRunning decides: a version this runtime already runs (the boot's rollback of a lost release just
        // restarted it) is left as is; otherwise it waits for the previous run's child to free the port.
        const { updatedAt, ...record } = current;
        const result = await provider.ensureRunning({ service, environment, target, deployment: record });
        if (result.state === 'SUCCEEDED') {
          const moved = result.handle && JSON.stringify(result.handle) !== JSON.stringify(record.handle);
          // Conditional: a release that put another version live meanwhile keeps its record.
          if (moved && !(await deps.store.putCurrent({ ...record, handle: result.handle }, updatedAt))) {
            lines.push({ ok: false, message: `${what} restarted, but another release changed what is live meanwhile` });
            continue;
          }
          lines.push({ ok: true, message: `${what}: ${result.message ?? `answers at ${result.endpoint}`}` });
        } else {
          lines.push({ ok: false, message: `${what} did not come back: ${result.message ?? result.state}` });
        }
      } catch (err) {
        lines.push({ ok: false, message: `${what} did not come back: ${(err as Error).message}` });
      }
    }
  }
  return lines;
}

/**
 * Frees every service lock still held by a release that ended (or whose record is gone): a runtime killed between
 * a release's terminal write and its lock release would otherwise make every later release of the service queue
 * until the lease runs out. The release is conditional on the holder, so a lock taken meanwhile stays.
 */
export async function releaseStaleLocks(deps: { store: ReleaseStore; catalog: Catalog }): Promise<RecoveryLine[]> {
  const lines: RecoveryLine[] = [];
  for (const service of Object.keys(deps.catalog.services)) {
    try {
      const holder = await deps.store.order.lockHolder(service);
      if (!holder) continue;
      const release = await deps.store.getRelease(holder);
      if (release && !isTerminal(release.status)) continue;
      if (await deps.store.releaseLock(service, holder)) {
        const why = release ? `it ended ${release.status}` : 'its record is gone';
        lines.push({ ok: true, message: `${service}: lock held by ${holder} released (${why})` });
      }
    } catch (err) {
      lines.push({ ok: false, message: `${service}: the lock could not be checked: ${(err as Error).message}` });
    }
  }
  return lines;
}
