import type { ArtifactStore } from '../artifact-store.js';
import { NotFoundError } from '../errors.js';
import { parseOpenApi } from '../openapi.js';
import type { ReleaseStore } from '../store/release-store.js';
import { type DiffOptions, diffContracts } from './diff.js';
import type { ApiChange } from './rules.js';

/** What a release changes for partners, against the contract production serves now: what Prepare keeps on the record. */
export interface ApiChangesSummary {
  /** The release production served when the diff ran; null on the service's first release (nothing to compare). */
  against: { releaseId: string; version: string } | null;
  /** Every change, breaking first (see {@link diffContracts}). */
  changes: ApiChange[];
  breaking: number;
  deprecations: number;
  nonBreaking: number;
}

/** What reading the live contract needs: the release records and the artifacts bucket. */
export interface LiveContractDeps {
  store: ReleaseStore;
  artifacts: ArtifactStore;
}

/**
 * Compares a release's contract (`specText`, the OpenAPI file as uploaded) with the contract of the release now live
 * in production for `service`: the one partners build against, not the one on main. A first release has nothing to
 * compare, so it changes nothing.
 *
 * @throws ValidationError naming `artifacts.openapi` when the release's contract does not validate.
 * @param options the catalog's `interop.basePath`, so a base path change counts only where partners see it.
 * @throws NotFoundError when production names a release whose record or contract is gone: the diff cannot say what
 *   partners have, and guessing "nothing changed" would hide a breaking change.
 */
export async function diffAgainstLive(
  deps: LiveContractDeps,
  service: string,
  specText: string,
  options: DiffOptions = {},
): Promise<ApiChangesSummary> {
  const next = (await parseOpenApi(specText, 'artifacts.openapi')).document;
  const current = await deps.store.getCurrent(service, 'production');
  if (!current) return summarize(null, await diffContracts(undefined, next));
  const live = await deps.store.getRelease(current.releaseId);
  const key = (live?.request as { artifacts?: { openapi?: unknown } } | undefined)?.artifacts?.openapi;
  if (typeof key !== 'string') {
    throw new NotFoundError(
      `the contract of ${service} ${current.version} (release ${current.releaseId}), live in production, is not on its record`,
    );
  }
  const liveText = await deps.artifacts.getText(key).catch((err: Error) => {
    throw new NotFoundError(`the contract of ${service} ${current.version} (${key}), live in production, cannot be read: ${err.message}`);
  });
  const before = (await parseOpenApi(liveText, `the live contract (${current.version})`)).document;
  const changes = await diffContracts(
    before,
    next,
    { before: `the live contract (${current.version})`, after: 'artifacts.openapi' },
    options,
  );
  return summarize({ releaseId: current.releaseId, version: current.version }, changes);
}

function summarize(against: ApiChangesSummary['against'], changes: ApiChange[]): ApiChangesSummary {
  const count = (severity: ApiChange['severity']) => changes.filter((c) => c.severity === severity).length;
  return { against, changes, breaking: count('breaking'), deprecations: count('deprecation'), nonBreaking: count('non-breaking') };
}
