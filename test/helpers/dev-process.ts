import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type CliRun, ROOT, runCli } from './run-cli.js';

export { type CliRun, ROOT } from './run-cli.js';

/** `launchway dev` in a process of its own, and each CLI command in another, as an operator runs them. */
export interface DevProcess {
  /** The variables `launchway dev` wrote to endpoints.env. */
  env: Record<string, string>;
  cli(args: string[], timeoutMs?: number): Promise<CliRun>;
  /** Everything `launchway dev` printed so far, stdout then stderr. */
  output(): string;
  /** Waits, bounded, until `launchway dev` has printed something matching `expected`; returns all its output. */
  waitForOutput(expected: string | RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
  /** Ends `launchway dev` with SIGKILL, as a crash would: nothing of its own shutdown runs. */
  kill(): Promise<void>;
}

/**
 * Starts `launchway dev` with `catalog` under `dataDir` and waits, bounded, for its endpoints.env. `devEnv` adds to
 * its environment (LOG_LEVEL is ERROR unless given).
 */
export async function startDev(dataDir: string, catalog: string, devEnv: Record<string, string> = {}): Promise<DevProcess> {
  const args = ['dev', '--data-dir', path.join(dataDir, '.launchway'), '--catalog', catalog];
  const dev: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'bin/launchway.js'), ...args], {
    cwd: dataDir,
    env: { ...process.env, NO_COLOR: '1', LOG_LEVEL: 'ERROR', ...devEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let devOut = '';
  let devErr = '';
  dev.stdout!.on('data', (d) => (devOut += d));
  dev.stderr!.on('data', (d) => (devErr += d));
  const envFile = path.join(dataDir, '.launchway', 'endpoints.env');
  const deadline = Date.now() + 60_000;
  while (!existsSync(envFile)) {
    if (Date.now() > deadline || dev.exitCode !== null) throw new Error(`launchway dev did not write ${envFile}\n${devErr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const env = Object.fromEntries(
    [...readFileSync(envFile, 'utf8').matchAll(/^export ([A-Z0-9_]+)='((?:[^']|'\\'')*)'$/gm)].map((m) => [
      m[1],
      m[2].replace(/'\\''/g, "'"),
    ]),
  );
  const cli = (cliArgs: string[], timeoutMs = 120_000) => runCli(cliArgs, { cwd: dataDir, env, timeoutMs });
  const stop = async () => {
    if (dev.exitCode !== null || dev.signalCode !== null) return;
    const exited = new Promise((r) => dev.once('exit', r));
    dev.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (dev.exitCode === null) dev.kill('SIGKILL');
  };
  const kill = async () => {
    if (dev.exitCode !== null || dev.signalCode !== null) return;
    const exited = new Promise((r) => dev.once('exit', r));
    dev.kill('SIGKILL');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  };
  const output = () => devOut + devErr;
  const waitForOutput = async (expected: string | RegExp, timeoutMs = 30_000) => {
    const seen = () => (typeof expected === 'string' ? output().includes(expected) : expected.test(output()));
    const deadline = Date.now() + timeoutMs;
    while (!seen()) {
      if (Date.now() > deadline) throw new Error(`launchway dev did not print ${String(expected)} within ${timeoutMs} ms:\n${output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return output();
  };
  return { env, cli, stop, kill, output, waitForOutput };
}
