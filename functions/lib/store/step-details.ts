import type { DecisionRecord } from '../approvals/records.js';
import type { LiveDeployment } from '../deploy/deploy-provider.js';
import type { FieldErrors } from '../errors.js';
import type { InteropDeployment } from '../interop/interop-provisioner.js';
// Type-only: reading a test step's results never loads Newman.
import type { SmokeResult } from '../newman-runner.js';
import type { ReleaseRequest } from '../release-request.js';

/**
 * What each step keeps on its record (`details`), by step. Writers can only write their own step's shape and
 * readers get it typed, so steps that read each other's results (a deploy's endpoint, the interop deployment, the
 * smoke results) need no casts. Each shape is a type alias, not an interface, so a record's details still go to
 * JSON (status --json, the notes' JSON) as a plain object.
 */

/** Prepare: the request's identity and files, or the fields that failed validation. */
export type PrepareDetails = { service: string; version: string; artifacts: ReleaseRequest['artifacts'] } | { fields: FieldErrors };

/**
 * AcquireLock: while this release waits, the release it waits for (the holder, or one that started earlier and is
 * ahead in the queue); then how long it waited, or the fields that refused it (a version production has passed).
 */
export type AcquireLockDetails = { waitingFor?: string | null; queuedAt?: string; waitedMs?: number; fields?: FieldErrors };

/** DeployStaging / DeployProduction: the provider's handle between the start and the polls, and the rollback target. */
export type DeploymentDetails = {
  version: string;
  handle: Record<string, unknown>;
  endpoint?: string;
  /** What was live before; the rollback target. */
  previous: LiveDeployment | null;
  /** The provider's progress note or failure reason. */
  message?: string;
  /** Status polls made so far; the wait before the next one grows with it (functions/lib/poll-schedule.ts). */
  polls?: number;
  /** The fence token of the attempt that started the deployment; each status poll acts only while it holds. */
  fence?: string;
};

/** One object type out of an intersection, so the details stay a plain JSON object to readers. */
type Fields<T> = { [K in keyof T]: T[K] };

/**
 * SmokeTestStaging: the Newman run against staging, with what the contract check found (`contract`); `warning`
 * summarizes the contract violations that did not fail the step (`tests.contractConformance: warn`).
 */
export type SmokeDetails = Fields<SmokeResult & { baseUrl: string; warning?: string }>;

/** ValidateProduction: the Newman run against production, through the interop layer when it is enabled. */
export type ValidationDetails = Fields<SmokeResult & { baseUrl: string; healthUrl: string; viaInterop: boolean; warning?: string }>;

/** Approval: the approval item while it waits, then who decided. */
export type ApprovalDetails = {
  approvalId: string;
  approvers?: string[];
  requiredApprovals?: number;
  /** Set when one of them must approve the release's breaking API changes as well. */
  apiOwners?: string[];
  expiresAt?: number;
  remindAt?: number;
  /** Set when fewer approvers than required may approve (the trigger may not approve their own release). */
  warning?: string;
  approvedBy?: string[];
  rejectedBy?: string;
  decisions?: DecisionRecord[];
};

/**
 * What the stage served before this release touched it, written before the stage is changed: the Rollback puts it
 * back (null: the stage did not exist, so it is removed) whenever ProvisionInterop started, whatever its outcome.
 */
export type StageBefore = { stageBefore: string | null };

/** ProvisionInterop: the gateway deployment it published (with the stage's earlier one), or why it was skipped. */
export type InteropDetails = Fields<InteropDeployment & Partial<StageBefore>> | StageBefore | { reason: string };

/** PublishReleaseNotes: where the notes are, and the partners' API changes when a live contract was compared. */
export type ReleaseNotesDetails = { markdownKey: string; jsonKey: string; apiChangesKey?: string };

/** Rollback: what was put back live, and the failure that caused it. */
export type RollbackDetails = {
  restoredVersion: string | null;
  restoredEndpoint: string | null;
  /** The gateway deployment put back, `(removed)` after a first release, or null when interop was not published. */
  gatewayDeployment: string | null;
  /** What became of the failed version, from providers that retire it once the gateway left it. */
  retired?: string;
  reason: { error: string; cause: string } | null;
};

/** Each recorded step's details. */
export type StepDetails = {
  Prepare: PrepareDetails;
  AcquireLock: AcquireLockDetails;
  DeployStaging: DeploymentDetails;
  SmokeTestStaging: SmokeDetails;
  Approval: ApprovalDetails;
  DeployProduction: DeploymentDetails;
  ProvisionInterop: InteropDetails;
  ValidateProduction: ValidationDetails;
  PublishReleaseNotes: ReleaseNotesDetails;
  Rollback: RollbackDetails;
};
