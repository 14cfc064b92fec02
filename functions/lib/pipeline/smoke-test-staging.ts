import * as z from 'zod';
import { reportPrefix } from '../bucket-layout.js';
import { SmokeTestsFailedError } from '../errors.js';
import { runSmokeTests } from '../newman-runner.js';
import { logger } from '../logger.js';
import { contractCheckOf, contractWarning, failedRun, failureText, summarize, type TestCounts, testEnvironment } from './collection-run.js';
import type { PipelineDeps } from './deps.js';
import { deploymentOf } from './deployments.js';
import { fencedStepGuard } from './fence.js';
import { recordStep } from './record-step.js';

export const SmokeTestStagingEventSchema = z.object({ releaseId: z.string().min(1) });
export type SmokeTestStagingEvent = z.infer<typeof SmokeTestStagingEventSchema>;

/** Runs the service's Postman collection against the new staging deployment. */
export async function smokeTestStaging(deps: PipelineDeps, event: SmokeTestStagingEvent): Promise<TestCounts> {
  const release = await deps.store.requirePrepared(event.releaseId);
  const guard = await fencedStepGuard(deps, release.service, release.releaseId, 'SmokeTestStaging');
  return recordStep<'SmokeTestStaging', TestCounts>(
    deps.store,
    release.releaseId,
    'SmokeTestStaging',
    async () => {
      const deployed = await deploymentOf(deps, release.releaseId, 'staging');
      if (!deployed?.endpoint) throw new SmokeTestsFailedError('staging has no endpoint to test; the deploy step did not record one');
      const environment = await testEnvironment(deps.artifacts, release, { stage: 'staging', baseUrl: deployed.endpoint });
      const result = await runSmokeTests({
        artifacts: deps.artifacts,
        collectionKey: release.request.artifacts.collection,
        reportPrefix: reportPrefix(release.service, release.releaseId, 'staging'),
        baseUrl: deployed.endpoint,
        ...environment,
        contract: contractCheckOf(release.catalog, release.request),
      });
      const warning = contractWarning(result);
      if (warning) logger.warn('the service broke its contract', { releaseId: release.releaseId, warning });
      const details = { ...result, baseUrl: deployed.endpoint, ...(warning ? { warning } : {}) };
      if (failedRun(result)) return { failure: new SmokeTestsFailedError(failureText(result)), details };
      return { result: summarize(result), details };
    },
    guard,
  );
}
