import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRelease } from '../../cli/release-client.js';
import { ValidationError } from '../../functions/lib/errors.js';

// Every file of a release is uploaded under its own name in the release's folder: two with one name would overwrite
// each other, so `launchway release` refuses them before reading the catalog or uploading anything.

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'upload-names-'));
  for (const sub of ['postman', 'openapi', 'env', 'dist']) await mkdir(path.join(dir, sub));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refusal(files: { artifact: string; collection: string; openapi: string; environment?: string }): Promise<ValidationError> {
  for (const file of Object.values(files)) await writeFile(path.join(dir, file), '{}');
  const at = (f: string | undefined) => (f === undefined ? undefined : path.join(dir, f));
  const err = await startRelease({
    service: 'svc',
    version: '1.0.0',
    commit: 'abc1234',
    triggeredBy: 'test',
    artifact: at(files.artifact),
    collection: at(files.collection)!,
    openapi: at(files.openapi)!,
    environment: at(files.environment),
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

describe('launchway release file names', () => {
  it('refuses a collection, an environment and an OpenAPI file of one name, naming both options', async () => {
    const err = await refusal({
      artifact: 'dist/service.mjs',
      collection: 'postman/api.json',
      openapi: 'openapi/api.json',
      environment: 'env/api.json',
    });
    expect(err.fields).toEqual({
      '--openapi': '--openapi and --collection are both named api.json, so one would overwrite the other; rename one',
      '--environment': '--environment and --collection are both named api.json, so one would overwrite the other; rename one',
    });
  });

  it('refuses an artifact named like another file', async () => {
    const err = await refusal({ artifact: 'dist/collection.json', collection: 'postman/collection.json', openapi: 'openapi/api.yaml' });
    expect(err.fields).toEqual({
      '--collection': '--collection and --artifact are both named collection.json, so one would overwrite the other; rename one',
    });
  });
});
