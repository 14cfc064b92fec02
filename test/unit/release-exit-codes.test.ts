import { describe, expect, it } from 'vitest';
import { describeRelease } from '../../cli/format.js';
import { EXIT_CODE_ROLLBACK_FAILED, exitCodeOf } from '../../cli/release-client.js';
import { TERMINAL_STATUSES, type ReleaseView } from '../../functions/lib/store/records.js';

/** What `launchway release --wait` exits with, and what `status` says, for each terminal status. */
describe('release --wait exit codes and status output', () => {
  it('exits 0 only on SUCCEEDED, 3 on ROLLBACK_FAILED, 1 on every other terminal status', () => {
    expect(EXIT_CODE_ROLLBACK_FAILED).toBe(3);
    expect(Object.fromEntries(TERMINAL_STATUSES.map((s) => [s, exitCodeOf(s)]))).toEqual({
      SUCCEEDED: 0,
      FAILED: 1,
      REJECTED: 1,
      EXPIRED: 1,
      CANCELLED: 1,
      SUPERSEDED: 1,
      ROLLED_BACK: 1,
      ROLLBACK_FAILED: 3,
    });
  });

  it('shows the failing state, what a rollback was undoing, who stopped a release, and warnings', () => {
    const view: ReleaseView = {
      releaseId: 'greeter-1.1.0-abc1234',
      service: 'greeter',
      version: '1.1.0',
      commit: 'abc1234',
      branch: 'main',
      triggeredBy: 'ci@example.com',
      status: 'ROLLBACK_FAILED',
      request: {},
      changes: [],
      createdAt: '2026-11-21T00:00:00.000Z',
      updatedAt: '2026-11-21T00:00:00.000Z',
      error: {
        error: 'RollbackFailed',
        cause: 'could not restore greeter 1.0.0',
        state: 'Rollback',
        rollbackOf: { error: 'ProductionValidationFailed', cause: '1 of 3 failed', state: 'ValidateProduction' },
      },
      warnings: [{ step: 'PublishReleaseNotes', error: 'AccessDenied', cause: 'no PutObject' }],
      stopRequest: { status: 'CANCELLED', by: 'ops@example.com', reason: 'wrong build', at: '2026-11-21T00:01:00.000Z' },
      steps: [],
    };
    const text = describeRelease(view);
    expect(text).toContain('production may be on the failed version: a person must act');
    expect(text).toContain('RollbackFailed: could not restore greeter 1.0.0 (in Rollback)');
    expect(text).toContain('rolling back after ProductionValidationFailed: 1 of 3 failed');
    expect(text).toContain('cancelled by ops@example.com: wrong build');
    expect(text).toContain('warning: PublishReleaseNotes failed (AccessDenied: no PutObject)');
  });
});
