import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * One embedded stack per data directory. Two `launchway dev` on one folder would share LevelDB files, ports and
 * live versions, and a second one started with `--fresh` would delete the first one's state under it; so a stack
 * takes `<data-dir>/stack.lock` (its pid) before it touches anything, and a second one is refused with who holds it.
 * A lock left by a process that no longer runs (SIGKILL, a crash) is taken over.
 */
const LOCK_FILE_NAME = 'stack.lock';

/** Directories this process holds, so a stale lock naming a reused pid of ours is still told apart. */
const held = new Set<string>();

interface LockContent {
  pid: number;
  startedAt: string;
}

/** Takes the data directory's lock, or throws naming the process that holds it. */
export async function lockDataDir(dataDir: string): Promise<{ release(): Promise<void> }> {
  const dir = path.resolve(dataDir);
  const file = path.join(dir, LOCK_FILE_NAME);
  await mkdir(dir, { recursive: true });
  const mine: LockContent = { pid: process.pid, startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, JSON.stringify(mine), { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const holder = await readHolder(file);
    if (holder && isAlive(holder.pid) && (holder.pid !== process.pid || held.has(dir))) {
      throw new Error(
        `another Launchway stack (pid ${holder.pid}, started ${holder.startedAt}) uses ${dir}: stop it first, ` +
          'or start this one with another --data-dir',
      );
    }
    // Left by a stack that is gone: nothing else can be using the directory.
    await rm(file, { force: true });
  }
  held.add(dir);
  return {
    release: async () => {
      held.delete(dir);
      const holder = await readHolder(file);
      if (holder?.pid === process.pid) await rm(file, { force: true });
    },
  };
}

async function readHolder(file: string): Promise<LockContent | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<LockContent>;
    return typeof parsed.pid === 'number' ? { pid: parsed.pid, startedAt: String(parsed.startedAt ?? 'at an unknown time') } : undefined;
  } catch {
    // Unreadable or half-written: no live holder can be named, so it is treated as stale.
    return undefined;
  }
}

/** Signal 0 tests for existence: EPERM means the process exists under another user. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
