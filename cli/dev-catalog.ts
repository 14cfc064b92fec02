import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../functions/lib/errors.js';

/** The catalog `launchway init` writes and `launchway dev` looks for in the working directory. */
export const CATALOG_FILE = 'launchway.catalog.json';

/**
 * The catalog `launchway dev` boots with: `--catalog`, else `launchway.catalog.json` in `cwd`. Never the bundled
 * example (only `launchway demo` uses it): a stack booted with someone else's services would look like it works.
 * Checked before the embedded runtime loads, so a missing catalog fails at once.
 */
export function findDevCatalog(option: string | undefined, cwd = process.cwd()): string {
  if (option !== undefined) {
    const file = path.resolve(cwd, option);
    if (!existsSync(file) || !statSync(file).isFile()) {
      throw new ValidationError(`no catalog file at ${file}`, { '--catalog': `${option}: no such file` });
    }
    return option;
  }
  const found = path.join(cwd, CATALOG_FILE);
  if (existsSync(found)) return CATALOG_FILE;
  throw new ValidationError(`launchway dev needs a service catalog: there is no ${CATALOG_FILE} in ${cwd}`, {
    '--catalog': [
      `not given, and ${cwd} has no ${CATALOG_FILE}. Any of:`,
      `    launchway init                    writes ${CATALOG_FILE} for this folder's service (and a CDK app, a workflow)`,
      '    launchway dev --catalog <file>    boots with the catalog you name',
      '    launchway demo                    releases the bundled example service instead',
    ].join('\n'),
  });
}
