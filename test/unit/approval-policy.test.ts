import { describe, expect, it } from 'vitest';
import { ConflictError, ValidationError } from '../../functions/lib/errors.js';
import { ApprovalForbiddenError, ApprovalGoneError } from '../../functions/lib/approvals/errors.js';
import {
  approvalCount,
  approverOfCaller,
  assertCurrent,
  assertOpen,
  awaitsApiOwner,
  checkedComment,
  decidersOf,
  isApproved,
  isConcluded,
  MAX_COMMENT_LENGTH,
  refusalFor,
  unreachableApproval,
} from '../../functions/lib/approvals/policy.js';
import type { DecisionRecord } from '../../functions/lib/approvals/records.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const CI = 'ci@example.com';
const OWNER = 'api-owner@example.com';
const NOW_S = 1_800_000_000;

const approval = { approvers: [ALICE, BOB], service: 'greeter', triggeredBy: ALICE };
const live = { approvers: ['Alice@Example.com', BOB] };
const decided = (approver: string, decision: 'approve' | 'reject'): DecisionRecord => ({
  approver,
  decision,
  decidedAt: '2026-05-01T10:00:00.000Z',
  via: 'link',
});

/** The error `fn` throws; fails the test when it throws nothing. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

describe('refusalFor', () => {
  it('lets an approver named by the request and by the live catalog decide', () => {
    expect(refusalFor(approval, BOB, 'approve', live)).toBeUndefined();
    expect(refusalFor(approval, BOB, 'reject', live)).toBeUndefined();
  });

  it('refuses someone the request did not name, or the live catalog no longer names', () => {
    const mallory = refusalFor(approval, 'mallory@example.com', 'reject', live);
    expect(mallory).toMatchObject({ name: 'ApprovalForbidden', reason: 'not-an-approver' });
    expect(refusalFor(approval, BOB, 'approve', { approvers: [ALICE] })).toMatchObject({ reason: 'not-an-approver' });
    expect(refusalFor(approval, BOB, 'approve', undefined)).toMatchObject({ reason: 'not-an-approver' });
  });

  it('refuses self-approval, but lets the person who triggered the release reject it', () => {
    const refusal = refusalFor(approval, ALICE, 'approve', live);
    expect(refusal).toBeInstanceOf(ApprovalForbiddenError);
    expect(refusal).toMatchObject({ reason: 'self-approval', message: expect.stringContaining('cannot approve it') });
    expect(refusalFor(approval, ALICE, 'reject', live)).toBeUndefined();
  });
});

describe('assertCurrent and assertOpen', () => {
  it('answers 410 for a superseded or expired approval', () => {
    expect(thrown(() => assertCurrent({ status: 'SUPERSEDED', expiresAt: NOW_S + 60 }, NOW_S))).toMatchObject({
      reason: 'superseded',
      message: expect.stringContaining('newest email'),
    });
    const replaced = thrown(() => assertCurrent({ status: 'SUPERSEDED', expiresAt: NOW_S }, NOW_S, 'replaced'));
    expect(replaced).toMatchObject({ message: 'replaced' });
    expect(thrown(() => assertCurrent({ status: 'EXPIRED', expiresAt: NOW_S + 60 }, NOW_S))).toMatchObject({ reason: 'approval-expired' });
    expect(thrown(() => assertCurrent({ status: 'PENDING', expiresAt: NOW_S - 1 }, NOW_S))).toBeInstanceOf(ApprovalGoneError);
    expect(() => assertCurrent({ status: 'PENDING', expiresAt: NOW_S }, NOW_S)).not.toThrow();
    // A concluded approval is current: its page shows what happened, and a late decision conflicts instead.
    expect(() => assertCurrent({ status: 'APPROVED', expiresAt: NOW_S - 1 }, NOW_S)).not.toThrow();
  });

  it('allows one decision per approver while the approval is pending', () => {
    expect(() => assertOpen({ status: 'PENDING', decisions: { [ALICE]: decided(ALICE, 'approve') } }, BOB)).not.toThrow();
    expect(thrown(() => assertOpen({ status: 'PENDING', decisions: { [BOB]: decided(BOB, 'reject') } }, BOB))).toMatchObject({
      name: 'ConflictError',
      message: expect.stringContaining(`${BOB} already chose to reject`),
    });
    expect(thrown(() => assertOpen({ status: 'APPROVED', decisions: {} }, BOB))).toBeInstanceOf(ConflictError);
    expect(thrown(() => assertOpen({ status: 'SUPERSEDED', decisions: {} }, BOB))).toMatchObject({ reason: 'superseded' });
    expect(thrown(() => assertOpen({ status: 'EXPIRED', decisions: {} }, BOB))).toMatchObject({ reason: 'approval-expired' });
  });
});

describe('approverOfCaller', () => {
  const ROLE = 'arn:aws:sts::111122223333:assumed-role/Release/bob';
  const identities = { approverIdentities: { 'Bob@Example.com': [ROLE] } };

  it('maps the caller ARN to one approver, and accepts a claim of that same person', () => {
    expect(approverOfCaller('greeter', identities, ROLE)).toBe(BOB);
    expect(approverOfCaller('greeter', identities, ROLE, ' BOB@example.com ')).toBe(BOB);
  });

  it('refuses an unmapped or ambiguous identity, and a claim of someone else', () => {
    expect(thrown(() => approverOfCaller('greeter', identities, 'arn:aws:iam::111122223333:user/eve'))).toMatchObject({
      reason: 'unknown-identity',
      message: expect.stringContaining('add it under approverIdentities'),
    });
    expect(thrown(() => approverOfCaller('greeter', undefined, ROLE))).toMatchObject({ reason: 'unknown-identity' });
    const both = { approverIdentities: { [ALICE]: [ROLE], [BOB]: [ROLE] } };
    expect(thrown(() => approverOfCaller('greeter', both, ROLE))).toMatchObject({
      reason: 'unknown-identity',
      message: expect.stringContaining(`several approvers (${ALICE}, ${BOB})`),
    });
    expect(thrown(() => approverOfCaller('greeter', identities, ROLE, ALICE))).toMatchObject({ reason: 'identity-mismatch' });
  });
});

describe('N of M', () => {
  it('counts approvals only', () => {
    expect(approvalCount({ [ALICE]: decided(ALICE, 'approve'), [BOB]: decided(BOB, 'reject') })).toBe(1);
    expect(approvalCount(undefined)).toBe(0);
  });

  it('says when too few approvers other than the triggerer can approve', () => {
    expect(unreachableApproval([ALICE, BOB], CI, 2)).toBeUndefined();
    expect(unreachableApproval([ALICE, BOB], ALICE, 1)).toBeUndefined();
    expect(unreachableApproval([ALICE, BOB], ALICE, 2)).toBe(
      `only 1 approver(s) other than ${ALICE} can approve, but 2 approval(s) are required; the release will expire unless it is rejected`,
    );
  });

  it('says when no API owner but the triggerer can approve breaking API changes', () => {
    expect(unreachableApproval([ALICE, BOB], CI, 1, [CI, OWNER])).toBeUndefined();
    expect(unreachableApproval([ALICE, BOB], CI, 1, [CI])).toBe(
      `no API owner other than ${CI} can approve the breaking API changes; the release will expire unless it is rejected`,
    );
  });

  it('treats APPROVED and REJECTED as concluded', () => {
    const statuses = ['APPROVED', 'REJECTED', 'PENDING', 'EXPIRED', 'SUPERSEDED'] as const;
    expect(statuses.filter((s) => isConcluded(s))).toEqual(['APPROVED', 'REJECTED']);
  });
});

describe('checkedComment', () => {
  it('trims, drops an empty comment, and refuses one over the limit', () => {
    expect(checkedComment('  ship it ')).toBe('ship it');
    expect(checkedComment('   ')).toBeUndefined();
    expect(checkedComment(undefined)).toBeUndefined();
    expect(checkedComment('x'.repeat(MAX_COMMENT_LENGTH))).toHaveLength(MAX_COMMENT_LENGTH);
    expect(thrown(() => checkedComment('x'.repeat(MAX_COMMENT_LENGTH + 1)))).toBeInstanceOf(ValidationError);
  });
});

describe('an API owner for breaking API changes', () => {
  const gated = { ...approval, triggeredBy: CI, apiOwners: [OWNER, BOB], requiredApprovals: 1 };
  const liveOwners = { approvers: [ALICE, BOB], interop: { apiOwners: [OWNER, 'Bob@example.com'] } };

  it('lets API owners decide as well, while the request and the live catalog name them', () => {
    expect(decidersOf(gated)).toEqual([ALICE, BOB, OWNER]);
    expect(refusalFor(gated, OWNER, 'approve', liveOwners)).toBeUndefined();
    expect(refusalFor(gated, OWNER, 'reject', liveOwners)).toBeUndefined();
    // Removed from the catalog since, or named by a catalog whose owners default to the approvers: refused.
    expect(refusalFor(gated, OWNER, 'approve', { approvers: [ALICE, BOB] })).toMatchObject({ reason: 'not-an-approver' });
    expect(refusalFor(gated, OWNER, 'approve', undefined)).toMatchObject({ reason: 'not-an-approver' });
    // A release that needs no owner's approval: an owner who is not an approver has no say.
    expect(refusalFor(approval, OWNER, 'reject', liveOwners)).toMatchObject({ reason: 'not-an-approver' });
    // The owner who triggered the release may not approve it either.
    expect(refusalFor({ ...gated, triggeredBy: OWNER }, OWNER, 'approve', liveOwners)).toMatchObject({ reason: 'self-approval' });
  });

  it('needs N approvals of approvers and one of an API owner; one person in both lists counts for both', () => {
    const approved = (...who: string[]) => Object.fromEntries(who.map((w) => [w, decided(w, 'approve')]));
    // The approver alone is not enough: the owner has not approved.
    expect(isApproved({ ...gated, decisions: approved(ALICE) })).toBe(false);
    expect(awaitsApiOwner({ ...gated, decisions: approved(ALICE) })).toBe(true);
    // The owner alone is not one of the N approvers.
    expect(isApproved({ ...gated, decisions: approved(OWNER) })).toBe(false);
    expect(approvalCount(approved(OWNER), gated.approvers)).toBe(0);
    expect(isApproved({ ...gated, decisions: approved(ALICE, OWNER) })).toBe(true);
    // Bob is an approver and an API owner: his approval satisfies both.
    expect(isApproved({ ...gated, decisions: approved(BOB) })).toBe(true);
    // With two approvals required, Bob's still counts once towards the two.
    expect(isApproved({ ...gated, requiredApprovals: 2, decisions: approved(BOB) })).toBe(false);
    expect(isApproved({ ...gated, requiredApprovals: 2, decisions: approved(BOB, ALICE) })).toBe(true);
    // Without API owners the rule is N of M as before.
    expect(isApproved({ ...approval, requiredApprovals: 1, decisions: approved(BOB) })).toBe(true);
    expect(awaitsApiOwner({ decisions: approved(BOB) })).toBe(false);
  });
});
