import type { StepRecord, StepStatus } from '../store/records.js';

/** One failed smoke assertion. */
export interface SmokeFailure {
  name?: string;
  test?: string;
  message?: string;
}

/**
 * What the approval email and page show of the staging smoke tests. Read defensively from the SmokeTestStaging
 * step's details, whose writer may leave fields out: whatever is present is shown.
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

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** The smoke summary of a release's steps, or undefined when the smoke step has not run. */
export function smokeSummaryOf(steps: StepRecord[]): SmokeSummary | undefined {
  const step = steps.find((s) => s.step === 'SmokeTestStaging');
  if (!step) return undefined;
  const d = (step.details ?? {}) as Record<string, unknown>;
  const failures = Array.isArray(d.failures)
    ? d.failures
        .filter((f): f is Record<string, unknown> => typeof f === 'object' && f !== null)
        .map((f) => ({ name: str(f.name), test: str(f.test), message: str(f.message) }))
    : [];
  const reportKeys: Record<string, string> = {};
  if (typeof d.reportKeys === 'object' && d.reportKeys !== null) {
    for (const [k, v] of Object.entries(d.reportKeys as Record<string, unknown>)) if (str(v)) reportKeys[k] = v as string;
  }
  return { status: step.status, total: num(d.total), passed: num(d.passed), failed: num(d.failed), failures, reportKeys };
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
