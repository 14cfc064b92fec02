import { describe, expect, it } from 'vitest';
import type { SmokeResult } from '../../functions/lib/newman-runner.js';
import { escapeMarkdown, formatDuration, renderReleaseNotes, type ReleaseNotesInput } from '../../functions/lib/release-notes.js';
import type { ReleaseApiChanges } from '../../functions/lib/store/records.js';

const at = (seconds: number) => new Date(Date.UTC(2026, 2, 1, 9, 0, 0) + seconds * 1000).toISOString();

const smoke = (stage: string, failed = 0): SmokeResult => ({
  total: 24,
  passed: 24 - failed,
  failed,
  requests: 7,
  failures: Array.from({ length: Math.min(failed, 10) }, (_, i) => ({
    name: `Request ${i}`,
    test: `check ${i}`,
    message: `expected ${i}`,
    ...(i === 0 ? { method: 'POST', path: '/greeter/v1/api/notes', status: 404 } : {}),
  })),
  durationMs: 1234,
  reportKeys: { json: `reports/greeter/r1/${stage}/newman.json`, junit: `reports/greeter/r1/${stage}/junit.xml` },
});

function input(overrides: Partial<ReleaseNotesInput> = {}): ReleaseNotesInput {
  return {
    release: {
      releaseId: 'greeter-1.1.0-4f2c9e1a7b3d',
      service: 'greeter',
      version: '1.1.0',
      commit: '4f2c9e1a7b3d5e6f',
      branch: 'main',
      triggeredBy: 'ci@example.com',
      createdAt: at(0),
      changes: [
        { title: 'fix(greetings): 400 for a malformed escape', sha: 'c3d4e5f60718', author: 'Alan' },
        { title: 'feat(greetings): greet in French', sha: '4f2c9e1a7b3d', author: 'Ada', url: 'https://git.example.com/c/4f2c9e1' },
        { title: 'docs: describe lang' },
        { title: 'feat(api)!: drop the v0 route', sha: 'abcdef0123' },
        { title: 'Merge pull request #12' },
      ],
    },
    steps: [
      { step: 'DeployStaging', status: 'SUCCEEDED', startedAt: at(1), endedAt: at(4), durationMs: 3000 },
      { step: 'Prepare', status: 'SUCCEEDED', startedAt: at(0), endedAt: at(0.5), durationMs: 500 },
      { step: 'SmokeTestStaging', status: 'SUCCEEDED', startedAt: at(4), endedAt: at(6), durationMs: 2000, details: { total: 24 } },
      { step: 'Approval', status: 'SUCCEEDED', startedAt: at(6), endedAt: at(306) },
    ],
    staging: smoke('staging'),
    production: smoke('production'),
    approvals: [{ approver: 'lead@example.com', decision: 'APPROVED', comment: 'Ship it', decidedAt: at(300) }],
    interop: { baseUrl: 'http://127.0.0.1:4000/greeter/v1', routeCount: 2, deploymentId: 'dep-7' },
    previousVersion: '1.0.0',
    generatedAt: at(400),
    ...overrides,
  };
}

/** The lines of one `## ` section of the Markdown, without its heading. */
function section(markdown: string, heading: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(`## ${heading}`);
  expect(start, `section ${heading}`).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && (l.startsWith('## ') || l === '---'));
  return lines.slice(start + 1, end === -1 ? undefined : end).filter((l) => l.trim() !== '');
}

describe('renderReleaseNotes: Markdown', () => {
  it('titles the notes with service and version and states commit, branch, trigger and versions', () => {
    const { markdown } = renderReleaseNotes(input());
    const lines = markdown.split('\n');
    expect(lines[0]).toBe('# greeter 1.1.0');
    expect(markdown).toContain('- **Commit:** `4f2c9e1a7b3d5e6f` on branch `main`');
    expect(markdown).toContain(`- **Triggered by:** ci@example.com at ${at(0)}`);
    expect(markdown).toContain('- **Production:** 1.0.0 → 1.1.0');
    expect(markdown).toContain('- **Release id:** `greeter-1.1.0-4f2c9e1a7b3d`');
  });

  it('says so when there is no previous production version', () => {
    expect(renderReleaseNotes(input({ previousVersion: undefined })).markdown).toContain(
      '- **Production:** 1.1.0 (first production release)',
    );
  });

  it('groups changes by conventional-commit type under friendly headings, breaking changes first', () => {
    const changes = section(renderReleaseNotes(input()).markdown, 'Changes');
    const headings = changes.filter((l) => l.startsWith('### '));
    expect(headings).toEqual(['### Features', '### Bug fixes', '### Documentation', '### Other changes']);
    const warning = changes.findIndex((l) => l.includes('**Breaking changes**'));
    expect(warning).toBeGreaterThanOrEqual(0);
    expect(warning).toBeLessThan(changes.indexOf('### Features'));
    expect(changes).toContain('> - **api:** drop the v0 route (`abcdef0`)');

    const features = changes.slice(changes.indexOf('### Features') + 1, changes.indexOf('### Bug fixes'));
    expect(features).toEqual([
      '- **greetings:** greet in French ([`4f2c9e1`](https://git.example.com/c/4f2c9e1), by Ada)',
      '- **BREAKING** **api:** drop the v0 route (`abcdef0`)',
    ]);
    expect(changes).toContain('- **greetings:** 400 for a malformed escape (`c3d4e5f`, by Alan)');
    expect(changes).toContain('- Merge pull request #12');
  });

  it('says when no changes were listed', () => {
    const { markdown } = renderReleaseNotes(input({ release: { ...input().release, changes: [] } }));
    expect(section(markdown, 'Changes')).toEqual(['No changes were listed for this release.']);
  });

  it('reports staging and production results with counts and report keys', () => {
    const rows = section(renderReleaseNotes(input({ production: smoke('production', 2) })).markdown, 'Tests');
    expect(rows).toContain(
      '| Staging smoke tests | ✅ passed | 24 | 24 | 0 | 7 | 1.2 s | `reports/greeter/r1/staging/newman.json`, `reports/greeter/r1/staging/junit.xml` |',
    );
    expect(rows).toContain(
      '| Production validation | ❌ failed | 24 | 22 | 2 | 7 | 1.2 s | `reports/greeter/r1/production/newman.json`, `reports/greeter/r1/production/junit.xml` |',
    );
    expect(rows).toContain('- Request 1 › check 1: expected 1');
    // A failure names what was sent and what came back, so a 404 from a wrong path is visible in the notes.
    expect(rows).toContain('- Request 0 (POST /greeter/v1/api/notes → 404) › check 0: expected 0');
    expect(rows.some((l) => l.startsWith('Staging failures'))).toBe(false);
  });

  it('marks tests that did not run, and a run with no checks', () => {
    const empty: SmokeResult = { ...smoke('staging'), total: 0, passed: 0 };
    const rows = section(renderReleaseNotes(input({ staging: empty, production: undefined })).markdown, 'Tests');
    expect(rows.find((l) => l.startsWith('| Staging'))).toContain('⚠️ no checks');
    expect(rows.find((l) => l.startsWith('| Production'))).toBe('| Production validation | not run | | | | | | |');
  });

  it('lists approvers with decision, time and comment', () => {
    const rows = section(renderReleaseNotes(input()).markdown, 'Approvals');
    expect(rows).toContain(`| lead@example.com | ✅ approved | ${at(300)} | Ship it |`);
  });

  it('tabulates step timings in pipeline order with a wall-clock total', () => {
    const rows = section(renderReleaseNotes(input()).markdown, 'Timings');
    const steps = rows.slice(2).map((l) => l.split('|')[1]!.trim());
    expect(steps).toEqual(['Prepare', 'DeployStaging', 'SmokeTestStaging', 'Approval', '**Total (wall clock)**']);
    expect(rows).toContain(`| Approval | SUCCEEDED | ${at(6)} | 5 min 00 s |`);
    expect(rows).toContain(`| Prepare | SUCCEEDED | ${at(0)} | 500 ms |`);
    expect(rows.at(-1)).toBe('| **Total (wall clock)** | | | **5 min 06 s** |');
  });

  it('links the partner API', () => {
    expect(section(renderReleaseNotes(input()).markdown, 'Partner API')).toEqual([
      'Published at <http://127.0.0.1:4000/greeter/v1>: 2 routes, deployment `dep-7`.',
    ]);
    expect(renderReleaseNotes(input({ interop: undefined })).markdown).not.toContain('## Partner API');
  });

  it('escapes commit text so it cannot inject HTML, links, emphasis, table cells or new blocks', () => {
    const hostile = {
      title: 'fix: <img src=x onerror=alert(1)> *bold* [click](javascript:alert(1)) a|b\n# heading `tick`',
      sha: 'not-a-sha`',
      author: 'Eve_<script>',
      url: 'javascript:alert(1)',
    };
    const { markdown } = renderReleaseNotes(
      input({
        release: { ...input().release, changes: [hostile] },
        approvals: [{ approver: 'qa@example.com', decision: 'REJECTED', comment: 'no | way\n## Injected', decidedAt: at(9) }],
      }),
    );
    expect(markdown).not.toContain('<img');
    expect(markdown).not.toContain('<script>');
    // The brackets are escaped, so no link is formed, and the unsafe url gets no link either.
    expect(markdown).not.toMatch(/(?<!\\)\]\(javascript:/);
    expect(markdown).not.toMatch(/^# heading/m);
    expect(markdown).not.toMatch(/^## Injected/m);
    const lines = markdown.split('\n');
    const first = lines.findIndex((l) => l.startsWith('- ') && l.includes('onerror'));
    // The title's second line is kept, under the first (which ends with a hard line break), escaped like the first.
    expect(lines[first]).toBe(
      '- &lt;img src=x onerror=alert(1)&gt; \\*bold\\* \\[click\\](javascript:alert(1)) a\\|b (not-a-sha\\`, by Eve\\_&lt;script&gt;)\\',
    );
    expect(lines[first + 1]).toBe('  \\# heading \\`tick\\`');
    expect(section(markdown, 'Approvals')).toContain(`| qa@example.com | ❌ rejected | ${at(9)} | no \\| way ## Injected |`);
  });

  it('ends with the generation time when it is given', () => {
    expect(renderReleaseNotes(input()).markdown.trimEnd().split('\n').slice(-3)).toEqual([
      '---',
      '',
      `_Generated by Launchway at ${at(400)}._`,
    ]);
  });
});

describe('renderReleaseNotes: API changes for partners', () => {
  const apiChanges: ReleaseApiChanges = {
    against: { releaseId: 'greeter-1.0.0-aaaa111', version: '1.0.0' },
    changes: [
      {
        severity: 'non-breaking',
        method: 'GET',
        path: '/languages',
        location: 'path',
        change: 'the operation was added, on a new path',
        rule: 'path-added',
      },
      {
        severity: 'breaking',
        method: 'GET',
        path: '/greetings/{name}',
        location: 'response 200 application/json body.message',
        change: 'property `message` was removed <script>x</script>\u202e',
        rule: 'response-property-removed',
      },
    ],
    breaking: 1,
    deprecations: 0,
    nonBreaking: 1,
    policy: 'approve',
    ownerApprovalRequired: true,
    apiOwners: ['api_owner@example.com'],
  };

  it('follows the changes with the API changes, breaking first, and who had to approve them', () => {
    const { markdown } = renderReleaseNotes(input({ apiChanges }));
    expect(section(markdown, 'API changes for partners')).toEqual([
      'Compared with 1.0.0, the version in production.',
      '1 breaking, 0 deprecated, 1 non-breaking.',
      '### Breaking',
      '- `GET /greetings/{name}`: property `message` was removed \\<script\\>x\\</script\\> (at `response 200 application/json body.message`, rule `response-property-removed`)',
      '### Non-breaking',
      '- `GET /languages`: the operation was added, on a new path (at `path`, rule `path-added`)',
      "The breaking changes need an API owner's approval. API owners: api\\_owner@example.com.",
    ]);
    const headings = markdown.split('\n').filter((l) => l.startsWith('## '));
    expect(headings.indexOf('## API changes for partners')).toBe(headings.indexOf('## Changes') + 1);
  });

  it('says so on a first release, and has no section when the record has no API changes', () => {
    const first = renderReleaseNotes(input({ apiChanges: { ...apiChanges, against: null, changes: [], breaking: 0, nonBreaking: 0 } }));
    expect(section(first.markdown, 'API changes for partners')).toEqual([
      'First release of this contract: there is no live contract to compare with.',
    ]);
    expect(renderReleaseNotes(input()).markdown).not.toContain('API changes');
  });

  it('carries every change and the policy in the JSON, made safe, and null without them', () => {
    const { json } = renderReleaseNotes(input({ apiChanges }));
    expect(json.apiChanges).toMatchObject({
      against: { version: '1.0.0' },
      breaking: 1,
      policy: 'approve',
      apiOwners: ['api_owner@example.com'],
    });
    expect(json.apiChanges!.changes.map((c) => c.rule)).toEqual(['path-added', 'response-property-removed']);
    expect(json.apiChanges!.changes[1].change).toBe('property `message` was removed <script>x</script>');
    expect(renderReleaseNotes(input()).json.apiChanges).toBeNull();
  });
});

describe('renderReleaseNotes: JSON', () => {
  it('carries the same data, machine-readable, with schemaVersion 1', () => {
    const { json } = renderReleaseNotes(input());
    expect(json).toMatchObject({
      schemaVersion: 1,
      releaseId: 'greeter-1.1.0-4f2c9e1a7b3d',
      service: 'greeter',
      version: '1.1.0',
      previousVersion: '1.0.0',
      commit: '4f2c9e1a7b3d5e6f',
      branch: 'main',
      triggeredBy: 'ci@example.com',
      generatedAt: at(400),
      interop: { baseUrl: 'http://127.0.0.1:4000/greeter/v1', routeCount: 2, deploymentId: 'dep-7' },
      approvals: [{ approver: 'lead@example.com', decision: 'APPROVED', comment: 'Ship it', decidedAt: at(300) }],
      totalDurationMs: 306_000,
    });
    expect(json.tests.staging).toEqual(smoke('staging'));
    expect(json.changes.groups.map((g) => g.type)).toEqual(['feat', 'fix', 'docs', 'other']);
    expect(json.changes.breaking).toEqual([
      {
        title: 'feat(api)!: drop the v0 route',
        type: 'feat',
        scope: 'api',
        subject: 'drop the v0 route',
        breaking: true,
        sha: 'abcdef0123',
        author: null,
        url: null,
      },
    ]);
    expect(json.steps.map((s) => [s.step, s.durationMs])).toEqual([
      ['Prepare', 500],
      ['DeployStaging', 3000],
      ['SmokeTestStaging', 2000],
      ['Approval', 300_000],
    ]);
    expect(json.steps[2]!.details).toEqual({ total: 24 });
    // Raw text is kept in the JSON; escaping is the Markdown's business.
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('uses null for what did not happen', () => {
    const { json } = renderReleaseNotes(
      input({
        staging: undefined,
        production: undefined,
        interop: undefined,
        previousVersion: undefined,
        generatedAt: undefined,
        steps: [],
      }),
    );
    expect(json.tests).toEqual({ staging: null, production: null });
    expect(json.interop).toBeNull();
    expect(json.previousVersion).toBeNull();
    expect(json.generatedAt).toBeNull();
    expect(json.totalDurationMs).toBeNull();
  });

  it('is pure: the same input renders the same output', () => {
    expect(renderReleaseNotes(input())).toEqual(renderReleaseNotes(input()));
  });
});

describe('helpers', () => {
  it('formats durations for people', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(185_000)).toBe('3 min 05 s');
    expect(formatDuration(3_720_000)).toBe('1 h 02 min');
  });

  it('escapes Markdown-breaking characters and nothing needlessly', () => {
    expect(escapeMarkdown('Hello, Ada! v1.2 (beta) - ok')).toBe('Hello, Ada! v1.2 (beta) - ok');
    expect(escapeMarkdown('a_b *c* `d` [e] f|g ~h~ \\ <i> & j\nk')).toBe(
      'a\\_b \\*c\\* \\`d\\` \\[e\\] f\\|g \\~h\\~ \\\\ &lt;i&gt; &amp; j k',
    );
  });
});
