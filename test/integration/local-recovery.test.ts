import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { parseCatalog, type Catalog, type DeployTarget } from '../../functions/lib/catalog.js';
import { documentClient, s3Client } from '../../functions/lib/clients.js';
import type { DeployStatus } from '../../functions/lib/deploy/deploy-provider.js';
import { LocalProcessProvider } from '../../functions/lib/deploy/local-process.js';
import { ProcessSupervisor } from '../../functions/lib/deploy/process-supervisor.js';
import type { ReleaseRecord } from '../../functions/lib/store/records.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { releaseStaleLocks, restartLiveVersions } from '../../local/recovery.js';
import { deployUntilDone } from '../helpers/deploy-until-done.js';

// The embedded runtime's boot repairs, on dynalite and real processes: live versions brought back without a false
// alarm or overwriting a newer record, and locks an ended release still held freed.

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));

let emu: TestEmulators;
let store: ReleaseStore;
let targetsDir: string;
let artifacts: ArtifactStore;
const supervisor = new ProcessSupervisor();

const service = () => ({
  approvers: ['lead@example.com'],
  triggeredBy: ['ci@example.com'],
  staging: { type: 'local-process', healthPath: '/health' },
  production: { type: 'local-process', healthPath: '/health' },
});
const catalog: Catalog = parseCatalog({ services: { greeter: service(), other: service(), ghost: service() } });
const target = catalog.services.greeter.production as DeployTarget;

const record = (releaseId: string, service: string, status: ReleaseRecord['status']): ReleaseRecord => {
  const now = new Date().toISOString();
  return {
    releaseId,
    service,
    version: '1.0.0',
    commit: 'abcdef1',
    branch: 'main',
    triggeredBy: 'ci@example.com',
    status,
    request: {},
    changes: [],
    createdAt: now,
    updatedAt: now,
  };
};

beforeAll(async () => {
  emu = await startTestEmulators();
  store = new ReleaseStore(documentClient(), emu.table);
  targetsDir = await mkdtemp(path.join(tmpdir(), 'launchway-recovery-'));
  artifacts = new ArtifactStore(s3Client(), emu.bucket);
  await artifacts.put('artifacts/greeter-v1.mjs', await readFile(here('../fixtures/services/greeter-v1.mjs')));
});

afterAll(async () => {
  await supervisor.stopAll(1_000);
  await emu?.stop();
  if (targetsDir) await rm(targetsDir, { recursive: true, force: true });
});

/** Puts greeter 1.0.0 live in production through the provider, and records it as CURRENT. */
async function putLive(provider: LocalProcessProvider, releaseId: string): Promise<DeployStatus> {
  const req = {
    releaseId,
    service: 'greeter',
    environment: 'production' as const,
    version: '1.0.0',
    artifactKey: 'artifacts/greeter-v1.mjs',
    target,
  };
  const status = await deployUntilDone(provider, req);
  expect(status.state, status.message).toBe('SUCCEEDED');
  const { releaseId: id, service: name, environment, version, artifactKey } = req;
  await store.putCurrent({ releaseId: id, service: name, environment, version, artifactKey, handle: status.handle });
  return status;
}

describe('embedded boot recovery', () => {
  it('reports a live version this runtime already runs as running, without waiting for its port', async () => {
    const provider = new LocalProcessProvider({ supervisor, artifacts, targetsDir, pollIntervalMs: 50 });
    const live = await putLive(provider, 'greeter-1.0.0-live');
    const started = Date.now();
    const lines = await restartLiveVersions({ store, catalog, providerFor: () => provider });
    expect(lines).toEqual([{ ok: true, message: 'greeter 1.0.0 (production): 1.0.0 was still healthy' }]);
    // Well under the wait for a port held by someone else.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await store.getCurrent('greeter', 'production'))?.handle).toEqual(live.handle);
    await supervisor.stopAll(1_000);
  }, 30_000);

  it('never writes its restarted handle over a CURRENT a newer release wrote meanwhile', async () => {
    const newer = { service: 'greeter', environment: 'production' as const, version: '2.0.0', releaseId: 'greeter-2.0.0-new' };
    // A release that finishes while the boot restarts the old version: it writes CURRENT in between.
    class RacedProvider extends LocalProcessProvider {
      override async ensureRunning(args: Parameters<LocalProcessProvider['ensureRunning']>[0]): Promise<DeployStatus> {
        const result = await super.ensureRunning(args);
        await store.putCurrent({ ...newer, artifactKey: 'artifacts/greeter-v2.mjs', handle: { pid: 1, port: 1 } });
        return result;
      }
    }
    const provider = new RacedProvider({ supervisor, artifacts, targetsDir, pollIntervalMs: 50 });
    await putLive(provider, 'greeter-1.0.0-old');
    // The runtime restarted: the process is gone, so the boot starts the version again, on a new pid.
    await supervisor.stopAll(1_000);
    const lines = await restartLiveVersions({ store, catalog, providerFor: () => provider });
    expect(lines).toEqual([{ ok: false, message: expect.stringContaining('another release changed what is live meanwhile') }]);
    expect(await store.getCurrent('greeter', 'production')).toMatchObject(newer);
    await supervisor.stopAll(1_000);
  }, 30_000);

  it('frees a lock still held by a release that ended or is gone, and leaves a running holder alone', async () => {
    await store.createRelease(record('greeter-ended', 'greeter', 'SUCCEEDED'));
    await store.createRelease(record('other-running', 'other', 'RUNNING'));
    expect((await store.acquireLock('greeter', 'greeter-ended', 3_600)).acquired).toBe(true);
    expect((await store.acquireLock('other', 'other-running', 3_600)).acquired).toBe(true);
    expect((await store.acquireLock('ghost', 'ghost-no-record', 3_600)).acquired).toBe(true);

    const lines = await releaseStaleLocks({ store, catalog });
    expect(lines).toEqual([
      { ok: true, message: 'greeter: lock held by greeter-ended released (it ended SUCCEEDED)' },
      { ok: true, message: 'ghost: lock held by ghost-no-record released (its record is gone)' },
    ]);
    expect(await store.order.lockHolder('greeter')).toBeUndefined();
    expect(await store.order.lockHolder('ghost')).toBeUndefined();
    expect(await store.order.lockHolder('other')).toBe('other-running');
    // The next release of the service takes the lock at once instead of queueing until the lease ends.
    expect((await store.acquireLock('greeter', 'greeter-next', 3_600)).acquired).toBe(true);
  });
});
