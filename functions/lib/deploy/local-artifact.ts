import { mkdir, readdir, readFile, readlink, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ReadEntry } from 'tar';
import { type ArtifactStore, sha256Hex } from '../artifact-store.js';
import { ArtifactIntegrityError } from '../errors.js';
import type { LocalProcessTarget } from './targets.js';

/**
 * Lays out one version of a local-process service in its directory: the artifact downloaded and checked against its
 * sha256, a packed directory (`.tar.gz`) unpacked under `artifact/`, and the command and working directory it runs
 * with. A redeploy of the same release reuses what an earlier one laid out only if it finished.
 */

/** A single-file artifact is kept under this name (ESM, as the bundles it stands for). */
const SINGLE_FILE = 'main.mjs';
/** Where a packed directory is unpacked inside the version directory. */
export const UNPACKED_DIR = 'artifact';
/** Written last, holding the archive's sha256: an unpacked directory without it is incomplete. */
const UNPACKED_MARKER = '.unpacked';
const ARCHIVE_SUFFIX = '.tar.gz';
const SAFE_ENTRY_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/**
 * What an archive may unpack to, checked in the listing pass before anything is written, so a small hostile or
 * broken archive (a gzip bomb, millions of tiny files) cannot fill the disk: a service with its node_modules is far
 * below both.
 */
export const UNPACK_LIMITS: UnpackLimits = { maxBytes: 2 * 1024 ** 3, maxEntries: 200_000 };

export interface UnpackLimits {
  /** The sum of the entries' sizes. */
  maxBytes: number;
  maxEntries: number;
}

/** How the version runs: the argv (no shell) and where. */
export interface LaunchPlan {
  command: string[];
  cwd: string;
}

/** A version that cannot be run as the target describes it; `reason` is the deploy's FAILED message. */
export interface LaunchRefusal {
  reason: string;
}

export interface PrepareVersionArgs {
  artifacts: ArtifactStore;
  /** `<targetsDir>/<service>/<environment>/<releaseId>`. */
  versionDir: string;
  artifactKey: string;
  /** The sha256 (hex) the release recorded, when it did. */
  artifactSha256?: string;
  target: LocalProcessTarget;
  /** @default {@link UNPACK_LIMITS} */
  limits?: UnpackLimits;
}

/**
 * Makes the version directory ready to run and says how to run it. Throws ArtifactIntegrityError when the bytes do
 * not match `artifactSha256` or the archive holds an entry leaving the directory; returns a refusal when the target's
 * `workingDirectory` or default entry is missing.
 */
export async function prepareVersion(args: PrepareVersionArgs): Promise<LaunchPlan | LaunchRefusal> {
  const archive = args.artifactKey.endsWith(ARCHIVE_SUFFIX);
  const root = archive ? path.join(args.versionDir, UNPACKED_DIR) : args.versionDir;
  if (archive) await ensureUnpacked(args, root);
  else await ensureSingleFile(args);

  const cwd = path.resolve(root, args.target.workingDirectory ?? '.');
  if (!(await isDirectory(cwd))) {
    return { reason: `workingDirectory "${args.target.workingDirectory}" is not a directory in the artifact (${root})` };
  }
  if (args.target.command) return { command: [...args.target.command], cwd };
  if (!archive) return { command: ['node', path.join(root, SINGLE_FILE)], cwd };
  const main = await packageMain(root);
  if (!main) {
    return {
      reason:
        `the artifact's package.json has no "main", so there is no default command: set "command" on the ` +
        `local-process target, e.g. ["node", "server.js"]`,
    };
  }
  return { command: ['node', path.resolve(root, main)], cwd };
}

/** True for a refusal, whichever step gave it. */
export function isRefusal<T extends object>(outcome: T | LaunchRefusal): outcome is LaunchRefusal {
  return 'reason' in outcome;
}

async function ensureSingleFile(args: PrepareVersionArgs): Promise<void> {
  const file = path.join(args.versionDir, SINGLE_FILE);
  // The file is renamed into place whole, so one that exists is complete; only its digest may disagree.
  const existing = await readFile(file).catch(() => undefined);
  if (existing && (!args.artifactSha256 || sha256Hex(existing) === args.artifactSha256.toLowerCase())) return;
  const bytes = await download(args);
  await mkdir(args.versionDir, { recursive: true });
  await writeFile(`${file}.partial`, bytes);
  await rename(`${file}.partial`, file);
}

async function ensureUnpacked(args: PrepareVersionArgs, root: string): Promise<void> {
  // Loaded here, not at the top: every handler that can reach a deploy provider would parse it at cold start.
  const tar = await import('tar');
  const marker = path.join(args.versionDir, UNPACKED_MARKER);
  const done = await readFile(marker, 'utf8').catch(() => undefined);
  if (done !== undefined && (!args.artifactSha256 || done.trim() === args.artifactSha256.toLowerCase())) return;

  const bytes = await download(args);
  await rm(marker, { force: true });
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const file = path.join(args.versionDir, 'artifact.tar.gz');
  await writeFile(file, bytes);
  try {
    // Every entry is checked before the first is written, so a hostile archive leaves nothing behind.
    const unsafe: string[] = [];
    const total = { bytes: 0, entries: 0 };
    await tar.t({
      file,
      onReadEntry: (entry) => {
        total.entries += 1;
        total.bytes += entry.size ?? 0;
        noteUnsafe(entry, unsafe);
      },
    });
    if (unsafe.length > 0) {
      throw new ArtifactIntegrityError(
        `${args.artifactKey} holds entries that leave its directory, refused: ${unsafe.slice(0, 5).join('; ')}`,
      );
    }
    checkLimits(args.artifactKey, total, args.limits ?? UNPACK_LIMITS);
    await tar.x({ file, cwd: root, strict: true, preserveOwner: false });
    // Links that each stay inside can still combine into a way out (`x -> .`, then `e -> x/..`): check where they lead.
    const escaping = await linksLeaving(root);
    if (escaping.length > 0) {
      await rm(root, { recursive: true, force: true });
      throw new ArtifactIntegrityError(
        `${args.artifactKey} holds symbolic links that lead out of its directory, refused: ${escaping.slice(0, 5).join('; ')}`,
      );
    }
  } finally {
    await rm(file, { force: true });
  }
  await writeFile(marker, sha256Hex(bytes));
}

function checkLimits(key: string, total: { bytes: number; entries: number }, limits: UnpackLimits): void {
  if (total.entries > limits.maxEntries) {
    throw new ArtifactIntegrityError(`${key} holds ${total.entries} entries, more than the ${limits.maxEntries} allowed: refused`);
  }
  if (total.bytes > limits.maxBytes) {
    throw new ArtifactIntegrityError(`${key} unpacks to ${total.bytes} bytes, more than the ${limits.maxBytes} allowed: refused`);
  }
}

/** The symbolic links under `root` whose target, fully resolved, is outside it (or cannot be resolved). */
async function linksLeaving(root: string): Promise<string[]> {
  const real = await realpath(root);
  const out: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isSymbolicLink()) continue;
    const at = path.join(entry.parentPath, entry.name);
    const resolved = await realpath(at).catch(() => undefined);
    if (resolved !== undefined) {
      if (resolved !== real && !resolved.startsWith(real + path.sep)) out.push(path.relative(root, at));
      continue;
    }
    // A dangling link leads nowhere yet. Without `..` it can only go down from its (real, inside) folder through
    // links already checked; with `..` after a link it could climb out once its target exists.
    if ((await readlink(at)).split(/[\\/]/).includes('..')) out.push(path.relative(root, at));
  }
  return out;
}

/** Records why an entry is unsafe: an absolute path, a `..` segment, a link resolving outside, a device. */
function noteUnsafe(entry: ReadEntry, unsafe: string[]): void {
  const name = entry.path;
  if (!SAFE_ENTRY_TYPES.has(entry.type)) unsafe.push(`${name} (a ${entry.type})`);
  else if (leaves(name)) unsafe.push(name);
  else if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
    const link = entry.linkpath ?? '';
    // A symbolic link resolves from its own folder; a hard link names another entry of the archive.
    const resolved = entry.type === 'SymbolicLink' ? path.posix.join(path.posix.dirname(name), link) : link;
    if (!link || path.posix.isAbsolute(link) || path.win32.isAbsolute(link) || leaves(resolved)) unsafe.push(`${name} -> ${link}`);
  }
  entry.resume();
}

/** True when a path inside the archive is absolute or climbs above its root. */
function leaves(name: string): boolean {
  if (path.posix.isAbsolute(name) || path.win32.isAbsolute(name)) return true;
  const normal = path.posix.normalize(name.replaceAll('\\', '/'));
  return normal === '..' || normal.startsWith('../') || name.split(/[\\/]/).includes('..');
}

async function download(args: PrepareVersionArgs): Promise<Buffer> {
  const bytes = Buffer.from(await args.artifacts.getBytes(args.artifactKey));
  if (args.artifactSha256) {
    const actual = sha256Hex(bytes);
    if (actual !== args.artifactSha256.toLowerCase()) {
      throw new ArtifactIntegrityError(
        `${args.artifactKey} has sha256 ${actual}, but the release recorded ${args.artifactSha256}: it changed after the release was made`,
      );
    }
  }
  return bytes;
}

async function packageMain(root: string): Promise<string | undefined> {
  try {
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { main?: unknown };
    return typeof pkg.main === 'string' && pkg.main.length > 0 ? pkg.main : undefined;
  } catch {
    return undefined;
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  return (await stat(dir).catch(() => undefined))?.isDirectory() ?? false;
}
