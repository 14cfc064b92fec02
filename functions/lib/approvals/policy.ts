import { apiOwnersOf, type ServiceConfig } from '../catalog.js';
import { ConflictError, ValidationError } from '../errors.js';
import type { ReleaseRecord } from '../store/records.js';
import { ApprovalForbiddenError, ApprovalGoneError } from './errors.js';
import { approverForIdentity } from './identities.js';
import { normalizeEmail, type Decision } from './links.js';
import type { ApprovalItem, ApprovalStatus, DecisionRecord } from './records.js';

/**
 * Who may decide an approval and when it is decided: approvers of the service (as the request named them and as
 * the live catalog still names them), never the person who triggered the release approving it, one decision per
 * approver, N approvals of M approvers. A release whose contract breaks the live one (policy `approve`) also needs
 * one approval from its API owners: they may decide too, and one person in both lists counts for both, so the
 * owner's approval is one of the N when they are also an approver. Anyone who may decide may reject. Pure
 * functions; the callers load what they need.
 */

/** Longest comment kept with a decision. */
export const MAX_COMMENT_LENGTH = 1000;

/** The 410 message of a superseded approval reached through a link: the newest email has the working links. */
export const SUPERSEDED_LINK_MESSAGE = 'this approval was replaced by a newer request; use the links in the newest email';

/** A final status: the approval was decided and Step Functions is (or was) told. */
export const isConcluded = (status: ApprovalStatus): status is 'APPROVED' | 'REJECTED' => status === 'APPROVED' || status === 'REJECTED';

/** Who chose to approve, of `among` when given (the approvers: an API owner who is not one is not one of the N). */
const approvedBy = (decisions: Record<string, DecisionRecord> | undefined, among?: string[]): string[] =>
  Object.values(decisions ?? {})
    .filter((d) => d.decision === 'approve' && (!among || among.includes(d.approver)))
    .map((d) => d.approver);

/** How many approvers chose to approve (`approvers` absent: everyone who approved). */
export const approvalCount = (decisions: Record<string, DecisionRecord> | undefined, approvers?: string[]): number =>
  approvedBy(decisions, approvers).length;

/** Everyone who may decide the approval: its approvers, then its API owners who are not approvers too. */
export const decidersOf = (item: Pick<ApprovalItem, 'approvers' | 'apiOwners'>): string[] => [
  ...new Set([...item.approvers, ...(item.apiOwners ?? [])]),
];

/** True when an API owner's approval is still missing (always false when none is needed). */
export const awaitsApiOwner = (item: Pick<ApprovalItem, 'apiOwners' | 'decisions'>): boolean =>
  (item.apiOwners?.length ?? 0) > 0 && approvedBy(item.decisions, item.apiOwners).length === 0;

/** True when the approval has what it needs: N approvals of its approvers and, when required, one of an API owner. */
export const isApproved = (item: Pick<ApprovalItem, 'approvers' | 'apiOwners' | 'decisions' | 'requiredApprovals'>): boolean =>
  approvalCount(item.decisions, item.approvers) >= item.requiredApprovals && !awaitsApiOwner(item);

/** A comment trimmed, empty as undefined, refused when too long. */
export function checkedComment(raw: string | undefined): string | undefined {
  const comment = raw?.trim() || undefined;
  if (comment && comment.length > MAX_COMMENT_LENGTH) {
    throw new ValidationError(`comment is too long: at most ${MAX_COMMENT_LENGTH} characters`, {
      comment: `expected at most ${MAX_COMMENT_LENGTH} characters`,
    });
  }
  return comment;
}

/**
 * Why this approver may not make this decision, or undefined when they may. `live` is the service's catalog entry
 * now: an approver removed from it since the request may no longer decide.
 */
export function refusalFor(
  item: Pick<ApprovalItem, 'approvers' | 'apiOwners' | 'service' | 'triggeredBy'>,
  approver: string,
  decision: Decision,
  live: (Pick<ServiceConfig, 'approvers'> & { interop?: Partial<Pick<ServiceConfig['interop'], 'apiOwners'>> }) | undefined,
): ApprovalForbiddenError | undefined {
  const liveApprovers = (live?.approvers ?? []).map(normalizeEmail);
  const isApprover = item.approvers.includes(approver) && liveApprovers.includes(approver);
  // An API owner decides only a release that needs one, and only while the live catalog still names them.
  const isApiOwner = (item.apiOwners ?? []).includes(approver) && live !== undefined && apiOwnersOf(live).includes(approver);
  if (!isApprover && !isApiOwner) {
    return new ApprovalForbiddenError(`${approver} is not an approver of ${item.service}`, 'not-an-approver');
  }
  // Rejecting one's own release stops it, which is always safe; approving it is what the rule forbids.
  if (decision === 'approve' && approver === item.triggeredBy) {
    return new ApprovalForbiddenError(`${approver} triggered this release and cannot approve it; another approver has to`, 'self-approval');
  }
  return undefined;
}

/** What a link of an approval closed because its release ended says. */
const RELEASE_ENDED_MESSAGE = 'the release has already ended without a decision';

/** Why a link of an ended release answers 410: naming the newer release when one superseded it. */
export function releaseEndedMessage(release: Pick<ReleaseRecord, 'status' | 'stopRequest'> | undefined): string | undefined {
  const by = release?.status === 'SUPERSEDED' ? release.stopRequest?.supersededBy : undefined;
  return by ? `this release was superseded by ${by}` : undefined;
}

/**
 * Throws 410 when the approval takes no decisions any more by its own record: a newer request replaced it, or it
 * expired (marked, or past `expiresAt` while still pending).
 */
export function assertCurrent(
  item: Pick<ApprovalItem, 'status' | 'expiresAt'>,
  nowSeconds: number,
  supersededMessage = SUPERSEDED_LINK_MESSAGE,
  endedMessage = RELEASE_ENDED_MESSAGE,
): void {
  if (item.status === 'SUPERSEDED') throw new ApprovalGoneError(supersededMessage, 'superseded');
  if (item.status === 'CANCELLED') throw new ApprovalGoneError(endedMessage, 'release-ended');
  if (item.status === 'EXPIRED' || (item.status === 'PENDING' && item.expiresAt < nowSeconds)) {
    throw new ApprovalGoneError('this approval has expired', 'approval-expired');
  }
}

/** Throws 409 when the approver already decided or the approval is no longer open (410 when replaced or expired). */
export function assertOpen(item: Pick<ApprovalItem, 'decisions' | 'status'>, approver: string): void {
  const previous = item.decisions?.[approver];
  if (previous) {
    throw new ConflictError(`${approver} already chose to ${previous.decision} this release at ${previous.decidedAt}`);
  }
  if (item.status === 'SUPERSEDED') throw new ApprovalGoneError(SUPERSEDED_LINK_MESSAGE, 'superseded');
  if (item.status === 'CANCELLED') throw new ApprovalGoneError(RELEASE_ENDED_MESSAGE, 'release-ended');
  if (item.status === 'EXPIRED') throw new ApprovalGoneError('this approval has expired', 'approval-expired');
  if (item.status !== 'PENDING') throw new ConflictError(`this approval is already closed: ${item.status}`);
}

/**
 * The approver an IAM caller is, by the live catalog's `approverIdentities`; a claimed approver (`--as`) must be
 * that same person. Throws 403 `unknown-identity` or `identity-mismatch`.
 */
export function approverOfCaller(
  service: string,
  live: Pick<ServiceConfig, 'approverIdentities'> | undefined,
  callerArn: string,
  claimedApprover?: string,
): string {
  const match = approverForIdentity(live?.approverIdentities, callerArn);
  if (match.kind === 'unmapped') {
    throw new ApprovalForbiddenError(
      `${callerArn} is not mapped to an approver of ${service}; add it under approverIdentities in the catalog`,
      'unknown-identity',
    );
  }
  if (match.kind === 'ambiguous') {
    throw new ApprovalForbiddenError(
      `${callerArn} matches the identities of several approvers (${match.approvers.join(', ')}); the catalog must map it to one`,
      'unknown-identity',
    );
  }
  if (claimedApprover !== undefined && normalizeEmail(claimedApprover) !== match.approver) {
    throw new ApprovalForbiddenError(
      `you are signed in as ${callerArn}, which is approver ${match.approver}, not ${normalizeEmail(claimedApprover)}`,
      'identity-mismatch',
    );
  }
  return match.approver;
}

/**
 * Why the approval can never be granted, or undefined when it can: fewer approvers other than the person who
 * triggered the release than approvals required, or (when one is needed) no API owner but them. Such a release
 * expires unless someone rejects it.
 */
export function unreachableApproval(
  approvers: string[],
  triggeredBy: string,
  requiredApprovals: number,
  apiOwners: string[] = [],
): string | undefined {
  const eligible = approvers.filter((a) => a !== triggeredBy).length;
  if (eligible < requiredApprovals) {
    return (
      `only ${eligible} approver(s) other than ${triggeredBy} can approve, but ${requiredApprovals} approval(s) are required; ` +
      'the release will expire unless it is rejected'
    );
  }
  if (apiOwners.length > 0 && apiOwners.every((o) => o === triggeredBy)) {
    return `no API owner other than ${triggeredBy} can approve the breaking API changes; the release will expire unless it is rejected`;
  }
  return undefined;
}
