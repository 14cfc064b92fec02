import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/lib/clients.js';
import type { DeployTarget } from '../../functions/lib/catalog.js';
import type { DeployProvider, DeployStatus } from '../../functions/lib/deploy/deploy-provider.js';
import { DeployTargetSchema } from '../../functions/lib/deploy/targets.js';
import { checkDeployment, startDeployment } from '../../functions/lib/pipeline/deployments.js';
import type { PipelineDeps } from '../../functions/lib/pipeline/deps.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { service } from '../helpers/pipeline.js';

/**
 * The wait the deploy steps hand to WaitStaging / WaitProduction, on dynalite: the provider's first interval, half
 * again as long each poll (the count kept on the step record), at most a minute, and sooner when the provider has
 * something due. The provider is scripted: what is under test is the step, not a deploy.
 */
let emu: TestEmulators;
let store: ReleaseStore;

beforeAll(async () => {
  emu = await startTestEmulators();
  store = new ReleaseStore(
    documentClient(),
    emu.table,
    () => new Date(),
    () => undefined,
  );
});
afterAll(async () => emu?.stop());

/** A provider that stays IN_PROGRESS for `inProgress` polls, then succeeds; `due` gives each status's dueInSeconds. */
function scripted(type: DeployTarget['type'], inProgress: number, due: (poll: number) => number | undefined = () => undefined) {
  let polls = 0;
  const status = (): DeployStatus => {
    const dueInSeconds = due(polls);
    const state = polls > inProgress ? 'SUCCEEDED' : 'IN_PROGRESS';
    return { state, handle: { polls }, ...(dueInSeconds === undefined ? {} : { dueInSeconds }) };
  };
  const provider: DeployProvider = {
    type,
    start: async () => status(),
    status: async () => {
      polls += 1;
      return status();
    },
    rollback: async () => undefined,
    discard: async () => 'nothing to discard',
  };
  return provider;
}

async function release(id: string, staging: DeployTarget): Promise<void> {
  const now = new Date().toISOString();
  await store.createRelease({
    releaseId: id,
    // A service per release: each deploy step claims its fence on the service lock, which its release must hold.
    service: id,
    version: '1.0.0',
    commit: 'abcdef1',
    branch: 'main',
    triggeredBy: 'ci@example.com',
    status: 'RUNNING',
    request: { artifacts: { bundle: 'artifacts/polled.zip' } },
    changes: [],
    catalog: service({ staging }),
    createdAt: now,
    updatedAt: now,
  });
  await store.acquireLock(id, id, 3600);
}

/** Every wait the steps return for one deploy, start to SUCCEEDED. */
async function waits(id: string, provider: DeployProvider): Promise<number[]> {
  const deps = { store, now: () => new Date(), providerFor: () => provider } as unknown as PipelineDeps;
  const event = { releaseId: id, environment: 'staging' } as const;
  const out = [await startDeployment(deps, event)];
  while (out.at(-1)!.state === 'IN_PROGRESS') out.push(await checkDeployment(deps, event));
  return out.map((r) => r.waitSeconds);
}

describe('the deploy steps’ poll waits', () => {
  it('start at the provider’s interval and grow by half each poll, up to a minute; the step record counts the polls', async () => {
    await release('ecs-1', DeployTargetSchema.parse({ type: 'ecs-service', cluster: 'c', service: 's', containerName: 'app' }));
    const seen = await waits('ecs-1', scripted('ecs-service', 6));
    expect(seen.slice(0, -1)).toEqual([15, 23, 34, 51, 60, 60, 60]);
    expect((await store.stepResult('ecs-1', 'DeployStaging'))?.details).toMatchObject({ polls: 7 });
  });

  it('start at an http hook’s own pollSeconds', async () => {
    await release('http-1', DeployTargetSchema.parse({ type: 'http', deployUrl: 'https://hooks.example.com/d', pollSeconds: 2 }));
    expect((await waits('http-1', scripted('http', 3))).slice(0, -1)).toEqual([2, 3, 5, 7]);
  });

  it('end when the provider says its next step is due, however long the backoff has grown', async () => {
    await release('lambda-1', DeployTargetSchema.parse({ type: 'lambda-alias', functionName: 'f' }));
    const due = (poll: number) => (poll >= 4 ? 2.5 : undefined);
    expect((await waits('lambda-1', scripted('lambda-alias', 5, due))).slice(0, -1)).toEqual([5, 8, 12, 17, 3, 3]);
  });
});
