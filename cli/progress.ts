import { approvalLine, statusColor, stepLine } from './format.js';
import type { ProgressEvent } from './release-client.js';

/**
 * Shows a release's progress as `release --wait` (and the demo) follow it: each status and step, and while it
 * awaits approval, who must decide, N of M, the expiry and the time waited. The approval is polled every few
 * seconds for hours, so its line is written when it changes (a new request, a decision) and otherwise once every
 * `heartbeatMs`, which keeps a CI log short and shows the wait is alive.
 */
export function waitProgress(write: (line: string) => void, opts: { heartbeatMs: number; now?: () => number }): (e: ProgressEvent) => void {
  let lastKey = '';
  let lastAt = 0;
  return (e) => {
    if (e.kind === 'status') write(`status ${statusColor(e.status)}`);
    else if (e.kind === 'step') write(stepLine(e.step));
    else {
      const now = (opts.now ?? Date.now)();
      const key = `${e.approval.approvalId}|${e.approval.approvedBy.join()}|${e.approval.rejectedBy.join()}`;
      if (key === lastKey && now - lastAt < opts.heartbeatMs) return;
      lastKey = key;
      lastAt = now;
      write(approvalLine(e.approval, now));
    }
  };
}
