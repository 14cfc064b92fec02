import type { Stats } from 'node:fs';
import { lstat, readFile, readdir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { create } from 'tar';
import { sha256Hex } from '../functions/lib/artifact-store.js';
import { ValidationError } from '../functions/lib/errors.js';

/** The largest artifact `launchway release` uploads, packed or not: what a deploy downloads and unpacks in one go. */
const MAX_ARTIFACT_BYTES = 512 * 1024 * 1024;

/**
 * Every entry's mtime in a packed artifact. A fixed date, so the same directory packs to the same bytes whenever
 * and wherever it is packed, and a retried CI job uploads the digest it uploaded before.
 */
const PACK_MTIME = new Date('2000-01-01T00:00:00Z');

/** Which request field problems are reported under, and the size bound (tests lower it). */
export interface PackLimits {
  field?: string;
  maxBytes?: number;
  /** The embedded secrets file, never packed. @default process.env.SECRETS_FILE */
  secretsFile?: string;
}

/** `launchway dev`'s data folder (secrets, signing secret, S3 and DynamoDB data): left out at any depth. */
const LEFT_OUT = new Set(['.git', '.launchway']);
/** Files that together mark a `launchway dev` data folder, whatever it is called (`--data-dir`). */
const DATA_DIR_MARKS = ['approval-signing-secret', 'secrets.json'];

/** What `launchway release` uploads as the bundle: the exact bytes, their digest, and the name its key ends with. */
export interface LoadedArtifact {
  /** The file's name, or `<directory name>.tar.gz` for a packed directory. */
  name: string;
  bytes: Buffer;
  /** sha256 of `bytes`, lowercase hex. */
  sha256: string;
  packed: boolean;
}

/**
 * Reads the artifact a release deploys: a file as it is, or a directory packed into one gzipped tar (see
 * {@link packDirectory}). Problems are ValidationErrors under `field`, naming the path.
 */
export async function loadArtifact(source: string, limits: PackLimits = {}): Promise<LoadedArtifact> {
  const { field = 'artifacts.bundle', maxBytes = MAX_ARTIFACT_BYTES } = limits;
  const stats = await lstatOrNull(source);
  if (!stats) throw invalid(field, `${source} does not exist`);
  const real = stats.isSymbolicLink() ? await statFollowing(source, field) : stats;
  if (real.isDirectory()) {
    const bytes = await packDirectory(source, limits);
    return { name: `${path.basename(path.resolve(source))}.tar.gz`, bytes, sha256: sha256Hex(bytes), packed: true };
  }
  if (!real.isFile()) throw invalid(field, `${source} is neither a file nor a directory`);
  if (real.size > maxBytes) throw invalid(field, tooLarge(source, real.size, maxBytes));
  const bytes = await readFile(source).catch((err: NodeJS.ErrnoException) => {
    throw invalid(field, `${source} is not readable (${err.code ?? err.message})`);
  });
  return { name: path.basename(source), bytes, sha256: sha256Hex(bytes), packed: false };
}

/**
 * Packs a directory, `node_modules` and all, into one gzipped tar whose entries are relative to the directory's root
 * (`package.json`, `node_modules/...`). Symbolic links stay links (only those resolving inside the directory) and
 * modes keep their executable bits; only `.git` and `.launchway` (at any depth) are left out, and a directory holding
 * the embedded secrets file or a `launchway dev` data folder is refused, so no secret is uploaded with a release.
 * The pack is deterministic: entries sorted, one fixed mtime, portable headers (no uid, gid, user or group names,
 * no atime or ctime, an OS-neutral gzip header), so the same tree gives the same bytes.
 */
export async function packDirectory(dir: string, limits: PackLimits = {}): Promise<Buffer> {
  const { field = 'artifacts.bundle', maxBytes = MAX_ARTIFACT_BYTES } = limits;
  const entries = await listEntries(dir, field, await fileIdentity(limits.secretsFile ?? process.env.SECRETS_FILE));
  if (entries.length === 0) throw invalid(field, `${dir} is empty (nothing to pack but .git and .launchway)`);
  const pack = create({ cwd: dir, gzip: true, portable: true, mtime: PACK_MTIME, noDirRecurse: true, strict: true }, entries);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of pack as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw invalid(field, tooLarge(dir, size, maxBytes, 'packed'));
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    const e = err as NodeJS.ErrnoException & { path?: string };
    const where = e.path ? path.relative(dir, e.path) || e.path : 'an entry';
    throw invalid(field, `${dir}: ${where} could not be packed (${e.code ?? e.message})`);
  }
  return Buffer.concat(chunks, size);
}

/** Every path under `dir` to pack, relative and sorted, directories before their contents. */
async function listEntries(dir: string, field: string, secretsFile: string | undefined): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const abs = path.join(dir, rel);
    let names: string[];
    try {
      names = await readdir(abs);
    } catch (err) {
      throw invalid(field, `${dir}: ${rel || '.'} is not readable (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
    if (DATA_DIR_MARKS.every((mark) => names.includes(mark))) {
      throw invalid(field, `${dir}: ${rel || '.'} is a launchway dev data folder (it holds secrets.json); pack the build output instead`);
    }
    // Code-unit order, not the locale's: the same on every machine.
    for (const name of names.sort()) {
      if (LEFT_OUT.has(name)) continue;
      const child = rel ? `${rel}/${name}` : name;
      const stats = await lstat(path.join(dir, child));
      if (stats.isDirectory()) {
        out.push(child);
        await walk(child);
      } else if (stats.isFile()) {
        if (secretsFile === `${stats.dev}:${stats.ino}`) {
          throw invalid(field, `${dir}: ${child} is the secrets file (SECRETS_FILE); move it out of the artifact`);
        }
        out.push(child);
      } else if (stats.isSymbolicLink()) {
        await checkLink(dir, child, field);
        out.push(child);
      } else {
        throw invalid(field, `${dir}: ${child} is ${kindOf(stats)}, which an artifact cannot carry`);
      }
    }
  };
  await walk('');
  return out;
}

/**
 * Refuses a link that is absolute or resolves above the directory: the deploy refuses it on unpacking (the rule of
 * functions/lib/deploy/local-artifact.ts), so it is reported here, before anything is uploaded.
 */
async function checkLink(dir: string, child: string, field: string): Promise<void> {
  const target = await readlink(path.join(dir, child));
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(child), target.replaceAll('\\', '/')));
  const absolute = path.posix.isAbsolute(target) || path.win32.isAbsolute(target);
  if (absolute || resolved === '..' || resolved.startsWith('../')) {
    throw invalid(field, `${dir}: ${child} is a symbolic link to ${target}, outside the directory; copy what it points at instead`);
  }
}

/** `dev:ino` of a file, to recognise it under any path or link; undefined when it does not exist. */
async function fileIdentity(file: string | undefined): Promise<string | undefined> {
  if (!file) return undefined;
  const stats = await stat(file).catch(() => undefined);
  return stats ? `${stats.dev}:${stats.ino}` : undefined;
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a file, directory or symbolic link';
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function statFollowing(p: string, field: string): Promise<Stats> {
  try {
    return await stat(p);
  } catch (err) {
    throw invalid(field, `${p} is a symbolic link to nothing readable (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
}

function tooLarge(source: string, bytes: number, maxBytes: number, how = ''): string {
  const mib = (n: number) => `${Math.round((n / (1024 * 1024)) * 10) / 10} MiB`;
  return `${source} is over ${mib(maxBytes)}${how ? ` ${how}` : ''} (at least ${mib(bytes)}); deploy a smaller build`;
}

function invalid(field: string, message: string): ValidationError {
  return new ValidationError(`${field}: ${message}`, { [field]: message });
}
