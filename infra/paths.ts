import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Paths the CDK app needs, resolved from this file rather than the working directory, so `cdk synth`, vitest and
 * a construct used from another folder all find the same files.
 */
const infraDir = path.dirname(fileURLToPath(import.meta.url));

/** The repository root (holds package.json and package-lock.json). */
export const REPO_ROOT = path.resolve(infraDir, '..');

// The CDK app finds every file it reads here; the ASL path itself lives next to the file, for local/ too.
export { RELEASE_ASL_PATH } from '../statemachines/paths.js';

/** The lock file esbuild bundling pins dependencies from. */
export const LOCK_FILE_PATH = path.join(REPO_ROOT, 'package-lock.json');

/** The sample catalog the app deploys when neither the `catalog` context nor LAUNCHWAY_CATALOG is set. */
export const DEFAULT_CATALOG_PATH = path.join(REPO_ROOT, 'examples', 'catalog.json');

/**
 * Where the installed package keeps its handlers bundled at build time (`npm pack` runs scripts/build-package.ts):
 * dist/lambda/<handler>/index.mjs beside dist/infra/. A checkout has no such folder next to infra/, so its synth
 * bundles from source.
 */
const PREBUNDLED_HANDLERS_DIR = path.resolve(infraDir, '..', 'lambda');

/** The folder of a handler bundled at build time, if this copy of Launchway has one. */
export function prebundledHandler(name: string): string | undefined {
  const dir = path.join(PREBUNDLED_HANDLERS_DIR, name);
  return existsSync(path.join(dir, 'index.mjs')) ? dir : undefined;
}

/** The entry file of a Lambda handler, by folder name under functions/. */
export function handlerEntry(name: string): string {
  return path.join(REPO_ROOT, 'functions', name, 'handler.ts');
}
