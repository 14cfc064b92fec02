import type { ArtifactStore } from '../artifact-store.js';
import type { ServiceConfig } from '../catalog.js';
import { describeViolation } from '../contract/conformance-log.js';
import type { RunSmokeTestsOptions, SmokeFailure, SmokeResult } from '../newman-runner.js';
import { exchangeText } from '../newman-summary.js';
import { parsePostmanEnvironment } from '../postman-environment.js';
import { resolveSecrets } from '../secrets.js';
import { newmanVariables, newRunId, stageTests, type TestsCatalog, type TestStage } from '../test-variables.js';

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
  catalog: Pick<ServiceConfig, 'tests'> & { interop?: Pick<ServiceConfig['interop'], 'basePath'> },
  request: { artifacts: { openapi: string } },
): RunSmokeTestsOptions['contract'] {
  const mode = catalog.tests?.contractConformance ?? 'fail';
  if (mode === 'off') return undefined;
  // Where partners and the service see the spec's paths; a release prepared before the field existed has none.
  const basePathMode = catalog.interop?.basePath;
  return { openapiKey: request.artifacts.openapi, mode, ...(basePathMode ? { basePathMode } : {}) };
}

/** What a stage's run needs to know about its release. */
export interface TestedRelease {
  releaseId: string;
  service: string;
  version: string;
  catalog: TestsCatalog;
  request: { artifacts: { environment?: string } };
}

/**
 * The Newman environment of one run of the collection (functions/lib/test-variables.ts) and the secret values it
 * holds, which the runner masks. Reads the release's environment file and resolves the stage's secret variables;
 * a secret that cannot be read fails the step (SecretUnavailable, naming the variable and the secret).
 */
export async function testEnvironment(
  artifacts: ArtifactStore,
  release: TestedRelease,
  run: { stage: TestStage; baseUrl: string; apiKey?: string },
): Promise<Pick<RunSmokeTestsOptions, 'variables' | 'secrets'>> {
  const { variables, secretVariables } = stageTests(release.catalog, run.stage);
  const key = release.request.artifacts.environment;
  const file = key ? parsePostmanEnvironment(await artifacts.getText(key), 'artifacts.environment') : undefined;
  const secrets = await resolveSecrets(secretVariables);
  const builtIns = {
    baseUrl: run.baseUrl.replace(/\/+$/, ''),
    apiKey: run.apiKey ?? '',
    expectedVersion: release.version,
    service: release.service,
    releaseId: release.releaseId,
    version: release.version,
    stage: run.stage,
    runId: newRunId(),
  };
  return { variables: newmanVariables({ builtIns, file, variables, secrets }), secrets: Object.values(secrets) };
}

/**
 * One failure as a line: the request, what was sent and what came back, then the check, e.g.
 * `Create note (POST /api/notes → 404) › status is 201: expected response to have status code 201 but got 404`.
 */
export function describeFailure(f: SmokeFailure): string {
  return `${f.name}${exchangeText(f)} › ${f.test}: ${f.message}`;
}

/** Why a run failed the step, with the first few failures. */
export function failureText(r: SmokeResult): string {
  if (r.total === 0) return 'the collection ran no assertions; add pm.test checks so a release is actually tested';
  const first = r.failures.slice(0, 3).map(describeFailure).join('; ');
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
