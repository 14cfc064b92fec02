import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/lib/clients.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import type { LambdaHandler } from '../../local/functions.js';
import { waitForApprovalLink } from '../../local/outbox.js';
import { decide, finish, releaseOf, service, startTestStack, waitForStatus, type TestStack } from '../helpers/pipeline.js';

/**
 * Catalog `queue: 'supersede'` on the real ASL in the embedded engine: a newer release ends the older ones still
 * queued or awaiting approval as SUPERSEDED (their links answer 410 naming it) and goes on; a release past its
 * approval finishes; with `fifo` nothing is superseded.
 */
const noInterop = { ...service().interop, enabled: false, apiKeyRequired: false, apiKeys: [] };
/** Bounds for a loaded 2-core machine: the handler ends a stopped release within a second or two. */
const ENDED_WITHIN_MS = 30_000;

const start = (svc: string, version: string) =>
  releaseOf({ service: svc, version, bundleFrom: '1.0.0', collectionFrom: '1.0.0', openapiFrom: '1.0.0' });

describe('queue supersede', () => {
  let stack: TestStack;
  let store: ReleaseStore;
  /** ValidateProduction waits while `hold.gate` is set, so a release stays past its approval while others start. */
  const hold: { gate?: Promise<void>; open?: () => void; reached?: () => void } = {};
  const holdValidation = (id: string, handler: LambdaHandler): LambdaHandler =>
    id !== 'ValidateProduction'
      ? handler
      : async (event, context) => {
          if (hold.gate) {
            hold.reached?.();
            await hold.gate;
          }
          return handler(event, context);
        };

  beforeAll(async () => {
    stack = await startTestStack(
      { swift: service({ interop: noInterop, queue: 'supersede' }), steady: service({ interop: noInterop }) },
      { wrapHandler: holdValidation },
    );
    store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
  }, 60_000);
  afterAll(async () => {
    hold.open?.();
    await stack?.stopAll();
  });

  it('a newer release ends the one awaiting approval as SUPERSEDED; its link answers 410 naming the newer; the newer succeeds', async () => {
    const older = await start('swift', '1.0.1');
    await waitForStatus(older.releaseId, ['AWAITING_APPROVAL']);
    const link = await waitForApprovalLink(stack.outboxDir, {
      releaseId: older.releaseId,
      approver: 'lead@example.com',
      decision: 'approve',
    });

    const newer = await start('swift', '1.0.2');
    const { deliveries } = await stack.sfn.statusEvents.waitFor(older.executionArn, 'ABORTED', { timeoutMs: ENDED_WITHIN_MS });
    expect(deliveries.map((d) => d.outcome)).toEqual(['delivered']);
    const olderView = await waitForStatus(older.releaseId, ['SUPERSEDED', 'CANCELLED', 'FAILED'], ENDED_WITHIN_MS);
    expect(olderView.status).toBe('SUPERSEDED');
    expect(olderView.stopRequest).toMatchObject({
      status: 'SUPERSEDED',
      by: 'launchway',
      supersededBy: newer.releaseId,
      reason: `superseded by ${newer.releaseId} (1.0.2)`,
    });
    expect(olderView.error).toMatchObject({ error: 'ExecutionAborted', state: 'Approval' });
    expect(olderView.approval?.status).toBe('CANCELLED');

    const res = await fetch(link, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(410);
    expect(await res.text()).toContain(`superseded by ${newer.releaseId}`);

    await waitForStatus(newer.releaseId, ['AWAITING_APPROVAL'], ENDED_WITHIN_MS);
    const [, newerView] = await Promise.all([decide(stack, newer.releaseId, 'lead@example.com', 'approve'), finish(newer)]);
    expect(newerView.status).toBe('SUCCEEDED');
    expect(newerView.stopRequest).toBeUndefined();
    expect((await store.getCurrent('swift', 'production'))?.version).toBe('1.0.2');
  }, 180_000);

  it('a queued release is superseded too, while one past its approval finishes', async () => {
    hold.gate = new Promise<void>((resolve) => {
      hold.open = resolve;
    });
    const reached = new Promise<void>((resolve) => {
      hold.reached = resolve;
    });
    const deploying = await start('swift', '1.0.3');
    await waitForStatus(deploying.releaseId, ['AWAITING_APPROVAL']);
    await decide(stack, deploying.releaseId, 'lead@example.com', 'approve');
    await reached;

    const queued = await start('swift', '1.0.4');
    await waitForStatus(queued.releaseId, ['QUEUED']);
    const newest = await start('swift', '1.0.5');
    const queuedView = await waitForStatus(queued.releaseId, ['SUPERSEDED', 'CANCELLED', 'FAILED'], ENDED_WITHIN_MS);
    expect(queuedView.status).toBe('SUPERSEDED');
    expect(queuedView.stopRequest?.supersededBy).toBe(newest.releaseId);
    expect(queuedView.error).toMatchObject({ error: 'ExecutionAborted', state: 'AcquireLock' });

    const deployingNow = await store.getRelease(deploying.releaseId);
    expect(deployingNow?.status).toBe('RUNNING');
    expect(deployingNow?.stopRequest).toBeUndefined();
    hold.gate = undefined;
    hold.open?.();
    expect((await finish(deploying)).status).toBe('SUCCEEDED');

    await waitForStatus(newest.releaseId, ['AWAITING_APPROVAL'], ENDED_WITHIN_MS);
    const [, newestView] = await Promise.all([decide(stack, newest.releaseId, 'lead@example.com', 'approve'), finish(newest)]);
    expect(newestView.status).toBe('SUCCEEDED');
    expect((await store.getCurrent('swift', 'production'))?.version).toBe('1.0.5');
  }, 240_000);

  it('with fifo nothing is superseded: the newer release queues behind the one awaiting approval', async () => {
    const older = await start('steady', '1.0.1');
    await waitForStatus(older.releaseId, ['AWAITING_APPROVAL']);
    const newer = await start('steady', '1.0.2');
    await waitForStatus(newer.releaseId, ['QUEUED']);
    // Its AcquireLock round has finished once the step names the holder it waits for; Prepare ran before it.
    const deadline = Date.now() + ENDED_WITHIN_MS;
    while ((await store.stepResult(newer.releaseId, 'AcquireLock'))?.details?.waitingFor !== older.releaseId) {
      if (Date.now() > deadline) throw new Error('the newer release did not wait for the older one');
      await new Promise((r) => setTimeout(r, 100));
    }
    const olderNow = await store.getRelease(older.releaseId);
    expect(olderNow?.status).toBe('AWAITING_APPROVAL');
    expect(olderNow?.stopRequest).toBeUndefined();

    const [, olderView] = await Promise.all([decide(stack, older.releaseId, 'lead@example.com', 'approve'), finish(older)]);
    expect(olderView.status).toBe('SUCCEEDED');
    await waitForStatus(newer.releaseId, ['AWAITING_APPROVAL'], 90_000);
    const [, newerView] = await Promise.all([decide(stack, newer.releaseId, 'lead@example.com', 'approve'), finish(newer)]);
    expect(newerView.status).toBe('SUCCEEDED');
  }, 240_000);
});
