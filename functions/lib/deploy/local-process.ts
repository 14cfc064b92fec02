import path from 'node:path';
import { ArtifactStore } from '../artifact-store.js';
import { s3Client } from '../clients.js';
import { getConfig, requireConfig } from '../config.js';
import { SecretUnavailableError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import { resolveSecrets, type SecretSource } from '../secrets.js';
import type { Environment } from '../store/records.js';
import type { DeployProvider, DeployRequest, DeployStatus, LiveDeployment, RetireRequest, RollbackRequest } from './deploy-provider.js';
import { isRefusal, prepareVersion } from './local-artifact.js';
import { waitForFreePort } from './loopback-port.js';
import {
  describeExit,
  failureMessage,
  freeLoopbackPort,
  handleOf,
  LOG_FILE,
  type LocalProcessHandle,
  LocalProcessHandleSchema,
  parseHandle,
  probeHealth,
  sleep,
} from './local-process-support.js';
import { supervisor as defaultSupervisor, type ProcessSupervisor, type SupervisedProcess } from './process-supervisor.js';
import type { DeployTarget, LocalProcessTarget } from './targets.js';

export { freeLoopbackPort, type LocalProcessHandle, LocalProcessHandleSchema } from './local-process-support.js';

/** How long `ensureRunning` waits for a stop of the same process already under way (a drain that just ended). */
const PENDING_STOP_WAIT_MS = 10_000;

export interface LocalProcessProviderOptions {
  /** Where artifacts are read from. @default an ArtifactStore on `ARTIFACTS_BUCKET` with the shared S3 client */
  artifacts?: ArtifactStore;
  /** Root under which each version gets `<service>/<environment>/<releaseId>/`. @default `LOCAL_TARGETS_DIR` */
  targetsDir?: string;
  /** @default the process-wide supervisor, so the runtime's `stopAll()` reaches every child */
  supervisor?: ProcessSupervisor;
  /** How often `ensureRunning` probes a restarted version. @default 100 */
  pollIntervalMs?: number;
  /** Where `secretEnv` is read from. @default the configured source (`SECRETS_FILE` in embedded mode) */
  secrets?: SecretSource;
  /** How long `ensureRunning` waits for the recorded port to be free (an old process exiting). @default 10000 */
  portWaitMs?: number;
}

/** What one version needs to run. */
interface LaunchArgs {
  target: LocalProcessTarget;
  dir: string;
  artifactKey: string;
  artifactSha256?: string;
  version: string;
  port: number;
}

/**
 * Runs an artifact, one Node ESM file or a packed directory (`.tar.gz`, unpacked per version), as a process group on
 * a loopback port. This is the embedded stand-in for a Lambda alias or an ECS service: the state machine calls
 * `start`, then `status` until the new version answers its health path. In production the version it replaces
 * keeps running until the release retires it (`retire`, after the gateway moved and a drain), so no request fails.
 */
export class LocalProcessProvider implements DeployProvider {
  readonly type = 'local-process' as const;
  private readonly supervisor: ProcessSupervisor;
  private readonly pollIntervalMs: number;
  private artifactStore?: ArtifactStore;
  /** Retirements waiting out their drain, by pid; cancelled when the version is wanted again. */
  private readonly retiring = new Map<number, NodeJS.Timeout>();
  /**
   * The process `ensureRunning` last brought back per `<service>/<environment>` (a rollback, the boot), until a new
   * version turns healthy there: a retirement computed from an older view of what is live (a stalled release,
   * before an operator's rollback) never stops it.
   */
  private readonly latest = new Map<string, string>();

  constructor(private readonly options: LocalProcessProviderOptions = {}) {
    this.supervisor = options.supervisor ?? defaultSupervisor;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.artifactStore = options.artifacts;
  }

  /** Lays out the version and spawns it; it is IN_PROGRESS until `status` sees it healthy. */
  async start(req: DeployRequest): Promise<DeployStatus> {
    const target = localTarget(req.target);
    const dir = this.versionDir(req.service, req.environment, req.releaseId);
    // A retried start (Lambda retry, engine replay) must not launch a second copy of the same release.
    const already = this.supervisor.findRunning(dir);
    if (already) {
      this.keep(already.pid);
      const handle = handleOf(already.pid, already.port, dir, already.startedAt);
      return { state: 'IN_PROGRESS', endpoint: handle.url, handle, message: `pid ${already.pid} already starting on port ${already.port}` };
    }
    const port = await freeLoopbackPort();
    const launched = await this.launch({
      target,
      dir,
      artifactKey: req.artifactKey,
      artifactSha256: req.artifactSha256,
      version: req.version,
      port,
    });
    if (isRefusal(launched)) return { state: 'FAILED', handle: {}, message: launched.reason };
    const { handle, proc } = launched;
    return { state: 'IN_PROGRESS', endpoint: handle.url, handle, message: `started pid ${proc.pid} on port ${port}` };
  }

  /**
   * SUCCEEDED once the version answers 200 on its health path; FAILED if it exited or stayed unhealthy past
   * `startTimeoutSeconds` (it is then stopped); otherwise IN_PROGRESS. The version it replaces is stopped here only
   * in staging: in production, partners reach it through the gateway until the release moved the gateway on.
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
    const secrets = this.supervisor.secretValuesOf(handle.pid);
    if (proc.exit) {
      const what = `process ${handle.pid} exited with ${describeExit(proc.exit)} before it was healthy at ${target.healthPath}`;
      return { ...out, state: 'FAILED', message: await failureMessage(handle, what, secrets) };
    }

    const probe = await probeHealth(handle.url + target.healthPath);
    if (probe.healthy) {
      // A new version is about to go live: whatever a rollback brought back before may be retired again.
      this.latest.delete(slot(req.service, req.environment));
      const old = LocalProcessHandleSchema.partial().safeParse(req.current?.handle ?? {}).data;
      // Only a process this runtime started is ours to stop: a pid from an earlier run may be anyone's now.
      const oldPid = old?.pid !== handle.pid ? old?.pid : undefined;
      if (req.environment === 'staging' && oldPid !== undefined && this.supervisor.isRunning(oldPid, { key: old?.dir, port: old?.port })) {
        await this.supervisor.stop(oldPid);
      }
      return { ...out, state: 'SUCCEEDED', message: `${req.version} healthy at ${handle.url}${target.healthPath}` };
    }

    const elapsedMs = Date.now() - Date.parse(handle.startedAt);
    if (elapsedMs > target.startTimeoutSeconds * 1000) {
      await this.supervisor.stop(handle.pid);
      const what = `not healthy at ${target.healthPath} within ${target.startTimeoutSeconds}s (${probe.detail}); stopped pid ${handle.pid}`;
      return { ...out, state: 'FAILED', message: await failureMessage(handle, what, secrets) };
    }
    return { ...out, state: 'IN_PROGRESS', message: `waiting for ${target.healthPath} (${probe.detail})` };
  }

  /**
   * Puts `previous` back on the port it had, so every URL that pointed at it (the gateway's previous route table,
   * the current record) works again: at once when it still runs healthy, else restarted and waited for. `failed`
   * is left running, since the gateway may still route to it: the caller retires it once the gateway moved back.
   * Returns undefined when there is no previous version to restore.
   */
  async rollback(args: RollbackRequest): Promise<DeployStatus | undefined> {
    localTarget(args.target);
    if (!args.previous) return undefined;
    const target = args.previousTarget?.type === 'local-process' ? args.previousTarget : args.target;
    return this.ensureRunning({ service: args.service, environment: args.environment, target, deployment: args.previous });
  }

  /**
   * Stops `deployment` after `drainSeconds`, on a timer in this (long-running) process, so the caller does not wait
   * out the drain. The live deployment, a pid this runtime did not start, and one already retiring are left alone;
   * a version wanted again before its drain ends (`ensureRunning`) is kept.
   */
  async retire(args: RetireRequest): Promise<string> {
    localTarget(args.target);
    const recorded = LocalProcessHandleSchema.partial().safeParse(args.deployment.handle).data ?? {};
    const pid = recorded.pid;
    if (pid === undefined) return 'no process to retire';
    if (pid === args.live?.handle.pid) return `pid ${pid} is the live version; left running`;
    const key = slot(args.service, args.environment);
    const id = identity(recorded);
    if (this.latest.get(key) === id) return `pid ${pid} was made live again since; left running`;
    if (!this.supervisor.isRunning(pid, { key: recorded.dir, port: recorded.port })) return `pid ${pid} is not running`;
    if (this.retiring.has(pid)) return `pid ${pid} is already retiring`;
    if (args.drainSeconds <= 0) {
      await this.supervisor.stop(pid);
      return `stopped pid ${pid} (${args.deployment.version})`;
    }
    const timer = setTimeout(() => {
      this.retiring.delete(pid);
      // A rollback may have made it live again during the drain without passing through `keep` (a stale retire).
      if (this.latest.get(key) === id) return;
      this.supervisor.stop(pid).catch((err: unknown) => logger.warn('could not retire a local process', { pid, error: err as Error }));
    }, args.drainSeconds * 1000);
    // The drain never keeps the runtime alive; on shutdown every process is stopped anyway.
    timer.unref();
    this.retiring.set(pid, timer);
    return `pid ${pid} (${args.deployment.version}) stops after a ${args.drainSeconds}s drain`;
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
    if (!this.supervisor.isRunning(pid, { key: handle.data?.dir, port: handle.data?.port })) return `pid ${pid} had already exited`;
    await this.supervisor.stop(pid);
    return `stopped pid ${pid}`;
  }

  /**
   * Makes sure a deployment this provider made earlier runs and is healthy on the port recorded in its handle:
   * left alone if it already is (and kept, should it be retiring), otherwise restarted from its artifact, with its
   * command and freshly resolved secrets. The rollback uses it; the embedded runtime uses it to bring live versions
   * back after a restart.
   */
  async ensureRunning(args: {
    service: string;
    environment: Environment;
    target: DeployTarget;
    deployment: LiveDeployment;
  }): Promise<DeployStatus> {
    const target = localTarget(args.target);
    const previous = parseHandle(args.deployment.handle, 'deployment.handle');
    const key = slot(args.service, args.environment);
    // The pid alone may be another version's: a handle from an earlier run names it with its directory and port.
    const match = { key: previous.dir, port: previous.port };
    if (this.supervisor.isRunning(previous.pid, match)) {
      const probe = await probeHealth(previous.url + target.healthPath);
      this.keep(previous.pid);
      if (probe.healthy && this.supervisor.isRunning(previous.pid, match)) {
        this.latest.set(key, identity(previous));
        const message = `${args.deployment.version} was still healthy`;
        return { state: 'SUCCEEDED', endpoint: previous.url, handle: { ...previous }, message };
      }
      await this.supervisor.stop(previous.pid);
    }
    // A drain that just ended may be stopping it: its port is only free once it is gone.
    await this.supervisor.stopSettled(previous.pid, match, PENDING_STOP_WAIT_MS);
    if (!(await waitForFreePort(previous.port, this.options.portWaitMs ?? 10_000))) {
      const message =
        `port ${previous.port} is taken by another process; ${args.deployment.version} was not restarted ` +
        `(stop what listens on 127.0.0.1:${previous.port}, then try again)`;
      return { state: 'FAILED', endpoint: previous.url, handle: { ...previous }, message };
    }

    const dir = this.versionDir(args.service, args.environment, args.deployment.releaseId);
    const launched = await this.launch({
      target,
      dir,
      artifactKey: args.deployment.artifactKey,
      artifactSha256: args.deployment.artifactSha256,
      version: args.deployment.version,
      port: previous.port,
    });
    if (isRefusal(launched)) return { state: 'FAILED', endpoint: previous.url, handle: { ...previous }, message: launched.reason };
    const { handle, proc } = launched;
    const deadline = Date.now() + target.startTimeoutSeconds * 1000;
    // A 200 counts only while the new process still runs: one that lost the port to another listener exits.
    let probe = await probeHealth(handle.url + target.healthPath);
    while (!(probe.healthy && proc.exit === undefined) && !proc.exit && Date.now() < deadline) {
      await sleep(this.pollIntervalMs);
      probe = await probeHealth(handle.url + target.healthPath);
    }
    const out = { endpoint: handle.url, handle: { ...handle } };
    const restarted = `restarted ${args.deployment.version} as pid ${proc.pid} on port ${previous.port}`;
    if (probe.healthy && proc.exit === undefined) {
      this.latest.set(key, identity(handle));
      return { ...out, state: 'SUCCEEDED', message: restarted };
    }
    const secrets = this.supervisor.secretValuesOf(proc.pid);
    if (proc.exit) {
      const what = `${restarted}; it exited with ${describeExit(proc.exit)} before it was healthy at ${target.healthPath}`;
      return { ...out, state: 'FAILED', message: await failureMessage(handle, what, secrets) };
    }
    await this.supervisor.stop(proc.pid);
    const what = `${restarted}; it was not healthy within ${target.startTimeoutSeconds}s (${probe.detail})`;
    return { ...out, state: 'FAILED', message: await failureMessage(handle, what, secrets) };
  }

  /**
   * Lays out the version (download, checksum, unpack), resolves its secrets and spawns it. A refusal (a missing
   * working directory or entry, an unavailable secret) is the deploy's FAILED message; it names, never quotes, secrets.
   */
  private async launch(args: LaunchArgs): Promise<{ handle: LocalProcessHandle; proc: SupervisedProcess } | { reason: string }> {
    const plan = await prepareVersion({
      artifacts: this.artifacts(),
      versionDir: args.dir,
      artifactKey: args.artifactKey,
      artifactSha256: args.artifactSha256,
      target: args.target,
    });
    if (isRefusal(plan)) return plan;
    let secrets: Record<string, string>;
    try {
      secrets = await resolveSecrets(args.target.secretEnv, this.options.secrets);
    } catch (err) {
      if (err instanceof SecretUnavailableError) return { reason: `secretEnv ${err.message}` };
      throw err;
    }
    const proc = await this.supervisor.start({
      command: plan.command,
      cwd: plan.cwd,
      port: args.port,
      version: args.version,
      env: { ...args.target.env, ...secrets },
      portEnv: args.target.portEnv,
      hostEnv: args.target.hostEnv,
      logFile: path.join(args.dir, LOG_FILE),
      key: args.dir,
      secretValues: Object.values(secrets),
    });
    return { proc, handle: handleOf(proc.pid, args.port, args.dir, proc.startedAt) };
  }

  /** Cancels a pending retirement of `pid`: the version is wanted again. */
  private keep(pid: number): void {
    clearTimeout(this.retiring.get(pid));
    this.retiring.delete(pid);
  }

  private artifacts(): ArtifactStore {
    this.artifactStore ??= new ArtifactStore(s3Client(), getConfig().ARTIFACTS_BUCKET);
    return this.artifactStore;
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
}

/** A process as a handle names it: the pid alone may be reused, by the OS or by another version. */
function identity(handle: Partial<LocalProcessHandle>): string {
  return `${handle.pid}@${handle.dir}:${handle.port}`;
}

function slot(service: string, environment: Environment): string {
  return `${service}/${environment}`;
}

function localTarget(target: DeployTarget): LocalProcessTarget {
  if (target.type !== 'local-process') throw new Error(`LocalProcessProvider cannot deploy a ${(target as { type: string }).type} target`);
  return target;
}
