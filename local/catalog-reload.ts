import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { resetCatalog } from '../functions/lib/catalog-source.js';
import { parseCatalog, type Catalog } from '../functions/lib/catalog.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './emulators.js';

/** Where the stack's handlers read the catalog: the embedded S3 endpoint, bucket and key. */
export interface CatalogLocation {
  endpoint: string;
  bucket: string;
  key: string;
}

export type CatalogReload = { ok: true; catalog: Catalog } | { ok: false; errors: string };

/** Uploads a parsed catalog where the handlers read it. */
export async function publishCatalog(at: CatalogLocation, catalog: Catalog): Promise<void> {
  const s3 = new S3Client({
    endpoint: at.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  try {
    await s3.send(
      new PutObjectCommand({ Bucket: at.bucket, Key: at.key, Body: JSON.stringify(catalog, null, 2), ContentType: 'application/json' }),
    );
  } finally {
    s3.destroy();
  }
}

/** Reads and checks a catalog file: the parsed catalog, or every problem found. */
async function readCatalogFile(file: string): Promise<CatalogReload> {
  let input: unknown;
  try {
    input = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    return { ok: false, errors: `${file} is not readable JSON: ${(err as Error).message}` };
  }
  try {
    return { ok: true, catalog: parseCatalog(input, file) };
  } catch (err) {
    return { ok: false, errors: (err as Error).message };
  }
}

/**
 * Publishes the catalog file when it is valid and forgets the cached one, so the next step reads it; an invalid
 * file changes nothing. Releases already running keep the catalog they were prepared with (their record holds it).
 * Only the catalog cache is reset, not every cache: the SDK clients are shared with steps running right now.
 */
async function reloadCatalog(file: string, at: CatalogLocation): Promise<CatalogReload> {
  const read = await readCatalogFile(file);
  if (!read.ok) return read;
  await publishCatalog(at, read.catalog);
  resetCatalog();
  return read;
}

export interface CatalogWatcher {
  /** Settles once the file's current content is known: edits after it are compared with it. */
  ready: Promise<void>;
  close(): void;
}

/**
 * Reloads the catalog whenever its file changes, `debounceMs` after the last change (an editor's save is several
 * events). The directory is watched rather than the file: editors that save by renaming replace the file, and a
 * watch on the old one would go quiet. A save that leaves the content as it was does nothing.
 */
export function watchCatalog(opts: {
  file: string;
  at: CatalogLocation;
  onReload: (result: CatalogReload) => void;
  debounceMs?: number;
}): CatalogWatcher {
  const file = path.resolve(opts.file);
  const name = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  let last: string | undefined;
  let running = Promise.resolve();
  const check = () => {
    running = running.then(async () => {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined || text === last) return;
      const result = await reloadCatalog(file, opts.at).catch(
        (err: unknown): CatalogReload => ({ ok: false, errors: `the catalog could not be published: ${(err as Error).message}` }),
      );
      // An invalid text is remembered too, so it is reported once, not at every event of the same save.
      last = text;
      opts.onReload(result);
    });
  };
  const primed = readFile(file, 'utf8').then(
    (text) => {
      last = text;
    },
    () => undefined,
  );
  const watcher: FSWatcher = watch(path.dirname(file), (_event, changed) => {
    if (changed !== null && changed !== name) return;
    clearTimeout(timer);
    timer = setTimeout(() => void primed.then(check), opts.debounceMs ?? 200);
  });
  return {
    ready: primed,
    close: () => {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
