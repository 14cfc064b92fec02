import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { sfnClient, documentClient } from '../../functions/lib/clients.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { decide, finish, releaseOf, service, startTestStack, step, waitForStatus, type TestStack } from '../helpers/pipeline.js';

/** How a release ends at and around the approval gate, on the real ASL in the embedded engine. */
let stack: TestStack;
let store: ReleaseStore;

beforeAll(async () => {
  const noInterop = { ...service().interop, enabled: false, apiKeyRequired: false, apiKeys: [] };
  stack = await startTestStack({
    'reject-svc': service({ interop: noInterop }),
    'expire-svc': service({ approvalTimeoutSeconds: 1, interop: noInterop }),
    'retry-svc': service({ interop: noInterop }),
    'queue-svc': service({ interop: noInterop }),
  });
  store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
}, 60_000);
afterAll(async () => stack?.stopAll());

describe('approval outcomes', () => {
  it('a rejection ends REJECTED with the approver and comment recorded, and production untouched', async () => {
    const started = await releaseOf({ service: 'reject-svc', version: '1.0.0' });
    const [, view] = await Promise.all([decide(stack, started.releaseId, 'qa@example.com', 'reject', 'not this week'), finish(started)]);
    expect(view.status).toBe('REJECTED');
    expect(view.error).toMatchObject({ error: 'ApprovalRejected', cause: expect.stringContaining('not this week') });
    expect(step(view, 'Approval').status).toBe('FAILED');
    expect(view.approval?.decisions).toEqual([expect.objectContaining({ approver: 'qa@example.com', decision: 'reject' })]);
    expect(view.steps.map((s) => s.step)).not.toContain('DeployProduction');
    expect(await store.getCurrent('reject-svc', 'production')).toBeUndefined();
  });

  it('an approval nobody decides ends EXPIRED after the catalog timeout', async () => {
    const started = await releaseOf({ service: 'expire-svc', version: '1.0.0' });
    const view = await finish(started);
    expect(view.status).toBe('EXPIRED');
    expect(view.error?.error).toBe('ApprovalExpired');
    expect(step(view, 'Approval')).toMatchObject({ status: 'FAILED', error: expect.objectContaining({ error: 'ApprovalExpired' }) });
    expect(await store.getCurrent('expire-svc', 'production')).toBeUndefined();
  });

  it('a Lambda service error is retried by the state machine and the release succeeds', async () => {
    stack.sfn.injectFault('DeployStaging', 'Lambda.ServiceException', 1);
    const started = await releaseOf({ service: 'retry-svc', version: '1.0.0' });
    const [, view] = await Promise.all([decide(stack, started.releaseId, 'lead@example.com', 'approve'), finish(started)]);
    expect(view.status).toBe('SUCCEEDED');
    const history = await sfnClient().send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, maxResults: 1000 }));
    const failed = history.events!.filter((e) => e.type === 'TaskFailed' && e.taskFailedEventDetails?.error === 'Lambda.ServiceException');
    expect(failed).toHaveLength(1);
    expect(step(view, 'DeployStaging').status).toBe('SUCCEEDED');
  });

  it('two releases of one service at once: the second is QUEUED until the first ends, then runs', async () => {
    const a = await releaseOf({ service: 'queue-svc', version: '1.0.0' });
    await waitForStatus(a.releaseId, ['AWAITING_APPROVAL']);
    const b = await releaseOf({ service: 'queue-svc', version: '1.1.0' });
    const queued = await waitForStatus(b.releaseId, ['QUEUED']);
    expect(queued.steps.map((s) => s.step)).not.toContain('DeployStaging');

    const [, viewA] = await Promise.all([decide(stack, a.releaseId, 'lead@example.com', 'approve'), finish(a)]);
    expect(viewA.status).toBe('SUCCEEDED');
    const [, viewB] = await Promise.all([decide(stack, b.releaseId, 'lead@example.com', 'approve'), finish(b)]);
    expect(viewB.status).toBe('SUCCEEDED');
    expect(Number(step(viewB, 'AcquireLock').details!.waitedMs)).toBeGreaterThan(0);
    expect(Date.parse(step(viewB, 'DeployStaging').startedAt)).toBeGreaterThanOrEqual(Date.parse(viewA.endedAt!));
    expect((await store.getCurrent('queue-svc', 'production'))?.version).toBe('1.1.0');
  });
});
