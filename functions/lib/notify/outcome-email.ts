import { escapeHtml } from '../approvals/html.js';
import type { ReleaseRecord, ReleaseStatus } from '../store/records.js';
import type { EmailMessage } from './notifier.js';

export const OUTCOME_EMAIL_KIND = 'release-outcome';

/** One sentence per terminal status, saying what happened to production. */
const HEADLINES: Record<string, string> = {
  SUCCEEDED: 'was released to production.',
  FAILED: 'failed before production; production was not changed.',
  REJECTED: 'was rejected at approval; nothing was deployed to production.',
  EXPIRED: 'expired: nobody decided before the approval timed out, so nothing was deployed to production.',
  ROLLED_BACK: 'failed after the production deploy began and was rolled back; the previous version serves again.',
};

/**
 * The email everyone involved gets when a release ends: text and HTML with the same facts. All release text is
 * escaped in the HTML part, because commit messages and versions come from outside.
 */
export function buildOutcomeEmail(release: ReleaseRecord & { status: ReleaseStatus }, to: string[], cause?: string): EmailMessage {
  const headline = `${release.service} ${release.version} ${HEADLINES[release.status] ?? `ended ${release.status}.`}`;
  const facts: [string, string | undefined][] = [
    ['Release', release.releaseId],
    ['Commit', `${release.commit} (${release.branch})`],
    ['Triggered by', release.triggeredBy],
    ['Status', release.status],
    ['Reason', cause || undefined],
    ['Release notes', release.links?.releaseNotes],
    ['Production', release.links?.productionUrl],
    ['Partner API', release.links?.interopUrl],
  ];
  const present = facts.filter((f): f is [string, string] => Boolean(f[1]));
  const text = [headline, '', ...present.map(([k, v]) => `${k}: ${v}`)].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family:system-ui,sans-serif">',
    `<p><strong>${escapeHtml(headline)}</strong></p>`,
    '<table cellpadding="4">',
    ...present.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`),
    '</table></body></html>',
  ].join('\n');
  return {
    to,
    subject: `[Launchway] ${release.service} ${release.version}: ${release.status}`,
    text,
    html,
    tags: { kind: OUTCOME_EMAIL_KIND, releaseId: release.releaseId, status: release.status },
  };
}
