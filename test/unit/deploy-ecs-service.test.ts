import 'aws-sdk-client-mock-vitest/extend';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type Deployment,
  type Service,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { s3Client } from '../../functions/lib/clients.js';
import type { DeployRequest } from '../../functions/lib/deploy/deploy-provider.js';
import { EcsServiceProvider, ImageManifestSchema } from '../../functions/lib/deploy/ecs-service.js';
import type { Clock } from '../../functions/lib/deploy/support.js';
import { DeployTargetSchema, type DeployTarget } from '../../functions/lib/deploy/targets.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';

/** ECS has no emulator here: its client is mocked and the commands asserted; the image manifest is real, in s3rver. */
const ecsMock = mockClient(ECSClient);

const ACCOUNT = '123456789012';
const TD_ARN = (rev: number) => `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/orders:${rev}`;
const TASK_ROLE = `arn:aws:iam::${ACCOUNT}:role/orders-task`;
const EXEC_ROLE = `arn:aws:iam::${ACCOUNT}:role/orders-task-execution`;
const IMAGE = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/orders:1.4.0`;

/** The service's current task definition as DescribeTaskDefinition returns it, read-only fields included. */
const currentTaskDefinition: TaskDefinition = {
  taskDefinitionArn: TD_ARN(12),
  family: 'orders',
  revision: 12,
  status: 'ACTIVE',
  taskRoleArn: TASK_ROLE,
  executionRoleArn: EXEC_ROLE,
  networkMode: 'awsvpc',
  requiresCompatibilities: ['FARGATE'],
  compatibilities: ['EC2', 'FARGATE'],
  requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.logging-driver.awslogs' }],
  cpu: '256',
  memory: '512',
  runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
  registeredAt: new Date('2029-12-01T00:00:00Z'),
  registeredBy: `arn:aws:iam::${ACCOUNT}:role/ci`,
  containerDefinitions: [
    {
      name: 'app',
      image: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/orders:1.3.0`,
      essential: true,
      portMappings: [{ containerPort: 8080 }],
    },
    { name: 'log-router', image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0', essential: true },
  ],
};

function manualClock(start = Date.parse('2030-01-01T00:00:00Z')): Clock & { advance(seconds: number): void } {
  let now = start;
  return { now: () => now, sleep: async (ms) => void (now += ms), advance: (s) => void (now += s * 1000) };
}

const service = (deployments: Deployment[], extra: Partial<Service> = {}): { services: Service[] } => ({
  services: [
    {
      serviceName: 'orders',
      status: 'ACTIVE',
      taskDefinition: deployments.find((d) => d.status === 'PRIMARY')?.taskDefinition,
      deployments,
      ...extra,
    },
  ],
});
const deployment = (
  id: string,
  rev: number,
  rolloutState: Deployment['rolloutState'],
  status: Deployment['status'] = 'PRIMARY',
  extra: Partial<Deployment> = {},
): Deployment => ({
  id,
  status,
  taskDefinition: TD_ARN(rev),
  rolloutState,
  desiredCount: 2,
  runningCount: rolloutState === 'COMPLETED' ? 2 : 1,
  failedTasks: 0,
  ...extra,
});

describe('EcsServiceProvider', () => {
  let emulators: TestEmulators;
  let artifacts: ArtifactStore;
  let clock: ReturnType<typeof manualClock>;
  let provider: EcsServiceProvider;

  const target = (over: Record<string, unknown> = {}): DeployTarget =>
    DeployTargetSchema.parse({
      type: 'ecs-service',
      cluster: 'prod',
      service: 'orders',
      containerName: 'app',
      taskRoleArns: [TASK_ROLE, EXEC_ROLE],
      endpointUrl: 'https://orders.example.com',
      ...over,
    });
  const request = (t: DeployTarget, artifactKey = 'artifacts/orders/1.4.0/image.json'): DeployRequest => ({
    releaseId: 'orders-1.4.0-abcdef123456',
    service: 'orders',
    environment: 'production',
    version: '1.4.0',
    artifactKey,
    target: t,
  });

  beforeAll(async () => {
    emulators = await startTestEmulators();
    artifacts = new ArtifactStore(s3Client(), emulators.bucket);
    await artifacts.put('artifacts/orders/1.4.0/image.json', JSON.stringify({ image: IMAGE }));
    await artifacts.put('artifacts/orders/bad/image.json', JSON.stringify({ image: 'orders' }));
    await artifacts.put('artifacts/orders/bad/not-json.json', 'FROM node:22');
  });
  afterAll(async () => emulators?.stop());

  beforeEach(() => {
    clock = manualClock();
    provider = new EcsServiceProvider({
      ecs: new ECSClient({ region: 'us-east-1' }),
      artifacts,
      clock,
      rollbackPollMs: 5_000,
      rollbackBudgetMs: 60_000,
    });
    ecsMock.on(DescribeServicesCommand).resolves(service([deployment('ecs-svc/old', 12, 'COMPLETED')]));
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: currentTaskDefinition });
    ecsMock.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: TD_ARN(13) } });
    ecsMock.on(UpdateServiceCommand, { taskDefinition: TD_ARN(13) }).resolves({
      service: { deployments: [deployment('ecs-svc/new', 13, 'IN_PROGRESS'), deployment('ecs-svc/old', 12, 'COMPLETED', 'ACTIVE')] },
    });
  });
  afterEach(() => ecsMock.reset());

  it('registers a revision with only the image replaced, updates the service, and follows the rollout to COMPLETED', async () => {
    const req = request(target());
    const started = await provider.start(req);
    expect(started).toMatchObject({ state: 'IN_PROGRESS', endpoint: 'https://orders.example.com' });
    expect(ecsMock).toReceiveCommandWith(DescribeServicesCommand, { cluster: 'prod', services: ['orders'] });
    expect(ecsMock).toReceiveCommandExactlyOnceWith(DescribeTaskDefinitionCommand, { taskDefinition: TD_ARN(12) });
    expect(ecsMock.commandCalls(RegisterTaskDefinitionCommand)[0].args[0].input).toEqual({
      family: 'orders',
      taskRoleArn: TASK_ROLE,
      executionRoleArn: EXEC_ROLE,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
      containerDefinitions: [
        { name: 'app', image: IMAGE, essential: true, portMappings: [{ containerPort: 8080 }] },
        { name: 'log-router', image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0', essential: true },
      ],
    });
    expect(ecsMock.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: 'prod', service: 'orders', taskDefinition: TD_ARN(13), forceNewDeployment: false },
    ]);
    expect(started.handle).toMatchObject({
      taskDefinitionArn: TD_ARN(13),
      previousTaskDefinitionArn: TD_ARN(12),
      deploymentId: 'ecs-svc/new',
      image: IMAGE,
    });

    ecsMock
      .on(DescribeServicesCommand)
      .resolves(service([deployment('ecs-svc/new', 13, 'IN_PROGRESS'), deployment('ecs-svc/old', 12, 'COMPLETED', 'ACTIVE')]));
    const rolling = await provider.status(req, started.handle);
    expect(rolling).toMatchObject({ state: 'IN_PROGRESS', message: 'rollout IN_PROGRESS: 1/2 running, 0 failed tasks' });

    ecsMock.on(DescribeServicesCommand).resolves(service([deployment('ecs-svc/new', 13, 'COMPLETED')]));
    const done = await provider.status(req, rolling.handle);
    expect(done).toMatchObject({ state: 'SUCCEEDED', endpoint: 'https://orders.example.com', handle: { taskDefinitionArn: TD_ARN(13) } });
    expect(ecsMock).toReceiveCommandTimes(UpdateServiceCommand, 1);
  });

  it('fails with the rollout reason when the circuit breaker fails the deployment', async () => {
    const req = request(target());
    const started = await provider.start(req);
    ecsMock.on(DescribeServicesCommand).resolves(
      service([
        deployment('ecs-svc/new', 13, 'FAILED', 'PRIMARY', {
          rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
          failedTasks: 4,
        }),
      ]),
    );
    const failed = await provider.status(req, started.handle);
    expect(failed).toMatchObject({
      state: 'FAILED',
      message: `rollout of ${TD_ARN(13)} on orders failed: ECS deployment circuit breaker: tasks failed to start.`,
    });
  });

  it('fails a rollout still in progress after timeoutSeconds, and one that another deployment replaced', async () => {
    const req = request(target({ timeoutSeconds: 600 }));
    const started = await provider.start(req);
    ecsMock.on(DescribeServicesCommand).resolves(service([deployment('ecs-svc/new', 13, 'IN_PROGRESS')]));
    clock.advance(601);
    const slow = await provider.status(req, started.handle);
    expect(slow).toMatchObject({
      state: 'FAILED',
      message: 'rollout IN_PROGRESS: 1/2 running, 0 failed tasks; still not complete after 600s',
    });

    ecsMock.on(DescribeServicesCommand).resolves(service([deployment('ecs-svc/other', 14, 'IN_PROGRESS')]));
    const replaced = await provider.status(req, started.handle);
    expect(replaced.state).toBe('FAILED');
    expect(replaced.message).toMatch(/deployment ecs-svc\/new is no longer on orders; it now runs .*orders:14/);
  });

  it('refuses, before registering anything, a bad manifest, a missing container, an unlisted role or a missing service', async () => {
    const bad = await provider.start(request(target(), 'artifacts/orders/bad/image.json'));
    expect(bad.message).toBe(
      `artifact s3://${emulators.bucket}/artifacts/orders/bad/image.json is not an image manifest: image: expected "<repository>:<tag>" or "<repository>@sha256:<digest>"`,
    );
    const notJson = await provider.start(request(target(), 'artifacts/orders/bad/not-json.json'));
    expect(notJson.message).toMatch(/is not an image manifest: not JSON .*; expected \{"image": "<repository>:<tag>"\}$/);

    const container = await provider.start(request(target({ containerName: 'web' })));
    expect(container.message).toBe(`task definition ${TD_ARN(12)} has no container "web" (it has: app, log-router)`);

    const roles = await provider.start(request(target({ taskRoleArns: [TASK_ROLE] })));
    expect(roles.message).toBe(`task definition ${TD_ARN(12)} uses ${EXEC_ROLE}, which the catalog target does not list in taskRoleArns`);

    ecsMock
      .on(DescribeServicesCommand)
      .resolves({ services: [], failures: [{ arn: 'arn:aws:ecs:us-east-1:123456789012:service/prod/orders', reason: 'MISSING' }] });
    const missing = await provider.start(request(target()));
    expect(missing.message).toBe('service orders in cluster prod: MISSING');

    for (const status of [bad, notJson, container, roles, missing]) expect(status.state).toBe('FAILED');
    expect(ecsMock).toReceiveCommandTimes(RegisterTaskDefinitionCommand, 0);
    expect(ecsMock).toReceiveCommandTimes(UpdateServiceCommand, 0);
  });

  it('refuses a service on the CODE_DEPLOY controller', async () => {
    ecsMock
      .on(DescribeServicesCommand)
      .resolves(service([deployment('ecs-svc/old', 12, undefined)], { deploymentController: { type: 'CODE_DEPLOY' } }));
    const failed = await provider.start(request(target()));
    expect(failed.message).toBe(
      'service orders uses the CODE_DEPLOY deployment controller; ecs-service targets need the ECS (rolling) controller',
    );
  });

  describe('rollback', () => {
    const previous = {
      version: '1.3.0',
      releaseId: 'orders-1.3.0-0123456789ab',
      artifactKey: 'artifacts/orders/1.3.0/image.json',
      handle: {
        cluster: 'prod',
        service: 'orders',
        taskDefinitionArn: TD_ARN(12),
        deploymentId: 'ecs-svc/old',
        startedAt: '2029-12-01T00:00:00.000Z',
      },
    };

    it("updates the service back to the previous release's revision and polls until that rollout completes", async () => {
      ecsMock.on(UpdateServiceCommand, { taskDefinition: TD_ARN(12) }).resolves({
        service: { deployments: [deployment('ecs-svc/back', 12, 'IN_PROGRESS'), deployment('ecs-svc/new', 13, 'FAILED', 'ACTIVE')] },
      });
      ecsMock
        .on(DescribeServicesCommand)
        .resolvesOnce(service([deployment('ecs-svc/back', 12, 'IN_PROGRESS')]))
        .resolvesOnce(service([deployment('ecs-svc/back', 12, 'IN_PROGRESS')]))
        .resolves(service([deployment('ecs-svc/back', 12, 'COMPLETED')]));
      const restored = await provider.rollback({
        service: 'orders',
        environment: 'production',
        target: target(),
        previous,
        failed: {
          ...previous,
          version: '1.4.0',
          handle: { taskDefinitionArn: TD_ARN(13), previousTaskDefinitionArn: TD_ARN(12), deploymentId: 'ecs-svc/new' },
        },
      });
      expect(restored).toMatchObject({ state: 'SUCCEEDED', handle: { taskDefinitionArn: TD_ARN(12), deploymentId: 'ecs-svc/back' } });
      expect(ecsMock.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
        { cluster: 'prod', service: 'orders', taskDefinition: TD_ARN(12), forceNewDeployment: false },
      ]);
      expect(ecsMock).toReceiveCommandTimes(DescribeServicesCommand, 3);
      expect(ecsMock).toReceiveCommandTimes(RegisterTaskDefinitionCommand, 0);
    });

    it('reports FAILED when the rollback rollout does not complete within its budget', async () => {
      ecsMock
        .on(UpdateServiceCommand, { taskDefinition: TD_ARN(12) })
        .resolves({ service: { deployments: [deployment('ecs-svc/back', 12, 'IN_PROGRESS')] } });
      ecsMock.on(DescribeServicesCommand).resolves(service([deployment('ecs-svc/back', 12, 'IN_PROGRESS')]));
      const restored = await provider.rollback({ service: 'orders', environment: 'production', target: target(), previous });
      expect(restored?.state).toBe('FAILED');
      expect(restored?.message).toBe(
        `rollback of orders to ${TD_ARN(12)} did not complete within 60s (rollout IN_PROGRESS: 1/2 running, 0 failed tasks)`,
      );
    });

    it('without a previous release, returns to the revision the failed deployment replaced, if it knows one', async () => {
      ecsMock
        .on(UpdateServiceCommand, { taskDefinition: TD_ARN(12) })
        .resolves({ service: { deployments: [deployment('ecs-svc/back', 12, 'COMPLETED')] } });
      ecsMock.on(DescribeServicesCommand).resolves(service([deployment('ecs-svc/back', 12, 'COMPLETED')]));
      const failed = { version: '1.4.0', releaseId: 'r', artifactKey: '', handle: { previousTaskDefinitionArn: TD_ARN(12) } };
      const restored = await provider.rollback({ service: 'orders', environment: 'production', target: target(), failed });
      expect(restored?.state).toBe('SUCCEEDED');
      expect(ecsMock).toReceiveCommandWith(UpdateServiceCommand, { taskDefinition: TD_ARN(12) });

      ecsMock.resetHistory();
      const nothing = await provider.rollback({ service: 'orders', environment: 'production', target: target() });
      expect(nothing).toBeUndefined();
      expect(ecsMock.calls()).toHaveLength(0);
    });
  });

  it('accepts tags and digests in image manifests and refuses an implied latest', () => {
    expect(ImageManifestSchema.safeParse({ image: 'localhost:5000/team/orders:1.4.0' }).success).toBe(true);
    expect(ImageManifestSchema.safeParse({ image: `orders@sha256:${'a'.repeat(64)}` }).success).toBe(true);
    expect(ImageManifestSchema.safeParse({ image: 'localhost:5000/orders' }).success).toBe(false);
    expect(ImageManifestSchema.safeParse({ image: 'orders:1.4.0; rm -rf /' }).success).toBe(false);
    expect(ImageManifestSchema.safeParse({}).error?.issues[0].message).toMatch(/^required: the image to deploy/);
  });
});
