import { readFile } from 'node:fs/promises';
import type { ArtifactStore } from '../functions/lib/artifact-store.js';
import { BUCKET_LAYOUT } from '../functions/lib/bucket-layout.js';
import { parseCatalog } from '../functions/lib/catalog.js';
import { type ApiChangesSummary, diffAgainstLive, type LiveContractDeps } from '../functions/lib/contract/live-contract.js';
import { ValidationError } from '../functions/lib/errors.js';
import { formatApiChanges, liveContractUnreadable } from './api-changes.js';
import { describeError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { readArtifacts } from './read-artifacts.js';
import { readStore } from './read-store.js';

/** What `launchway diff` is given. */
export interface DiffOptions {
  service: string;
  /** The OpenAPI or Swagger file to compare with the live contract. */
  openapi: string;
  json?: boolean;
}

/** The field a release's contract is named by in the library's errors (the release request's). */
const SPEC_FIELD = 'artifacts.openapi';

/**
 * `launchway diff`: compares a contract with the one production serves for the service and prints what changes for
 * partners (the ApiChangesSummary with --json). For a pull-request check, the exit code says whether something is
 * breaking: 3 then, 0 otherwise (a first release included: there is nobody to break).
 */
export async function runDiff(opts: DiffOptions): Promise<number> {
  const specText = await readSpec(opts.openapi);
  const deps = { store: readStore(), artifacts: readArtifacts() };
  await requireService(deps.artifacts, opts.service);
  const summary = await diffAgainstLive(deps, opts.service, specText).catch((err: unknown) => {
    throw namingOption(err, opts.openapi);
  });
  console.log(opts.json ? JSON.stringify(summary, null, 2) : formatApiChanges(opts.service, summary));
  return summary.breaking > 0 ? EXIT.BREAKING_API_CHANGE : EXIT.OK;
}

/**
 * What `launchway release` runs before it uploads or starts anything: the same diff, written to `write` (stderr), so
 * the job log shows the API changes before the release starts. It never refuses: when the live contract cannot be
 * read it says so and the release goes on, because the pipeline compares again before staging and its policy decides.
 */
export async function previewApiChanges(
  deps: LiveContractDeps,
  service: string,
  openapiFile: string,
  write: (text: string) => void,
): Promise<ApiChangesSummary | undefined> {
  try {
    const summary = await diffAgainstLive(deps, service, await readFile(openapiFile, 'utf8'));
    write(formatApiChanges(service, summary));
    return summary;
  } catch (err) {
    // The request check has validated the file already: what fails here is reading or parsing the live side.
    write(liveContractUnreadable(service, describeError(err).body.error.message));
    return undefined;
  }
}

async function readSpec(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ValidationError(`--openapi ${file} cannot be read: ${reason}`, { '--openapi': `${file}: ${reason}` });
  }
}

/**
 * A service the catalog does not list has no live release either: without this check a typo in a pull-request check
 * would pass as a "first release" every time.
 */
async function requireService(artifacts: ArtifactStore, service: string): Promise<void> {
  const key = process.env.CATALOG_KEY || BUCKET_LAYOUT.catalogKey;
  const catalog = parseCatalog(JSON.parse(await artifacts.getText(key)), artifacts.uri(key));
  if (Object.hasOwn(catalog.services, service)) return;
  throw new ValidationError(`--service ${service} is not in the catalog`, {
    '--service': `expected a service from the catalog (${Object.keys(catalog.services).join(', ')}); "${service}" is not in it`,
  });
}

/** The library names the contract `artifacts.openapi`, as in a release request; here it is the --openapi file. */
function namingOption(err: unknown, file: string): unknown {
  if (!(err instanceof ValidationError) || !Object.hasOwn(err.fields, SPEC_FIELD)) return err;
  const reason = err.fields[SPEC_FIELD];
  return new ValidationError(`--openapi ${file} is not a valid OpenAPI contract: ${reason}`, { '--openapi': `${file}: ${reason}` });
}
