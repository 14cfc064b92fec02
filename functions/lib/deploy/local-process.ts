import { access, mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import * as z from 'zod';
import { ArtifactStore } from '../artifact-store.js';
import { s3Client } from '../clients.js';
import { getConfig, requireConfig } from '../config.js';
import { ValidationError } from '../errors.js';
import type { Environment } from '../store/records.js';
import { logTail, supervisor as defaultSupervisor, type ProcessSupervisor } from './process-supervisor.js';
import type { DeployProvider, DeployRequest, DeployStatus, LiveDeployment, RollbackRequest } from './deploy-provider.js';
import type { DeployTarget, LocalProcessTarget } from './targets.js';

/** What the provider keeps about one running version; stored as the live deployment's handle (JSON). */
export const LocalProcessHandleSchema = z.object({
  pid: z.number().int().positive(),
  port: z.number().int().min(1).max(65535),
  url: z.string().min(1),
  /** Directory holding `main.mjs` and `process.log`. */
  dir: z.string().min(1),
  startedAt: z.string().min(1),
});
export type LocalProcessHandle = z.infer<typeof LocalProcessHandleSchema>;

export interface LocalProcessProviderOptions {
  /** Where artifacts are read from. @default an ArtifactStore on `ARTIFACTS_BUCKET` with the shared S3 client */
  artifacts?: ArtifactStore;
  /** Root under which each version gets `<service>/<environment>/<releaseId>/`. @default `LOCAL_TARGETS_DIR` */
  targetsDir?: string;
  /** @default the process-wide supervisor, so the runtime's `stopAll()` reaches every child */
  supervisor?: ProcessSupervisor;
  /** How often `rollback` probes a restarted version. @default 100 */
  pollIntervalMs?: number;
}

const ARTIFACT_FILE = 'main.mjs';
const LOG_FILE = 'process.log';
/** A health probe that takes longer than this counts as "not healthy yet". */
const PROBE_TIMEOUT_MS = 2_000;
/** Lines of the process log quoted in a failure message. */
const LOG_TAIL_LINES = 20;

/**
 * Runs an artifact, one self-contained Node ESM file (an esbuild bundle, or a single .mjs using only node
 * builtins), as a child process on a free loopback port. This is the embedded stand-in for a Lambda alias or an
 * ECS service: the state machine calls `start`, then `status` until the new version answers its health path.
 */
export class LocalProcessProvider implements DeployProvider {
  readonly type = 'local-process' as const;
  private readonly supervisor: ProcessSupervisor;
  private readonly pollIntervalMs: number;
  private artifactStore?: ArtifactStore;

  constructor(private readonly options: LocalProcessProviderOptions = {}) {
    this.supervisor = options.supervisor ?? defaultSupervisor;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.artifactStore = options.artifacts;
  }

  /** Downloads the artifact and spawns it; the new version is IN_PROGRESS until `status` sees it healthy. */
  async start(req: DeployRequest): Promise<DeployStatus> {
    const target = localTarget(req.target);
    const dir = this.versionDir(req.service, req.environment, req.releaseId);
    const file = path.join(dir, ARTIFACT_FILE);
    // A retried start (Lambda retry, engine replay) must not launch a second copy of the same release.
    const already = this.supervisor.findRunning(file);
    if (already) {
      const handle = handleOf(already.pid, already.port, dir, already.startedAt);
      return { state: 'IN_PROGRESS', endpoint: handle.url, handle, message: `pid ${already.pid} already starting on port ${already.port}` };
    }
    await this.download(req.artifactKey, file);
    const port = await freeLoopbackPort();
    const proc = await this.supervisor.start({ file, port, version: req.version, env: target.env, logFile: path.join(dir, LOG_FILE) });
    const handle = handleOf(proc.pid, port, dir, proc.startedAt);
    return { state: 'IN_PROGRESS', endpoint: handle.url, handle, message: `started pid ${proc.pid} on port ${port}` };
  }

  /**
   * SUCCEEDED once the version answers 200 on its health path (and the version it replaces is stopped); FAILED if
   * it exited or stayed unhealthy past `startTimeoutSeconds` (it is then stopped); otherwise IN_PROGRESS.
   */
  async status(req: DeployRequest, rawHandle: Record<string, unknown>): Promise<DeployStatus> {
    const target = localTarget(req.target);
    const handle = parseHandle(rawHandle, 'handle');
    const out = { endpoint: handle.url, handle: { ...handle } };
    const proc = this.supervisor.get(handle.pid);
    if (!proc) {
      return {
        ...out,
        state: 'FAILED',
        message: `pid ${handle.pid} was not started by this runtime (was the dev server restarted during the deploy?)`,
      };
    }
    if (proc.exit) return { ...out, state: 'FAILED', message: await exitMessage(proc.exit, handle) };

    const probe = await probeHealth(handle.url + target.healthPath);
    if (probe.healthy) {
      const old = req.current?.handle.pid;
      // Only a process this runtime started is ours to stop: a pid from an earlier run may be anyone's now.
      if (typeof old === 'number' && old !== handle.pid && this.supervisor.isRunning(old)) await this.supervisor.stop(old);
      return { ...out, state: 'SUCCEEDED', message: `${req.version} healthy at ${handle.url}${target.healthPath}` };
    }

    const elapsedMs = Date.now() - Date.parse(handle.startedAt);
    if (elapsedMs > target.startTimeoutSeconds * 1000) {
      await this.supervisor.stop(handle.pid);
      return {
        ...out,
        state: 'FAILED',
        message: `not healthy at ${target.healthPath} within ${target.startTimeoutSeconds}s (${probe.detail}); stopped pid ${handle.pid}${await tailSuffix(handle)}`,
      };
    }
    return { ...out, state: 'IN_PROGRESS', message: `waiting for ${target.healthPath} (${probe.detail})` };
  }

  /**
   * Stops the failed version and puts `previous` back on the port it had, so every URL that pointed at it (the
   * gateway's previous route table, the current record) works again. Waits, within `startTimeoutSeconds`, until it
   * is healthy. Returns undefined when there is no previous version to restore.
   */
  async rollback(args: RollbackRequest): Promise<DeployStatus | undefined> {
    localTarget(args.target);
    const previousPid = args.previous ? parseHandle(args.previous.handle, 'previous.handle').pid : undefined;
    const failedPid = args.failed?.handle.pid;
    if (typeof failedPid === 'number' && failedPid !== previousPid) await this.supervisor.stop(failedPid);
    if (!args.previous) return undefined;
    return this.ensureRunning({ service: args.service, environment: args.environment, target: args.target, deployment: args.previous });
  }

  /**
   * Stops the process a fenced-out start launched. A process that is live (`req.current`) is never this attempt's,
   * and a pid this runtime did not start may be anyone's now, so both are left alone.
   */
  async discard(req: DeployRequest, rawHandle: Record<string, unknown>): Promise<string> {
    localTarget(req.target);
    const handle = LocalProcessHandleSchema.partial().safeParse(rawHandle);
    const pid = handle.success ? handle.data.pid : undefined;
    if (pid === undefined) return 'no process was started';
    if (pid === req.current?.handle.pid) return `pid ${pid} is the live version; left running`;
    if (!this.supervisor.isRunning(pid)) return `pid ${pid} had already exited`;
    await this.supervisor.stop(pid);
    return `stopped pid ${pid}`;
  }

  /**
   * Makes sure a deployment this provider made earlier runs and is healthy on the port recorded in its handle:
   * left alone if it already is, otherwise restarted from its artifact. The rollback uses it; the embedded runtime
   * can use it to bring live versions back after a restart.
   */
  async ensureRunning(args: {
    service: string;
    environment: Environment;
    target: DeployTarget;
    deployment: LiveDeployment;
  }): Promise<DeployStatus> {
    const target = localTarget(args.target);
    const previous = parseHandle(args.deployment.handle, 'deployment.handle');
    if (this.supervisor.isRunning(previous.pid)) {
      const probe = await probeHealth(previous.url + target.healthPath);
      if (probe.healthy)
        return {
          state: 'SUCCEEDED',
          endpoint: previous.url,
          handle: { ...previous },
          message: `${args.deployment.version} was still healthy`,
        };
      await this.supervisor.stop(previous.pid);
    }

    const dir = this.versionDir(args.service, args.environment, args.deployment.releaseId);
    const file = path.join(dir, ARTIFACT_FILE);
    if (!(await exists(file))) await this.download(args.deployment.artifactKey, file);
    const proc = await this.supervisor.start({
      file,
      port: previous.port,
      version: args.deployment.version,
      env: target.env,
      logFile: path.join(dir, LOG_FILE),
    });
    const handle = handleOf(proc.pid, previous.port, dir, proc.startedAt);
    const deadline = Date.now() + target.startTimeoutSeconds * 1000;
    let probe = await probeHealth(handle.url + target.healthPath);
    while (!probe.healthy && !proc.exit && Date.now() < deadline) {
      await sleep(this.pollIntervalMs);
      probe = await probeHealth(handle.url + target.healthPath);
    }
    const out = { endpoint: handle.url, handle: { ...handle } };
    if (probe.healthy)
      return { ...out, state: 'SUCCEEDED', message: `restarted ${args.deployment.version} as pid ${proc.pid} on port ${previous.port}` };
    if (proc.exit) return { ...out, state: 'FAILED', message: await exitMessage(proc.exit, handle) };
    await this.supervisor.stop(proc.pid);
    return {
      ...out,
      state: 'FAILED',
      message: `restarted ${args.deployment.version} was not healthy within ${target.startTimeoutSeconds}s (${probe.detail})${await tailSuffix(handle)}`,
    };
  }

  private versionDir(service: string, environment: Environment, releaseId: string): string {
    const root = this.options.targetsDir ?? requireConfig('LOCAL_TARGETS_DIR');
    for (const [name, value] of Object.entries({ service, environment, releaseId })) {
      // Each becomes a directory name; nothing may climb out of the targets directory.
      if (!/^[A-Za-z0-9._-]+$/.test(value) || value === '.' || value === '..') {
        throw new ValidationError(`${name} "${value}" cannot name a directory`, {
          [name]: 'expected letters, digits, dots, dashes or underscores',
        });
      }
    }
    return path.resolve(root, service, environment, releaseId);
  }

  private async download(key: string, file: string): Promise<void> {
    this.artifactStore ??= new ArtifactStore(s3Client(), getConfig().ARTIFACTS_BUCKET);
    const bytes = await this.artifactStore.getBytes(key);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
  }
}

function localTarget(target: DeployTarget): LocalProcessTarget {
  if (target.type !== 'local-process') throw new Error(`LocalProcessProvider cannot deploy a ${(target as { type: string }).type} target`);
  return target;
}

function parseHandle(raw: Record<string, unknown>, what: string): LocalProcessHandle {
  const parsed = LocalProcessHandleSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ValidationError(`${what} is not a local-process handle: ${problems}`, { [what]: problems });
  }
  return parsed.data;
}

function handleOf(pid: number, port: number, dir: string, startedAt: string): LocalProcessHandle {
  return { pid, port, url: `http://127.0.0.1:${port}`, dir, startedAt };
}

async function exitMessage(exit: { code: number | null; signal: NodeJS.Signals | null }, handle: LocalProcessHandle): Promise<string> {
  const how = exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal}`;
  return `process ${handle.pid} exited with ${how} before it was healthy${await tailSuffix(handle)}`;
}

async function tailSuffix(handle: LocalProcessHandle): Promise<string> {
  const tail = await logTail(path.join(handle.dir, LOG_FILE), LOG_TAIL_LINES);
  return tail ? `; last lines of ${path.join(handle.dir, LOG_FILE)}:\n${tail}` : '';
}

/** One GET of the health URL: healthy only on 200. */
async function probeHealth(url: string): Promise<{ healthy: boolean; detail: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    return { healthy: res.status === 200, detail: `last answer ${res.status}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    return { healthy: false, detail: `not answering: ${cause}` };
  }
}

/** Asks the OS for a free port on 127.0.0.1. Another process could take it before the child binds; the child then fails fast and the deploy reports it. */
export async function freeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
