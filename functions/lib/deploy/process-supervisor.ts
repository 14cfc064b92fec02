import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/**
 * The child processes the local-process deploy provider started, kept in one registry per Node process so the
 * embedded runtime can stop all of them on shutdown and so a provider can tell its own processes from stale pids
 * recorded by an earlier run of the dev server.
 */

/** What to run: one self-contained Node ESM file, told its port and version through the environment. */
export interface StartProcessOptions {
  /** Absolute path of the `.mjs` file to run with `node`. */
  file: string;
  port: number;
  /** Passed as `SERVICE_VERSION`. */
  version: string;
  /** Extra variables from the deploy target; `PORT`, `HOST` and `SERVICE_VERSION` always win over them. */
  env?: Record<string, string>;
  /** stdout and stderr are appended here (by the child itself, so the log survives the supervisor). */
  logFile: string;
}

/** A process the supervisor started, as it knows it now. */
export interface SupervisedProcess {
  readonly pid: number;
  readonly file: string;
  readonly port: number;
  readonly logFile: string;
  readonly startedAt: string;
  /** Set once the process has exited. */
  readonly exit?: { code: number | null; signal: NodeJS.Signals | null; at: string };
}

/** How long `stop` waits after SIGTERM before it sends SIGKILL. */
export const DEFAULT_STOP_GRACE_MS = 5_000;
/** How long `stop` waits for the exit after SIGKILL; a process that outlives it is reported, not waited on forever. */
const KILL_WAIT_MS = 2_000;

/**
 * Preloaded into every child (`node --import`): when the IPC channel to the supervisor closes, which happens when
 * the parent dies for any reason including SIGKILL, the child exits. The parent's 'exit' handler cannot run on
 * SIGKILL or an uncaught signal, and an orphan would keep holding its port. The channel is unref'd so it never
 * keeps a finished program alive.
 */
const PARENT_WATCHDOG = "if (process.channel) { process.on('disconnect', () => process.exit(129)); process.channel.unref(); }";

/**
 * Variables a child inherits from the runtime. Everything else stays out on purpose: the dev server's environment
 * holds the approval signing secret and AWS endpoints a deployed service has no business seeing.
 */
const INHERITED_ENV = ['PATH', 'HOME', 'TMPDIR', 'TMP', 'TEMP', 'LANG', 'LC_ALL', 'TZ', 'SystemRoot', 'USERPROFILE'];

interface Entry {
  info: SupervisedProcess;
  child: ChildProcess;
  exited: Promise<void>;
}

const supervisors = new Set<ProcessSupervisor>();
let exitHookInstalled = false;

/** Kills every running child synchronously; 'exit' handlers cannot wait for anything. */
function killAllOnExit(): void {
  for (const s of supervisors) s.killAllNow();
}

/** Registry and lifecycle of the child processes one runtime started. */
export class ProcessSupervisor {
  private readonly entries = new Map<number, Entry>();

  constructor() {
    supervisors.add(this);
    if (!exitHookInstalled) {
      process.on('exit', killAllOnExit);
      exitHookInstalled = true;
    }
  }

  /**
   * Spawns `node <file>` with `PORT`, `HOST=127.0.0.1` and `SERVICE_VERSION` set, output appended to `logFile`.
   * Resolves once the process exists (not once it is healthy: that is the provider's job).
   */
  async start(opts: StartProcessOptions): Promise<SupervisedProcess> {
    await mkdir(path.dirname(opts.logFile), { recursive: true });
    const env: Record<string, string> = {};
    for (const name of INHERITED_ENV) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    Object.assign(env, opts.env ?? {}, { PORT: String(opts.port), HOST: '127.0.0.1', SERVICE_VERSION: opts.version });

    const log = openSync(opts.logFile, 'a');
    let child: ChildProcess;
    let exit: SupervisedProcess['exit'];
    let exited!: Promise<void>;
    try {
      child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(PARENT_WATCHDOG)}`, opts.file], {
        cwd: path.dirname(opts.file),
        env,
        stdio: ['ignore', log, log, 'ipc'],
      });
      // Listen before anything can await, so even an instant crash is recorded.
      exited = new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          exit = { code, signal, at: new Date().toISOString() };
          resolve();
        });
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(log);
    }
    // A later 'error' (a failed kill, a closed channel) must not crash the runtime; the exit is what counts.
    child.on('error', () => undefined);
    const pid = child.pid!;
    const startedAt = new Date().toISOString();
    const info: SupervisedProcess = {
      pid,
      file: opts.file,
      port: opts.port,
      logFile: opts.logFile,
      startedAt,
      get exit() {
        return exit;
      },
    };
    // The supervisor never keeps the runtime alive by itself; the 'exit' hook and the watchdog end the children.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    this.entries.set(pid, { info, child, exited });
    return info;
  }

  /** The process with this pid if this supervisor started it (running or exited), otherwise undefined. */
  get(pid: number): SupervisedProcess | undefined {
    return this.entries.get(pid)?.info;
  }

  /** True only for a process this supervisor started and that has not exited: a stale pid is never "running". */
  isRunning(pid: number): boolean {
    const entry = this.entries.get(pid);
    return entry !== undefined && entry.info.exit === undefined;
  }

  /** The running process started from `file`, if any (lets a retried deploy reuse the process it started). */
  findRunning(file: string): SupervisedProcess | undefined {
    for (const entry of this.entries.values()) {
      if (entry.info.file === file && entry.info.exit === undefined) return entry.info;
    }
    return undefined;
  }

  /** Every process this supervisor started that is still running. */
  running(): SupervisedProcess[] {
    return [...this.entries.values()].filter((e) => e.info.exit === undefined).map((e) => e.info);
  }

  /**
   * Stops a process this supervisor started: SIGTERM, then SIGKILL after `graceMs`. Unknown or exited pids are
   * left alone, because a pid recorded by an earlier run may now belong to an unrelated process.
   */
  async stop(pid: number, graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
    const entry = this.entries.get(pid);
    if (!entry || entry.info.exit) return;
    entry.child.kill('SIGTERM');
    if (await settlesWithin(entry.exited, graceMs)) return;
    entry.child.kill('SIGKILL');
    if (!(await settlesWithin(entry.exited, KILL_WAIT_MS))) {
      throw new Error(`process ${pid} (${entry.info.file}) did not exit ${KILL_WAIT_MS} ms after SIGKILL`);
    }
  }

  /** Stops every running child; the embedded runtime calls this on shutdown. */
  async stopAll(graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
    await Promise.all(this.running().map((p) => this.stop(p.pid, graceMs)));
  }

  /** @internal Synchronous SIGKILL of every running child, for the process 'exit' hook. */
  killAllNow(): void {
    for (const entry of this.entries.values()) {
      if (entry.info.exit === undefined) entry.child.kill('SIGKILL');
    }
  }
}

/** The process-wide supervisor the local-process provider and the embedded runtime share. */
export const supervisor = new ProcessSupervisor();

/** Stops every process the local-process provider started in this Node process. */
export function stopAll(graceMs?: number): Promise<void> {
  return supervisor.stopAll(graceMs);
}

/** The last `lines` lines of a log file (reading at most its last 64 KiB), or '' when it does not exist. */
export async function logTail(file: string, lines = 20): Promise<string> {
  const maxBytes = 64 * 1024;
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const all = buffer.toString('utf8').replace(/\s+$/, '').split('\n');
    return all.slice(-lines).join('\n');
  } finally {
    await handle.close();
  }
}

function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
