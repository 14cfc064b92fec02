import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, sfnClient } from '../../functions/lib/clients.js';
import { TERMINAL_STATUSES } from '../../functions/lib/store/records.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { decideFromOutbox } from '../../cli/approve.js';
import { getReleaseView, type StartedRelease } from '../../cli/release-client.js';
import { decide, finish, get, releaseOf, service, startTestStack, step, waitForStatus, type TestStack } from '../helpers/pipeline.js';

/**
 * Order and versions on the real ASL in the embedded engine: a service's queue is first come, first served by start
 * time, a release must move production forward, and one build is started once.
 */
let stack: TestStack;
let store: ReleaseStore;
const noInterop = { ...service().interop, enabled: false, apiKeyRequired: false, apiKeys: [] };

beforeAll(async () => {
  stack = await startTestStack({
    ordered: service({ interop: noInterop }),
    downgradable: service({ interop: noInterop, allowDowngrade: true }),
  });
  store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
}, 60_000);
afterAll(async () => stack?.stopAll());

/** A release of `svc` built from the 1.0.0 example: the service answers with the release's version. */
const start = (svc: string, version: string, commit?: string) =>
  releaseOf({ service: svc, version, commit, bundleFrom: '1.0.0', collectionFrom: '1.0.0', openapiFrom: '1.0.0' });

const approve = (releaseId: string) => decideFromOutbox(stack.outboxDir, { releaseId, approver: 'lead@example.com', decision: 'approve' });

/**
 * Approves whichever of `pending` reaches the approval first, without presuming an order; returns its id. Bounded:
 * a release ending early or none getting there within the bound fails the test.
 */
async function approveNext(pending: StartedRelease[], timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const r of pending) {
      const view = await getReleaseView(r.releaseId);
      if (view?.status === 'AWAITING_APPROVAL') {
        await approve(r.releaseId);
        return r.releaseId;
      }
      if (view && TERMINAL_STATUSES.includes(view.status)) throw new Error(`${r.releaseId} ended ${view.status} before its approval`);
    }
    if (Date.now() > deadline) throw new Error(`none of ${pending.map((r) => r.releaseId).join(', ')} awaited approval in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function productionAnswers(svc: string): Promise<string> {
  const live = await store.getCurrent(svc, 'production');
  return (await get(`${String(live!.handle.url)}/greetings/ada`)).body.version;
}

/** Every item of a partition, by sort key. */
async function partition(pk: string): Promise<string[]> {
  const out = await documentClient().send(
    new QueryCommand({
      TableName: process.env.RELEASES_TABLE!,
      KeyConditionExpression: 'pk = :p',
      ExpressionAttributeValues: { ':p': pk },
    }),
  );
  return out.Items!.map((i) => String(i.sk)).sort();
}

/** A refused release: FAILED in Prepare with `field`'s error, and nothing written but its record and Prepare step. */
async function expectRefusedInPrepare(started: StartedRelease, field: string, message: string | RegExp) {
  await finish(started);
  // The record turns FAILED before Prepare writes its step: read them once the execution has closed.
  const deadline = Date.now() + 60_000;
  let exec = await sfnClient().send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
  while (exec.status === 'RUNNING' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    exec = await sfnClient().send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
  }
  expect(exec).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
  const view = (await getReleaseView(started.releaseId))!;
  expect(view.status).toBe('FAILED');
  expect(view.error).toMatchObject({ error: 'ValidationError', fields: { [field]: expect.stringMatching(message) } });
  expect(view.steps.map((s) => [s.step, s.status])).toEqual([['Prepare', 'FAILED']]);
  expect(await partition(`RELEASE#${started.releaseId}`)).toEqual(['META', 'STEP#01#Prepare']);
  return view;
}

// Six releases run one after another in the first test: bounds for a loaded 2-core machine, not for the usual pace.
describe('order and versions', () => {
  it('five versions queued in order behind a running release deploy in that order', async () => {
    const first = await start('ordered', '1.0.0');
    await waitForStatus(first.releaseId, ['AWAITING_APPROVAL']);
    const five: StartedRelease[] = [];
    for (const version of ['1.0.1', '1.0.2', '1.0.3', '1.0.4', '1.0.5']) five.push(await start('ordered', version));
    for (const r of five) await waitForStatus(r.releaseId, ['QUEUED']);

    await approve(first.releaseId);
    expect((await finish(first)).status).toBe('SUCCEEDED');
    const approved: string[] = [];
    for (let i = 0; i < five.length; i++) {
      approved.push(await approveNext(five.filter((r) => !approved.includes(r.releaseId))));
    }
    const views = await Promise.all(five.map((r) => finish(r)));

    expect(approved).toEqual(five.map((r) => r.releaseId));
    for (const view of views) expect(view.status, view.version).toBe('SUCCEEDED');
    const byDeploy = [...views].sort(
      (a, b) => Date.parse(step(a, 'DeployProduction').startedAt) - Date.parse(step(b, 'DeployProduction').startedAt),
    );
    expect(byDeploy.map((v) => v.version)).toEqual(['1.0.1', '1.0.2', '1.0.3', '1.0.4', '1.0.5']);
    // Each took the lock only after the one before it had ended.
    for (let i = 1; i < views.length; i++) {
      expect(Date.parse(step(views[i], 'AcquireLock').endedAt!)).toBeGreaterThanOrEqual(Date.parse(views[i - 1].endedAt!));
    }
    expect((await store.getCurrent('ordered', 'production'))?.version).toBe('1.0.5');
    expect(await productionAnswers('ordered')).toBe('1.0.5');
  }, 300_000);

  it('a downgrade is refused in Prepare, naming the live version, and writes nothing but its FAILED record', async () => {
    const started = await start('ordered', '1.0.0');
    const view = await expectRefusedInPrepare(
      started,
      'version',
      '1.0.0 is not greater than 1.0.5, live in production; set allowDowngrade in the catalog to allow it',
    );
    expect(await partition('SERVICE#ordered')).not.toContain(`BUILD#1.0.0#${view.commit}`);
    expect(await store.order.lockHolder('ordered')).not.toBe(started.releaseId);
    expect(await productionAnswers('ordered')).toBe('1.0.5');
  }, 120_000);

  it('the version live in production again is refused too', async () => {
    await expectRefusedInPrepare(await start('ordered', '1.0.5'), 'version', /^1\.0\.5 is not greater than 1\.0\.5, live in production/);
  }, 120_000);

  it('a second start of a build under another name is refused, and a release overtaken while queued fails at the lock', async () => {
    const holder = await releaseOf({ service: 'ordered', version: '1.1.0' });
    const held = await waitForStatus(holder.releaseId, ['AWAITING_APPROVAL']);

    const name = `${holder.releaseId}-again`;
    const { executionArn } = await sfnClient().send(
      new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, name, input: JSON.stringify(held.request) }),
    );
    const dup = await expectRefusedInPrepare({ releaseId: name, executionArn: executionArn!, started: true }, 'commit', holder.releaseId);
    expect(Object.keys(dup.error!.fields!)).toEqual(['commit']);

    // 1.0.9 passes Prepare (production is 1.0.5) and queues behind 1.1.0, which started first and goes live.
    const overtaken = await start('ordered', '1.0.9');
    await waitForStatus(overtaken.releaseId, ['QUEUED']);
    await approve(holder.releaseId);
    expect((await finish(holder)).status).toBe('SUCCEEDED');
    const view = await finish(overtaken);
    expect(view.status).toBe('FAILED');
    expect(view.error).toMatchObject({
      error: 'ValidationError',
      fields: { version: '1.0.9 is not greater than 1.1.0, live in production; set allowDowngrade in the catalog to allow it' },
    });
    expect(step(view, 'AcquireLock').status).toBe('FAILED');
    expect(view.steps.map((s) => s.step)).not.toContain('DeployStaging');
    expect(await productionAnswers('ordered')).toBe('1.1.0');
    // The lock went back: the next release of the service runs at once.
    expect(await partition('LOCK#ordered')).toEqual([]);
  }, 120_000);

  it('allowDowngrade in the catalog lets an older version replace a newer one', async () => {
    const newer = await start('downgradable', '1.0.1');
    const [, a] = await Promise.all([decide(stack, newer.releaseId, 'lead@example.com', 'approve'), finish(newer)]);
    expect(a.status).toBe('SUCCEEDED');
    const older = await start('downgradable', '1.0.0');
    const [, b] = await Promise.all([decide(stack, older.releaseId, 'lead@example.com', 'approve'), finish(older)]);
    expect(b.status).toBe('SUCCEEDED');
    expect(await productionAnswers('downgradable')).toBe('1.0.0');
  }, 120_000);
});
