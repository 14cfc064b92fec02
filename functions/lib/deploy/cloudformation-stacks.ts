import { DescribeStacksCommand, type CloudFormationClient, type Stack } from '@aws-sdk/client-cloudformation';
import { isError } from './support.js';

/**
 * What CloudFormation's stack statuses and answers mean to the cloudformation provider (cloudformation.ts): which
 * status is done, failed or needs an operator, and the names and reasons it uses.
 */

/** Statuses in which the stack is settled in the version it was asked for. */
export const SUCCEEDED_STATUSES = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'IMPORT_COMPLETE']);
/** Statuses that end an execution without the new template live. */
export const FAILED_STATUSES = new Set([
  'CREATE_FAILED',
  'ROLLBACK_COMPLETE',
  'ROLLBACK_FAILED',
  'UPDATE_FAILED',
  'UPDATE_ROLLBACK_COMPLETE',
  'UPDATE_ROLLBACK_FAILED',
  'DELETE_COMPLETE',
  'DELETE_FAILED',
  'IMPORT_ROLLBACK_COMPLETE',
  'IMPORT_ROLLBACK_FAILED',
]);
/** Stacks in these states cannot take a change set; only deleting them (an operator's call) gets them back. */
export const NEEDS_DELETE = new Set(['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'DELETE_FAILED', 'DELETE_IN_PROGRESS']);
/** CloudFormation's ways of saying a change set would change nothing. */
export const NO_CHANGES = /didn't contain changes|No updates are to be performed|submitted information didn't contain changes/i;

/** The stack, or undefined when it does not exist (CloudFormation says so with a ValidationError). */
export async function describeStack(cfn: CloudFormationClient, stackName: string): Promise<Stack | undefined> {
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    return out.Stacks?.[0];
  } catch (err) {
    if (isError(err, 'ValidationError') && /does not exist/i.test((err as Error).message)) return undefined;
    throw err;
  }
}

/** Change set names: a letter, then letters, digits or dashes, at most 128 characters. */
export function changeSetName(raw: string): string {
  return raw
    .replace(/[^a-zA-Z0-9-]+/g, '-')
    .replace(/^[^a-zA-Z]+/, '')
    .slice(0, 128)
    .replace(/-+$/, '');
}

/** The stack's own reason, as a suffix for a message. */
export function reasonSuffix(stack: Stack | undefined): string {
  return stack?.StackStatusReason ? ` (${stack.StackStatusReason})` : '';
}
