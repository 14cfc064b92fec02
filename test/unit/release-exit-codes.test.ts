import { describe, expect, it } from 'vitest';
import { describeRelease } from '../../cli/format.js';
import { EXIT, RELEASE_EXIT_CODES, exitCodeForStatus } from '../../cli/exit-codes.js';
import { TERMINAL_STATUSES, type ReleaseView } from '../../functions/lib/store/records.js';

/** What `launchway release --wait` exits with, and what `status` says, for each terminal status. */
describe('release --wait exit codes and status output', () => {
  it('exits 0 only on SUCCEEDED, and a code of its own for every other terminal status (ROLLBACK_FAILED 14)', () => {
    expect(Object.fromEntries(TERMINAL_STATUSES.map((s) => [s, exitCodeForStatus(s)]))).toEqual({
      SUCCEEDED: 0,
      FAILED: 10,
      REJECTED: 11,
      EXPIRED: 12,
      CANCELLED: 15,
      SUPERSEDED: 15,
      ROLLED_BACK: 13,
      ROLLBACK_FAILED: 14,
    });
  });

  it('gives every outcome its own code: 3 is a breaking diff (issue 9), 5 a stack it cannot reach', () => {
    expect(EXIT).toEqual({ OK: 0, ERROR: 1, USAGE: 2, BREAKING_API_CHANGE: 3, WAIT_TIMEOUT: 4, UNREACHABLE: 5 });
    // No release status shares a code with a command outcome (SUCCEEDED is 0 by design).
    const statusCodes = Object.entries(RELEASE_EXIT_CODES)
      .filter(([s]) => s !== 'SUCCEEDED')
      .map(([, c]) => c);
    expect(statusCodes.filter((c) => Object.values(EXIT).includes(c as never))).toEqual([]);
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
