import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of Launchway's own package.json: the repository root when the CLI runs from source (cli/), the
 * installed package's folder when it runs compiled (dist/cli/). The bundled examples, the catalog schema and the
 * version are found from here, never from the working directory.
 */
const PACKAGE_ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`launchway: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
})();

/** A path inside the Launchway package (`examples/catalog.json`, `schemas/catalog.schema.json`). */
export function packagePath(...parts: string[]): string {
  return path.join(PACKAGE_ROOT, ...parts);
}
