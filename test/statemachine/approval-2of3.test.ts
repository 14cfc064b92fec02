import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, sfnClient } from '../../functions/lib/clients.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { waitForApprovalLink, listMessages, type OutboxMessage } from '../../local/outbox.js';
import { decide, finish, releaseOf, service, startTestStack, step, waitForStatus, type TestStack } from '../helpers/pipeline.js';

/**
 * N-of-M approvals and the reminder before expiry, on the real ASL in the embedded engine with the real handlers:
 * decisions go through the emailed links, the reminder through the RemindApprovers state.
 */
const LEAD = 'lead@example.com';
const QA = 'qa@example.com';
const OPS = 'ops@example.com';
const noInterop = { ...service().interop, enabled: false, apiKeyRequired: false, apiKeys: [] };
const three = { approvers: [LEAD, QA, OPS], requiredApprovals: 2, interop: noInterop };

let stack: TestStack;
let store: ReleaseStore;

beforeAll(async () => {
  stack = await startTestStack({
    'two-of-three': service({ ...three, approvalTimeoutSeconds: 600 }),
    // Reminder 5 s before a 10 s expiry: RequestApproval waits 5 s, RemindApprovers the other 5 s.
    'remind-svc': service({ ...three, approvalTimeoutSeconds: 10, approvalReminderBeforeExpirySeconds: 5 }),
    'lapse-svc': service({ ...three, requiredApprovals: 1, approvalTimeoutSeconds: 4, approvalReminderBeforeExpirySeconds: 2 }),
  });
  store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
}, 60_000);
afterAll(async () => stack?.stopAll());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The states the execution is in now: entered and not yet exited, from the AWS-shaped history. */
async function openStates(executionArn: string): Promise<string[]> {
  const { events = [] } = await sfnClient().send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  const open = new Map<string, number>();
  for (const e of events) {
    const entered = e.stateEnteredEventDetails?.name;
    const exited = e.stateExitedEventDetails?.name;
    if (entered && e.type?.endsWith('StateEntered')) open.set(entered, (open.get(entered) ?? 0) + 1);
    if (exited && e.type?.endsWith('StateExited')) open.set(exited, (open.get(exited) ?? 0) - 1);
  }
  return [...open].filter(([, n]) => n > 0).map(([name]) => name);
}

async function mails(releaseId: string, kind: string): Promise<OutboxMessage[]> {
  return (await listMessages(stack.outboxDir)).filter((m) => m.releaseId === releaseId && m.kind === kind);
}

/** Waits, bounded, until `count` emails of this kind exist for the release. */
async function waitForMails(releaseId: string, kind: string, count: number, timeoutMs = 15_000): Promise<OutboxMessage[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await mails(releaseId, kind);
    if (found.length >= count) return found;
    if (Date.now() > deadline) throw new Error(`${found.length} of ${count} ${kind} email(s) for ${releaseId} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** The approval item as stored (the release view's summary leaves some fields out). */
async function approvalItem(releaseId: string): Promise<Record<string, any>> {
  const out = await documentClient().send(
    new QueryCommand({
      TableName: process.env.RELEASES_TABLE!,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :a)',
      ExpressionAttributeValues: { ':pk': `RELEASE#${releaseId}`, ':a': 'APPROVAL#' },
      ConsistentRead: true,
    }),
  );
  expect(out.Items).toHaveLength(1);
  return out.Items![0];
}

const recipients = (messages: OutboxMessage[]) => messages.flatMap((m) => m.to.map((t) => t.toLowerCase())).sort();

describe('2 of 3 approvals', () => {
  it('one approval leaves the release waiting at RequestApproval; the second lets it proceed to SUCCEEDED', async () => {
    const started = await releaseOf({ service: 'two-of-three', version: '1.0.0' });
    const first = await decide(stack, started.releaseId, QA, 'approve', 'looks good');
    expect(first.body).toMatchObject({ status: 'PENDING', approvals: 1, requiredApprovals: 2 });

    // A bounded pause: if one approval were enough, the execution would leave RequestApproval within it.
    await sleep(1500);
    const waiting = await store.getView(started.releaseId);
    expect(waiting?.status).toBe('AWAITING_APPROVAL');
    expect(waiting?.approval).toMatchObject({ status: 'PENDING', approvedBy: [QA], requiredApprovals: 2 });
    expect(await openStates(started.executionArn)).toEqual(['RequestApproval']);
    expect(waiting?.steps.map((s) => s.step)).not.toContain('DeployProduction');

    const [second, view] = await Promise.all([decide(stack, started.releaseId, OPS, 'approve'), finish(started)]);
    expect(second.body).toMatchObject({ status: 'APPROVED', approvals: 2 });
    expect(view.status).toBe('SUCCEEDED');
    expect(step(view, 'Approval')).toMatchObject({ status: 'SUCCEEDED', details: expect.objectContaining({ approvedBy: [QA, OPS] }) });
    expect(view.approval?.decisions).toEqual([
      expect.objectContaining({ approver: QA, decision: 'approve', comment: 'looks good', decidedAt: expect.any(String) }),
      expect.objectContaining({ approver: OPS, decision: 'approve', decidedAt: expect.any(String) }),
    ]);
    expect((await store.getCurrent('two-of-three', 'production'))?.version).toBe('1.0.0');
  });

  it('the reminder goes only to approvers who have not decided, and a decision after it still counts', async () => {
    const started = await releaseOf({ service: 'remind-svc', version: '1.0.0' });
    await decide(stack, started.releaseId, QA, 'approve');
    const reminders = await waitForMails(started.releaseId, 'approval-reminder', 2);
    expect(recipients(reminders)).toEqual([LEAD, OPS]);
    expect(reminders[0].subject).toMatch(/^\[Launchway\] Reminder: approval needed: remind-svc 1\.0\.0 \(expires /);
    expect(reminders[0].text).toMatch(/it has 1 of the 2 approvals it needs/);
    expect(reminders[0].text).toContain(`${QA} chose to approve`);
    // The reminder carries working links: the approve link of the reminder is the newest for ops.
    expect(reminders.find((m) => m.to.includes(OPS))!.links.map((l) => l.label)).toEqual(['Approve', 'Reject']);
    expect(await openStates(started.executionArn)).toEqual(['RemindApprovers']);

    const [late, view] = await Promise.all([decide(stack, started.releaseId, OPS, 'approve', 'after the reminder'), finish(started)]);
    expect(late.body).toMatchObject({ status: 'APPROVED', approvals: 2 });
    expect(view.status).toBe('SUCCEEDED');
    expect(view.approval).toMatchObject({ status: 'APPROVED', approvedBy: [QA, OPS] });
    const item = await approvalItem(started.releaseId);
    expect(item).toMatchObject({
      status: 'APPROVED',
      remindedApprovers: [LEAD, OPS],
      remindedAt: expect.any(String),
      deliveredAt: expect.any(String),
    });
    expect(Date.parse(item.remindedAt)).toBeLessThan(Date.parse(item.decisions[OPS].decidedAt));
    // Exactly one reminder per approver who had not decided.
    expect(await mails(started.releaseId, 'approval-reminder')).toHaveLength(2);
  });

  it('nobody deciding ends EXPIRED after one reminder, with an outcome email saying nothing was deployed', async () => {
    const started = await releaseOf({ service: 'lapse-svc', version: '1.0.0' });
    const view = await finish(started);
    expect(view.status).toBe('EXPIRED');
    expect(view.error).toMatchObject({ error: 'ApprovalExpired' });
    expect(step(view, 'Approval')).toMatchObject({ status: 'FAILED', error: expect.objectContaining({ error: 'ApprovalExpired' }) });
    expect(recipients(await mails(started.releaseId, 'approval-reminder'))).toEqual([LEAD, OPS, QA]);
    expect(view.steps.map((s) => s.step)).not.toContain('DeployProduction');
    expect(await store.getCurrent('lapse-svc', 'production')).toBeUndefined();

    const [outcome] = await waitForMails(started.releaseId, 'release-outcome', 1);
    expect(outcome.subject).toBe('[Launchway] lapse-svc 1.0.0: EXPIRED');
    expect(outcome.text).toContain('expired: nobody decided before the approval timed out, so nothing was deployed to production.');
    expect(recipients([outcome])).toEqual(expect.arrayContaining([LEAD, QA, OPS]));

    // The lapsed approval's links no longer decide anything: 410 on the page and on the POST.
    const url = new URL(await waitForApprovalLink(stack.outboxDir, { releaseId: started.releaseId, approver: LEAD, decision: 'approve' }));
    expect((await fetch(url, { signal: AbortSignal.timeout(5000) })).status).toBe(410);
    const form = new URLSearchParams({ ...Object.fromEntries(url.searchParams) });
    const post = await fetch(`${url.origin}${url.pathname}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: form.toString(),
      signal: AbortSignal.timeout(5000),
    });
    expect(post.status).toBe(410);
    expect((await approvalItem(started.releaseId)).decisions).toEqual({});
  });

  it('any rejection ends the release, even after another approver approved', async () => {
    const started = await releaseOf({ service: 'two-of-three', version: '1.1.0' });
    await waitForStatus(started.releaseId, ['AWAITING_APPROVAL']);
    expect(recipients(await waitForMails(started.releaseId, 'approval-request', 3))).toEqual([LEAD, OPS, QA]);
    await decide(stack, started.releaseId, QA, 'approve');
    const [rejected, ended] = await Promise.all([decide(stack, started.releaseId, LEAD, 'reject', 'not now'), finish(started)]);
    expect(rejected.body).toMatchObject({ status: 'REJECTED', approvals: 1 });
    expect(ended.status).toBe('REJECTED');
    expect(ended.error).toMatchObject({ error: 'ApprovalRejected', cause: expect.stringContaining(`${LEAD}: not now`) });
    expect(ended.steps.map((s) => s.step)).not.toContain('DeployProduction');
    expect((await store.getCurrent('two-of-three', 'production'))?.version).not.toBe('1.1.0');
  });
});
