import type { DecisionResult } from '../lib/approvals/approval-service.js';
import type { LinkDescription } from '../lib/approvals/confirmation-view.js';
import { escapeHtml as e, escapeHtmlLines, safeHref } from '../lib/approvals/html.js';
import type { Decision } from '../lib/approvals/links.js';
import type { DecisionRecord } from '../lib/approvals/records.js';
import { apiChangesHtml } from '../lib/contract/render.js';
import { smokeCountsText, type SmokeSummary } from '../lib/approvals/smoke-summary.js';
import type { ApiError } from './responses.js';

/**
 * The approval API's pages. Plain HTML with inline styles and no script, so they work with JavaScript off and under
 * a `default-src 'none'` policy. Every value from a release, a commit or a person goes through `escapeHtml`, which
 * also removes control and bidirectional-override characters (safe-text.ts).
 */

const STYLE = `
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#1f2328}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse} th{text-align:left;padding:2px 12px 2px 0;vertical-align:top} td{padding:2px 0}
.notice{background:#fff8c5;border:1px solid #d4a72c;padding:.6rem .8rem;border-radius:6px}
.error{background:#ffebe9;border:1px solid #cf222e;padding:.6rem .8rem;border-radius:6px}
.ok{background:#dafbe1;border:1px solid #1a7f37;padding:.6rem .8rem;border-radius:6px}
label{display:block;font-weight:600;margin:.8rem 0 .3rem}
textarea{width:100%;box-sizing:border-box;font:inherit}
button{font:inherit;padding:.5rem 1.2rem;margin:.8rem .6rem 0 0;border-radius:6px;border:1px solid #8c959f;background:#f6f8fa;cursor:pointer}
button.primary.approve{background:#1a7f37;border-color:#1a7f37;color:#fff}
button.primary.reject{background:#cf222e;border-color:#cf222e;color:#fff}
.muted{color:#59636e;font-size:.9rem} code{word-break:break-all}
button:focus-visible,a:focus-visible,textarea:focus-visible{outline:3px solid #0969da;outline-offset:2px}
`;

function page(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="robots" content="noindex, nofollow">',
    `<title>${e(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    body,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** How many API changes the page lists; the release notes list them all. */
const MAX_API_CHANGES = 50;

const BUTTON_LABEL: Record<Decision, string> = { approve: 'Approve', reject: 'Reject' };

const REPORT_LABELS: Record<string, string> = { junit: 'JUnit report (XML)', json: 'Newman report (JSON)' };

function smokeHtml(smoke: SmokeSummary | undefined, reportUrls: Record<string, string> = {}): string {
  if (!smoke) return '<p class="muted">No smoke test results were recorded for staging.</p>';
  const failures =
    smoke.failures.length > 0
      ? `<ul>${smoke.failures
          .slice(0, 20)
          .map((f) => `<li>${e([f.name, f.test].filter(Boolean).join(' › ') || 'assertion')}: ${e(f.message ?? '')}</li>`)
          .join('')}</ul>`
      : '';
  // A presigned link when the service could make one (it expires in minutes), else the key to look it up by.
  const reports = Object.entries(smoke.reportKeys)
    .map(([k, v]) => {
      const href = safeHref(reportUrls[k]);
      const label = REPORT_LABELS[k] ?? `${k} report`;
      return href
        ? `<li><a href="${href}" rel="noreferrer noopener">${e(label)}</a> <span class="muted">(<code>${e(v)}</code>, link valid for a few minutes)</span></li>`
        : `<li>${e(label)}: <code>${e(v)}</code></li>`;
    })
    .join('');
  return `<p id="smoke-counts">${e(smokeCountsText(smoke))}</p>${failures}${reports ? `<ul id="reports">${reports}</ul>` : ''}`;
}

function decisionsHtml(decisions: DecisionRecord[]): string {
  if (decisions.length === 0) return '<p class="muted">No decisions yet.</p>';
  return `<ul id="decisions">${decisions
    .map(
      (d) =>
        `<li><strong>${e(d.approver)}</strong> chose to ${e(d.decision)} at ${e(d.decidedAt)}${d.via === 'iam' ? ' (signed in with IAM)' : ''}${d.comment ? `: “${escapeHtmlLines(d.comment)}”` : ''}</li>`,
    )
    .join('')}</ul>`;
}

/** The confirmation page of a link: what is being released, and a form whose buttons POST the decision. */
export function confirmationPage(view: LinkDescription, formAction: string): string {
  const { release, approval, link } = view;
  const title = `${link.decision === 'approve' ? 'Approve' : 'Reject'} ${release.service} ${release.version}?`;
  const changes =
    release.changes.length === 0
      ? '<p class="muted">No changes were listed.</p>'
      : `<ul id="changes">${release.changes
          .map((c) => {
            const href = safeHref(c.url);
            // Every line of a multi-line title is shown, each on its own line.
            const title = escapeHtmlLines(c.title);
            const t = href ? `<a href="${href}" rel="noreferrer noopener">${title}</a>` : title;
            const meta = [c.sha?.slice(0, 12), c.author ? `by ${c.author}` : undefined].filter(Boolean).join(', ');
            return `<li>${t}${meta ? ` <span class="muted">(${e(meta)})</span>` : ''}</li>`;
          })
          .join('')}</ul>`;

  const form = view.form
    ? [
        '<h2>Your decision</h2>',
        `<form method="post" action="${e(formAction)}" id="decision-form">`,
        `<input type="hidden" name="approver" value="${e(view.form.approver)}">`,
        `<input type="hidden" name="expires" value="${e(view.form.expires)}">`,
        `<input type="hidden" name="sig" value="${e(view.form.sig)}">`,
        '<label for="comment">Comment (optional)</label>',
        '<textarea id="comment" name="comment" rows="4" maxlength="1000"></textarea>',
        '<div>',
        ...view.allowedDecisions.map(
          (d, i) =>
            `<button type="submit" name="decision" value="${d}" class="${i === 0 ? 'primary ' : ''}${d}">${BUTTON_LABEL[d]} ${e(release.service)} ${e(release.version)}</button>`,
        ),
        '</div>',
        '</form>',
      ].join('\n')
    : '';

  return page(
    title,
    [
      `<h1>${e(title)}</h1>`,
      `<p>This link was sent to <strong>${e(link.approver)}</strong>. Nothing is decided until you press a button below.</p>`,
      view.notice ? `<p class="notice" id="notice">${e(view.notice)}</p>` : '',
      '<table>',
      `<tr><th>Service</th><td>${e(release.service)}</td></tr>`,
      `<tr><th>Version</th><td>${e(release.version)}</td></tr>`,
      `<tr><th>Commit</th><td><code>${e(release.commit)}</code> (${e(release.branch)})</td></tr>`,
      `<tr><th>Triggered by</th><td>${e(release.triggeredBy)}</td></tr>`,
      `<tr><th>Release</th><td><code>${e(release.releaseId)}</code> (${e(release.status)})</td></tr>`,
      `<tr><th>Approvals</th><td>${approval.approvedBy.length} of ${approval.requiredApprovals} required (${e(approval.status)})</td></tr>`,
      `<tr><th>Link expires</th><td>${e(new Date(link.expires * 1000).toISOString())}</td></tr>`,
      '</table>',
      // What the release breaks for partners is what an approver most needs to see: first, well above the buttons.
      apiChangesHtml(release.apiChanges, { heading: 'h2', limit: MAX_API_CHANGES }),
      '<h2>Changes</h2>',
      changes,
      '<h2>Staging smoke tests</h2>',
      smokeHtml(view.smoke, view.reportUrls),
      '<h2>Decisions so far</h2>',
      decisionsHtml(approval.decisions),
      form,
    ].join('\n'),
  );
}

/** The page after a decision was recorded. */
export function resultPage(result: DecisionResult): string {
  const verb = result.decision === 'approve' ? 'approved' : 'rejected';
  const outcome =
    result.status === 'APPROVED'
      ? 'The release has all the approvals it needs and continues to production.'
      : result.status === 'REJECTED'
        ? 'The release was rejected and will not go to production.'
        : `The release has ${result.approvals} of ${result.requiredApprovals} required approvals and waits for more.`;
  return page(
    `You ${verb} the release`,
    [
      `<h1>You ${e(verb)} <code>${e(result.releaseId)}</code></h1>`,
      `<p class="${result.status === 'REJECTED' ? 'notice' : 'ok'}" id="outcome">${e(outcome)}</p>`,
      '<h2>Decisions</h2>',
      decisionsHtml(result.decisions),
    ].join('\n'),
  );
}

/** An error page with the same code and message the JSON error carries. */
export function errorPage(error: ApiError, requestId: string): string {
  const titles: Record<number, string> = {
    400: 'This request is not valid',
    403: 'This link cannot be used',
    404: 'No such approval',
    405: 'Method not allowed',
    409: 'Already decided',
    410: 'This link has expired',
    413: 'Request too large',
    500: 'Something went wrong',
  };
  const title = titles[error.status] ?? 'Error';
  return page(
    title,
    [
      `<h1>${e(title)}</h1>`,
      `<p class="error" id="error-message">${e(error.message)}</p>`,
      `<p class="muted">Error <code id="error-code">${e(error.code)}</code>, request id <code id="request-id">${e(requestId)}</code>.</p>`,
    ].join('\n'),
  );
}
