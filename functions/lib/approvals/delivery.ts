import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { logger } from '../logger.js';
import { ApprovalGoneError } from './errors.js';
import { summarize, type ApprovalItem, type ApprovalStatus } from './records.js';

/**
 * Telling Step Functions how an approval ended, with the task token stored on the approval now. The remind step
 * replaces that token at the reminder point while deciders may be sending, so a send is claimed per token first, a
 * task that is gone is told apart from one whose token is being replaced, and a send that failed is undone so it
 * can be made again.
 */

/** The task failure error of a rejected approval; the state machine's Catch matches this name. */
export const APPROVAL_REJECTED = 'ApprovalRejected';

/**
 * Step Functions starts RequestApproval's clock when it schedules the task, a little before the Lambda computes
 * `remindAt`, so the first token times out up to this long before `remindAt` (cold start, invoke retries).
 */
export const REMINDER_GAP_SLACK_SECONDS = 120;

/** Step Functions says the task is gone: the execution timed out, ended, or the token is no longer valid. */
const TASK_GONE_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/**
 * How telling Step Functions ended: `delivered` by this caller, `by-other` (another writer holds the claim for the
 * current token), `deferred` (the token was being replaced by the remind step, which will deliver), or `gone`
 * (the task no longer exists).
 */
export type DeliveryOutcome = 'delivered' | 'by-other' | 'deferred' | 'gone';

/** Who delivers: a decider through the approval API, or the remind step after it stored its new token. */
export type Deliverer = { by: 'decide'; approver: string } | { by: 'remind' };

/** Names one approval item. */
type Ref = Pick<ApprovalItem, 'releaseId' | 'approvalId'>;

/** The approval reads and writes delivery needs; `ApprovalStore` is the real one. */
export interface DeliveryStore {
  get(ref: Ref): Promise<ApprovalItem | undefined>;
  /** False when the stored token is another one, or this token was claimed before. */
  claimDelivery(ref: Ref, taskToken: string): Promise<boolean>;
  markDelivered(ref: Ref, at: string): Promise<void>;
  releaseClaim(ref: Ref): Promise<void>;
  /** Back to PENDING without `approver`'s decision or the claim, if the status is still `concluded`. */
  reopen(ref: Ref, approver: string, concluded: ApprovalStatus): Promise<void>;
  markExpired(ref: Ref, from: ApprovalStatus): Promise<void>;
}

/** SendTaskSuccess and SendTaskFailure. A failure rejects with Step Functions' error, whose `name` says why. */
export interface TaskSender {
  succeed(taskToken: string, output: string): Promise<void>;
  fail(taskToken: string, error: string, cause: string): Promise<void>;
}

/** What delivery needs. */
export interface DeliveryDeps {
  store: DeliveryStore;
  tasks: TaskSender;
  now(): Date;
}

/** The task sender over a Step Functions client. */
export function sfnTaskSender(sfn: SFNClient): TaskSender {
  return {
    succeed: async (taskToken, output) => void (await sfn.send(new SendTaskSuccessCommand({ taskToken, output }))),
    fail: async (taskToken, error, cause) => void (await sfn.send(new SendTaskFailureCommand({ taskToken, error, cause }))),
  };
}

/** The SendTaskFailure cause of a rejected approval: who rejected, and their comment. */
export function rejectionCause(item: ApprovalItem): string {
  const rejection = summarize(item).decisions.find((d) => d.decision === 'reject');
  if (!rejection) return 'Rejected';
  return `Rejected by ${rejection.approver}${rejection.comment ? `: ${rejection.comment}` : ''}`;
}

/**
 * Sends the approval's conclusion (APPROVED: SendTaskSuccess; REJECTED: SendTaskFailure `ApprovalRejected`) with
 * the task token stored on the item now:
 * - before sending, the writer claims the token (a conditional write of its hash): one writer sends per token, and
 *   a writer that finds the token replaced tries again with the new one;
 * - when Step Functions says the task is gone, the item is read again: a new token means try again; no new token
 *   yet while a reminder is due and the approval has not expired means the remind step is about to run and will
 *   deliver (`deferred`, for a decider only); anything else means the task is really gone.
 * On any other failure the claim is undone, and for a decision the approval is reopened (that approver's decision
 * removed), so the same link can be used again rather than leaving a closed approval the execution never heard of;
 * the failure is rethrown.
 */
export async function deliverConclusion(deps: DeliveryDeps, start: ApprovalItem, who: Deliverer): Promise<DeliveryOutcome> {
  const ids = { releaseId: start.releaseId, approvalId: start.approvalId };
  let item = start;
  // A token changes hands once per approval (again only if the remind step is retried): a few rounds suffice.
  for (let round = 0; round < 4; round++) {
    const token = item.taskToken;
    if (!(await deps.store.claimDelivery(item, token))) {
      const latest = await deps.store.get(item);
      if (latest && latest.taskToken !== token) {
        item = { ...latest, status: item.status };
        continue;
      }
      return 'by-other';
    }
    try {
      await send(deps.tasks, item, token);
    } catch (err) {
      const name = (err as Error)?.name;
      if (!TASK_GONE_ERRORS.has(name)) {
        await undoClaim(deps.store, item, who);
        throw err;
      }
      const latest = await deps.store.get(item);
      if (latest && latest.taskToken !== token) {
        item = { ...latest, status: item.status };
        continue;
      }
      if (who.by === 'decide' && latest && inReminderGap(latest, deps.now())) {
        logger.info('approval concluded while the task token is being replaced; the remind step delivers it', ids);
        return 'deferred';
      }
      logger.warn('Step Functions no longer has the approval task', { ...ids, by: who.by, error: name });
      return 'gone';
    }
    await deps.store
      .markDelivered(item, deps.now().toISOString())
      .catch((e) => logger.warn('could not record the delivery time', { releaseId: item.releaseId, error: e as Error }));
    logger.info('approval conclusion delivered to Step Functions', { ...ids, status: item.status, by: who.by });
    return 'delivered';
  }
  return 'gone';
}

/**
 * Tells Step Functions about a conclusion a decider just wrote. When the task is gone for good (the approval's own
 * expiry passed, or the execution ended), the approval becomes EXPIRED and the decider gets 410. When it is gone
 * only because the remind step is replacing the token, the conclusion stays and that step delivers it.
 */
export async function deliverDecision(deps: DeliveryDeps, item: ApprovalItem, approver: string): Promise<DeliveryOutcome> {
  const outcome = await deliverConclusion(deps, item, { by: 'decide', approver });
  if (outcome !== 'gone') return outcome;
  await deps.store
    .markExpired(item, item.status)
    .catch((e) =>
      logger.error('could not mark approval expired', { releaseId: item.releaseId, approvalId: item.approvalId, error: e as Error }),
    );
  throw new ApprovalGoneError(
    'the release is no longer waiting for this approval (its approval step timed out or ended)',
    'approval-expired',
  );
}

async function send(tasks: TaskSender, item: ApprovalItem, token: string): Promise<void> {
  if (item.status === 'APPROVED') {
    const summary = summarize(item);
    const output = { approvalId: item.approvalId, approvedBy: summary.approvedBy, decisions: summary.decisions };
    await tasks.succeed(token, JSON.stringify(output));
  } else {
    await tasks.fail(token, APPROVAL_REJECTED, rejectionCause(item));
  }
}

/**
 * The first token timed out at the reminder point (or is about to) and the remind step has not stored its new one
 * yet, while the approval itself has not expired.
 */
function inReminderGap(item: ApprovalItem, now: Date): boolean {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  return (
    item.remindAt !== undefined &&
    !item.remindedAt &&
    nowSeconds >= item.remindAt - REMINDER_GAP_SLACK_SECONDS &&
    nowSeconds <= item.expiresAt
  );
}

/**
 * Undoes a claim after Step Functions failed for a reason other than a gone task. For a decision the approval is
 * also reopened and that approver's decision removed, so the same link works again.
 */
async function undoClaim(store: DeliveryStore, item: ApprovalItem, who: Deliverer): Promise<void> {
  const ids = { releaseId: item.releaseId, approvalId: item.approvalId };
  logger.error('Step Functions did not take the approval conclusion', { ...ids, reopen: who.by === 'decide' });
  const undo = who.by === 'decide' ? store.reopen(item, who.approver, item.status) : store.releaseClaim(item);
  await undo.catch((e) => logger.error('could not undo the delivery claim', { ...ids, error: e as Error }));
}
