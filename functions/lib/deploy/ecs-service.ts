import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type ECSClient,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import * as z from 'zod';
import { ArtifactStore } from '../artifact-store.js';
import { ecsClient, s3Client } from '../clients.js';
import { getConfig } from '../config.js';
import type { DeployProvider, DeployRequest, DeployStatus, RollbackRequest } from './deploy-provider.js';
import {
  parseHandle,
  pollUntil,
  ROLLBACK_BUDGET_MS,
  ROLLBACK_POLL_MS,
  systemClock,
  targetOf,
  withoutUndefined,
  type Clock,
} from './support.js';
import type { EcsServiceTarget } from './targets.js';

/**
 * The artifact of an ecs-service target: a small JSON file naming the image to run, with an explicit tag or
 * digest (never an implied `latest`), e.g. `{"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders:1.4.0"}`.
 */
export const ImageManifestSchema = z.object({
  image: z
    .string({ error: 'required: the image to deploy, "<repository>:<tag>" or "<repository>@sha256:<digest>"' })
    .max(1024)
    .refine((image) => /^[a-z0-9][a-z0-9._-]*(:[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/.test(image.slice(image.lastIndexOf('/') + 1)), {
      message: 'expected "<repository>:<tag>" or "<repository>@sha256:<digest>"',
    })
    .refine((image) => /^[\w.:/@-]+$/.test(image), { message: 'expected an image reference without spaces or special characters' }),
});
export type ImageManifest = z.infer<typeof ImageManifestSchema>;

/** An ecs-service deployment: the revision registered for it, the deployment UpdateService started, and what ran before. */
export const EcsServiceHandleSchema = z.object({
  cluster: z.string().min(1),
  service: z.string().min(1),
  image: z.string().min(1).optional(),
  taskDefinitionArn: z.string().min(1),
  /** The task definition the service ran before; what a rollback without a previous release goes back to. */
  previousTaskDefinitionArn: z.string().min(1).optional(),
  deploymentId: z.string().min(1),
  startedAt: z.iso.datetime(),
  endpoint: z.string().optional(),
});
export type EcsServiceHandle = z.infer<typeof EcsServiceHandleSchema>;

export interface EcsServiceProviderOptions {
  /** @default the shared ECS client */
  ecs?: ECSClient;
  /** Where image manifests are read from. @default an ArtifactStore on ARTIFACTS_BUCKET */
  artifacts?: ArtifactStore;
  clock?: Clock;
  /** How long and how often a rollback polls. @default ROLLBACK_BUDGET_MS, ROLLBACK_POLL_MS */
  rollbackBudgetMs?: number;
  rollbackPollMs?: number;
}

/**
 * Deploys an image to an ECS service: registers a revision of the service's current task definition with the
 * manifest's image in the target's container, updates the service to it, and follows the deployment's rollout
 * state (COMPLETED or FAILED, as the ECS deployment controller and its circuit breaker decide). Rollback updates the
 * service back to the previous revision and waits for that rollout.
 */
export class EcsServiceProvider implements DeployProvider {
  readonly type = 'ecs-service' as const;
  private readonly clock: Clock;
  private artifactStore?: ArtifactStore;

  constructor(private readonly options: EcsServiceProviderOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.artifactStore = options.artifacts;
  }

  private get ecs(): ECSClient {
    return this.options.ecs ?? ecsClient();
  }

  /** Reads the manifest, registers the new revision and starts the service's deployment. */
  async start(req: DeployRequest): Promise<DeployStatus> {
    const target = targetOf(req.target, 'ecs-service');
    const startedAt = new Date(this.clock.now()).toISOString();
    const failed = (message: string): DeployStatus => ({
      state: 'FAILED',
      handle: { cluster: target.cluster, service: target.service, startedAt },
      message,
    });

    const manifest = await this.manifest(req.artifactKey);
    if ('error' in manifest) return failed(manifest.error);

    const found = await this.describeService(target);
    if ('error' in found) return failed(found.error);
    const current = found.service.taskDefinition;
    if (!current) return failed(`service ${target.service} has no task definition`);

    const described = await this.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: current }));
    const td = described.taskDefinition;
    if (!td) throw new Error(`DescribeTaskDefinition ${current} returned no task definition`);
    const containers = (td.containerDefinitions ?? []).map((c) => c.name);
    if (!containers.includes(target.containerName)) {
      return failed(`task definition ${current} has no container "${target.containerName}" (it has: ${containers.join(', ') || 'none'})`);
    }
    // RegisterTaskDefinition passes these roles to ECS, and the pipeline may pass only the roles the catalog lists.
    const roles = [td.taskRoleArn, td.executionRoleArn].filter((r): r is string => Boolean(r));
    const unlisted = roles.filter((r) => !target.taskRoleArns.includes(r));
    if (unlisted.length > 0) {
      return failed(`task definition ${current} uses ${unlisted.join(' and ')}, which the catalog target does not list in taskRoleArns`);
    }

    const registered = await this.ecs.send(new RegisterTaskDefinitionCommand(revisionWithImage(td, target.containerName, manifest.image)));
    const taskDefinitionArn = registered.taskDefinition?.taskDefinitionArn;
    if (!taskDefinitionArn) throw new Error('RegisterTaskDefinition returned no task definition ARN');

    const updated = await this.ecs.send(
      new UpdateServiceCommand({
        cluster: target.cluster,
        service: target.service,
        taskDefinition: taskDefinitionArn,
        forceNewDeployment: false,
      }),
    );
    const deployment = updated.service?.deployments?.find((d) => d.status === 'PRIMARY' && d.taskDefinition === taskDefinitionArn);
    if (!deployment?.id) throw new Error(`UpdateService on ${target.service} reported no PRIMARY deployment of ${taskDefinitionArn}`);

    const handle = withoutUndefined<EcsServiceHandle>({
      cluster: target.cluster,
      service: target.service,
      image: manifest.image,
      taskDefinitionArn,
      previousTaskDefinitionArn: current,
      deploymentId: deployment.id,
      startedAt,
      endpoint: target.endpointUrl,
    });
    return {
      state: 'IN_PROGRESS',
      endpoint: target.endpointUrl,
      handle,
      message: `rolling out ${taskDefinitionArn} (${manifest.image}) to ${target.service}`,
    };
  }

  /** Follows the deployment's rollout state; past `timeoutSeconds` an unfinished rollout counts as failed. */
  async status(req: DeployRequest, rawHandle: Record<string, unknown>): Promise<DeployStatus> {
    const target = targetOf(req.target, 'ecs-service');
    const handle = parseHandle(EcsServiceHandleSchema, rawHandle, 'handle');
    const status = await this.rollout(target, handle);
    if (status.state === 'IN_PROGRESS' && this.clock.now() - Date.parse(handle.startedAt) > target.timeoutSeconds * 1000) {
      return { ...status, state: 'FAILED', message: `${status.message}; still not complete after ${target.timeoutSeconds}s` };
    }
    return status;
  }

  /**
   * Updates the service back to the previous release's task definition (or, without one, to the revision the failed
   * deployment replaced) and waits within the rollback budget for that rollout to complete.
   */
  async rollback(args: RollbackRequest): Promise<DeployStatus | undefined> {
    const target = targetOf(args.target, 'ecs-service');
    const previous = args.previous ? parseHandle(EcsServiceHandleSchema.partial(), args.previous.handle, 'previous.handle') : undefined;
    const failed = args.failed ? EcsServiceHandleSchema.partial().safeParse(args.failed.handle) : undefined;
    const taskDefinition = previous?.taskDefinitionArn ?? (failed?.success ? failed.data.previousTaskDefinitionArn : undefined);
    if (!taskDefinition) {
      if (!args.previous) return undefined;
      return {
        state: 'FAILED',
        handle: { ...args.previous.handle },
        message: `the previous deployment of ${args.service} (${args.previous.version}) records no task definition to return ${target.service} to`,
      };
    }

    const updated = await this.ecs.send(
      new UpdateServiceCommand({ cluster: target.cluster, service: target.service, taskDefinition, forceNewDeployment: false }),
    );
    const deployment = updated.service?.deployments?.find((d) => d.status === 'PRIMARY' && d.taskDefinition === taskDefinition);
    if (!deployment?.id) throw new Error(`UpdateService on ${target.service} reported no PRIMARY deployment of ${taskDefinition}`);
    const handle = withoutUndefined<EcsServiceHandle>({
      cluster: target.cluster,
      service: target.service,
      image: previous?.image,
      taskDefinitionArn: taskDefinition,
      deploymentId: deployment.id,
      startedAt: new Date(this.clock.now()).toISOString(),
      endpoint: target.endpointUrl,
    });
    const budgetMs = this.options.rollbackBudgetMs ?? ROLLBACK_BUDGET_MS;
    let last: DeployStatus | undefined;
    return pollUntil(
      this.clock,
      { budgetMs, intervalMs: this.options.rollbackPollMs ?? ROLLBACK_POLL_MS },
      async () => {
        last = await this.rollout(target, handle);
        return last.state === 'IN_PROGRESS' ? undefined : last;
      },
      () => ({
        state: 'FAILED',
        endpoint: target.endpointUrl,
        handle,
        message: `rollback of ${target.service} to ${taskDefinition} did not complete within ${Math.round(budgetMs / 1000)}s (${last?.message ?? 'no status'})`,
      }),
    );
  }

  /**
   * Sends the service back to the revision this deployment replaced, only while the service still runs this
   * deployment's revision: a later deployment (the rollback's, another release's) is left alone.
   */
  async discard(req: DeployRequest, rawHandle: Record<string, unknown>): Promise<string> {
    const target = targetOf(req.target, 'ecs-service');
    const parsed = EcsServiceHandleSchema.partial().safeParse(rawHandle);
    const mine = parsed.success ? parsed.data.taskDefinitionArn : undefined;
    const before = parsed.success ? parsed.data.previousTaskDefinitionArn : undefined;
    if (!mine) return 'no task definition was registered';
    const found = await this.describeService(target);
    if ('error' in found) return found.error;
    const now = found.service.taskDefinition;
    if (now !== mine) return `${target.service} runs ${now ?? 'nothing'}, not ${mine}; left alone`;
    if (!before) return `${target.service} runs ${mine} and had no revision before it; left alone`;
    await this.ecs.send(
      new UpdateServiceCommand({ cluster: target.cluster, service: target.service, taskDefinition: before, forceNewDeployment: false }),
    );
    return `${target.service} is going back to ${before}`;
  }

  /** One DescribeServices: where this handle's deployment is. */
  private async rollout(target: EcsServiceTarget, handle: EcsServiceHandle): Promise<DeployStatus> {
    const out = { endpoint: target.endpointUrl, handle };
    const found = await this.describeService(target);
    if ('error' in found) return { ...out, state: 'FAILED', message: found.error };
    const deployments = found.service.deployments ?? [];
    const deployment = deployments.find((d) => d.id === handle.deploymentId);
    if (!deployment) {
      const primary = deployments.find((d) => d.status === 'PRIMARY');
      return {
        ...out,
        state: 'FAILED',
        message: `deployment ${handle.deploymentId} is no longer on ${target.service}; it now runs ${primary?.taskDefinition ?? 'nothing'} (replaced by another deployment or rolled back)`,
      };
    }
    const counts = `${deployment.runningCount ?? 0}/${deployment.desiredCount ?? 0} running, ${deployment.failedTasks ?? 0} failed tasks`;
    if (deployment.rolloutState === 'COMPLETED') {
      return { ...out, state: 'SUCCEEDED', message: `${target.service} runs ${handle.taskDefinitionArn} (${counts})` };
    }
    // Services behind a Classic Load Balancer get no rollout state; there, steady state is the only signal.
    if (!deployment.rolloutState && deployments.length === 1 && deployment.runningCount === deployment.desiredCount) {
      return { ...out, state: 'SUCCEEDED', message: `${target.service} reached steady state on ${handle.taskDefinitionArn} (${counts})` };
    }
    if (deployment.rolloutState === 'FAILED') {
      return {
        ...out,
        state: 'FAILED',
        message: `rollout of ${handle.taskDefinitionArn} on ${target.service} failed: ${deployment.rolloutStateReason ?? 'no reason given'}`,
      };
    }
    return { ...out, state: 'IN_PROGRESS', message: `rollout ${deployment.rolloutState ?? 'IN_PROGRESS'}: ${counts}` };
  }

  private async describeService(target: EcsServiceTarget): Promise<{ service: Service } | { error: string }> {
    const out = await this.ecs.send(new DescribeServicesCommand({ cluster: target.cluster, services: [target.service] }));
    const service = out.services?.[0];
    if (!service) {
      const reason = out.failures?.[0]?.reason ?? 'not returned';
      return { error: `service ${target.service} in cluster ${target.cluster}: ${reason}` };
    }
    if (service.status !== 'ACTIVE') return { error: `service ${target.service} is ${service.status}` };
    const controller = service.deploymentController?.type ?? 'ECS';
    if (controller !== 'ECS') {
      return {
        error: `service ${target.service} uses the ${controller} deployment controller; ecs-service targets need the ECS (rolling) controller`,
      };
    }
    return { service };
  }

  private async manifest(key: string): Promise<ImageManifest | { error: string }> {
    const store = (this.artifactStore ??= new ArtifactStore(s3Client(), getConfig().ARTIFACTS_BUCKET));
    const text = await store.getText(key);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return {
        error: `artifact ${store.uri(key)} is not an image manifest: not JSON (${(err as Error).message}); expected {"image": "<repository>:<tag>"}`,
      };
    }
    const parsed = ImageManifestSchema.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      return { error: `artifact ${store.uri(key)} is not an image manifest: ${problems}` };
    }
    return parsed.data;
  }
}

/**
 * The RegisterTaskDefinition input for a new revision of `td` with `image` in `containerName`. Only registrable
 * fields are copied: ARNs, revision, status, compatibilities and registration stamps are ECS's own. Tags are not
 * copied (that would need ecs:TagResource as well).
 */
export function revisionWithImage(td: TaskDefinition, containerName: string, image: string): RegisterTaskDefinitionCommandInput {
  return withoutUndefined<RegisterTaskDefinitionCommandInput>({
    family: td.family,
    taskRoleArn: td.taskRoleArn,
    executionRoleArn: td.executionRoleArn,
    networkMode: td.networkMode,
    containerDefinitions: (td.containerDefinitions ?? []).map((c) => (c.name === containerName ? { ...c, image } : c)),
    volumes: td.volumes,
    placementConstraints: td.placementConstraints,
    requiresCompatibilities: td.requiresCompatibilities,
    cpu: td.cpu,
    memory: td.memory,
    pidMode: td.pidMode,
    ipcMode: td.ipcMode,
    proxyConfiguration: td.proxyConfiguration,
    inferenceAccelerators: td.inferenceAccelerators,
    ephemeralStorage: td.ephemeralStorage,
    runtimePlatform: td.runtimePlatform,
    enableFaultInjection: td.enableFaultInjection,
  });
}
