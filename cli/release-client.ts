import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DescribeExecutionCommand, ExecutionDoesNotExist, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ArtifactStore } from '../functions/lib/artifact-store.js';
import { releaseUploadPrefix } from '../functions/lib/bucket-layout.js';
import { findService } from '../functions/lib/catalog-source.js';
import { s3Client, sfnClient, documentClient } from '../functions/lib/clients.js';
import { getConfig } from '../functions/lib/config.js';
import { ChangeSchema, releaseIdFor, type Change, type ReleaseRequest } from '../functions/lib/release-request.js';
import { checkReleaseRequest } from '../functions/lib/release-request-check.js';
import { checkExecutionInput } from '../functions/lib/release-limits.js';
import { ValidationError, type FieldErrors } from '../functions/lib/errors.js';
import { ReleaseStore } from '../functions/lib/store/release-store.js';
import { TERMINAL_STATUSES, type ReleaseView, type StepRecord } from '../functions/lib/store/records.js';
import type { ApprovalSummary } from '../functions/lib/approvals/records.js';
import * as z from 'zod';
import { loadArtifact, type LoadedArtifact } from './artifact-pack.js';
import { distinctUploadNames, exactlyOne } from './options.js';

/** What `launchway release` is given: the request fields, with local files for the artifacts. */
export interface ReleaseOptions {
  service: string;
  version: string;
  commit: string;
  branch?: string;
  triggeredBy: string;
  /** The deployable: a file, uploaded as it is, or a directory, packed with its node_modules (artifact-pack.ts). */
  artifact?: string;
  /** The older name of `artifact` (a file or a directory alike); exactly one of the two. */
  bundle?: string;
  collection: string;
  openapi: string;
  /** A Postman environment file whose values the collection gets (catalog test variables override them). */
  environment?: string;
  /** A JSON file with `[{ "title": "feat: …", "sha": "…", "author": "…" }]`. */
  changesFile?: string;
}

export interface StartedRelease {
  releaseId: string;
  executionArn: string;
  /** False when an execution of the same service, version and commit already existed (a CI retry). */
  started: boolean;
}

export function stateMachineArn(): string {
  const arn = process.env.LAUNCHWAY_STATE_MACHINE_ARN;
  if (!arn) {
    throw new Error(
      'LAUNCHWAY_STATE_MACHINE_ARN is not set. Embedded: run `launchway dev` and `source .launchway/endpoints.env`; ' +
        'on AWS: set it to the StateMachineArn stack output.',
    );
  }
  return arn;
}

export function releaseStore(): ReleaseStore {
  return new ReleaseStore(documentClient(), getConfig().RELEASES_TABLE);
}

export function artifactStore(): ArtifactStore {
  return new ArtifactStore(s3Client(), getConfig().ARTIFACTS_BUCKET);
}

async function readChanges(file: string | undefined): Promise<Change[]> {
  if (!file) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ValidationError(`changes file ${file} is not readable JSON: ${(err as Error).message}`, {
      changes: 'expected a JSON array of { title, sha?, author?, url? }',
    });
  }
  const result = z.array(ChangeSchema).safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ValidationError(`changes file ${file} is invalid`, {
      [`changes.${issue.path.join('.')}`]: issue.message,
    });
  }
  return result.data;
}

/**
 * Checks everything locally (the same checks Prepare runs again, plus the size of the execution input), packs a
 * directory artifact, uploads the files with the bundle's sha256 in the request, and starts the execution under a name derived from service, version and commit, so a retried CI job
 * starts nothing new.
 */
export async function startRelease(
  opts: ReleaseOptions,
  hooks: {
    /** Runs once the local checks passed, before anything is uploaded or started (`release` prints the API diff). */
    beforeUpload?: () => Promise<unknown>;
  } = {},
): Promise<StartedRelease> {
  const source = exactlyOne({ '--artifact': opts.artifact, '--bundle': opts.bundle });
  const changes = await readChanges(opts.changesFile);
  const prefix = releaseUploadPrefix(opts.service, opts.version, opts.commit);
  const keyOf = (file: string) => `${prefix}/${path.basename(file)}`;
  // Packed (or read) once: the bytes hashed are the bytes uploaded. A problem with it is reported with the others.
  let bundle: LoadedArtifact | undefined;
  let bundleFields: FieldErrors = {};
  try {
    bundle = await loadArtifact(source);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    bundleFields = err.fields;
  }
  const bundleName = bundle?.name ?? path.basename(path.resolve(source));
  distinctUploadNames({
    [opts.artifact !== undefined ? '--artifact' : '--bundle']: bundleName,
    '--collection': path.basename(opts.collection),
    '--openapi': path.basename(opts.openapi),
    '--environment': opts.environment === undefined ? undefined : path.basename(opts.environment),
  });
  const bundleKey = `${prefix}/${bundleName}`;
  const local: Record<string, string> = {
    [keyOf(opts.collection)]: opts.collection,
    [keyOf(opts.openapi)]: opts.openapi,
    ...(opts.environment ? { [keyOf(opts.environment)]: opts.environment } : {}),
  };
  const request: ReleaseRequest = {
    service: opts.service,
    version: opts.version,
    commit: opts.commit,
    branch: opts.branch ?? 'main',
    triggeredBy: opts.triggeredBy,
    artifacts: {
      bundle: bundleKey,
      ...(bundle ? { bundleSha256: bundle.sha256 } : {}),
      collection: keyOf(opts.collection),
      openapi: keyOf(opts.openapi),
      ...(opts.environment ? { environment: keyOf(opts.environment) } : {}),
    },
    changes,
  };
  // The exact StartExecution input, measured before anything is uploaded.
  const input = JSON.stringify(request);
  const inputFields = checkExecutionInput(input);
  try {
    await checkReleaseRequest(request, {
      service: (name) => findService(name),
      exists: async (_field, key) =>
        key === bundleKey ? bundle !== undefined : existsSync(local[key]) && (await stat(local[key])).isFile(),
      read: (_field, key) => readFile(local[key], 'utf8'),
    });
    if (Object.keys(inputFields).length > 0 || Object.keys(bundleFields).length > 0) {
      throw new ValidationError('release request is invalid', {});
    }
  } catch (err) {
    // Name the local file the user gave rather than the S3 key it would have had.
    if (err instanceof ValidationError) {
      Object.assign(err.fields, inputFields, bundleFields);
      const names = { ...local, [bundleKey]: source };
      for (const [field, message] of Object.entries(err.fields)) {
        err.fields[field] = Object.entries(names).reduce((m, [key, file]) => m.replaceAll(key, file), message);
      }
      err.message = `release request is invalid: ${Object.entries(err.fields)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ')}`;
    }
    throw err;
  }

  await hooks.beforeUpload?.();
  const releaseId = releaseIdFor(request);
  const arn = stateMachineArn();
  const executionArn = arn.replace(':stateMachine:', ':execution:') + `:${releaseId}`;
  if (await executionExists(executionArn)) return { releaseId, executionArn, started: false };

  const artifacts = artifactStore();
  await artifacts.put(bundleKey, bundle!.bytes, bundle!.packed ? 'application/gzip' : contentType(source));
  for (const [key, file] of Object.entries(local)) await artifacts.put(key, await readFile(file), contentType(file));
  const out = await sfnClient().send(new StartExecutionCommand({ stateMachineArn: arn, name: releaseId, input }));
  return { releaseId, executionArn: out.executionArn!, started: true };
}

async function executionExists(executionArn: string): Promise<boolean> {
  try {
    await sfnClient().send(new DescribeExecutionCommand({ executionArn }));
    return true;
  } catch (err) {
    if (err instanceof ExecutionDoesNotExist || (err as Error).name === 'ExecutionDoesNotExist') return false;
    throw err;
  }
}

function contentType(file: string): string {
  if (file.endsWith('.json')) return 'application/json';
  if (/\.ya?ml$/.test(file)) return 'application/yaml';
  if (/\.m?js$/.test(file)) return 'text/javascript';
  return 'application/octet-stream';
}

/** The release with its steps and approval decisions: what `status --json` prints. */
export async function getReleaseView(releaseId: string): Promise<ReleaseView | undefined> {
  return releaseStore().getView(releaseId);
}

/**
 * What the wait reports: each status change, each step as it starts and ends, and, at every poll while the release
 * awaits approval, the approval summary (the caller decides how often to show it).
 */
export type ProgressEvent =
  | { kind: 'status'; status: string }
  | { kind: 'step'; step: StepRecord }
  | { kind: 'approval'; approval: ApprovalSummary };

/** The wait's bound passed before the release ended; the release itself goes on. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeout';
  constructor(
    readonly releaseId: string,
    readonly lastStatus: string,
  ) {
    super(`release ${releaseId} did not end within the wait bound (last status ${lastStatus || 'unknown'}); it goes on`);
  }
}

/** How long after its execution ended a release record may still be non-terminal (the status-change handler's time). */
const STATUS_HANDLER_GRACE_MS = 5 * 60_000;

/**
 * Polls the release record until it ends (or the bound passes), reporting each status change and each step as
 * it starts and finishes. Works the same on AWS, since it reads DynamoDB rather than the execution history.
 */
export async function waitForRelease(
  releaseId: string,
  opts: {
    executionArn?: string;
    onProgress?: (e: ProgressEvent) => void;
    /** Poll interval while steps are running (default 500 ms). */
    intervalMs?: number;
    /**
     * Poll interval while the release waits on a person or on another release (AWAITING_APPROVAL, QUEUED), which
     * can last hours: default 5 s, or `intervalMs` when the caller set one.
     */
    idleIntervalMs?: number;
    timeoutMs?: number;
    /** Stops the wait early (with the signal's reason), e.g. when an automated approval failed. */
    signal?: AbortSignal;
  } = {},
): Promise<ReleaseView> {
  const deadline = Date.now() + (opts.timeoutMs ?? 8 * 24 * 3600 * 1000);
  const seen = new Map<string, string>();
  let lastStatus = '';
  let endedAt: number | undefined;
  let ended = '';
  for (let poll = 1; ; poll++) {
    opts.signal?.throwIfAborted();
    const view = await getReleaseView(releaseId);
    if (view) {
      // Steps first: a status change is the consequence of the steps that just finished.
      for (const step of view.steps) {
        if (seen.get(step.step) !== step.status) {
          seen.set(step.step, step.status);
          opts.onProgress?.({ kind: 'step', step });
        }
      }
      if (view.status !== lastStatus) {
        lastStatus = view.status;
        opts.onProgress?.({ kind: 'status', status: view.status });
      }
      if (TERMINAL_STATUSES.includes(view.status)) return view;
      if (view.status === 'AWAITING_APPROVAL' && view.approval?.status === 'PENDING') {
        opts.onProgress?.({ kind: 'approval', approval: view.approval });
      }
    }
    if (opts.executionArn && poll % 10 === 0 && endedAt === undefined) {
      // The record is the source of truth, but an execution that died without finalizing must not hang the wait.
      const exec = await sfnClient().send(new DescribeExecutionCommand({ executionArn: opts.executionArn }));
      if (exec.status !== 'RUNNING') {
        endedAt = Date.now();
        ended = `${exec.status} (${exec.error ?? ''}: ${exec.cause ?? ''})`;
      }
    }
    // A stopped, timed-out or failed execution is finished by the execution-status handler, asynchronously: give it
    // time to write the record before calling the record lost.
    if (endedAt !== undefined && Date.now() - endedAt > STATUS_HANDLER_GRACE_MS) {
      throw new Error(`execution ended ${ended} without a final release record`);
    }
    if (Date.now() > deadline) throw new WaitTimeoutError(releaseId, lastStatus);
    const idle = lastStatus === 'AWAITING_APPROVAL' || lastStatus === 'QUEUED';
    const pause = idle ? (opts.idleIntervalMs ?? opts.intervalMs ?? 5000) : (opts.intervalMs ?? 500);
    await new Promise((r) => setTimeout(r, pause));
  }
}
