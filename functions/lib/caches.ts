import { resetCatalog } from './catalog-source.js';
import { resetClients } from './clients.js';
import { resetConfig } from './config.js';
import { resetDeps } from './pipeline/deps.js';

/**
 * Forgets everything the domain code built once per process from the environment: the parsed configuration, the
 * SDK clients (destroyed), the catalog and the pipeline's stores. On AWS the environment never changes, so nothing
 * calls this; the embedded runtime re-points the environment at its emulators and must not keep a stale piece.
 * One list, so a cache added later is reset everywhere at once. The approval service needs no entry: it rebuilds
 * itself when the configuration object changes.
 */
export function resetCaches(): void {
  resetConfig();
  resetClients();
  resetCatalog();
  resetDeps();
}
