import * as z from 'zod';
import { RELEASE_STATUSES, isTerminal, type ReleaseError, type TerminalStatus } from '../store/records.js';
import type { PipelineDeps } from './deps.js';
import { finishRelease, type FailedState, type Finished } from './finish-release.js';

const StatesError = z.object({ Error: z.string().optional(), Cause: z.string().optional() }).partial();
type StatesError = z.infer<typeof StatesError>;

export const FinalizeEventSchema = z.object({
  releaseId: z.string().min(1),
  /** The whole execution state: `outcome.status`, and what the Catch paths recorded. */
  state: z.looseObject({
    outcome: z.object({
      status: z.enum(RELEASE_STATUSES).refine((s) => isTerminal(s), 'expected a terminal status'),
    }),
    /** The failure, as the Catch recorded it. */
    error: StatesError.optional(),
    /** The Task state whose Catch caught `error` (each Catch passes through a state that records it). */
    failedState: z.string().optional(),
    /** The Rollback step's own failure. */
    rollbackError: StatesError.optional(),
    /** A failure that did not change the outcome: the release notes could not be written. */
    notesError: StatesError.optional(),
    /** The execution input, for a release Prepare never recorded. */
    request: z.record(z.string(), z.unknown()).optional(),
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

const APPROVAL_EXPIRED = { error: 'ApprovalExpired', cause: 'nobody decided before the approval timed out' };

const described = (e: StatesError | undefined) => (e?.Error ? { error: e.Error, cause: causeText(e.Cause) } : undefined);

/**
 * Ends the release as the state machine decided: the terminal status, the error naming the state that failed, the
 * steps that failed recorded, the lock released and the outcome told (see {@link finishRelease}). Returns the status
 * the record has, which is the one written by whoever ended the release first.
 */
export async function finalizeRelease(deps: PipelineDeps, event: FinalizeEvent): Promise<Finished> {
  const { outcome, failedState, request } = event.state;
  const status = outcome.status as TerminalStatus;
  const error = described(event.state.error);
  const rollbackError = described(event.state.rollbackError);
  const notesError = described(event.state.notesError);

  const failedStates: FailedState[] = [];
  if (failedState && error) failedStates.push({ state: failedState, error });
  if (rollbackError) failedStates.push({ state: 'Rollback', error: rollbackError });
  if (notesError) failedStates.push({ state: 'PublishReleaseNotes', error: notesError });
  // An approval that timed out leaves no Catch state name; its step is recorded even when its handler never ran.
  if (status === 'EXPIRED') failedStates.push({ state: 'RequestApproval', error: APPROVAL_EXPIRED });

  return finishRelease(deps, {
    releaseId: event.releaseId,
    status,
    error: releaseError(status, error, rollbackError, failedState),
    warnings: notesError ? [{ step: 'PublishReleaseNotes', ...notesError }] : undefined,
    failedStates,
    request,
  });
}

function releaseError(
  status: TerminalStatus,
  error: { error: string; cause: string } | undefined,
  rollbackError: { error: string; cause: string } | undefined,
  failedState: string | undefined,
): ReleaseError | undefined {
  if (status === 'SUCCEEDED') return undefined;
  if (status === 'EXPIRED') return APPROVAL_EXPIRED;
  if (rollbackError) {
    return {
      ...rollbackError,
      state: 'Rollback',
      ...(error ? { rollbackOf: { ...error, ...(failedState ? { state: failedState } : {}) } } : {}),
    };
  }
  return error ? { ...error, ...(failedState ? { state: failedState } : {}) } : undefined;
}
