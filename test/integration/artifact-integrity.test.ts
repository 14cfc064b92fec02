import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyArtifact, verifyRestore } from '../../functions/lib/artifact-integrity.js';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { documentClient, s3Client } from '../../functions/lib/clients.js';
import { ArtifactIntegrityError, ValidationError } from '../../functions/lib/errors.js';
import type { PipelineDeps } from '../../functions/lib/pipeline/deps.js';
import { prepareRelease } from '../../functions/lib/pipeline/prepare.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { example, service } from '../helpers/pipeline.js';

/** Prepare's digest check and the deploy-time re-check, against s3rver and dynalite. */

let emu: TestEmulators;
let store: ReleaseStore;
let artifacts: ArtifactStore;
let deps: PipelineDeps;

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const notUsed = () => {
  throw new Error('Prepare does not deploy');
};

beforeAll(async () => {
  emu = await startTestEmulators();
  store = new ReleaseStore(documentClient(), emu.table);
  artifacts = new ArtifactStore(s3Client(), emu.bucket);
  deps = {
    store,
    artifacts,
    findService: async (name) => (name === 'greeter' ? service() : undefined),
    providerFor: notUsed,
    provisioner: notUsed,
    notifier: notUsed,
    now: () => new Date(),
  };
  await artifacts.put('up/collection.json', await readFile(example('1.0.0', 'collection.postman.json')));
  await artifacts.put('up/openapi.yaml', await readFile(example('1.0.0', 'openapi.yaml')));
}, 60_000);
afterAll(async () => emu?.stop());

let n = 0;
/** Prepares a release of `bundle` (uploaded under a fresh key) with the given request artifacts. */
async function prepare(bundle: Uint8Array, artifactsExtra: Record<string, string> = {}) {
  n += 1;
  const key = `up/${n}/build.tar.gz`;
  await artifacts.put(key, bundle);
  const releaseId = `greeter-1.0.${n}-abc1234`;
  const request = {
    service: 'greeter',
    version: `1.0.${n}`,
    commit: 'abc1234',
    triggeredBy: 'ci@example.com',
    artifacts: { bundle: key, collection: 'up/collection.json', openapi: 'up/openapi.yaml', ...artifactsExtra },
  };
  const run = prepareRelease(deps, { releaseId, executionArn: `arn:aws:states:::execution:x:${releaseId}`, request });
  return { key, releaseId, run };
}

describe('Prepare checks the bundle digest against the object in S3', () => {
  it('records the digest the request gave when the object hashes to it', async () => {
    const bytes = randomBytes(1024);
    const { releaseId, run } = await prepare(bytes, { bundleSha256: sha256(bytes) });
    await run;
    expect(await store.getRelease(releaseId)).toMatchObject({ status: 'PENDING', artifactSha256: sha256(bytes) });
  });

  it('computes it, streamed, for a CI that sends none (a 24 MiB object)', async () => {
    const bytes = randomBytes(24 * 1024 * 1024);
    const { releaseId, run } = await prepare(bytes);
    await run;
    expect((await store.getRelease(releaseId))?.artifactSha256).toBe(sha256(bytes));
  });

  it('refuses a mismatch with ValidationError on artifacts.bundleSha256; the record is FAILED with the field', async () => {
    const bytes = Buffer.from('the build CI uploaded');
    const claimed = sha256('the build CI hashed');
    const { key, releaseId, run } = await prepare(bytes, { bundleSha256: claimed });
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const message = (err as ValidationError).fields['artifacts.bundleSha256'];
    expect(message).toBe(`expected the sha256 of ${key}; the request says ${claimed} but the uploaded bytes hash to ${sha256(bytes)}`);
    const record = await store.getRelease(releaseId);
    expect(record).toMatchObject({ status: 'FAILED', error: { error: 'ValidationError', fields: { 'artifacts.bundleSha256': message } } });
    expect(record?.artifactSha256).toBeUndefined();
  });

  it('checks the Postman environment the request names', async () => {
    await artifacts.put('up/env.json', JSON.stringify({ name: 'local', values: [{ key: 'apiUrl', value: 'http://x' }] }));
    const ok = await prepare(Buffer.from('a'), { environment: 'up/env.json' });
    await ok.run;
    await artifacts.put('up/env-broken.json', JSON.stringify({ values: [{ value: 'no key' }] }));
    const broken = await prepare(Buffer.from('b'), { environment: 'up/env-broken.json' });
    const err = (await broken.run.catch((e: unknown) => e)) as ValidationError;
    expect(err.fields['artifacts.environment']).toMatch(/^expected a Postman environment: values\.0\.key: expected the variable name/);
    const missing = await prepare(Buffer.from('c'), { environment: 'up/none.json' });
    const gone = (await missing.run.catch((e: unknown) => e)) as ValidationError;
    expect(gone.fields['artifacts.environment']).toBe('expected a file at up/none.json; it does not exist');
  });
});

describe('verifyArtifact and verifyRestore', () => {
  it('pass the recorded object, and refuse one replaced or deleted with ArtifactIntegrity naming the key and digests', async () => {
    await artifacts.put('live/a.tar.gz', 'one');
    await verifyArtifact(artifacts, 'live/a.tar.gz', sha256('one'));
    await artifacts.put('live/a.tar.gz', 'two');
    const changed = await verifyArtifact(artifacts, 'live/a.tar.gz', sha256('one')).catch((e: unknown) => e);
    expect(changed).toBeInstanceOf(ArtifactIntegrityError);
    expect((changed as Error).name).toBe('ArtifactIntegrity');
    expect((changed as Error).message).toBe(
      `artifact s3://${emu.bucket}/live/a.tar.gz changed after it was recorded: expected sha256 ${sha256('one')}, found ${sha256('two')}`,
    );
    await s3Client().send(new DeleteObjectCommand({ Bucket: emu.bucket, Key: 'live/a.tar.gz' }));
    const deleted = await verifyArtifact(artifacts, 'live/a.tar.gz', sha256('one')).catch((e: unknown) => e);
    expect(deleted).toBeInstanceOf(ArtifactIntegrityError);
    expect((deleted as Error).message).toMatch(/live\/a\.tar\.gz no longer exists; expected sha256/);
  });

  it('check a rollback target that restarts from the artifact, not one restored from its own copy', async () => {
    await artifacts.put('live/b.mjs', 'replaced');
    const previous = { version: '1.0.0', artifactKey: 'live/b.mjs', artifactSha256: sha256('original'), releaseId: 'r1', handle: {} };
    const local = service().production;
    await expect(verifyRestore(artifacts, local, previous)).rejects.toThrow(ArtifactIntegrityError);
    const lambda = { ...local, type: 'lambda-alias' } as unknown as typeof local;
    await expect(verifyRestore(artifacts, lambda, previous)).resolves.toBeUndefined();
    // A deployment recorded before digests were kept is not checked.
    await expect(verifyRestore(artifacts, local, { ...previous, artifactSha256: undefined })).resolves.toBeUndefined();
  });
});
