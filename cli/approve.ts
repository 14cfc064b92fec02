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
  const url = await findApprovalLink(outbox, { releaseId: opts.releaseId, approver: opts.approver, decision: opts.decision });
  const result = await decideViaLink(url, { decision: opts.decision, comment: opts.comment });
  if (opts.json) console.log(JSON.stringify({ releaseId: opts.releaseId, decision: opts.decision, approver: opts.approver, status: result.status }));
  else console.log(`${green('✔')} ${opts.decision === 'approve' ? 'Approved' : 'Rejected'} ${opts.releaseId} as ${opts.approver}`);
}
