import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { s3Client, documentClient } from '../../functions/lib/clients.js';
import { provisionerFromConfig } from '../../functions/lib/interop/index.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { publishedInterop } from '../../functions/lib/store/records.js';
import { STEPS } from '../../functions/steps.js';
import { decide, finish, get, releaseOf, service, startTestStack, step, type TestStack } from '../helpers/pipeline.js';

/**
 * One service through its life on the real ASL in the embedded engine: a first release, a staging failure that
 * never touches production, a production failure that rolls back, and an upgrade.
 */
let stack: TestStack;
let store: ReleaseStore;
let artifacts: ArtifactStore;

beforeAll(async () => {
  stack = await startTestStack({ greeter: service() });
  store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
  artifacts = new ArtifactStore(s3Client(), process.env.ARTIFACTS_BUCKET!);
}, 60_000);
afterAll(async () => stack?.stopAll());

async function gatewayKey(releaseId: string): Promise<string> {
  const interop = publishedInterop(await store.stepResult(releaseId, 'ProvisionInterop'))!;
  return provisionerFromConfig().apiKeyValue('greeter', String(interop.validationKeyId));
}

describe('release lifecycle of one service', () => {
  let first: { releaseId: string; prodUrl: string; interopUrl: string; key: string };

  it('happy path: every step succeeds, production and the gateway serve the release, notes are in S3', async () => {
    const started = await releaseOf({ service: 'greeter', version: '1.0.0', commit: 'aaaa111' });
    const [, view] = await Promise.all([decide(stack, started.releaseId, 'lead@example.com', 'approve', 'ship it'), finish(started)]);

    expect(view.status).toBe('SUCCEEDED');
    const expected = STEPS.filter((s) => s !== 'Rollback');
    expect(view.steps.map((s) => s.step)).toEqual(expected);
    for (const s of view.steps) {
      expect(s.status, s.step).toBe('SUCCEEDED');
      expect(Date.parse(s.endedAt!)).toBeGreaterThanOrEqual(Date.parse(s.startedAt));
      expect(s.durationMs, s.step).toBeTypeOf('number');
    }
    expect(step(view, 'SmokeTestStaging').details).toMatchObject({ failed: 0 });
    expect(Number(step(view, 'SmokeTestStaging').details!.total)).toBeGreaterThan(0);
    expect(view.approval?.decisions).toEqual([
      expect.objectContaining({ approver: 'lead@example.com', decision: 'approve', comment: 'ship it' }),
    ]);

    const prod = await store.getCurrent('greeter', 'production');
    expect(prod?.version).toBe('1.0.0');
    const prodUrl = String(prod!.handle.url);
    expect((await get(`${prodUrl}/greetings/ada`)).body).toMatchObject({ message: 'Hello, ada!', version: '1.0.0' });

    const interopUrl = view.links!.interopUrl;
    const key = await gatewayKey(view.releaseId);
    expect((await get(`${interopUrl}/greetings/ada`, key)).body).toMatchObject({ version: '1.0.0' });
    expect((await get(`${interopUrl}/greetings/ada`)).status).toBe(403);
    expect((await get(`${interopUrl}/health`, key)).status).toBe(404);

    const notesKey = view.links!.releaseNotes.replace(`s3://${artifacts.bucket}/`, '');
    const notes = await artifacts.getText(notesKey);
    expect(notes).toContain('1.0.0');
    expect(notes).toContain('aaaa111');
    expect(notes).toContain('lead@example.com');
    const json = JSON.parse(await artifacts.getText(notesKey.replace(/\.md$/, '.json')));
    expect(json).toMatchObject({
      version: '1.0.0',
      commit: 'aaaa111',
      approvals: [expect.objectContaining({ approver: 'lead@example.com' })],
    });
    expect(json.tests.staging.failed).toBe(0);
    expect(json.tests.production.failed).toBe(0);
    first = { releaseId: view.releaseId, prodUrl, interopUrl, key };
  });

  it('a staging smoke failure ends FAILED and leaves production untouched', async () => {
    const before = await store.getCurrent('greeter', 'production');
    const started = await releaseOf({
      service: 'greeter',
      version: '1.2.0',
      bundleFrom: '1.2.0-broken',
      collectionFrom: '1.1.0',
      openapiFrom: '1.1.0',
    });
    const view = await finish(started);

    expect(view.status).toBe('FAILED');
    expect(view.error?.error).toBe('SmokeTestsFailed');
    expect(step(view, 'SmokeTestStaging').status).toBe('FAILED');
    expect(Number(step(view, 'SmokeTestStaging').details!.failed)).toBeGreaterThan(0);
    expect(view.steps.map((s) => s.step)).not.toContain('DeployProduction');
    expect(view.approval).toBeUndefined();
    expect(await store.getCurrent('greeter', 'production')).toEqual(before);
    expect((await get(`${first.prodUrl}/greetings/ada`)).body).toMatchObject({ version: '1.0.0' });
  });

  it('a production validation failure rolls back: the previous version serves and the gateway has its previous routes', async () => {
    const gatewayBefore = (await (await fetch(`${process.env.LOCAL_GATEWAY_ADMIN_URL}/services/greeter`)).json()) as {
      currentDeploymentId: string | null;
    };
    // 1.1.0's collection tests GET /languages, which the 1.0.0 contract does not publish: staging (direct) passes,
    // production through the gateway answers 404.
    const started = await releaseOf({ service: 'greeter', version: '1.1.0', openapiFrom: '1.0.0' });
    const [, view] = await Promise.all([decide(stack, started.releaseId, 'qa@example.com', 'approve'), finish(started)]);

    expect(view.status).toBe('ROLLED_BACK');
    expect(view.error?.error).toBe('ProductionValidationFailed');
    expect(step(view, 'DeployProduction').status).toBe('SUCCEEDED');
    expect(step(view, 'ProvisionInterop').status).toBe('SUCCEEDED');
    expect(step(view, 'ValidateProduction').status).toBe('FAILED');
    expect(step(view, 'Rollback')).toMatchObject({ status: 'SUCCEEDED', details: expect.objectContaining({ restoredVersion: '1.0.0' }) });
    expect(view.steps.map((s) => s.step)).not.toContain('PublishReleaseNotes');

    const prod = await store.getCurrent('greeter', 'production');
    expect(prod).toMatchObject({ version: '1.0.0', releaseId: first.releaseId });
    expect((await get(`${String(prod!.handle.url)}/greetings/ada`)).body).toMatchObject({ version: '1.0.0' });
    const gatewayAfter = (await (await fetch(`${process.env.LOCAL_GATEWAY_ADMIN_URL}/services/greeter`)).json()) as {
      currentDeploymentId: string | null;
    };
    expect(gatewayBefore.currentDeploymentId).toBeTruthy();
    expect(gatewayAfter.currentDeploymentId).toBe(gatewayBefore.currentDeploymentId);
    expect((await get(`${first.interopUrl}/greetings/ada`, first.key)).body).toMatchObject({ version: '1.0.0' });
  });

  it('an upgrade moves production and the gateway to the new version', async () => {
    const started = await releaseOf({ service: 'greeter', version: '1.1.0', commit: 'bbbb222' });
    const [, view] = await Promise.all([decide(stack, started.releaseId, 'lead@example.com', 'approve'), finish(started)]);
    expect(view.status).toBe('SUCCEEDED');
    expect(step(view, 'DeployProduction').details).toMatchObject({ previous: expect.objectContaining({ version: '1.0.0' }) });
    const key = await gatewayKey(view.releaseId);
    expect((await get(`${view.links!.interopUrl}/languages`, key)).status).toBe(200);
    expect((await get(`${view.links!.interopUrl}/greetings/ada`, key)).body).toMatchObject({ version: '1.1.0' });
    // The replaced version is retired once the release ended (after the target's drain, 0 s here), not before.
    const deadline = Date.now() + 15_000;
    let old = 200;
    while (old === 200 && Date.now() < deadline) {
      old = (await get(`${first.prodUrl}/greetings/ada`).catch(() => ({ status: 0 }))).status;
      if (old === 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(old).not.toBe(200);
  });
});
