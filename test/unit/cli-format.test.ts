import { describe, expect, it } from 'vitest';
import { apiChangesBlock, describeRelease } from '../../cli/format.js';
import type { ReleaseApiChanges, ReleaseView } from '../../functions/lib/store/records.js';

/** What `launchway status <id>` prints of a release's API changes: counts, owners, then the breaking ones. */

/** The terminal text without colours (they depend on the terminal the tests run in). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes are what this removes.
const plain = (text: string) => text.replace(/\u001b\[\d+m/g, '');

const breaking = (i: number) => ({
  severity: 'breaking' as const,
  method: 'GET',
  path: `/v${i}/<b>items</b>\u202e`,
  location: 'operation',
  change: `the operation was removed\u001b[2J (${i})`,
  rule: 'operation-removed' as const,
});

const apiChanges: ReleaseApiChanges = {
  against: { releaseId: 'greeter-1.0.0-aaaa111', version: '1.0.0' },
  changes: [
    breaking(1),
    {
      severity: 'non-breaking',
      method: 'GET',
      path: '/languages',
      location: 'path',
      change: 'the operation was added',
      rule: 'path-added',
    },
  ],
  breaking: 1,
  deprecations: 0,
  nonBreaking: 1,
  policy: 'approve',
  ownerApprovalRequired: true,
  apiOwners: ['api-owner@example.com'],
};

const view: ReleaseView = {
  releaseId: 'greeter-2.0.0-bbbb222',
  service: 'greeter',
  version: '2.0.0',
  commit: 'bbbb222',
  branch: 'main',
  triggeredBy: 'ci@example.com',
  status: 'AWAITING_APPROVAL',
  request: {},
  changes: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  apiChanges,
  links: { releaseNotes: 's3://b/release-notes/greeter/x.md' },
  steps: [],
};

describe('launchway status: API changes', () => {
  it('prints the counts against the live version, the owners, then each breaking change, before the links', () => {
    const lines = plain(describeRelease(view)).split('\n');
    const at = lines.findIndex((l) => l.startsWith('  API changes'));
    expect(lines.slice(at, at + 4)).toEqual([
      '  API changes against 1.0.0: 1 breaking, 0 deprecated, 1 non-breaking (interop.breakingChanges: approve)',
      "    The breaking changes need an API owner's approval. API owners: api-owner@example.com.",
      '    ✖ breaking GET /v1/<b>items</b>: the operation was removed (1) (at operation)',
      '  releaseNotes: s3://b/release-notes/greeter/x.md',
    ]);
    // Non-breaking changes are counted, not listed: the block stays compact.
    expect(lines.join('\n')).not.toContain('/languages');
    // Spec text reaches the terminal without escape sequences or bidi overrides.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequence is what this looks for.
    expect(describeRelease(view)).not.toMatch(/\u001b\[2J|\u202e/);
  });

  it('lists at most ten breaking changes, and says how many more', () => {
    const many = Array.from({ length: 12 }, (_, i) => breaking(i));
    const block = apiChangesBlock({ ...apiChanges, changes: many, breaking: 12, nonBreaking: 0, ownerApprovalRequired: false }).map(plain);
    expect(block).toHaveLength(12);
    expect(block[0]).toBe('  API changes against 1.0.0: 12 breaking, 0 deprecated, 0 non-breaking (interop.breakingChanges: approve)');
    expect(block[11]).toBe('    … and 2 more breaking (see the release notes)');
  });

  it('says when nothing changed, when there was nothing to compare, and nothing without the field', () => {
    expect(apiChangesBlock({ ...apiChanges, changes: [], breaking: 0, nonBreaking: 0 }).map(plain)).toEqual([
      '  API changes against 1.0.0: none',
    ]);
    expect(apiChangesBlock({ ...apiChanges, against: null }).map(plain)).toEqual([
      '  API changes: first release, no live contract to compare',
    ]);
    expect(apiChangesBlock(undefined)).toEqual([]);
    expect(plain(describeRelease({ ...view, apiChanges: undefined }))).not.toContain('API changes');
  });
});

describe('launchway status: the artifact digest', () => {
  it('prints the sha256 every deploy checks, under the release line, and nothing for a record without one', () => {
    const sha = 'a'.repeat(64);
    const lines = plain(describeRelease({ ...view, artifactSha256: sha })).split('\n');
    expect(lines[3]).toBe(`  artifact sha256 ${sha}`);
    expect(plain(describeRelease(view))).not.toContain('artifact sha256');
  });
});
