import type { SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/lib/clients.js';
import type { DeployProvider, RollbackRequest } from '../../functions/lib/deploy/deploy-provider.js';
import { ConflictError, RollbackFailedError, ValidationError } from '../../functions/lib/errors.js';
import type { InteropProvisioner } from '../../functions/lib/interop/interop-provisioner.js';
import type { Notifier } from '../../functions/lib/notify/notifier.js';
import { redriveRelease } from '../../functions/lib/operations/redrive.js';
import { rollbackService } from '../../functions/lib/operations/rollback-service.js';
import { holdForRedrive } from '../../functions/lib/pipeline/redrive-hold.js';
import type { ReleaseRecord, ReleaseStatus } from '../../functions/lib/store/records.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { service } from '../helpers/pipeline.js';

/**
 * `launchway redrive` and `launchway rollback`'s domain functions on dynalite: every refusal writes nothing, every
 * action is kept on the record. Step Functions is a small stand-in answering DescribeExecution from a table and
 * recording RedriveExecution; the deploy provider and the gateway record what they are asked to restore.
 * test/statemachine/redrive.test.ts, rollback-service.test.ts and test/e2e/redrive-rollback.test.ts run both on the
 * embedded stack.
 */
let emu: TestEmulators;
let store: ReleaseStore;
const NOW = '2026-11-30T10:00:00.000Z';
const arn = (id: string) => `arn:aws:states:us-east-1:000000000000:execution:release:${id}`;
type Described = { status: string; error?: string; redriveCount?: number; redriveStatus?: string; redriveStatusReason?: string };
const executions = new Map<string, Described>();
const redriven: { executionArn: string; redrive: unknown }[] = [];
let redriveRefusal: Error | undefined;
let onDescribe: (() => Promise<void>) | undefined;
const sfn = {
  send: async (command: { constructor: { name: string }; input: { executionArn: string } }) => {
    const described = executions.get(command.input.executionArn);
    if (!described) throw Object.assign(new Error('no such execution'), { name: 'ExecutionDoesNotExist' });
    if (command.constructor.name === 'DescribeExecutionCommand') {
      await onDescribe?.();
      return described;
    }
    if (command.constructor.name === 'GetExecutionHistoryCommand') return { events: [] };
    if (redriveRefusal) throw redriveRefusal;
    const id = command.input.executionArn.split(':').pop()!;
    redriven.push({ executionArn: command.input.executionArn, redrive: (await store.getRelease(id))?.redrive });
    return { redriveDate: new Date() };
  },
} as unknown as SFNClient;
const deps = () => ({ store, sfn, now: () => new Date(NOW) });
const operator = { by: 'ops@example.com', reason: 'staging was down' };

async function release(id: string, status: ReleaseStatus, extra: Partial<ReleaseRecord> = {}): Promise<ReleaseRecord> {
  const at = extra.createdAt ?? new Date().toISOString();
  const record: ReleaseRecord = {
    ...{ releaseId: id, service: 'greeter', version: '1.0.0', commit: 'abcdef1', branch: 'main', triggeredBy: 'ci@example.com' },
    ...{ status, executionArn: arn(id), request: { artifacts: { bundle: `b/${id}` } }, changes: [], createdAt: at, updatedAt: at },
    ...extra,
  };
  await store.createRelease(record);
  return record;
}
const failed = (
  id: string,
  state: string,
  described: Described = { status: 'FAILED', error: 'ReleaseFailed', redriveStatus: 'REDRIVABLE' },
) => {
  executions.set(arn(id), described);
  return release(id, 'FAILED', { error: { error: 'SmokeTestsFailed', cause: '1 of 3 failed', state }, endedAt: NOW });
};

beforeAll(async () => {
  emu = await startTestEmulators();
  store = new ReleaseStore(documentClient(), emu.table, () => new Date(NOW));
});
afterAll(async () => emu?.stop());

describe('redriveRelease', () => {
  it.each([
    ['r-running', 'RUNNING' as const, undefined, 'it has not ended'],
    ['r-rolled', 'ROLLED_BACK' as const, undefined, 'launchway rollback greeter'],
    ['r-rejected', 'REJECTED' as const, undefined, 'it ended on purpose'],
    ['r-prepare', 'FAILED' as const, 'Prepare', 'it failed in Prepare'],
  ])('refuses %s (%s), writing nothing', async (id, status, state, why) => {
    await release(id, status, state ? { error: { error: 'ValidationError', cause: 'bad', state } } : {});
    executions.set(arn(id), { status: 'FAILED', error: 'ReleaseFailed', redriveStatus: 'REDRIVABLE' });
    const before = await store.getRelease(id);
    const err = await redriveRelease(deps(), { releaseId: id, ...operator }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.fields.releaseId).toContain(why);
    expect(await store.getRelease(id)).toEqual(before);
    expect(redriven.filter((r) => r.executionArn === arn(id))).toEqual([]);
  });

  it.each([
    ['r-timeout', { status: 'TIMED_OUT', redriveStatus: 'REDRIVABLE' }, 'ended TIMED_OUT, not in HoldForRedrive'],
    ['r-finalize', { status: 'FAILED', error: 'FinalizeFailed', redriveStatus: 'REDRIVABLE' }, '(FinalizeFailed), not in HoldForRedrive'],
    [
      'r-old',
      { status: 'FAILED', error: 'ReleaseFailed', redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason: 'Execution is too old.' },
      'cannot redrive its execution: Execution is too old.',
    ],
  ])('refuses %s, whose execution cannot resume in HoldForRedrive', async (id, described, why) => {
    await failed(id, 'SmokeTestStaging', described);
    const err = await redriveRelease(deps(), { releaseId: id, ...operator }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain(why);
    expect((await store.getRelease(id))?.redrive).toBeUndefined();
  });

  it('refuses a release whose execution is gone', async () => {
    await release('r-gone', 'FAILED', { error: { error: 'DeploymentFailed', cause: 'x', state: 'CheckStaging' } });
    const err = await redriveRelease(deps(), { releaseId: 'r-gone', ...operator }).catch((e) => e);
    expect(err.fields.releaseId).toContain('no longer exists');
  });

  it('writes the request (the redrive count the execution will have) before RedriveExecution', async () => {
    await failed('r-ok', 'SmokeTestStaging', { status: 'FAILED', error: 'ReleaseFailed', redriveCount: 2, redriveStatus: 'REDRIVABLE' });
    const out = await redriveRelease(deps(), { releaseId: 'r-ok', by: 'ops@example.com', reason: 'staging was down\u001b[2J' });
    const request = { count: 3, ...operator, at: NOW };
    expect(out.redrive).toEqual(request);
    expect(redriven).toContainEqual({ executionArn: arn('r-ok'), redrive: request });
    expect(await store.getRelease('r-ok')).toMatchObject({ status: 'FAILED', redrive: request });
  });

  it('takes the request back when Step Functions refuses the redrive', async () => {
    await failed('r-refused', 'DeployStaging');
    redriveRefusal = Object.assign(new Error('Execution is SUCCEEDED and cannot be redriven.'), { name: 'ExecutionNotRedrivable' });
    try {
      const err = await redriveRelease(deps(), { releaseId: 'r-refused', ...operator }).catch((e) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.message).toContain('Step Functions refused the redrive');
    } finally {
      redriveRefusal = undefined;
    }
    expect((await store.getRelease('r-refused'))?.redrive).toBeUndefined();
  });

  it('refuses to write over a record that changed while it was checked', async () => {
    await failed('r-race', 'CheckStaging');
    onDescribe = async () => {
      await store.updateRelease('r-race', { links: { note: 'changed' } }, { allowTerminal: true });
    };
    try {
      await expect(redriveRelease(deps(), { releaseId: 'r-race', ...operator })).rejects.toBeInstanceOf(ConflictError);
    } finally {
      onDescribe = undefined;
    }
    expect((await store.getRelease('r-race'))?.redrive).toBeUndefined();
  });
});

describe('holdForRedrive', () => {
  const pipelineDeps = () => ({ store }) as never;

  it('fails the first run with the release error, and a redrive nobody asked for, leaving the record', async () => {
    await failed('h1', 'SmokeTestStaging');
    const first = await holdForRedrive(pipelineDeps(), { releaseId: 'h1', action: 'hold', redriveCount: 0 }).catch((e) => e);
    expect(first).toMatchObject({ name: 'ReleaseFailed', message: 'SmokeTestsFailed: 1 of 3 failed' });
    const notAsked = await holdForRedrive(pipelineDeps(), { releaseId: 'h1', action: 'hold', redriveCount: 1 }).catch((e) => e);
    expect(notAsked.message).toContain('was not asked for with launchway redrive');
    expect(await store.getRelease('h1')).toMatchObject({ status: 'FAILED', endedAt: NOW });
  });

  it('reopens once for the request it matches, keeping the failure; a retry returns; a later failure holds again', async () => {
    await failed('h2', 'DeployStaging');
    await store.updateRelease('h2', { queuedAt: NOW }, { allowTerminal: true });
    const request = { count: 1, ...operator, at: NOW };
    const seen = (await store.getRelease('h2'))!;
    await store.operator.requestRedrive('h2', request, seen.updatedAt);
    expect(await holdForRedrive(pipelineDeps(), { releaseId: 'h2', action: 'hold', redriveCount: 1 })).toEqual({ reopened: true });
    const reopened = (await store.getRelease('h2'))!;
    expect(reopened).toMatchObject({ status: 'RUNNING', redrive: { ...request, reopenedAt: NOW } });
    expect(reopened.redrives).toEqual([
      {
        ...request,
        reopenedAt: NOW,
        previous: { error: { error: 'SmokeTestsFailed', cause: '1 of 3 failed', state: 'DeployStaging' }, endedAt: NOW },
      },
    ]);
    for (const gone of ['error', 'endedAt', 'queuedAt'] as const) expect(reopened[gone], gone).toBeUndefined();

    expect(await holdForRedrive(pipelineDeps(), { releaseId: 'h2', action: 'hold', redriveCount: 1 })).toEqual({ reopened: true });
    expect((await store.getRelease('h2'))?.redrives).toHaveLength(1);

    await store.updateRelease('h2', { status: 'FAILED', error: { error: 'DeploymentFailed', cause: 'again', state: 'CheckStaging' } });
    const again = await holdForRedrive(pipelineDeps(), { releaseId: 'h2', action: 'hold', redriveCount: 1 }).catch((e) => e);
    expect(again).toMatchObject({ name: 'ReleaseFailed', message: 'DeploymentFailed: again' });
    expect((await store.getRelease('h2'))?.status).toBe('FAILED');
  });
});

describe('rollbackService', () => {
  const restores: RollbackRequest[] = [];
  const gateway: { service: string; previous: string | undefined }[] = [];
  let restoreState: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED';
  const provider = {
    type: 'local-process',
    rollback: async (req: RollbackRequest) => {
      restores.push(req);
      return { state: restoreState, handle: { restored: req.previous?.releaseId }, endpoint: 'http://restored', message: 'unhealthy' };
    },
  } as unknown as DeployProvider;
  const mails: unknown[] = [];
  const rollbackDeps = () => ({
    store,
    providerFor: () => provider,
    provisioner: () =>
      ({
        rollback: async (s: string, p: string | undefined) => void gateway.push({ service: s, previous: p }),
      }) as unknown as InteropProvisioner,
    notifier: () => ({ send: async (m: unknown) => void mails.push(m) }) as unknown as Notifier,
    now: () => new Date(NOW),
  });
  const svc = 'shop';
  const catalog = service();
  const live = (id: string, version: string) => ({ version, artifactKey: `b/${id}`, releaseId: id, handle: { id } });

  async function inProduction(
    id: string,
    version: string,
    status: ReleaseStatus,
    createdAt: string,
    previous: ReturnType<typeof live> | null,
  ) {
    await release(id, status, { service: svc, version, catalog, createdAt });
    await store.endStep(id, 'DeployProduction', 'SUCCEEDED', { details: { version, handle: { id }, previous } });
  }

  it('refuses while a release holds the lock, naming it', async () => {
    await store.acquireLock(svc, 'shop-holder', 60);
    const err = await rollbackService(rollbackDeps(), { service: svc, ...operator }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.fields.service).toContain('launchway cancel shop-holder');
    expect(await store.order.lockHolder(svc)).toBe('shop-holder');
    await store.releaseLock(svc, 'shop-holder');
  });

  it('undoes a ROLLBACK_FAILED release newer than the one CURRENT names, restoring its previous and the gateway', async () => {
    await inProduction('shop-1', '1.0.0', 'SUCCEEDED', '2026-11-01T00:00:00.000Z', null);
    await inProduction('shop-2', '1.1.0', 'ROLLBACK_FAILED', '2026-11-02T00:00:00.000Z', live('shop-1', '1.0.0'));
    await store.endStep('shop-2', 'ProvisionInterop', 'SUCCEEDED', {
      details: { deploymentId: 'd2', previousDeploymentId: 'd1', baseUrl: 'x', routeCount: 1 },
    });
    await store.putCurrent({ service: svc, environment: 'production', ...live('shop-1', '1.0.0') });

    restoreState = 'FAILED';
    const err = await rollbackService(rollbackDeps(), { service: svc, ...operator }).catch((e) => e);
    expect(err).toBeInstanceOf(RollbackFailedError);
    expect(err.message).toContain('could not restore shop 1.0.0: unhealthy; shop-2 stays ROLLBACK_FAILED');
    expect((await store.getRelease('shop-2'))?.status).toBe('ROLLBACK_FAILED');
    expect(await store.order.lockHolder(svc)).toBeUndefined();

    restoreState = 'SUCCEEDED';
    restores.length = 0;
    const out = await rollbackService(rollbackDeps(), { service: svc, ...operator });
    expect(out).toMatchObject({
      undone: { releaseId: 'shop-2' },
      restored: { releaseId: 'shop-1', version: '1.0.0' },
      gatewayDeployment: 'd1',
    });
    expect(restores).toEqual([
      expect.objectContaining({
        previous: live('shop-1', '1.0.0'),
        failed: expect.objectContaining({ releaseId: 'shop-2', handle: { id: 'shop-2' } }),
      }),
    ]);
    expect(gateway).toEqual([{ service: svc, previous: 'd1' }]);
    const rolledBackBy = { ...operator, at: NOW, restoredVersion: '1.0.0', restoredReleaseId: 'shop-1' };
    expect(await store.getRelease('shop-2')).toMatchObject({ status: 'ROLLED_BACK', rolledBackBy });
    expect(await store.getCurrent(svc, 'production')).toMatchObject({ releaseId: 'shop-1', handle: { restored: 'shop-1' } });
    expect(mails).toHaveLength(1);
    expect(await store.order.lockHolder(svc)).toBeUndefined();

    // shop-1 is live now, and was the first release.
    const first = await rollbackService(rollbackDeps(), { service: svc, ...operator }).catch((e) => e);
    expect(first.message).toContain('shop-1 is the first release of shop');
  });
});
