/**
 * Where things live in the artifacts bucket. The handlers, the CLI and the embedded runtime read and write these
 * keys, and the construct's IAM grants (infra/) are scoped to the same prefixes, so a handler writing anywhere else
 * gets AccessDenied on AWS.
 */
export const BUCKET_LAYOUT = {
  /** The deployed service catalog (CATALOG_KEY). */
  catalogKey: 'config/catalog.json',
  /** What `launchway release` uploads (from CI): each release's bundle, collection and contract. */
  releaseUploadsPrefix: 'releases/',
  /** Newman JUnit and JSON reports of the smoke tests and the production validation. */
  reportsPrefix: 'reports/',
  /** Published release notes. */
  releaseNotesPrefix: 'release-notes/',
} as const;

/** Where `launchway release` uploads one release's files: `releases/<service>/<version>/<commit>`. */
export function releaseUploadPrefix(service: string, version: string, commit: string): string {
  return `${BUCKET_LAYOUT.releaseUploadsPrefix}${service}/${version}/${commit}`;
}

/** Where one Newman run's reports go: `reports/<service>/<releaseId>/<stage>`. */
export function reportPrefix(service: string, releaseId: string, stage: 'staging' | 'production'): string {
  return `${BUCKET_LAYOUT.reportsPrefix}${service}/${releaseId}/${stage}`;
}

/**
 * The notes' keys: one pair per release, under the service, named by version and commit through the release id, and
 * next to them the API changes a team forwards to partners (written when a live contract was compared).
 */
export function releaseNotesKeys(service: string, releaseId: string): { markdownKey: string; jsonKey: string; apiChangesKey: string } {
  const base = `${BUCKET_LAYOUT.releaseNotesPrefix}${service}/${releaseId}`;
  return { markdownKey: `${base}.md`, jsonKey: `${base}.json`, apiChangesKey: `${base}.api-changes.md` };
}
