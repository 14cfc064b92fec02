import { describe, expect, it } from 'vitest';
import { confirmationPage } from '../../functions/approval-api/pages.js';
import { buildApprovalEmail } from '../../functions/lib/approvals/approval-email.js';
import type { LinkDescription } from '../../functions/lib/approvals/confirmation-view.js';
import type { ReleaseApiChanges } from '../../functions/lib/store/records.js';

/**
 * What the release breaks for partners, where approvers decide: on the confirmation page and in the approval email,
 * above the buttons and links, breaking changes marked, and the API owners named when their approval is needed.
 */

/** Control and bidirectional-override characters, which no rendering keeps. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this looks for.
const UNSAFE_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** Live markup, which no HTML rendering may contain (the text email shows it as the text it is). */
const LIVE_TAGS = /<script|<img/;

const apiChanges: ReleaseApiChanges = {
  against: { releaseId: 'greeter-1.0.0-aaaa111', version: '1.0.0' },
  changes: [
    {
      severity: 'breaking',
      method: 'DELETE',
      path: '/greetings/<script>alert(1)</script>\u202e{name}',
      location: 'operation',
      change: 'the operation was removed \u2066<img src=x onerror=alert(2)>\u2069',
      rule: 'operation-removed',
    },
    {
      severity: 'non-breaking',
      method: 'GET',
      path: '/languages',
      location: 'path',
      change: 'the operation was added, on a new path',
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

const release = {
  releaseId: 'greeter-2.0.0-bbbb222',
  service: 'greeter',
  version: '2.0.0',
  commit: 'bbbb222',
  branch: 'main',
  triggeredBy: 'ci@example.com',
  changes: [{ title: 'feat!: drop DELETE' }],
};

const BREAKING_ITEM =
  '<li data-severity="breaking"><strong style="color:#cf222e">BREAKING</strong> ' +
  '<code>DELETE /greetings/&lt;script&gt;alert(1)&lt;/script&gt;{name}</code>: the operation was removed &lt;img src=x onerror=alert(2)&gt;';

function view(api: ReleaseApiChanges | undefined): LinkDescription {
  return {
    link: { approvalId: 'ap-1', decision: 'approve', approver: 'lead@example.com', expires: 1_900_000_000 },
    approval: {
      approvalId: 'ap-1',
      releaseId: release.releaseId,
      service: 'greeter',
      status: 'PENDING',
      approvers: ['lead@example.com', 'api-owner@example.com'],
      requiredApprovals: 1,
      decisions: [],
      approvedBy: [],
      rejectedBy: [],
      expiresAt: 1_900_000_000,
      createdAt: '2026-01-01T00:00:00.000Z',
    },
    release: { ...release, status: 'AWAITING_APPROVAL', createdAt: '2026-01-01T00:00:00.000Z', ...(api ? { apiChanges: api } : {}) },
    allowedDecisions: ['approve', 'reject'],
    form: { approver: 'lead@example.com', expires: 1_900_000_000, sig: 'S'.repeat(43) },
  };
}

function email(api: ReleaseApiChanges | undefined) {
  return buildApprovalEmail({
    release: { ...release, ...(api ? { apiChanges: api } : {}) },
    approvalId: 'ap-1',
    approver: 'lead@example.com',
    links: { approve: 'https://approvals.example.com/a?sig=1', reject: 'https://approvals.example.com/r?sig=2' },
    requiredApprovals: 1,
    approverCount: 2,
    expiresAt: 1_900_000_000,
  });
}

describe('the confirmation page', () => {
  it('shows the API changes above the commits and the buttons, breaking marked, with the API owners, all escaped', () => {
    const html = confirmationPage(view(apiChanges), '/approvals/ap-1');
    expect(html).not.toMatch(UNSAFE_CHARS);
    expect(html).not.toMatch(LIVE_TAGS);
    const section = html.indexOf('<section id="api-changes"');
    expect(section).toBeGreaterThan(html.indexOf('</table>'));
    expect(section).toBeLessThan(html.indexOf('<h2>Changes</h2>'));
    expect(section).toBeLessThan(html.indexOf('<form'));
    expect(html).toContain('<h2>API changes for partners</h2>');
    expect(html).toContain('<p id="api-changes-counts">1 breaking, 0 deprecated, 1 non-breaking, against 1.0.0 in production.</p>');
    expect(html).toContain('API owner&#39;s approval. API owners: api-owner@example.com.');
    expect(html).toContain(BREAKING_ITEM);
    expect(html.indexOf('data-severity="breaking"')).toBeLessThan(html.indexOf('data-severity="non-breaking"'));
  });

  it('shows no section without API changes, when nothing changed, or on a first release', () => {
    for (const api of [undefined, { ...apiChanges, changes: [], breaking: 0, nonBreaking: 0 }, { ...apiChanges, against: null }]) {
      const html = confirmationPage(view(api), '/approvals/ap-1');
      expect(html).not.toContain('API changes for partners');
    }
  });
});

describe('the approval email', () => {
  it('says what breaks for partners before the commits and the links, in the text and the HTML, escaped', () => {
    const { text, html } = email(apiChanges);
    expect(text).not.toMatch(UNSAFE_CHARS);
    expect(html!).not.toMatch(UNSAFE_CHARS);
    expect(html!).not.toMatch(LIVE_TAGS);
    expect(text).toContain(
      [
        'API changes for partners, against 1.0.0 in production: 1 breaking, 0 deprecated, 1 non-breaking',
        "  The breaking changes need an API owner's approval. API owners: api-owner@example.com.",
        '  BREAKING DELETE /greetings/<script>alert(1)</script>{name}: the operation was removed <img src=x onerror=alert(2)> (at operation)',
        '  GET /languages: the operation was added, on a new path (at path)',
        '',
        'Changes:',
      ].join('\n'),
    );
    expect(text.indexOf('API changes for partners')).toBeLessThan(text.indexOf('Approve: https://'));
    expect(html).toContain('<h3>API changes for partners</h3>');
    expect(html).toContain(BREAKING_ITEM);
    expect(html!.indexOf('<section id="api-changes"')).toBeLessThan(html!.indexOf('<h3>Changes</h3>'));
    expect(html!.indexOf('<section id="api-changes"')).toBeLessThan(html!.indexOf('>Approve</a>'));
  });

  it('has no section without changes to show', () => {
    for (const api of [undefined, { ...apiChanges, against: null }]) {
      const { text, html } = email(api);
      expect(text).not.toContain('API changes');
      expect(html).not.toContain('API changes');
    }
  });
});
