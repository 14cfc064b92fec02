import * as z from 'zod';
import { ValidationError, describeError } from '../errors.js';
import { approvalSchedule } from '../approvals/schedule.js';
import { isTerminal, type ReleaseApiChanges, type ReleaseRecord, type StoredRequest } from '../store/records.js';
import type { PipelineDeps } from './deps.js';
import { checkReleaseRequest } from '../release-request-check.js';
import { blocksRelease, breakingApiChangeError, checkContract } from './contract-gate.js';
import { claimReleaseOrder } from './release-order.js';
import { stopWithStepFunctions, supersedeOlder } from './supersede.js';

export const PrepareEventSchema = z.object({
  releaseId: z.string().min(1),
  executionArn: z.string().min(1),
  startedAt: z.string().optional(),
  /** The raw request from CI; validated here, not by the event schema, so its problems land on the record. */
  request: z.unknown(),
});
export type PrepareEvent = z.infer<typeof PrepareEventSchema>;

/** What the state machine keeps about the release for later states. */
export interface PrepareOutput {
  release: {
    releaseId: string;
    service: string;
    version: string;
    approvalTimeoutSeconds: number;
    /** RequestApproval's TimeoutSecondsPath: until the reminder, or until expiry when there is none. */
    approvalWaitSeconds: number;
    /** RemindApprovers' TimeoutSecondsPath (the rest of the timeout); 0 = no reminder, ReminderDue goes to MarkExpired. */
    approvalReminderSeconds: number;
  };
}

/**
 * Validates the request against the catalog and the uploaded files, its version against production's and its build
 * against earlier starts (functions/lib/pipeline/release-order.ts), diffs its contract against the live one
 * (contract-gate.ts), then records the release with its `apiChanges`. An invalid request leaves only its FAILED
 * record (with field details) and ends the execution with ValidationError; a contract the `block` policy refuses
 * leaves the record and a FAILED Prepare step, and ends it with BreakingApiChange.
 */
export async function prepareRelease(deps: PipelineDeps, event: PrepareEvent): Promise<PrepareOutput> {
  const { store, artifacts } = deps;
  const existing = await store.getRelease(event.releaseId);
  if (existing && existing.executionArn === event.executionArn && existing.status !== 'FAILED' && existing.catalog) {
    // A retried Prepare of the same execution: the first attempt already did the work (the contract diff too, which
    // is not run again: the live release may have changed since), perhaps not the superseding.
    if (blocksRelease(existing.apiChanges)) await blockRelease(deps, existing, existing.apiChanges);
    await supersede(deps, existing);
    return summary(existing);
  }

  const now = deps.now().toISOString();
  const raw = (event.request ?? {}) as Record<string, unknown>;
  const base: ReleaseRecord = {
    releaseId: event.releaseId,
    service: typeof raw.service === 'string' ? raw.service : '(invalid)',
    version: typeof raw.version === 'string' ? raw.version : '(invalid)',
    commit: typeof raw.commit === 'string' ? raw.commit : '(invalid)',
    branch: typeof raw.branch === 'string' ? raw.branch : 'main',
    triggeredBy: typeof raw.triggeredBy === 'string' ? raw.triggeredBy : '(invalid)',
    status: 'RUNNING',
    executionArn: event.executionArn,
    request: raw,
    changes: [],
    createdAt: startTime(event.startedAt) ?? now,
    updatedAt: now,
  };

  try {
    let specText = '';
    const { request, service, artifactSha256 } = await checkReleaseRequest(event.request, {
      service: (name) => deps.findService(name),
      exists: (_field, key) => artifacts.exists(key),
      // Streamed from S3: the request's digest is checked, or, from a CI that sends none, the object's is recorded.
      sha256: (_field, key) => artifacts.sha256(key),
      read: async (field, key) => {
        const text = await artifacts.getText(key);
        if (field === 'artifacts.openapi') specText = text;
        return text;
      },
    });
    await claimReleaseOrder(
      store,
      { releaseId: event.releaseId, service: request.service, version: request.version, commit: request.commit },
      service.allowDowngrade,
      deps.now(),
    );
    // Before anything is deployed, and once: the record keeps what partners would meet, whatever happens next.
    const apiChanges = await checkContract(deps, request, service, specText);
    const record: ReleaseRecord = {
      ...base,
      // Accepted, not yet holding the lock: AcquireLock makes it RUNNING, and counts it as waiting until then.
      status: 'PENDING',
      service: request.service,
      version: request.version,
      commit: request.commit,
      branch: request.branch,
      triggeredBy: request.triggeredBy,
      request,
      changes: request.changes,
      catalog: service,
      artifactSha256,
      apiChanges,
    };
    if (!(await store.createRelease(record))) {
      // The id is the execution name, so only another execution of the same name can have written it.
      throw new ValidationError(`release ${event.releaseId} already exists from another execution`, {
        releaseId: 'expected a release id not used before',
      });
    }
    await store.startStep(record.releaseId, 'Prepare');
    if (blocksRelease(apiChanges)) await blockRelease(deps, record, apiChanges);
    await store.endStep(record.releaseId, 'Prepare', 'SUCCEEDED', {
      details: { service: record.service, version: record.version, artifacts: request.artifacts },
    });
    await supersede(deps, record);
    return summary(record);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const failed: ReleaseRecord = {
      ...base,
      status: 'FAILED',
      endedAt: now,
      durationMs: 0,
      error: { ...describeError(err), fields: err.fields, state: 'Prepare' },
    };
    if (await store.createRelease(failed)) {
      await store.startStep(failed.releaseId, 'Prepare');
      await store.endStep(failed.releaseId, 'Prepare', 'FAILED', { error: describeError(err), details: { fields: err.fields } });
    }
    throw err;
  }
}

/**
 * Ends Prepare FAILED with `BreakingApiChange` on a release the contract gate blocks, and throws it. The record
 * stays as written (PENDING, with its apiChanges): the error goes through PrepareCaught and MarkFailed to Finalize,
 * which ends the release FAILED with state Prepare and tells the people involved. It never asks for the lock.
 */
async function blockRelease(deps: PipelineDeps, release: ReleaseRecord, apiChanges: ReleaseApiChanges): Promise<never> {
  const err = breakingApiChangeError(release, apiChanges);
  await deps.store.endStep(release.releaseId, 'Prepare', 'FAILED', {
    error: describeError(err),
    details: { service: release.service, version: release.version, artifacts: (release.request as StoredRequest).artifacts },
  });
  throw err;
}

/**
 * With queue `supersede`, ends the older releases of the service still waiting for the lock or the approval. Here,
 * not in AcquireLock: the release is accepted (an invalid request never ends a valid one), its version is claimed,
 * and it has not yet asked for the lock, so its first round already finds the older waiters marked and ending
 * instead of queueing behind them. It runs once per release, not on every round of the lock loop.
 */
async function supersede(deps: PipelineDeps, release: ReleaseRecord): Promise<void> {
  if (release.catalog?.queue !== 'supersede' || isTerminal(release.status)) return;
  await supersedeOlder(deps.store, release, deps.stopExecution ?? stopWithStepFunctions, deps.now());
}

/**
 * The execution's start time as the record's `createdAt`, in one ISO form: the queue orders a service's releases by
 * `<createdAt>#<releaseId>` in the history index, which sorts as text.
 */
function startTime(startedAt: string | undefined): string | undefined {
  const ms = startedAt ? Date.parse(startedAt) : Number.NaN;
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function summary(r: ReleaseRecord): PrepareOutput {
  const schedule = approvalSchedule({
    approvalTimeoutSeconds: r.catalog?.approvalTimeoutSeconds ?? 86_400,
    approvalReminderBeforeExpirySeconds: r.catalog?.approvalReminderBeforeExpirySeconds,
  });
  return {
    release: {
      releaseId: r.releaseId,
      service: r.service,
      version: r.version,
      approvalTimeoutSeconds: schedule.timeoutSeconds,
      approvalWaitSeconds: schedule.waitSeconds,
      approvalReminderSeconds: schedule.reminderSeconds,
    },
  };
}
