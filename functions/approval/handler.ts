import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { approvalServiceFromConfig, type ApprovalService, type ReminderResult } from '../lib/approvals/approval-service.js';
import { stepHandler } from '../lib/handler.js';

/**
 * The approval gate's two `lambda:invoke.waitForTaskToken` states, one function:
 * - `phase: 'request'` (RequestApproval) stores the task token on a new approval and emails the approvers;
 * - `phase: 'remind'` (RemindApprovers, after RequestApproval timed out at the reminder point) stores the new task
 *   token, delivers a decision that arrived while the token changed hands, or emails approvers who have not decided.
 * The execution then waits until the approval API (or the remind step) sends the task's success or failure.
 */
export const RequestApprovalEventSchema = z.object({
  releaseId: z.string().min(1, 'expected the release id'),
  taskToken: z.string().min(1, 'expected the Step Functions task token'),
  phase: z.enum(['request', 'remind'], { message: 'expected request or remind' }).default('request'),
});
export type RequestApprovalEvent = z.input<typeof RequestApprovalEventSchema>;

/** What the request phase returns (the state machine ignores it: it waits for the token). */
export interface ApprovalRequested {
  approvalId: string;
  approvers: string[];
  expiresAt: number;
}

/** The step without Lambda: tests and the embedded runtime call it directly. */
export async function requestApprovalStep(
  event: RequestApprovalEvent,
  _context?: Context,
  service: ApprovalService = approvalServiceFromConfig(),
): Promise<ApprovalRequested | ReminderResult> {
  const { releaseId, taskToken } = event;
  if (event.phase === 'remind') return service.remindApprovers({ releaseId, taskToken });
  return service.requestApproval({ releaseId, taskToken });
}

export const handler = stepHandler(RequestApprovalEventSchema, (event, context) => requestApprovalStep(event, context));
