import { describe, expect, it } from 'vitest';
import { buildOutcomeEmail } from '../../functions/lib/notify/outcome-email.js';
import type { ReleaseRecord } from '../../functions/lib/store/records.js';

const release = (over: Partial<ReleaseRecord> = {}): ReleaseRecord => ({
  releaseId: 'greeter-1.1.0-abc1234',
  service: 'greeter',
  version: '1.1.0',
  commit: 'abc1234',
  branch: 'main',
  triggeredBy: 'ci@example.com',
  status: 'SUCCEEDED',
  request: {},
  changes: [],
  createdAt: '2026-11-21T00:00:00.000Z',
  updatedAt: '2026-11-21T00:00:00.000Z',
  ...over,
});

describe('outcome email', () => {
  it('says what happened to production for each terminal status, in text and HTML', () => {
    const expired = buildOutcomeEmail(release({ status: 'EXPIRED' }), ['lead@example.com'], 'nobody decided');
    expect(expired.subject).toBe('[Launchway] greeter 1.1.0: EXPIRED');
    expect(expired.text).toContain('expired');
    expect(expired.text).toContain('nothing was deployed to production');
    expect(expired.html).toContain('nothing was deployed to production');
    expect(expired.tags).toEqual({ kind: 'release-outcome', releaseId: 'greeter-1.1.0-abc1234', status: 'EXPIRED' });

    const rolledBack = buildOutcomeEmail(release({ status: 'ROLLED_BACK' }), ['lead@example.com'], 'validation failed');
    expect(rolledBack.text).toContain('rolled back');
    expect(rolledBack.text).toContain('Reason: validation failed');
  });

  it('links the release notes and escapes release text in the HTML part', () => {
    const email = buildOutcomeEmail(
      release({ triggeredBy: '<img src=x onerror=alert(1)>', links: { releaseNotes: 's3://b/release-notes/greeter/x.md' } }),
      ['a@example.com'],
    );
    expect(email.text).toContain('Release notes: s3://b/release-notes/greeter/x.md');
    expect(email.html).not.toContain('<img');
    expect(email.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });
});
