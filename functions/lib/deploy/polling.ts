import type { DeployTarget } from './targets.js';

/**
 * The first wait of each provider's status loop, before backoff (functions/lib/poll-schedule.ts): about the time its
 * first change of state usually takes. A local process is healthy within a second or two; a Lambda code update takes
 * seconds; a CloudFormation change set is ready in about ten; an ECS rollout needs a task to start and pass its
 * health checks, rarely under a quarter of a minute. An `http` hook says its own (`pollSeconds`).
 */
export const BASE_POLL_SECONDS = {
  'local-process': 1,
  'lambda-alias': 5,
  cloudformation: 10,
  'ecs-service': 15,
} as const satisfies Record<Exclude<DeployTarget['type'], 'http'>, number>;

/** The first wait of the status loop of a deployment to `target`. */
export function basePollSeconds(target: DeployTarget): number {
  return target.type === 'http' ? target.pollSeconds : BASE_POLL_SECONDS[target.type];
}
