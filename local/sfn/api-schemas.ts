import * as z from 'zod';
import { SfnServiceError } from './errors.js';

/**
 * Request shapes of the supported Step Functions operations, with the limits AWS documents. Members this endpoint
 * does not use (traceHeader, mapRunArn, ...) are accepted and ignored, as AWS ignores what it does not need.
 */
const arn = z.string().min(1).max(2048);
const maxResults = z.number().int().min(0).max(1000).optional();
const nextToken = z.string().min(1).max(1024).optional();
const taskToken = z.string().min(1).max(2048);
// Executions inputs and task outputs are limited to 256 KiB on AWS.
const MAX_PAYLOAD_BYTES = 256 * 1024;

export const EXECUTION_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export const startExecutionInput = z.object({
  stateMachineArn: arn,
  name: z.string().optional(),
  input: z.string().optional(),
  traceHeader: z.string().optional(),
});
export const describeExecutionInput = z.object({ executionArn: arn });
export const listExecutionsInput = z.object({
  stateMachineArn: arn.optional(),
  statusFilter: z.enum(EXECUTION_STATUSES).optional(),
  maxResults,
  nextToken,
});
export const getExecutionHistoryInput = z.object({
  executionArn: arn,
  maxResults,
  reverseOrder: z.boolean().optional(),
  nextToken,
  includeExecutionData: z.boolean().optional(),
});
export const stopExecutionInput = z.object({
  executionArn: arn,
  error: z.string().max(256).optional(),
  cause: z.string().max(32768).optional(),
});
export const redriveExecutionInput = z.object({ executionArn: arn, clientToken: z.string().min(1).max(64).optional() });
export const sendTaskSuccessInput = z.object({ taskToken, output: z.string() });
export const sendTaskFailureInput = z.object({
  taskToken,
  error: z.string().max(256).optional(),
  cause: z.string().max(32768).optional(),
});
export const sendTaskHeartbeatInput = z.object({ taskToken });
export const describeStateMachineInput = z.object({ stateMachineArn: arn });
export const listStateMachinesInput = z.object({ maxResults, nextToken });

export type StartExecutionInput = z.infer<typeof startExecutionInput>;
export type DescribeExecutionInput = z.infer<typeof describeExecutionInput>;
export type ListExecutionsInput = z.infer<typeof listExecutionsInput>;
export type GetExecutionHistoryInput = z.infer<typeof getExecutionHistoryInput>;
export type StopExecutionInput = z.infer<typeof stopExecutionInput>;
export type RedriveExecutionInput = z.infer<typeof redriveExecutionInput>;
export type SendTaskSuccessInput = z.infer<typeof sendTaskSuccessInput>;
export type SendTaskFailureInput = z.infer<typeof sendTaskFailureInput>;
export type SendTaskHeartbeatInput = z.infer<typeof sendTaskHeartbeatInput>;
export type DescribeStateMachineInput = z.infer<typeof describeStateMachineInput>;
export type ListStateMachinesInput = z.infer<typeof listStateMachinesInput>;

/**
 * Parses a request body; a mismatch is a `ValidationException` worded like AWS's ("Value at 'maxResults' failed
 * to satisfy constraint: ..."), naming every offending member.
 */
export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `Value at '${issue.path.map(String).join('.') || '(body)'}' failed to satisfy constraint: ${issue.message}`,
  );
  throw new SfnServiceError(
    'ValidationException',
    `${problems.length} validation error${problems.length === 1 ? '' : 's'} detected: ${problems.join('; ')}`,
  );
}

/** Parses a JSON member of a request (an execution's input, a task's output), within the AWS payload limit. */
export function parseJsonMember(text: string, type: 'InvalidExecutionInput' | 'InvalidOutput', label: string): unknown {
  if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) {
    throw new SfnServiceError(type, `${label}: larger than the ${MAX_PAYLOAD_BYTES} bytes allowed`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new SfnServiceError(type, `${label}: not valid JSON (${(error as Error).message})`);
  }
}
