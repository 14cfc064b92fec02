import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, list } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadArtifact, packDirectory } from '../../cli/artifact-pack.js';
import { sha256Hex } from '../../functions/lib/artifact-store.js';
import { ValidationError } from '../../functions/lib/errors.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'artifact-pack-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const ADDON = randomBytes(4096);

/** A service laid out as a team builds it: sources, a native addon, a bin link and an executable script, and .git. */
async function serviceDir(name = 'svc'): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(path.join(dir, 'src', 'plugins'), { recursive: true });
  await mkdir(path.join(dir, 'node_modules', 'native', 'build', 'Release'), { recursive: true });
  await mkdir(path.join(dir, 'node_modules', '.bin'), { recursive: true });
  await mkdir(path.join(dir, '.git', 'objects'), { recursive: true });
  await writeFile(path.join(dir, 'package.json'), '{"name":"svc","type":"module"}');
  await writeFile(path.join(dir, 'src', 'server.js'), 'export {};\n');
  await writeFile(path.join(dir, 'src', 'plugins', 'a.js'), 'export default 1;\n');
  await writeFile(path.join(dir, 'node_modules', 'native', 'build', 'Release', 'addon.node'), ADDON);
  await writeFile(path.join(dir, 'node_modules', 'native', 'cli.js'), '#!/usr/bin/env node\n');
  await chmod(path.join(dir, 'node_modules', 'native', 'cli.js'), 0o755);
  await symlink('../native/cli.js', path.join(dir, 'node_modules', '.bin', 'native'));
  await writeFile(path.join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  return dir;
}

async function entriesOf(bytes: Buffer): Promise<string[]> {
  const names: string[] = [];
  await pipeline(Readable.from([bytes]), list({ onReadEntry: (e) => names.push(e.path) }));
  return names;
}

async function rejection(p: Promise<unknown>): Promise<ValidationError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

describe('packDirectory', () => {
  it('packs the same tree to the same bytes, whatever the files mtimes, and names it <dir>.tar.gz', async () => {
    const dir = await serviceDir();
    const first = await loadArtifact(dir);
    await utimes(path.join(dir, 'src', 'server.js'), new Date('2020-05-05'), new Date('2020-05-05'));
    await utimes(path.join(dir, 'node_modules'), new Date('2021-01-01'), new Date('2021-01-01'));
    const second = await loadArtifact(dir);
    expect(second.sha256).toBe(first.sha256);
    expect(second.bytes.equals(first.bytes)).toBe(true);
    expect(first).toMatchObject({ name: 'svc.tar.gz', packed: true });
    expect(first.sha256).toBe(sha256Hex(first.bytes));

    // A change of content is a different artifact.
    await writeFile(path.join(dir, 'src', 'server.js'), 'export const x = 1;\n');
    expect((await loadArtifact(dir)).sha256).not.toBe(first.sha256);
  });

  it('keeps entries relative to the root, sorted, without .git', async () => {
    const names = await entriesOf(await packDirectory(await serviceDir()));
    expect(names).toEqual([
      'node_modules/',
      'node_modules/.bin/',
      'node_modules/.bin/native',
      'node_modules/native/',
      'node_modules/native/build/',
      'node_modules/native/build/Release/',
      'node_modules/native/build/Release/addon.node',
      'node_modules/native/cli.js',
      'package.json',
      'src/',
      'src/plugins/',
      'src/plugins/a.js',
      'src/server.js',
    ]);
  });

  it('round-trips through tar extract: the native addon byte for byte, the symlink as a link, the executable bit', async () => {
    const bytes = await packDirectory(await serviceDir());
    const out = path.join(root, 'out');
    await mkdir(out);
    await pipeline(Readable.from([bytes]), extract({ cwd: out }));
    expect((await readFile(path.join(out, 'node_modules', 'native', 'build', 'Release', 'addon.node'))).equals(ADDON)).toBe(true);
    expect((await lstat(path.join(out, 'node_modules', '.bin', 'native'))).isSymbolicLink()).toBe(true);
    expect(await readlink(path.join(out, 'node_modules', '.bin', 'native'))).toBe('../native/cli.js');
    expect((await stat(path.join(out, 'node_modules', 'native', 'cli.js'))).mode & 0o111).toBe(0o111);
    expect((await stat(path.join(out, 'package.json'))).mode & 0o111).toBe(0);
    await expect(stat(path.join(out, '.git'))).rejects.toThrow(/ENOENT/);
    // The headers carry no owner and the fixed date.
    const headers: { uid?: number; uname?: string; mtime?: Date }[] = [];
    await pipeline(Readable.from([bytes]), list({ onReadEntry: (e) => headers.push(e.header) }));
    for (const h of headers) {
      expect(h.uname ?? '').toBe('');
      if (h.mtime) expect(h.mtime.toISOString()).toBe('2000-01-01T00:00:00.000Z');
    }
  });

  it('refuses a missing path, an empty directory, a named pipe and a pack over the bound, naming the field', async () => {
    const missing = await rejection(loadArtifact(path.join(root, 'nope')));
    expect(missing.fields['artifacts.bundle']).toMatch(/nope does not exist/);

    const empty = path.join(root, 'empty');
    await mkdir(path.join(empty, '.git'), { recursive: true });
    expect((await rejection(loadArtifact(empty))).fields['artifacts.bundle']).toMatch(/empty is empty/);

    const withPipe = await serviceDir('piped');
    execFileSync('mkfifo', [path.join(withPipe, 'src', 'queue')]);
    expect((await rejection(loadArtifact(withPipe))).fields['artifacts.bundle']).toMatch(/src\/queue is a named pipe/);

    const big = path.join(root, 'big');
    await mkdir(big);
    await writeFile(path.join(big, 'blob.bin'), randomBytes(2 * 1024 * 1024));
    const over = await rejection(loadArtifact(big, { maxBytes: 1024 * 1024 }));
    expect(over.fields['artifacts.bundle']).toMatch(/big is over 1 MiB packed/);
    const overFile = await rejection(loadArtifact(path.join(big, 'blob.bin'), { field: 'bundle', maxBytes: 1024 * 1024 }));
    expect(overFile.fields.bundle).toMatch(/blob\.bin is over 1 MiB \(at least 2 MiB\)/);
  });

  it('leaves .launchway out at any depth and refuses a folder holding secrets, naming the path', async () => {
    const dir = await serviceDir();
    for (const at of [dir, path.join(dir, 'src')]) {
      await mkdir(path.join(at, '.launchway', 's3', 'artifacts'), { recursive: true });
      await writeFile(path.join(at, '.launchway', 'secrets.json'), '{"db":"hunter22"}', { mode: 0o600 });
      await writeFile(path.join(at, '.launchway', 'approval-signing-secret'), 'signing-key');
      await writeFile(path.join(at, '.launchway', 's3', 'artifacts', 'x.bin'), 'data');
    }
    const names = await entriesOf(await packDirectory(dir));
    expect(names.filter((n) => n.includes('.launchway'))).toEqual([]);
    expect(names).toContain('src/server.js');

    // The data folder under another name (`launchway dev --data-dir data`).
    await mkdir(path.join(dir, 'data'));
    await writeFile(path.join(dir, 'data', 'secrets.json'), '{}');
    await writeFile(path.join(dir, 'data', 'approval-signing-secret'), 'k');
    const dataDir = await rejection(loadArtifact(dir));
    expect(dataDir.fields['artifacts.bundle']).toMatch(/svc: data is a launchway dev data folder/);
    await rm(path.join(dir, 'data'), { recursive: true });

    // The file SECRETS_FILE names, whatever it is called, also through another path.
    const secrets = path.join(dir, 'config', 'prod.json');
    await mkdir(path.dirname(secrets));
    await writeFile(secrets, '{"db":"hunter22"}', { mode: 0o600 });
    const named = await rejection(packDirectory(dir, { secretsFile: path.join(dir, 'src', '..', 'config', 'prod.json') }));
    expect(named.fields['artifacts.bundle']).toMatch(/config\/prod\.json is the secrets file \(SECRETS_FILE\)/);
    const saved = process.env.SECRETS_FILE;
    process.env.SECRETS_FILE = secrets;
    try {
      expect((await rejection(loadArtifact(dir))).fields['artifacts.bundle']).toMatch(/config\/prod\.json is the secrets file/);
    } finally {
      if (saved === undefined) delete process.env.SECRETS_FILE;
      else process.env.SECRETS_FILE = saved;
    }
    expect(JSON.stringify(named.fields)).not.toContain('hunter22');
  });

  it('refuses a symbolic link that is absolute or leaves the directory, naming the link and its target', async () => {
    const dir = await serviceDir();
    await symlink('../../../outside.txt', path.join(dir, 'src', 'plugins', 'up'));
    const up = await rejection(loadArtifact(dir));
    expect(up.fields['artifacts.bundle']).toMatch(/svc: src\/plugins\/up is a symbolic link to \.\.\/\.\.\/\.\.\/outside\.txt, outside/);
    await rm(path.join(dir, 'src', 'plugins', 'up'));

    await symlink('/etc/passwd', path.join(dir, 'src', 'passwd'));
    const absolute = await rejection(loadArtifact(dir));
    expect(absolute.fields['artifacts.bundle']).toMatch(/src\/passwd is a symbolic link to \/etc\/passwd, outside/);
    await rm(path.join(dir, 'src', 'passwd'));

    // Inside, even through a parent folder, is fine.
    await symlink('../../package.json', path.join(dir, 'src', 'plugins', 'pkg'));
    expect(await entriesOf(await packDirectory(dir))).toContain('src/plugins/pkg');
  });

  it('reads a plain file as it is, with its digest', async () => {
    const file = path.join(root, 'service.mjs');
    await writeFile(file, 'console.log(1)\n');
    const loaded = await loadArtifact(file);
    expect(loaded).toMatchObject({ name: 'service.mjs', packed: false });
    expect(loaded.bytes.toString()).toBe('console.log(1)\n');
    expect(loaded.sha256).toBe(sha256Hex(Buffer.from('console.log(1)\n')));
  });
});
