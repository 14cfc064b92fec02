import { ArtifactStore } from './artifact-store.js';
import { parseCatalog, type Catalog, type ServiceConfig } from './catalog.js';
import { s3Client } from './clients.js';
import { getConfig } from './config.js';

/**
 * The catalog is deployed with the stack to `s3://$ARTIFACTS_BUCKET/$CATALOG_KEY` and read once per cold start.
 * The embedded runtime uploads the same file at boot.
 */
let cached: Promise<Catalog> | undefined;

export function loadCatalog(): Promise<Catalog> {
  cached ??= (async () => {
    const { ARTIFACTS_BUCKET, CATALOG_KEY } = getConfig();
    const text = await new ArtifactStore(s3Client(), ARTIFACTS_BUCKET).getText(CATALOG_KEY);
    return parseCatalog(JSON.parse(text), `s3://${ARTIFACTS_BUCKET}/${CATALOG_KEY}`);
  })().catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

/** The configuration of one service, or undefined when the catalog does not list it. */
export async function findService(name: string): Promise<ServiceConfig | undefined> {
  const catalog = await loadCatalog();
  return Object.hasOwn(catalog.services, name) ? catalog.services[name] : undefined;
}

/** Forgets the cached catalog (embedded runtime restarts, tests). */
export function resetCatalog(): void {
  cached = undefined;
}
