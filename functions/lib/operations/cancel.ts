import { ExecutionDoesNotExist, StopExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { ConflictError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import { isTerminal, type ReleaseRecord, type StopRequest } from '../store/records.js';
import type { ReleaseStore } from '../store/release-store.js';
import { checkOperator, type OperatorInput } from './operator-input.js';

/** The error name StopExecution is given, so the execution's history says why it stopped. */
const CANCEL_ERROR = 'ReleaseCancelled';

export interface OperationDeps {
  store: ReleaseStore;
  sfn: SFNClient;
  now?: () => Date;
}

export interface CancelResult {
  release: ReleaseRecord;
  /** The stop request that stands: this one, or an earlier cancel's or supersede's, which is kept. */
  stopRequest: StopRequest;
  /** False when an earlier stop request was already on the record (a second cancel). */
  requested: boolean;
}

/**
 * Cancels a release that has not ended: writes the stop request on the record (only while the release is not
 * terminal, never over an earlier one), then stops its execution. The execution-status handler ends the record
 * as CANCELLED (or as the earlier request says), rolling production back when it was touched and releasing the lock.
 * Running it twice is harmless: the second writes nothing and stops an execution that is stopped already.
 */
export async function cancelRelease(deps: OperationDeps, input: OperatorInput & { releaseId: string }): Promise<CancelResult> {
  const { by, reason } = checkOperator(input);
  const current = await deps.store.requireRelease(input.releaseId);
  if (isTerminal(current.status)) throw endedError(current);
  const stop: StopRequest = { status: 'CANCELLED', by, reason, at: (deps.now?.() ?? new Date()).toISOString() };
  let result: { record: ReleaseRecord; written: boolean };
  try {
    result = await deps.store.requestStop(input.releaseId, stop);
  } catch (err) {
    // It ended between the read and the write.
    if (err instanceof ConflictError) throw endedError(await deps.store.requireRelease(input.releaseId));
    throw err;
  }
  const { record, written } = result;
  logger.info('release cancel requested', { releaseId: record.releaseId, by, reason, written });
  if (record.executionArn) await stopExecution(deps.sfn, record.executionArn, record.stopRequest?.reason ?? reason);
  return { release: record, stopRequest: record.stopRequest ?? stop, requested: written };
}

function endedError(release: ReleaseRecord): ValidationError {
  return new ValidationError(`release ${release.releaseId} has already ended (${release.status}); there is nothing to cancel`, {
    releaseId: `${release.releaseId} is ${release.status}`,
  });
}

/** StopExecution, the reason as its cause; an execution that ended or never existed needs no stopping. */
async function stopExecution(sfn: SFNClient, executionArn: string, reason: string): Promise<void> {
  try {
    await sfn.send(new StopExecutionCommand({ executionArn, error: CANCEL_ERROR, cause: reason }));
  } catch (err) {
    if (err instanceof ExecutionDoesNotExist || (err as Error).name === 'ExecutionDoesNotExist') return;
    throw err;
  }
}
