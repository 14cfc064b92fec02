import semver from 'semver';
import { ValidationError, type FieldErrors } from '../errors.js';
import { TERMINAL_STATUSES, type CurrentRecord, type ReleaseRecord } from '../store/records.js';
import type { ReleaseStore } from '../store/release-store.js';
import type { BuildClaim } from '../store/order-store.js';

/** A release as the order checks see it: which build of which service, under which id (the execution name). */
export type ReleaseIdentity = Pick<ReleaseRecord, 'releaseId' | 'service' | 'version' | 'commit'>;

/**
 * How long a claim whose release has no record yet still counts: its Prepare may be between the claim and the
 * record, or retrying (60 s Task timeout, five attempts with backoff). After this the claimant is taken for dead.
 */
export const CLAIM_GRACE_SECONDS = 10 * 60;

/**
 * Why `version` may not replace what is live in production, or undefined when it may: it must be greater (semver,
 * build metadata ignored), unless the catalog allows a downgrade. An equal version is not greater.
 */
export function versionProblem(
  version: string,
  live: Pick<CurrentRecord, 'version'> | undefined,
  allowDowngrade: boolean | undefined,
): string | undefined {
  // Live versions come from checked requests; one that is not semver cannot be compared, so it does not block.
  if (!live || allowDowngrade === true || !semver.valid(live.version) || !semver.valid(version)) return undefined;
  if (semver.gt(version, live.version)) return undefined;
  return `${version} is not greater than ${live.version}, live in production; set allowDowngrade in the catalog to allow it`;
}

/**
 * True when `claim` still keeps its build from being started again: its release is running or waiting, or
 * succeeded. A build that ended otherwise (failed, rejected, expired, rolled back) may be started again, and a
 * claim without a record is dead after CLAIM_GRACE_SECONDS.
 */
export function claimBlocks(claim: BuildClaim, holder: ReleaseRecord | undefined, now: Date): boolean {
  if (!holder) return now.getTime() - Date.parse(claim.claimedAt) < CLAIM_GRACE_SECONDS * 1000;
  return holder.status === 'SUCCEEDED' || !TERMINAL_STATUSES.includes(holder.status);
}

/** The version must move production forward; the error names the field and the live version. */
export async function checkVersion(
  store: ReleaseStore,
  release: ReleaseIdentity,
  allowDowngrade: boolean | undefined,
): Promise<FieldErrors> {
  const problem = versionProblem(release.version, await store.getCurrent(release.service, 'production'), allowDowngrade);
  return problem ? { version: problem } : {};
}

const duplicateMessage = (other: string) =>
  `this commit of this version is already released or being released by ${other}; start it again only after that one failed`;

/**
 * Read-only: what keeps this release from running now, by field (`version`, `commit`). Prepare calls it before it
 * writes; `launchway release` can call it before it uploads.
 */
export async function releaseOrderProblems(
  store: ReleaseStore,
  release: ReleaseIdentity,
  allowDowngrade: boolean | undefined,
  now: Date,
): Promise<{ fields: FieldErrors; claim?: BuildClaim }> {
  const fields = await checkVersion(store, release, allowDowngrade);
  const claim = await store.order.buildClaim(release.service, release.version, release.commit);
  if (claim && claim.releaseId !== release.releaseId && claimBlocks(claim, await store.getRelease(claim.releaseId), now)) {
    fields.commit = duplicateMessage(claim.releaseId);
  }
  return { fields, ...(claim ? { claim } : {}) };
}

/**
 * Checks the release against production and earlier starts of the same build, then claims the build for it. Two
 * starts of one build racing each other: the conditional claim lets one through and refuses the other.
 */
export async function claimReleaseOrder(
  store: ReleaseStore,
  release: ReleaseIdentity,
  allowDowngrade: boolean | undefined,
  now: Date,
): Promise<void> {
  const { fields, claim } = await releaseOrderProblems(store, release, allowDowngrade, now);
  if (Object.keys(fields).length > 0) throw outOfOrder(fields);
  const replacing = claim && claim.releaseId !== release.releaseId ? claim.releaseId : undefined;
  if (!(await store.order.claimBuild(release.service, release.version, release.commit, release.releaseId, replacing))) {
    const winner = await store.order.buildClaim(release.service, release.version, release.commit);
    throw outOfOrder({ commit: duplicateMessage(winner?.releaseId ?? 'another release') });
  }
}

/** The ValidationError for order problems, in the shape of every request problem. */
export function outOfOrder(fields: FieldErrors): ValidationError {
  const summary = Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
  return new ValidationError(`release request is invalid: ${summary}`, fields);
}
