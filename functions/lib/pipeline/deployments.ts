import * as z from 'zod';
import { DeploymentFailedError } from '../errors.js';
import type { DeployRequest, DeployStatus, LiveDeployment } from '../deploy/deploy-provider.js';
import { basePollSeconds } from '../deploy/polling.js';
import { nextPollSeconds } from '../poll-schedule.js';
import type { CurrentRecord, Environment, PreparedRelease } from '../store/records.js';
import type { DeploymentDetails } from '../store/step-details.js';
import type { PipelineDeps } from './deps.js';

export const DeployEventSchema = z.object({
  releaseId: z.string().min(1),
  environment: z.enum(['staging', 'production']),
});
export type DeployEvent = z.infer<typeof DeployEventSchema>;

/** The deploy step of an environment. */
export const stepFor = (env: Environment) => (env === 'staging' ? 'DeployStaging' : 'DeployProduction');

function toLive(current: CurrentRecord | undefined): LiveDeployment | undefined {
  return current
    ? { version: current.version, artifactKey: current.artifactKey, releaseId: current.releaseId, handle: current.handle }
    : undefined;
}

function requestFor(release: PreparedRelease, env: Environment, current?: LiveDeployment): DeployRequest {
  return {
    releaseId: release.releaseId,
    service: release.service,
    environment: env,
    version: release.version,
    artifactKey: release.request.artifacts.bundle,
    target: release.catalog[env],
    current,
  };
}

/** What the state machine gets back: the deploy's state, and how long WaitStaging or WaitProduction waits next. */
export type DeployStepResult = { state: DeployStatus['state']; waitSeconds: number };

/** Starts a deployment and keeps the provider's handle on the step record. */
export async function startDeployment(deps: PipelineDeps, event: DeployEvent): Promise<DeployStepResult> {
  const { store } = deps;
  const release = await store.requirePrepared(event.releaseId);
  const step = stepFor(event.environment);
  const previous = toLive(await store.getCurrent(release.service, event.environment));
  const req = requestFor(release, event.environment, previous);
  await store.startStep(release.releaseId, step, { version: release.version, previous: previous ?? null, handle: {} });
  if (release.status !== 'RUNNING') await store.updateRelease(release.releaseId, { status: 'RUNNING' });
  const status = await deps.providerFor(req.target).start(req);
  return record(deps, release, event.environment, req, status, previous, 0);
}

/** Polls the provider once. SUCCEEDED makes the new version the live one; FAILED throws DeploymentFailed. */
export async function checkDeployment(deps: PipelineDeps, event: DeployEvent): Promise<DeployStepResult> {
  const { store } = deps;
  const release = await store.requirePrepared(event.releaseId);
  const step = stepFor(event.environment);
  const details = (await store.stepResult(release.releaseId, step))?.details;
  if (!details?.handle) throw new DeploymentFailedError(`${step} has no deployment to check; it was never started`);
  const previous = details.previous ?? undefined;
  const req = requestFor(release, event.environment, previous);
  const status = await deps.providerFor(req.target).status(req, details.handle);
  return record(deps, release, event.environment, req, status, previous, (details.polls ?? 0) + 1);
}

async function record(
  deps: PipelineDeps,
  release: PreparedRelease,
  env: Environment,
  req: DeployRequest,
  status: DeployStatus,
  previous: LiveDeployment | undefined,
  polls: number,
): Promise<DeployStepResult> {
  const { store } = deps;
  const step = stepFor(env);
  const details: DeploymentDetails = {
    version: release.version,
    handle: status.handle,
    endpoint: status.endpoint,
    previous: previous ?? null,
    polls,
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
    const err = new DeploymentFailedError(
      `${env} deployment of ${release.service} ${release.version} failed: ${status.message ?? 'no reason given'}`,
    );
    await store.endStep(release.releaseId, step, 'FAILED', {
      details: { ...details, message: status.message },
      error: { error: err.name, cause: err.message },
    });
    throw err;
  }
  return { state: status.state, waitSeconds: nextPollSeconds(basePollSeconds(req.target), polls, status.dueInSeconds) };
}

/** What a finished or failed deploy step left: the new deployment and the previous one. */
export async function deploymentOf(deps: PipelineDeps, releaseId: string, env: Environment): Promise<DeploymentDetails | undefined> {
  return (await deps.store.stepResult(releaseId, stepFor(env)))?.details;
}
