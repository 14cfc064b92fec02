import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, where bin/launchway.js lives. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** How a `launchway` process ended: its exit code (null when a signal ended it) and everything it printed. */
export type CliRun = { code: number | null; stdout: string; stderr: string };

export interface RunCliOptions {
  /** The working directory; also HOME, so nothing under the developer's home (~/.aws) is read. Default ROOT. */
  cwd?: string;
  /** Variables for the process, on top of PATH, HOME and NO_COLOR=1: nothing else of this shell leaks in. */
  env?: Record<string, string>;
  /** Bound on the run: past it the process is killed and the promise rejects (default 120 s). */
  timeoutMs?: number;
}

/** Runs `node bin/launchway.js ...args` as a user runs the command, and collects what it printed. */
export function runCli(args: string[], { cwd = ROOT, env = {}, timeoutMs = 120_000 }: RunCliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/launchway.js'), ...args], {
      cwd,
      env: { PATH: process.env.PATH!, HOME: cwd, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`launchway ${args.join(' ')} did not end within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
