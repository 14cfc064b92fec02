import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCatalog, type Catalog } from '../functions/lib/catalog.js';

/**
 * Reads and validates a catalog file at synth, so a bad catalog never reaches a deploy. Every failure names the
 * file: a missing file, malformed JSON, or each invalid field with its path (from `parseCatalog`).
 */
export function loadCatalogFile(file: string): Catalog {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (err) {
    throw new Error(`Cannot read the Launchway catalog ${absolute}: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`The Launchway catalog ${absolute} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseCatalog(json, absolute);
}
