import type { StepRecord, StepStatus } from '../store/records.js';
import { findStep } from '../store/records.js';

/** One failed smoke assertion. */
export interface SmokeFailure {
  name?: string;
  test?: string;
  message?: string;
  method?: string;
  path?: string;
  status?: number;
}

/**
 * What the approval email and page show of the staging smoke tests. A step that failed before Newman ran (no
 * staging endpoint) has no counts: whatever is present is shown.
 */
export interface SmokeSummary {
  status: StepStatus;
  total?: number;
  passed?: number;
  failed?: number;
  failures: SmokeFailure[];
  /** Report keys in the artifacts bucket, e.g. `{ json: 'reports/…/staging.json', junit: '…xml' }`. */
  reportKeys: Record<string, string>;
}

/** The smoke summary of a release's steps, or undefined when the smoke step has not run. */
export function smokeSummaryOf(steps: StepRecord[]): SmokeSummary | undefined {
  const step = findStep(steps, 'SmokeTestStaging');
  if (!step) return undefined;
  const d = step.details;
  return {
    status: step.status,
    total: d?.total,
    passed: d?.passed,
    failed: d?.failed,
    failures: (d?.failures ?? []).map((f) => ({
      name: f.name,
      test: f.test,
      message: f.message,
      method: f.method,
      path: f.path,
      status: f.status,
    })),
    reportKeys: { ...d?.reportKeys },
  };
}

/** `12 passed, 0 failed of 12` with whatever counts exist, or the step status alone. */
export function smokeCountsText(s: SmokeSummary): string {
  const parts: string[] = [];
  if (s.passed !== undefined) parts.push(`${s.passed} passed`);
  if (s.failed !== undefined) parts.push(`${s.failed} failed`);
  let text = parts.join(', ');
  if (s.total !== undefined) text = text ? `${text} of ${s.total}` : `${s.total} run`;
  return text ? `${text} (${s.status})` : s.status;
}
