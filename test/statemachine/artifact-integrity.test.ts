import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, s3Client } from '../../functions/lib/clients.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { startRelease } from '../../cli/release-client.js';
import { decide, example, finish, nextCommit, service, startTestStack, step, waitForStatus, type TestStack } from '../helpers/pipeline.js';

/**
 * The artifact Prepare recorded is the one every deploy starts: an object replaced in S3 after Prepare fails the
 * deploy with ArtifactIntegrity, before production (FAILED) and in production (rolled back).
 */

let stack: TestStack;
let store: ReleaseStore;

beforeAll(async () => {
  stack = await startTestStack({ greeter: service(), packed: service() });
  store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
}, 60_000);
afterAll(async () => stack?.stopAll());

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const release = (version: string, files = version) =>
  startRelease({
    service: 'greeter',
    version,
    commit: nextCommit(),
    triggeredBy: 'ci@example.com',
    artifact: example(files, 'service.mjs'),
    collection: example(files, 'collection.postman.json'),
    openapi: example(files, 'openapi.yaml'),
  });
const bundleKey = (view: { request: unknown }) => (view.request as { artifacts: { bundle: string } }).artifacts.bundle;

async function replaceObject(key: string, body: string): Promise<void> {
  await s3Client().send(new PutObjectCommand({ Bucket: process.env.ARTIFACTS_BUCKET!, Key: key, Body: body }));
}

describe('a directory artifact', () => {
  it('is uploaded as one <dir>.tar.gz whose sha256 the request carries and Prepare records; a retry is recognised', async () => {
    const dir = path.join(stack.dataDir, 'build');
    await mkdir(path.join(dir, 'node_modules', 'dep'), { recursive: true });
    await writeFile(path.join(dir, 'package.json'), '{"type":"module","dependencies":{"dep":"1.0.0"}}');
    await writeFile(path.join(dir, 'node_modules', 'dep', 'index.js'), 'export default 1;\n');
    await symlink('dep', path.join(dir, 'node_modules', 'dep-alias'));
    // Held, so the release stays QUEUED after Prepare: only the upload and the record are looked at here.
    expect((await store.acquireLock('packed', 'test-holder', 600)).acquired).toBe(true);
    const opts = {
      service: 'packed',
      version: '1.0.0',
      commit: 'abcdef1',
      triggeredBy: 'ci@example.com',
      artifact: dir,
      collection: example('1.0.0', 'collection.postman.json'),
      openapi: example('1.0.0', 'openapi.yaml'),
    };
    const started = await startRelease(opts);
    const view = await waitForStatus(started.releaseId, ['QUEUED']);
    const key = bundleKey(view);
    expect(key).toMatch(/\/build\.tar\.gz$/);
    const object = await s3Client().send(new GetObjectCommand({ Bucket: process.env.ARTIFACTS_BUCKET!, Key: key }));
    const uploaded = await object.Body!.transformToByteArray();
    expect(view.artifactSha256).toBe(sha256(uploaded));
    expect(view.request).toMatchObject({ artifacts: { bundleSha256: sha256(uploaded) } });
    // The same directory packs to the same digest, so the CI retry starts nothing new.
    expect(await startRelease(opts)).toMatchObject({ releaseId: started.releaseId, started: false });
  });
});

describe('an artifact replaced after Prepare', () => {
  it('fails the staging deploy with ArtifactIntegrity naming the key and both digests; nothing is started', async () => {
    const expected = sha256(await readFile(example('1.0.0', 'service.mjs')));
    // Another holder keeps the release QUEUED after Prepare, so the object can be replaced before DeployStaging.
    expect((await store.acquireLock('greeter', 'test-holder', 600)).acquired).toBe(true);
    const started = await release('1.0.0');
    const queued = await waitForStatus(started.releaseId, ['QUEUED']);
    expect(queued.artifactSha256).toBe(expected);
    expect(queued.request).toMatchObject({ artifacts: { bundleSha256: expected } });
    const key = (queued.request as { artifacts: { bundle: string } }).artifacts.bundle;
    await replaceObject(key, 'export const tampered = true;\n');
    await store.releaseLock('greeter', 'test-holder');

    const view = await finish(started);
    expect(view.status).toBe('FAILED');
    expect(view.error).toMatchObject({ error: 'ArtifactIntegrity', state: 'DeployStaging' });
    const found = sha256(Buffer.from('export const tampered = true;\n'));
    expect(view.error!.cause).toContain(key);
    expect(view.error!.cause).toContain(`expected sha256 ${expected}, found ${found}`);
    const deploy = step(view, 'DeployStaging');
    expect(deploy).toMatchObject({ status: 'FAILED', error: { error: 'ArtifactIntegrity' } });
    expect(deploy.details).toMatchObject({ handle: {} });
    expect(await store.getCurrent('greeter', 'staging')).toBeUndefined();
  }, 90_000);

  it('in production: the deploy fails before it starts and the release rolls back; CURRENT keeps the digest', async () => {
    const started = await release('1.1.0');
    await waitForStatus(started.releaseId, ['AWAITING_APPROVAL']);
    const view0 = (await store.getView(started.releaseId))!;
    const staging = await store.getCurrent('greeter', 'staging');
    expect(staging).toMatchObject({ releaseId: started.releaseId, artifactSha256: view0.artifactSha256 });
    const key = (view0.request as { artifacts: { bundle: string } }).artifacts.bundle;
    await replaceObject(key, 'export const swapped = true;\n');
    await decide(stack, started.releaseId, 'lead@example.com', 'approve');

    const view = await finish(started);
    expect(view.status).toBe('ROLLED_BACK');
    expect(view.error).toMatchObject({ error: 'ArtifactIntegrity', state: 'DeployProduction' });
    expect(step(view, 'DeployProduction')).toMatchObject({ status: 'FAILED', error: { error: 'ArtifactIntegrity' } });
    expect(step(view, 'Rollback').status).toBe('SUCCEEDED');
    expect(await store.getCurrent('greeter', 'production')).toBeUndefined();
  }, 90_000);

  it("fails the rollback too when the previous version's artifact was replaced: ROLLBACK_FAILED, production left as it was", async () => {
    const live = await release('1.1.0');
    await decide(stack, live.releaseId, 'lead@example.com', 'approve');
    const liveView = await finish(live);
    expect(liveView.status).toBe('SUCCEEDED');
    expect(await store.getCurrent('greeter', 'production')).toMatchObject({
      releaseId: live.releaseId,
      artifactSha256: liveView.artifactSha256,
    });

    const next = await release('1.1.1', '1.1.0');
    await waitForStatus(next.releaseId, ['AWAITING_APPROVAL']);
    await replaceObject(bundleKey((await store.getView(next.releaseId))!), 'export const swapped = 2;\n');
    await replaceObject(bundleKey(liveView), 'export const swapped = 1;\n');
    await decide(stack, next.releaseId, 'lead@example.com', 'approve');

    const view = await finish(next);
    expect(view.status).toBe('ROLLBACK_FAILED');
    expect(view.error).toMatchObject({
      error: 'ArtifactIntegrity',
      state: 'Rollback',
      rollbackOf: { error: 'ArtifactIntegrity', state: 'DeployProduction' },
    });
    expect(view.error!.cause).toContain(bundleKey(liveView));
    expect(await store.getCurrent('greeter', 'production')).toMatchObject({ releaseId: live.releaseId });
  }, 120_000);
});
