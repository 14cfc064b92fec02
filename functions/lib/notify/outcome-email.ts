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
  CANCELLED: 'was cancelled; production was not changed, or was restored if the cancel came after the production deploy.',
  SUPERSEDED: 'was superseded by a newer release of the service before it reached production; production was not changed.',
  ROLLED_BACK: 'failed after the production deploy began and was rolled back; the previous version serves again.',
  ROLLBACK_FAILED:
    'failed after the production deploy began, and the rollback failed too: production may be running the failed version. ' +
    'A person must act now.',
};

/** What a reader has to do, for the statuses that need a person. */
const ACTIONS: Partial<Record<string, string>> = {
  ROLLBACK_FAILED:
    'Check which version production and the partner gateway serve (launchway status shows the Rollback step and the previous ' +
    'version), put the previous version back by hand or release a fixed version, and see docs/operations.md.',
};

/**
 * The email everyone involved gets when a release ends: text and HTML with the same facts. All release text is
 * escaped in the HTML part, because commit messages and versions come from outside.
 */
export function buildOutcomeEmail(release: ReleaseRecord & { status: ReleaseStatus }, to: string[], cause?: string): EmailMessage {
  const undone = release.rolledBackBy;
  const sentence = undone
    ? `was rolled back by ${undone.by}; ${undone.restoredVersion ?? 'the previous version'} serves again.`
    : (HEADLINES[release.status] ?? `ended ${release.status}.`);
  const headline = `${release.service} ${release.version} ${sentence}`;
  const facts: [string, string | undefined][] = [
    ['Release', release.releaseId],
    ['Commit', `${release.commit} (${release.branch})`],
    ['Triggered by', release.triggeredBy],
    ['Status', release.status],
    ['Reason', cause || undefined],
    ['Rolled back by', undone ? `${undone.by} at ${undone.at}: ${undone.reason}` : undefined],
    ['Action', ACTIONS[release.status]],
    ['Warning', release.warnings?.map((w) => `${w.step} failed (${w.error}: ${w.cause})`).join('; ') || undefined],
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
