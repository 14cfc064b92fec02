import { NotFoundError } from '../errors.js';
import type { ApprovalStore } from '../store/approval-store.js';
import { TERMINAL_STATUSES, type ReleaseRecord } from '../store/records.js';
import type { ReleaseStore } from '../store/release-store.js';
import { ApprovalForbiddenError, ApprovalGoneError } from './errors.js';
import { releaseIdOfApproval, verifyFields, type LinkFields } from './links.js';
import { assertCurrent, releaseEndedMessage } from './policy.js';
import type { ApprovalItem } from './records.js';
import type { LinkSigner } from './signer.js';

/** A link's signed fields plus its signature, as they arrive in a query string or a form. */
export interface SignedLinkParams extends LinkFields {
  sig: string;
}

/** What checking a link reads. */
export interface LinkCheckDeps {
  signer: LinkSigner;
  approvals: Pick<ApprovalStore, 'get'>;
  store: Pick<ReleaseStore, 'getRelease'>;
  now(): Date;
}

/**
 * Checks a link before anything is shown or decided, in this order: signature (403), link expiry (410), approval
 * exists (404) and is current (410), release exists (404) and has not ended while the approval was pending (410).
 * Returns the approval and its release.
 */
export async function openLink(deps: LinkCheckDeps, params: SignedLinkParams): Promise<{ item: ApprovalItem; release: ReleaseRecord }> {
  const { approvalId, decision, approver, expires } = params;
  const fields: LinkFields = { approvalId, decision, approver, expires };
  if (!(await verifyFields(deps.signer, fields, params.sig))) {
    throw new ApprovalForbiddenError('the approval link is not valid: its signature does not match', 'bad-signature');
  }
  const nowSeconds = Math.floor(deps.now().getTime() / 1000);
  if (params.expires < nowSeconds) {
    throw new ApprovalGoneError(`the approval link expired at ${new Date(params.expires * 1000).toISOString()}`, 'link-expired');
  }
  const releaseId = releaseIdOfApproval(params.approvalId);
  const item = releaseId ? await deps.approvals.get({ releaseId, approvalId: params.approvalId }) : undefined;
  if (!item) throw new NotFoundError(`approval ${params.approvalId} does not exist`);
  const release = await deps.store.getRelease(item.releaseId);
  const ended = releaseEndedMessage(release);
  assertCurrent(item, nowSeconds, undefined, ended);
  if (!release) throw new NotFoundError(`release ${item.releaseId} does not exist`);
  if (item.status === 'PENDING' && TERMINAL_STATUSES.includes(release.status)) {
    throw new ApprovalGoneError(ended ?? `the release has already ended (${release.status})`, 'release-ended');
  }
  return { item, release };
}
