import { describeError } from '../errors.js';
import type { StepName } from '../../steps.js';
import type { ReleaseStore } from '../store/release-store.js';

/**
 * Runs one single-invocation step: marks it running, runs it, and records the outcome with its duration. A failure
 * is recorded with its error and rethrown, so the state machine's Catch still sees the named error.
 */
export async function recordStep<T>(
  store: ReleaseStore,
  releaseId: string,
  step: StepName,
  run: () => Promise<{ result: T; details?: Record<string, unknown>; status?: 'SUCCEEDED' | 'SKIPPED' | 'FAILED' }>,
): Promise<T> {
  await store.startStep(releaseId, step);
  try {
    const { result, details, status } = await run();
    await store.endStep(releaseId, step, status ?? 'SUCCEEDED', { details });
    return result;
  } catch (err) {
    await store.endStep(releaseId, step, 'FAILED', {
      error: describeError(err),
      details: (err as { details?: Record<string, unknown> }).details,
    });
    throw err;
  }
}
