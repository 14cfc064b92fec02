import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The `launchway` command as a user runs it: `dev` in one process, the other commands in others, talking only
 * through the endpoints `dev` writes.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EX = (v: string, f: string) => path.join(ROOT, 'examples/greeter', v, f);
let dataDir: string;
let dev: ChildProcess;
/** What `launchway dev` printed: its stdout is a pipe here, as in CI. */
let devOut = '';
let env: Record<string, string>;

function cli(args: string[], timeoutMs = 90_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/launchway.js'), ...args], {
      cwd: dataDir,
      env: { PATH: process.env.PATH!, HOME: dataDir, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`launchway ${args.join(' ')} timed out\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Parses `export NAME='value'` lines. */
function parseEnvFile(text: string): Record<string, string> {
  return Object.fromEntries(
    [...text.matchAll(/^export ([A-Z0-9_]+)='((?:[^']|'\\'')*)'$/gm)].map((m) => [m[1], m[2].replace(/'\\''/g, "'")]),
  );
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'launchway-cli-'));
  env = {};
  dev = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin/launchway.js'),
      'dev',
      '--data-dir',
      path.join(dataDir, '.launchway'),
      '--catalog',
      path.join(ROOT, 'examples/catalog.json'),
    ],
    {
      cwd: dataDir,
      env: { ...process.env, NO_COLOR: '1', LOG_LEVEL: 'ERROR' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let devErr = '';
  dev.stderr!.on('data', (d) => (devErr += d));
  dev.stdout!.on('data', (d) => (devOut += d));
  const envFile = path.join(dataDir, '.launchway', 'endpoints.env');
  const deadline = Date.now() + 60_000;
  while (!existsSync(envFile)) {
    if (Date.now() > deadline || dev.exitCode !== null) throw new Error(`launchway dev did not write ${envFile}\n${devErr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  env = parseEnvFile(readFileSync(envFile, 'utf8'));
}, 90_000);

afterAll(async () => {
  if (dev && dev.exitCode === null) {
    const exited = new Promise((r) => dev.once('exit', r));
    dev.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (dev.exitCode === null) dev.kill('SIGKILL');
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('launchway CLI against launchway dev', () => {
  it('dev writes the endpoints the other commands need', () => {
    for (const name of [
      'AWS_ENDPOINT_URL_SFN',
      'AWS_ENDPOINT_URL_DYNAMODB',
      'AWS_ENDPOINT_URL_S3',
      'LAUNCHWAY_STATE_MACHINE_ARN',
      'RELEASES_TABLE',
      'ARTIFACTS_BUCKET',
      'OUTBOX_DIR',
    ]) {
      expect(env[name], name).toBeTruthy();
    }
    expect(env.APPROVAL_SIGNING_SECRET).toBeUndefined();
  });

  it('release --wait follows a release that approve lets through; status and list read it', async () => {
    const releasing = cli([
      'release',
      '--service',
      'greeter',
      '--version',
      '1.0.0',
      '--commit',
      'c0ffee1',
      '--triggered-by',
      'ci@example.com',
      '--bundle',
      EX('1.0.0', 'service.mjs'),
      '--collection',
      EX('1.0.0', 'collection.postman.json'),
      '--openapi',
      EX('1.0.0', 'openapi.yaml'),
      '--wait',
    ]);
    const releaseId = 'greeter-1.0.0-c0ffee1';
    let approved: { code: number | null; stdout: string; stderr: string } | undefined;
    for (let i = 0; i < 60 && !approved; i++) {
      const status = await cli(['status', releaseId, '--json']);
      if (status.code === 0 && JSON.parse(status.stdout).status === 'AWAITING_APPROVAL') {
        approved = await cli(['approve', releaseId, '--as', 'lead@example.com', '--comment', 'from the CLI test']);
      } else await new Promise((r) => setTimeout(r, 500));
    }
    expect(approved?.code, approved?.stderr).toBe(0);
    expect(approved!.stdout).toContain('Approved');

    const released = await releasing;
    expect(released.code, released.stderr).toBe(0);
    expect(released.stderr).toMatch(/DeployProduction\s+SUCCEEDED/);
    expect(released.stdout).toContain('SUCCEEDED');

    const status = JSON.parse((await cli(['status', releaseId, '--json'])).stdout);
    expect(status).toMatchObject({
      releaseId,
      status: 'SUCCEEDED',
      approval: { decisions: [expect.objectContaining({ comment: 'from the CLI test' })] },
    });
    const list = JSON.parse((await cli(['list', '--service', 'greeter', '--json'])).stdout);
    expect(list.map((r: { releaseId: string }) => r.releaseId)).toContain(releaseId);

    // The same service, version and commit again: nothing new starts, the existing release is reported.
    const again = await cli([
      'release',
      '--service',
      'greeter',
      '--version',
      '1.0.0',
      '--commit',
      'c0ffee1',
      '--triggered-by',
      'ci@example.com',
      '--bundle',
      EX('1.0.0', 'service.mjs'),
      '--collection',
      EX('1.0.0', 'collection.postman.json'),
      '--openapi',
      EX('1.0.0', 'openapi.yaml'),
      '--json',
    ]);
    expect(JSON.parse(again.stdout)).toMatchObject({ releaseId, started: false });

    // dev's stdout is not a terminal: it told of the approval email without printing its signed links.
    expect(devOut).toContain(`launchway approve ${releaseId} --as lead@example.com`);
    expect(devOut).toContain('approval links are not printed');
    expect(devOut).not.toContain('sig=');
  }, 120_000);

  it('bad input stops before anything starts, exits 2 and names the field', async () => {
    const out = await cli([
      'release',
      '--service',
      'greeter',
      '--version',
      'v1',
      '--commit',
      'c0ffee2',
      '--triggered-by',
      'ci@example.com',
      '--bundle',
      EX('1.0.0', 'service.mjs'),
      '--collection',
      EX('1.0.0', 'collection.postman.json'),
      '--openapi',
      EX('1.0.0', 'openapi.yaml'),
    ]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/version: expected a semantic version/);
    const list = JSON.parse((await cli(['list', '--json'])).stdout);
    expect(list.map((r: { version: string }) => r.version)).not.toContain('v1');
  });

  it('status of an unknown release exits 1 with a clear message', async () => {
    const out = await cli(['status', 'nope-1.0.0-abc1234']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('release nope-1.0.0-abc1234 does not exist');
  });
});
