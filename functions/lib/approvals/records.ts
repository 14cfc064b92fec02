import type { Decision } from './links.js';

/**
 * Lifecycle of one approval request. PENDING is the only state that accepts decisions. CANCELLED: the release ended
 * without a decision (stopped, timed out, failed), so its links answer 410.
 */
export type ApprovalStatus = 'PENDING' | 'APPROVED' | 'REJECTED' | 'EXPIRED' | 'SUPERSEDED' | 'CANCELLED';

/** One person's decision, kept on the approval item for the record. */
export interface DecisionRecord {
  /** Lower-cased email of who decided. */
  approver: string;
  decision: Decision;
  /** ISO time of the decision. */
  decidedAt: string;
  comment?: string;
  /** How the decision arrived: a signed link (email, `launchway approve` embedded) or the IAM-authorized route. */
  via?: 'link' | 'iam';
  /** For `via: 'iam'`: the caller ARN API Gateway authenticated, mapped to `approver` through the catalog. */
  identity?: string;
}

/**
 * The approval item under `RELEASE#<id>` / `APPROVAL#<approvalId>`. It is the only place the task token lives;
 * readers get an {@link ApprovalSummary}, which has none.
 */
export interface ApprovalItem {
  approvalId: string;
  releaseId: string;
  service: string;
  taskToken: string;
  /** Lower-cased approver emails at the time of the request. */
  approvers: string[];
  requiredApprovals: number;
  /**
   * Lower-cased API owners, set when the release's contract breaks the live one and the policy asks for an owner's
   * approval: one of them must approve as well (functions/lib/approvals/policy.ts).
   */
  apiOwners?: string[];
  /** Keyed by lower-cased approver email: one decision per approver. */
  decisions: Record<string, DecisionRecord>;
  status: ApprovalStatus;
  /** Epoch seconds; links expire at the same time. */
  expiresAt: number;
  createdAt: string;
  /** Who triggered the release, lower-cased: they may not approve it. */
  triggeredBy: string;
  /** When the status left PENDING. */
  concludedAt?: string;
  /** Epoch seconds when the reminder is due (the first task token times out then); absent when there is none. */
  remindAt?: number;
  /** When the RemindApprovers step ran and stored its task token. */
  remindedAt?: string;
  /** Who the reminder was emailed to: the approvers who had not decided. */
  remindedApprovers?: string[];
  /**
   * SHA-256 of the task token a SendTaskSuccess/Failure was claimed for. One writer per token talks to Step
   * Functions, whether the approval API or the remind step delivers the conclusion.
   */
  deliveryTokenHash?: string;
  /** When Step Functions accepted the conclusion. */
  deliveredAt?: string;
}

/** An approval as readers see it: no task token, decisions in the order they were made. */
export interface ApprovalSummary {
  approvalId: string;
  releaseId: string;
  service: string;
  status: ApprovalStatus;
  approvers: string[];
  requiredApprovals: number;
  /** Set when one approval of an API owner is needed besides the approvers' (see {@link ApprovalItem.apiOwners}). */
  apiOwners?: string[];
  decisions: DecisionRecord[];
  approvedBy: string[];
  rejectedBy: string[];
  expiresAt: number;
  createdAt: string;
  concludedAt?: string;
  remindAt?: number;
  remindedAt?: string;
  remindedApprovers?: string[];
}

/** The summary of an approval item, without its task token. */
export function summarize(item: ApprovalItem): ApprovalSummary {
  const decisions = Object.values(item.decisions ?? {}).sort((a, b) => a.decidedAt.localeCompare(b.decidedAt));
  return {
    approvalId: item.approvalId,
    releaseId: item.releaseId,
    service: item.service,
    status: item.status,
    approvers: item.approvers,
    requiredApprovals: item.requiredApprovals,
    ...(item.apiOwners?.length ? { apiOwners: item.apiOwners } : {}),
    decisions,
    approvedBy: decisions.filter((d) => d.decision === 'approve').map((d) => d.approver),
    rejectedBy: decisions.filter((d) => d.decision === 'reject').map((d) => d.approver),
    expiresAt: item.expiresAt,
    createdAt: item.createdAt,
    ...(item.concludedAt ? { concludedAt: item.concludedAt } : {}),
    ...(item.remindAt !== undefined ? { remindAt: item.remindAt } : {}),
    ...(item.remindedAt ? { remindedAt: item.remindedAt } : {}),
    ...(item.remindedApprovers ? { remindedApprovers: item.remindedApprovers } : {}),
  };
}
