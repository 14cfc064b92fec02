import * as z from 'zod';
import { ReleaseFailedError } from '../errors.js';
import { logger } from '../logger.js';
import { isTerminal, type ReleaseRecord } from '../store/records.js';
import type { PipelineDeps } from './deps.js';
import { causeText } from './finalize.js';

/** The HoldForRedrive state's payload: where a release that failed before production waits to be redriven. */
export const HoldEventSchema = z.object({
  releaseId: z.string().min(1),
  action: z.literal('hold'),
  /** `$$.Execution.RedriveCount`: 0 on the first run, n on the n-th redrive. */
  redriveCount: z.number().int().min(0),
});
export type HoldEvent = z.infer<typeof HoldEventSchema>;

/**
 * The last state of a release that failed before production, once Finalize has written FAILED and released the
 * lock. On its first run it fails the execution with the release's error, so the execution ends FAILED here and
 * RedriveExecution resumes here. Resumed by the redrive `launchway redrive` asked for (the record's request has the
 * redrive count the execution now has), it reopens the release and returns: the state machine takes the lock again
 * and runs from staging. Anything else (a redrive from the console, nobody's request, a second failure of a redriven
 * run) fails again, leaving the release FAILED.
 */
export async function holdForRedrive(deps: PipelineDeps, event: HoldEvent): Promise<{ reopened: true }> {
  const { store } = deps;
  const release = await store.requireRelease(event.releaseId);
  const request = release.redrive;
  if (event.redriveCount > 0 && request?.count === event.redriveCount) {
    // A retried invocation whose first attempt reopened the release: nothing else makes it non-terminal here.
    if (request.reopenedAt && !isTerminal(release.status)) return { reopened: true };
    if (!request.reopenedAt && release.status === 'FAILED') {
      const reopened = await store.operator.reopenForRedrive(release, event.redriveCount);
      if (reopened) {
        logger.info('release reopened by a redrive', { redrive: reopened.redrive });
        return { reopened: true };
      }
      return holdForRedrive(deps, event);
    }
  }
  throw failedAgain(release, event.redriveCount);
}

function failedAgain(release: ReleaseRecord, redriveCount: number): ReleaseFailedError {
  const cause = release.error ? `${release.error.error}: ${causeText(release.error.cause)}` : `release ${release.releaseId} failed`;
  if (redriveCount === 0 || release.redrive?.reopenedAt) return new ReleaseFailedError(cause);
  logger.warn('redrive not requested through launchway redrive; the release stays FAILED', { redriveCount });
  return new ReleaseFailedError(
    `${cause}; redrive ${redriveCount} of the execution was not asked for with launchway redrive, so the release stays ${release.status}`,
  );
}
