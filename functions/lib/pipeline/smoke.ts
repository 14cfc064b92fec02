import * as z from 'zod';
import { ProductionValidationFailedError, SmokeTestsFailedError } from '../errors.js';
import { runSmokeTests, type SmokeResult } from '../newman-runner.js';
import type { ReleaseRequest } from '../release-request.js';
import { serviceOf, type PipelineDeps } from './deps.js';
import { deploymentOf } from './deployments.js';
import { recordStep } from './steps.js';

export const SmokeEventSchema = z.object({
  releaseId: z.string().min(1),
  stage: z.enum(['staging', 'production']),
});
export type SmokeEvent = z.infer<typeof SmokeEventSchema>;

export interface SmokeSummary {
  total: number;
  passed: number;
  failed: number;
}

const summarize = (r: SmokeResult): SmokeSummary => ({ total: r.total, passed: r.passed, failed: r.failed });

/** A run that checked nothing proves nothing: a collection without assertions fails the step too. */
const failedRun = (r: SmokeResult) => r.failed > 0 || r.total === 0;

function failureText(r: SmokeResult): string {
  if (r.total === 0) return 'the collection ran no assertions; add pm.test checks so a release is actually tested';
  const first = r.failures
    .slice(0, 3)
    .map((f) => `${f.name} › ${f.test}: ${f.message}`)
    .join('; ');
  return `${r.failed} of ${r.total} assertions failed${first ? ` (${first})` : ''}`;
}

/**
 * Staging: the Postman collection against the new staging deployment. Production: a health check of the new
 * production target, then the collection through the interop layer, the way partners call it.
 */
export async function runStageTests(deps: PipelineDeps, event: SmokeEvent): Promise<SmokeSummary> {
  const release = await deps.store.requireRelease(event.releaseId);
  const request = release.request as ReleaseRequest;
  const service = serviceOf(release);
  const variables = { expectedVersion: release.version, service: release.service };
  const reportPrefix = `reports/${release.service}/${release.releaseId}/${event.stage}`;

  if (event.stage === 'staging') {
    return recordStep(deps.store, release.releaseId, 'SmokeTestStaging', async () => {
      const { details } = await deploymentOf(deps, release.releaseId, 'staging');
      if (!details?.endpoint) throw new SmokeTestsFailedError('staging has no endpoint to test; the deploy step did not record one');
      const result = await runSmokeTests({
        artifacts: deps.artifacts,
        collectionKey: request.artifacts.collection,
        reportPrefix,
        baseUrl: details.endpoint,
        variables,
      });
      if (failedRun(result)) throw Object.assign(new SmokeTestsFailedError(failureText(result)), { details: { ...result, baseUrl: details.endpoint } });
      return { result: summarize(result), details: { ...result, baseUrl: details.endpoint } };
    });
  }

  return recordStep(deps.store, release.releaseId, 'ValidateProduction', async () => {
    const { details: deployed } = await deploymentOf(deps, release.releaseId, 'production');
    if (!deployed?.endpoint) throw new ProductionValidationFailedError('production has no endpoint to validate');
    const healthUrl = new URL(service.production.healthPath, deployed.endpoint).toString();
    const health = await fetch(healthUrl, { signal: AbortSignal.timeout(10_000) }).catch((err: Error) => err);
    if (health instanceof Error || !health.ok) {
      const why = health instanceof Error ? health.message : `HTTP ${health.status}`;
      throw new ProductionValidationFailedError(`production health check ${healthUrl} failed: ${why}`);
    }

    let baseUrl = deployed.endpoint;
    let apiKey: string | undefined;
    const interopStep = (await deps.store.getSteps(release.releaseId)).find((s) => s.step === 'ProvisionInterop');
    const interop = interopStep?.status === 'SUCCEEDED' ? (interopStep.details as { baseUrl?: string; validationKeyId?: string }) : undefined;
    if (interop?.baseUrl) {
      baseUrl = interop.baseUrl;
      if (interop.validationKeyId) apiKey = await deps.provisioner().apiKeyValue(release.service, interop.validationKeyId);
    }
    const result = await runSmokeTests({
      artifacts: deps.artifacts,
      collectionKey: request.artifacts.collection,
      reportPrefix,
      baseUrl,
      apiKey,
      variables,
    });
    const details = { ...result, baseUrl, healthUrl, viaInterop: Boolean(interop?.baseUrl) };
    if (failedRun(result)) throw Object.assign(new ProductionValidationFailedError(failureText(result)), { details });
    return { result: summarize(result), details };
  });
}
