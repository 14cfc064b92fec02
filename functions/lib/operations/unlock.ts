import { DescribeExecutionCommand, ExecutionDoesNotExist, type SFNClient } from '@aws-sdk/client-sfn';
import { ConflictError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import { isTerminal, type OperatorAction } from '../store/records.js';
import type { OperationDeps } from './cancel.js';
import { checkOperator, type OperatorInput } from './operator-input.js';

export type UnlockResult =
  /** Nobody held the lock: nothing was done. */
  | { unlocked: false; service: string }
  /** The lock `holder` held was removed; `audited` when the holder's record exists and keeps `unlockedBy`. */
  | { unlocked: true; service: string; holder: string; audited: boolean; action: OperatorAction };

/**
 * Removes a service's lock that a release no longer uses: one whose execution ended or never existed while its
 * record did not end (the status handler missed it), or a holder with no record at all. A lock whose holder is
 * still running is refused (cancel that release instead); the delete is conditional on the holder that was checked,
 * so a lock taken by another release meanwhile stays. The holder's record keeps who removed it and why.
 */
export async function unlockService(deps: OperationDeps, input: OperatorInput & { service: string }): Promise<UnlockResult> {
  const { by, reason } = checkOperator(input);
  const { service } = input;
  const holder = await deps.store.order.lockHolder(service);
  if (!holder) return { unlocked: false, service };
  const release = await deps.store.getRelease(holder);
  if (release && !isTerminal(release.status) && release.executionArn && (await isRunning(deps.sfn, release.executionArn))) {
    throw new ValidationError(`the lock of ${service} is held by ${holder}, which is still running (${release.status})`, {
      service: `held by ${holder}, still running: cancel it instead (launchway cancel ${holder} --reason …)`,
    });
  }
  if (!(await deps.store.releaseLock(service, holder))) {
    const now = await deps.store.order.lockHolder(service);
    throw new ConflictError(`the lock of ${service} changed hands while it was checked (now ${now ?? 'free'}); run unlock again`);
  }
  const action: OperatorAction = { by, reason, at: (deps.now?.() ?? new Date()).toISOString() };
  logger.info('service lock removed by an operator', { service, holder, by, reason });
  if (!release) return { unlocked: true, service, holder, audited: false, action };
  await deps.store.updateRelease(holder, { unlockedBy: action }, { allowTerminal: true });
  return { unlocked: true, service, holder, audited: true, action };
}

/** True while the execution runs; an execution that ended or does not exist is not running. */
async function isRunning(sfn: SFNClient, executionArn: string): Promise<boolean> {
  try {
    return (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status === 'RUNNING';
  } catch (err) {
    if (err instanceof ExecutionDoesNotExist || (err as Error).name === 'ExecutionDoesNotExist') return false;
    throw err;
  }
}
