import { spawn } from 'node:child_process';

/** What a finished child process left behind. */
export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Process groups still running, so a failed or timed-out test can end them all in its afterAll. */
const running = new Set<number>();

/**
 * Runs a command to its end in a process group of its own and collects both output streams. Past `timeoutMs` the
 * whole group is killed (the demo starts service processes of its own) and the promise rejects with what it printed.
 */
export function runProcess(
  command: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Finished> {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid !== undefined) running.add(pid);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const shown = () => `${command} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(pid);
      reject(
        new Error(
          `${shown()} did not finish within ${opts.timeoutMs} ms\n--- stdout\n${stdout.slice(-4000)}\n--- stderr\n${stderr.slice(-4000)}`,
        ),
      );
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Whatever the command left running in its group (it should have stopped it) ends with it.
      killGroup(pid);
      if (pid !== undefined) running.delete(pid);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Ends every process group runProcess started that has not exited yet. */
export function killRunning(): void {
  for (const pid of running) killGroup(pid);
  running.clear();
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group has already exited.
  }
}

/** The output of a finished process for an assertion message: its exit and the tails of both streams. */
export function describeFinished(f: Finished): string {
  return `exit ${f.code ?? f.signal}\n--- stdout\n${f.stdout.slice(-3000)}\n--- stderr\n${f.stderr.slice(-3000)}`;
}
