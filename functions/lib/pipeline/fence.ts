import type { StepName } from '../../steps.js';
import { FencedOutError } from '../errors.js';
import { logger } from '../logger.js';
import { stepOfToken } from '../store/fence-store.js';
import type { PipelineDeps } from './deps.js';

/** The fence one step attempt claimed: the token that lets it act for its release. */
export interface Fence {
  service: string;
  releaseId: string;
  step: StepName;
  token: string;
}

/**
 * How an attempt stands after its side effect: it still holds the fence (`held`); another forward attempt of the
 * same release took it (`superseded`: a retry of the step, or the step after it once a retry succeeded; what the
 * attempt did is theirs now, since providers and the gateway make a release's step idempotent); or the release may
 * no longer go forward (`lost`: its Rollback claimed, or it ended and gave up the lock, maybe to the next release).
 */
export type FenceStanding = 'held' | 'superseded' | 'lost';

/** Claims the fence for a new attempt of `step`; FencedOut when its release may no longer act (nothing was done). */
export async function claimFence(deps: PipelineDeps, service: string, releaseId: string, step: StepName): Promise<Fence> {
  const token = await deps.store.fences.claim(service, releaseId, step);
  if (!token) throw fencedOut({ service, releaseId, step, token: '' }, 'before it started');
  return { service, releaseId, step, token };
}

/** Where the attempt holding `fence` stands now; see {@link FenceStanding}. */
export async function standing(deps: PipelineDeps, fence: Fence): Promise<FenceStanding> {
  if (await deps.store.fences.check(fence.service, fence.releaseId, fence.token)) return 'held';
  const now = await deps.store.fences.state(fence.service);
  const forward = now.fence !== undefined && stepOfToken(now.fence) !== 'Rollback';
  return now.holder === fence.releaseId && forward ? 'superseded' : 'lost';
}

/**
 * The error a fenced-out attempt throws once it has undone what it did, so a caller still listening (the state
 * machine's Catch) sees why; `undone` says what was put back, for the log.
 */
export function fencedOut(fence: Fence, when: string, undone?: string): FencedOutError {
  const message = `${fence.step} of ${fence.releaseId} lost its fence ${when}: the release no longer holds ${fence.service}'s lock or a later attempt took the step over${undone ? `; ${undone}` : ''}`;
  logger.warn('step attempt fenced out', { releaseId: fence.releaseId, step: fence.step, when, undone });
  return new FencedOutError(message);
}

/**
 * Claims the fence for a single-invocation step and returns the guard {@link recordStep} runs before it writes the
 * step's outcome: an attempt whose fence was taken meanwhile (by a later attempt, the Rollback or the release's end)
 * writes nothing.
 */
export async function fencedStepGuard(
  deps: PipelineDeps,
  service: string,
  releaseId: string,
  step: StepName,
): Promise<() => Promise<void>> {
  const fence = await claimFence(deps, service, releaseId, step);
  return async () => {
    if ((await standing(deps, fence)) !== 'held') throw fencedOut(fence, 'before it recorded its outcome');
  };
}
