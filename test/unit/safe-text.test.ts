import { describe, expect, it } from 'vitest';
import { confirmationPage } from '../../functions/approval-api/pages.js';
import { buildApprovalEmail } from '../../functions/lib/approvals/approval-email.js';
import type { LinkDescription } from '../../functions/lib/approvals/confirmation-view.js';
import { renderReleaseNotes } from '../../functions/lib/release-notes.js';
import { safeJson, safeLine, safeLines, safeText } from '../../functions/lib/safe-text.js';

/** Every character the outputs must never carry: C0 (but tab and newline), DEL, C1 and the bidi controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this looks for.
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

const HOSTILE_TITLE =
  'feat(api): \u202Etxt.exe\u202C greet in French\u0007\n\u001b[31mred body line\u001b[0m\r\nthird line \u2066isolated\u2069';
const COMMENT = 'looks fine\u200F\nsecond thought \u001b]0;owned\u0007ok';

const release = {
  releaseId: 'greeter-1.1.0-abc1234',
  service: 'greeter',
  version: '1.1.0',
  commit: 'abc1234',
  branch: 'main\u202E',
  triggeredBy: 'ci\u0000@example.com',
  changes: [{ title: HOSTILE_TITLE, sha: 'abc1234', author: 'Eve\u009b2J' }],
};

function expectAllLines(out: string) {
  expect(out).not.toMatch(UNSAFE);
  expect(out).not.toContain('[31m');
  expect(out).toContain('txt.exe');
  expect(out).toContain('greet in French');
  expect(out).toContain('red body line');
  expect(out).toContain('third line isolated');
}

describe('safeText', () => {
  it('removes control and bidirectional-override characters and whole escape sequences, keeping newlines and tabs', () => {
    expect(safeText('a\u202Eb\u2066c\u2069\u200E\u200F\u061Cd')).toBe('abcd');
    expect(safeText('ring\u0007 \u001b[1;31mred\u001b[0m \u009b2Jx \u001b]8;;http://evil\u001b\\link')).toBe('ring red x link');
    expect(safeText('tab\there\r\nnext\rlast\u2028sep')).toBe('tab\there\nnext\nlast\nsep');
    expect(safeText(undefined)).toBe('');
  });

  it('splits lines, drops blank ones, and joins them for one-line places', () => {
    expect(safeLines('  first\n\n second  \r\n')).toEqual(['  first', ' second']);
    expect(safeLine('first\n second')).toBe('first second');
  });

  it('makes every string of a JSON value safe, keys included', () => {
    expect(safeJson({ 'k\u202E': ['a\u0007', { b: 'c\u001b[0m' }], n: 1, z: null })).toEqual({ k: ['a', { b: 'c' }], n: 1, z: null });
  });
});

describe('what people are shown carries no control characters and every line of a title', () => {
  it('the approval page', () => {
    const view: LinkDescription = {
      link: { approvalId: 'ap-1', decision: 'approve', approver: 'lead@example.com', expires: 1_900_000_000 },
      approval: {
        approvalId: 'ap-1',
        releaseId: release.releaseId,
        service: 'greeter',
        status: 'PENDING',
        approvers: ['lead@example.com', 'qa@example.com'],
        requiredApprovals: 2,
        decisions: [{ approver: 'qa@example.com', decision: 'approve', decidedAt: '2026-01-01T00:00:00.000Z', comment: COMMENT }],
        approvedBy: ['qa@example.com'],
        rejectedBy: [],
        expiresAt: 1_900_000_000,
        createdAt: '2026-01-01T00:00:00.000Z',
      },
      release: { ...release, status: 'AWAITING_APPROVAL', createdAt: '2026-01-01T00:00:00.000Z' },
      allowedDecisions: ['approve', 'reject'],
    };
    const html = confirmationPage(view, '/approvals/ap-1');
    expectAllLines(html);
    expect(html).toContain('greet in French<br>red body line<br>third line isolated');
    expect(html).toContain('looks fine<br>second thought ok');
  });

  for (const reminder of [
    undefined,
    { decisions: [{ approver: 'qa@example.com', decision: 'approve' as const, decidedAt: 'now', comment: COMMENT }] },
  ]) {
    it(`the approval ${reminder ? 'reminder' : 'email'}, text and HTML`, () => {
      const email = buildApprovalEmail({
        release,
        approvalId: 'ap-1',
        approver: 'lead@example.com',
        links: { approve: 'https://approvals.example.com/a?sig=1', reject: 'https://approvals.example.com/r?sig=2' },
        requiredApprovals: 2,
        approverCount: 2,
        expiresAt: 1_900_000_000,
        reminder,
      });
      for (const out of [email.text, email.html!, email.subject]) expect(out).not.toMatch(UNSAFE);
      expectAllLines(email.text);
      expectAllLines(email.html!);
      // In the text, the title's further lines are indented under its list item.
      expect(email.text).toContain(
        '  - feat(api): txt.exe greet in French (abc1234, by Eve)\n    red body line\n    third line isolated\n',
      );
      expect(email.html).toContain('greet in French<br>red body line<br>third line isolated');
      if (reminder) expect(email.text).toContain('looks fine second thought ok');
    });
  }

  it('the release notes, Markdown and JSON', () => {
    const { markdown, json } = renderReleaseNotes({
      release: { ...release, createdAt: '2026-01-01T00:00:00.000Z' },
      steps: [{ step: 'Prepare', status: 'SUCCEEDED', startedAt: '2026-01-01T00:00:00.000Z', details: { note: 'x\u001b[2Jy' } }],
      approvals: [{ approver: 'qa@example.com', decision: 'approve', comment: COMMENT, decidedAt: '2026-01-01T00:00:00.000Z' }],
    });
    expectAllLines(markdown);
    // One list item: the subject, then each further line of the title, each ending the line before with a hard break.
    expect(markdown).toContain('- **api:** txt.exe greet in French (`abc1234`, by Eve)\\\n  red body line\\\n  third line isolated\n');
    const serialized = JSON.stringify(json);
    expect(JSON.parse(serialized)).toEqual(json);
    expect(serialized).not.toMatch(/\\u00|\\u20|\\u06/);
    expectAllLines(Object.values(json.changes.groups[0].changes[0]).join('\n'));
    expect(json.changes.groups[0].changes[0].title).toBe('feat(api): txt.exe greet in French\nred body line\nthird line isolated');
    expect(json.branch).toBe('main');
    expect(json.steps[0].details).toEqual({ note: 'xy' });
  });
});
