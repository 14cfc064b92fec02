import type { SmokeResult } from '../newman-runner.js';

/** What SmokeTestStaging and ValidateProduction return to the state machine. */
export interface TestCounts {
  total: number;
  passed: number;
  failed: number;
}

/** The counts of a Newman run of the service's collection. */
export const summarize = (r: SmokeResult): TestCounts => ({ total: r.total, passed: r.passed, failed: r.failed });

/** A run that checked nothing proves nothing: a collection without assertions fails the step too. */
export const failedRun = (r: SmokeResult) => r.failed > 0 || r.total === 0;

/** Why a run failed the step, with the first few failures. */
export function failureText(r: SmokeResult): string {
  if (r.total === 0) return 'the collection ran no assertions; add pm.test checks so a release is actually tested';
  const first = r.failures
    .slice(0, 3)
    .map((f) => `${f.name} › ${f.test}: ${f.message}`)
    .join('; ');
  return `${r.failed} of ${r.total} assertions failed${first ? ` (${first})` : ''}`;
}
