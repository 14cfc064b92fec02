import type { Change, ReleaseRequest } from '../release-request.js';
import type { FieldErrors } from '../errors.js';
import type { ServiceConfig } from '../catalog.js';
import type { ApprovalSummary } from '../approvals/records.js';
import type { StepName } from '../../steps.js';
import type { InteropDeployment } from '../interop/interop-provisioner.js';
import type { Environment } from '../environment.js';
import type { StepDetails } from './step-details.js';
import type { ApiChangesSummary } from '../contract/live-contract.js';

/**
 * Every status a release can have. The first five are transient; the rest are terminal, and docs/operations.md says
 * what production is in each.
 */
/** The statuses a release passes through on its way to a terminal one. */
const ACTIVE_STATUSES = ['PENDING', 'QUEUED', 'RUNNING', 'AWAITING_APPROVAL', 'ROLLING_BACK'] as const;
/** The statuses a release ends in; a record in one of them is never changed again (but by the finishing code). */
const ENDED_STATUSES = ['SUCCEEDED', 'FAILED', 'REJECTED', 'EXPIRED', 'CANCELLED', 'SUPERSEDED', 'ROLLED_BACK', 'ROLLBACK_FAILED'] as const;
export const RELEASE_STATUSES = [...ACTIVE_STATUSES, ...ENDED_STATUSES] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];
export const TERMINAL_STATUSES: readonly ReleaseStatus[] = ENDED_STATUSES;
/** Every status that is not terminal. */
export const NON_TERMINAL_STATUSES: readonly ReleaseStatus[] = ACTIVE_STATUSES;

/** A terminal status. */
export type TerminalStatus = Exclude<ReleaseStatus, 'PENDING' | 'QUEUED' | 'RUNNING' | 'AWAITING_APPROVAL' | 'ROLLING_BACK'>;

/** True for a status no release leaves again. */
export const isTerminal = (status: ReleaseStatus): status is TerminalStatus => TERMINAL_STATUSES.includes(status);

/** Why a release ended other than SUCCEEDED: the error, its cause, and the ASL state that raised it when known. */
export interface ReleaseError {
  error: string;
  cause: string;
  /** The ASL state that failed (`CheckProduction`, `Rollback`…), or that was running when the execution stopped. */
  state?: string;
  fields?: FieldErrors;
  /** For ROLLBACK_FAILED: the failure the rollback was undoing. */
  rollbackOf?: { error: string; cause: string; state?: string };
}

/** Something that went wrong without changing the outcome, e.g. release notes that could not be written. */
export interface ReleaseWarning {
  step: StepName;
  error: string;
  cause: string;
}

/**
 * Set on a release someone stopped on purpose, before its execution is stopped: the status-change handler ends the
 * release with this status instead of CANCELLED. `launchway cancel` writes CANCELLED, a newer release with queue
 * `supersede` writes SUPERSEDED.
 */
export interface StopRequest {
  status: 'CANCELLED' | 'SUPERSEDED';
  /** Who asked: an email or an IAM identity. */
  by: string;
  reason: string;
  /** ISO time of the request. */
  at: string;
  /** For SUPERSEDED: the newer release. */
  supersededBy?: string;
}

/** An operator's action kept on the record it concerned: who, why, when (`launchway unlock`). */
export interface OperatorAction {
  /** An email or an IAM identity. */
  by: string;
  reason: string;
  /** ISO time of the action. */
  at: string;
}

/**
 * A redrive an operator asked for (`launchway redrive`), written before RedriveExecution. `count` is the
 * execution's redrive count the redriven run will see (`$$.Execution.RedriveCount`), so a redrive nobody asked for
 * (from the console) is refused and a stale status event of an earlier run is told apart.
 */
export interface RedriveRequest extends OperatorAction {
  count: number;
  /** When the redriven execution took the request up and reopened the release. */
  reopenedAt?: string;
}

/** One redrive that reopened the release: the request, and how the release had ended before it. */
export interface RedriveEntry extends RedriveRequest {
  reopenedAt: string;
  /** The failure the redrive resumed from, and when the release had ended with it. */
  previous: { error?: ReleaseError; endedAt?: string };
}

/** Who put production back on the previous release by hand (`launchway rollback`), why, and what is live again. */
export interface RolledBackBy extends OperatorAction {
  /** The version live again, or null when the undone release was the service's first (nothing is live). */
  restoredVersion: string | null;
  restoredReleaseId: string | null;
}

export type StepStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'SKIPPED';

export type { Environment };

/** The release as it is kept under `RELEASE#<id>` / `META`. */
export interface ReleaseRecord {
  releaseId: string;
  service: string;
  version: string;
  commit: string;
  branch: string;
  triggeredBy: string;
  status: ReleaseStatus;
  executionArn?: string;
  /** The request as checked, or as received when it failed the checks; kept without `changes` (see `changes`). */
  request: StoredRequest | Record<string, unknown>;
  /** The request's changes: kept once, here, because they may be most of the item's 400 KB. */
  changes: Change[];
  /** The service's catalog entry as it was when the release was prepared, so a release is not changed midway. */
  catalog?: ServiceConfig;
  /**
   * The sha256 (hex) of the bundle in S3, as Prepare hashed it (and checked against the request's
   * `artifacts.bundleSha256`). Every deploy hashes the object again and refuses a mismatch (ArtifactIntegrity).
   */
  artifactSha256?: string;
  createdAt: string;
  /** When the release first found another release of its service holding the lock. */
  queuedAt?: string;
  updatedAt: string;
  endedAt?: string;
  durationMs?: number;
  /** Set when the release ends in anything but SUCCEEDED. */
  error?: ReleaseError;
  /** Problems that did not change the outcome (a SUCCEEDED release whose notes could not be written). */
  warnings?: ReleaseWarning[];
  /** Who stopped the release on purpose, and why (see {@link StopRequest}). */
  stopRequest?: StopRequest;
  /** Who removed this release's hold on its service's lock by hand (`launchway unlock`), and why. */
  unlockedBy?: OperatorAction;
  /** The latest redrive an operator asked for (`launchway redrive`). */
  redrive?: RedriveRequest;
  /** Every redrive that reopened the release, oldest first, each keeping the failure it resumed from. */
  redrives?: RedriveEntry[];
  /** Set when an operator undid this release in production (`launchway rollback`): it is then ROLLED_BACK. */
  rolledBackBy?: RolledBackBy;
  /** Links and keys a reader of the release wants: reports, notes, the production URL. */
  links?: Record<string, string>;
  /** What the release changes for partners against the live contract, and the policy that applies (Prepare). */
  apiChanges?: ReleaseApiChanges;
}

export type ReleaseApiChanges = ApiChangesSummary & {
  policy: 'approve' | 'block' | 'allow';
  ownerApprovalRequired: boolean;
  apiOwners: string[];
};

/**
 * A release that Prepare accepted: its request passed every check and its catalog entry is snapshotted. Every step
 * after Prepare reads the release this way (ReleaseStore.requirePrepared).
 */
export type PreparedRelease = ReleaseRecord & { request: StoredRequest; catalog: ServiceConfig };

/** A request as the release record keeps it: without its changes, which the record keeps once, as `changes`. */
export type StoredRequest = Omit<ReleaseRequest, 'changes'>;

/** The request without `changes`, as `ReleaseStore.createRelease` writes it. */
export function storedRequest<T extends Record<string, unknown> | ReleaseRequest>(request: T): Omit<T, 'changes'> {
  const { changes: _changes, ...rest } = request;
  return rest;
}

/** One step under `RELEASE#<id>` / `STEP#<nn>#<name>`, with the details its step keeps (store/step-details.ts). */
export interface StepRecordOf<S extends StepName> {
  releaseId: string;
  step: S;
  status: StepStatus;
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  details?: StepDetails[S];
  error?: { error: string; cause: string };
}

/** A step record; without a step name, any step's, told apart by `step`. */
export type StepRecord<S extends StepName = StepName> = S extends StepName ? StepRecordOf<S> : never;

/** What is live in one environment of a service, so a rollback has a target. */
export interface CurrentRecord {
  service: string;
  environment: Environment;
  version: string;
  releaseId: string;
  artifactKey: string;
  /** The artifact's sha256 (hex), so a later rollback or restart can check the object it starts from. */
  artifactSha256?: string;
  /** Provider-specific handle of the live deployment (a pid and port, an alias version, a stack id…). */
  handle: Record<string, unknown>;
  updatedAt: string;
}

/** The release as readers see it: the record with its steps. `status --json` prints this shape. */
export interface ReleaseView extends ReleaseRecord {
  steps: StepRecord[];
  /** The newest approval request, without its task token. */
  approval?: ApprovalSummary;
}

/** The gateway deployment ProvisionInterop published, when it did (undefined when skipped, failed or not run). */
export function publishedInterop(record: StepRecord<'ProvisionInterop'> | undefined): InteropDeployment | undefined {
  const details = record?.status === 'SUCCEEDED' ? record.details : undefined;
  return details && 'deploymentId' in details ? details : undefined;
}

/** A step's record out of a release's list of steps, typed by the step. */
export function findStep<S extends StepName>(steps: readonly StepRecord[], step: S): StepRecord<S> | undefined {
  return steps.find((s) => s.step === step) as StepRecord<S> | undefined;
}
