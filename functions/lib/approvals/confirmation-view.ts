import { BUCKET_LAYOUT } from '../bucket-layout.js';
import type { ServiceConfig } from '../catalog.js';
import { logger } from '../logger.js';
import type { ReleaseRecord, StepRecord } from '../store/records.js';
import { signFields, type Decision, type LinkFields } from './links.js';
import { refusalFor } from './policy.js';
import { summarize, type ApprovalItem, type ApprovalSummary } from './records.js';
import type { LinkSigner } from './signer.js';
import { smokeSummaryOf, type SmokeSummary } from './smoke-summary.js';

/** How long a report link on the confirmation page works: long enough to click, short enough not to matter if shared. */
export const REPORT_LINK_SECONDS = 900;

/** Only report objects get a download link, whatever a step record claims. */
const REPORTS_PREFIX = BUCKET_LAYOUT.reportsPrefix;

/** What the confirmation page shows for a valid link. Never contains the task token. */
export interface LinkDescription {
  link: LinkFields;
  approval: ApprovalSummary;
  release: Pick<
    ReleaseRecord,
    'releaseId' | 'service' | 'version' | 'commit' | 'branch' | 'triggeredBy' | 'status' | 'changes' | 'createdAt' | 'apiChanges'
  >;
  smoke?: SmokeSummary;
  /** Download links of the smoke reports by kind (`junit`, `json`), valid for {@link REPORT_LINK_SECONDS}. */
  reportUrls?: Record<string, string>;
  /**
   * The decisions this approver can still make here, the link's own first. Empty when the approval is closed or
   * the approver may not decide; `notice` then says why.
   */
  allowedDecisions: Decision[];
  notice?: string;
  /** Hidden fields of the page's form, signed for either decision; absent when nothing can be decided. */
  form?: { approver: string; expires: number; sig: string };
}

/** What the page needs beyond the approval and its release. */
export interface ConfirmationViewDeps {
  signer: LinkSigner;
  /** The live catalog entry of a service: an approver removed since the request gets no buttons. */
  findService(name: string): Promise<ServiceConfig | undefined>;
  /**
   * A short-lived download URL (a presigned S3 GET) for a smoke report key under `reports/`. Absent: the page shows
   * the keys without links.
   */
  reportUrl?(key: string): Promise<string>;
}

/**
 * The confirmation page of a checked link (see `openLink`): the release, what it changes for partners, its changes
 * and staging smoke results with report links, the decisions so far, and which buttons this approver gets, with the form signed for both.
 */
export async function confirmationView(
  deps: ConfirmationViewDeps,
  link: LinkFields,
  opened: { item: ApprovalItem; release: ReleaseRecord; steps: StepRecord[] },
): Promise<LinkDescription> {
  const { item, release } = opened;
  const { allowed, notice } = await choicesOf(deps, item, link);
  const smoke = smokeSummaryOf(opened.steps);
  const reportUrls = await reportUrlsOf(deps, smoke);
  const { approver, expires } = link;
  const form =
    allowed.length > 0
      ? { approver, expires, sig: await signFields(deps.signer, { approvalId: item.approvalId, approver, expires }, 'any') }
      : undefined;
  return {
    link: { approvalId: link.approvalId, decision: link.decision, approver, expires },
    approval: summarize(item),
    release: {
      releaseId: release.releaseId,
      service: release.service,
      version: release.version,
      commit: release.commit,
      branch: release.branch,
      triggeredBy: release.triggeredBy,
      status: release.status,
      changes: release.changes ?? [],
      createdAt: release.createdAt,
      ...(release.apiChanges ? { apiChanges: release.apiChanges } : {}),
    },
    smoke,
    ...(reportUrls ? { reportUrls } : {}),
    allowedDecisions: allowed,
    ...(notice ? { notice } : {}),
    ...(form ? { form } : {}),
  };
}

/** The buttons this approver gets, the link's own decision first, and the notice that says why any are missing. */
async function choicesOf(
  deps: ConfirmationViewDeps,
  item: ApprovalItem,
  link: LinkFields,
): Promise<{ allowed: Decision[]; notice?: string }> {
  if (item.status !== 'PENDING') {
    const when = item.concludedAt ? ` at ${item.concludedAt}` : '';
    return { allowed: [], notice: `This approval is closed: the release was ${item.status.toLowerCase()}${when}.` };
  }
  const decidedBefore = item.decisions?.[link.approver];
  if (decidedBefore) {
    return {
      allowed: [],
      notice: `You already chose to ${decidedBefore.decision} this release at ${decidedBefore.decidedAt}. Waiting for other approvers.`,
    };
  }
  // Asked for approving, the stricter case, so a reject link of the triggerer also hides the approve button.
  const refusal = refusalFor(item, link.approver, 'approve', await deps.findService(item.service));
  if (refusal?.reason === 'not-an-approver') return { allowed: [], notice: refusal.message };
  if (refusal?.reason === 'self-approval') {
    return { allowed: ['reject'], notice: 'You triggered this release, so someone else has to approve it. You can still reject it.' };
  }
  return { allowed: link.decision === 'approve' ? ['approve', 'reject'] : ['reject', 'approve'] };
}

/** Download links for the smoke reports, when a presigner is configured; a failure only costs the link. */
async function reportUrlsOf(deps: ConfirmationViewDeps, smoke: SmokeSummary | undefined): Promise<Record<string, string> | undefined> {
  const presign = deps.reportUrl;
  if (!presign || !smoke) return undefined;
  const urls: Record<string, string> = {};
  for (const [kind, key] of Object.entries(smoke.reportKeys)) {
    if (!key.startsWith(REPORTS_PREFIX) || key.split('/').includes('..')) continue;
    try {
      urls[kind] = await presign(key);
    } catch (err) {
      logger.warn('could not make a report link', { key, error: err as Error });
    }
  }
  return Object.keys(urls).length > 0 ? urls : undefined;
}
