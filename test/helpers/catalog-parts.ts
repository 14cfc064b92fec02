import { InteropSchema, type InteropConfig } from '../../functions/lib/catalog.js';
import { LocalProcessTargetSchema, type LocalProcessTarget } from '../../functions/lib/deploy/targets.js';

/**
 * Catalog parts as the schema makes them, so a test names only what it cares about and a new field's default
 * reaches every test at once. Tests start versions quickly and stop replaced ones at once unless they say otherwise.
 */
export function localProcessTarget(fields: Partial<Omit<LocalProcessTarget, 'type'>> = {}): LocalProcessTarget {
  return LocalProcessTargetSchema.parse({ startTimeoutSeconds: 15, drainSeconds: 0, ...fields, type: 'local-process' });
}

/** `interop` with the catalog's defaults (enabled, no key, stage v1, basePath prepend) and `overrides`. */
export function interopConfig(overrides: Partial<InteropConfig> = {}): InteropConfig {
  return InteropSchema.parse(overrides);
}
