import * as z from 'zod';
import { logger } from '../logger.js';
import { emitReleaseOutcome } from '../metrics.js';
import { buildOutcomeEmail } from '../notify/outcome-email.js';
import { RELEASE_STATUSES, TERMINAL_STATUSES, type ReleaseRecord, type ReleaseStatus } from '../store/records.js';
import type { PipelineDeps } from './deps.js';

const StatesError = z.object({ Error: z.string().optional(), Cause: z.string().optional() }).partial();

export const FinalizeEventSchema = z.object({
  releaseId: z.string().min(1),
  /** The whole execution state: `outcome.status`, and `error` / `rollbackError` as Catch recorded them. */
  state: z.looseObject({
    outcome: z.object({ status: z.enum(RELEASE_STATUSES).refine((s) => TERMINAL_STATUSES.includes(s), 'expected a terminal status') }),
    error: StatesError.optional(),
    rollbackError: StatesError.optional(),
  }),
});
export type FinalizeEvent = z.infer<typeof FinalizeEventSchema>;

/** Lambda errors arrive with a JSON Cause (`{"errorType","errorMessage",…}`); keep the message. */
export function causeText(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    /* a plain-text cause */
  }
  return cause;
}

/**
 * Ends the release: the terminal status, the error that caused it, every step still open closed with that error,
 * the service lock released, and the outcome told to the people involved.
 */
export async function finalizeRelease(deps: PipelineDeps, event: FinalizeEvent): Promise<{ status: ReleaseStatus }> {
  const { store } = deps;
  const { outcome, error, rollbackError } = event.state;
  const status = outcome.status;
  const now = deps.now();

  let release = await store.getRelease(event.releaseId);
  if (!release) {
    // Prepare crashed before it could write anything: keep a record of the attempt rather than lose it.
    const req = (event.state as Record<string, unknown>).request as Record<string, unknown> | undefined;
    const minimal: ReleaseRecord = {
      releaseId: event.releaseId,
      service: typeof req?.service === 'string' ? req.service : '(unknown)',
      version: typeof req?.version === 'string' ? req.version : '(unknown)',
      commit: typeof req?.commit === 'string' ? req.commit : '(unknown)',
      branch: 'main',
      triggeredBy: typeof req?.triggeredBy === 'string' ? req.triggeredBy : '(unknown)',
      status: 'RUNNING',
      request: req ?? {},
      changes: [],
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    await store.createRelease(minimal);
    release = minimal;
  }

  const primary = rollbackError?.Error ? rollbackError : error;
  const failure =
    status === 'SUCCEEDED' || !primary?.Error
      ? status === 'EXPIRED'
        ? { error: 'ApprovalExpired', cause: 'nobody decided before the approval timed out' }
        : undefined
      : {
          error: primary.Error === 'States.Timeout' && status === 'EXPIRED' ? 'ApprovalExpired' : primary.Error,
          cause:
            primary.Error === 'States.Timeout' && status === 'EXPIRED'
              ? 'nobody decided before the approval timed out'
              : causeText(primary.Cause),
          ...(rollbackError?.Error && error?.Error ? { rollbackOf: { error: error.Error, cause: causeText(error.Cause) } } : {}),
        };

  for (const step of await store.getSteps(event.releaseId)) {
    if (step.status !== 'RUNNING') continue;
    await store.endStep(event.releaseId, step.step, 'FAILED', {
      error: failure ? { error: failure.error, cause: failure.cause } : { error: 'Unfinished', cause: 'the release ended first' },
    });
  }

  const alreadyEnded = TERMINAL_STATUSES.includes(release.status);
  if (!alreadyEnded || release.status !== status) {
    await store.updateRelease(
      event.releaseId,
      {
        status,
        endedAt: now.toISOString(),
        durationMs: now.getTime() - Date.parse(release.createdAt),
        ...(failure ? { error: { ...(release.error ?? {}), ...failure } } : {}),
      },
      { allowTerminal: true },
    );
  }
  await store.releaseLock(release.service, event.releaseId);
  emitReleaseOutcome(release.service, status, now.getTime() - Date.parse(release.createdAt));
  await notifyOutcome(deps, { ...release, status }, failure?.cause);
  return { status };
}

async function notifyOutcome(deps: PipelineDeps, release: ReleaseRecord, cause: string | undefined): Promise<void> {
  const to = [...new Set([release.triggeredBy, ...(release.catalog?.approvers ?? []), ...(release.catalog?.notify ?? [])])].filter((a) =>
    a.includes('@'),
  );
  if (to.length === 0) return;
  try {
    await deps.notifier().send(buildOutcomeEmail(release, to, cause));
  } catch (err) {
    // The release outcome is already recorded; a mail failure must not turn it into a failed Finalize.
    logger.warn('could not send the outcome email', { error: err as Error });
  }
}
