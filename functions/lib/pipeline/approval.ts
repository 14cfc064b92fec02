import * as z from 'zod';
import { buildApprovalEmail } from '../approvals/approval-email.js';
import { deliverConclusion, type DeliveryOutcome } from '../approvals/delivery.js';
import { deliveryDeps, type ApprovalDeps } from '../approvals/deps.js';
import { newApprovalId, normalizeEmail, signedLink } from '../approvals/links.js';
import { decidersOf, isConcluded, unreachableApproval } from '../approvals/policy.js';
import { summarize, type ApprovalItem, type ApprovalStatus, type DecisionRecord } from '../approvals/records.js';
import { approvalSchedule } from '../approvals/schedule.js';
import { smokeSummaryOf } from '../approvals/smoke-summary.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { logger } from '../logger.js';
import { TERMINAL_STATUSES, type ReleaseRecord } from '../store/records.js';

/**
 * The approval gate's two `lambda:invoke.waitForTaskToken` states, one function:
 * - `phase: 'request'` (RequestApproval) stores the task token on a new approval and emails the approvers;
 * - `phase: 'remind'` (RemindApprovers, after RequestApproval timed out at the reminder point) stores the new task
 *   token, delivers a decision that arrived while the token changed hands, or emails approvers who have not decided.
 * The execution then waits until the approval API (or the remind step) sends the task's success or failure.
 */
export const RequestApprovalEventSchema = z.object({
  releaseId: z.string().min(1, 'expected the release id'),
  taskToken: z.string().min(1, 'expected the Step Functions task token'),
  phase: z.enum(['request', 'remind'], { message: 'expected request or remind' }).default('request'),
});
export type RequestApprovalEvent = z.input<typeof RequestApprovalEventSchema>;

/** What the request phase returns (the state machine ignores it: it waits for the token). */
export interface ApprovalRequested {
  approvalId: string;
  approvers: string[];
  expiresAt: number;
}

/** What the remind phase did. */
export interface ReminderResult {
  approvalId: string;
  status: ApprovalStatus;
  /** Who was emailed the reminder (empty when it was sent before, or nothing is pending). */
  reminded: string[];
  /** Set when the approval had concluded while the token changed hands, and this step told Step Functions. */
  delivered?: DeliveryOutcome;
}

/** RequestApproval or RemindApprovers, by the event's phase. */
export function approvalStep(deps: ApprovalDeps, event: RequestApprovalEvent): Promise<ApprovalRequested | ReminderResult> {
  const { releaseId, taskToken } = event;
  if (event.phase === 'remind') return remindApprovers(deps, { releaseId, taskToken });
  return requestApproval(deps, { releaseId, taskToken });
}

/**
 * Opens an approval for a release waiting in RequestApproval: stores the task token on a new approval item, marks
 * the release AWAITING_APPROVAL and its Approval step running, and emails each approver their own links. A
 * retried request (new token) supersedes the earlier approval, whose links then answer 410.
 */
export async function requestApproval(deps: ApprovalDeps, input: { releaseId: string; taskToken: string }): Promise<ApprovalRequested> {
  const { store } = deps;
  const release = await store.requireRelease(input.releaseId);
  if (TERMINAL_STATUSES.includes(release.status)) {
    throw new ConflictError(`release ${release.releaseId} has already ended (${release.status}); no approval is requested`);
  }
  const service = release.catalog ?? (await deps.findService(release.service));
  if (!service) throw new NotFoundError(`service ${release.service} is not in the catalog`);

  const now = deps.now();
  const createdAt = now.toISOString();
  // The same schedule Prepare gave the state machine: RequestApproval times out at remindAt, the release at expiresAt.
  const schedule = approvalSchedule(service);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const expiresAt = nowSeconds + schedule.timeoutSeconds;
  const remindAt = schedule.reminderSeconds > 0 ? nowSeconds + schedule.waitSeconds : undefined;
  const approvers = [...new Set(service.approvers.map(normalizeEmail))];
  // Breaking API changes under policy `approve` (Prepare decided, once): an API owner must approve as well.
  const apiOwners = release.apiChanges?.ownerApprovalRequired ? release.apiChanges.apiOwners.map(normalizeEmail) : [];
  const triggeredBy = normalizeEmail(release.triggeredBy);
  const approvalId = newApprovalId(release.releaseId);

  await deps.approvals.supersedePending(release.releaseId, createdAt);
  const item: ApprovalItem = {
    approvalId,
    releaseId: release.releaseId,
    service: release.service,
    taskToken: input.taskToken,
    approvers,
    requiredApprovals: service.requiredApprovals,
    ...(apiOwners.length ? { apiOwners } : {}),
    decisions: {},
    status: 'PENDING',
    expiresAt,
    createdAt,
    triggeredBy,
    ...(remindAt !== undefined ? { remindAt } : {}),
  };
  await deps.approvals.create(item);

  const warning = unreachableApproval(approvers, triggeredBy, service.requiredApprovals, apiOwners);
  if (warning) logger.warn('approval cannot be reached', { releaseId: release.releaseId, approvalId, warning });

  await store.updateRelease(release.releaseId, { status: 'AWAITING_APPROVAL' });
  await store.startStep(release.releaseId, 'Approval', {
    approvalId,
    approvers,
    requiredApprovals: service.requiredApprovals,
    ...(apiOwners.length ? { apiOwners } : {}),
    expiresAt,
    ...(remindAt !== undefined ? { remindAt } : {}),
    ...(warning ? { warning } : {}),
  });

  // API owners get the email and their own links too, whether or not they are approvers.
  await emailApprovers(deps, release, item, decidersOf(item));
  logger.info('approval requested', { releaseId: release.releaseId, approvalId, approvers, apiOwners, expiresAt, remindAt });
  return { approvalId, approvers, expiresAt };
}

/**
 * The RemindApprovers step: the first task token timed out at the reminder point, and the state machine waits
 * again with a new one for the rest of the timeout. Stores the new token on the current approval, then:
 * - if the approval concluded meanwhile (a decision arrived while the token changed hands), tells Step Functions
 *   with the new token, so the decision is neither lost nor turned into EXPIRED;
 * - otherwise emails the approvers who have not decided, once per approval (a retried step sends nothing twice).
 */
export async function remindApprovers(deps: ApprovalDeps, input: { releaseId: string; taskToken: string }): Promise<ReminderResult> {
  const { approvals } = deps;
  const current = await approvals.current(input.releaseId);
  if (!current) throw new NotFoundError(`release ${input.releaseId} has no approval to remind about`);
  const now = deps.now();
  const item = await approvals.replaceToken(current, input.taskToken, now.toISOString());
  if (!item) throw new ConflictError(`approval ${current.approvalId} was superseded while the reminder was due`);
  const ids = { releaseId: item.releaseId, approvalId: item.approvalId };

  const base = { approvalId: item.approvalId, status: item.status, reminded: [] as string[] };
  if (isConcluded(item.status)) return { ...base, delivered: await deliverConclusion(deliveryDeps(deps), item, { by: 'remind' }) };
  if (item.status !== 'PENDING') {
    // EXPIRED: nothing to deliver or remind; the state's own timeout ends the release.
    logger.warn('reminder due for an approval that is not pending', { ...ids, status: item.status });
    return base;
  }

  // Reminded by an earlier attempt of this step: nothing to send twice.
  if (item.remindedAt) return base;
  const undecided = decidersOf(item).filter((a) => !item.decisions?.[a]);
  // The emails go out before the reminder is marked sent, so an attempt that fails while sending leaves it unmarked
  // and the retried step reminds again: a reminder may arrive twice, never not at all.
  const release = await deps.store.requireRelease(item.releaseId);
  await emailApprovers(deps, release, item, undecided, summarize(item).decisions);
  if (!(await approvals.markReminded(item, undecided, now.toISOString()))) {
    // Marked by a concurrent attempt, or concluded a moment ago: deliver in that case.
    const latest = await approvals.get(item);
    if (latest && isConcluded(latest.status)) {
      return { ...base, status: latest.status, delivered: await deliverConclusion(deliveryDeps(deps), latest, { by: 'remind' }) };
    }
    return base;
  }
  logger.info('approval reminder sent', { ...ids, reminded: undecided });
  return { ...base, reminded: undecided };
}

/** Emails each of `to` their own signed links: the request, or with `decisions` the reminder. */
async function emailApprovers(
  deps: ApprovalDeps,
  release: ReleaseRecord,
  item: ApprovalItem,
  to: string[],
  decisions?: DecisionRecord[],
): Promise<void> {
  const smoke = smokeSummaryOf(await deps.store.getSteps(release.releaseId));
  for (const approver of to) {
    const fields = { approvalId: item.approvalId, approver, expires: item.expiresAt };
    const links = {
      // The person who triggered the release may not approve it, so their email carries no approve link.
      approve: approver === item.triggeredBy ? undefined : await signedLink(deps.signer, deps.baseUrl, { ...fields, decision: 'approve' }),
      reject: await signedLink(deps.signer, deps.baseUrl, { ...fields, decision: 'reject' }),
    };
    await deps.notifier.send(
      buildApprovalEmail({
        release,
        approvalId: item.approvalId,
        approver,
        links,
        requiredApprovals: item.requiredApprovals,
        approverCount: item.approvers.length,
        expiresAt: item.expiresAt,
        smoke,
        ...(decisions ? { reminder: { decisions } } : {}),
      }),
    );
  }
}
