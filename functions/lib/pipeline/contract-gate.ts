import semver from 'semver';
import { apiOwnersOf, type ServiceConfig } from '../catalog.js';
import { diffAgainstLive, type ApiChangesSummary, type LiveContractDeps } from '../contract/live-contract.js';
import type { ApiChange } from '../contract/rules.js';
import { BreakingApiChangeError } from '../errors.js';
import type { ReleaseApiChanges } from '../store/records.js';

/**
 * The contract gate Prepare applies: what the release changes for partners against the live contract, and what
 * the service's `interop.breakingChanges` makes of the breaking changes (docs/architecture.md, "Contract gate").
 */

/** The most changes a `BreakingApiChange` message lists; the record's `apiChanges` keeps them all. */
export const MAX_LISTED_CHANGES = 50;

/** Diffs `specText` (the release's contract as uploaded) against the live contract and applies the policy. */
export async function checkContract(
  deps: LiveContractDeps,
  release: { service: string; version: string },
  service: Pick<ServiceConfig, 'approvers' | 'interop'>,
  specText: string,
): Promise<ReleaseApiChanges> {
  const summary = await diffAgainstLive(deps, release.service, specText, { basePathMode: service.interop.basePath });
  return applyPolicy(summary, release.version, service);
}

/**
 * The service's policy over a diff: `ownerApprovalRequired` when the policy is `approve`, something breaks, and the
 * version is not a semver major bump over the live one that `allowBreakingOnMajor` accepts as the team's declaration.
 */
export function applyPolicy(
  summary: ApiChangesSummary,
  version: string,
  service: Pick<ServiceConfig, 'approvers' | 'interop'>,
): ReleaseApiChanges {
  const policy = service.interop.breakingChanges;
  const declared = service.interop.allowBreakingOnMajor && isMajorBump(summary.against?.version, version);
  return {
    ...summary,
    policy,
    ownerApprovalRequired: policy === 'approve' && summary.breaking > 0 && !declared,
    apiOwners: apiOwnersOf(service),
  };
}

/** True when `next` raises the major version of `live` (semver; a version that is not semver is no declaration). */
export function isMajorBump(live: string | undefined, next: string): boolean {
  if (!live || !semver.valid(live) || !semver.valid(next)) return false;
  return semver.major(next) > semver.major(live);
}

/** True when the policy is `block` and something breaks: the release must not reach staging. */
export const blocksRelease = (changes: ReleaseApiChanges | undefined): changes is ReleaseApiChanges =>
  changes?.policy === 'block' && changes.breaking > 0;

/** The `BreakingApiChange` error of a blocked release, listing each breaking change (method, path, what changed). */
export function breakingApiChangeError(release: { service: string; version: string }, changes: ReleaseApiChanges): BreakingApiChangeError {
  const breaking = changes.changes.filter((c) => c.severity === 'breaking');
  const listed = breaking.slice(0, MAX_LISTED_CHANGES).map((c) => `- ${describeChange(c)}`);
  if (breaking.length > listed.length) listed.push(`- and ${breaking.length - listed.length} more (all on the release's apiChanges)`);
  const live = changes.against ? `${changes.against.version} (release ${changes.against.releaseId})` : 'the live contract';
  return new BreakingApiChangeError(
    `${release.service} ${release.version} has ${breaking.length} breaking API change(s) against ${live}, live in production, ` +
      `and interop.breakingChanges is block:\n${listed.join('\n')}`,
  );
}

/** One change as a line: method and path (or the whole API), where in the operation, what changed. */
function describeChange(c: ApiChange): string {
  const where = [c.method, c.path].filter(Boolean).join(' ') || 'the whole API';
  return `${where} (${c.location}): ${c.change}`;
}
