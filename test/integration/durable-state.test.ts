import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { documentClient } from '../../functions/lib/clients.js';
import { startEmbedded, TABLE_NAME, type EmbeddedStack } from '../../local/runtime.js';
import { ROOT } from '../helpers/dev-process.js';

/**
 * What `startEmbedded({ fresh: false })` keeps between two boots on one data directory, and what `fresh` forgets:
 * records, the signing secret (0600), the ports (a taken one replaced and reported), the user's secrets file untouched.
 */
const CATALOG = path.join(ROOT, 'examples/catalog.json');
let dataDir: string;
let stack: EmbeddedStack | undefined;
let blocker: Server | undefined;

const boot = async (fresh: boolean) => {
  stack = await startEmbedded({ catalog: CATALOG, dataDir, fresh });
  return stack;
};
const shutdown = async () => {
  await stack?.stop();
  stack = undefined;
};
const secretFile = () => path.join(dataDir, 'approval-signing-secret');
const now = new Date().toISOString();
const record = (releaseId: string) => ({
  releaseId,
  service: 'greeter',
  version: '0.0.1',
  commit: 'abc1234',
  branch: 'main',
  triggeredBy: 'ci@example.com',
  status: 'SUCCEEDED' as const,
  request: {},
  changes: [],
  createdAt: now,
  updatedAt: now,
});

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'launchway-state-'));
});

afterAll(async () => {
  await shutdown();
  await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  await rm(dataDir, { recursive: true, force: true });
});

describe('the embedded stack on one data directory', () => {
  it('keeps records, secret and ports across a restart; a taken port moves and is reported', async () => {
    const first = await boot(false);
    await new ReleaseStore(documentClient(), TABLE_NAME).createRelease(record('greeter-0.0.1-abc1234'));
    const secret = await readFile(secretFile(), 'utf8');
    expect((await stat(secretFile())).mode & 0o777).toBe(0o600);
    expect(first.env.SECRETS_FILE).toBe(path.join(dataDir, 'secrets.json'));
    const endpoints = { ...first.endpoints };
    await writeFile(path.join(dataDir, 'secrets.json'), '{"token":"s3cr3t"}', { mode: 0o600 });
    await shutdown();

    // Another program takes the approval server's port while the stack is down.
    blocker = createServer();
    await new Promise<void>((r) => blocker!.listen(Number(new URL(endpoints.approval).port), '127.0.0.1', r));
    const second = await boot(false);
    expect(await new ReleaseStore(documentClient(), TABLE_NAME).getRelease('greeter-0.0.1-abc1234')).toMatchObject({ status: 'SUCCEEDED' });
    expect(await readFile(secretFile(), 'utf8')).toBe(secret);
    expect(second.endpoints).toMatchObject({ ...endpoints, approval: expect.any(String) });
    expect(second.endpoints.approval).not.toBe(endpoints.approval);
    expect(second.recovery.notices).toEqual([
      `port ${new URL(endpoints.approval).port} of the approval endpoint is taken: ` +
        'it moves to a new port (links and URLs to the old one stop working)',
    ]);
    expect(second.recovery.finalized).toEqual([]);
    await shutdown();
  }, 120_000);

  it('fresh forgets the records and the secret, and leaves the secrets file alone', async () => {
    const secret = await readFile(secretFile(), 'utf8');
    await boot(true);
    expect(await new ReleaseStore(documentClient(), TABLE_NAME).getRelease('greeter-0.0.1-abc1234')).toBeUndefined();
    expect(await readFile(secretFile(), 'utf8')).not.toBe(secret);
    expect(await readFile(path.join(dataDir, 'secrets.json'), 'utf8')).toBe('{"token":"s3cr3t"}');
    await shutdown();
  }, 120_000);

  it('refuses a second stack on the same folder, even with --fresh, and takes over a lock its holder left behind', async () => {
    const first = await boot(false);
    await new ReleaseStore(documentClient(), TABLE_NAME).createRelease(record('greeter-0.0.2-abc1234'));
    const lock = JSON.parse(await readFile(path.join(dataDir, 'stack.lock'), 'utf8'));
    expect(lock.pid).toBe(process.pid);
    await expect(startEmbedded({ catalog: CATALOG, dataDir, fresh: true })).rejects.toThrow(
      `another Launchway stack (pid ${process.pid}, started ${lock.startedAt}) uses ${dataDir}: stop it first`,
    );
    // The refused --fresh deleted nothing under the running stack.
    expect(await new ReleaseStore(documentClient(), TABLE_NAME).getRelease('greeter-0.0.2-abc1234')).toMatchObject({ status: 'SUCCEEDED' });
    expect(first.endpoints.sfn).toBe(stack?.endpoints.sfn);
    await shutdown();
    await expect(stat(path.join(dataDir, 'stack.lock'))).rejects.toThrow(/ENOENT/);

    // A stack killed with SIGKILL leaves its lock: a pid that no longer runs does not hold the folder.
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    await writeFile(path.join(dataDir, 'stack.lock'), JSON.stringify({ pid: dead, startedAt: now }));
    await boot(false);
    expect(JSON.parse(await readFile(path.join(dataDir, 'stack.lock'), 'utf8')).pid).toBe(process.pid);
    await shutdown();
  }, 120_000);
});
