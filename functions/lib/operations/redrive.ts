import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  RedriveExecutionCommand,
  type DescribeExecutionCommandOutput,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { ConflictError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import { HISTORY_EVENT_LIMIT, RUN_HISTORY_BUDGET } from '../poll-schedule.js';
import type { RedriveRequest, ReleaseRecord } from '../store/records.js';
import type { OperationDeps } from './cancel.js';
import { checkOperator, type OperatorInput } from './operator-input.js';

/** The states a redrive may resume after: the release failed once it was prepared and before production. */
export const REDRIVABLE_STATES = ['AcquireLock', 'DeployStaging', 'CheckStaging', 'SmokeTestStaging', 'RequestApproval', 'RemindApprovers'];

/** The error an execution fails with in HoldForRedrive, where a redrive resumes it. */
const HELD_ERROR = 'ReleaseFailed';

export interface RedriveResult {
  release: ReleaseRecord;
  /** The request on the record: the redrive count the redriven run has, who, why, when. */
  redrive: RedriveRequest;
}

/**
 * Resumes a release that failed before production: checks that the record is FAILED in one of the redrivable
 * states and that its execution waits in HoldForRedrive and can be redriven, writes the request (who, why, the
 * redrive count) on the record while it is unchanged, then calls RedriveExecution. The redriven execution reopens
 * the record, takes the lock again and runs from staging. A refused RedriveExecution takes the request back.
 */
export async function redriveRelease(deps: OperationDeps, input: OperatorInput & { releaseId: string }): Promise<RedriveResult> {
  const { by, reason } = checkOperator(input);
  const release = await deps.store.requireRelease(input.releaseId);
  refuseRecord(release);
  const executionArn = release.executionArn!;
  const execution = await describe(deps.sfn, release, executionArn);
  if (execution.status !== 'FAILED' || execution.error !== HELD_ERROR) {
    throw refusal(
      release,
      `its execution ended ${execution.status}${execution.error ? ` (${execution.error})` : ''}, not in HoldForRedrive where a redrive ` +
        'resumes it; release again',
    );
  }
  if (execution.redriveStatus === 'NOT_REDRIVABLE') {
    throw refusal(
      release,
      `Step Functions cannot redrive its execution: ${execution.redriveStatusReason ?? 'not redrivable'}; release again`,
    );
  }
  const used = await historyEvents(deps.sfn, executionArn);
  if (used + RUN_HISTORY_BUDGET > HISTORY_EVENT_LIMIT) {
    throw refusal(
      release,
      `its execution's history has ${used} events; another run may add up to ${RUN_HISTORY_BUDGET} and Step Functions ends an ` +
        `execution at ${HISTORY_EVENT_LIMIT}; release again`,
    );
  }
  const request: RedriveRequest = {
    count: (execution.redriveCount ?? 0) + 1,
    by,
    reason,
    at: (deps.now?.() ?? new Date()).toISOString(),
  };
  const written = await deps.store.operator.requestRedrive(release.releaseId, request, release.updatedAt);
  if (!written) throw new ConflictError(`release ${release.releaseId} changed while it was checked; run launchway redrive again`);
  try {
    await deps.sfn.send(new RedriveExecutionCommand({ executionArn }));
  } catch (err) {
    await deps.store.operator.withdrawRedrive(release.releaseId, request);
    if ((err as Error).name === 'ExecutionNotRedrivable')
      throw refusal(release, `Step Functions refused the redrive: ${(err as Error).message}`);
    throw err;
  }
  logger.info('release redriven', { releaseId: release.releaseId, redrive: request });
  return { release: written, redrive: request };
}

/** Only a FAILED record, failed between the lock and production, with an execution, is redriven. */
function refuseRecord(release: ReleaseRecord): void {
  const { status } = release;
  if (status === 'ROLLED_BACK' || status === 'ROLLBACK_FAILED' || status === 'SUCCEEDED') {
    throw refusal(
      release,
      `it is ${status}: it reached production, where a redrive would not start again from staging; release again, or put ` +
        `production back with launchway rollback ${release.service}`,
    );
  }
  if (status !== 'FAILED') {
    const why = ['REJECTED', 'EXPIRED', 'CANCELLED', 'SUPERSEDED'].includes(status) ? 'it ended on purpose' : 'it has not ended';
    throw refusal(release, `it is ${status} (${why}); only a FAILED release can be redriven`);
  }
  const state = release.error?.state;
  if (!state || !REDRIVABLE_STATES.includes(state)) {
    throw refusal(
      release,
      `it failed in ${state ?? 'an unnamed state'}; only a release that failed after Prepare and before production ` +
        `(${REDRIVABLE_STATES.join(', ')}) can be redriven: fix the request and release again`,
    );
  }
  if (!release.executionArn) throw refusal(release, 'it has no execution to redrive');
}

async function describe(sfn: SFNClient, release: ReleaseRecord, executionArn: string): Promise<DescribeExecutionCommandOutput> {
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (err) {
    if (err instanceof ExecutionDoesNotExist || (err as Error).name === 'ExecutionDoesNotExist') {
      throw refusal(release, 'its execution no longer exists (Step Functions keeps executions 90 days); release again');
    }
    throw err;
  }
}

/** The events in an execution's history so far, every redriven run included. */
async function historyEvents(sfn: SFNClient, executionArn: string): Promise<number> {
  let count = 0;
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }));
    count += page.events?.length ?? 0;
    nextToken = page.nextToken;
  } while (nextToken);
  return count;
}

function refusal(release: ReleaseRecord, why: string): ValidationError {
  return new ValidationError(`release ${release.releaseId} cannot be redriven: ${why}`, { releaseId: why });
}
