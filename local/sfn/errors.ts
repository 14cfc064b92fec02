/**
 * Errors of the local Step Functions endpoint, named exactly as the AWS JSON protocol names them, so the SDK's
 * `SFNClient` raises its own modelled exception classes (`ExecutionDoesNotExist`, ...) and the AWS CLI prints the
 * same error code it prints against AWS.
 */
export type SfnErrorType =
  | 'ExecutionDoesNotExist'
  | 'ExecutionAlreadyExists'
  | 'ExecutionNotRedrivable'
  | 'StateMachineDoesNotExist'
  | 'InvalidName'
  | 'InvalidArn'
  | 'InvalidExecutionInput'
  | 'InvalidOutput'
  | 'InvalidToken'
  | 'TaskDoesNotExist'
  | 'TaskTimedOut'
  | 'ValidationException'
  | 'SerializationException'
  | 'UnknownOperationException'
  | 'InternalFailure';

/** An error the endpoint answers with: HTTP status plus `{"__type": type, "message": message}`. */
export class SfnServiceError extends Error {
  override readonly name = 'SfnServiceError';
  constructor(
    readonly type: SfnErrorType,
    message: string,
    readonly statusCode = type === 'InternalFailure' ? 500 : 400,
  ) {
    super(message);
  }
}

/**
 * An error with a chosen `name`, which is what the engine's Retry and Catch match on. Built fresh, without a
 * `cause`, because the engine reports `error.cause ?? error.message` as the Cause and a nested Error object there
 * would not serialise.
 */
export function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}
