import { NotFoundError } from '../errors.js';
import { logger } from '../logger.js';
import { TERMINAL_STATUSES } from '../store/records.js';
import { confirmationView, type LinkDescription } from './confirmation-view.js';
import { APPROVAL_REJECTED, deliverDecision, rejectionCause, type DeliveryDeps } from './delivery.js';
import { approvalDepsFromConfig, deliveryDeps, type ApprovalDeps } from './deps.js';
import { ApprovalGoneError } from './errors.js';
import { openLink, type SignedLinkParams } from './link-check.js';
import type { Decision } from './links.js';
import {
  approvalCount,
  approverOfCaller,
  assertCurrent,
  assertOpen,
  awaitsApiOwner,
  checkedComment,
  isApproved,
  refusalFor,
  releaseEndedMessage,
} from './policy.js';
import { summarize, type ApprovalItem, type ApprovalStatus, type ApprovalSummary, type DecisionRecord } from './records.js';

/** A decision through the IAM-authorized route: who the caller is comes from API Gateway, not from the body. */
export interface IdentityDecisionParams {
  releaseId: string;
  decision: Decision;
  /** `requestContext.identity.userArn`, which API Gateway sets after verifying the SigV4 signature. */
  callerArn: string;
  /** The approver the caller says they are (`launchway approve --as`); must be who the ARN maps to. */
  claimedApprover?: string;
  comment?: string;
}

/** The outcome of one decision. */
export interface DecisionResult {
  approvalId: string;
  releaseId: string;
  approver: string;
  decision: Decision;
  /** The approval's status after this decision: still PENDING until enough people approved. */
  status: ApprovalStatus;
  /** Approvals by approvers (an API owner who is not an approver is not counted). */
  approvals: number;
  requiredApprovals: number;
  /** Set when the release needs an API owner's approval: true while none has approved. */
  awaitingApiOwner?: boolean;
  decisions: DecisionRecord[];
}

/**
 * The approval API's side of the gate: shows what a link is for without changing anything, and records decisions
 * with conditional writes, telling Step Functions once enough approvers agreed or one rejected. The parts: link
 * checks (`link-check.ts`), who may decide (`policy.ts`), the page (`confirmation-view.ts`), telling Step Functions
 * (`delivery.ts`) and the approval items (`ApprovalStore`). The approval step itself is `pipeline/approval.ts`.
 */
export class ApprovalService {
  private readonly delivery: DeliveryDeps;

  constructor(private readonly deps: ApprovalDeps) {
    this.delivery = deliveryDeps(deps);
  }

  /** The newest approval of a release, without its task token (the store's projection never reads it). */
  getApprovalSummary(releaseId: string): Promise<ApprovalSummary | undefined> {
    return this.deps.approvals.summary(releaseId);
  }

  /**
   * What a link's confirmation page shows. Verifies the signature (403) and expiry (410) and loads the approval
   * (404). Changes nothing: mail scanners open every link.
   */
  async describeLink(params: SignedLinkParams): Promise<LinkDescription> {
    const { item, release } = await openLink(this.deps, params);
    const steps = await this.deps.store.getSteps(release.releaseId);
    return confirmationView(this.deps, params, { item, release, steps });
  }

  /**
   * Records one approver's decision from a signed link. Checks, in order: signature (403), link expiry (410),
   * approval exists and is current (404/410), approver allowed (403), approval open and not decided before by this
   * approver (409); then records it (see {@link applyDecision}).
   */
  async decide(params: SignedLinkParams & { comment?: string }): Promise<DecisionResult> {
    const comment = checkedComment(params.comment);
    const { item } = await openLink(this.deps, params);
    const approver = params.approver;
    // Who may decide comes before the approval's state, so someone refused learns nothing about it.
    const refusal = refusalFor(item, approver, params.decision, await this.deps.findService(item.service));
    if (refusal) throw refusal;
    assertOpen(item, approver);
    return this.applyDecision(item, { approver, decision: params.decision, comment, via: 'link' });
  }

  /**
   * Records a decision made through the IAM-authorized route. The caller is who API Gateway authenticated
   * (`callerArn`), mapped to an approver by the live catalog's `approverIdentities`; a claimed approver must be that
   * same person. Then exactly the rules of a link: approver of the service, no self-approval, one decision each,
   * N of M. Statuses: 404 no approval, 403 unmapped identity / mismatch / not an approver / self-approval, 410
   * expired or ended, 409 decided before.
   */
  async decideAsIdentity(params: IdentityDecisionParams): Promise<DecisionResult> {
    const comment = checkedComment(params.comment);
    const item = await this.deps.approvals.current(params.releaseId);
    if (!item) throw new NotFoundError(`release ${params.releaseId} has no approval`);
    const live = await this.deps.findService(item.service);
    const approver = approverOfCaller(item.service, live, params.callerArn, params.claimedApprover);
    const release = await this.deps.store.getRelease(item.releaseId);
    const ended = releaseEndedMessage(release);
    assertCurrent(item, Math.floor(this.deps.now().getTime() / 1000), 'this approval was replaced by a newer request', ended);
    if (item.status === 'PENDING' && (!release || TERMINAL_STATUSES.includes(release.status))) {
      throw new ApprovalGoneError(ended ?? `the release has already ended (${release?.status ?? 'no record'})`, 'release-ended');
    }
    const refusal = refusalFor(item, approver, params.decision, live);
    if (refusal) throw refusal;
    assertOpen(item, approver);
    return this.applyDecision(item, { approver, decision: params.decision, comment, via: 'iam', identity: params.callerArn });
  }

  /**
   * Writes one decision with a conditional update that lets each approver decide once while the approval is open
   * and unexpired. Reaching the required approvals concludes APPROVED and sends SendTaskSuccess; a rejection
   * concludes REJECTED and sends SendTaskFailure `ApprovalRejected`. Only the writer that concludes the approval
   * talks to Step Functions.
   */
  private async applyDecision(
    item: ApprovalItem,
    input: { approver: string; decision: Decision; comment?: string; via: 'link' | 'iam'; identity?: string },
  ): Promise<DecisionResult> {
    const { approver, comment } = input;
    const { approvals, store } = this.deps;
    const now = this.deps.now();
    const record: DecisionRecord = {
      approver,
      decision: input.decision,
      decidedAt: now.toISOString(),
      ...(comment ? { comment } : {}),
      via: input.via,
      ...(input.identity ? { identity: input.identity } : {}),
    };
    const updated = await approvals.recordDecision(item, record, Math.floor(now.getTime() / 1000));
    if (!updated) {
      // Another request won the race; say what it did.
      const current = await approvals.get(item);
      if (!current) throw new NotFoundError(`approval ${item.approvalId} does not exist`);
      assertOpen(current, approver);
      throw new ApprovalGoneError('this approval expired before the decision was recorded', 'approval-expired');
    }
    const ids = { releaseId: item.releaseId, approvalId: item.approvalId };
    logger.info('approval decision recorded', { ...ids, approver, decision: input.decision, via: input.via });

    const result = (status: ApprovalStatus, latest: ApprovalItem = updated): DecisionResult => ({
      ...ids,
      approver,
      decision: input.decision,
      status,
      approvals: approvalCount(latest.decisions, item.approvers),
      requiredApprovals: item.requiredApprovals,
      ...(item.apiOwners?.length ? { awaitingApiOwner: awaitsApiOwner(latest) } : {}),
      decisions: summarize(latest).decisions,
    });
    // The decision was recorded but a concurrent request closed the approval: report the final state.
    const afterLostRace = async () => {
      const latest = (await approvals.get(updated)) ?? updated;
      return result(latest.status, latest);
    };

    if (input.decision === 'reject') {
      if (!(await approvals.conclude(updated, 'REJECTED', now.toISOString()))) return afterLostRace();
      const rejected: ApprovalItem = { ...updated, status: 'REJECTED', concludedAt: now.toISOString() };
      await deliverDecision(this.delivery, rejected, approver);
      await store.endStep(item.releaseId, 'Approval', 'FAILED', {
        error: { error: APPROVAL_REJECTED, cause: rejectionCause(rejected) },
        details: { approvalId: item.approvalId, rejectedBy: approver, decisions: summarize(rejected).decisions },
      });
      logger.info('approval rejected', { ...ids, approver });
      return result('REJECTED');
    }

    // N approvals of the approvers and, for breaking API changes, one of an API owner (policy.ts).
    if (!isApproved(updated)) return result('PENDING');
    if (!(await approvals.conclude(updated, 'APPROVED', now.toISOString()))) return afterLostRace();
    const approved: ApprovalItem = { ...updated, status: 'APPROVED', concludedAt: now.toISOString() };
    await deliverDecision(this.delivery, approved, approver);
    const summary = summarize(approved);
    await store.endStep(item.releaseId, 'Approval', 'SUCCEEDED', {
      details: {
        approvalId: item.approvalId,
        approvedBy: summary.approvedBy,
        decisions: summary.decisions,
        requiredApprovals: item.requiredApprovals,
        ...(item.apiOwners?.length ? { apiOwners: item.apiOwners } : {}),
      },
    });
    logger.info('approval approved', { ...ids, approvedBy: summary.approvedBy });
    return result('APPROVED');
  }
}

let cached: { deps: ApprovalDeps; service: ApprovalService } | undefined;

/** The approval service over {@link approvalDepsFromConfig}. Rebuilt when the configuration is reset. */
export function approvalServiceFromConfig(): ApprovalService {
  const deps = approvalDepsFromConfig();
  if (cached?.deps !== deps) cached = { deps, service: new ApprovalService(deps) };
  return cached.service;
}
