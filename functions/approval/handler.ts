import { approvalDepsFromConfig } from '../lib/approvals/deps.js';
import { stepHandler } from '../lib/handler.js';
import { approvalStep, RequestApprovalEventSchema } from '../lib/pipeline/approval.js';

/** RequestApproval / RemindApprovers: store the task token, then email or remind the approvers. */
export const handler = stepHandler(RequestApprovalEventSchema, (event) => approvalStep(approvalDepsFromConfig(), event));
