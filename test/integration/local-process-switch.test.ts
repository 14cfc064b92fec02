import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalGateway, type LocalGateway } from '../../local/gateway.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { s3Client } from '../../functions/lib/clients.js';
import type { DeployTarget } from '../../functions/lib/catalog.js';
import type { DeployRequest, DeployStatus, LiveDeployment } from '../../functions/lib/deploy/deploy-provider.js';
import { LocalProcessProvider } from '../../functions/lib/deploy/local-process.js';
import { ProcessSupervisor } from '../../functions/lib/deploy/process-supervisor.js';
import { LocalGatewayProvisioner } from '../../functions/lib/interop/local-gateway-provisioner.js';
import { parseOpenApi } from '../../functions/lib/openapi.js';
import { interopConfig, localProcessTarget } from '../helpers/catalog-parts.js';
import { deployUntilDone, liveOf } from '../helpers/deploy-until-done.js';

// The zero-downtime switch, end to end on the real pieces: the local gateway in front, the local-process provider
// behind it, and a partner polling through the gateway every 50 ms while production moves to v2 and back.

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));

let emu: TestEmulators;
let targetsDir: string;
let gateway: LocalGateway;
let provisioner: LocalGatewayProvisioner;
const supervisor = new ProcessSupervisor();
let provider: LocalProcessProvider;

const target: DeployTarget = localProcessTarget({ startTimeoutSeconds: 20, drainSeconds: 1 });
const interop = interopConfig();

beforeAll(async () => {
  emu = await startTestEmulators();
  targetsDir = await mkdtemp(path.join(tmpdir(), 'launchway-switch-'));
  const artifacts = new ArtifactStore(s3Client(), emu.bucket);
  for (const name of ['greeter-v1.mjs', 'greeter-v2.mjs'])
    await artifacts.put(`artifacts/${name}`, await readFile(here(`../fixtures/services/${name}`)));
  provider = new LocalProcessProvider({ supervisor, artifacts, targetsDir, pollIntervalMs: 50 });
  gateway = await startLocalGateway();
  provisioner = new LocalGatewayProvisioner({ adminUrl: gateway.adminUrl });
});

afterAll(async () => {
  await gateway?.close();
  await supervisor.stopAll(1_000);
  await emu?.stop();
  if (targetsDir) await rm(targetsDir, { recursive: true, force: true });
});

const request = (releaseId: string, artifact: string, version: string, current?: LiveDeployment): DeployRequest => ({
  releaseId,
  service: 'greeter',
  environment: 'production',
  version,
  artifactKey: `artifacts/${artifact}`,
  target,
  current,
});
const live = liveOf;

async function deploy(req: DeployRequest): Promise<DeployStatus> {
  const status = await deployUntilDone(provider, req);
  expect(status.state, status.message).toBe('SUCCEEDED');
  return status;
}

async function waitUntil(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Calls the gateway every 50 ms until stopped, noting each answer's status and the version that served it. */
function poll(url: string) {
  const answers: { status: number; version: string | null }[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        await res.body?.cancel();
        answers.push({ status: res.status, version: res.headers.get('x-service-version') });
      } catch (err) {
        answers.push({ status: 0, version: (err as Error).message });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    answers,
    seen: (version: string) => answers.some((a) => a.version === version),
    stop: async () => {
      running = false;
      await done;
      return answers;
    },
  };
}

describe('zero-downtime production switch through the local gateway', () => {
  it('answers every request with 200 while production moves to v2, and while it is rolled back to v1', async () => {
    const [specV1, specV2] = [
      (await parseOpenApi(await readFile(here('../fixtures/openapi/greeter-v1.yaml'), 'utf8'))).document,
      (await parseOpenApi(await readFile(here('../fixtures/openapi/greeter-v2.json'), 'utf8'))).document,
    ];
    const v1Req = request('greeter-1.0.0-a', 'greeter-v1.mjs', '1.0.0');
    const v1 = await deploy(v1Req);
    const published = await provisioner.provision({
      service: 'greeter',
      releaseId: v1Req.releaseId,
      version: '1.0.0',
      spec: specV1,
      targetUrl: v1.endpoint!,
      config: interop,
    });
    const poller = poll(`${published.baseUrl}/greetings/ada`);
    await waitUntil('the poller sees v1', () => poller.seen('1'));

    // The release: v2 starts and turns healthy while v1 serves, the gateway moves, then v1 drains and stops.
    const v2Req = request('greeter-2.0.0-b', 'greeter-v2.mjs', '2.0.0', live(v1Req, v1));
    const v2 = await deploy(v2Req);
    expect(supervisor.isRunning(v1.handle.pid as number)).toBe(true);
    await provisioner.provision({
      service: 'greeter',
      releaseId: v2Req.releaseId,
      version: '2.0.0',
      spec: specV2,
      targetUrl: v2.endpoint!,
      config: interop,
    });
    await waitUntil('the poller sees v2', () => poller.seen('2'));
    const retire = { service: 'greeter', environment: 'production' as const, target, drainSeconds: 1 };
    await provider.retire({ ...retire, deployment: live(v1Req, v1), live: live(v2Req, v2) });
    await waitUntil('v1 is retired', () => !supervisor.isRunning(v1.handle.pid as number));
    const afterSwitch = poller.answers.length;

    // The rollback: v1 back on its port (restarted, healthy) before the gateway moves back, then v2 drains and stops.
    const restored = await provider.rollback({ ...retire, failed: live(v2Req, v2), previous: live(v1Req, v1) });
    expect(restored?.state, restored?.message).toBe('SUCCEEDED');
    expect(restored?.endpoint).toBe(v1.endpoint);
    await provisioner.rollback('greeter', published.deploymentId);
    await waitUntil('the poller sees v1 again', () => poller.answers.slice(afterSwitch).some((a) => a.version === '1'));
    await provider.retire({ ...retire, deployment: live(v2Req, v2), live: { ...live(v1Req, v1), handle: restored!.handle } });
    await waitUntil('v2 is retired', () => !supervisor.isRunning(v2.handle.pid as number));
    const count = poller.answers.length;
    await waitUntil('the poller made a few more calls', () => poller.answers.length >= count + 5);

    const answers = await poller.stop();
    const failures = answers.filter((a) => a.status !== 200);
    expect(failures, `${failures.length} of ${answers.length} calls failed`).toEqual([]);
    expect(answers.length).toBeGreaterThan(20);
    expect(answers.at(-1)?.version).toBe('1');
  });
});
