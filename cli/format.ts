import { formatDuration } from '../functions/lib/release-notes.js';
import { safeLine, safeText } from '../functions/lib/safe-text.js';
import type { ReleaseRecord, ReleaseView, StepRecord } from '../functions/lib/store/records.js';

const useColor = process.stderr.isTTY && !process.env.NO_COLOR;
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
  if (['FAILED', 'REJECTED', 'EXPIRED', 'ROLLED_BACK', 'ROLLBACK_FAILED'].includes(status)) return red(status);
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
  for (const [name, url] of Object.entries(view.links ?? {})) lines.push(`  ${name}: ${url}`);
  lines.push('  steps:', ...view.steps.map(stepLine));
  return lines.join('\n');
}

export function releaseRow(r: ReleaseRecord): string {
  return `${r.createdAt}  ${r.releaseId.padEnd(40)} ${r.status.padEnd(17)} ${safeLine(r.triggeredBy)}`;
}
