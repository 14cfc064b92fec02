import type { DeployTarget } from '../catalog.js';
import type { Environment } from '../environment.js';

/** What a provider needs to start one deployment. */
export interface DeployRequest {
  releaseId: string;
  service: string;
  environment: Environment;
  version: string;
  /** S3 key of the deployable in the artifacts bucket. */
  artifactKey: string;
  /** Its sha256 (hex) as recorded at Prepare; a provider that downloads the artifact checks the bytes against it. */
  artifactSha256?: string;
  target: DeployTarget;
  /**
   * What is live now, if anything; the provider retires it once the new version is healthy, or (a provider with
   * `retire`, in production) leaves it to the caller to retire once the release is done with it.
   */
  current?: LiveDeployment;
}

/** A deployment as the provider knows it. `handle` is provider-specific and must be JSON. */
export interface LiveDeployment {
  version: string;
  artifactKey: string;
  /** The artifact's sha256 (hex), when the release recorded one. */
  artifactSha256?: string;
  releaseId: string;
  handle: Record<string, unknown>;
}

export type DeployState = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';

export interface DeployStatus {
  state: DeployState;
  /** Where the new version answers, once known (the smoke tests and the interop layer use it). */
  endpoint?: string;
  /** The handle to keep as the live deployment on success, and to poll with while in progress. */
  handle: Record<string, unknown>;
  /** Human-readable reason on FAILED, progress note otherwise. */
  message?: string;
  /**
   * Seconds until the provider's next scheduled change (a traffic step, the end of a bake), when it has one: the
   * next poll comes no later, however long the backoff has grown (functions/lib/poll-schedule.ts).
   */
  dueInSeconds?: number;
}

/** What a rollback is given: the deployment being rolled back (if it got that far) and the one to restore. */
export interface RollbackRequest {
  service: string;
  environment: Environment;
  target: DeployTarget;
  failed?: LiveDeployment;
  previous?: LiveDeployment;
  /**
   * The target `previous` was released with (its release's catalog snapshot), when known: a provider that starts the
   * previous version again (local-process) runs it as it was released (command, ports, secrets), not as the failed
   * release declares. Absent: `target`.
   */
  previousTarget?: DeployTarget;
}

/** What a retirement is given: the deployment traffic has left, and how long requests already on it may take. */
export interface RetireRequest {
  service: string;
  environment: Environment;
  target: DeployTarget;
  deployment: LiveDeployment;
  /** How long the deployment keeps running first, so requests in flight finish. */
  drainSeconds: number;
  /** What serves now: never retired, whatever `deployment` names. */
  live?: LiveDeployment;
}

/**
 * A way of putting an artifact live in one environment. The state machine calls `start` once, then `status` in a
 * Wait loop until it leaves IN_PROGRESS, so no call blocks for the whole deploy. The waits start at the provider's
 * BASE_POLL_SECONDS (deploy/polling.ts) and grow; `status` fails the deploy once the target's timeout has passed.
 */
export interface DeployProvider {
  readonly type: DeployTarget['type'];
  start(req: DeployRequest): Promise<DeployStatus>;
  status(req: DeployRequest, handle: Record<string, unknown>): Promise<DeployStatus>;
  /**
   * Puts `previous` back live and retires `failed` (the deployment being rolled back, if it got that far).
   * Without `previous` (a first release) it only retires `failed`. A provider with {@link retire} leaves `failed`
   * running instead: the gateway may still send it traffic, so the caller retires it once the gateway moved back.
   */
  rollback(args: RollbackRequest): Promise<DeployStatus | undefined>;
  /**
   * Retires the deployment `handle` names, which a step attempt made after it lost its fence (its Task timed out,
   * the release moved on or ended). Only that deployment: what else is live, `req.current` or a later release's, is
   * left alone, and traffic the deployment took is put back on what it replaced only while it is still on it.
   * Returns what was done, for the log.
   */
  discard(req: DeployRequest, handle: Record<string, unknown>): Promise<string>;
  /**
   * Stops a replaced deployment once nothing routes to it any more, after `drainSeconds`, without blocking the
   * caller for that long. Providers whose versions share one endpoint (an alias, a service) retire the old one
   * themselves when traffic moves and have no such method; the local-process provider keeps a production version
   * running until the release is done with it (zero-downtime switch). Idempotent. Returns what was done, for the log.
   */
  retire?(args: RetireRequest): Promise<string>;
}
