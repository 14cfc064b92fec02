import { RedriveExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, sfnClient } from '../../functions/lib/clients.js';
import { redriveRelease } from '../../functions/lib/operations/redrive.js';
import { endStoppedExecution } from '../../functions/lib/pipeline/execution-ended.js';
import type { ReleaseView } from '../../functions/lib/store/records.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { getReleaseView } from '../../cli/release-client.js';
import { defaultDeps } from '../../functions/lib/pipeline/deps.js';
import { decide, finish, get, releaseOf, service, startTestStack, step, waitForStatus, type TestStack } from '../helpers/pipeline.js';

/**
 * `launchway redrive` on the real ASL in the embedded engine: a release that failed before production waits in
 * HoldForRedrive; the redrive it asked for reopens it, it takes the lock again and runs from staging; a redrive
 * nobody asked for, a stale status event of the first run and a second failure leave it as they should.
 */
let stack: TestStack;
let store: ReleaseStore;
const operator = { by: 'ops@example.com', reason: 'staging was flaky' };
const deps = () => ({ store, sfn: sfnClient() });

beforeAll(async () => {
  stack = await startTestStack({ greeter: service() });
  store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
}, 60_000);
afterAll(async () => stack?.stopAll());

/** Waits, bounded, until `test` holds for the release's view. */
async function until(releaseId: string, test: (v: ReleaseView) => boolean, what: string, timeoutMs = 60_000): Promise<ReleaseView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await getReleaseView(releaseId);
    if (view && test(view)) return view;
    if (Date.now() > deadline) throw new Error(`${releaseId}: ${what} not within ${timeoutMs} ms (is ${view?.status})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A release that failed in SmokeTestStaging, its execution ended in HoldForRedrive and its FAILED event delivered. */
async function failedInSmokeTests(version: string) {
  stack.sfn.injectFault('SmokeTestStaging', 'SmokeBoom', 1);
  const started = await releaseOf({ service: 'greeter', version, bundleFrom: '1.0.0', collectionFrom: '1.0.0', openapiFrom: '1.0.0' });
  const view = await finish(started);
  expect(view).toMatchObject({ status: 'FAILED', error: { error: 'SmokeBoom', state: 'SmokeTestStaging' } });
  await stack.sfn.statusEvents.waitFor(started.executionArn, 'FAILED', { timeoutMs: 30_000 });
  return started;
}

async function lockHolder(): Promise<string | undefined> {
  return store.order.lockHolder('greeter');
}

describe('redrive of a release that failed before production', () => {
  it('fails the execution in HoldForRedrive with the release error; a redrive not asked for leaves it FAILED', async () => {
    const started = await failedInSmokeTests('1.0.0');
    const execution = await stack.sfn.waitForExecution(started.executionArn);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'ReleaseFailed', cause: expect.stringContaining('SmokeBoom') });

    await sfnClient().send(new RedriveExecutionCommand({ executionArn: started.executionArn }));
    await stack.sfn.statusEvents.waitFor(started.executionArn, 'FAILED', { redriveCount: 1, timeoutMs: 30_000 });
    const again = await stack.sfn.waitForExecution(started.executionArn);
    expect(again).toMatchObject({
      status: 'FAILED',
      error: 'ReleaseFailed',
      cause: expect.stringContaining('not asked for with launchway redrive'),
    });
    const view = await getReleaseView(started.releaseId);
    expect(view).toMatchObject({ status: 'FAILED', error: { state: 'SmokeTestStaging' } });
    expect(view?.redrive).toBeUndefined();
    expect(await lockHolder()).toBeUndefined();

    // Launchway's own redrive of the same execution then counts on from the console's.
    const out = await redriveRelease(deps(), { releaseId: started.releaseId, ...operator });
    expect(out.redrive).toMatchObject({ count: 2, ...operator });
    const reopened = await until(started.releaseId, (v) => v.status === 'AWAITING_APPROVAL', 'awaiting approval again');
    expect(reopened.redrives).toEqual([
      expect.objectContaining({
        count: 2,
        ...operator,
        previous: expect.objectContaining({ error: expect.objectContaining({ error: 'SmokeBoom' }) }),
      }),
    ]);
    await decide(stack, started.releaseId, 'lead@example.com', 'approve');
    const done = await until(started.releaseId, (v) => v.status === 'SUCCEEDED', 'SUCCEEDED', 90_000);
    expect(done.error).toBeUndefined();
    expect(done.endedAt).toBeDefined();
    expect((await get(`${done.links!.productionUrl}/greetings/ada`)).body.version).toBe('1.0.0');
  });

  it('runs again from the lock after a second failure, keeping every failure; a stale event of an earlier run is ignored', async () => {
    const started = await failedInSmokeTests('1.0.1');
    stack.sfn.injectFault('DeployStaging', 'StagingBoom', 1);
    await redriveRelease(deps(), { releaseId: started.releaseId, ...operator, reason: 'first try' });
    await stack.sfn.statusEvents.waitFor(started.executionArn, 'FAILED', { redriveCount: 1, timeoutMs: 60_000 });
    const failedAgain = await until(started.releaseId, (v) => v.status === 'FAILED', 'FAILED again');
    expect(failedAgain.error).toMatchObject({ error: 'StagingBoom', state: 'DeployStaging' });
    expect(failedAgain.redrive).toMatchObject({ count: 1, reason: 'first try', reopenedAt: expect.any(String) });
    expect(await lockHolder()).toBeUndefined();

    await redriveRelease(deps(), { releaseId: started.releaseId, ...operator, reason: 'second try' });
    const waiting = await until(started.releaseId, (v) => v.status === 'AWAITING_APPROVAL', 'awaiting approval');
    expect(waiting.redrives?.map((r) => [r.reason, r.previous.error?.error])).toEqual([
      ['first try', 'SmokeBoom'],
      ['second try', 'StagingBoom'],
    ]);
    expect(step(waiting, 'DeployStaging').status).toBe('SUCCEEDED');
    expect(await lockHolder()).toBe(started.releaseId);

    // The first run's FAILED event, delivered again (EventBridge retries for a day), must not end the reopened release.
    const [first] = stack.sfn.statusEvents.published().filter((p) => p.event.detail.executionArn === started.executionArn);
    const handled = await endStoppedExecution(defaultDeps(), first.event as never);
    expect(handled).toMatchObject({ status: 'IGNORED', ended: false });
    expect((await waitForStatus(started.releaseId, ['AWAITING_APPROVAL'])).status).toBe('AWAITING_APPROVAL');
    expect(await lockHolder()).toBe(started.releaseId);

    await decide(stack, started.releaseId, 'lead@example.com', 'approve');
    expect((await until(started.releaseId, (v) => v.status === 'SUCCEEDED', 'SUCCEEDED', 90_000)).redrive?.count).toBe(2);
  });
});
