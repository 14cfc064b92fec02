/**
 * Domain errors. Each has a stable `name`, because Step Functions matches Retry and Catch on the
 * error name a Lambda throws (`errorType`), and the embedded engine matches on `error.name` the same way.
 */

/** Field-level problems, keyed by a dotted path such as `request.version`. */
export type FieldErrors = Record<string, string>;

abstract class LaunchwayError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The release request or a file it points at is not acceptable. Nothing but a failed record is written. */
export class ValidationError extends LaunchwayError {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly fields: FieldErrors = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A secret the catalog names cannot be read: missing, not readable, or without the JSON key named. */
export class SecretUnavailableError extends LaunchwayError {
  override readonly name = 'SecretUnavailable';
}

/** A record the caller asked for does not exist. */
export class NotFoundError extends LaunchwayError {
  override readonly name = 'NotFoundError';
}

/** Another release of the same service holds the lock for longer than this release may wait. */
export class LockTimeoutError extends LaunchwayError {
  override readonly name = 'LockTimeout';
}

/** A deployment started but the new version never became healthy, or the provider reported failure. */
export class DeploymentFailedError extends LaunchwayError {
  override readonly name = 'DeploymentFailed';
}

/**
 * The artifact in S3 is not the one the release recorded at Prepare (its sha256 differs): it was replaced or damaged,
 * or its archive holds an entry that would leave its directory. Nothing is started from it; the deploy fails as any
 * other would (FAILED before production, a rollback after).
 */
export class ArtifactIntegrityError extends LaunchwayError {
  override readonly name = 'ArtifactIntegrity';
}

/** The staging smoke tests ran and at least one assertion failed. */
export class SmokeTestsFailedError extends LaunchwayError {
  override readonly name = 'SmokeTestsFailed';
}

/** The post-deploy validation of production failed; the pipeline rolls production back. */
export class ProductionValidationFailedError extends LaunchwayError {
  override readonly name = 'ProductionValidationFailed';
}

/** The interop layer could not be provisioned from the service's OpenAPI contract. */
export class InteropProvisioningFailedError extends LaunchwayError {
  override readonly name = 'InteropProvisioningFailed';
}

/**
 * A step attempt lost its fence: its release no longer holds the service lock, or a later attempt (a retry, the
 * Rollback) now owns the step. The attempt has undone its own effect and written nothing else.
 */
export class FencedOutError extends LaunchwayError {
  override readonly name = 'FencedOut';
}

/** Rolling production back failed; an operator has to look. */
export class RollbackFailedError extends LaunchwayError {
  override readonly name = 'RollbackFailed';
}

/**
 * A release failed before production and its record is FAILED: the execution fails with it (HoldForRedrive), where
 * `launchway redrive` can resume it.
 */
export class ReleaseFailedError extends LaunchwayError {
  override readonly name = 'ReleaseFailed';
}

/**
 * The release's contract breaks the one partners have (the live release's) and the catalog's
 * `interop.breakingChanges` is `block`: Prepare ends the release before staging, the changes listed in the message.
 */
export class BreakingApiChangeError extends LaunchwayError {
  override readonly name = 'BreakingApiChange';
}

/** A conditional write lost a race (for example a second decision by the same approver). */
export class ConflictError extends LaunchwayError {
  override readonly name = 'ConflictError';
}

/** Turns any thrown value into `{ error, cause }`, the shape Step Functions uses for task failures. */
export function describeError(err: unknown): { error: string; cause: string } {
  if (err instanceof Error) return { error: err.name, cause: err.message };
  return { error: 'Error', cause: String(err) };
}
