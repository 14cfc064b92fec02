import * as z from 'zod';
import { verifyArtifact } from '../artifact-integrity.js';
import { ArtifactIntegrityError, DeploymentFailedError, describeError } from '../errors.js';
import type { DeployProvider, DeployRequest, DeployStatus, LiveDeployment } from '../deploy/deploy-provider.js';
import { basePollSeconds } from '../deploy/polling.js';
import { nextPollSeconds } from '../poll-schedule.js';
import type { CurrentRecord, Environment, PreparedRelease } from '../store/records.js';
import type { DeploymentDetails } from '../store/step-details.js';
import type { PipelineDeps } from './deps.js';
import { claimFence, fencedOut, standing, type Fence } from './fence.js';

export const DeployEventSchema = z.object({
  releaseId: z.string().min(1),
  environment: z.enum(['staging', 'production']),
});
export type DeployEvent = z.infer<typeof DeployEventSchema>;

/** The deploy step of an environment. */
export const stepFor = (env: Environment) => (env === 'staging' ? 'DeployStaging' : 'DeployProduction');

/** The live deployment a CURRENT record names, as providers take it. */
export function toLive(current: CurrentRecord | undefined): LiveDeployment | undefined {
  if (!current) return undefined;
  const { version, artifactKey, artifactSha256, releaseId, handle } = current;
  return { version, artifactKey, ...(artifactSha256 ? { artifactSha256 } : {}), releaseId, handle };
}

function requestFor(release: PreparedRelease, env: Environment, current?: LiveDeployment): DeployRequest {
  return {
    releaseId: release.releaseId,
    service: release.service,
    environment: env,
    version: release.version,
    artifactKey: release.request.artifacts.bundle,
    artifactSha256: release.artifactSha256,
    target: release.catalog[env],
    current,
  };
}

/** What the state machine gets back: the deploy's state, and how long WaitStaging or WaitProduction waits next. */
export type DeployStepResult = { state: DeployStatus['state']; waitSeconds: number };

/**
 * Starts a deployment and keeps the provider's handle on the step record. The attempt claims the step's fence
 * first (fence.ts) and keeps its token on the record for the polls. Before the provider is asked anything, the
 * artifact in S3 is hashed again against the release's `artifactSha256`: a mismatch ends the step FAILED with
 * ArtifactIntegrity, and nothing is started.
 */
export async function startDeployment(deps: PipelineDeps, event: DeployEvent): Promise<DeployStepResult> {
  const { store } = deps;
  const release = await store.requirePrepared(event.releaseId);
  const step = stepFor(event.environment);
  const fence = await claimFence(deps, release.service, release.releaseId, step);
  const previous = toLive(await store.getCurrent(release.service, event.environment));
  const req = requestFor(release, event.environment, previous);
  await store.startStep(release.releaseId, step, { version: release.version, previous: previous ?? null, handle: {}, fence: fence.token });
  if (release.status !== 'RUNNING') await store.updateRelease(release.releaseId, { status: 'RUNNING' });
  try {
    await verifyArtifact(deps.artifacts, req.artifactKey, req.artifactSha256);
  } catch (err) {
    if (err instanceof ArtifactIntegrityError) {
      await store.endStep(release.releaseId, step, 'FAILED', {
        details: { version: release.version, handle: {}, previous: previous ?? null, polls: 0, fence: fence.token },
        error: describeError(err),
      });
    }
    throw err;
  }
  const provider = deps.providerFor(req.target);
  const status = await provider.start(req);
  await holdOrDiscard(deps, fence, provider, req, status);
  return record(deps, release, event.environment, req, status, previous, fence.token, 0);
}

/**
 * Polls the provider once. SUCCEEDED makes the new version the live one; FAILED throws DeploymentFailed. A poll
 * whose start's fence was taken (the Rollback claimed, the release ended) asks the provider nothing.
 */
export async function checkDeployment(deps: PipelineDeps, event: DeployEvent): Promise<DeployStepResult> {
  const { store } = deps;
  const release = await store.requirePrepared(event.releaseId);
  const step = stepFor(event.environment);
  const details = (await store.stepResult(release.releaseId, step))?.details;
  if (!details?.handle) throw new DeploymentFailedError(`${step} has no deployment to check; it was never started`);
  const fence: Fence = { service: release.service, releaseId: release.releaseId, step, token: details.fence ?? '' };
  // Status polls may move traffic (a canary step, stopping the old process), so a fenced-out poll must not begin.
  if ((await standing(deps, fence)) !== 'held') throw fencedOut(fence, 'before its status poll');
  const previous = details.previous ?? undefined;
  const req = requestFor(release, event.environment, previous);
  const provider = deps.providerFor(req.target);
  const status = await provider.status(req, details.handle);
  await holdOrDiscard(deps, fence, provider, req, status);
  return record(deps, release, event.environment, req, status, previous, fence.token, (details.polls ?? 0) + 1);
}

/**
 * After the provider acted: an attempt that lost its fence to the Rollback or the release's end retires what it
 * made and throws FencedOut, writing nothing else. One another attempt superseded leaves the deployment to it
 * (providers make a release's start idempotent, so it may be the very one that attempt follows) and throws too.
 */
async function holdOrDiscard(deps: PipelineDeps, fence: Fence, provider: DeployProvider, req: DeployRequest, status: DeployStatus) {
  const now = await standing(deps, fence);
  if (now === 'held') return;
  if (now === 'superseded') throw fencedOut(fence, 'to a later attempt', 'the deployment is left to that attempt');
  throw fencedOut(fence, 'while the provider worked', await provider.discard(req, status.handle));
}

async function record(
  deps: PipelineDeps,
  release: PreparedRelease,
  env: Environment,
  req: DeployRequest,
  status: DeployStatus,
  previous: LiveDeployment | undefined,
  fence: string,
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
    fence,
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
      artifactSha256: req.artifactSha256,
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
