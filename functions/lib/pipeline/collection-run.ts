import type { ServiceConfig } from '../catalog.js';
import { describeViolation } from '../contract/conformance-log.js';
import type { RunSmokeTestsOptions, SmokeResult } from '../newman-runner.js';

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

/**
 * The contract check a run makes (catalog `tests.contractConformance`), against the release's own contract; none
 * when it is `off`. A release prepared before the field existed has no `tests` in its snapshot: it gets the default.
 */
export function contractCheckOf(
  catalog: Pick<ServiceConfig, 'tests'>,
  request: { artifacts: { openapi: string } },
): RunSmokeTestsOptions['contract'] {
  const mode = catalog.tests?.contractConformance ?? 'fail';
  return mode === 'off' ? undefined : { openapiKey: request.artifacts.openapi, mode };
}

/** Why a run failed the step, with the first few failures. */
export function failureText(r: SmokeResult): string {
  if (r.total === 0) return 'the collection ran no assertions; add pm.test checks so a release is actually tested';
  const first = r.failures
    .slice(0, 3)
    .map((f) => `${f.name} › ${f.test}: ${f.message}`)
    .join('; ');
  const violations = r.contract?.mode === 'fail' ? r.contract.violationCount : 0;
  const counted = violations > 0 ? `, ${violations} of them contract violations` : '';
  return `${r.failed} of ${r.total} assertions failed${counted}${first ? ` (${first})` : ''}`;
}

/** In `warn` mode, what the step records instead of failing: the count and the first violations. */
export function contractWarning(r: SmokeResult): string | undefined {
  const c = r.contract;
  if (c?.mode !== 'warn' || c.violationCount === 0) return undefined;
  const first = c.violations
    .slice(0, 3)
    .map((v) => `${v.name} › ${describeViolation(v)}`)
    .join('; ');
  const responses = c.checked - c.conforming;
  const count = `${c.violationCount} contract violation(s) in ${responses} of ${c.checked} responses`;
  return `${count}, not failing the step (tests.contractConformance: warn): ${first}`;
}
