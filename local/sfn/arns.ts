import { SfnServiceError } from './errors.js';

/** Where the local endpoint pretends to live; every ARN it issues carries these. */
export interface ArnScope {
  region: string;
  accountId: string;
}

export function stateMachineArn(scope: ArnScope, name: string): string {
  return `arn:aws:states:${scope.region}:${scope.accountId}:stateMachine:${name}`;
}

export function executionArn(scope: ArnScope, stateMachineName: string, executionName: string): string {
  return `arn:aws:states:${scope.region}:${scope.accountId}:execution:${stateMachineName}:${executionName}`;
}

export function lambdaFunctionArn(scope: ArnScope, functionName: string): string {
  return `arn:aws:lambda:${scope.region}:${scope.accountId}:function:${functionName}`;
}

const ARN_SHAPE = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:(stateMachine|execution):[^:]+(?::[^:]+)?$/;

/**
 * Checks that `arn` is a Step Functions ARN of the expected resource type, as AWS does before it looks anything
 * up: a malformed ARN is `InvalidArn`, a well-formed one that names nothing is a `...DoesNotExist` error.
 */
export function assertArn(arn: string, resource: 'stateMachine' | 'execution', field: string): void {
  const match = ARN_SHAPE.exec(arn);
  const parts = arn.split(':');
  // A state machine ARN has 7 parts; an execution ARN 8 (the state machine name and the execution name).
  const expectedParts = resource === 'stateMachine' ? 7 : 8;
  if (!match || match[1] !== resource || parts.length !== expectedParts) {
    const expected = resource === 'execution' ? 'an execution' : 'a state machine';
    throw new SfnServiceError('InvalidArn', `Invalid Arn: '${arn}' in ${field} is not ${expected} ARN`);
  }
}

// AWS forbids these in execution and state machine names (whitespace, brackets, wildcards, special and control
// characters); anything else printable is allowed, so a name that works locally also works on AWS and back.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this rejects.
const FORBIDDEN_NAME_CHARS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

/** Throws `InvalidName` unless `name` is 1-80 characters without the characters AWS forbids. */
export function assertName(name: string, what: string): void {
  if (name.length < 1 || name.length > 80) {
    throw new SfnServiceError('InvalidName', `Invalid Name: '${name}': ${what} must be 1 to 80 characters long`);
  }
  const bad = FORBIDDEN_NAME_CHARS.exec(name);
  if (bad) {
    throw new SfnServiceError(
      'InvalidName',
      `Invalid Name: '${name}': ${what} must not contain ${JSON.stringify(bad[0])} (no whitespace, brackets, wildcards or any of "#%\\^|~\`$&,;:/)`,
    );
  }
}
