import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseOf, service, startTestStack, waitForStatus, type TestStack } from '../helpers/pipeline.js';

/**
 * The state machine's own TimeoutSeconds, lowered for the test: the TIMED_OUT event reaches the execution-status
 * handler, which ends the record and releases the lock, so the next release of the service starts at once. (Its
 * own file: a second embedded stack in one process would meet the deploy provider's clients of the first.)
 */
const FROM_100 = { bundleFrom: '1.0.0', collectionFrom: '1.0.0', openapiFrom: '1.0.0' };
const ENDED_WITHIN_MS = 30_000;

describe('timed-out executions', () => {
  let stack: TestStack;

  beforeAll(async () => {
    // Long enough to reach the approval on a loaded machine; nobody approves, so the execution times out waiting.
    stack = await startTestStack({ greeter: service() }, { executionTimeoutSeconds: 8 });
  }, 60_000);
  afterAll(async () => stack?.stopAll());

  it('ends the record when the state machine times out, releases the lock, and the next release starts at once', async () => {
    const started = await releaseOf({ service: 'greeter', version: '1.0.0', ...FROM_100 });
    const { deliveries } = await stack.sfn.statusEvents.waitFor(started.executionArn, 'TIMED_OUT', { timeoutMs: 45_000 }).catch((err) => {
      const seen = stack.sfn.statusEvents.published().map((p) => `${p.event.detail.status} ${p.event.detail.error ?? ''}`);
      throw new Error(`${(err as Error).message}; the events published were: ${seen.join(', ')}`);
    });
    expect(deliveries.map((d) => d.outcome)).toEqual(['delivered']);
    const view = await waitForStatus(started.releaseId, ['FAILED'], ENDED_WITHIN_MS);
    expect(view.error).toMatchObject({ error: 'ExecutionTimedOut' });
    expect(view.steps.every((s) => s.status !== 'RUNNING')).toBe(true);
    expect(view.steps.map((s) => s.step)).not.toContain('DeployProduction');
    if (view.approval) expect(view.approval.status).toBe('CANCELLED');

    const next = await releaseOf({ service: 'greeter', version: '1.0.1', ...FROM_100 });
    const nextView = await waitForStatus(next.releaseId, ['AWAITING_APPROVAL', 'FAILED'], 60_000);
    expect(nextView.queuedAt).toBeUndefined();
  }, 90_000);
});
