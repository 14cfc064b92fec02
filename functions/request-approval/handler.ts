import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { approvalServiceFromConfig, type ApprovalService } from '../lib/approvals/approval-service.js';
import { stepHandler } from '../lib/handler.js';

/**
 * The RequestApproval step (`lambda:invoke.waitForTaskToken`): stores the task token and emails the approvers.
 * The execution then waits until the approval API sends the task's success or failure.
 */
export const RequestApprovalEventSchema = z.object({
  releaseId: z.string().min(1, 'expected the release id'),
  taskToken: z.string().min(1, 'expected the Step Functions task token'),
});
export type RequestApprovalEvent = z.infer<typeof RequestApprovalEventSchema>;

/** The step without Lambda: tests and the embedded runtime call it directly. */
export async function requestApprovalStep(
  event: RequestApprovalEvent,
  _context?: Context,
  service: ApprovalService = approvalServiceFromConfig(),
): Promise<{ approvalId: string; approvers: string[]; expiresAt: number }> {
  return service.requestApproval(event);
}

export const handler = stepHandler(RequestApprovalEventSchema, (event, context) => requestApprovalStep(event, context));
