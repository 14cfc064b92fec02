import { apiChangesHtml, apiChangesTextLines } from '../contract/render.js';
import type { EmailMessage } from '../notify/notifier.js';
import type { ReleaseRecord } from '../store/records.js';
import { safeLine, safeLines, safeText } from '../safe-text.js';
import { escapeHtml, escapeHtmlLines, safeHref } from './html.js';
import type { DecisionRecord } from './records.js';
import { exchangeText } from '../newman-summary.js';
import { smokeCountsText, type SmokeFailure, type SmokeSummary } from './smoke-summary.js';

/** `Create note (POST /api/notes → 404) › status is 201`: the request, what it was sent and got, the check. */
const failureLabel = (f: SmokeFailure) => [f.name ? f.name + exchangeText(f) : undefined, f.test].filter(Boolean).join(' › ');

/** Everything one approver's email says. */
export interface ApprovalEmailInput {
  release: Pick<ReleaseRecord, 'releaseId' | 'service' | 'version' | 'commit' | 'branch' | 'triggeredBy' | 'changes' | 'apiChanges'>;
  approvalId: string;
  approver: string;
  /** The approver's signed links. `approve` is absent for the person who triggered the release. */
  links: { approve?: string; reject: string };
  requiredApprovals: number;
  approverCount: number;
  /** Epoch seconds. */
  expiresAt: number;
  smoke?: SmokeSummary;
  /** Set for the one reminder before expiry: the decisions made so far (the reminder goes to the others). */
  reminder?: { decisions: DecisionRecord[] };
}

/** The tag `kind` of approval request emails; the outbox reader finds approval links by it. */
export const APPROVAL_EMAIL_KIND = 'approval-request';
/** The tag `kind` of the reminder email, which carries the same links as the request. */
export const APPROVAL_REMINDER_KIND = 'approval-reminder';

const MAX_CHANGES = 50;
const MAX_API_CHANGES = 30;

/**
 * One approver's email: subject with service and version, a text and an HTML body with the release summary, what it
 * changes for partners (breaking first), its changes, the staging smoke counts, and the approver's own approve and
 * reject links shown in full.
 */
export function buildApprovalEmail(input: ApprovalEmailInput): EmailMessage {
  const { release, links, smoke } = input;
  const expires = new Date(input.expiresAt * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  const need =
    input.requiredApprovals === 1
      ? `one approval of ${input.approverCount} approver${input.approverCount === 1 ? '' : 's'}`
      : `${input.requiredApprovals} approvals of ${input.approverCount} approvers`;
  const approvedSoFar = input.reminder?.decisions.filter((d) => d.decision === 'approve').length ?? 0;
  const intro = input.reminder
    ? `Reminder: ${release.service} ${release.version} still waits for approval (it has ${approvedSoFar} of the ${input.requiredApprovals} approval${input.requiredApprovals === 1 ? '' : 's'} it needs). ` +
      `The approval expires at ${expires}; if nobody decides by then the release ends EXPIRED and nothing is deployed to production.`
    : `${release.service} ${release.version} is deployed to staging and waits for approval before it goes to production (it needs ${need}).`;
  const decided = (input.reminder?.decisions ?? []).map(
    (d) => `${d.approver} chose to ${d.decision} at ${d.decidedAt}${d.comment ? `: ${safeLine(d.comment)}` : ''}`,
  );
  const selfNote = links.approve ? undefined : 'You triggered this release, so someone else has to approve it. You can still reject it.';
  const changes = release.changes.slice(0, MAX_CHANGES);
  const moreChanges = release.changes.length - changes.length;
  // Before the commits and far above the links: what partners lose is what the approver decides on.
  const apiChanges = apiChangesTextLines(release.apiChanges, { limit: MAX_API_CHANGES });

  const text: string[] = [
    `Hello ${input.approver},`,
    '',
    intro,
    ...(selfNote ? ['', selfNote] : []),
    ...(decided.length > 0 ? ['', 'Decisions so far:', ...decided.map((d) => `  - ${d}`)] : []),
    '',
    `Release:      ${release.releaseId}`,
    `Service:      ${release.service}`,
    `Version:      ${release.version}`,
    `Commit:       ${release.commit} (${release.branch})`,
    `Triggered by: ${release.triggeredBy}`,
    `Link expires: ${expires}`,
    '',
    ...apiChanges,
    ...(apiChanges.length > 0 ? [''] : []),
    'Changes:',
    ...(changes.length === 0 ? ['  (none listed)'] : changes.flatMap(changeText)),
    ...(moreChanges > 0 ? [`  … and ${moreChanges} more`] : []),
    '',
    `Staging smoke tests: ${smoke ? smokeCountsText(smoke) : 'no results recorded'}`,
    ...(smoke?.failures ?? []).slice(0, 10).map((f) => `  ✗ ${failureLabel(f)}: ${f.message ?? ''}`),
    ...Object.entries(smoke?.reportKeys ?? {}).map(([k, v]) => `  ${k} report: ${v}`),
    '',
    ...(links.approve ? [`Approve: ${links.approve}`] : []),
    `Reject: ${links.reject}`,
    '',
    'Opening a link shows a confirmation page. Nothing is decided until you press Approve or Reject on that page.',
    '',
  ];

  const linkHtml = (label: string, url: string, color: string) =>
    `<p><a href="${escapeHtml(url)}" style="display:inline-block;padding:8px 16px;background:${color};color:#fff;text-decoration:none;border-radius:4px">${escapeHtml(label)}</a><br><span style="font-size:12px;color:#555;word-break:break-all">${escapeHtml(label)}: ${escapeHtml(url)}</span></p>`;
  const row = (k: string, v: string) =>
    `<tr><th align="left" style="padding-right:12px">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`;

  const html = [
    '<!DOCTYPE html><html><body style="font-family:sans-serif;line-height:1.4">',
    `<p>Hello ${escapeHtml(input.approver)},</p>`,
    `<p>${escapeHtml(intro)}</p>`,
    selfNote ? `<p><strong>${escapeHtml(selfNote)}</strong></p>` : '',
    decided.length > 0 ? `<p>Decisions so far:</p><ul>${decided.map((d) => `<li>${escapeHtml(d)}</li>`).join('')}</ul>` : '',
    '<table>',
    row('Release', release.releaseId),
    row('Service', release.service),
    row('Version', release.version),
    row('Commit', `${release.commit} (${release.branch})`),
    row('Triggered by', release.triggeredBy),
    row('Link expires', expires),
    '</table>',
    apiChangesHtml(release.apiChanges, { heading: 'h3', limit: MAX_API_CHANGES }),
    '<h3>Changes</h3>',
    changes.length === 0
      ? '<p>(none listed)</p>'
      : `<ul>${changes.map((c) => `<li>${changeHtml(c)}</li>`).join('')}${moreChanges > 0 ? `<li>… and ${moreChanges} more</li>` : ''}</ul>`,
    '<h3>Staging smoke tests</h3>',
    `<p>${escapeHtml(smoke ? smokeCountsText(smoke) : 'no results recorded')}</p>`,
    smoke && smoke.failures.length > 0
      ? `<ul>${smoke.failures
          .slice(0, 10)
          .map((f) => `<li>${escapeHtml(failureLabel(f))}: ${escapeHtml(f.message ?? '')}</li>`)
          .join('')}</ul>`
      : '',
    ...Object.entries(smoke?.reportKeys ?? {}).map(([k, v]) => `<p>${escapeHtml(k)} report: <code>${escapeHtml(v)}</code></p>`),
    links.approve ? linkHtml('Approve', links.approve, '#1a7f37') : '',
    linkHtml('Reject', links.reject, '#cf222e'),
    '<p style="font-size:12px;color:#555">Opening a link shows a confirmation page. Nothing is decided until you press Approve or Reject on that page.</p>',
    '</body></html>',
  ].join('\n');

  const subject = input.reminder
    ? `[Launchway] Reminder: approval needed: ${release.service} ${release.version} (expires ${expires})`
    : `[Launchway] Approval needed: ${release.service} ${release.version}`;
  return {
    to: [input.approver],
    subject: safeLine(subject),
    // Every value in the text is from the release or a person: the whole body is made safe at once.
    text: safeText(text.join('\n')),
    html,
    links: [...(links.approve ? [{ label: 'Approve', url: links.approve }] : []), { label: 'Reject', url: links.reject }],
    tags: {
      kind: input.reminder ? APPROVAL_REMINDER_KIND : APPROVAL_EMAIL_KIND,
      releaseId: release.releaseId,
      approvalId: input.approvalId,
      approver: input.approver,
    },
  };
}

type ChangeLike = ReleaseRecord['changes'][number];

/** A change as list lines: the title's first line with its sha, author and link, then its other lines indented. */
function changeText(c: ChangeLike): string[] {
  const meta = [c.sha?.slice(0, 12), c.author ? `by ${c.author}` : undefined].filter(Boolean).join(', ');
  const [first = '', ...rest] = safeLines(c.title);
  return [`  - ${first.trim()}${meta ? ` (${meta})` : ''}${c.url ? ` ${c.url}` : ''}`, ...rest.map((line) => `    ${line.trim()}`)];
}

function changeHtml(c: ChangeLike): string {
  const meta = [c.sha?.slice(0, 12), c.author ? `by ${c.author}` : undefined].filter(Boolean).join(', ');
  const href = safeHref(c.url);
  const lines = escapeHtmlLines(c.title);
  const title = href ? `<a href="${href}">${lines}</a>` : lines;
  return `${title}${meta ? ` <small>(${escapeHtml(meta)})</small>` : ''}`;
}
