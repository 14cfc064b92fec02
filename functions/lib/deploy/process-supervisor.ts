import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION_ENV } from './targets.js';

/**
 * The child processes the local-process deploy provider started, kept in one registry per Node process so the
 * embedded runtime can stop all of them on shutdown and so a provider can tell its own processes from stale pids
 * recorded by an earlier run of the dev server.
 */

/** What to run, and how the service is told its port, address and version. */
export interface StartProcessOptions {
  /** The program and its arguments (no shell); a first element `node` means the runtime's own Node binary. */
  command: string[];
  /** Where the command runs; must exist. */
  cwd: string;
  port: number;
  /** Passed as `SERVICE_VERSION`. */
  version: string;
  /** Extra variables (the target's `env`, then its resolved `secretEnv`); the port, host and version win over them. */
  env?: Record<string, string>;
  /** The variable the port is passed in. @default 'PORT' */
  portEnv?: string;
  /** The variable the listen address (127.0.0.1) is passed in. @default 'HOST' */
  hostEnv?: string;
  /** stdout and stderr are appended here (by the child itself, so the log survives the supervisor). */
  logFile: string;
  /** What identifies the version for {@link ProcessSupervisor.findRunning}. @default logFile */
  key?: string;
  /** Values to mask in any text quoted from this process's log; kept in memory only. */
  secretValues?: string[];
}

/** A process the supervisor started, as it knows it now. Its pid is also its process group's id. */
export interface SupervisedProcess {
  readonly pid: number;
  readonly key: string;
  readonly port: number;
  readonly logFile: string;
  readonly startedAt: string;
  /** Set once the process has exited: the command's own exit as the runner reported it, else the runner's. */
  readonly exit?: { code: number | null; signal: NodeJS.Signals | null; at: string };
}

/** How long `stop` waits after SIGTERM before it sends SIGKILL to the group. */
export const DEFAULT_STOP_GRACE_MS = 5_000;
/** How long `stop` waits for the exit after SIGKILL; a process that outlives it is reported, not waited on forever. */
const KILL_WAIT_MS = 2_000;

/** Leads each version's process group and ends the whole group when told to or when the runtime dies. */
const RUNNER = fileURLToPath(new URL('./process-runner.mjs', import.meta.url));

/**
 * Variables a child inherits from the runtime. Everything else stays out on purpose: the dev server's environment
 * holds the approval signing secret and AWS endpoints a deployed service has no business seeing.
 */
const INHERITED_ENV = ['PATH', 'HOME', 'TMPDIR', 'TMP', 'TEMP', 'LANG', 'LC_ALL', 'TZ', 'SystemRoot', 'USERPROFILE'];

interface Entry {
  info: SupervisedProcess;
  child: ChildProcess;
  exited: Promise<void>;
  secretValues: string[];
  /** Set when `stop` began: the process is on its way out and no longer counts as running. */
  stopping?: Promise<void>;
}

/** What must also match, beyond the pid, for a recorded handle to name a process this supervisor started. */
export interface ProcessMatch {
  /** The key it was started with (the version directory). */
  key?: string;
  port?: number;
}

const supervisors = new Set<ProcessSupervisor>();
let exitHookInstalled = false;

/** Kills every running group synchronously; 'exit' handlers cannot wait for anything. */
function killAllOnExit(): void {
  for (const s of supervisors) s.killAllNow();
}

/** Signals a whole process group; false when it no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
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
   * Spawns the runner (process-runner.mjs) as the leader of a new process group, which runs `command` in it with
   * the port, `127.0.0.1` and `SERVICE_VERSION` set, output appended to `logFile`. Resolves once the process
   * exists (not once it is healthy: that is the provider's job).
   */
  async start(opts: StartProcessOptions): Promise<SupervisedProcess> {
    await mkdir(path.dirname(opts.logFile), { recursive: true });
    const env: Record<string, string> = {};
    for (const name of INHERITED_ENV) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    Object.assign(env, opts.env ?? {}, {
      [opts.portEnv ?? 'PORT']: String(opts.port),
      [opts.hostEnv ?? 'HOST']: '127.0.0.1',
      [VERSION_ENV]: opts.version,
    });
    const command = opts.command[0] === 'node' ? [process.execPath, ...opts.command.slice(1)] : opts.command;
    const config = JSON.stringify({ command, cwd: opts.cwd, graceMs: DEFAULT_STOP_GRACE_MS });

    const log = openSync(opts.logFile, 'a');
    let child: ChildProcess;
    let exit: SupervisedProcess['exit'];
    let reported: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let exited!: Promise<void>;
    try {
      child = spawn(process.execPath, [RUNNER, config], { cwd: opts.cwd, env, detached: true, stdio: ['ignore', log, log, 'ipc'] });
      child.on('message', (msg: { exit?: typeof reported }) => {
        if (msg?.exit) reported = msg.exit;
      });
      // Listen before anything can await, so even an instant crash is recorded. 'close' comes after the channel
      // closed, so the runner's report of the command's exit has been read by then.
      exited = new Promise<void>((resolve) => {
        child.once('close', (code, signal) => {
          exit = { ...(reported ?? { code, signal }), at: new Date().toISOString() };
          // A runner killed alone (OOM, kill -9) leaves its command holding the port: end the rest of its group.
          if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
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
    const info: SupervisedProcess = {
      pid,
      key: opts.key ?? opts.logFile,
      port: opts.port,
      logFile: opts.logFile,
      startedAt: new Date().toISOString(),
      get exit() {
        return exit;
      },
    };
    // The supervisor never keeps the runtime alive by itself; the 'exit' hook and the runner end the groups.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    this.entries.set(pid, { info, child, exited, secretValues: [...(opts.secretValues ?? [])] });
    return info;
  }

  /** The process with this pid if this supervisor started it (running or exited), otherwise undefined. */
  get(pid: number): SupervisedProcess | undefined {
    return this.entries.get(pid)?.info;
  }

  /**
   * True only for a process this supervisor started, that has not exited and is not being stopped, and that has the
   * `key` and `port` given: a stale pid, or one an earlier run recorded that this run reused, is never "running".
   */
  isRunning(pid: number, match: ProcessMatch = {}): boolean {
    const entry = this.entries.get(pid);
    if (entry === undefined || !live(entry)) return false;
    return (match.key === undefined || entry.info.key === match.key) && (match.port === undefined || entry.info.port === match.port);
  }

  /** The running process started with this `key`, if any (lets a retried deploy reuse the process it started). */
  findRunning(key: string): SupervisedProcess | undefined {
    for (const entry of this.entries.values()) {
      if (entry.info.key === key && live(entry)) return entry.info;
    }
    return undefined;
  }

  /**
   * Waits, up to `ms`, for a stop of `pid` already under way (matching `match`) to end; true when none is pending
   * or it ended, so the port it held can be reused.
   */
  async stopSettled(pid: number, match: ProcessMatch, ms: number): Promise<boolean> {
    const entry = this.entries.get(pid);
    if (!entry?.stopping || (match.key !== undefined && entry.info.key !== match.key)) return true;
    return settlesWithin(entry.exited, ms);
  }

  /** The secret values given at start, to mask in text quoted from the process's log; [] for an unknown pid. */
  secretValuesOf(pid: number): string[] {
    return this.entries.get(pid)?.secretValues ?? [];
  }

  /** Every process this supervisor started that is still running. */
  running(): SupervisedProcess[] {
    return [...this.entries.values()].filter((e) => e.info.exit === undefined).map((e) => e.info);
  }

  /**
   * Stops a version this supervisor started and everything it spawned: SIGTERM (the runner passes it to its whole
   * group, once), then SIGKILL to the group after `graceMs`. Unknown or exited pids are left alone, because a pid
   * recorded by an earlier run may now belong to an unrelated process.
   */
  async stop(pid: number, graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
    const entry = this.entries.get(pid);
    if (!entry || entry.info.exit) return;
    entry.stopping ??= this.terminate(pid, entry, graceMs);
    return entry.stopping;
  }

  private async terminate(pid: number, entry: Entry, graceMs: number): Promise<void> {
    entry.child.kill('SIGTERM');
    if (await settlesWithin(entry.exited, graceMs)) return;
    signalGroup(pid, 'SIGKILL');
    if (!(await settlesWithin(entry.exited, KILL_WAIT_MS))) {
      throw new Error(`process ${pid} (${entry.info.key}) did not exit ${KILL_WAIT_MS} ms after SIGKILL`);
    }
  }

  /** Stops every running child; the embedded runtime calls this on shutdown. */
  async stopAll(graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
    await Promise.all(this.running().map((p) => this.stop(p.pid, graceMs)));
  }

  /** @internal Synchronous SIGKILL of every running group, for the process 'exit' hook. */
  killAllNow(): void {
    for (const entry of this.entries.values()) {
      if (entry.info.exit === undefined) signalGroup(entry.info.pid, 'SIGKILL');
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
    // A read from the middle starts inside a line, maybe inside a secret, which then would not be masked whole.
    if (size > length) all.shift();
    return all.slice(-lines).join('\n');
  } finally {
    await handle.close();
  }
}

function live(entry: Entry): boolean {
  return entry.info.exit === undefined && entry.stopping === undefined;
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
