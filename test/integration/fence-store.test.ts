import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/lib/clients.js';
import type { FenceStore } from '../../functions/lib/store/fence-store.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';

/** The fence on the service lock item, on dynalite: who may act for a release, attempt by attempt. */
let emu: TestEmulators;
let store: ReleaseStore;
let fences: FenceStore;

beforeAll(async () => {
  emu = await startTestEmulators();
  store = new ReleaseStore(documentClient(), emu.table);
  fences = store.fences;
});
afterAll(async () => emu?.stop());

describe('FenceStore on dynalite', () => {
  it('gives each claim a new token, and only the newest one checks', async () => {
    await store.acquireLock('claims', 'r1', 600);
    const first = await fences.claim('claims', 'r1', 'DeployStaging');
    expect(first).toMatch(/^DeployStaging#/);
    expect(await fences.check('claims', 'r1', first!)).toBe(true);
    const retry = await fences.claim('claims', 'r1', 'DeployStaging');
    expect(retry).not.toBe(first);
    expect(await fences.check('claims', 'r1', first!)).toBe(false);
    expect(await fences.check('claims', 'r1', retry!)).toBe(true);
    expect(await fences.state('claims')).toEqual({ holder: 'r1', fence: retry });
  });

  it('refuses a release that does not hold the lock: none, released, or held by the next release', async () => {
    expect(await fences.claim('nobody', 'r1', 'DeployProduction')).toBeUndefined();
    await store.acquireLock('after', 'r1', 600);
    const token = (await fences.claim('after', 'r1', 'DeployProduction'))!;
    await store.releaseLock('after', 'r1');
    expect(await fences.check('after', 'r1', token)).toBe(false);
    expect(await fences.claim('after', 'r1', 'Rollback')).toBeUndefined();
    await store.acquireLock('after', 'r2', 600);
    expect(await fences.check('after', 'r1', token)).toBe(false);
    expect(await fences.claim('after', 'r1', 'ProvisionInterop')).toBeUndefined();
    // The next holder starts without the last one's fence, and may claim.
    expect((await fences.state('after')).fence).toBeUndefined();
    expect(await fences.claim('after', 'r2', 'DeployStaging')).toMatch(/^DeployStaging#/);
  });

  it('lets no forward step claim once the Rollback has; every rollback of the release shares its token', async () => {
    await store.acquireLock('rb', 'r1', 600);
    const deploy = (await fences.claim('rb', 'r1', 'DeployProduction'))!;
    const rollback = await fences.claim('rb', 'r1', 'Rollback');
    expect(rollback).toBe('Rollback#r1');
    expect(await fences.check('rb', 'r1', deploy)).toBe(false);
    expect(await fences.claim('rb', 'r1', 'DeployProduction')).toBeUndefined();
    expect(await fences.claim('rb', 'r1', 'ProvisionInterop')).toBeUndefined();
    expect(await fences.claim('rb', 'r1', 'Rollback')).toBe(rollback);
    expect(await fences.check('rb', 'r1', rollback!)).toBe(true);
  });

  it('keeps the fence when its holder takes the lock again (a retried AcquireLock), drops it for a new holder', async () => {
    await store.acquireLock('renew', 'r1', 600);
    const token = (await fences.claim('renew', 'r1', 'DeployStaging'))!;
    expect((await store.acquireLock('renew', 'r1', 600)).acquired).toBe(true);
    expect(await fences.check('renew', 'r1', token)).toBe(true);
    // An expired lease passes to the next release with a fresh item.
    expect((await store.acquireLock('renew', 'r1', -10)).acquired).toBe(true);
    expect((await store.acquireLock('renew', 'r2', 600)).acquired).toBe(true);
    expect(await fences.state('renew')).toEqual({ holder: 'r2', fence: undefined });
    expect(await fences.check('renew', 'r1', token)).toBe(false);
  });
});
