import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/lib/clients.js';
import { supervisor, type SupervisedProcess } from '../../functions/lib/deploy/process-supervisor.js';
import { provisionerFromConfig } from '../../functions/lib/interop/index.js';
import { isTerminal, publishedInterop } from '../../functions/lib/store/records.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import type { StepFunctionId } from '../../functions/steps.js';
import type { LambdaHandler } from '../../local/functions.js';
import { decide, finish, get, releaseOf, service, startTestStack, step, type TestStack } from '../helpers/pipeline.js';

/**
 * Fencing (docs/architecture.md, "Fencing"): a step attempt whose Task timed out and which completes after its
 * release moved on or ended undoes its own effect and changes nothing else. A Task timeout is simulated by the
 * wrapper: it starts the real handler in the background and throws `States.Timeout` to the engine at once, so the
 * state machine goes on to its Catch while the handler is still running; the test awaits that late completion.
 */
const FROM_110 = { bundleFrom: '1.1.0', collectionFrom: '1.1.0', openapiFrom: '1.1.0' };
/** Generous bounds for a loaded 2-core machine; every wait is for an event, never a fixed sleep. */
const WITHIN_MS = 60_000;

/** A step attempt the wrapper lets run late, and its completion. */
interface LateAttempt {
  id: StepFunctionId;
  match: (event: { releaseId: string; environment?: string }) => boolean;
  /** `now`: start the handler at once and throw once `reached` resolves; `afterEnd`: start it once the release ended. */
  mode: 'now' | 'afterEnd';
  reached?: Promise<unknown>;
  done?: Promise<unknown>;
}

describe('fencing: nothing outlives its step', () => {
  let stack: TestStack;
  let store: ReleaseStore;
  let late: LateAttempt | undefined;
  /** A production process spawn the supervisor holds (after spawning) until its release ended. */
  let holdSpawn: { releaseId: string; spawned: (p: SupervisedProcess) => void } | undefined;
  /** What the next stage PUT to the local gateway does: fail after it took effect, or wait until the release ended. */
  let stageHook: { mode: 'fail-after' } | { mode: 'hold-before'; releaseId: string; reached: () => void } | undefined;
  const realStart = supervisor.start.bind(supervisor);
  const realFetch = globalThis.fetch;

  async function untilEnded(releaseId: string): Promise<void> {
    const deadline = Date.now() + WITHIN_MS;
    while (!isTerminal((await store.requireRelease(releaseId)).status)) {
      if (Date.now() > deadline) throw new Error(`release ${releaseId} did not end within ${WITHIN_MS} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const wrap = (id: StepFunctionId, handler: LambdaHandler): LambdaHandler =>
    async function maybeLate(event, context) {
      const attempt = late;
      const input = event as { releaseId: string; environment?: string };
      if (!attempt || attempt.id !== id || !attempt.match(input)) return handler(event, context);
      late = undefined;
      if (attempt.mode === 'afterEnd') {
        attempt.done = untilEnded(input.releaseId).then(() => handler(event, context));
      } else {
        attempt.done = handler(event, context);
        // Until the attempt got as far as the test needs (it may also fail before: then there is nothing to wait for).
        await Promise.race([attempt.reached, attempt.done.catch(() => undefined)]);
      }
      attempt.done.catch(() => undefined);
      throw Object.assign(new Error('the Task timed out (simulated by the test)'), { name: 'States.Timeout' });
    };

  beforeAll(async () => {
    supervisor.start = async (opts) => {
      const proc = await realStart(opts);
      const hold = holdSpawn;
      if (hold && opts.logFile.includes(`${path.sep}production${path.sep}${hold.releaseId}${path.sep}`)) {
        holdSpawn = undefined;
        hold.spawned(proc);
        await untilEnded(hold.releaseId);
      }
      return proc;
    };
    globalThis.fetch = async (input, init) => {
      const hook = stageHook;
      const url = input instanceof Request ? input.url : String(input);
      const admin = process.env.LOCAL_GATEWAY_ADMIN_URL;
      if (hook && admin && init?.method === 'PUT' && url.startsWith(admin) && url.includes('/stages/')) {
        stageHook = undefined;
        if (hook.mode === 'fail-after') {
          await realFetch(input, init);
          return new Response('{"error":{"message":"the connection was reset after the update"}}', { status: 502 });
        }
        hook.reached();
        await untilEnded(hook.releaseId);
      }
      return realFetch(input, init);
    };
    stack = await startTestStack({ greeter: service() }, { wrapHandler: wrap });
    store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
  }, 60_000);
  afterAll(async () => {
    supervisor.start = realStart;
    globalThis.fetch = realFetch;
    await stack?.stopAll();
  });

  const gatewayDeployment = async () =>
    ((await (await realFetch(`${process.env.LOCAL_GATEWAY_ADMIN_URL}/services/greeter`)).json()) as { currentDeploymentId: string | null })
      .currentDeploymentId;

  let baseline: { interopUrl: string; key: string; deployment: string | null };

  /** Production and the gateway serve 1.0.0, as before the release. */
  async function expectOldVersionLive(): Promise<void> {
    const prod = await store.getCurrent('greeter', 'production');
    expect(prod?.version).toBe('1.0.0');
    expect((await get(`${String(prod!.handle.url)}/greetings/ada`)).body).toMatchObject({ version: '1.0.0' });
    expect(await gatewayDeployment()).toBe(baseline.deployment);
    expect((await get(`${baseline.interopUrl}/greetings/ada`, baseline.key)).body).toMatchObject({ version: '1.0.0' });
  }

  it('a first release of 1.0.0 succeeds (what every later failure must leave serving)', async () => {
    const started = await releaseOf({ service: 'greeter', version: '1.0.0' });
    const [, view] = await Promise.all([decide(stack, started.releaseId, 'lead@example.com', 'approve'), finish(started)]);
    expect(view.status).toBe('SUCCEEDED');
    const interop = publishedInterop(await store.stepResult(view.releaseId, 'ProvisionInterop'))!;
    baseline = {
      interopUrl: view.links!.interopUrl,
      key: await provisionerFromConfig().apiKeyValue('greeter', String(interop.validationKeyId)),
      deployment: await gatewayDeployment(),
    };
    expect(baseline.deployment).toBeTruthy();
  });

  /** Arms the wrapper for one late attempt of `id`; the returned object gets the attempt's completion as `done`. */
  function armLate(attempt: LateAttempt): LateAttempt {
    late = attempt;
    return attempt;
  }

  it('(a) a DeployProduction start completing after its release ended ROLLED_BACK stops its process and records nothing', async () => {
    const started = await releaseOf({ service: 'greeter', version: '1.1.0', ...FROM_110 });
    const spawned = new Promise<SupervisedProcess>((resolve) => {
      holdSpawn = { releaseId: started.releaseId, spawned: resolve };
    });
    const attempt = armLate({ id: 'Deploy', match: (e) => e.environment === 'production', mode: 'now', reached: spawned });
    const [, view] = await Promise.all([decide(stack, started.releaseId, 'lead@example.com', 'approve'), finish(started)]);
    expect(view.status).toBe('ROLLED_BACK');

    await expect(attempt.done).rejects.toMatchObject({ name: 'FencedOut' });
    expect(supervisor.isRunning((await spawned).pid)).toBe(false);
    const deploy = step((await store.getView(started.releaseId))!, 'DeployProduction');
    expect(deploy.status).toBe('FAILED');
    expect(deploy.details?.handle).toEqual({});
    await expectOldVersionLive();
  });

  it('(b) a ProvisionInterop that fails after switching the stage: ROLLED_BACK, and the gateway serves the old version', async () => {
    stageHook = { mode: 'fail-after' };
    const started = await releaseOf({ service: 'greeter', version: '1.1.1', ...FROM_110 });
    const [, view] = await Promise.all([decide(stack, started.releaseId, 'lead@example.com', 'approve'), finish(started)]);
    expect(view.status).toBe('ROLLED_BACK');
    const interop = step(view, 'ProvisionInterop');
    expect(interop.status).toBe('FAILED');
    expect(interop.details).toEqual({ stageBefore: baseline.deployment });
    expect(step(view, 'Rollback').details).toMatchObject({ restoredVersion: '1.0.0', gatewayDeployment: baseline.deployment });
    await expectOldVersionLive();
  });

  it('(c) a ProvisionInterop switching the stage after its release ended puts the stage back', async () => {
    const started = await releaseOf({ service: 'greeter', version: '1.1.2', ...FROM_110 });
    const reached = new Promise<void>((resolve) => {
      stageHook = { mode: 'hold-before', releaseId: started.releaseId, reached: resolve };
    });
    const attempt = armLate({ id: 'ProvisionInterop', match: () => true, mode: 'now', reached });
    const [, view] = await Promise.all([decide(stack, started.releaseId, 'lead@example.com', 'approve'), finish(started)]);
    expect(view.status).toBe('ROLLED_BACK');

    await expect(attempt.done).rejects.toMatchObject({ name: 'FencedOut', message: expect.stringContaining('is back on') });
    const interop = step((await store.getView(started.releaseId))!, 'ProvisionInterop');
    expect(interop.status).toBe('FAILED');
    expect(publishedInterop(interop)).toBeUndefined();
    await expectOldVersionLive();
  });

  it('(d) an AcquireLock completing after its release ended leaves the lock free', async () => {
    const attempt = armLate({ id: 'AcquireLock', match: () => true, mode: 'afterEnd' });
    const started = await releaseOf({ service: 'greeter', version: '1.1.3', ...FROM_110 });
    const view = await finish(started);
    expect(view.status).toBe('FAILED');

    await expect(attempt.done).rejects.toMatchObject({ name: 'FencedOut' });
    expect(await store.order.lockHolder('greeter')).toBeUndefined();
    expect(step((await store.getView(started.releaseId))!, 'AcquireLock').status).toBe('FAILED');
    await expectOldVersionLive();
  });
});
