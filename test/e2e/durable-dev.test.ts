import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalGatewayProvisioner } from '../../functions/lib/interop/local-gateway-provisioner.js';
import { waitForApprovalLink } from '../../local/outbox.js';
import { ROOT, startDev, type DevProcess } from '../helpers/dev-process.js';

/**
 * `launchway dev` killed with SIGKILL while a release awaits approval, then started again on the same data
 * directory: what was released is still there and still served, the interrupted release is ended and its lock
 * freed, and the links of the restarted stack work.
 */
const EX = (v: string, f: string) => path.join(ROOT, 'examples/greeter', v, f);
const CATALOG = path.join(ROOT, 'examples/catalog.json');
let dataDir: string;
let dev: DevProcess;

const releaseArgs = (version: string, commit: string) => [
  'release',
  ...['--service', 'greeter', '--version', version, '--commit', commit, '--triggered-by', 'ci@example.com'],
  ...['--bundle', EX(version, 'service.mjs'), '--collection', EX(version, 'collection.postman.json')],
  ...['--openapi', EX(version, 'openapi.yaml')],
];
const status = async (releaseId: string) => {
  const out = await dev.cli(['status', releaseId, '--json']);
  expect(out.code, out.stdout + out.stderr).toBe(0);
  return JSON.parse(out.stdout);
};

/** Polls until the release is `wanted`, bounded; a record Prepare has not written yet counts as not there yet. */
async function until(releaseId: string, wanted: string, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = await dev.cli(['status', releaseId, '--json']);
    const view = out.code === 0 ? JSON.parse(out.stdout) : { status: out.stdout.trim() };
    if (view.status === wanted) return view;
    if (Date.now() > deadline) throw new Error(`${releaseId} is ${view.status}, not ${wanted}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function start(version: string, commit: string): Promise<string> {
  const started = await dev.cli([...releaseArgs(version, commit), '--json']);
  expect(started.code, started.stdout + started.stderr).toBe(0);
  return (JSON.parse(started.stdout) as { releaseId: string }).releaseId;
}

/** The version production answers with, through the gateway with a partner key. */
async function servedVersion(interopUrl: string, key: string): Promise<string> {
  const res = await fetch(`${interopUrl}/greetings/ada`, { headers: { 'x-api-key': key }, signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { version: string }).version;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'launchway-durable-'));
  dev = await startDev(dataDir, CATALOG);
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('launchway dev across a crash', () => {
  it('keeps records and production, ends the interrupted release, frees the lock, and approves through new links', async () => {
    const first = await start('1.0.0', 'd0ab1e0');
    await until(first, 'AWAITING_APPROVAL');
    const approved = await dev.cli(['approve', first, '--as', 'lead@example.com']);
    expect(approved.code, approved.stderr).toBe(0);
    const v100 = await until(first, 'SUCCEEDED');
    const interop = v100.steps.find((s: { step: string }) => s.step === 'ProvisionInterop').details;
    const key = await new LocalGatewayProvisioner({ adminUrl: dev.env.LOCAL_GATEWAY_ADMIN_URL }).apiKeyValue(
      'greeter',
      interop.validationKeyId,
    );
    expect(await servedVersion(v100.links.interopUrl, key)).toBe('1.0.0');

    const interrupted = await start('1.1.0', 'd0ab110');
    await until(interrupted, 'AWAITING_APPROVAL');
    const oldLink = await waitForApprovalLink(dev.env.OUTBOX_DIR, {
      releaseId: interrupted,
      approver: 'lead@example.com',
      decision: 'approve',
    });
    const before = dev.env;

    await dev.kill();
    await rm(path.join(dataDir, '.launchway', 'endpoints.env'), { force: true });
    dev = await startDev(dataDir, CATALOG);
    // Its output reaches this process through a pipe, after the endpoints file it waited for: wait for the lines.
    await dev.waitForOutput(`${interrupted} was AWAITING_APPROVAL; its execution was lost: ended CANCELLED`);
    await dev.waitForOutput(/greeter 1\.0\.0 \(production\): restarted 1\.0\.0/);
    // The saved ports were free, so every endpoint (and every link and URL built on them) is where it was.
    for (const name of [
      'AWS_ENDPOINT_URL_DYNAMODB',
      'AWS_ENDPOINT_URL_S3',
      'AWS_ENDPOINT_URL_SFN',
      'APPROVAL_BASE_URL',
      'LAUNCHWAY_GATEWAY_URL',
    ]) {
      expect(dev.env[name], name).toBe(before[name]);
    }

    const list = await dev.cli(['list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ releaseId: first, status: 'SUCCEEDED' })]));
    expect(await servedVersion(v100.links.interopUrl, key)).toBe('1.0.0');

    const ended = await status(interrupted);
    expect(ended.status).toBe('CANCELLED');
    expect(ended.error.cause).toContain('the embedded stack restarted; execution lost');
    // The link emailed before the crash is still verified (same port, same secret), and says the release is over.
    expect((await fetch(oldLink, { signal: AbortSignal.timeout(10_000) })).status).toBe(410);
    const unlock = await dev.cli(['unlock', 'greeter', '--as', 'ops@example.com', '--reason', 'check']);
    expect(unlock.code, unlock.stderr).toBe(0);
    expect(unlock.stdout).toContain('the lock of greeter is free; nothing to do');

    const after = await start('1.1.0', 'd0ab111');
    await until(after, 'AWAITING_APPROVAL');
    const link = await waitForApprovalLink(dev.env.OUTBOX_DIR, { releaseId: after, approver: 'lead@example.com', decision: 'approve' });
    expect(new URL(link).origin).toBe(new URL(dev.env.APPROVAL_BASE_URL).origin);
    const decided = await dev.cli(['approve', after, '--as', 'lead@example.com']);
    expect(decided.code, decided.stderr).toBe(0);
    await until(after, 'SUCCEEDED');
    expect(await servedVersion(v100.links.interopUrl, key)).toBe('1.1.0');
  }, 600_000);
});
