/**
 * The `launchway` exit codes: one table, so CI can tell a rejected release from a failed one from a stack it could
 * not reach, and a pull-request check a breaking contract change from an error. The README's "Exit codes" table is
 * this one; keep them in step.
 */
export const EXIT = {
  /** The command did what it was asked; for `release --wait` and `demo`, the release SUCCEEDED. */
  OK: 0,
  /** Any other error: a release that does not exist, a refused approval, an unexpected failure. */
  ERROR: 1,
  /** Usage or validation: an unknown or missing option, a bad value, a missing environment variable. */
  USAGE: 2,
  /** `launchway diff`: the contract changes something partners rely on (at least one breaking change). */
  BREAKING_API_CHANGE: 3,
  /** `release --wait --timeout`: the wait ended before the release did; the release goes on. */
  WAIT_TIMEOUT: 4,
  /** DynamoDB, S3, Step Functions or the approval API could not be reached (refused, unknown host, timeout). */
  UNREACHABLE: 5,
} as const;

/**
 * How a release ended, as an exit code. Keyed by the status string rather than by the ReleaseStatus type, so
 * statuses added to the records later (they are listed here already) need no change of type.
 */
export const RELEASE_EXIT_CODES: Readonly<Record<string, number>> = {
  SUCCEEDED: EXIT.OK,
  FAILED: 10,
  REJECTED: 11,
  EXPIRED: 12,
  ROLLED_BACK: 13,
  ROLLBACK_FAILED: 14,
  CANCELLED: 15,
  SUPERSEDED: 15,
};

/** The exit code for a release that ended with `status`; an unknown status is a plain error, never success. */
export function exitCodeForStatus(status: string): number {
  return Object.hasOwn(RELEASE_EXIT_CODES, status) ? RELEASE_EXIT_CODES[status] : EXIT.ERROR;
}
