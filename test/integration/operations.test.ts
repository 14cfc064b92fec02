import type { SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/lib/clients.js';
import { ConflictError, NotFoundError, ValidationError } from '../../functions/lib/errors.js';
import { cancelRelease } from '../../functions/lib/operations/cancel.js';
import { unlockService } from '../../functions/lib/operations/unlock.js';
import type { ReleaseRecord, ReleaseStatus } from '../../functions/lib/store/records.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';

/**
 * The operating commands' domain functions on dynalite. Step Functions is a small stand-in that records the calls
 * and answers DescribeExecution from a table of statuses: test/e2e/operations.test.ts runs both commands against
 * the embedded Step Functions endpoint.
 */
let emu: TestEmulators;
let store: ReleaseStore;
const calls: { name: string; input: Record<string, unknown> }[] = [];
const executions = new Map<string, string>();
const sfn = {
  send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
    const name = command.constructor.name.replace(/Command$/, '');
    calls.push({ name, input: command.input });
    const status = executions.get(String(command.input.executionArn));
    if (!status) throw Object.assign(new Error('no such execution'), { name: 'ExecutionDoesNotExist' });
    return name === 'DescribeExecution' ? { status } : {};
  },
} as unknown as SFNClient;
const deps = () => ({ store, sfn, now: () => new Date('2026-11-30T10:00:00.000Z') });
const arn = (id: string) => `arn:aws:states:us-east-1:000000000000:execution:release:${id}`;

async function release(id: string, status: ReleaseStatus, service = 'greeter'): Promise<void> {
  const at = new Date().toISOString();
  const record: ReleaseRecord = {
    ...{ releaseId: id, service, version: '1.0.0', commit: 'abcdef1', branch: 'main', triggeredBy: 'ci@example.com' },
    ...{ status, executionArn: arn(id), request: {}, changes: [], createdAt: at, updatedAt: at },
  };
  await store.createRelease(record);
}
const lockItem = async (service: string) =>
  (await documentClient().send(new GetCommand({ TableName: emu.table, Key: { pk: `LOCK#${service}`, sk: 'LOCK' } }))).Item;
const putLock = (service: string, holder: string) =>
  documentClient().send(
    new PutCommand({
      TableName: emu.table,
      Item: { pk: `LOCK#${service}`, sk: 'LOCK', holder, acquiredAt: new Date().toISOString(), leaseExpiresAt: 4102444800 },
    }),
  );

beforeAll(async () => {
  emu = await startTestEmulators();
  store = new ReleaseStore(documentClient(), emu.table);
});
afterAll(async () => emu?.stop());

describe('cancelRelease', () => {
  it('writes the stop request, then stops the execution with the reason as cause', async () => {
    await release('c1', 'AWAITING_APPROVAL');
    executions.set(arn('c1'), 'RUNNING');
    calls.length = 0;
    const out = await cancelRelease(deps(), { releaseId: 'c1', by: 'lead@example.com', reason: 'wrong build\u001b[2J' });
    const stopRequest = { status: 'CANCELLED', by: 'lead@example.com', reason: 'wrong build', at: '2026-11-30T10:00:00.000Z' };
    expect(out).toMatchObject({ requested: true, stopRequest });
    expect((await store.getRelease('c1'))?.stopRequest).toEqual(stopRequest);
    expect(calls).toEqual([{ name: 'StopExecution', input: { executionArn: arn('c1'), error: 'ReleaseCancelled', cause: 'wrong build' } }]);
  });

  it('a second cancel keeps the first request and asks again to stop', async () => {
    calls.length = 0;
    const out = await cancelRelease(deps(), { releaseId: 'c1', by: 'other@example.com', reason: 'me too' });
    expect(out).toMatchObject({ requested: false, stopRequest: { by: 'lead@example.com', reason: 'wrong build' } });
    expect((await store.getRelease('c1'))?.stopRequest?.by).toBe('lead@example.com');
    expect(calls.map((c) => c.name)).toEqual(['StopExecution']);
  });

  it('two cancels at once: one request stands, both stop the execution', async () => {
    await release('c-race', 'RUNNING');
    executions.set(arn('c-race'), 'RUNNING');
    const [a, b] = await Promise.all(
      ['a@example.com', 'b@example.com'].map((by) => cancelRelease(deps(), { releaseId: 'c-race', by, reason: `by ${by}` })),
    );
    expect([a.requested, b.requested].sort()).toEqual([false, true]);
    expect(a.stopRequest).toEqual(b.stopRequest);
    expect((await store.getRelease('c-race'))?.stopRequest).toEqual(a.stopRequest);
  });

  it('refuses a release that has ended, writing nothing and stopping nothing', async () => {
    await release('c-done', 'SUCCEEDED');
    calls.length = 0;
    const err = await cancelRelease(deps(), { releaseId: 'c-done', by: 'lead@example.com', reason: 'late' }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain('has already ended (SUCCEEDED)');
    expect((await store.getRelease('c-done'))?.stopRequest).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('checks who and why before reading anything; an unknown release is NOT_FOUND', async () => {
    const err = await cancelRelease(deps(), { releaseId: 'c1', by: ' ', reason: 'x'.repeat(501) }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.fields).toEqual({
      '--as': expect.stringContaining('required'),
      '--reason': 'at most 500 characters, got 501',
    });
    const empty = await cancelRelease(deps(), { releaseId: 'c1', by: 'a@example.com', reason: '\u0007 ' }).catch((e) => e);
    expect(empty.fields).toEqual({ '--reason': expect.stringContaining('required') });
    await expect(cancelRelease(deps(), { releaseId: 'nope', by: 'a@example.com', reason: 'x' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('an execution that no longer exists needs no stopping', async () => {
    await release('c-gone', 'RUNNING');
    const out = await cancelRelease(deps(), { releaseId: 'c-gone', by: 'lead@example.com', reason: 'stuck' });
    expect(out.requested).toBe(true);
  });
});

describe('unlockService', () => {
  it('a free lock is nothing to do', async () => {
    expect(await unlockService(deps(), { service: 'free', by: 'lead@example.com', reason: 'check' })).toEqual({
      unlocked: false,
      service: 'free',
    });
  });

  it('refuses while the holder runs, naming it; removes it once its execution has ended, and audits the record', async () => {
    await release('u1', 'RUNNING', 'svc-a');
    executions.set(arn('u1'), 'RUNNING');
    await putLock('svc-a', 'u1');
    const err = await unlockService(deps(), { service: 'svc-a', by: 'lead@example.com', reason: 'stuck' }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.fields.service).toContain('launchway cancel u1');
    expect((await lockItem('svc-a'))?.holder).toBe('u1');

    executions.set(arn('u1'), 'FAILED');
    const out = await unlockService(deps(), { service: 'svc-a', by: 'lead@example.com', reason: 'holder died' });
    const action = { by: 'lead@example.com', reason: 'holder died', at: '2026-11-30T10:00:00.000Z' };
    expect(out).toEqual({ unlocked: true, service: 'svc-a', holder: 'u1', audited: true, action });
    expect(await lockItem('svc-a')).toBeUndefined();
    expect((await store.getRelease('u1'))?.unlockedBy).toEqual(action);
  });

  it('removes a lock whose holder has no record or a terminal one', async () => {
    await putLock('svc-b', 'ghost-1.0.0-abc1234');
    const out = await unlockService(deps(), { service: 'svc-b', by: 'lead@example.com', reason: 'ghost' });
    expect(out).toMatchObject({ unlocked: true, holder: 'ghost-1.0.0-abc1234', audited: false });
    expect(await lockItem('svc-b')).toBeUndefined();

    await release('u-done', 'FAILED', 'svc-c');
    executions.set(arn('u-done'), 'RUNNING');
    await putLock('svc-c', 'u-done');
    const ended = await unlockService(deps(), { service: 'svc-c', by: 'lead@example.com', reason: 'left over' });
    expect(ended).toMatchObject({ unlocked: true, audited: true });
    expect((await store.getRelease('u-done'))?.status).toBe('FAILED');
  });

  it('needs who and why', async () => {
    const err = await unlockService(deps(), { service: 'svc-a', by: 'lead@example.com', reason: '' }).catch((e) => e);
    expect(err.fields).toEqual({ '--reason': expect.any(String) });
  });
});

describe('ReleaseStore.requestStop', () => {
  it('refuses a terminal release with ConflictError', async () => {
    await release('s-done', 'CANCELLED');
    const stop = { status: 'CANCELLED' as const, by: 'a', reason: 'b', at: new Date().toISOString() };
    await expect(store.requestStop('s-done', stop)).rejects.toBeInstanceOf(ConflictError);
    await expect(store.requestStop('s-none', stop)).rejects.toBeInstanceOf(NotFoundError);
  });
});
