import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/lib/clients.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { listMessages } from '../../local/outbox.js';
import { decide, finish, get, releaseOf, service, startTestStack, step, type TestStack } from '../helpers/pipeline.js';

/**
 * The ends no happy path reaches, on the real ASL in the embedded engine with the greeter example: a Lambda that
 * fails before its handler runs, retried Lambda errors, release notes that cannot be written, a rollback that
 * fails, and a Finalize that fails once or for good. Each release ends with a terminal record naming the failing
 * state, its steps complete, its lock released and one outcome email.
 */
let stack: TestStack;
let store: ReleaseStore;

beforeAll(async () => {
  stack = await startTestStack({ greeter: service() });
  store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
}, 60_000);
afterAll(async () => stack?.stopAll());

/** The 1.0.0 example's files, released under another version. */
const FROM_100 = { bundleFrom: '1.0.0', collectionFrom: '1.0.0', openapiFrom: '1.0.0' };

/** Null when nobody holds the service lock (probed with a one-second lease, released at once). */
async function lockHolder(svc: string): Promise<string | null> {
  const probe = await store.acquireLock(svc, 'lock-probe', 1);
  if (!probe.acquired) return probe.holder ?? 'unknown';
  await store.releaseLock(svc, 'lock-probe');
  return null;
}

async function outcomeEmails(releaseId: string) {
  return (await listMessages(stack.outboxDir)).filter((m) => m.kind === 'release-outcome' && m.releaseId === releaseId);
}

async function productionVersion(): Promise<string> {
  const prod = await store.getCurrent('greeter', 'production');
  return (await get(`${String(prod!.handle.url)}/greetings/ada`)).body.version;
}

describe('terminal paths of the release state machine', () => {
  it('retries Lambda.Unknown; a failed release-notes write ends SUCCEEDED with a warning and production stays new', async () => {
    stack.sfn.injectFault('DeployStaging', 'Lambda.Unknown', 1);
    stack.sfn.injectFault('SmokeTestStaging', 'Lambda.ClientExecutionTimeoutException', 1);
    stack.sfn.injectFault('PublishReleaseNotes', 'S3Unavailable', 1);
    const started = await releaseOf({ service: 'greeter', version: '1.0.0' });
    const [, view] = await Promise.all([decide(stack, started.releaseId, 'lead@example.com', 'approve'), finish(started)]);

    expect(view.status).toBe('SUCCEEDED');
    expect(view.error).toBeUndefined();
    expect(view.warnings).toEqual([expect.objectContaining({ step: 'PublishReleaseNotes', error: 'S3Unavailable' })]);
    expect(step(view, 'DeployStaging').status).toBe('SUCCEEDED');
    expect(step(view, 'SmokeTestStaging').status).toBe('SUCCEEDED');
    expect(step(view, 'PublishReleaseNotes')).toMatchObject({ status: 'FAILED', error: { error: 'S3Unavailable' } });
    expect(view.steps.map((s) => s.step)).not.toContain('Rollback');
    expect(await productionVersion()).toBe('1.0.0');
    expect((await stack.sfn.waitForExecution(started.executionArn)).status).toBe('SUCCEEDED');
    const [email] = await outcomeEmails(started.releaseId);
    expect(email.text).toContain('Warning: PublishReleaseNotes failed');
    expect(await lockHolder('greeter')).toBeNull();
  });

  it('records a step whose Lambda failed before its handler ran, and names the state on the record', async () => {
    // One invocation and four retries, every one refused by "Lambda" before the handler runs.
    stack.sfn.injectFault('SmokeTestStaging', 'Lambda.ServiceException', 5);
    const started = await releaseOf({ service: 'greeter', version: '1.0.1', ...FROM_100 });
    const view = await finish(started);

    expect(view.status).toBe('FAILED');
    expect(view.error).toMatchObject({ error: 'Lambda.ServiceException', state: 'SmokeTestStaging' });
    expect(step(view, 'SmokeTestStaging')).toMatchObject({ status: 'FAILED', error: { error: 'Lambda.ServiceException' } });
    expect(view.steps.every((s) => s.status !== 'RUNNING')).toBe(true);
    expect(await productionVersion()).toBe('1.0.0');
    expect(await lockHolder('greeter')).toBeNull();
  });

  it('retries a Finalize that fails once: the release ends as decided, with one email', async () => {
    stack.sfn.injectFault('DeployStaging', 'StagingBoom', 1);
    stack.sfn.injectFault('Finalize', 'FinalizeBoom', 1);
    const started = await releaseOf({ service: 'greeter', version: '1.0.2', ...FROM_100 });
    const view = await finish(started);

    expect(view.status).toBe('FAILED');
    expect(view.error).toMatchObject({ error: 'StagingBoom', state: 'DeployStaging' });
    expect(step(view, 'DeployStaging')).toMatchObject({ status: 'FAILED', error: { error: 'StagingBoom' } });
    expect((await stack.sfn.waitForExecution(started.executionArn)).error).toBe('ReleaseFailed');
    expect(await outcomeEmails(started.releaseId)).toHaveLength(1);
    expect(await lockHolder('greeter')).toBeNull();
  });

  it('a Finalize that always fails fails the execution, and the status-change handler ends the release', async () => {
    stack.sfn.injectFault('SmokeTestStaging', 'SmokeBoom', 1);
    // The first attempt and its three retries.
    stack.sfn.injectFault('Finalize', 'FinalizeBoom', 4);
    const started = await releaseOf({ service: 'greeter', version: '1.0.3', ...FROM_100 });
    const execution = await stack.sfn.waitForExecution(started.executionArn, 60_000);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'FinalizeFailed' });
    const { deliveries } = await stack.sfn.statusEvents.waitFor(started.executionArn, 'FAILED', { timeoutMs: 30_000 });
    expect(deliveries.map((d) => d.outcome)).toEqual(['delivered']);

    const view = await finish(started);
    expect(view.status).toBe('FAILED');
    expect(view.error).toMatchObject({ error: 'SmokeBoom', state: 'SmokeTestStaging' });
    expect(step(view, 'SmokeTestStaging')).toMatchObject({ status: 'FAILED', error: { error: 'SmokeBoom' } });
    expect(await outcomeEmails(started.releaseId)).toHaveLength(1);
    expect(await lockHolder('greeter')).toBeNull();
  });

  it('a rollback that fails ends ROLLBACK_FAILED: the record, the email and the execution say a person must act', async () => {
    stack.sfn.injectFault('Rollback', 'RollbackBoom', 1);
    // 1.1.0's collection tests GET /languages, which the 1.0.0 contract does not publish: production validation fails.
    const started = await releaseOf({ service: 'greeter', version: '1.1.0', openapiFrom: '1.0.0' });
    const [, view] = await Promise.all([decide(stack, started.releaseId, 'qa@example.com', 'approve'), finish(started)]);

    expect(view.status).toBe('ROLLBACK_FAILED');
    expect(view.error).toMatchObject({
      error: 'RollbackBoom',
      state: 'Rollback',
      rollbackOf: { error: 'ProductionValidationFailed', state: 'ValidateProduction' },
    });
    expect(step(view, 'ValidateProduction').status).toBe('FAILED');
    expect(step(view, 'Rollback')).toMatchObject({ status: 'FAILED', error: { error: 'RollbackBoom' } });
    // Nothing put the previous version back: production is on the version that failed validation.
    expect(await productionVersion()).toBe('1.1.0');
    expect(await stack.sfn.waitForExecution(started.executionArn)).toMatchObject({ status: 'FAILED', error: 'RollbackFailed' });
    await stack.sfn.statusEvents.waitFor(started.executionArn, 'FAILED', { timeoutMs: 30_000 });
    const emails = await outcomeEmails(started.releaseId);
    expect(emails).toHaveLength(1);
    expect(emails[0].subject).toBe('[Launchway] greeter 1.1.0: ROLLBACK_FAILED');
    expect(emails[0].text).toContain('production may be running the failed version');
    expect(await lockHolder('greeter')).toBeNull();
  });
});
