import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../functions/lib/deploy/local-process.js';
import { logTail, ProcessSupervisor } from '../../functions/lib/deploy/process-supervisor.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/services/${name}`, import.meta.url));
// The fixture parent is TypeScript; node resolves the tsx loader from the repository root.
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

let dir: string;
const supervisor = new ProcessSupervisor();
const parents: ChildProcess[] = [];
const orphans: number[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'launchway-supervisor-'));
});
afterEach(async () => {
  await supervisor.stopAll(500);
  for (const p of parents.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  // Should a test fail half-way, do not leave its grandchildren running.
  for (const pid of orphans.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Starts a fixture under the supervisor as version 1.0.0, its log in `<dir>/<name>/process.log`. */
function startFixture(file: string, name: string, port: number, extra: { env?: Record<string, string>; key?: string } = {}) {
  return supervisor.start({
    command: ['node', fixture(file)],
    cwd: dir,
    port,
    version: '1.0.0',
    logFile: path.join(dir, name, 'process.log'),
    ...extra,
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1_000) })).ok;
  } catch {
    return false;
  }
}

/** Runs the supervisor-parent fixture in its own Node process and returns it with the pid of the child it started. */
async function parentWithChild(
  mode: 'wait' | 'exit',
  service = 'greeter-v1.mjs',
  grandchildPort = '',
): Promise<{ parent: ChildProcess; childPid: number; port: number; grandchild?: number }> {
  const port = await freeLoopbackPort();
  const args = [fixture('supervisor-parent.ts'), mode, dir, String(port), service, grandchildPort];
  const parent = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  parents.push(parent);
  const printed = await new Promise<{ pid: number; grandchild?: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('supervisor-parent printed no pid within 15 s')), 15_000);
    let out = '';
    parent.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { pid: number; grandchild?: number });
      }
    });
    parent.once('exit', (code) => {
      if (!out.includes('{')) reject(new Error(`supervisor-parent exited with ${code} before printing a pid`));
    });
  });
  orphans.push(printed.pid);
  if (printed.grandchild) orphans.push(printed.grandchild);
  return { parent, childPid: printed.pid, port, grandchild: printed.grandchild };
}

describe('process supervisor', () => {
  it('runs node <file> with PORT, HOST, SERVICE_VERSION and the extra env, logging to a file', async () => {
    const port = await freeLoopbackPort();
    const logFile = path.join(dir, 'env', 'process.log');
    const proc = await supervisor.start({
      command: ['node', fixture('greeter-v1.mjs')],
      cwd: dir,
      port,
      version: '3.1.4',
      env: { GREETING_STYLE: 'casual', PORT: '1' },
      logFile,
    });
    await waitUntil('the child answers', () => healthy(port));
    const body = (await (await fetch(`http://127.0.0.1:${port}/greetings/eve`)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ release: '3.1.4', env: { GREETING_STYLE: 'casual' } });
    expect(await logTail(logFile)).toBe(`greeter v1 (3.1.4) listening on 127.0.0.1:${port}`);
    expect(supervisor.isRunning(proc.pid)).toBe(true);
    await supervisor.stop(proc.pid);
    expect(supervisor.get(proc.pid)?.exit?.signal).toBe('SIGTERM');
    expect(alive(proc.pid)).toBe(false);
  });

  it('records the exit code of a child that ends by itself', async () => {
    const proc = await startFixture('crashes-on-start.mjs', 'crash', 1);
    await waitUntil('the child exits', () => supervisor.get(proc.pid)?.exit !== undefined);
    expect(supervisor.get(proc.pid)?.exit?.code).toBe(3);
    expect(supervisor.isRunning(proc.pid)).toBe(false);
    expect(await logTail(path.join(dir, 'crash', 'process.log'), 1)).toBe('fatal: DATABASE_URL is not set');
  });

  it('kills a child that ignores SIGTERM once the grace period is over', async () => {
    const port = await freeLoopbackPort();
    const proc = await startFixture('ignores-sigterm.mjs', 'stubborn', port);
    await waitUntil('the child listens', async () => (await logTail(proc.logFile)).includes('listening'));
    await supervisor.stop(proc.pid, 300);
    expect(supervisor.get(proc.pid)?.exit?.signal).toBe('SIGKILL');
    expect(await logTail(proc.logFile)).toContain('ignoring SIGTERM');
  });

  it('leaves pids it did not start alone', async () => {
    expect(supervisor.isRunning(process.pid)).toBe(false);
    await supervisor.stop(process.pid);
    expect(alive(process.pid)).toBe(true);
  });

  it('stopAll stops every running child', async () => {
    const ports = [await freeLoopbackPort(), await freeLoopbackPort()];
    const procs = await Promise.all(ports.map((port, i) => startFixture('greeter-v1.mjs', `all-${i}`, port)));
    await waitUntil('both children answer', async () => (await healthy(ports[0])) && (await healthy(ports[1])));
    await supervisor.stopAll(1_000);
    expect(supervisor.running()).toEqual([]);
    expect(procs.map((p) => alive(p.pid))).toEqual([false, false]);
  });

  it('takes its children down when the runtime exits normally', async () => {
    const { parent, childPid } = await parentWithChild('exit');
    await waitUntil('the parent exits', () => parent.exitCode !== null);
    await waitUntil(`child ${childPid} is gone`, () => !alive(childPid), 5_000);
  });

  it('takes its children down when the runtime is killed with SIGKILL', async () => {
    const { parent, childPid, port } = await parentWithChild('wait');
    expect(await healthy(port)).toBe(true);
    parent.kill('SIGKILL');
    await waitUntil(`child ${childPid} is gone`, () => !alive(childPid), 5_000);
  });

  it('stop ends everything the version spawned: the grandchild is gone and its port is free', async () => {
    const [port, grandchildPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
    const proc = await startFixture('spawns-grandchild.mjs', 'grandchild', port, { env: { GRANDCHILD_PORT: String(grandchildPort) } });
    await waitUntil('the service and its grandchild answer', async () => (await healthy(port)) && (await answers(grandchildPort)));
    const grandchild = Number((await logTail(proc.logFile)).match(/grandchild pid (\d+)/)?.[1]);
    orphans.push(grandchild);
    expect(alive(grandchild)).toBe(true);
    // The grandchild ignores SIGTERM: only the group's SIGKILL after the grace ends it.
    await supervisor.stop(proc.pid, 500);
    await waitUntil(`grandchild ${grandchild} is gone`, () => !alive(grandchild), 5_000);
    expect(await portFree(grandchildPort)).toBe(true);
    expect(await portFree(port)).toBe(true);
  });

  it('reports a command that cannot be run in the log, with exit code 127', async () => {
    const logFile = path.join(dir, 'missing', 'process.log');
    const proc = await supervisor.start({ command: ['no-such-program-here'], cwd: dir, port: 1, version: '1.0.0', logFile });
    await waitUntil('the runner exits', () => supervisor.get(proc.pid)?.exit !== undefined);
    expect(supervisor.get(proc.pid)?.exit?.code).toBe(127);
    expect(await logTail(logFile)).toContain('cannot run "no-such-program-here": ENOENT');
  });

  it('ends the command when its runner alone is killed with SIGKILL, so the port is not left held', async () => {
    const port = await freeLoopbackPort();
    const proc = await startFixture('greeter-v1.mjs', 'runner-killed', port);
    await waitUntil('the command answers', () => healthy(port));
    process.kill(proc.pid, 'SIGKILL');
    await waitUntil('the supervisor saw the runner exit', () => supervisor.get(proc.pid)?.exit !== undefined);
    await waitUntil(`port ${port} is free again`, () => portFree(port), 10_000);
    expect(await healthy(port)).toBe(false);
  });

  it('matches a pid together with the key and port it was started with', async () => {
    const port = await freeLoopbackPort();
    const proc = await startFixture('greeter-v1.mjs', 'match', port, { key: 'version-a' });
    expect(supervisor.isRunning(proc.pid, { key: 'version-a', port })).toBe(true);
    expect(supervisor.isRunning(proc.pid, { key: 'version-b', port })).toBe(false);
    expect(supervisor.isRunning(proc.pid, { key: 'version-a', port: port + 1 })).toBe(false);
  });

  it('no longer counts a process as running once its stop began, and lets callers wait for that stop', async () => {
    const port = await freeLoopbackPort();
    const proc = await startFixture('ignores-sigterm.mjs', 'stopping', port, { key: 'stopping' });
    await waitUntil('the child listens', async () => (await logTail(proc.logFile)).includes('listening'));
    const stopped = supervisor.stop(proc.pid, 1_000);
    // It ignores SIGTERM, so it still runs (and answers) for the grace period.
    expect(supervisor.get(proc.pid)?.exit).toBeUndefined();
    expect(supervisor.isRunning(proc.pid)).toBe(false);
    expect(supervisor.findRunning('stopping')).toBeUndefined();
    expect(await supervisor.stopSettled(proc.pid, { key: 'stopping' }, 10_000)).toBe(true);
    expect(supervisor.get(proc.pid)?.exit).toBeDefined();
    await stopped;
  });

  it('takes the grandchildren down when the runtime is killed with SIGKILL', async () => {
    const grandchildPort = await freeLoopbackPort();
    const { parent, childPid, grandchild } = await parentWithChild('wait', 'spawns-grandchild.mjs', String(grandchildPort));
    expect(grandchild).toBeGreaterThan(0);
    await waitUntil('the grandchild answers', () => answers(grandchildPort));
    parent.kill('SIGKILL');
    await waitUntil(`runner ${childPid} is gone`, () => !alive(childPid), 10_000);
    await waitUntil(`grandchild ${grandchild} is gone`, () => !alive(grandchild!), 10_000);
    expect(await portFree(grandchildPort)).toBe(true);
  });
});

async function answers(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

/** True when the port can be bound again on 127.0.0.1. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
