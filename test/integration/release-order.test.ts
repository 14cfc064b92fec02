import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/lib/clients.js';
import { ValidationError } from '../../functions/lib/errors.js';
import { acquireLock } from '../../functions/lib/pipeline/acquire-lock.js';
import type { PipelineDeps } from '../../functions/lib/pipeline/deps.js';
import { WAITER_SILENCE_SECONDS } from '../../functions/lib/pipeline/queue-order.js';
import { claimReleaseOrder, releaseOrderProblems } from '../../functions/lib/pipeline/release-order.js';
import type { ReleaseRecord } from '../../functions/lib/store/records.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { service } from '../helpers/pipeline.js';

/** The queue, the version check at the lock and the build claim, on dynalite with a clock the test moves. */
let emu: TestEmulators;
let store: ReleaseStore;
let clock = Date.parse('2030-01-01T12:00:00.000Z');
const now = () => new Date(clock);
const deps = () => ({ store, now }) as unknown as PipelineDeps;
const at = (offsetMs: number) => new Date(Date.parse('2030-01-01T12:00:00.000Z') + offsetMs).toISOString();

beforeAll(async () => {
  emu = await startTestEmulators();
  store = new ReleaseStore(documentClient(), emu.table, now, () => undefined);
});
afterAll(async () => emu?.stop());

async function prepared(id: string, svc: string, createdAt: string, patch: Partial<ReleaseRecord> = {}): Promise<ReleaseRecord> {
  const record: ReleaseRecord = {
    releaseId: id,
    service: svc,
    version: '1.0.0',
    commit: 'abcdef1',
    branch: 'main',
    triggeredBy: 'ci@example.com',
    status: 'PENDING',
    request: {},
    changes: [],
    catalog: service({ lockWaitSeconds: 600 }),
    createdAt,
    updatedAt: now().toISOString(),
    ...patch,
  };
  expect(await store.createRelease(record)).toBe(true);
  return record;
}

/** One AcquireLock round: who holds the lock (the wait before the next round has its own test). */
const poll = async (id: string) => {
  const { acquired, holder } = await acquireLock(deps(), id);
  return { acquired, holder };
};

/** The release ends (as Finalize would leave it) and gives the lock back. */
async function end(id: string, svc: string, status: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED') {
  await store.updateRelease(id, { status }, { allowTerminal: true });
  await store.releaseLock(svc, id);
}

describe('the lock queue on dynalite', () => {
  it('hands the lock over in start order, whatever order the waiters ask in', async () => {
    await prepared('h', 'fifo', at(0));
    expect(await poll('h')).toEqual({ acquired: true, holder: 'h' });
    await prepared('c', 'fifo', at(3000));
    await prepared('a', 'fifo', at(1000));
    await prepared('b', 'fifo', at(2000));

    expect(await poll('c')).toEqual({ acquired: false, holder: 'a' });
    expect(await poll('b')).toEqual({ acquired: false, holder: 'a' });
    expect(await poll('a')).toEqual({ acquired: false, holder: 'h' });
    expect((await store.getRelease('c'))?.status).toBe('QUEUED');
    expect((await store.stepResult('c', 'AcquireLock'))?.details).toMatchObject({ waitingFor: 'a' });

    await end('h', 'fifo');
    expect((await poll('c')).acquired).toBe(false);
    expect((await poll('b')).acquired).toBe(false);
    expect((await poll('a')).acquired).toBe(true);
    expect((await store.getRelease('a'))?.status).toBe('RUNNING');

    await end('a', 'fifo');
    expect(await poll('c')).toEqual({ acquired: false, holder: 'b' });
    expect((await poll('b')).acquired).toBe(true);
    await end('b', 'fifo');
    expect((await poll('c')).acquired).toBe(true);
  });

  it('a holder asking again keeps the lock, even when an earlier release queued since', async () => {
    await prepared('late-holder', 'retry', at(5000));
    expect((await poll('late-holder')).acquired).toBe(true);
    await prepared('early', 'retry', at(1000), { status: 'QUEUED', queuedAt: now().toISOString() });
    expect((await poll('late-holder')).acquired).toBe(true);
    expect(await poll('early')).toEqual({ acquired: false, holder: 'late-holder' });
  });

  it('a waiter asks again after 15 s at first, then after half its time queued, at most a minute', async () => {
    await prepared('busy', 'backoff', at(0));
    expect(await acquireLock(deps(), 'busy')).toEqual({ acquired: true, holder: 'busy', waitSeconds: 0 });
    await prepared('patient', 'backoff', at(1000));
    const waits: number[] = [];
    for (const after of [0, 40, 30, 130]) {
      clock += after * 1000;
      waits.push((await acquireLock(deps(), 'patient')).waitSeconds);
    }
    // Queued for 0, 40, 70 and 200 s.
    expect(waits).toEqual([15, 20, 35, 60]);
  });

  it('a waiter that stopped asking, or whose own queue time is over, does not block the ones behind it', async () => {
    await prepared('holder', 'stale', at(0));
    expect((await poll('holder')).acquired).toBe(true);
    await prepared('dead', 'stale', at(1000));
    await prepared('short', 'stale', at(2000), { catalog: service({ lockWaitSeconds: 60 }) });
    await prepared('alive', 'stale', at(3000));
    for (const id of ['dead', 'short', 'alive']) expect((await poll(id)).acquired).toBe(false);
    await end('holder', 'stale');

    // 'short' asks for 90 s beyond its 60 s lock wait; 'dead' asks no more after its first round.
    clock += 90_000;
    await expect(poll('short')).rejects.toMatchObject({ name: 'LockTimeout' });
    expect(await poll('alive')).toEqual({ acquired: false, holder: 'dead' });
    clock += (WAITER_SILENCE_SECONDS - 60) * 1000;
    expect((await poll('alive')).acquired).toBe(true);
  });

  it('at the lock, a version production has passed while it waited fails with the field error and gives the lock back', async () => {
    await store.putCurrent({
      service: 'passed',
      environment: 'production',
      version: '2.0.0',
      releaseId: 'v2',
      artifactKey: 'k',
      handle: {},
    });
    await prepared('old', 'passed', at(0), { version: '1.5.0' });
    const err = await poll('old').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).fields).toEqual({
      version: '1.5.0 is not greater than 2.0.0, live in production; set allowDowngrade in the catalog to allow it',
    });
    expect(await store.order.lockHolder('passed')).toBeUndefined();
    expect((await store.getRelease('old'))?.error).toMatchObject({ error: 'ValidationError', fields: { version: expect.any(String) } });
    expect(await store.stepResult('old', 'AcquireLock')).toMatchObject({
      status: 'FAILED',
      details: { fields: { version: expect.any(String) } },
    });

    await end('old', 'passed', 'FAILED');
    await prepared('allowed', 'passed', at(1000), { version: '1.5.0', catalog: service({ allowDowngrade: true }) });
    expect((await poll('allowed')).acquired).toBe(true);
  });
});

describe('one start per build', () => {
  const build = (releaseId: string) => ({ releaseId, service: 'dup', version: '1.2.3', commit: 'feedbee' });

  it('two starts of one build racing: one claims it, the other is refused naming it', async () => {
    const results = await Promise.allSettled(['x1', 'x2'].map((id) => claimReleaseOrder(store, build(id), false, now())));
    const won = results.findIndex((r) => r.status === 'fulfilled');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const winner = ['x1', 'x2'][won];
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(ValidationError);
    expect(lost.reason.fields.commit).toContain(winner);
    // The same release asking again (a retried Prepare) keeps its claim.
    await expect(claimReleaseOrder(store, build(winner), false, now())).resolves.toBeUndefined();
  });

  it('a build whose release failed may start again; one that succeeded may not', async () => {
    const first = (await store.order.buildClaim('dup', '1.2.3', 'feedbee'))!.releaseId;
    await prepared(first, 'dup', at(0), { status: 'FAILED', version: '1.2.3', commit: 'feedbee' });
    await claimReleaseOrder(store, build('x3'), false, now());
    await prepared('x3', 'dup', at(1000), { status: 'SUCCEEDED', version: '1.2.3', commit: 'feedbee' });
    const { fields } = await releaseOrderProblems(store, build('x4'), false, now());
    expect(fields).toEqual({ commit: expect.stringContaining('x3') });
  });
});
