import { decideViaLink, decideWithIam } from './approval-client.js';
import { waitForApprovalLink } from '../local/outbox.js';
import { ValidationError } from '../functions/lib/errors.js';
import { green } from './format.js';

/** Where `launchway approve|reject` sends a decision, from the environment. */
export type ApprovalRoute = { kind: 'outbox'; outboxDir: string } | { kind: 'iam'; apiUrl: string };

/**
 * Picks how a decision is made, never from what the caller claims:
 * - `OUTBOX_DIR` set (embedded, from `.launchway/endpoints.env`): follow the approver's own emailed link; holding the
 *   email is the proof of identity;
 * - else `LAUNCHWAY_APPROVAL_API_URL` set (AWS): a SigV4-signed request to the IAM-authorized route; the caller's IAM
 *   identity, mapped to an approver by the catalog, is who decides.
 */
export function approvalRoute(env: NodeJS.ProcessEnv = process.env): ApprovalRoute {
  if (env.OUTBOX_DIR) return { kind: 'outbox', outboxDir: env.OUTBOX_DIR };
  if (env.LAUNCHWAY_APPROVAL_API_URL) return { kind: 'iam', apiUrl: env.LAUNCHWAY_APPROVAL_API_URL };
  throw new ValidationError('neither OUTBOX_DIR nor LAUNCHWAY_APPROVAL_API_URL is set', {
    OUTBOX_DIR:
      'embedded: run `launchway dev` in this folder (or source .launchway/endpoints.env), and `launchway approve` ' +
      'follows your emailed link from the local outbox',
    LAUNCHWAY_APPROVAL_API_URL:
      'on AWS: the approval API URL (stack output); run with credentials of an IAM identity the catalog maps to you ' +
      '(approverIdentities), or open the link in your email',
  });
}

/** `launchway approve|reject`: records the decision under an identity the pipeline checks. */
export async function runApprovalCommand(opts: {
  releaseId: string;
  decision: 'approve' | 'reject';
  approver: string;
  comment?: string;
  json?: boolean;
}): Promise<void> {
  const route = approvalRoute();
  const result =
    route.kind === 'outbox'
      ? await decideFromOutbox(route.outboxDir, opts)
      : await decideWithIam({
          apiUrl: route.apiUrl,
          releaseId: opts.releaseId,
          decision: opts.decision,
          approver: opts.approver,
          comment: opts.comment,
        });
  const status = (result.body as { status?: string } | undefined)?.status;
  if (opts.json)
    console.log(JSON.stringify({ releaseId: opts.releaseId, decision: opts.decision, approver: opts.approver, via: route.kind, status }));
  else {
    const waiting = status === 'PENDING' ? ' (more approvals are needed)' : '';
    console.log(`${green('✔')} ${opts.decision === 'approve' ? 'Approved' : 'Rejected'} ${opts.releaseId} as ${opts.approver}${waiting}`);
  }
}

/**
 * Finds the approver's link in the outbox and follows it. The release shows AWAITING_APPROVAL a moment before its
 * email is written, so the search is retried for a bounded time.
 */
export async function decideFromOutbox(
  outbox: string,
  opts: { releaseId: string; approver: string; decision: 'approve' | 'reject'; comment?: string; timeoutMs?: number },
) {
  const url = await waitForApprovalLink(
    outbox,
    { releaseId: opts.releaseId, approver: opts.approver, decision: opts.decision },
    opts.timeoutMs ?? 10_000,
  );
  return decideViaLink(url, { decision: opts.decision, comment: opts.comment });
}
