import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { findService } from '../../functions/lib/catalog-source.js';
import { parseCatalog } from '../../functions/lib/catalog.js';
import { s3Client } from '../../functions/lib/clients.js';
import { publishCatalog, watchCatalog, type CatalogReload, type CatalogWatcher } from '../../local/catalog-reload.js';
import { ROOT } from '../helpers/dev-process.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';

/** `launchway dev`'s catalog watch: a valid edit is published and read by the next step; an invalid one changes nothing. */
const KEY = 'config/catalog.json';
let emu: TestEmulators;
let dir: string;
let file: string;
let watcher: CatalogWatcher;
const results: CatalogReload[] = [];

/** Saves as editors do, into a temporary file renamed over the catalog, so no reload sees half a file. */
async function save(text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

/** The next reload result, waited for (bounded). */
async function nextReload(seen: number, timeoutMs = 20_000): Promise<CatalogReload> {
  const deadline = Date.now() + timeoutMs;
  while (results.length <= seen) {
    if (Date.now() > deadline) throw new Error(`no catalog reload within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return results[seen];
}

beforeAll(async () => {
  emu = await startTestEmulators();
  process.env.CATALOG_KEY = KEY;
  dir = await mkdtemp(path.join(tmpdir(), 'launchway-catalog-'));
  file = path.join(dir, 'catalog.json');
  const text = await readFile(path.join(ROOT, 'examples/catalog.json'), 'utf8');
  await writeFile(file, text);
  const at = { endpoint: emu.s3.url, bucket: emu.bucket, key: KEY };
  await publishCatalog(at, parseCatalog(JSON.parse(text)));
  watcher = watchCatalog({ file, at, onReload: (r) => results.push(r), debounceMs: 100 });
  await watcher.ready;
}, 60_000);

afterAll(async () => {
  watcher?.close();
  await emu?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('catalog reload', () => {
  it('a valid edit is published and the next read of the catalog sees it', async () => {
    expect(await findService('greeter-two')).toBeUndefined();
    const catalog = JSON.parse(await readFile(file, 'utf8'));
    const before = Object.keys(catalog.services);
    catalog.services['greeter-two'] = { ...catalog.services.greeter, description: 'a second greeter' };
    await save(JSON.stringify(catalog, null, 2));
    const result = await nextReload(0);
    expect(result.ok).toBe(true);
    const published = JSON.parse(await new ArtifactStore(s3Client(), emu.bucket).getText(KEY));
    expect(Object.keys(published.services)).toEqual([...before, 'greeter-two']);
    expect(await findService('greeter-two')).toMatchObject({ description: 'a second greeter' });
  });

  it('an invalid edit is refused with its errors; the published catalog stays', async () => {
    const before = await new ArtifactStore(s3Client(), emu.bucket).getText(KEY);
    const catalog = JSON.parse(await readFile(file, 'utf8'));
    catalog.services.greeter.requiredApprovals = 0;
    catalog.services.greeter.stagging = { type: 'local-process' };
    // Replaced by a rename: the watch is on the directory, so it still sees the catalog's next saves.
    await save(JSON.stringify(catalog));
    const result = await nextReload(1);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toContain('is not a valid Launchway catalog');
    expect(result.errors).toContain('services.greeter.requiredApprovals');
    expect(result.errors).toContain('stagging');
    expect(await new ArtifactStore(s3Client(), emu.bucket).getText(KEY)).toBe(before);
    expect(await findService('greeter-two')).toMatchObject({ description: 'a second greeter' });
  });

  it('a file that is not JSON is refused the same way', async () => {
    await save('{ "services": ');
    const result = await nextReload(2);
    expect(result).toMatchObject({ ok: false, errors: expect.stringContaining('is not readable JSON') });
  });
});
