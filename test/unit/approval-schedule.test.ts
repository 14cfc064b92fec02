import { describe, expect, it } from 'vitest';
import { approvalSchedule, defaultReminderBeforeExpirySeconds } from '../../functions/lib/approvals/schedule.js';
import { parseCatalog } from '../../functions/lib/catalog.js';

describe('approval schedule', () => {
  it('defaults the reminder to a quarter of the timeout, at most an hour, none under a minute', () => {
    expect(defaultReminderBeforeExpirySeconds(24 * 3600)).toBe(3600);
    expect(defaultReminderBeforeExpirySeconds(3600)).toBe(900);
    expect(defaultReminderBeforeExpirySeconds(600)).toBe(150);
    expect(defaultReminderBeforeExpirySeconds(240)).toBe(60);
    expect(defaultReminderBeforeExpirySeconds(239)).toBe(0);
    expect(defaultReminderBeforeExpirySeconds(1)).toBe(0);
  });

  it('splits the timeout into the wait before the reminder and the rest', () => {
    expect(approvalSchedule({ approvalTimeoutSeconds: 86_400 })).toEqual({
      timeoutSeconds: 86_400,
      waitSeconds: 82_800,
      reminderSeconds: 3600,
    });
    expect(approvalSchedule({ approvalTimeoutSeconds: 10, approvalReminderBeforeExpirySeconds: 4 })).toEqual({
      timeoutSeconds: 10,
      waitSeconds: 6,
      reminderSeconds: 4,
    });
    // 0 turns the reminder off: RequestApproval waits the whole timeout and ReminderDue goes to MarkExpired.
    expect(approvalSchedule({ approvalTimeoutSeconds: 3600, approvalReminderBeforeExpirySeconds: 0 })).toEqual({
      timeoutSeconds: 3600,
      waitSeconds: 3600,
      reminderSeconds: 0,
    });
    expect(approvalSchedule({ approvalTimeoutSeconds: 1 })).toEqual({ timeoutSeconds: 1, waitSeconds: 1, reminderSeconds: 0 });
  });

  it('refuses a reminder that is not before expiry', () => {
    expect(() => approvalSchedule({ approvalTimeoutSeconds: 10, approvalReminderBeforeExpirySeconds: 10 })).toThrow(/from 0 to 9/);
    expect(() => approvalSchedule({ approvalTimeoutSeconds: 10, approvalReminderBeforeExpirySeconds: -1 })).toThrow(/got -1/);
  });

  it('the catalog validates approvalReminderBeforeExpirySeconds against approvalTimeoutSeconds, naming the field', () => {
    const target = { type: 'local-process' };
    const catalog = (over: Record<string, unknown>) => ({
      services: { greeter: { approvers: ['lead@example.com'], staging: target, production: target, ...over } },
    });
    expect(
      parseCatalog(catalog({ approvalTimeoutSeconds: 600, approvalReminderBeforeExpirySeconds: 120 })).services.greeter!
        .approvalReminderBeforeExpirySeconds,
    ).toBe(120);
    expect(parseCatalog(catalog({})).services.greeter!.approvalReminderBeforeExpirySeconds).toBeUndefined();
    expect(() => parseCatalog(catalog({ approvalTimeoutSeconds: 600, approvalReminderBeforeExpirySeconds: 600 }))).toThrow(
      /services\.greeter\.approvalReminderBeforeExpirySeconds: approvalReminderBeforeExpirySeconds must be less than approvalTimeoutSeconds/,
    );
    expect(() => parseCatalog(catalog({ approvalReminderBeforeExpirySeconds: 1.5 }))).toThrow(/approvalReminderBeforeExpirySeconds/);
  });
});
