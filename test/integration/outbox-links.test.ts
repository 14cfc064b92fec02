import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxNotifier } from '../../functions/lib/notify/outbox-notifier.js';
import { buildApprovalEmail } from '../../functions/lib/approvals/approval-email.js';
import { findApprovalLink, listMessages, parseEml } from '../../local/outbox.js';

/** The local outbox as the CLI and tests use it: approval emails written as .eml files, links found again. */

let dir: string;
let now = Date.parse('2026-06-01T08:00:00.000Z');
let notifier: OutboxNotifier;

const release = {
  releaseId: 'greeter-3.0.0-feedbee',
  service: 'greeter',
  version: '3.0.0',
  commit: 'feedbee',
  branch: 'main',
  triggeredBy: 'ci@example.com',
  changes: [{ title: 'feat: wave — with ünïcode', sha: 'feedbee1234567', author: 'Zoë' }],
};

function email(approver: string, approvalId: string) {
  const url = (decision: string) =>
    `http://127.0.0.1:9/approvals/${approvalId}?decision=${decision}&approver=${encodeURIComponent(approver)}&expires=1900000000&sig=${'S'.repeat(43)}`;
  return buildApprovalEmail({
    release,
    approvalId,
    approver,
    links: { approve: url('approve'), reject: url('reject') },
    requiredApprovals: 1,
    approverCount: 2,
    expiresAt: 1_900_000_000,
    smoke: { status: 'SUCCEEDED', total: 3, passed: 3, failed: 0, failures: [], reportKeys: { junit: 'reports/x.xml' } },
  });
}

beforeAll(async () => {
  dir = path.join(await mkdtemp(path.join(tmpdir(), 'launchway-outbox-links-')), 'outbox');
  notifier = new OutboxNotifier(dir, { print: () => undefined, now: () => new Date((now += 1000)) });
});
afterAll(async () => rm(path.dirname(dir), { recursive: true, force: true }));

describe('outbox approval emails', () => {
  it('writes .eml files any MIME reader can split, with the approval links inside', async () => {
    await notifier.send(email('alice@example.com', `${release.releaseId}~first-approval-0000`));
    const [file] = await readdir(dir);
    const raw = await readFile(path.join(dir, file), 'utf8');
    const parsed = parseEml(raw, file);
    expect(parsed.subject).toBe('[Launchway] Approval needed: greeter 3.0.0');
    expect(parsed.kind).toBe('approval-request');
    expect(parsed.text).toContain('feat: wave — with ünïcode (feedbee12345, by Zoë)');
    expect(parsed.text).toContain('Staging smoke tests: 3 passed, 0 failed of 3 (SUCCEEDED)');
    expect(parsed.html).toContain('<a href="http://127.0.0.1:9/approvals/');
    expect(parsed.links.map((l) => l.label)).toEqual(['Approve', 'Reject']);
    // The links printed in the text are the same as the machine-readable ones.
    for (const l of parsed.links) expect(parsed.text).toContain(`${l.label}: ${l.url}`);
  });

  it('finds the link of the newest matching email, case-insensitively by approver', async () => {
    await notifier.send(email('bob@example.com', `${release.releaseId}~first-approval-0000`));
    await notifier.send(email('alice@example.com', `${release.releaseId}~second-approval-000`));
    const approve = await findApprovalLink(dir, { releaseId: release.releaseId, approver: 'Alice@Example.com', decision: 'approve' });
    expect(approve).toContain('~second-approval-000?decision=approve&approver=alice%40example.com');
    const reject = await findApprovalLink(dir, { releaseId: release.releaseId, approver: 'bob@example.com', decision: 'reject' });
    expect(new URL(reject).searchParams.get('decision')).toBe('reject');
    expect((await listMessages(dir)).map((m) => m.to[0])).toEqual(['alice@example.com', 'bob@example.com', 'alice@example.com']);
  });

  it('explains what the outbox holds when nothing matches', async () => {
    await expect(
      findApprovalLink(dir, { releaseId: 'other-1.0.0-abc', approver: 'alice@example.com', decision: 'approve' }),
    ).rejects.toThrow(
      /no approval email for release other-1.0.0-abc to alice@example.com in .*; the outbox has:\n {2}\S+\.eml: release greeter-3\.0\.0-feedbee to alice@example\.com/,
    );
    await expect(
      findApprovalLink(path.join(dir, 'missing'), { releaseId: 'r', approver: 'a@example.com', decision: 'reject' }),
    ).rejects.toThrow(/no approval emails at all \(0 message\(s\) in total\)/);
  });
});
