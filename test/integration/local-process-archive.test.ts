import { createHash } from 'node:crypto';
import { access, chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { s3Client } from '../../functions/lib/clients.js';
import type { DeployTarget } from '../../functions/lib/catalog.js';
import type { DeployRequest } from '../../functions/lib/deploy/deploy-provider.js';
import { LocalProcessProvider } from '../../functions/lib/deploy/local-process.js';
import { ProcessSupervisor } from '../../functions/lib/deploy/process-supervisor.js';
import { ArtifactIntegrityError } from '../../functions/lib/errors.js';
import { FileSecretSource } from '../../functions/lib/secrets.js';
import { localProcessTarget } from '../helpers/catalog-parts.js';
import type { LocalProcessTarget } from '../../functions/lib/deploy/targets.js';
import { deployUntilDone } from '../helpers/deploy-until-done.js';

// A packed directory artifact (.tar.gz) run by the local-process provider with the target's own command, working
// directory, port and host variable names, and a secret from the embedded secrets file.

const packedDir = fileURLToPath(new URL('../fixtures/services/packed', import.meta.url));
const TOKEN = 'tok-5f1e9c2a-never-printed';

let emu: TestEmulators;
let work: string;
let targetsDir: string;
let artifacts: ArtifactStore;
let archiveSha: string;
const supervisor = new ProcessSupervisor();
let provider: LocalProcessProvider;

const target = (overrides: Partial<LocalProcessTarget> = {}): DeployTarget =>
  localProcessTarget({
    healthPath: '/api/health',
    portEnv: 'APP_PORT',
    hostEnv: 'APP_HOST',
    secretEnv: { API_TOKEN: { secret: 'packed-token' } },
    ...overrides,
  });

async function pack(dir: string, entries: string[]): Promise<Buffer> {
  const file = path.join(work, `${path.basename(dir)}-${Math.random().toString(36).slice(2)}.tar.gz`);
  await tar.c({ gzip: true, cwd: dir, file, portable: true }, entries);
  return readFile(file);
}

beforeAll(async () => {
  emu = await startTestEmulators();
  work = await mkdtemp(path.join(tmpdir(), 'launchway-archive-'));
  targetsDir = path.join(work, 'targets');
  artifacts = new ArtifactStore(s3Client(), emu.bucket);
  const bytes = await pack(packedDir, ['package.json', 'src', 'data']);
  archiveSha = createHash('sha256').update(bytes).digest('hex');
  await artifacts.put('artifacts/packed.tar.gz', bytes);
  await artifacts.put('artifacts/packed-copy.tar.gz', bytes);

  // No package.json main: only a command can run it.
  const nomain = path.join(work, 'nomain');
  await mkdir(nomain);
  await writeFile(path.join(nomain, 'package.json'), '{"name":"nomain"}');
  await artifacts.put('artifacts/nomain.tar.gz', await pack(nomain, ['package.json']));

  // Links leaving the directory, relative and absolute.
  for (const [name, to] of [
    ['climbs', '../../outside'],
    ['absolute', '/etc/passwd'],
  ]) {
    const dir = path.join(work, name);
    await mkdir(dir);
    await writeFile(path.join(dir, 'package.json'), '{"main":"x.js"}');
    await symlink(to, path.join(dir, 'escape'));
    await artifacts.put(`artifacts/${name}.tar.gz`, await pack(dir, ['package.json', 'escape']));
  }

  const secretsFile = path.join(work, 'secrets.json');
  await writeFile(secretsFile, JSON.stringify({ 'packed-token': TOKEN }));
  await chmod(secretsFile, 0o600);
  provider = new LocalProcessProvider({
    supervisor,
    artifacts,
    targetsDir,
    pollIntervalMs: 50,
    secrets: new FileSecretSource(secretsFile),
  });
});

afterAll(async () => {
  await supervisor.stopAll(1_000);
  await emu?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const request = (releaseId: string, extra: Partial<DeployRequest> = {}): DeployRequest => ({
  releaseId,
  service: 'packed',
  environment: 'production',
  version: '1.0.0',
  artifactKey: 'artifacts/packed.tar.gz',
  artifactSha256: archiveSha,
  target: target(),
  ...extra,
});

const deploy = (req: DeployRequest) => deployUntilDone(provider, req, 20_000);

async function info(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/api/info`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

describe('local-process provider with a packed directory', () => {
  it("unpacks the archive and runs package.json's main with its own port and host names and its secret", async () => {
    const status = await deploy(request('packed-1.0.0-a'));
    expect(status.state, status.message).toBe('SUCCEEDED');
    const root = path.join(targetsDir, 'packed', 'production', 'packed-1.0.0-a', 'artifact');
    expect(await info(status.endpoint!)).toEqual({
      greeting: 'Hello, ada!',
      motto: 'Built to be packed.',
      cwd: root,
      release: '1.0.0',
      tokenLength: TOKEN.length,
      PORT: null,
      HOST: null,
    });
    expect(await exists(path.join(root, 'src', 'greet.js'))).toBe(true);
    expect(JSON.stringify(status)).not.toContain(TOKEN);
  });

  it('runs the target command in its workingDirectory', async () => {
    const req = request('packed-1.0.0-b', { target: target({ command: ['node', 'server.js'], workingDirectory: 'src' }) });
    const status = await deploy(req);
    expect(status.state, status.message).toBe('SUCCEEDED');
    expect((await info(status.endpoint!)).cwd).toBe(path.join(targetsDir, 'packed', 'production', 'packed-1.0.0-b', 'artifact', 'src'));
  });

  it('restarts a version on its recorded port from the unpacked directory, which it reuses only when complete', async () => {
    const req = request('packed-1.0.0-c', { artifactKey: 'artifacts/packed-copy.tar.gz' });
    const first = await deploy(req);
    expect(first.state, first.message).toBe('SUCCEEDED');
    await supervisor.stop(first.handle.pid as number, 1_000);
    const deployment = {
      version: '1.0.0',
      artifactKey: req.artifactKey,
      artifactSha256: archiveSha,
      releaseId: req.releaseId,
      handle: first.handle,
    };
    // The archive is gone from S3: only the completed unpacked directory can serve the restart.
    await emptyKey(req.artifactKey);
    const again = await provider.ensureRunning({ service: 'packed', environment: 'production', target: target(), deployment });
    expect(again, again.message).toMatchObject({ state: 'SUCCEEDED', handle: { port: first.handle.port } });
    expect((await info(again.endpoint!)).tokenLength).toBe(TOKEN.length);

    // Without its marker the directory counts as incomplete and is unpacked anew, which needs the archive.
    await supervisor.stop(again.handle.pid as number, 1_000);
    await rm(path.join(targetsDir, 'packed', 'production', req.releaseId, '.unpacked'));
    await expect(provider.ensureRunning({ service: 'packed', environment: 'production', target: target(), deployment })).rejects.toThrow(
      /does not exist/,
    );
  });

  it('refuses an archive whose bytes do not match the recorded sha256', async () => {
    const req = request('packed-1.0.0-d', { artifactSha256: 'a'.repeat(64) });
    await expect(provider.start(req)).rejects.toBeInstanceOf(ArtifactIntegrityError);
    await expect(provider.start(req)).rejects.toThrow(`has sha256 ${archiveSha}, but the release recorded ${'a'.repeat(64)}`);
  });

  it.each([
    ['climbs', 'escape -> ../../outside'],
    ['absolute', 'escape -> /etc/passwd'],
  ])('refuses an archive with a link leaving its directory (%s), writing nothing', async (name, entry) => {
    const req = request(`${name}-1.0.0-e`, { artifactKey: `artifacts/${name}.tar.gz`, artifactSha256: undefined });
    const err = await provider.start(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactIntegrityError);
    expect((err as Error).message).toContain(entry);
    expect(await exists(path.join(targetsDir, 'packed', 'production', req.releaseId, 'artifact', 'package.json'))).toBe(false);
  });

  it('fails with a clear message when there is neither a command nor a package.json main', async () => {
    const status = await deploy(request('nomain-1.0.0-f', { artifactKey: 'artifacts/nomain.tar.gz', artifactSha256: undefined }));
    expect(status.state).toBe('FAILED');
    expect(status.message).toContain('package.json has no "main"');
    expect(status.message).toContain('set "command" on the local-process target');
  });

  it('fails when the workingDirectory is not in the artifact', async () => {
    const status = await deploy(request('packed-1.0.0-g', { target: target({ workingDirectory: 'nowhere' }) }));
    expect(status).toMatchObject({ state: 'FAILED', message: expect.stringContaining('workingDirectory "nowhere" is not a directory') });
  });

  it('fails naming the variable and the secret when a secret is unavailable', async () => {
    const status = await deploy(request('packed-1.0.0-h', { target: target({ secretEnv: { API_TOKEN: { secret: 'no-such-secret' } } }) }));
    expect(status.state).toBe('FAILED');
    expect(status.message).toMatch(/API_TOKEN.*no-such-secret/);
  });

  it("shows the service's own output first, its secret masked, when it exits before it is healthy", async () => {
    const status = await deploy(request('packed-1.0.0-i', { target: target({ env: { LEAK_AND_CRASH: '1' } }) }));
    expect(status.state).toBe('FAILED');
    const message = status.message!;
    expect(message).not.toContain(TOKEN);
    expect(message).toContain('connecting with token ***');
    expect(message.indexOf('connecting with token')).toBeLessThan(message.indexOf('exited with exit code 3'));
  });
});

/** Removes an object from the emulated bucket. */
async function emptyKey(key: string): Promise<void> {
  const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
  await s3Client().send(new DeleteObjectCommand({ Bucket: emu.bucket, Key: key }));
}
