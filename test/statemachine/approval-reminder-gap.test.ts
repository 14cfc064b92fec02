import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApprovalBench, type ApprovalBench } from '../helpers/approval-bench.js';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { TestEmulators } from '../helpers/emulators.js';
import type { LocalStepFunctions, LambdaHandler } from '../../local/sfn/local-step-functions.js';
import { waitForApprovalLink, listMessages } from '../../local/outbox.js';
import { decideViaLink } from '../../cli/approval-client.js';
import { handler as requestApprovalHandler } from '../../functions/approval/handler.js';
import { documentClient } from '../../functions/lib/clients.js';
import type { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { RELEASE_ASL_PATH } from '../../infra/paths.js';

/**
 * The gap at the reminder point: RequestApproval's task token has timed out and RemindApprovers has not stored its
 * new one yet. A decision made then must be kept and delivered by the remind step, not lost or turned into EXPIRED.
 *
 * The approval states are taken verbatim from statemachines/release.asl.json (RequestApproval, ReminderDue,
 * RemindApprovers, their *Caught states, Mark*); what comes after approval is replaced by Pass states. The request-approval handler is the
 * real one, held at the start of its remind phase so the test decides exactly inside the gap.
 */

const SECRET = 'gap-test-signing-secret-0123456789abcdefghij';
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const target = { type: 'local-process' };
/** RequestApproval waits 1 s (the reminder point), RemindApprovers the other 30 s. */
const SCHEDULE = { approvalTimeoutSeconds: 31, approvalReminderBeforeExpirySeconds: 30 };

function approvalMachine(): object {
  const asl = JSON.parse(readFileSync(RELEASE_ASL_PATH, 'utf8')) as { States: Record<string, Record<string, unknown>> };
  const take = (name: string) => {
    const state = structuredClone(asl.States[name]);
    expect(state, `state ${name} in the release ASL`).toBeDefined();
    const params = state.Parameters as { FunctionName?: string } | undefined;
    if (params?.FunctionName) params.FunctionName = params.FunctionName.replace('${ApprovalFunctionArn}', 'request-approval');
    return state;
  };
  return {
    StartAt: 'RequestApproval',
    States: {
      RequestApproval: take('RequestApproval'),
      ReminderDue: take('ReminderDue'),
      RemindApprovers: take('RemindApprovers'),
      RequestApprovalCaught: take('RequestApprovalCaught'),
      RemindApproversCaught: take('RemindApproversCaught'),
      MarkRejected: take('MarkRejected'),
      MarkExpired: take('MarkExpired'),
      MarkFailed: take('MarkFailed'),
      DeployProduction: { Type: 'Pass', Result: { status: 'APPROVED' }, ResultPath: '$.outcome', End: true },
      Finalize: { Type: 'Pass', End: true },
    },
  };
}

/** Holds the remind phase of the real handler until the test lets it go. */
class RemindGate {
  entered!: Promise<void>;
  private enter!: () => void;
  private opened!: Promise<void>;
  private openIt!: () => void;
  constructor() {
    this.reset();
  }
  reset(): void {
    this.entered = new Promise((r) => (this.enter = r));
    this.opened = new Promise((r) => (this.openIt = r));
  }
  open(): void {
    this.openIt();
  }
  readonly handler: LambdaHandler = async (event, context) => {
    if ((event as { phase?: string }).phase === 'remind') {
      this.enter();
      await this.opened;
    }
    return (requestApprovalHandler as unknown as LambdaHandler)(event, context);
  };
}

let bench: ApprovalBench;
let emu: TestEmulators;
let sfn: LocalStepFunctions;
let store: ReleaseStore;
let outboxDir: string;
const gate = new RemindGate();
let counter = 0;

beforeAll(async () => {
  bench = await startApprovalBench({
    secret: SECRET,
    definition: approvalMachine(),
    handler: gate.handler,
    services: { gap: { approvers: [ALICE, BOB], requiredApprovals: 1, ...SCHEDULE, staging: target, production: target } },
  });
  ({ emu, sfn, store, outboxDir } = bench);
});

afterAll(async () => {
  gate.open();
  await bench?.stop();
});

const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms))]);

async function approvalItem(releaseId: string): Promise<Record<string, any>> {
  const out = await documentClient().send(
    new QueryCommand({
      TableName: emu.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :a)',
      ExpressionAttributeValues: { ':pk': `RELEASE#${releaseId}`, ':a': 'APPROVAL#' },
      ConsistentRead: true,
    }),
  );
  return out.Items![0];
}

/** A release whose execution has passed the reminder point and sits at the start of RemindApprovers, held. */
async function inTheGap() {
  counter += 1;
  gate.reset();
  const now = new Date().toISOString();
  const releaseId = `gap-4.0.${counter}-0ddba11`;
  await store.createRelease({
    releaseId,
    service: 'gap',
    version: `4.0.${counter}`,
    commit: '0ddba11',
    branch: 'main',
    triggeredBy: 'ci@example.com',
    status: 'RUNNING',
    request: {},
    changes: [],
    createdAt: now,
    updatedAt: now,
  });
  const { executionArn } = sfn.startExecution({
    stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:approval-gate',
    name: releaseId,
    input: JSON.stringify({ release: { releaseId, approvalWaitSeconds: 1, approvalReminderSeconds: 30 } }),
  });
  await within(gate.entered, 15_000, 'RemindApprovers did not start');
  expect(sfn.describeExecution({ executionArn }).status).toBe('RUNNING');
  return { releaseId, executionArn };
}

describe('a decision while the task token changes hands', () => {
  it('an approval in the gap is answered 200 APPROVED, kept, and delivered by the remind step', async () => {
    const { releaseId, executionArn } = await inTheGap();
    const link = await waitForApprovalLink(outboxDir, { releaseId, approver: BOB, decision: 'approve' });
    const decided = await decideViaLink(link, { comment: 'in the gap' });
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ status: 'APPROVED', approvals: 1 });
    const held = await approvalItem(releaseId);
    expect(held).toMatchObject({ status: 'APPROVED', decisions: { [BOB]: expect.objectContaining({ comment: 'in the gap' }) } });
    expect(held.deliveredAt).toBeUndefined();

    gate.open();
    const ended = await sfn.waitForExecution(executionArn, 15_000);
    expect(ended.status).toBe('SUCCEEDED');
    expect(JSON.parse(ended.output!)).toMatchObject({ outcome: { status: 'APPROVED' }, approval: { approvedBy: [BOB] } });
    const after = await approvalItem(releaseId);
    expect(after).toMatchObject({ status: 'APPROVED', deliveredAt: expect.any(String) });
    expect(after.remindedAt).toBeUndefined();
    // Nobody is reminded of an approval that already concluded.
    expect((await listMessages(outboxDir)).filter((m) => m.releaseId === releaseId && m.kind === 'approval-reminder')).toEqual([]);
  });

  it('a rejection in the gap ends the release REJECTED with the rejecter in the cause', async () => {
    const { releaseId, executionArn } = await inTheGap();
    const link = await waitForApprovalLink(outboxDir, { releaseId, approver: ALICE, decision: 'reject' });
    const decided = await decideViaLink(link, { comment: 'found a bug' });
    expect(decided.body).toMatchObject({ status: 'REJECTED' });

    gate.open();
    const ended = await sfn.waitForExecution(executionArn, 15_000);
    const output = JSON.parse(ended.output!) as { outcome: { status: string }; error: { Error: string; Cause: string } };
    expect(output.outcome.status).toBe('REJECTED');
    expect(output.error).toMatchObject({ Error: 'ApprovalRejected', Cause: `Rejected by ${ALICE}: found a bug` });
    expect((await approvalItem(releaseId)).status).toBe('REJECTED');
  });

  it('with nothing decided in the gap, the remind step reminds and a later approval uses the new token', async () => {
    const { releaseId, executionArn } = await inTheGap();
    gate.open();
    for (let waited = 0; ; waited += 50) {
      const item = await approvalItem(releaseId);
      if (item.remindedAt) break;
      if (waited > 10_000) throw new Error('no reminder within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const reminders = (await listMessages(outboxDir)).filter((m) => m.releaseId === releaseId && m.kind === 'approval-reminder');
    expect(reminders.flatMap((m) => m.to).sort()).toEqual([ALICE, BOB]);
    const link = await waitForApprovalLink(outboxDir, { releaseId, approver: ALICE, decision: 'approve' });
    expect((await decideViaLink(link)).body).toMatchObject({ status: 'APPROVED' });
    expect((await sfn.waitForExecution(executionArn, 15_000)).status).toBe('SUCCEEDED');
  });
});
