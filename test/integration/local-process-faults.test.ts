import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { s3Client } from '../../functions/lib/clients.js';
import type { DeployTarget } from '../../functions/lib/catalog.js';
import type { DeployRequest, LiveDeployment } from '../../functions/lib/deploy/deploy-provider.js';
import { freeLoopbackPort, LocalProcessProvider } from '../../functions/lib/deploy/local-process.js';
import { ProcessSupervisor } from '../../functions/lib/deploy/process-supervisor.js';
import { localProcessTarget } from '../helpers/catalog-parts.js';
import { deployUntilDone, liveOf } from '../helpers/deploy-until-done.js';

// What goes wrong around a restart on a recorded port: the port still held, a drain ending at that moment, a stale
// retirement, a pid from an earlier run that this run gave to another version.

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));

let emu: TestEmulators;
let targetsDir: string;
const supervisor = new ProcessSupervisor();
let provider: LocalProcessProvider;

const target: DeployTarget = localProcessTarget({ startTimeoutSeconds: 20, drainSeconds: 1 });

beforeAll(async () => {
  emu = await startTestEmulators();
  targetsDir = await mkdtemp(path.join(tmpdir(), 'launchway-faults-'));
  const artifacts = new ArtifactStore(s3Client(), emu.bucket);
  for (const name of ['greeter-v1.mjs', 'greeter-v2.mjs', 'ignores-sigterm.mjs'])
    await artifacts.put(`artifacts/${name}`, await readFile(here(`../fixtures/services/${name}`)));
  provider = new LocalProcessProvider({ supervisor, artifacts, targetsDir, pollIntervalMs: 50, portWaitMs: 1_500 });
});

afterAll(async () => {
  await supervisor.stopAll(1_000);
  await emu?.stop();
  if (targetsDir) await rm(targetsDir, { recursive: true, force: true });
});

const request = (releaseId: string, artifact: string, version: string): DeployRequest => ({
  releaseId,
  service: 'greeter',
  environment: 'production',
  version,
  artifactKey: `artifacts/${artifact}`,
  target,
});
const live = liveOf;
const pidOf = (d: { handle: Record<string, unknown> }) => d.handle.pid as number;

async function deploy(req: DeployRequest): Promise<LiveDeployment> {
  const status = await deployUntilDone(provider, req);
  expect(status.state, status.message).toBe('SUCCEEDED');
  return live(req, status);
}

const ensure = (deployment: LiveDeployment) =>
  provider.ensureRunning({ service: 'greeter', environment: 'production', target, deployment });

describe('local-process provider faults', () => {
  it('does not restart on a port another program holds, even one answering 200', async () => {
    const foreign = http.createServer((_req, res) => res.end('not yours'));
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
    const port = (foreign.address() as { port: number }).port;
    try {
      const dir = path.join(targetsDir, 'greeter', 'production', 'r-foreign');
      const deployment: LiveDeployment = {
        version: '1.0.0',
        artifactKey: 'artifacts/greeter-v1.mjs',
        releaseId: 'r-foreign',
        handle: { pid: 2_000_000, port, url: `http://127.0.0.1:${port}`, dir, startedAt: new Date().toISOString() },
      };
      const result = await ensure(deployment);
      expect(result.state, result.message).toBe('FAILED');
      expect(result.message).toContain(`port ${port} is taken by another process`);
      expect(supervisor.findRunning(dir)).toBeUndefined();
    } finally {
      await new Promise((resolve) => foreign.close(resolve));
    }
  });

  it('waits out a drain that is ending, then restarts the version instead of calling the dying pid healthy', async () => {
    const v1 = await deploy(request('r-drain', 'ignores-sigterm.mjs', '1.0.0'));
    // What the retire timer does once the drain is over; the process ignores SIGTERM, so it answers a while longer.
    const stopping = supervisor.stop(pidOf(v1), 1_000);
    const result = await ensure(v1);
    await stopping;
    expect(result.state, result.message).toBe('SUCCEEDED');
    expect(pidOf(result)).not.toBe(pidOf(v1));
    expect(supervisor.isRunning(pidOf(result))).toBe(true);
    expect((await fetch(`${v1.handle.url}/health`)).status).toBe(200);
    await supervisor.stop(pidOf(result), 1_000);
  });

  it('never retires the version an operator rolled back to, whatever a stalled release read as live', async () => {
    const v1 = await deploy(request('r-stale-1', 'greeter-v1.mjs', '1.0.0'));
    const v2 = await deploy(request('r-stale-2', 'greeter-v2.mjs', '2.0.0'));
    // The rollback brings v1 back; a release that read CURRENT (v2) before it now retires v1.
    expect((await ensure(v1)).state).toBe('SUCCEEDED');
    const retire = (deployment: LiveDeployment, current: LiveDeployment) =>
      provider.retire({ service: 'greeter', environment: 'production', target, deployment, live: current, drainSeconds: 0 });
    expect(await retire(v1, v2)).toContain('left running');
    expect(supervisor.isRunning(pidOf(v1))).toBe(true);
    expect(await retire(v2, v1)).toContain('stopped');
    expect(supervisor.isRunning(pidOf(v2))).toBe(false);
    await supervisor.stop(pidOf(v1), 1_000);
  });

  it('tells a pid recorded for one version from the same pid running another version', async () => {
    const a = await deploy(request('r-pid-a', 'greeter-v1.mjs', '1.0.0'));
    const port = await freeLoopbackPort();
    const dir = path.join(targetsDir, 'greeter', 'production', 'r-pid-b');
    const b: LiveDeployment = {
      version: '2.0.0',
      artifactKey: 'artifacts/greeter-v2.mjs',
      releaseId: 'r-pid-b',
      handle: { pid: pidOf(a), port, url: `http://127.0.0.1:${port}`, dir, startedAt: new Date().toISOString() },
    };
    const stale = { service: 'greeter', environment: 'production' as const, target, deployment: b, drainSeconds: 0 };
    expect(await provider.retire(stale)).toContain('not running');
    expect(supervisor.isRunning(pidOf(a))).toBe(true);
    const result = await ensure(b);
    expect(result.state, result.message).toBe('SUCCEEDED');
    expect(pidOf(result)).not.toBe(pidOf(a));
    expect(supervisor.isRunning(pidOf(a))).toBe(true);
    // A staging deploy stops the version it replaces, only if the handle really names a process of that version.
    await deploy({ ...request('r-pid-c', 'greeter-v2.mjs', '2.0.0'), environment: 'staging', current: b });
    expect(supervisor.isRunning(pidOf(a))).toBe(true);
    await supervisor.stopAll(1_000);
  });
});
