import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { documentClient, s3Client } from '../../functions/lib/clients.js';
import type { DeployProvider, RollbackRequest } from '../../functions/lib/deploy/deploy-provider.js';
import type { InteropProvisioner } from '../../functions/lib/interop/interop-provisioner.js';
import type { EmailMessage } from '../../functions/lib/notify/notifier.js';
import type { PipelineDeps } from '../../functions/lib/pipeline/deps.js';
import { acquireLock } from '../../functions/lib/pipeline/acquire-lock.js';
import { endStoppedExecution, type ExecutionStatusEvent } from '../../functions/lib/pipeline/execution-ended.js';
import { rollbackProduction } from '../../functions/lib/pipeline/rollback.js';
import { finalizeRelease, type FinalizeEvent } from '../../functions/lib/pipeline/finalize.js';
import type { ApprovalItem } from '../../functions/lib/approvals/records.js';
import type { ReleaseRecord, StopRequest } from '../../functions/lib/store/records.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { service } from '../helpers/pipeline.js';

/**
 * The one finalization, from both sides: Finalize (the ASL's last Task) and the execution-status handler (the
 * EventBridge target for FAILED, TIMED_OUT and ABORTED executions), on dynalite. Exactly one of them ends a release
 * and sends its email, whatever the order; each records the failing state and the steps whose Lambda never ran.
 */
let emu: TestEmulators;
let store: ReleaseStore;
let sent: EmailMessage[];
let rollbacks: number;
let rollbackFails: boolean;
let deps: PipelineDeps;

const machine = 'arn:aws:states:us-east-1:000000000000:stateMachine:launchway-release';
const executionArn = (id: string) => `arn:aws:states:us-east-1:000000000000:execution:launchway-release:${id}`;

const provider: DeployProvider = {
  start: async () => ({ state: 'IN_PROGRESS', handle: {} }),
  status: async () => ({ state: 'SUCCEEDED', handle: {} }),
  rollback: async (args: RollbackRequest) => {
    rollbacks += 1;
    if (rollbackFails) throw new Error('the previous version would not start');
    return args.previous ? { state: 'SUCCEEDED', handle: args.previous.handle, endpoint: 'http://127.0.0.1:1' } : undefined;
  },
} as unknown as DeployProvider;

beforeAll(async () => {
  emu = await startTestEmulators();
  store = new ReleaseStore(documentClient(), emu.table);
  deps = {
    store,
    artifacts: new ArtifactStore(s3Client(), emu.bucket),
    findService: async () => service(),
    providerFor: () => provider,
    provisioner: () => ({ rollback: async () => undefined }) as unknown as InteropProvisioner,
    notifier: () => ({
      send: async (m: EmailMessage) => {
        sent.push(m);
        return { messageId: String(sent.length) };
      },
    }),
    now: () => new Date(),
  };
}, 60_000);
afterAll(async () => emu?.stop());
beforeEach(() => {
  sent = [];
  rollbacks = 0;
  rollbackFails = false;
});

let counter = 0;
/** A prepared release holding its service's lock, with the steps given already recorded. */
async function prepared(over: Partial<ReleaseRecord> = {}): Promise<ReleaseRecord> {
  counter += 1;
  const releaseId = `svc${counter}-1.1.0-abc`;
  const now = new Date().toISOString();
  const record: ReleaseRecord = {
    releaseId,
    service: `svc${counter}`,
    version: '1.1.0',
    commit: 'abc1234',
    branch: 'main',
    triggeredBy: 'ci@example.com',
    status: 'RUNNING',
    executionArn: executionArn(releaseId),
    request: {},
    changes: [],
    catalog: service(),
    createdAt: now,
    updatedAt: now,
    ...over,
  };
  await store.createRelease(record);
  await store.acquireLock(record.service, releaseId, 3600);
  await store.startStep(releaseId, 'Prepare');
  await store.endStep(releaseId, 'Prepare', 'SUCCEEDED');
  return record;
}

async function lockHolder(svc: string): Promise<string | null> {
  if (!(await store.acquireLock(svc, 'probe', 1)).acquired) return 'held';
  await store.releaseLock(svc, 'probe');
  return null;
}

const statusEvent = (r: ReleaseRecord, status: 'FAILED' | 'TIMED_OUT' | 'ABORTED', extra: Partial<ExecutionStatusEvent['detail']> = {}) =>
  ({
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: { executionArn: r.executionArn!, name: r.releaseId, status, input: '{}', error: null, cause: null, ...extra },
  }) as ExecutionStatusEvent;

const finalizeEvent = (r: ReleaseRecord, state: Partial<FinalizeEvent['state']> & { outcome: FinalizeEvent['state']['outcome'] }) =>
  ({ releaseId: r.releaseId, state }) as FinalizeEvent;

describe('finishing a release once, from Finalize or the execution-status handler', () => {
  it('Finalize, then the handler, then the handler again: one terminal write, one email, the lock released', async () => {
    const r = await prepared();
    const failed = finalizeEvent(r, {
      outcome: { status: 'FAILED' },
      error: { Error: 'SmokeTestsFailed', Cause: '2 of 5 assertions failed' },
      failedState: 'SmokeTestStaging',
    });
    expect(await finalizeRelease(deps, failed)).toEqual({ status: 'FAILED', ended: true });
    const after = await store.getRelease(r.releaseId);
    expect(after).toMatchObject({
      status: 'FAILED',
      error: { error: 'SmokeTestsFailed', cause: '2 of 5 assertions failed', state: 'SmokeTestStaging' },
    });
    expect(await endStoppedExecution(deps, statusEvent(r, 'FAILED', { error: 'ReleaseFailed' }))).toEqual({
      status: 'FAILED',
      ended: false,
    });
    expect(await endStoppedExecution(deps, statusEvent(r, 'ABORTED'))).toEqual({ status: 'FAILED', ended: false });
    expect(await finalizeRelease(deps, failed)).toEqual({ status: 'FAILED', ended: false });
    expect(await store.getRelease(r.releaseId)).toEqual(after);
    expect(sent).toHaveLength(1);
    expect(sent[0].subject).toContain('FAILED');
    expect(await lockHolder(r.service)).toBeNull();
  });

  it('the handler first (a stop), then a late Finalize: the stop stands and one email is sent', async () => {
    const r = await prepared({ status: 'AWAITING_APPROVAL' });
    await store.startStep(r.releaseId, 'Approval', { approvalId: 'a1', approvers: ['lead@example.com'] } as never);
    expect(await endStoppedExecution(deps, statusEvent(r, 'ABORTED'))).toEqual({ status: 'CANCELLED', ended: true });
    expect(await finalizeRelease(deps, finalizeEvent(r, { outcome: { status: 'SUCCEEDED' } }))).toEqual({
      status: 'CANCELLED',
      ended: false,
    });
    const view = await store.getView(r.releaseId);
    expect(view).toMatchObject({ status: 'CANCELLED', error: { error: 'ExecutionAborted', state: 'Approval' } });
    expect(view!.steps.find((s) => s.step === 'Approval')).toMatchObject({ status: 'FAILED', error: { error: 'ExecutionAborted' } });
    expect(sent.map((m) => m.tags?.status)).toEqual(['CANCELLED']);
    expect(sent[0].text).toContain('was cancelled');
    expect(await lockHolder(r.service)).toBeNull();
  });

  it('records a step whose Lambda failed before its handler ran, FAILED with the error, and names the state', async () => {
    const r = await prepared();
    await finalizeRelease(
      deps,
      finalizeEvent(r, {
        outcome: { status: 'FAILED' },
        error: { Error: 'Lambda.ServiceException', Cause: 'Rate exceeded' },
        failedState: 'SmokeTestStaging',
      }),
    );
    const view = await store.getView(r.releaseId);
    expect(view!.error).toMatchObject({ error: 'Lambda.ServiceException', state: 'SmokeTestStaging' });
    expect(view!.steps.map((s) => [s.step, s.status])).toEqual([
      ['Prepare', 'SUCCEEDED'],
      ['SmokeTestStaging', 'FAILED'],
    ]);
    expect(view!.steps[1].error).toEqual({ error: 'Lambda.ServiceException', cause: 'Rate exceeded' });
  });

  it('a release-notes failure ends SUCCEEDED with a warning, the notes step FAILED', async () => {
    const r = await prepared();
    const notesError = { Error: 'AccessDenied', Cause: JSON.stringify({ errorType: 'AccessDenied', errorMessage: 'no PutObject' }) };
    expect(await finalizeRelease(deps, finalizeEvent(r, { outcome: { status: 'SUCCEEDED' }, notesError }))).toMatchObject({
      status: 'SUCCEEDED',
    });
    const view = await store.getView(r.releaseId);
    expect(view!.error).toBeUndefined();
    expect(view!.warnings).toEqual([{ step: 'PublishReleaseNotes', error: 'AccessDenied', cause: 'no PutObject' }]);
    expect(view!.steps.find((s) => s.step === 'PublishReleaseNotes')).toMatchObject({ status: 'FAILED' });
    expect(sent[0].text).toContain('Warning: PublishReleaseNotes failed (AccessDenied: no PutObject)');
  });

  it('a failed rollback ends ROLLBACK_FAILED naming both failures, with its own email', async () => {
    const r = await prepared();
    await finalizeRelease(
      deps,
      finalizeEvent(r, {
        outcome: { status: 'ROLLBACK_FAILED' },
        error: { Error: 'ProductionValidationFailed', Cause: '1 of 3 failed' },
        failedState: 'ValidateProduction',
        rollbackError: { Error: 'RollbackFailed', Cause: 'could not restore 1.0.0' },
      }),
    );
    const view = await store.getView(r.releaseId);
    expect(view).toMatchObject({
      status: 'ROLLBACK_FAILED',
      error: {
        error: 'RollbackFailed',
        cause: 'could not restore 1.0.0',
        state: 'Rollback',
        rollbackOf: { error: 'ProductionValidationFailed', cause: '1 of 3 failed', state: 'ValidateProduction' },
      },
    });
    expect(view!.steps.filter((s) => s.status === 'FAILED').map((s) => s.step)).toEqual(['ValidateProduction', 'Rollback']);
    expect(sent[0].subject).toBe(`[Launchway] ${r.service} 1.1.0: ROLLBACK_FAILED`);
    expect(sent[0].text).toContain('production may be running the failed version');
    expect(sent[0].text).toContain('Action: ');
  });

  it('the handler ends a release whose Finalize kept failing, as Finalize would have, from the ending in the cause', async () => {
    const r = await prepared();
    const ending = { outcome: { status: 'SUCCEEDED' }, release: { releaseId: r.releaseId }, finalizeError: { Error: 'Boom' } };
    const out = await endStoppedExecution(deps, statusEvent(r, 'FAILED', { error: 'FinalizeFailed', cause: JSON.stringify(ending) }));
    expect(out).toEqual({ status: 'SUCCEEDED', ended: true });
    expect(rollbacks).toBe(0);
    expect(await lockHolder(r.service)).toBeNull();
  });
});

describe('the execution-status handler', () => {
  it('cancels a queued release without touching the lock another release holds', async () => {
    const holder = await prepared();
    const queued = await prepared({ service: holder.service, status: 'QUEUED' });
    await store.releaseLock(holder.service, queued.releaseId);
    await store.startStep(queued.releaseId, 'AcquireLock', { waitingFor: holder.releaseId, queuedAt: queued.createdAt } as never);
    expect(await endStoppedExecution(deps, statusEvent(queued, 'ABORTED'))).toMatchObject({ status: 'CANCELLED' });
    expect(await store.getRelease(queued.releaseId)).toMatchObject({ error: { state: 'AcquireLock' } });
    expect(await lockHolder(holder.service)).toBe('held');
  });

  it('ends a release stopped on purpose with the status of its stop request', async () => {
    const stopRequest: StopRequest = {
      status: 'SUPERSEDED',
      by: 'ci@example.com',
      reason: 'a newer release',
      at: new Date().toISOString(),
      supersededBy: 'x-1.2.0-abc',
    };
    const r = await prepared({ status: 'AWAITING_APPROVAL', stopRequest });
    const approvals = store.approvals();
    const approval = {
      approvalId: `${r.releaseId}~a`,
      releaseId: r.releaseId,
      service: r.service,
      taskToken: 'token',
      approvers: ['lead@example.com'],
      requiredApprovals: 1,
      decisions: {},
      status: 'PENDING',
      expiresAt: Math.floor(Date.now() / 1000) + 600,
      createdAt: new Date().toISOString(),
      triggeredBy: 'ci@example.com',
    } satisfies ApprovalItem;
    await approvals.create(approval);
    expect(await endStoppedExecution(deps, statusEvent(r, 'ABORTED'))).toMatchObject({ status: 'SUPERSEDED', ended: true });
    expect((await store.getRelease(r.releaseId))!.error!.cause).toContain('superseded by ci@example.com: a newer release');
    expect((await approvals.get(approval))?.status).toBe('CANCELLED');
  });

  it('rolls production back after a timeout once production was touched, and ends ROLLED_BACK', async () => {
    const r = await prepared();
    const previous = { version: '1.0.0', artifactKey: 'k', releaseId: 'old', handle: { pid: 1 } };
    await store.startStep(r.releaseId, 'DeployProduction', { version: '1.1.0', handle: { pid: 2 }, previous });
    const out = await endStoppedExecution(deps, statusEvent(r, 'TIMED_OUT'));
    expect(out).toEqual({ status: 'ROLLED_BACK', ended: true });
    expect(rollbacks).toBe(1);
    const view = await store.getView(r.releaseId);
    expect(view!.error).toMatchObject({ error: 'ExecutionTimedOut', state: 'DeployProduction' });
    expect(view!.steps.find((s) => s.step === 'Rollback')).toMatchObject({ status: 'SUCCEEDED', details: { restoredVersion: '1.0.0' } });
    expect(await store.getCurrent(r.service, 'production')).toMatchObject({ version: '1.0.0', releaseId: 'old' });
  });

  it('ends ROLLBACK_FAILED when its own rollback fails', async () => {
    rollbackFails = true;
    const r = await prepared();
    const previous = { version: '1.0.0', artifactKey: 'k', releaseId: 'old', handle: { pid: 1 } };
    await store.endStep(r.releaseId, 'DeployProduction', 'SUCCEEDED', { details: { version: '1.1.0', handle: { pid: 2 }, previous } });
    expect(await endStoppedExecution(deps, statusEvent(r, 'ABORTED'))).toEqual({ status: 'ROLLBACK_FAILED', ended: true });
    expect(await store.getRelease(r.releaseId)).toMatchObject({
      error: {
        error: 'Error',
        cause: 'the previous version would not start',
        state: 'Rollback',
        rollbackOf: { error: 'ExecutionAborted' },
      },
    });
    expect(sent[0].tags?.status).toBe('ROLLBACK_FAILED');
    expect(await lockHolder(r.service)).toBeNull();
  });

  it('records a release Prepare never wrote from the execution input', async () => {
    const input = JSON.stringify({ service: 'ghost', version: '0.0.1', commit: 'deadbee', triggeredBy: 'ci@example.com' });
    const ghost = { releaseId: 'ghost-0.0.1-deadbee', executionArn: executionArn('ghost-0.0.1-deadbee') } as ReleaseRecord;
    expect(await endStoppedExecution(deps, statusEvent(ghost, 'FAILED', { error: 'States.Runtime', cause: 'bad path', input }))).toEqual({
      status: 'FAILED',
      ended: true,
    });
    expect(await store.getRelease(ghost.releaseId)).toMatchObject({
      service: 'ghost',
      version: '0.0.1',
      status: 'FAILED',
      error: { error: 'States.Runtime', cause: 'bad path' },
    });
  });

  it("leaves another execution's release alone", async () => {
    const r = await prepared();
    const out = await endStoppedExecution(deps, statusEvent(r, 'FAILED', { executionArn: `${machine}:other` }));
    expect(out).toMatchObject({ status: 'IGNORED' });
    expect((await store.getRelease(r.releaseId))?.status).toBe('RUNNING');
  });

  it('a Rollback arriving after its release ended, the lock taken by the next release, changes nothing', async () => {
    const r = await prepared();
    await store.startStep(r.releaseId, 'DeployProduction', { version: '1.1.0', previous: null, handle: { pid: 1 } });
    expect(await finalizeRelease(deps, finalizeEvent(r, { outcome: { status: 'FAILED' } }))).toMatchObject({ ended: true });
    await store.acquireLock(r.service, 'the-next-release', 3600);
    await expect(rollbackProduction(deps, { releaseId: r.releaseId })).rejects.toMatchObject({ name: 'FencedOut' });
    expect(rollbacks).toBe(0);
    expect(await store.stepResult(r.releaseId, 'Rollback')).toBeUndefined();
    expect(await store.order.lockHolder(r.service)).toBe('the-next-release');
  });

  it('an AcquireLock that takes the lock as its release ends gives it back at once', async () => {
    const r = await prepared({ status: 'QUEUED' });
    await store.releaseLock(r.service, r.releaseId);
    // The release ends between the step's read of it and its lock write: the order only a late completion sees.
    class EndingFirst extends ReleaseStore {
      override async acquireLock(svc: string, releaseId: string, lease: number) {
        await this.updateRelease(releaseId, { status: 'CANCELLED' }, { allowTerminal: true });
        return super.acquireLock(svc, releaseId, lease);
      }
    }
    const racing = { ...deps, store: new EndingFirst(documentClient(), emu.table) };
    await expect(acquireLock(racing, r.releaseId)).rejects.toMatchObject({ name: 'FencedOut' });
    expect(await store.order.lockHolder(r.service)).toBeUndefined();
  });
});
