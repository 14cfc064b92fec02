/**
 * Errors of the approval gate that have no general domain counterpart in `../errors.ts`. Each has a stable
 * `name`; the approval API maps names to HTTP statuses (403, 410). Not-found, conflict and validation problems use
 * NotFoundError, ConflictError and ValidationError from `../errors.ts`.
 */

/** The link's signature is wrong, or the person may not make this decision (not an approver, self-approval). */
export class ApprovalForbiddenError extends Error {
  override readonly name = 'ApprovalForbidden';
  constructor(
    message: string,
    /**
     * A short machine-readable reason: `bad-signature`, `not-an-approver`, `self-approval`; on the IAM route
     * `unknown-identity` (the caller ARN maps to no approver, or to several) and `identity-mismatch` (`--as` names
     * someone else than the caller is mapped to).
     */
    readonly reason: 'bad-signature' | 'not-an-approver' | 'self-approval' | 'unknown-identity' | 'identity-mismatch',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The link or the approval can no longer be used: it expired, the release ended, or a newer request replaced it. */
export class ApprovalGoneError extends Error {
  override readonly name = 'ApprovalGone';
  constructor(
    message: string,
    readonly reason: 'link-expired' | 'approval-expired' | 'release-ended' | 'superseded',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
