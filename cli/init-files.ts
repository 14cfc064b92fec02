import { accessSync, constants, lstatSync, statSync } from 'node:fs';
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A file `launchway init` may touch, relative to the folder it runs in. */
export interface InitTarget {
  file: string;
  /** Only read when present (cdk.json): it need not be writable. */
  readOnly?: boolean;
}

type Kind = 'missing' | 'file' | 'folder' | 'special' | 'broken link' | 'unreadable';

function kindOf(target: string): Kind {
  try {
    lstatSync(target);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
  try {
    const stats = statSync(target);
    return stats.isDirectory() ? 'folder' : stats.isFile() ? 'file' : 'special';
  } catch {
    // lstat found it, stat (following the link) did not.
    return 'broken link';
  }
}

const KIND_WORDS: Record<Exclude<Kind, 'missing'>, string> = {
  file: 'is a file',
  folder: 'is a folder',
  special: 'is a device, socket or pipe',
  'broken link': 'is a symbolic link to nothing',
  unreadable: 'cannot be inspected',
};

function accessible(target: string, mode: number): boolean {
  try {
    accessSync(target, mode);
    return true;
  } catch {
    return false;
  }
}

/**
 * What would make writing `targets` in `cwd` fail half-way, checked before the first write: a folder on a target's
 * path that is not a folder, a target that is not a regular file or cannot be read (and written), a folder a new
 * file cannot be created in. Keyed by the path at fault, relative to `cwd` ('.' for `cwd` itself).
 */
export function initProblems(cwd: string, targets: InitTarget[]): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const { file, readOnly } of targets) {
    const parts = file.split('/');
    let parent = '.';
    let blocked = false;
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const kind = kindOf(path.join(cwd, dir));
      if (kind === 'missing') break; // mkdir makes it and the rest of the path
      if (kind !== 'folder') {
        problems[dir] ??= `${KIND_WORDS[kind]}, not a folder: ${file} goes inside it`;
        blocked = true;
        break;
      }
      parent = dir;
    }
    if (blocked) continue;
    const kind = kindOf(path.join(cwd, file));
    if (kind === 'missing') {
      if (!accessible(path.join(cwd, parent), constants.W_OK)) problems[parent] ??= `folder not writable: ${file} cannot be created`;
    } else if (kind !== 'file') {
      problems[file] = `${KIND_WORDS[kind]}, not a regular file`;
    } else if (!accessible(path.join(cwd, file), readOnly ? constants.R_OK : constants.R_OK | constants.W_OK)) {
      problems[file] = readOnly ? 'not readable' : 'not readable and writable';
    }
  }
  return problems;
}

/**
 * The writes of one `launchway init` run, undone as far as is cheap when one fails: the files it created and the
 * folders it made for them are removed; files it replaced or appended to stay as they are now.
 */
export class InitWrites {
  private readonly created: string[] = [];

  constructor(private readonly cwd: string) {}

  /** Writes `file` (making its folders); whether it was created or replaced. */
  async write(file: string, text: string): Promise<'created' | 'overwritten'> {
    const target = path.join(this.cwd, file);
    const existed = kindOf(target) !== 'missing';
    const madeFolder = await mkdir(path.dirname(target), { recursive: true });
    if (madeFolder) this.created.push(path.relative(this.cwd, madeFolder));
    await writeFile(target, text);
    if (!existed) this.created.push(file);
    return existed ? 'overwritten' : 'created';
  }

  async append(file: string, text: string): Promise<void> {
    await appendFile(path.join(this.cwd, file), text);
  }

  /**
   * Runs `writes`; when it throws, removes what this run created and throws an error saying what failed and what
   * was removed (an unexpected I/O error: the checks before found nothing in the way).
   */
  async run<T>(writes: () => Promise<T>): Promise<T> {
    try {
      return await writes();
    } catch (err) {
      const removed: string[] = [];
      for (const file of [...this.created].reverse()) {
        await rm(path.join(this.cwd, file), { recursive: true, force: true });
        removed.push(file);
      }
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(
        `launchway init failed in ${this.cwd}: ${message}; ` +
          (removed.length > 0 ? `removed what it had created (${removed.join(', ')})` : 'it had created nothing') +
          ', files it replaced or appended to are left as they are',
        { cause: err },
      );
    }
  }
}
