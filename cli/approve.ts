import { decideViaLink } from './approval-client.js';
import { findApprovalLink } from '../local/outbox.js';
import { green } from './format.js';

/**
 * `launchway approve|reject`: follows the approver's own signed link from their email, GET then POST, exactly as
 * a person does. Embedded mode reads the email from the local outbox; having the email is the proof of identity.
 */
export async function runApprovalCommand(opts: {
  releaseId: string;
  decision: 'approve' | 'reject';
  approver: string;
  comment?: string;
  json?: boolean;
}): Promise<void> {
  const outbox = process.env.OUTBOX_DIR;
  if (!outbox) {
    throw new Error(
      'OUTBOX_DIR is not set: `launchway approve` follows the emailed link, which in embedded mode lives in the ' +
        'local outbox (source .launchway/endpoints.env). On AWS, open the link in your email.',
    );
  }
  const result = await decideFromOutbox(outbox, opts);
  if (opts.json) console.log(JSON.stringify({ releaseId: opts.releaseId, decision: opts.decision, approver: opts.approver, status: result.status }));
  else console.log(`${green('✔')} ${opts.decision === 'approve' ? 'Approved' : 'Rejected'} ${opts.releaseId} as ${opts.approver}`);
}

/**
 * Finds the approver's link in the outbox and follows it. The release shows AWAITING_APPROVAL a moment before its
 * email is written, so the search is retried for a bounded time.
 */
export async function decideFromOutbox(
  outbox: string,
  opts: { releaseId: string; approver: string; decision: 'approve' | 'reject'; comment?: string; timeoutMs?: number },
) {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let url: string | undefined;
  while (!url) {
    try {
      url = await findApprovalLink(outbox, { releaseId: opts.releaseId, approver: opts.approver, decision: opts.decision });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return decideViaLink(url, { decision: opts.decision, comment: opts.comment });
}
