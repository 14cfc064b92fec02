import * as z from 'zod';
import { SmokeTestsFailedError } from '../errors.js';
import { runSmokeTests } from '../newman-runner.js';
import type { ReleaseRequest } from '../release-request.js';
import { failedRun, failureText, summarize, type SmokeSummary } from './collection-run.js';
import type { PipelineDeps } from './deps.js';
import { deploymentOf } from './deployments.js';
import { recordStep } from './record-step.js';

export const SmokeTestStagingEventSchema = z.object({ releaseId: z.string().min(1) });
export type SmokeTestStagingEvent = z.infer<typeof SmokeTestStagingEventSchema>;

/** Runs the service's Postman collection against the new staging deployment. */
export async function smokeTestStaging(deps: PipelineDeps, event: SmokeTestStagingEvent): Promise<SmokeSummary> {
  const release = await deps.store.requireRelease(event.releaseId);
  const request = release.request as ReleaseRequest;
  return recordStep(deps.store, release.releaseId, 'SmokeTestStaging', async () => {
    const { details } = await deploymentOf(deps, release.releaseId, 'staging');
    if (!details?.endpoint) throw new SmokeTestsFailedError('staging has no endpoint to test; the deploy step did not record one');
    const result = await runSmokeTests({
      artifacts: deps.artifacts,
      collectionKey: request.artifacts.collection,
      reportPrefix: `reports/${release.service}/${release.releaseId}/staging`,
      baseUrl: details.endpoint,
      variables: { expectedVersion: release.version, service: release.service },
    });
    if (failedRun(result)) throw Object.assign(new SmokeTestsFailedError(failureText(result)), { details: { ...result, baseUrl: details.endpoint } });
    return { result: summarize(result), details: { ...result, baseUrl: details.endpoint } };
  });
}
