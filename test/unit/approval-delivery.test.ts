import { beforeEach, describe, expect, it } from 'vitest';
import {
  deliverConclusion,
  deliverDecision,
  REMINDER_GAP_SLACK_SECONDS,
  rejectionCause,
  type DeliveryDeps,
  type DeliveryStore,
  type TaskSender,
} from '../../functions/lib/approvals/delivery.js';
import { ApprovalGoneError } from '../../functions/lib/approvals/errors.js';
import type { ApprovalItem, ApprovalStatus, DecisionRecord } from '../../functions/lib/approvals/records.js';

/**
 * Handing an approval's conclusion to Step Functions, against in-memory fakes: an approval store with the same
 * conditions as ApprovalStore's writes, and a Step Functions that knows which task tokens are still open.
 */

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const NOW = new Date('2026-05-01T10:00:00.000Z');
const NOW_S = NOW.getTime() / 1000;

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const conditionFailed = () => Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
const named = (name: string) => Object.assign(new Error(`${name} from Step Functions`), { name });

/** The approval items, with ApprovalStore's conditions; every call yields first, so concurrent callers interleave. */
class FakeApprovals implements DeliveryStore {
  readonly items = new Map<string, ApprovalItem>();
  /** The token each approval's delivery was claimed for (ApprovalStore keeps its hash). */
  readonly claims = new Map<string, string>();

  put(item: ApprovalItem): void {
    this.items.set(item.approvalId, structuredClone(item));
  }

  /** The remind step storing its new task token. */
  replaceToken(approvalId: string, taskToken: string): void {
    this.items.get(approvalId)!.taskToken = taskToken;
  }

  async get(ref: { approvalId: string }) {
    await tick();
    const item = this.items.get(ref.approvalId);
    return item ? structuredClone(item) : undefined;
  }

  async claimDelivery(ref: { approvalId: string }, taskToken: string) {
    await tick();
    const item = this.items.get(ref.approvalId);
    if (!item || item.taskToken !== taskToken || this.claims.get(ref.approvalId) === taskToken) return false;
    this.claims.set(ref.approvalId, taskToken);
    return true;
  }

  async markDelivered(ref: { approvalId: string }, at: string) {
    await tick();
    this.items.get(ref.approvalId)!.deliveredAt = at;
  }

  async releaseClaim(ref: { approvalId: string }) {
    await tick();
    this.claims.delete(ref.approvalId);
  }

  async reopen(ref: { approvalId: string }, approver: string, concluded: ApprovalStatus) {
    await tick();
    const item = this.items.get(ref.approvalId)!;
    if (item.status !== concluded) throw conditionFailed();
    item.status = 'PENDING';
    delete item.decisions[approver];
    delete item.concludedAt;
    this.claims.delete(ref.approvalId);
  }

  async markExpired(ref: { approvalId: string }, from: ApprovalStatus) {
    await tick();
    const item = this.items.get(ref.approvalId)!;
    if (item.status !== from) throw conditionFailed();
    item.status = 'EXPIRED';
  }
}

interface Sent {
  token: string;
  output?: unknown;
  error?: string;
  cause?: string;
}

/**
 * Step Functions' side of the task tokens: an open token accepts one SendTask* and closes; a closed or unknown
 * one answers `goneAs` (TaskTimedOut by default). `failNext` makes the next call fail with another error, and
 * `beforeAnswer` runs before an answer, as when the remind step replaces the token meanwhile.
 */
class FakeTasks implements TaskSender {
  readonly open = new Set<string>();
  readonly sent: Sent[] = [];
  goneAs = 'TaskTimedOut';
  failNext?: Error;
  beforeAnswer?: () => void;

  async succeed(token: string, output: string) {
    await this.answer(token, { token, output: JSON.parse(output) });
  }

  async fail(token: string, error: string, cause: string) {
    await this.answer(token, { token, error, cause });
  }

  private async answer(token: string, sent: Sent) {
    await tick();
    this.beforeAnswer?.();
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    if (!this.open.delete(token)) throw named(this.goneAs);
    this.sent.push(sent);
  }
}

const decision = (approver: string, kind: 'approve' | 'reject', minute: number, comment?: string): DecisionRecord => ({
  approver,
  decision: kind,
  decidedAt: `2026-05-01T09:${String(minute).padStart(2, '0')}:00.000Z`,
  ...(comment ? { comment } : {}),
  via: 'link',
});

/** A concluded approval as a decider leaves it before telling Step Functions. */
function concluded(status: 'APPROVED' | 'REJECTED', over: Partial<ApprovalItem> = {}): ApprovalItem {
  const decisions =
    status === 'APPROVED' ? { [BOB]: decision(BOB, 'approve', 30, 'ship it') } : { [BOB]: decision(BOB, 'reject', 30, 'not today') };
  return {
    approvalId: 'greeter-1.2.3-abcdef1~AAAAAAAAAAAAAAAAAAAAAA',
    releaseId: 'greeter-1.2.3-abcdef1',
    service: 'greeter',
    taskToken: 'token-1',
    approvers: [ALICE, BOB],
    requiredApprovals: 1,
    decisions,
    status,
    expiresAt: NOW_S + 3600,
    createdAt: '2026-05-01T09:00:00.000Z',
    triggeredBy: 'ci@example.com',
    concludedAt: NOW.toISOString(),
    ...over,
  };
}

let store: FakeApprovals;
let tasks: FakeTasks;
let deps: DeliveryDeps;

beforeEach(() => {
  store = new FakeApprovals();
  tasks = new FakeTasks();
  deps = { store, tasks, now: () => NOW };
});

/** Stores the approval and opens its token at Step Functions. */
function waitingWith(item: ApprovalItem): ApprovalItem {
  store.put(item);
  tasks.open.add(item.taskToken);
  return item;
}

describe('deliverConclusion', () => {
  it('sends an approval once with SendTaskSuccess and the summary, and records the delivery time', async () => {
    const item = waitingWith(concluded('APPROVED'));
    expect(await deliverConclusion(deps, item, { by: 'decide', approver: BOB })).toBe('delivered');
    expect(tasks.sent).toEqual([
      {
        token: 'token-1',
        output: { approvalId: item.approvalId, approvedBy: [BOB], decisions: [decision(BOB, 'approve', 30, 'ship it')] },
      },
    ]);
    expect(store.items.get(item.approvalId)?.deliveredAt).toBe(NOW.toISOString());

    // The token is claimed: delivering again (a retried request) sends nothing more.
    expect(await deliverConclusion(deps, item, { by: 'remind' })).toBe('by-other');
    expect(tasks.sent).toHaveLength(1);
  });

  it('lets one of two concurrent deliverers send; the other loses the claim (by-other)', async () => {
    const item = waitingWith(concluded('APPROVED'));
    const outcomes = await Promise.all([
      deliverConclusion(deps, item, { by: 'decide', approver: BOB }),
      deliverConclusion(deps, item, { by: 'remind' }),
    ]);
    expect(outcomes.sort()).toEqual(['by-other', 'delivered']);
    expect(tasks.sent).toHaveLength(1);
  });

  it('sends a rejection as ApprovalRejected with who rejected and why', async () => {
    const item = waitingWith(concluded('REJECTED'));
    expect(await deliverConclusion(deps, item, { by: 'decide', approver: BOB })).toBe('delivered');
    expect(tasks.sent).toEqual([{ token: 'token-1', error: 'ApprovalRejected', cause: `Rejected by ${BOB}: not today` }]);
  });

  it('uses the token stored now when the one it started with was replaced', async () => {
    const item = waitingWith(concluded('APPROVED'));
    store.replaceToken(item.approvalId, 'token-2');
    tasks.open.add('token-2');
    expect(await deliverConclusion(deps, item, { by: 'decide', approver: BOB })).toBe('delivered');
    expect(tasks.sent.map((s) => s.token)).toEqual(['token-2']);
  });

  it('tries again with the new token when the task is gone because the token was replaced meanwhile', async () => {
    const item = waitingWith(concluded('APPROVED'));
    tasks.beforeAnswer = () => {
      tasks.beforeAnswer = undefined;
      tasks.open.delete('token-1');
      tasks.open.add('token-2');
      store.replaceToken(item.approvalId, 'token-2');
    };
    expect(await deliverConclusion(deps, item, { by: 'decide', approver: BOB })).toBe('delivered');
    expect(tasks.sent.map((s) => s.token)).toEqual(['token-2']);
  });

  it.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])('answers gone when Step Functions says %s', async (name) => {
    const item = waitingWith(concluded('APPROVED'));
    tasks.open.clear();
    tasks.goneAs = name;
    expect(await deliverConclusion(deps, item, { by: 'remind' })).toBe('gone');
    expect(tasks.sent).toEqual([]);
    expect(store.items.get(item.approvalId)?.status).toBe('APPROVED');
  });

  it('the remind step never defers: in the gap a gone task is gone', async () => {
    const item = waitingWith(concluded('APPROVED', { remindAt: NOW_S }));
    tasks.open.clear();
    expect(await deliverConclusion(deps, item, { by: 'remind' })).toBe('gone');
  });

  it('undoes the claim when Step Functions fails for another reason, so a retry delivers', async () => {
    const item = waitingWith(concluded('APPROVED'));
    tasks.failNext = named('ThrottlingException');
    await expect(deliverConclusion(deps, item, { by: 'remind' })).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(store.claims.has(item.approvalId)).toBe(false);
    expect(store.items.get(item.approvalId)?.status).toBe('APPROVED');

    expect(await deliverConclusion(deps, item, { by: 'remind' })).toBe('delivered');
    expect(tasks.sent).toHaveLength(1);
  });

  it('still answers delivered when only recording the delivery time fails', async () => {
    const item = waitingWith(concluded('APPROVED'));
    store.markDelivered = async () => {
      throw new Error('dynamodb is unavailable');
    };
    expect(await deliverConclusion(deps, item, { by: 'remind' })).toBe('delivered');
    expect(tasks.sent).toHaveLength(1);
  });
});

describe('deliverDecision', () => {
  it('marks the approval EXPIRED and answers 410 when the task is gone outside the reminder gap', async () => {
    const item = waitingWith(concluded('APPROVED', { remindAt: NOW_S + REMINDER_GAP_SLACK_SECONDS + 600 }));
    tasks.open.clear();
    await expect(deliverDecision(deps, item, BOB)).rejects.toMatchObject({ name: 'ApprovalGone', reason: 'approval-expired' });
    expect(store.items.get(item.approvalId)?.status).toBe('EXPIRED');
  });

  it('defers to the remind step when the task is gone while the reminder token is being replaced', async () => {
    // The first token times out up to the slack before remindAt; the remind step has not stored its token yet.
    const item = waitingWith(concluded('APPROVED', { remindAt: NOW_S + REMINDER_GAP_SLACK_SECONDS }));
    tasks.open.clear();
    expect(await deliverDecision(deps, item, BOB)).toBe('deferred');
    expect(store.items.get(item.approvalId)).toMatchObject({ status: 'APPROVED' });
    expect(store.items.get(item.approvalId)?.deliveredAt).toBeUndefined();
    expect(tasks.sent).toEqual([]);

    // The remind step, with its new token, delivers what was decided.
    store.replaceToken(item.approvalId, 'token-2');
    tasks.open.add('token-2');
    expect(await deliverConclusion(deps, store.items.get(item.approvalId)!, { by: 'remind' })).toBe('delivered');
    expect(tasks.sent.map((s) => s.token)).toEqual(['token-2']);
  });

  it('is not the gap once the reminder was stored, or when the approval itself expired', async () => {
    const reminded = waitingWith(concluded('APPROVED', { remindAt: NOW_S - 60, remindedAt: NOW.toISOString() }));
    tasks.open.clear();
    await expect(deliverDecision(deps, reminded, BOB)).rejects.toBeInstanceOf(ApprovalGoneError);

    const other = 'greeter-1.2.3-abcdef1~BBBBBBBBBBBBBBBBBBBBBB';
    const expired = waitingWith(concluded('APPROVED', { approvalId: other, remindAt: NOW_S - 600, expiresAt: NOW_S - 1 }));
    tasks.open.clear();
    await expect(deliverDecision(deps, expired, BOB)).rejects.toBeInstanceOf(ApprovalGoneError);
    expect(store.items.get(expired.approvalId)?.status).toBe('EXPIRED');
  });

  it('reopens the approval without the decision when Step Functions fails for another reason, so the link works again', async () => {
    const item = waitingWith(concluded('REJECTED'));
    const failure = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    tasks.failNext = failure;
    await expect(deliverDecision(deps, item, BOB)).rejects.toBe(failure);
    expect(store.items.get(item.approvalId)).toMatchObject({ status: 'PENDING', decisions: {} });
    expect(store.items.get(item.approvalId)?.concludedAt).toBeUndefined();
    expect(store.claims.has(item.approvalId)).toBe(false);
    expect(tasks.sent).toEqual([]);

    // The same approver decides again: the decision is recorded and concluded anew, and this time delivered.
    store.put({ ...store.items.get(item.approvalId)!, decisions: item.decisions, status: 'REJECTED' });
    expect(await deliverDecision(deps, store.items.get(item.approvalId)!, BOB)).toBe('delivered');
    expect(tasks.sent).toEqual([{ token: 'token-1', error: 'ApprovalRejected', cause: `Rejected by ${BOB}: not today` }]);
  });
});

describe('rejectionCause', () => {
  it('names who rejected, with their comment when there is one', () => {
    expect(rejectionCause(concluded('REJECTED'))).toBe(`Rejected by ${BOB}: not today`);
    expect(rejectionCause(concluded('REJECTED', { decisions: { [ALICE]: decision(ALICE, 'reject', 10) } }))).toBe(`Rejected by ${ALICE}`);
    expect(rejectionCause(concluded('REJECTED', { decisions: {} }))).toBe('Rejected');
  });
});
