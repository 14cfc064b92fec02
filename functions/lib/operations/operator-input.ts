import { ValidationError, type FieldErrors } from '../errors.js';
import { safeLine } from '../safe-text.js';

/** The longest reason an operating command keeps on the record. */
export const MAX_REASON_LENGTH = 500;
const MAX_BY_LENGTH = 254;

/** Who runs an operating command and why, as given on the command line. */
export interface OperatorInput {
  /** An email or an IAM identity. */
  by: string;
  reason: string;
}

/**
 * Who and why, made safe for a terminal, a page and an email (one line, no control characters) and checked before
 * anything is written: both present, the reason at most 500 characters. Fields are named as the CLI's options.
 */
export function checkOperator(input: OperatorInput): OperatorInput {
  const by = safeLine(input.by);
  const reason = safeLine(input.reason);
  const fields: FieldErrors = {};
  if (!by) fields['--as'] = 'who runs the command is required (an email or an IAM identity)';
  else if (by.length > MAX_BY_LENGTH) fields['--as'] = `at most ${MAX_BY_LENGTH} characters, got ${by.length}`;
  if (!reason) fields['--reason'] = 'a reason is required: it is kept on the record';
  else if (reason.length > MAX_REASON_LENGTH) fields['--reason'] = `at most ${MAX_REASON_LENGTH} characters, got ${reason.length}`;
  if (Object.keys(fields).length > 0) throw new ValidationError('invalid operator input', fields);
  return { by, reason };
}
