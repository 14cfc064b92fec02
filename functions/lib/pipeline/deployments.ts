import * as z from 'zod';
import { DeploymentFailedError } from '../errors.js';
import type { DeployRequest, DeployStatus, LiveDeployment } from '../deploy/deploy-provider.js';
import type { StepName } from '../../steps.js';
import type { CurrentRecord, Environment, ReleaseRecord } from '../store/records.js';
import type { ReleaseRequest } from '../release-request.js';
import { serviceOf, type PipelineDeps } from './deps.js';

export const DeployEventSchema = z.object({
  releaseId: z.string().min(1),
  environment: z.enum(['staging', 'production']),
});
export type DeployEvent = z.infer<typeof DeployEventSchema>;

export const stepFor = (env: Environment): StepName => (env === 'staging' ? 'DeployStaging' : 'DeployProduction');

/** What a deploy step keeps on its step record between the start and the status polls. */
interface DeployStepDetails {
  version: string;
  handle: Record<string, unknown>;
  endpoint?: string;
  /** What was live before; the rollback target. */
  previous?: LiveDeployment | null;
}

function toLive(current: CurrentRecord | undefined): LiveDeployment | undefined {
  return current
    ? { version: current.version, artifactKey: current.artifactKey, releaseId: current.releaseId, handle: current.handle }
    : undefined;
}

function requestFor(release: ReleaseRecord, env: Environment, current?: LiveDeployment): DeployRequest {
  const request = release.request as ReleaseRequest;
  return {
    releaseId: release.releaseId,
    service: release.service,
    environment: env,
    version: release.version,
    artifactKey: request.artifacts.bundle,
    target: serviceOf(release)[env],
    current,
  };
}

/** Starts a deployment and keeps the provider's handle on the step record. */
export async function startDeployment(deps: PipelineDeps, event: DeployEvent): Promise<{ state: DeployStatus['state'] }> {
  const { store } = deps;
  const release = await store.requireRelease(event.releaseId);
  const step = stepFor(event.environment);
  const previous = toLive(await store.getCurrent(release.service, event.environment));
  const req = requestFor(release, event.environment, previous);
  await store.startStep(release.releaseId, step, { version: release.version, previous: previous ?? null, handle: {} });
  if (release.status !== 'RUNNING') await store.updateRelease(release.releaseId, { status: 'RUNNING' });
  const status = await deps.providerFor(req.target).start(req);
  return record(deps, release, event.environment, req, status, previous);
}

/** Polls the provider once. SUCCEEDED makes the new version the live one; FAILED throws DeploymentFailed. */
export async function checkDeployment(deps: PipelineDeps, event: DeployEvent): Promise<{ state: DeployStatus['state'] }> {
  const { store } = deps;
  const release = await store.requireRelease(event.releaseId);
  const step = stepFor(event.environment);
  const stepRecord = (await store.getSteps(release.releaseId)).find((s) => s.step === step);
  const details = stepRecord?.details as DeployStepDetails | undefined;
  if (!details?.handle) throw new DeploymentFailedError(`${step} has no deployment to check; it was never started`);
  const previous = details.previous ?? undefined;
  const req = requestFor(release, event.environment, previous);
  const status = await deps.providerFor(req.target).status(req, details.handle);
  return record(deps, release, event.environment, req, status, previous);
}

async function record(
  deps: PipelineDeps,
  release: ReleaseRecord,
  env: Environment,
  req: DeployRequest,
  status: DeployStatus,
  previous: LiveDeployment | undefined,
): Promise<{ state: DeployStatus['state'] }> {
  const { store } = deps;
  const step = stepFor(env);
  const details: DeployStepDetails = {
    version: release.version,
    handle: status.handle,
    endpoint: status.endpoint,
    previous: previous ?? null,
  };
  if (status.state === 'IN_PROGRESS') {
    await store.startStep(release.releaseId, step, { ...details, message: status.message });
  } else if (status.state === 'SUCCEEDED') {
    await store.putCurrent({
      service: release.service,
      environment: env,
      version: release.version,
      releaseId: release.releaseId,
      artifactKey: req.artifactKey,
      handle: status.handle,
    });
    await store.endStep(release.releaseId, step, 'SUCCEEDED', { details: { ...details, message: status.message } });
    if (status.endpoint) {
      await store.updateRelease(release.releaseId, { links: { ...(release.links ?? {}), [`${env}Url`]: status.endpoint } });
    }
  } else {
    const err = new DeploymentFailedError(`${env} deployment of ${release.service} ${release.version} failed: ${status.message ?? 'no reason given'}`);
    await store.endStep(release.releaseId, step, 'FAILED', {
      details: { ...details, message: status.message },
      error: { error: err.name, cause: err.message },
    });
    throw err;
  }
  return { state: status.state };
}

/** Reads what a finished or failed deploy step left: the new deployment and the previous one. */
export async function deploymentOf(deps: PipelineDeps, releaseId: string, env: Environment) {
  const step = (await deps.store.getSteps(releaseId)).find((s) => s.step === stepFor(env));
  const details = step?.details as DeployStepDetails | undefined;
  return { step, details };
}
