import type { StepName } from '../../steps.js';
import { describeError, FencedOutError } from '../errors.js';
import type { ReleaseStore } from '../store/release-store.js';
import type { StepDetails } from '../store/step-details.js';

/**
 * How a step's run ended: a result for the state machine with the step's details, or a failure that keeps what the
 * step found (the test results that failed it) on the record before the error reaches the state machine.
 */
export type StepOutcome<S extends StepName, T> =
  | { result: T; details?: StepDetails[S]; status?: 'SUCCEEDED' | 'SKIPPED' }
  | { failure: Error; details: StepDetails[S] };

/**
 * Runs one single-invocation step: marks it running, runs it, and records the outcome with its duration and the
 * details of that step. A failure is recorded with its error and rethrown, so the state machine's Catch still sees
 * the named error. A fenced-out attempt (FencedOut) records nothing: the step is no longer its to write. `guard`, when
 * given, runs before the outcome is written and throws FencedOut when the attempt lost its fence meanwhile (it timed
 * out and the release moved on or ended), so a late completion cannot reopen or rewrite the step.
 */
export async function recordStep<S extends StepName, T>(
  store: ReleaseStore,
  releaseId: string,
  step: S,
  run: () => Promise<StepOutcome<S, T>>,
  guard: () => Promise<void> = async () => undefined,
): Promise<T> {
  await store.startStep(releaseId, step);
  let failure: { error: unknown; details?: StepDetails[S] };
  try {
    const outcome = await run();
    if (!('failure' in outcome)) {
      await guard();
      await store.endStep(releaseId, step, outcome.status ?? 'SUCCEEDED', { details: outcome.details });
      return outcome.result;
    }
    failure = { error: outcome.failure, details: outcome.details };
  } catch (err) {
    if (err instanceof FencedOutError) throw err;
    failure = { error: err };
  }
  await guard();
  await store.endStep(releaseId, step, 'FAILED', { error: describeError(failure.error), details: failure.details });
  throw failure.error;
}
