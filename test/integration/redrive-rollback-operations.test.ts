import {
  DescribeExecutionCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { documentClient, s3Client } from '../../functions/lib/clients.js';
import type { DeployProvider, RollbackRequest } from '../../functions/lib/deploy/deploy-provider.js';
import { ConflictError, RollbackFailedError, ValidationError } from '../../functions/lib/errors.js';
import type { InteropProvisioner } from '../../functions/lib/interop/interop-provisioner.js';
import type { Notifier } from '../../functions/lib/notify/notifier.js';
import { redriveRelease } from '../../functions/lib/operations/redrive.js';
import { rollbackService } from '../../functions/lib/operations/rollback-service.js';
import { holdForRedrive } from '../../functions/lib/pipeline/redrive-hold.js';
import { RUN_HISTORY_BUDGET } from '../../functions/lib/poll-schedule.js';
import type { RedriveRequest, ReleaseRecord, ReleaseStatus } from '../../functions/lib/store/records.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { LocalStepFunctions } from '../../local/sfn/local-step-functions.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { service } from '../helpers/pipeline.js';

/**
 * `launchway redrive` and `launchway rollback`'s domain functions on dynalite: every refusal writes nothing, every
 * action is kept on the record. Step Functions is the embedded engine (local/sfn) running tiny machines whose Task
 * HoldForRedrive fails with ReleaseFailed, as the release machine's does; the hook on the client's `send` only
 * changes things between two calls. The deploy provider and the gateway, which have no emulator, record what they
 * are asked to restore. test/statemachine/redrive.test.ts, rollback-service.test.ts and
 * test/e2e/redrive-rollback.test.ts run both on the embedded stack.
 */
let emu: TestEmulators;
let store: ReleaseStore;
let engine: LocalStepFunctions;
let sfn: SFNClient;
const NOW = '2026-11-30T10:00:00.000Z';
const REGION = 'us-east-1';
const machine = (name: string) => `arn:aws:states:${REGION}:000000000000:stateMachine:${name}`;
const arn = (id: string, machineName = 'hold') => `arn:aws:states:${REGION}:000000000000:execution:${machineName}:${id}`;

/** HoldForRedrive's input: the error it fails with, until the redrive count reaches `succeedFrom`. */
type HoldInput = { error?: string; succeedFrom?: number };
/** What each run of HoldForRedrive found on the release record when it started. */
const holds: { releaseId: string; redriveCount: number; redrive: RedriveRequest | undefined }[] = [];
const hold = (next: object = { End: true }) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke',
  Parameters: {
    FunctionName: 'hold',
    Payload: { 'releaseId.$': '$$.Execution.Name', 'redriveCount.$': '$$.Execution.RedriveCount', 'input.$': '$' },
  },
  OutputPath: '$.Payload',
  ...next,
});
/** Enough Pass/Choice rounds (4 events each) that the history passes HISTORY_EVENT_LIMIT - RUN_HISTORY_BUDGET. */
const ROUNDS = 3_800;
const machines = {
  hold: { StartAt: 'HoldForRedrive', States: { HoldForRedrive: hold() } },
  linger: { StartAt: 'Linger', TimeoutSeconds: 1, States: { Linger: { Type: 'Wait', Seconds: 600, End: true } } },
  branches: {
    StartAt: 'Fanout',
    States: { Fanout: { Type: 'Parallel', End: true, Branches: [{ StartAt: 'HoldInBranch', States: { HoldInBranch: hold() } }] } },
  },
  'long-history': {
    StartAt: 'Count',
    States: {
      Count: { Type: 'Pass', Parameters: { 'n.$': 'States.MathAdd($.n, 1)', 'error.$': '$.error' }, Next: 'Enough' },
      Enough: {
        Type: 'Choice',
        Choices: [{ Variable: '$.n', NumericGreaterThanEquals: ROUNDS, Next: 'HoldAfterCount' }],
        Default: 'Count',
      },
      HoldAfterCount: hold(),
    },
  },
};

/** Instrumentation on the real client: runs after a command of `type` answered and before redriveRelease goes on. */
let afterSend: { type: new (...args: never[]) => object; run: () => Promise<void> } | undefined;
/** The release's redrive request at the moment each RedriveExecution was sent. */
const atRedrive: { executionArn: string; redrive: RedriveRequest | undefined }[] = [];

const deps = () => ({ store, sfn, now: () => new Date(NOW) });
const operator = { by: 'ops@example.com', reason: 'staging was down' };
const describeExecution = (executionArn: string): Promise<DescribeExecutionCommandOutput> =>
  sfn.send(new DescribeExecutionCommand({ executionArn }));

/** Starts an execution named `id` and waits (bounded) for it to end. */
async function run(id: string, machineName: keyof typeof machines, input: object): Promise<string> {
  const out = await sfn.send(new StartExecutionCommand({ stateMachineArn: machine(machineName), name: id, input: JSON.stringify(input) }));
  await engine.waitForExecution(out.executionArn!, 60_000);
  return out.executionArn!;
}

async function redriveAndWait(executionArn: string): Promise<void> {
  await sfn.send(new RedriveExecutionCommand({ executionArn }));
  await engine.waitForExecution(executionArn, 30_000);
}

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
const failed = (id: string, state: string, executionArn = arn(id)) =>
  release(id, 'FAILED', { executionArn, error: { error: 'SmokeTestsFailed', cause: '1 of 3 failed', state }, endedAt: NOW });

beforeAll(async () => {
  emu = await startTestEmulators();
  store = new ReleaseStore(documentClient(), emu.table, () => new Date(NOW));
  engine = new LocalStepFunctions({
    region: REGION,
    stateMachines: Object.entries(machines).map(([name, definition]) => ({ name, definition })),
    lambdas: {
      hold: async (payload: { releaseId: string; redriveCount: number; input: HoldInput }) => {
        holds.push({ ...payload, redrive: (await store.getRelease(payload.releaseId))?.redrive });
        const { error, succeedFrom } = payload.input;
        if (!error || (succeedFrom !== undefined && payload.redriveCount >= succeedFrom)) return payload.input;
        throw Object.assign(new Error(`held ${payload.releaseId}`), { name: error });
      },
    },
  });
  const { url } = await engine.listen();
  sfn = new SFNClient({ endpoint: url, region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const send = sfn.send.bind(sfn) as (command: object) => Promise<unknown>;
  sfn.send = (async (command: object) => {
    if (command instanceof RedriveExecutionCommand) {
      const executionArn = command.input.executionArn!;
      atRedrive.push({ executionArn, redrive: (await store.getRelease(executionArn.split(':').pop()!))?.redrive });
    }
    const out = await send(command);
    if (afterSend && command instanceof afterSend.type) await afterSend.run();
    return out;
  }) as SFNClient['send'];
});
afterAll(async () => {
  sfn?.destroy();
  await engine?.close();
  await emu?.stop();
});

describe('redriveRelease', () => {
  it.each([
    ['r-running', 'RUNNING' as const, undefined, 'it has not ended'],
    ['r-rolled', 'ROLLED_BACK' as const, undefined, 'launchway rollback greeter'],
    ['r-rejected', 'REJECTED' as const, undefined, 'it ended on purpose'],
    ['r-prepare', 'FAILED' as const, 'Prepare', 'it failed in Prepare'],
  ])('refuses %s (%s), writing nothing', async (id, status, state, why) => {
    await run(id, 'hold', { error: 'ReleaseFailed' });
    await release(id, status, state ? { error: { error: 'ValidationError', cause: 'bad', state } } : {});
    const before = await store.getRelease(id);
    const err = await redriveRelease(deps(), { releaseId: id, ...operator }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.fields.releaseId).toContain(why);
    expect(await store.getRelease(id)).toEqual(before);
    expect(await describeExecution(arn(id))).toMatchObject({ status: 'FAILED', error: 'ReleaseFailed', redriveCount: 0 });
  });

  it.each([
    ['r-succeeded', 'hold' as const, {}, 'ended SUCCEEDED, not in HoldForRedrive'],
    ['r-timeout', 'linger' as const, {}, 'ended TIMED_OUT (States.Timeout), not in HoldForRedrive'],
    ['r-finalize', 'hold' as const, { error: 'FinalizeFailed' }, '(FinalizeFailed), not in HoldForRedrive'],
    [
      'r-branch',
      'branches' as const,
      { error: 'ReleaseFailed' },
      'cannot redrive its execution: The execution stopped inside the Parallel',
    ],
  ])('refuses %s, whose execution cannot resume in HoldForRedrive', async (id, machineName, input, why) => {
    const executionArn = await run(id, machineName, input);
    await failed(id, 'SmokeTestStaging', executionArn);
    const err = await redriveRelease(deps(), { releaseId: id, ...operator }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain(why);
    expect((await store.getRelease(id))?.redrive).toBeUndefined();
    expect((await describeExecution(executionArn)).redriveCount).toBe(0);
  });

  it(`refuses an execution whose history leaves less than RUN_HISTORY_BUDGET (${RUN_HISTORY_BUDGET}) events`, async () => {
    const executionArn = await run('r-long', 'long-history', { n: 0, error: 'ReleaseFailed' });
    expect(await describeExecution(executionArn)).toMatchObject({ status: 'FAILED', error: 'ReleaseFailed', redriveStatus: 'REDRIVABLE' });
    await failed('r-long', 'CheckStaging', executionArn);
    const err = await redriveRelease(deps(), { releaseId: 'r-long', ...operator }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain(`another run may add up to ${RUN_HISTORY_BUDGET}`);
    expect(Number(/history has (\d+) events/.exec(err.message)?.[1])).toBeGreaterThan(4 * ROUNDS);
    expect((await store.getRelease('r-long'))?.redrive).toBeUndefined();
    expect((await describeExecution(executionArn)).redriveCount).toBe(0);
  }, 120_000);

  it('refuses a release whose execution is gone', async () => {
    await release('r-gone', 'FAILED', { error: { error: 'DeploymentFailed', cause: 'x', state: 'CheckStaging' } });
    const before = await store.getRelease('r-gone');
    const err = await redriveRelease(deps(), { releaseId: 'r-gone', ...operator }).catch((e) => e);
    expect(err.fields.releaseId).toContain('no longer exists');
    expect(await store.getRelease('r-gone')).toEqual(before);
  });

  it('writes the request (the redrive count the execution will have) before RedriveExecution', async () => {
    const executionArn = await run('r-ok', 'hold', { error: 'ReleaseFailed' });
    await redriveAndWait(executionArn);
    await redriveAndWait(executionArn);
    await failed('r-ok', 'SmokeTestStaging', executionArn);
    const out = await redriveRelease(deps(), { releaseId: 'r-ok', by: 'ops@example.com', reason: 'staging was down\u001b[2J' });
    const request = { count: 3, ...operator, at: NOW };
    expect(out.redrive).toEqual(request);
    expect(atRedrive.filter((r) => r.executionArn === executionArn).at(-1)).toEqual({ executionArn, redrive: request });
    expect(await describeExecution(executionArn)).toMatchObject({ redriveCount: 3 });
    await engine.waitForExecution(executionArn, 30_000);
    // The redriven run found the request on the record, as HoldForRedrive must to reopen the release.
    expect(holds.filter((h) => h.releaseId === 'r-ok').map((h) => [h.redriveCount, h.redrive])).toEqual([
      [0, undefined],
      [1, undefined],
      [2, undefined],
      [3, request],
    ]);
    expect(await store.getRelease('r-ok')).toMatchObject({ status: 'FAILED', redrive: request });
  });

  it('takes the request back when Step Functions refuses the redrive', async () => {
    // Someone else redrives the execution to success between the checks and our RedriveExecution.
    const executionArn = await run('r-refused', 'hold', { error: 'ReleaseFailed', succeedFrom: 1 });
    await failed('r-refused', 'DeployStaging', executionArn);
    afterSend = { type: DescribeExecutionCommand, run: () => redriveAndWait(executionArn) };
    try {
      const err = await redriveRelease(deps(), { releaseId: 'r-refused', ...operator }).catch((e) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.message).toContain('Step Functions refused the redrive: ');
      expect(err.message).toContain('Execution is SUCCEEDED and cannot be redriven.');
    } finally {
      afterSend = undefined;
    }
    expect(atRedrive.filter((r) => r.executionArn === executionArn).at(-1)?.redrive).toMatchObject({ count: 1, ...operator });
    expect((await store.getRelease('r-refused'))?.redrive).toBeUndefined();
    expect(await describeExecution(executionArn)).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
  });

  it('refuses to write over a record that changed while it was checked', async () => {
    const executionArn = await run('r-race', 'hold', { error: 'ReleaseFailed' });
    await failed('r-race', 'CheckStaging', executionArn);
    afterSend = {
      type: DescribeExecutionCommand,
      run: async () => void (await store.updateRelease('r-race', { links: { note: 'changed' } }, { allowTerminal: true })),
    };
    try {
      await expect(redriveRelease(deps(), { releaseId: 'r-race', ...operator })).rejects.toBeInstanceOf(ConflictError);
    } finally {
      afterSend = undefined;
    }
    expect((await store.getRelease('r-race'))?.redrive).toBeUndefined();
    expect((await describeExecution(executionArn)).redriveCount).toBe(0);
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
    artifacts: new ArtifactStore(s3Client(), emu.bucket),
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
