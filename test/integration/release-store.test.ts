import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../functions/lib/clients.js';
import { ConflictError } from '../../functions/lib/errors.js';
import type { ReleaseRecord } from '../../functions/lib/store/records.js';

let emu: TestEmulators;
let store: ReleaseStore;

const record = (id: string, service = 'greeter', createdAt = new Date().toISOString()): ReleaseRecord => ({
  releaseId: id,
  service,
  version: '1.0.0',
  commit: 'abcdef1',
  branch: 'main',
  triggeredBy: 'ci@example.com',
  status: 'RUNNING',
  request: {},
  changes: [],
  createdAt,
  updatedAt: createdAt,
});

beforeAll(async () => {
  emu = await startTestEmulators();
  store = new ReleaseStore(documentClient(), emu.table);
});
afterAll(async () => emu?.stop());

describe('ReleaseStore on dynalite', () => {
  it('creates a release once; a second create reports it exists and keeps the first', async () => {
    expect(await store.createRelease(record('r1'))).toBe(true);
    expect(await store.createRelease({ ...record('r1'), version: '9.9.9' })).toBe(false);
    expect((await store.getRelease('r1'))?.version).toBe('1.0.0');
  });

  it('keeps the changes once: on the record, not again inside its request', async () => {
    const changes = [{ title: 'feat: one' }, { title: 'fix: two' }];
    await store.createRelease({ ...record('r-changes'), request: { service: 'greeter', changes }, changes });
    const item = (await documentClient().send(new GetCommand({ TableName: emu.table, Key: { pk: 'RELEASE#r-changes', sk: 'META' } })))
      .Item!;
    expect(item.changes).toEqual(changes);
    expect(item.request).toEqual({ service: 'greeter' });
  });

  it('refuses to change a terminal release unless Finalize says so', async () => {
    await store.createRelease(record('r2'));
    await store.updateRelease('r2', { status: 'SUCCEEDED' }, { allowTerminal: true });
    await expect(store.updateRelease('r2', { status: 'RUNNING' })).rejects.toBeInstanceOf(ConflictError);
    expect((await store.getRelease('r2'))?.status).toBe('SUCCEEDED');
  });

  it('records steps in pipeline order with durations, keeping the first start on a retry', async () => {
    await store.createRelease(record('r3'));
    await store.startStep('r3', 'DeployStaging');
    await store.startStep('r3', 'Prepare');
    const first = (await store.getSteps('r3')).find((s) => s.step === 'DeployStaging')!;
    await new Promise((r) => setTimeout(r, 15));
    await store.startStep('r3', 'DeployStaging');
    const details = { version: '1.0.0', handle: { port: 1 }, previous: null };
    const ended = await store.endStep('r3', 'DeployStaging', 'SUCCEEDED', { details });
    expect(ended.startedAt).toBe(first.startedAt);
    expect(ended.durationMs).toBeGreaterThanOrEqual(10);
    expect((await store.getSteps('r3')).map((s) => s.step)).toEqual(['Prepare', 'DeployStaging']);
  });

  it('lists a service history newest first through the index', async () => {
    await store.createRelease(record('h-old', 'history', '2026-01-01T00:00:00.000Z'));
    await store.createRelease(record('h-new', 'history', '2026-02-01T00:00:00.000Z'));
    expect((await store.listByService('history')).map((r) => r.releaseId)).toEqual(['h-new', 'h-old']);
    expect((await store.listAll(100)).map((r) => r.releaseId)).toContain('h-old');
  });

  it('gives the service lock to one release at a time, re-entrant for its holder', async () => {
    expect((await store.acquireLock('svc', 'a', 60)).acquired).toBe(true);
    expect(await store.acquireLock('svc', 'b', 60)).toEqual({ acquired: false, holder: 'a' });
    expect((await store.acquireLock('svc', 'a', 60)).acquired).toBe(true);
    expect(await store.releaseLock('svc', 'b')).toBe(false);
    expect(await store.releaseLock('svc', 'a')).toBe(true);
    expect((await store.acquireLock('svc', 'b', 60)).acquired).toBe(true);
  });

  it('lets a release take a lock whose lease has expired', async () => {
    expect((await store.acquireLock('lease', 'a', -10)).acquired).toBe(true);
    expect((await store.acquireLock('lease', 'b', 60)).acquired).toBe(true);
  });
});
