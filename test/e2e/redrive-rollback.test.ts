import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalGatewayProvisioner } from '../../functions/lib/interop/local-gateway-provisioner.js';
import { ROOT, startDev, type DevProcess } from '../helpers/dev-process.js';

/**
 * `launchway redrive` and `launchway rollback` as an operator runs them: `dev` in one process, each command in
 * another. Staging of this catalog's greeter answers 503 on its routes while a marker file exists (a preload the
 * target's NODE_OPTIONS loads), so its smoke tests fail until the marker is removed: the deterministic "flaky
 * staging" a redrive is for.
 */
const EX = (v: string, f: string) => path.join(ROOT, 'examples/greeter', v, f);
let dataDir: string;
let marker: string;
let dev: DevProcess;

const FLAKY_PRELOAD = `
const fs = require('node:fs');
const http = require('node:http');
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, req, res) {
  if (event === 'request' && req.url !== '/health' && fs.existsSync(process.env.FLAKY_MARKER)) {
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end('{"error":{"code":"FLAKY","message":"staging is flaky"}}');
    return true;
  }
  return emit.apply(this, arguments);
};
`;

const releaseArgs = (version: string, commit: string) => [
  'release',
  ...['--service', 'greeter', '--version', version, '--commit', commit, '--triggered-by', 'ci@example.com'],
  ...['--bundle', EX(version, 'service.mjs'), '--collection', EX(version, 'collection.postman.json')],
  ...['--openapi', EX(version, 'openapi.yaml')],
];
const status = async (releaseId: string) => JSON.parse((await dev.cli(['status', releaseId, '--json'])).stdout);
const operator = ['--as', 'ops@example.com'];

/** Polls `status` until it is `wanted`, bounded. */
async function until(releaseId: string, wanted: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await status(releaseId);
    if (view.status === wanted) return view;
    if (Date.now() > deadline) throw new Error(`${releaseId} is ${view.status}, not ${wanted}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Releases a version and approves it through the CLI; returns the SUCCEEDED record. */
async function released(version: string, commit: string) {
  const started = await dev.cli([...releaseArgs(version, commit), '--json']);
  expect(started.code, started.stderr).toBe(0);
  const { releaseId } = JSON.parse(started.stdout) as { releaseId: string };
  await until(releaseId, 'AWAITING_APPROVAL');
  const approved = await dev.cli(['approve', releaseId, '--as', 'lead@example.com']);
  expect(approved.code, approved.stderr).toBe(0);
  return until(releaseId, 'SUCCEEDED');
}

async function answers(url: string, apiKey?: string): Promise<string> {
  const res = await fetch(url, { headers: apiKey ? { 'x-api-key': apiKey } : {}, signal: AbortSignal.timeout(10_000) });
  expect(res.status, url).toBe(200);
  return ((await res.json()) as { version: string }).version;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'launchway-redrive-'));
  marker = path.join(dataDir, 'staging-is-flaky');
  const preload = path.join(dataDir, 'flaky-staging.cjs');
  writeFileSync(preload, FLAKY_PRELOAD);
  const catalog = path.join(dataDir, 'catalog.json');
  const staging = { type: 'local-process', healthPath: '/health', env: { NODE_OPTIONS: `--require ${preload}`, FLAKY_MARKER: marker } };
  const greeter = {
    approvers: ['lead@example.com', 'qa@example.com'],
    requiredApprovals: 1,
    triggeredBy: ['ci@example.com'],
    staging,
    production: { type: 'local-process', healthPath: '/health' },
    interop: { enabled: true, apiKeyRequired: true, apiKeys: ['partner-demo'], stage: 'v1' },
  };
  await writeFile(catalog, JSON.stringify({ services: { greeter } }));
  dev = await startDev(dataDir, catalog);
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('launchway redrive', () => {
  let releaseId: string;

  it('a release whose staging smoke tests failed is redriven: approval asked again, then SUCCEEDED, the audit kept', async () => {
    await writeFile(marker, 'flaky');
    const failed = await dev.cli([...releaseArgs('1.0.0', 'bad5eed'), '--wait', '--json'], 240_000);
    expect(failed.code, failed.stderr).toBe(10);
    const view = JSON.parse(failed.stdout);
    releaseId = view.releaseId;
    expect(view).toMatchObject({ status: 'FAILED', error: { error: 'SmokeTestsFailed', state: 'SmokeTestStaging' } });

    await rm(marker);
    const out = await dev.cli(['redrive', releaseId, ...operator, '--reason', 'staging was flaky']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`Redriving ${releaseId} (redrive 1) as ops@example.com: staging was flaky`);

    await until(releaseId, 'AWAITING_APPROVAL');
    const approved = await dev.cli(['approve', releaseId, '--as', 'lead@example.com']);
    expect(approved.code, approved.stderr).toBe(0);
    const done = await until(releaseId, 'SUCCEEDED');
    expect(done.error).toBeUndefined();
    expect(done.redrive).toMatchObject({ count: 1, by: 'ops@example.com', reason: 'staging was flaky', reopenedAt: expect.any(String) });
    expect(done.redrives).toEqual([
      expect.objectContaining({
        count: 1,
        previous: expect.objectContaining({ error: expect.objectContaining({ state: 'SmokeTestStaging' }) }),
      }),
    ]);
    expect(done.steps.find((s: { step: string }) => s.step === 'SmokeTestStaging').status).toBe('SUCCEEDED');
    expect(await answers(`${done.links.productionUrl}/greetings/ada`)).toBe('1.0.0');
  }, 480_000);

  it('refuses a release that did not fail (exit 2), writing nothing', async () => {
    const before = await status(releaseId);
    const out = await dev.cli(['redrive', releaseId, ...operator, '--reason', 'again', '--json']);
    expect(out.code).toBe(2);
    expect(JSON.parse(out.stdout).error).toMatchObject({
      code: 'VALIDATION_ERROR',
      message: expect.stringContaining('it is SUCCEEDED'),
      details: { fields: { releaseId: expect.any(String) } },
    });
    expect((await status(releaseId)).updatedAt).toBe(before.updatedAt);
  });
});

describe('launchway rollback', () => {
  it('puts production and the gateway back on 1.0.0; 1.1.0 is ROLLED_BACK with who and why', async () => {
    const v110 = await released('1.1.0', 'f00d110');
    const interop = v110.steps.find((s: { step: string }) => s.step === 'ProvisionInterop').details;
    const key = await new LocalGatewayProvisioner({ adminUrl: dev.env.LOCAL_GATEWAY_ADMIN_URL }).apiKeyValue(
      'greeter',
      interop.validationKeyId,
    );
    expect(await answers(`${v110.links.interopUrl}/greetings/ada`, key)).toBe('1.1.0');

    const out = await dev.cli(['rollback', 'greeter', ...operator, '--reason', '1.1.0 breaks partners']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('Rolled greeter back to 1.0.0');

    const undone = await status(v110.releaseId);
    expect(undone).toMatchObject({
      status: 'ROLLED_BACK',
      rolledBackBy: {
        by: 'ops@example.com',
        reason: '1.1.0 breaks partners',
        restoredVersion: '1.0.0',
        restoredReleaseId: expect.any(String),
      },
    });
    const restored = await status(undone.rolledBackBy.restoredReleaseId);
    expect(restored).toMatchObject({ version: '1.0.0', status: 'SUCCEEDED' });
    expect(await answers(`${restored.links.productionUrl}/greetings/ada`)).toBe('1.0.0');
    expect(await answers(`${v110.links.interopUrl}/greetings/ada`, key)).toBe('1.0.0');
    // CURRENT#production names 1.0.0: a second rollback would undo it, and it was the first release.
    const again = await dev.cli(['rollback', 'greeter', ...operator, '--reason', 'further', '--json']);
    expect(again.code).toBe(2);
    expect(JSON.parse(again.stdout).error.message).toContain(`${restored.releaseId} is the first release of greeter`);
  }, 480_000);

  it('is refused while a release holds the lock, naming it (exit 2)', async () => {
    const started = await dev.cli([...releaseArgs('1.1.0', 'f00d111'), '--json']);
    expect(started.code, started.stderr).toBe(0);
    const { releaseId } = JSON.parse(started.stdout) as { releaseId: string };
    await until(releaseId, 'AWAITING_APPROVAL');
    const out = await dev.cli(['rollback', 'greeter', ...operator, '--reason', 'impatient']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`the lock of greeter is held by ${releaseId}`);
    expect(out.stderr).toContain(`launchway cancel ${releaseId}`);
    const cancel = await dev.cli(['cancel', releaseId, ...operator, '--reason', 'make way', '--wait']);
    expect(cancel.code, cancel.stderr).toBe(15);
  }, 300_000);
});
