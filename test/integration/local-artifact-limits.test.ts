import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { s3Client } from '../../functions/lib/clients.js';
import { ArtifactIntegrityError } from '../../functions/lib/errors.js';
import { prepareVersion, UNPACK_LIMITS, UNPACKED_DIR, type UnpackLimits } from '../../functions/lib/deploy/local-artifact.js';
import type { LocalProcessTarget } from '../../functions/lib/deploy/targets.js';
import { localProcessTarget } from '../helpers/catalog-parts.js';

// What a packed directory may unpack to (entries, bytes) and where its links may lead, on s3rver and the real disk.

let emu: TestEmulators;
let work: string;
let artifacts: ArtifactStore;

const target: LocalProcessTarget = localProcessTarget({ startTimeoutSeconds: 5, command: ['node', 'main.js'] });

/** Packs a directory built by `build` and stores it under `artifacts/<name>.tar.gz`. */
async function packed(name: string, build: (dir: string) => Promise<void>): Promise<string> {
  const dir = path.join(work, 'src', name);
  await mkdir(dir, { recursive: true });
  await build(dir);
  const file = path.join(work, `${name}.tar.gz`);
  await tar.c({ gzip: true, cwd: dir, file, portable: true }, await readdir(dir));
  const key = `artifacts/${name}.tar.gz`;
  await artifacts.put(key, await readFile(file));
  return key;
}

const prepare = (name: string, artifactKey: string, limits?: UnpackLimits) =>
  prepareVersion({ artifacts, versionDir: path.join(work, 'targets', name), artifactKey, target, limits });
const unpackedEntries = (name: string) => readdir(path.join(work, 'targets', name, UNPACKED_DIR)).catch(() => []);

async function fiveFiles(dir: string): Promise<void> {
  for (let i = 0; i < 5; i++) await writeFile(path.join(dir, `f${i}.bin`), Buffer.alloc(100_000));
}

beforeAll(async () => {
  emu = await startTestEmulators();
  work = await mkdtemp(path.join(tmpdir(), 'launchway-limits-'));
  artifacts = new ArtifactStore(s3Client(), emu.bucket);
});
afterAll(async () => {
  await emu?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('unpacking a packed directory', () => {
  it('documents caps far above a real service: 2 GiB and 200,000 entries', () => {
    expect(UNPACK_LIMITS).toEqual({ maxBytes: 2 * 1024 ** 3, maxEntries: 200_000 });
  });

  it('refuses an archive with more entries than allowed, before writing any', async () => {
    const key = await packed('many', fiveFiles);
    const error = await prepare('many', key, { maxBytes: 10_000_000, maxEntries: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactIntegrityError);
    expect((error as Error).message).toBe(`${key} holds 5 entries, more than the 3 allowed: refused`);
    expect(await unpackedEntries('many')).toEqual([]);
  });

  it('refuses an archive that unpacks to more bytes than allowed, before writing any', async () => {
    const key = await packed('big', fiveFiles);
    const error = await prepare('big', key, { maxBytes: 200_000, maxEntries: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactIntegrityError);
    expect((error as Error).message).toBe(`${key} unpacks to 500000 bytes, more than the 200000 allowed: refused`);
    expect(await unpackedEntries('big')).toEqual([]);
  });

  it('refuses links that each look inside but together lead out, and removes what it unpacked', async () => {
    const key = await packed('chain', async (dir) => {
      await writeFile(path.join(dir, 'main.js'), '');
      await symlink('.', path.join(dir, 'x'));
      await symlink('x/..', path.join(dir, 'e'));
    });
    const error = await prepare('chain', key).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactIntegrityError);
    expect((error as Error).message).toBe(`${key} holds symbolic links that lead out of its directory, refused: e`);
    expect(await unpackedEntries('chain')).toEqual([]);
  });

  it('unpacks an archive within the caps whose links stay inside', async () => {
    const key = await packed('fine', async (dir) => {
      await mkdir(path.join(dir, 'src'));
      await writeFile(path.join(dir, 'src', 'main.js'), '');
      await symlink('src/main.js', path.join(dir, 'main.js'));
      await symlink('src', path.join(dir, 'lib'));
    });
    expect(await prepare('fine', key, { maxBytes: 1_000, maxEntries: 10 })).toMatchObject({ command: ['node', 'main.js'] });
    expect((await unpackedEntries('fine')).sort()).toEqual(['lib', 'main.js', 'src']);
  });
});
