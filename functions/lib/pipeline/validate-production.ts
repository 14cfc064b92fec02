import * as z from 'zod';
import { reportPrefix } from '../bucket-layout.js';
import { ProductionValidationFailedError } from '../errors.js';
import { runSmokeTests } from '../newman-runner.js';
import { publishedInterop } from '../store/records.js';
import { logger } from '../logger.js';
import { contractCheckOf, contractWarning, failedRun, failureText, summarize, type TestCounts, testEnvironment } from './collection-run.js';
import type { PipelineDeps } from './deps.js';
import { deploymentOf } from './deployments.js';
import { fencedStepGuard } from './fence.js';
import { recordStep } from './record-step.js';

export const ValidateProductionEventSchema = z.object({ releaseId: z.string().min(1) });
export type ValidateProductionEvent = z.infer<typeof ValidateProductionEventSchema>;

/**
 * A health check of the new production target, then the service's Postman collection through the interop layer,
 * the way partners call it (straight against production when interop is off).
 */
export async function validateProduction(deps: PipelineDeps, event: ValidateProductionEvent): Promise<TestCounts> {
  const release = await deps.store.requirePrepared(event.releaseId);
  const guard = await fencedStepGuard(deps, release.service, release.releaseId, 'ValidateProduction');
  return recordStep<'ValidateProduction', TestCounts>(
    deps.store,
    release.releaseId,
    'ValidateProduction',
    async () => {
      const deployed = await deploymentOf(deps, release.releaseId, 'production');
      if (!deployed?.endpoint) throw new ProductionValidationFailedError('production has no endpoint to validate');
      const healthUrl = new URL(release.catalog.production.healthPath, deployed.endpoint).toString();
      const health = await fetch(healthUrl, { signal: AbortSignal.timeout(10_000) }).catch((err: Error) => err);
      if (health instanceof Error || !health.ok) {
        const why = health instanceof Error ? health.message : `HTTP ${health.status}`;
        throw new ProductionValidationFailedError(`production health check ${healthUrl} failed: ${why}`);
      }

      let baseUrl = deployed.endpoint;
      let apiKey: string | undefined;
      const interop = publishedInterop(await deps.store.stepResult(release.releaseId, 'ProvisionInterop'));
      if (interop?.baseUrl) {
        baseUrl = interop.baseUrl;
        if (interop.validationKeyId) apiKey = await deps.provisioner().apiKeyValue(release.service, interop.validationKeyId);
      }
      const environment = await testEnvironment(deps.artifacts, release, { stage: 'production', baseUrl, apiKey });
      const result = await runSmokeTests({
        artifacts: deps.artifacts,
        collectionKey: release.request.artifacts.collection,
        reportPrefix: reportPrefix(release.service, release.releaseId, 'production'),
        baseUrl,
        apiKey,
        ...environment,
        contract: contractCheckOf(release.catalog, release.request),
      });
      const warning = contractWarning(result);
      if (warning) logger.warn('the service broke its contract', { releaseId: release.releaseId, warning });
      const details = { ...result, baseUrl, healthUrl, viaInterop: Boolean(interop?.baseUrl), ...(warning ? { warning } : {}) };
      if (failedRun(result)) return { failure: new ProductionValidationFailedError(failureText(result)), details };
      return { result: summarize(result), details };
    },
    guard,
  );
}
