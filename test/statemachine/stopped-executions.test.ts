import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, sfnClient } from '../../functions/lib/clients.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import type { ReleaseView } from '../../functions/lib/store/records.js';
import type { LambdaHandler } from '../../local/functions.js';
import { waitForApprovalLink } from '../../local/outbox.js';
import { provisionerFromConfig } from '../../functions/lib/interop/index.js';
import { publishedInterop } from '../../functions/lib/store/records.js';
import { FAST_WAITS } from '../../local/runtime.js';
import { decide, finish, get, releaseOf, service, startTestStack, waitForStatus, type TestStack } from '../helpers/pipeline.js';

/**
 * Executions no Catch can end: StopExecution at each waiting point (queued, awaiting approval, after the
 * production deploy); test/statemachine/timed-out-executions.test.ts has the state machine's own timeout. The status-change event reaches the execution-status
 * handler, which ends the record within a bounded time, restores production and the gateway where they were
 * touched and releases the lock, so the next release of the service starts at once, not after the lock's lease.
 */
const FROM_110 = { bundleFrom: '1.1.0', collectionFrom: '1.1.0', openapiFrom: '1.1.0' };
/** Bounds: the handler runs within a second or two; the rest is headroom for a loaded 2-core machine. */
const ENDED_WITHIN_MS = 30_000;

async function stop(executionArn: string, cause: string): Promise<void> {
  await sfnClient().send(new StopExecutionCommand({ executionArn, error: 'Stopped', cause }));
}

describe('stopped executions', () => {
  let stack: TestStack;
  let store: ReleaseStore;
  /** ValidateProduction waits here while `hold` is set, so a test can stop the execution after the production deploy. */
  const hold = { active: false, reached: undefined as (() => void) | undefined, release: undefined as ((e: Error) => void) | undefined };
  const holdValidation = (id: string, handler: LambdaHandler): LambdaHandler =>
    id !== 'ValidateProduction'
      ? handler
      : async (event, context) => {
          if (!hold.active) return handler(event, context);
          hold.reached?.();
          // The execution is stopped while the step waits; what the step would have done no longer matters.
          await new Promise((_, reject) => {
            hold.release = reject;
          });
        };

  beforeAll(async () => {
    // A queued release asks for the lock once and then sits in WaitForLock: stopped there, no AcquireLock call is in
    // flight to write after the handler (fencing such late writes is a separate concern).
    stack = await startTestStack({ greeter: service() }, { wrapHandler: holdValidation, waits: { ...FAST_WAITS, WaitForLock: 120_000 } });
    store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
  }, 60_000);
  afterAll(async () => {
    hold.release?.(new Error('test over'));
    await stack?.stopAll();
  });

  /** Waits for the ABORTED event's delivery to the handler, then for the record it ended. */
  async function ended(executionArn: string, releaseId: string): Promise<ReleaseView> {
    const { deliveries } = await stack.sfn.statusEvents.waitFor(executionArn, 'ABORTED', { timeoutMs: ENDED_WITHIN_MS });
    expect(deliveries.map((d) => d.outcome)).toEqual(['delivered']);
    return waitForStatus(releaseId, ['CANCELLED', 'SUPERSEDED', 'ROLLBACK_FAILED', 'ROLLED_BACK', 'FAILED'], ENDED_WITHIN_MS);
  }

  /** Polls, bounded, until `check` passes (it throws until then). */
  async function eventually<T>(what: string, check: () => Promise<T>, timeoutMs = ENDED_WITHIN_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await check();
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const gatewayDeployment = async () =>
    ((await (await fetch(`${process.env.LOCAL_GATEWAY_ADMIN_URL}/services/greeter`)).json()) as { currentDeploymentId: string | null })
      .currentDeploymentId;

  let baseline: { prodUrl: string; interopUrl: string; key: string; deployment: string | null };

  it('a first release of 1.0.0 succeeds (the version a stopped release must leave serving)', async () => {
    const started = await releaseOf({ service: 'greeter', version: '1.0.0' });
    const [, view] = await Promise.all([decide(stack, started.releaseId, 'lead@example.com', 'approve'), finish(started)]);
    expect(view.status).toBe('SUCCEEDED');
    const interop = publishedInterop(await store.stepResult(view.releaseId, 'ProvisionInterop'))!;
    const prod = await store.getCurrent('greeter', 'production');
    baseline = {
      prodUrl: String(prod!.handle.url),
      interopUrl: view.links!.interopUrl,
      key: await provisionerFromConfig().apiKeyValue('greeter', String(interop.validationKeyId)),
      deployment: await gatewayDeployment(),
    };
    expect(baseline.deployment).toBeTruthy();
  });

  it('stopped while QUEUED and while AWAITING_APPROVAL: both CANCELLED, links answer 410, the next release starts at once', async () => {
    const holder = await releaseOf({ service: 'greeter', version: '1.1.0', ...FROM_110 });
    await waitForStatus(holder.releaseId, ['AWAITING_APPROVAL']);
    const queued = await releaseOf({ service: 'greeter', version: '1.1.1', ...FROM_110 });
    await waitForStatus(queued.releaseId, ['QUEUED']);
    // Its AcquireLock call has finished once the step names the holder it waits for.
    await eventually('the queued release waits for the holder', async () => {
      const details = (await store.stepResult(queued.releaseId, 'AcquireLock'))?.details;
      expect(details).toMatchObject({ waitingFor: holder.releaseId });
    });

    await stop(queued.executionArn, 'queued behind the wrong release');
    const queuedView = await ended(queued.executionArn, queued.releaseId);
    expect(queuedView.status).toBe('CANCELLED');
    expect(queuedView.error).toMatchObject({ error: 'ExecutionAborted', state: 'AcquireLock' });
    expect(queuedView.steps.every((s) => s.status !== 'RUNNING')).toBe(true);
    expect((await store.getRelease(holder.releaseId))?.status).toBe('AWAITING_APPROVAL');

    const link = await waitForApprovalLink(stack.outboxDir, {
      releaseId: holder.releaseId,
      approver: 'lead@example.com',
      decision: 'approve',
    });
    await stop(holder.executionArn, 'not this one');
    const holderView = await ended(holder.executionArn, holder.releaseId);
    expect(holderView.status).toBe('CANCELLED');
    expect(holderView.error).toMatchObject({ error: 'ExecutionAborted', state: 'Approval' });
    expect(holderView.approval?.status).toBe('CANCELLED');
    expect((await fetch(link, { signal: AbortSignal.timeout(5000) })).status).toBe(410);
    expect((await get(`${baseline.prodUrl}/greetings/ada`)).body).toMatchObject({ version: '1.0.0' });

    // The lock's lease would last hours: reaching the approval in seconds proves the stop released it.
    const next = await releaseOf({ service: 'greeter', version: '1.1.2', ...FROM_110 });
    const nextView = await waitForStatus(next.releaseId, ['AWAITING_APPROVAL'], ENDED_WITHIN_MS);
    expect(nextView.queuedAt).toBeUndefined();
    await stop(next.executionArn, 'clearing the way');
    expect((await ended(next.executionArn, next.releaseId)).status).toBe('CANCELLED');
  });

  it('stopped after the production deploy: production and the gateway are restored, and the next release starts at once', async () => {
    hold.active = true;
    const reached = new Promise<void>((resolve) => {
      hold.reached = resolve;
    });
    const started = await releaseOf({ service: 'greeter', version: '1.1.3', ...FROM_110 });
    await decide(stack, started.releaseId, 'lead@example.com', 'approve');
    await reached;
    hold.active = false;
    // The new version is live and published: this is what the stop has to undo.
    const live = await store.getCurrent('greeter', 'production');
    expect(live?.version).toBe('1.1.3');
    expect((await get(`${String(live!.handle.url)}/greetings/ada`)).body).toMatchObject({ version: '1.1.3' });
    expect((await get(`${baseline.interopUrl}/greetings/ada`, baseline.key)).body).toMatchObject({ version: '1.1.3' });
    expect(await gatewayDeployment()).not.toBe(baseline.deployment);

    await stop(started.executionArn, 'stopped before validation');
    const view = await ended(started.executionArn, started.releaseId);
    hold.release?.(new Error('the execution was stopped'));
    expect(view.status).toBe('CANCELLED');
    expect(view.error).toMatchObject({ error: 'ExecutionAborted' });
    expect(view.steps.find((s) => s.step === 'Rollback')).toMatchObject({
      status: 'SUCCEEDED',
      details: expect.objectContaining({ restoredVersion: '1.0.0' }),
    });
    expect(view.steps.every((s) => s.status !== 'RUNNING')).toBe(true);

    const prod = await store.getCurrent('greeter', 'production');
    expect(prod?.version).toBe('1.0.0');
    expect((await get(`${String(prod!.handle.url)}/greetings/ada`)).body).toMatchObject({ version: '1.0.0' });
    expect(await gatewayDeployment()).toBe(baseline.deployment);
    expect((await get(`${baseline.interopUrl}/greetings/ada`, baseline.key)).body).toMatchObject({ version: '1.0.0' });

    const next = await releaseOf({ service: 'greeter', version: '1.1.4', ...FROM_110 });
    const nextView = await waitForStatus(next.releaseId, ['AWAITING_APPROVAL'], ENDED_WITHIN_MS);
    expect(nextView.queuedAt).toBeUndefined();
    await stop(next.executionArn, 'done');
    await ended(next.executionArn, next.releaseId);
  });
});
