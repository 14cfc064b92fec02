import { InvokeCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, lambdaClient } from '../../functions/lib/clients.js';
import type { OperateResult } from '../../functions/lib/operations/operate-event.js';
import { provisionerFromConfig } from '../../functions/lib/interop/index.js';
import { publishedInterop } from '../../functions/lib/store/records.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { listMessages } from '../../local/outbox.js';
import { decide, finish, get, releaseOf, service, startTestStack, type TestStack } from '../helpers/pipeline.js';

/**
 * `launchway rollback`'s work on the embedded stack, invoked as the CLI invokes it: through the stack's Lambda
 * endpoint, whose operate function runs in the process that owns the services. Production and the gateway answer
 * the restored version over HTTP.
 */
let stack: TestStack;
let store: ReleaseStore;
const operator = { by: 'ops@example.com', reason: '1.1.0 breaks partners' };

beforeAll(async () => {
  stack = await startTestStack({ greeter: service() });
  store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
}, 60_000);
afterAll(async () => stack?.stopAll());

async function rollback(svc: string, reason = operator.reason): Promise<OperateResult> {
  const out = await lambdaClient().send(
    new InvokeCommand({
      FunctionName: process.env.LAUNCHWAY_OPERATE_FUNCTION,
      Payload: JSON.stringify({ operation: 'rollback', service: svc, by: operator.by, reason }),
    }),
  );
  expect(out.FunctionError).toBeUndefined();
  return JSON.parse(Buffer.from(out.Payload!).toString('utf8')) as OperateResult;
}

async function released(version: string) {
  const started = await releaseOf({ service: 'greeter', version });
  const [, view] = await Promise.all([decide(stack, started.releaseId, 'lead@example.com', 'approve'), finish(started)]);
  expect(view.status).toBe('SUCCEEDED');
  // Finalize records SUCCEEDED, retires the replaced version, and only then gives the lock back (finishRelease):
  // the rollback under test needs the lock, so wait for that, bounded, rather than race the last write.
  const deadline = Date.now() + 30_000;
  while ((await store.order.lockHolder('greeter')) !== undefined) {
    if (Date.now() > deadline) throw new Error(`${view.releaseId} ended but still holds the greeter lock after 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return view;
}

describe('rollbackService through the operate function', () => {
  it('refuses a service with nothing live, and a first release', async () => {
    expect(await rollback('greeter')).toMatchObject({
      error: { name: 'ValidationError', message: expect.stringContaining('nothing is live') },
    });
    const first = await released('1.0.0');
    const out = await rollback('greeter');
    expect(out).toMatchObject({
      error: { name: 'ValidationError', fields: { service: expect.stringContaining('first production release') } },
    });
    expect((await store.getRelease(first.releaseId))?.status).toBe('SUCCEEDED');
    expect(await store.order.lockHolder('greeter')).toBeUndefined();
  });

  it('puts 1.0.0 back in production and on the gateway; 1.1.0 is ROLLED_BACK with who and why', async () => {
    const v110 = await released('1.1.0');
    const interop = publishedInterop(await store.stepResult(v110.releaseId, 'ProvisionInterop'))!;
    const apiKey = await provisionerFromConfig().apiKeyValue('greeter', String(interop.validationKeyId));
    const gateway = v110.links!.interopUrl;
    expect((await get(`${gateway}/greetings/ada`, apiKey)).body.version).toBe('1.1.0');

    const out = await rollback('greeter');
    expect(out).toMatchObject({
      rollback: { undone: { releaseId: v110.releaseId, version: '1.1.0' }, restored: { version: '1.0.0' }, rolledBackBy: operator },
    });
    const current = await store.getCurrent('greeter', 'production');
    expect(current).toMatchObject({ version: '1.0.0' });
    expect((await get(`${String(current!.handle.url)}/greetings/ada`)).body.version).toBe('1.0.0');
    expect((await get(`${gateway}/greetings/ada`, apiKey)).body.version).toBe('1.0.0');
    expect(await store.getRelease(v110.releaseId)).toMatchObject({
      status: 'ROLLED_BACK',
      rolledBackBy: { ...operator, restoredVersion: '1.0.0', restoredReleaseId: current!.releaseId },
    });
    const emails = (await listMessages(stack.outboxDir)).filter((m) => m.kind === 'release-outcome' && m.releaseId === v110.releaseId);
    expect(emails.at(-1)?.text).toContain('was rolled back by ops@example.com; 1.0.0 serves again.');
    expect(await store.order.lockHolder('greeter')).toBeUndefined();

    // 1.0.0 is now live and was the first release: a second rollback has nothing to go back to.
    expect(await rollback('greeter')).toMatchObject({ error: { name: 'ValidationError' } });
  });

  it('refuses while a release holds the lock, naming it', async () => {
    const started = await releaseOf({
      service: 'greeter',
      version: '1.1.1',
      bundleFrom: '1.1.0',
      collectionFrom: '1.1.0',
      openapiFrom: '1.1.0',
    });
    await decide(stack, started.releaseId, 'lead@example.com', 'reject');
    expect((await finish(started)).status).toBe('REJECTED');
    // The lock as a release under way holds it.
    await store.acquireLock('greeter', started.releaseId, 60);
    const out = await rollback('greeter');
    expect(out).toMatchObject({ error: { name: 'ValidationError', message: expect.stringContaining(`held by ${started.releaseId}`) } });
    expect(await store.order.lockHolder('greeter')).toBe(started.releaseId);
    await store.releaseLock('greeter', started.releaseId);
  });
});
