import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * Starts a greeter version as a child process on a free loopback port, the way the local-process provider runs
 * the artifact. Used by the tests and the demo; handy by hand: `startGreeter('1.1.0')`.
 */

/** The version folders under examples/greeter. */
export const GREETER_VERSIONS = ['1.0.0', '1.1.0', '1.2.0-broken'] as const;
export type GreeterVersion = (typeof GREETER_VERSIONS)[number];

export interface RunningGreeter {
  url: string;
  port: number;
  process: ChildProcess;
  /** SIGTERM, then SIGKILL if the process has not exited within `graceMs`. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/** Absolute path of a file of a greeter version, e.g. `greeterFile('1.1.0', 'openapi.yaml')`. */
export function greeterFile(version: GreeterVersion, file: 'service.mjs' | 'openapi.yaml' | 'collection.postman.json'): string {
  return fileURLToPath(new URL(`./${version}/${file}`, import.meta.url));
}

/**
 * Runs `node <version>/service.mjs` with PORT=0 and resolves once it prints its listening line.
 * Rejects, and kills the process, when it exits first or does not listen within `startTimeoutMs`.
 */
export async function startGreeter(
  version: GreeterVersion,
  options: { env?: Record<string, string>; startTimeoutMs?: number } = {},
): Promise<RunningGreeter> {
  const child = spawn(process.execPath, [greeterFile(version, 'service.mjs')], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', ...options.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (graceMs = 3000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`greeter ${version} did not listen within ${startTimeoutMs} ms: ${stderr}`)),
        startTimeoutMs,
      );
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`greeter ${version} exited (${code ?? signal}) before listening: ${stderr}`));
      });
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        try {
          const msg = JSON.parse(line) as { msg?: string; port?: number };
          if (msg.msg === 'listening' && typeof msg.port === 'number') {
            clearTimeout(timer);
            resolve(msg.port);
          }
        } catch {
          // Not a log line of ours; keep reading.
        }
      });
    });
    return { url: `http://127.0.0.1:${port}`, port, process: child, stop };
  } catch (err) {
    await stop(500);
    throw err;
  }
}
