import { formatDuration } from '../functions/lib/release-notes.js';
import { safeLine, safeText } from '../functions/lib/safe-text.js';
import type { ApprovalSummary } from '../functions/lib/approvals/records.js';
import type { ReleaseApiChanges, ReleaseRecord, ReleaseView, StepRecord } from '../functions/lib/store/records.js';
import { apiChangeText, countsText, ownerApprovalText } from '../functions/lib/contract/render.js';

/**
 * Whether to colour: FORCE_COLOR (anything but `0` or `false`) forces it, NO_COLOR (any non-empty value) stops it,
 * and otherwise both stdout and stderr must be terminals, since the same text goes to either and a pipe or a file
 * must never receive escape sequences.
 */
export function colorEnabled(
  env: NodeJS.ProcessEnv = process.env,
  streams: { isTTY?: boolean }[] = [process.stdout, process.stderr],
): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  if (env.NO_COLOR) return false;
  return env.TERM !== 'dumb' && streams.every((s) => s.isTTY === true);
}

const useColor = colorEnabled();
const paint = (code: number) => (s: string) => (useColor ? `\u001b[${code}m${s}\u001b[0m` : s);
export const green = paint(32);
export const red = paint(31);
export const yellow = paint(33);
export const dim = paint(2);
export const bold = paint(1);

/** A step or release duration for the terminal; the same wording as the release notes. */
export function duration(ms: number | undefined): string {
  return ms === undefined ? '' : formatDuration(ms);
}

export function statusColor(status: string): string {
  if (status === 'SUCCEEDED') return green(status);
  if (['FAILED', 'REJECTED', 'EXPIRED', 'ROLLED_BACK', 'ROLLBACK_FAILED', 'CANCELLED', 'SUPERSEDED'].includes(status)) {
    return red(status);
  }
  return yellow(status);
}

const STEP_MARK: Record<StepRecord['status'], string> = { RUNNING: '…', SUCCEEDED: '✔', FAILED: '✖', SKIPPED: '–' };

export function stepLine(step: StepRecord): string {
  const mark = STEP_MARK[step.status];
  const colored = step.status === 'SUCCEEDED' ? green(mark) : step.status === 'FAILED' ? red(mark) : yellow(mark);
  // Error causes may quote commit text or a provider's output: no escape sequence of theirs reaches the terminal.
  const extra = step.error ? ` ${red(safeText(`${step.error.error}: ${step.error.cause}`))}` : '';
  return `  ${colored} ${step.step.padEnd(20)} ${step.status.padEnd(9)} ${dim(duration(step.durationMs))}${extra}`;
}

export function describeRelease(view: ReleaseView): string {
  const lines = [
    `${bold(view.releaseId)}  ${statusColor(view.status)}`,
    `  service ${view.service}  version ${view.version}  commit ${view.commit}  branch ${safeLine(view.branch)}`,
    `  triggered by ${safeLine(view.triggeredBy)} at ${view.createdAt}${view.durationMs !== undefined ? `, took ${duration(view.durationMs)}` : ''}`,
  ];
  // The digest every deploy checks the artifact against: what to compare a build with.
  if (view.artifactSha256) lines.push(`  artifact sha256 ${safeLine(view.artifactSha256)}`);
  if (view.status === 'ROLLBACK_FAILED') {
    lines.push(`  ${red('production may be on the failed version: a person must act (docs/operations.md)')}`);
  }
  if (view.stopRequest)
    lines.push(`  ${view.stopRequest.status.toLowerCase()} by ${safeLine(view.stopRequest.by)}: ${safeText(view.stopRequest.reason)}`);
  if (view.error) {
    const state = view.error.state ? ` ${dim(`(in ${view.error.state})`)}` : '';
    lines.push(`  ${red(safeText(`${view.error.error}: ${view.error.cause}`))}${state}`);
    if (view.error.rollbackOf)
      lines.push(`  rolling back after ${safeText(`${view.error.rollbackOf.error}: ${view.error.rollbackOf.cause}`)}`);
    for (const [field, msg] of Object.entries(view.error.fields ?? {})) lines.push(`    ${safeLine(field)}: ${safeText(msg)}`);
  }
  for (const w of view.warnings ?? []) lines.push(`  ${yellow(safeText(`warning: ${w.step} failed (${w.error}: ${w.cause})`))}`);
  lines.push(...apiChangesBlock(view.apiChanges));
  for (const [name, url] of Object.entries(view.links ?? {})) lines.push(`  ${name}: ${url}`);
  lines.push('  steps:', ...view.steps.map(stepLine));
  return lines.join('\n');
}

/** How many breaking changes `status` lists; the notes and the partners' document list them all. */
const LISTED_BREAKING = 10;

/**
 * What the release changes for partners, compactly: the counts against the version in production, the owners who
 * must approve, then the breaking changes, one a line. Spec text is made safe for the terminal (render.ts).
 */
export function apiChangesBlock(api: ReleaseApiChanges | undefined): string[] {
  if (!api) return [];
  if (!api.against) return [`  API changes: ${dim('first release, no live contract to compare')}`];
  const counts = `  API changes against ${safeLine(api.against.version)}: ${api.changes.length === 0 ? 'none' : countsText(api)}`;
  const lines = [api.breaking > 0 ? `${counts} ${red(`(interop.breakingChanges: ${api.policy})`)}` : counts];
  const owners = api.breaking > 0 ? ownerApprovalText(api) : undefined;
  if (owners) lines.push(`    ${yellow(owners)}`);
  const breaking = api.changes.filter((c) => c.severity === 'breaking');
  lines.push(...breaking.slice(0, LISTED_BREAKING).map((c) => `    ${red('✖ breaking')} ${apiChangeText(c)}`));
  const more = breaking.length - LISTED_BREAKING;
  if (more > 0) lines.push(`    … and ${more} more breaking (see the release notes)`);
  return lines;
}

export function releaseRow(r: ReleaseRecord): string {
  return `${r.createdAt}  ${r.releaseId.padEnd(40)} ${r.status.padEnd(17)} ${safeLine(r.triggeredBy)}`;
}

/**
 * What a release waiting for approval waits on, for `release --wait`: who has yet to decide, N of M approvals so far,
 * when the request expires, and how long it has waited.
 */
export function approvalLine(approval: ApprovalSummary, now = Date.now()): string {
  const decided = new Set([...approval.approvedBy, ...approval.rejectedBy].map((a) => a.toLowerCase()));
  const pending = approval.approvers.filter((a) => !decided.has(a.toLowerCase()));
  const expiresMs = approval.expiresAt * 1000;
  const waited = Math.max(0, now - Date.parse(approval.createdAt));
  const left = expiresMs - now;
  return [
    `  awaiting approval: ${approval.approvedBy.length} of ${approval.requiredApprovals} approvals`,
    approval.approvedBy.length > 0 ? ` (${approval.approvedBy.map(safeLine).join(', ')})` : '',
    `; to decide: ${pending.length > 0 ? pending.map(safeLine).join(', ') : '(nobody left)'}`,
    `; expires ${new Date(expiresMs).toISOString()}${left > 0 ? ` (in ${formatDuration(left)})` : ' (now)'}`,
    `; waiting ${formatDuration(waited)}`,
  ].join('');
}
