/**
 * When an approval reminds and when it expires. Prepare puts these numbers in the state machine's `release`
 * summary (the ASL waits with them) and the approval service stores the same points on the approval item, so the
 * state machine and the links agree on one timeline:
 *
 * ```
 * requested ──── waitSeconds ────▶ reminder ──── reminderSeconds ────▶ expiry
 * |◀──────────────────────── timeoutSeconds ──────────────────────────▶|
 * ```
 */

/** The catalog fields the schedule is computed from. */
export interface ApprovalTimingConfig {
  approvalTimeoutSeconds: number;
  /** Seconds before expiry to remind; `0` turns the reminder off; absent means the default. */
  approvalReminderBeforeExpirySeconds?: number;
}

/** The approval's timeline in whole seconds. */
export interface ApprovalSchedule {
  /** From the request to expiry. */
  timeoutSeconds: number;
  /** How long RequestApproval waits: until the reminder, or until expiry when there is none. */
  waitSeconds: number;
  /** How long RemindApprovers waits after the reminder, until expiry; `0` when there is no reminder. */
  reminderSeconds: number;
}

/** The default reminder is at most this long before expiry. */
export const DEFAULT_REMINDER_MAX_SECONDS = 3600;
/** Below this lead time the default is no reminder: a reminder a few seconds before expiry helps nobody. */
export const DEFAULT_REMINDER_MIN_SECONDS = 60;

/**
 * The reminder lead time when the catalog does not set one: a quarter of the timeout, at most an hour, and none
 * when that would be under a minute (timeouts under four minutes). A 24-hour approval reminds 1 hour before expiry,
 * a 1-hour approval 15 minutes before.
 */
export function defaultReminderBeforeExpirySeconds(timeoutSeconds: number): number {
  const lead = Math.min(DEFAULT_REMINDER_MAX_SECONDS, Math.floor(timeoutSeconds / 4));
  return lead >= DEFAULT_REMINDER_MIN_SECONDS ? lead : 0;
}

/**
 * The schedule of a service's approvals. Throws when the reminder is not strictly before the timeout; the catalog
 * schema refuses such an entry already, so this only guards callers that skip it.
 */
export function approvalSchedule(config: ApprovalTimingConfig): ApprovalSchedule {
  const timeoutSeconds = config.approvalTimeoutSeconds;
  const reminderSeconds = config.approvalReminderBeforeExpirySeconds ?? defaultReminderBeforeExpirySeconds(timeoutSeconds);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) {
    throw new Error(`approvalTimeoutSeconds must be a positive integer, got ${timeoutSeconds}`);
  }
  if (!Number.isInteger(reminderSeconds) || reminderSeconds < 0 || reminderSeconds >= timeoutSeconds) {
    throw new Error(
      `approvalReminderBeforeExpirySeconds must be an integer from 0 to ${timeoutSeconds - 1} (less than approvalTimeoutSeconds), got ${reminderSeconds}`,
    );
  }
  return { timeoutSeconds, waitSeconds: timeoutSeconds - reminderSeconds, reminderSeconds };
}
