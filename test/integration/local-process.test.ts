import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { s3Client } from '../../functions/lib/clients.js';
import { resetConfig } from '../../functions/lib/config.js';
import { NotFoundError } from '../../functions/lib/errors.js';
import { LocalProcessProvider } from '../../functions/lib/deploy/local-process.js';
import { providerFor } from '../../functions/lib/deploy/index.js';
import type { DeployRequest } from '../../functions/lib/deploy/deploy-provider.js';
import type { DeployTarget } from '../../functions/lib/catalog.js';
import { ProcessSupervisor } from '../../functions/lib/deploy/process-supervisor.js';
import { localProcessTarget } from '../helpers/catalog-parts.js';
import type { LocalProcessTarget } from '../../functions/lib/deploy/targets.js';
import { deployUntilDone, liveOf } from '../helpers/deploy-until-done.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/services/${name}`, import.meta.url));

let emu: TestEmulators;
let targetsDir: string;
// A supervisor of its own, so afterAll stops exactly the processes this file started.
const supervisor = new ProcessSupervisor();
let provider: LocalProcessProvider;

const target = (overrides: Partial<LocalProcessTarget> = {}): DeployTarget => localProcessTarget(overrides);

beforeAll(async () => {
  emu = await startTestEmulators();
  targetsDir = await mkdtemp(path.join(tmpdir(), 'launchway-targets-'));
  process.env.LOCAL_TARGETS_DIR = targetsDir;
  // A secret in the runtime's environment must not reach deployed services.
  process.env.APPROVAL_SIGNING_SECRET = 'x'.repeat(40);
  resetConfig();
  const artifacts = new ArtifactStore(s3Client(), emu.bucket);
  for (const name of ['greeter-v1.mjs', 'greeter-v2.mjs', 'never-healthy.mjs', 'crashes-on-start.mjs']) {
    await artifacts.put(`artifacts/${name}`, await readFile(fixture(name)));
  }
  // Bucket and targets directory come from the configuration, as in the embedded runtime.
  provider = new LocalProcessProvider({ supervisor, pollIntervalMs: 50 });
});

afterAll(async () => {
  await supervisor.stopAll(1_000);
  delete process.env.LOCAL_TARGETS_DIR;
  delete process.env.APPROVAL_SIGNING_SECRET;
  resetConfig();
  await emu?.stop();
  if (targetsDir) await rm(targetsDir, { recursive: true, force: true });
});

function request(service: string, releaseId: string, artifact: string, version: string, extra: Partial<DeployRequest> = {}): DeployRequest {
  return { releaseId, service, environment: 'production', version, artifactKey: `artifacts/${artifact}`, target: target(), ...extra };
}

/** start, then status until the deploy leaves IN_PROGRESS, as the state machine's Wait loop does (bounded). */
const deploy = (req: DeployRequest) => deployUntilDone(provider, req, 20_000);
const live = liveOf;

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

async function waitFor(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when nothing with this pid exists any more (signal 0 only checks). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

describe('local-process provider', () => {
  it('deploys v1, then v2 replaces it; production keeps v1 running until it is retired', async () => {
    const v1Req = request('greeter', 'greeter-1.0.0-aaa', 'greeter-v1.mjs', '1.0.0', {
      target: target({ env: { GREETING_STYLE: 'formal' } }),
    });
    const v1 = await deploy(v1Req);
    expect(v1.state).toBe('SUCCEEDED');
    const v1Body = await getJson(`${v1.endpoint}/greetings/ada`);
    expect(v1Body).toMatchObject({ version: '1', release: '1.0.0', env: { GREETING_STYLE: 'formal', APPROVAL_SIGNING_SECRET: null } });
    const v1Dir = String(v1.handle.dir);
    expect(v1Dir).toBe(path.join(targetsDir, 'greeter', 'production', 'greeter-1.0.0-aaa'));
    expect(await readFile(path.join(v1Dir, 'process.log'), 'utf8')).toContain('greeter v1 (1.0.0) listening');

    const v2Req = request('greeter', 'greeter-2.0.0-bbb', 'greeter-v2.mjs', '2.0.0', { current: live(v1Req, v1) });
    const v2 = await deploy(v2Req);
    expect(v2.state).toBe('SUCCEEDED');
    expect(v2.endpoint).not.toBe(v1.endpoint);
    expect(await getJson(`${v2.endpoint}/greetings/ada`)).toMatchObject({ version: '2', release: '2.0.0' });
    // The gateway still points at v1 until the release moves it: v1 must keep answering.
    expect(await getJson(`${v1.endpoint}/greetings/ada`)).toMatchObject({ version: '1' });

    const v1Pid = v1.handle.pid as number;
    const retire = { service: 'greeter', environment: 'production' as const, target: target(), deployment: live(v1Req, v1) };
    expect(await provider.retire({ ...retire, drainSeconds: 0, live: live(v1Req, v1) })).toContain('is the live version');
    expect(supervisor.isRunning(v1Pid)).toBe(true);
    expect(await provider.retire({ ...retire, drainSeconds: 0, live: live(v2Req, v2) })).toContain(`stopped pid ${v1Pid}`);
    expect(supervisor.isRunning(v1Pid)).toBe(false);
    expect(gone(v1Pid)).toBe(true);
    await expect(fetch(`${v1.endpoint}/health`)).rejects.toThrow();
    expect(await provider.retire({ ...retire, drainSeconds: 0 })).toContain('is not running');
  });

  it('stops the replaced staging version as soon as the new one is healthy', async () => {
    const v1Req = request('stager', 'stager-1.0.0-aaa', 'greeter-v1.mjs', '1.0.0', { environment: 'staging' });
    const v1 = await deploy(v1Req);
    const v2 = await deploy(
      request('stager', 'stager-2.0.0-bbb', 'greeter-v2.mjs', '2.0.0', { environment: 'staging', current: live(v1Req, v1) }),
    );
    expect(v2.state).toBe('SUCCEEDED');
    expect(supervisor.isRunning(v1.handle.pid as number)).toBe(false);
  });

  it('retires after the drain, on a timer, and keeps a version wanted again before the drain ends', async () => {
    const v1Req = request('drainer', 'drainer-1.0.0-aaa', 'greeter-v1.mjs', '1.0.0');
    const v1 = await deploy(v1Req);
    const retire = { service: 'drainer', environment: 'production' as const, target: target(), deployment: live(v1Req, v1) };
    const started = Date.now();
    expect(await provider.retire({ ...retire, drainSeconds: 1 })).toContain('stops after a 1s drain');
    expect(await provider.retire({ ...retire, drainSeconds: 1 })).toContain('already retiring');
    expect(supervisor.isRunning(v1.handle.pid as number)).toBe(true);
    await waitFor('v1 is stopped', () => !supervisor.isRunning(v1.handle.pid as number));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);

    const again = await deploy(request('drainer', 'drainer-1.0.0-bbb', 'greeter-v1.mjs', '1.0.0'));
    const againLive = { ...retire, deployment: { ...live(v1Req, again), releaseId: 'drainer-1.0.0-bbb' } };
    await provider.retire({ ...againLive, drainSeconds: 1 });
    // A rollback to it within the drain: ensureRunning finds it healthy and cancels the retirement.
    expect(await provider.ensureRunning({ ...againLive })).toMatchObject({ state: 'SUCCEEDED', handle: { pid: again.handle.pid } });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(supervisor.isRunning(again.handle.pid as number)).toBe(true);
  });

  it('fails a version that crashes on start, quoting its exit code and log', async () => {
    const status = await deploy(request('crasher', 'crasher-1.0.0-ccc', 'crashes-on-start.mjs', '1.0.0'));
    expect(status.state).toBe('FAILED');
    expect(status.message).toContain('exited with exit code 3');
    expect(status.message).toContain('fatal: DATABASE_URL is not set');
  });

  it('fails and stops a version that never becomes healthy within startTimeoutSeconds', async () => {
    const req = request('sleepy', 'sleepy-1.0.0-ddd', 'never-healthy.mjs', '1.0.0', { target: target({ startTimeoutSeconds: 1 }) });
    const status = await deploy(req);
    expect(status.state).toBe('FAILED');
    expect(status.message).toContain('not healthy at /health within 1s (last answer 503)');
    expect(status.message).toContain('never-healthy listening');
    expect(supervisor.isRunning(status.handle.pid as number)).toBe(false);
  });

  it('rolls back from v2 to v1 by restarting v1 on its old port, leaving v2 for the caller to retire', async () => {
    const v1Req = request('roller', 'roller-1.0.0-eee', 'greeter-v1.mjs', '1.0.0');
    const v1 = await deploy(v1Req);
    const v2Req = request('roller', 'roller-2.0.0-fff', 'greeter-v2.mjs', '2.0.0', { current: live(v1Req, v1) });
    const v2 = await deploy(v2Req);
    expect(v2.state).toBe('SUCCEEDED');
    await provider.retire({ service: 'roller', environment: 'production', target: target(), deployment: live(v1Req, v1), drainSeconds: 0 });
    expect(supervisor.isRunning(v1.handle.pid as number)).toBe(false);

    const restored = await provider.rollback({
      service: 'roller',
      environment: 'production',
      target: target(),
      failed: live(v2Req, v2),
      previous: live(v1Req, v1),
    });
    expect(restored?.state).toBe('SUCCEEDED');
    expect(restored?.handle.port).toBe(v1.handle.port);
    expect(restored?.endpoint).toBe(v1.endpoint);
    expect(restored?.handle.pid).not.toBe(v1.handle.pid);
    expect(await getJson(`${v1.endpoint}/greetings/bob`)).toMatchObject({ version: '1', release: '1.0.0' });
    expect(supervisor.isRunning(v2.handle.pid as number)).toBe(true);
    const retired = { service: 'roller', environment: 'production' as const, target: target(), deployment: live(v2Req, v2) };
    await provider.retire({ ...retired, drainSeconds: 0, live: { ...live(v1Req, v1), handle: restored!.handle } });
    expect(supervisor.isRunning(v2.handle.pid as number)).toBe(false);
  });

  it('leaves the previous version alone on rollback when it still runs healthy', async () => {
    const v1Req = request('keeper', 'keeper-1.0.0-ggg', 'greeter-v1.mjs', '1.0.0');
    const v1 = await deploy(v1Req);
    // A deploy that failed before retiring v1: v2 is up but v1 was never stopped.
    const v2Req = request('keeper', 'keeper-2.0.0-hhh', 'greeter-v2.mjs', '2.0.0');
    const v2 = await deploy(v2Req);
    const restored = await provider.rollback({
      service: 'keeper',
      environment: 'production',
      target: target(),
      failed: live(v2Req, v2),
      previous: live(v1Req, v1),
    });
    expect(restored).toMatchObject({ state: 'SUCCEEDED', handle: { pid: v1.handle.pid, port: v1.handle.port } });
  });

  it('restores nothing on rollback when there is no previous version', async () => {
    const req = request('firstling', 'firstling-1.0.0-iii', 'greeter-v1.mjs', '1.0.0');
    const status = await deploy(req);
    const result = await provider.rollback({
      service: 'firstling',
      environment: 'production',
      target: target(),
      failed: live(req, status),
    });
    expect(result).toBeUndefined();
    expect(supervisor.isRunning(status.handle.pid as number)).toBe(true);
  });

  it('ignores a stale pid in the current handle that this runtime did not start', async () => {
    const req = request('stale', 'stale-1.0.0-jjj', 'greeter-v1.mjs', '1.0.0', {
      // The pid of this very test process: stopping it would end the test run.
      current: {
        version: '0.9.0',
        artifactKey: 'artifacts/old.mjs',
        releaseId: 'stale-0.9.0-old',
        handle: { pid: process.pid, port: 1, url: 'http://127.0.0.1:1', dir: '/nowhere', startedAt: new Date(0).toISOString() },
      },
    });
    expect((await deploy(req)).state).toBe('SUCCEEDED');
  });

  it('does not start a second copy when start is retried for the same release', async () => {
    const req = request('retry', 'retry-1.0.0-kkk', 'greeter-v1.mjs', '1.0.0');
    const first = await provider.start(req);
    const second = await provider.start(req);
    expect(second.handle.pid).toBe(first.handle.pid);
    expect(second.handle.port).toBe(first.handle.port);
  });

  it('reports a missing artifact as NotFoundError', async () => {
    await expect(provider.start(request('missing', 'missing-1.0.0-lll', 'nope.mjs', '1.0.0'))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a release id that would leave the targets directory', async () => {
    await expect(provider.start(request('greeter', '..', 'greeter-v1.mjs', '1.0.0'))).rejects.toThrow(
      /releaseId "\.\." cannot name a directory/,
    );
  });

  it('is the provider providerFor returns for a local-process target', () => {
    expect(providerFor(target())).toBeInstanceOf(LocalProcessProvider);
    expect(providerFor(target())).toBe(providerFor(target()));
  });
});
