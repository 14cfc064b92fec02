import 'aws-sdk-client-mock-vitest/extend';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { documentClient, s3Client } from '../../functions/lib/clients.js';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { findService, resetCatalog } from '../../functions/lib/catalog-source.js';
import { resetConfig } from '../../functions/lib/config.js';
import { ConflictError, NotFoundError, ValidationError } from '../../functions/lib/errors.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import type { ReleaseRecord } from '../../functions/lib/store/records.js';
import { OutboxNotifier } from '../../functions/lib/notify/outbox-notifier.js';
import { HmacSecretSigner } from '../../functions/lib/approvals/signer.js';
import { ApprovalService, type SignedLinkParams } from '../../functions/lib/approvals/approval-service.js';
import { ApprovalForbiddenError, ApprovalGoneError } from '../../functions/lib/approvals/errors.js';
import { newApprovalId, signedLink, type Decision } from '../../functions/lib/approvals/links.js';
import { findApprovalLink, listMessages } from '../../local/outbox.js';

const BASE_URL = 'http://approvals.test';
const SECRET = 'unit-test-signing-secret-0123456789abcdef';
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const CAROL = 'carol@example.com';
const CI = 'ci@example.com';

const target = { type: 'local-process' };
const catalog = (greeterApprovers = [ALICE, BOB]) => ({
  services: {
    greeter: { approvers: greeterApprovers, requiredApprovals: 1, approvalTimeoutSeconds: 3600, staging: target, production: target },
    payments: { approvers: [ALICE, BOB, CAROL], requiredApprovals: 2, approvalTimeoutSeconds: 3600, staging: target, production: target },
  },
});

let emu: TestEmulators;
let store: ReleaseStore;
let artifacts: ArtifactStore;
let outboxDir: string;
let clock: Date;
let service: ApprovalService;
const sfn = mockClient(SFNClient);
let releaseCounter = 0;

async function uploadCatalog(body: unknown) {
  await artifacts.put('config/catalog.json', JSON.stringify(body), 'application/json');
  resetCatalog();
}

beforeAll(async () => {
  emu = await startTestEmulators();
  outboxDir = path.join(emu.dir, 'outbox');
  process.env.APPROVAL_BASE_URL = BASE_URL;
  process.env.APPROVAL_SIGNING_SECRET = SECRET;
  process.env.OUTBOX_DIR = outboxDir;
  resetConfig();
  artifacts = new ArtifactStore(s3Client(), emu.bucket);
});
afterAll(async () => emu?.stop());

beforeEach(async () => {
  clock = new Date('2026-05-01T10:00:00.000Z');
  const now = () => new Date(clock);
  store = new ReleaseStore(documentClient(), emu.table, now);
  service = new ApprovalService({
    store,
    doc: documentClient(),
    table: emu.table,
    signer: new HmacSecretSigner(SECRET),
    notifier: new OutboxNotifier(outboxDir, { print: () => undefined }),
    sfn: new SFNClient({}),
    baseUrl: BASE_URL,
    findService,
    now,
  });
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  await uploadCatalog(catalog());
});
afterEach(() => sfn.reset());

/** A release waiting at RequestApproval, with staging smoke results recorded. */
async function release(over: Partial<ReleaseRecord> = {}): Promise<ReleaseRecord> {
  releaseCounter += 1;
  const record: ReleaseRecord = {
    releaseId: `greeter-1.2.${releaseCounter}-abcdef1`,
    service: 'greeter',
    version: `1.2.${releaseCounter}`,
    commit: 'abcdef1',
    branch: 'main',
    triggeredBy: CI,
    status: 'RUNNING',
    request: {},
    changes: [
      { title: 'feat: greet in Spanish', sha: '1111111aaaaaaa', author: 'Dana' },
      { title: 'fix: <script>alert(1)</script> in titles', sha: '2222222bbbbbbb' },
    ],
    createdAt: clock.toISOString(),
    updatedAt: clock.toISOString(),
    ...over,
  };
  expect(await store.createRelease(record)).toBe(true);
  await store.endStep(record.releaseId, 'SmokeTestStaging', 'SUCCEEDED', {
    details: { total: 12, passed: 12, failed: 0, failures: [], reportKeys: { json: `reports/${record.releaseId}/staging.json`, junit: `reports/${record.releaseId}/staging.xml` } },
  });
  return record;
}

function paramsOf(url: string): SignedLinkParams {
  const u = new URL(url);
  return {
    approvalId: decodeURIComponent(u.pathname.split('/').pop()!),
    decision: u.searchParams.get('decision') as Decision,
    approver: u.searchParams.get('approver')!,
    expires: Number(u.searchParams.get('expires')),
    sig: u.searchParams.get('sig')!,
  };
}

async function link(releaseId: string, approver: string, decision: Decision): Promise<SignedLinkParams> {
  return paramsOf(await findApprovalLink(outboxDir, { releaseId, approver, decision }));
}

async function rawApproval(releaseId: string, approvalId: string) {
  const out = await documentClient().send(
    new GetCommand({ TableName: emu.table, Key: { pk: `RELEASE#${releaseId}`, sk: `APPROVAL#${approvalId}` }, ConsistentRead: true }),
  );
  return out.Item!;
}

describe('requestApproval', () => {
  it('stores the token on the approval item, marks the release and step, and emails each approver their own links', async () => {
    const rel = await release();
    const before = (await listMessages(outboxDir)).length;
    const out = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'token-request-1' });

    expect(out.approvers).toEqual([ALICE, BOB]);
    expect(out.expiresAt).toBe(Math.floor(clock.getTime() / 1000) + 3600);
    const item = await rawApproval(rel.releaseId, out.approvalId);
    expect(item).toMatchObject({
      approvalId: out.approvalId,
      taskToken: 'token-request-1',
      approvers: [ALICE, BOB],
      requiredApprovals: 1,
      decisions: {},
      status: 'PENDING',
      expiresAt: out.expiresAt,
      createdAt: clock.toISOString(),
    });
    expect((await store.getRelease(rel.releaseId))?.status).toBe('AWAITING_APPROVAL');
    expect((await store.getSteps(rel.releaseId)).find((s) => s.step === 'Approval')).toMatchObject({
      status: 'RUNNING',
      details: { approvalId: out.approvalId, approvers: [ALICE, BOB], requiredApprovals: 1 },
    });

    const mails = (await listMessages(outboxDir)).slice(before);
    expect(mails.map((m) => m.to)).toEqual([[ALICE], [BOB]]);
    for (const mail of mails) {
      expect(mail.subject).toBe(`[Launchway] Approval needed: greeter ${rel.version}`);
      expect(mail.kind).toBe('approval-request');
      expect(mail.releaseId).toBe(rel.releaseId);
      expect(mail.links.map((l) => l.label)).toEqual(['Approve', 'Reject']);
      for (const l of mail.links) {
        const p = paramsOf(l.url);
        expect(p.approver).toBe(mail.to[0]);
        expect(p.approvalId).toBe(out.approvalId);
        expect(l.url.startsWith(`${BASE_URL}/approvals/`)).toBe(true);
        expect(mail.text).toContain(`${l.label}: ${l.url}`);
      }
      expect(mail.text).toContain('Staging smoke tests: 12 passed, 0 failed of 12 (SUCCEEDED)');
      expect(mail.text).toContain(`reports/${rel.releaseId}/staging.json`);
      expect(mail.text).toContain('feat: greet in Spanish (1111111aaaaa, by Dana)');
      expect(mail.html).toContain('fix: &lt;script&gt;alert(1)&lt;/script&gt; in titles');
      expect(mail.html).not.toContain('<script>');
    }
  });

  it('never writes the task token into an email', async () => {
    const rel = await release();
    const token = `secret-token-${'z'.repeat(40)}`;
    await service.requestApproval({ releaseId: rel.releaseId, taskToken: token });
    for (const file of await readdir(outboxDir)) expect(await readFile(path.join(outboxDir, file), 'utf8')).not.toContain(token);
    expect(JSON.stringify(await service.getApprovalSummary(rel.releaseId))).not.toContain(token);
  });

  it('gives the person who triggered the release only a reject link', async () => {
    const rel = await release({ triggeredBy: 'Alice@Example.com' });
    await service.requestApproval({ releaseId: rel.releaseId, taskToken: 't' });
    const mails = (await listMessages(outboxDir)).filter((m) => m.releaseId === rel.releaseId);
    const alices = mails.find((m) => m.to[0] === ALICE)!;
    expect(alices.links.map((l) => l.label)).toEqual(['Reject']);
    expect(alices.text).toContain('You triggered this release');
    expect(mails.find((m) => m.to[0] === BOB)!.links.map((l) => l.label)).toEqual(['Approve', 'Reject']);
  });

  it('uses the catalog snapshot the release was prepared with', async () => {
    const snapshot = { ...catalog().services.greeter, approvers: [CAROL], notify: [], triggeredBy: [], lockWaitSeconds: 60 };
    const rel = await release({ catalog: snapshot as never });
    const out = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 't' });
    expect(out.approvers).toEqual([CAROL]);
  });

  it('refuses a release that has already ended, and an unknown release', async () => {
    const rel = await release();
    await store.updateRelease(rel.releaseId, { status: 'FAILED' }, { allowTerminal: true });
    await expect(service.requestApproval({ releaseId: rel.releaseId, taskToken: 't' })).rejects.toBeInstanceOf(ConflictError);
    await expect(service.requestApproval({ releaseId: 'nope-1.0.0-abc', taskToken: 't' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('supersedes the earlier approval when the step is retried with a new token', async () => {
    const rel = await release();
    const first = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'first' });
    const oldLink = await link(rel.releaseId, ALICE, 'approve');
    clock = new Date(clock.getTime() + 1000);
    const second = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'second' });
    expect(second.approvalId).not.toBe(first.approvalId);
    expect((await rawApproval(rel.releaseId, first.approvalId)).status).toBe('SUPERSEDED');
    await expect(service.decide(oldLink)).rejects.toMatchObject({ name: 'ApprovalGone', reason: 'superseded' });
    expect((await service.getApprovalSummary(rel.releaseId))?.approvalId).toBe(second.approvalId);

    await service.decide(await link(rel.releaseId, ALICE, 'approve'));
    expect(sfn).toReceiveCommandWith(SendTaskSuccessCommand, { taskToken: 'second' });
    expect(sfn).not.toReceiveCommandWith(SendTaskSuccessCommand, { taskToken: 'first' });
  });
});

describe('decide', () => {
  it('approves 1 of 2: SendTaskSuccess with the stored token and the approval summary, step SUCCEEDED', async () => {
    const rel = await release();
    const { approvalId } = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'token-1of2' });
    clock = new Date(clock.getTime() + 60_000);
    const result = await service.decide({ ...(await link(rel.releaseId, BOB, 'approve')), comment: '  ship it  ' });

    expect(result).toMatchObject({ status: 'APPROVED', approvals: 1, requiredApprovals: 1, approver: BOB, decision: 'approve' });
    const decidedAt = clock.toISOString();
    const decisions = [{ approver: BOB, decision: 'approve', decidedAt, comment: 'ship it', via: 'link' }];
    expect(sfn).toReceiveCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toReceiveCommandWith(SendTaskSuccessCommand, {
      taskToken: 'token-1of2',
      output: JSON.stringify({ approvalId, approvedBy: [BOB], decisions }),
    });
    expect(sfn).not.toReceiveCommand(SendTaskFailureCommand);
    expect(await rawApproval(rel.releaseId, approvalId)).toMatchObject({ status: 'APPROVED', decisions: { [BOB]: decisions[0] } });
    expect((await store.getSteps(rel.releaseId)).find((s) => s.step === 'Approval')).toMatchObject({
      status: 'SUCCEEDED',
      details: { approvalId, approvedBy: [BOB], decisions },
    });
    expect(await service.getApprovalSummary(rel.releaseId)).toMatchObject({ status: 'APPROVED', approvedBy: [BOB], decisions });

    // The approval is closed: the other approver's link now conflicts, and Step Functions hears nothing more.
    await expect(service.decide(await link(rel.releaseId, ALICE, 'approve'))).rejects.toBeInstanceOf(ConflictError);
    expect(sfn).toReceiveCommandTimes(SendTaskSuccessCommand, 1);
  });

  it('needs two approvals for 2 of 3, and tells Step Functions once', async () => {
    const rel = await release({ service: 'payments' });
    await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'token-2of3' });
    const first = await service.decide(await link(rel.releaseId, ALICE, 'approve'));
    expect(first).toMatchObject({ status: 'PENDING', approvals: 1, requiredApprovals: 2 });
    expect(sfn).not.toReceiveCommand(SendTaskSuccessCommand);
    expect((await store.getSteps(rel.releaseId)).find((s) => s.step === 'Approval')?.status).toBe('RUNNING');

    const second = await service.decide(await link(rel.releaseId, CAROL, 'approve'));
    expect(second).toMatchObject({ status: 'APPROVED', approvals: 2 });
    expect(sfn).toReceiveCommandTimes(SendTaskSuccessCommand, 1);
    const output = JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output!);
    expect(output.approvedBy).toEqual([ALICE, CAROL]);
  });

  it('rejects: SendTaskFailure ApprovalRejected with who and why, step FAILED, later approvals conflict', async () => {
    const rel = await release();
    const { approvalId } = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'token-reject' });
    const result = await service.decide({ ...(await link(rel.releaseId, BOB, 'reject')), comment: 'not today' });
    expect(result.status).toBe('REJECTED');
    expect(sfn).toReceiveCommandWith(SendTaskFailureCommand, {
      taskToken: 'token-reject',
      error: 'ApprovalRejected',
      cause: `Rejected by ${BOB}: not today`,
    });
    expect(sfn).not.toReceiveCommand(SendTaskSuccessCommand);
    expect((await rawApproval(rel.releaseId, approvalId)).status).toBe('REJECTED');
    expect((await store.getSteps(rel.releaseId)).find((s) => s.step === 'Approval')).toMatchObject({
      status: 'FAILED',
      error: { error: 'ApprovalRejected', cause: `Rejected by ${BOB}: not today` },
    });
    await expect(service.decide(await link(rel.releaseId, ALICE, 'approve'))).rejects.toBeInstanceOf(ConflictError);
  });

  it('records one decision per approver: a replay conflicts', async () => {
    const rel = await release({ service: 'payments' });
    await service.requestApproval({ releaseId: rel.releaseId, taskToken: 't' });
    const alice = await link(rel.releaseId, ALICE, 'approve');
    await service.decide(alice);
    await expect(service.decide(alice)).rejects.toThrow(/alice@example.com already chose to approve/);
    await expect(service.decide(await link(rel.releaseId, ALICE, 'reject'))).rejects.toBeInstanceOf(ConflictError);
  });

  it('lets concurrent final approvals close the approval exactly once', async () => {
    const rel = await release({ service: 'payments' });
    await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'race' });
    const links = await Promise.all([ALICE, BOB, CAROL].map((a) => link(rel.releaseId, a, 'approve')));
    const results = await Promise.allSettled(links.map((l) => service.decide(l)));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(sfn).toReceiveCommandTimes(SendTaskSuccessCommand, 1);
    const summary = await service.getApprovalSummary(rel.releaseId);
    expect(summary?.status).toBe('APPROVED');
  });

  it('lets a double-submitted decision of one approver count once', async () => {
    const rel = await release({ service: 'payments' });
    const { approvalId } = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 't' });
    const alice = await link(rel.releaseId, ALICE, 'approve');
    const results = await Promise.allSettled([service.decide(alice), service.decide(alice), service.decide(alice)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r) => r.status === 'rejected')) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    expect(Object.keys((await rawApproval(rel.releaseId, approvalId)).decisions)).toEqual([ALICE]);
  });

  it('refuses a forged signature and any tampered field with 403', async () => {
    const rel = await release();
    await service.requestApproval({ releaseId: rel.releaseId, taskToken: 't' });
    const good = await link(rel.releaseId, BOB, 'reject');
    const tampered: SignedLinkParams[] = [
      { ...good, sig: 'A'.repeat(43) },
      { ...good, decision: 'approve' },
      { ...good, approver: ALICE },
      { ...good, expires: good.expires + 86_400 },
    ];
    for (const params of tampered) {
      await expect(service.decide(params)).rejects.toMatchObject({ name: 'ApprovalForbidden', reason: 'bad-signature' });
      await expect(service.describeLink(params)).rejects.toBeInstanceOf(ApprovalForbiddenError);
    }
    expect(sfn).not.toReceiveAnyCommand();
    expect((await service.getApprovalSummary(rel.releaseId))?.decisions).toEqual([]);
  });

  it('answers 410 for an expired link, checked before anything is written', async () => {
    const rel = await release();
    await service.requestApproval({ releaseId: rel.releaseId, taskToken: 't' });
    const bob = await link(rel.releaseId, BOB, 'approve');
    clock = new Date((bob.expires + 1) * 1000);
    await expect(service.describeLink(bob)).rejects.toMatchObject({ name: 'ApprovalGone', reason: 'link-expired' });
    await expect(service.decide(bob)).rejects.toBeInstanceOf(ApprovalGoneError);
    expect((await service.getApprovalSummary(rel.releaseId))?.decisions).toEqual([]);
  });

  it('answers 404 for a validly signed link to an approval that does not exist', async () => {
    const fields = { approvalId: newApprovalId('greeter-9.9.9-abcdef1'), approver: BOB, expires: Math.floor(clock.getTime() / 1000) + 60 };
    const params = paramsOf(await signedLink(new HmacSecretSigner(SECRET), BASE_URL, { ...fields, decision: 'approve' }));
    await expect(service.decide(params)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.describeLink(params)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses self-approval with the reason, but lets the triggerer reject', async () => {
    const rel = await release({ triggeredBy: ALICE });
    const { approvalId, expiresAt } = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'self' });
    // Alice's email has no approve link; a signed one made by hand is still refused.
    const forgedByServer = paramsOf(
      await signedLink(new HmacSecretSigner(SECRET), BASE_URL, { approvalId, approver: ALICE, expires: expiresAt, decision: 'approve' }),
    );
    await expect(service.decide(forgedByServer)).rejects.toThrow(/triggered this release and cannot approve it/);
    await expect(service.decide(forgedByServer)).rejects.toMatchObject({ reason: 'self-approval' });
    const page = await service.describeLink(await link(rel.releaseId, ALICE, 'reject'));
    expect(page.allowedDecisions).toEqual(['reject']);
    expect(page.notice).toMatch(/You triggered this release/);
    // Her form signature covers either decision, but the approve decision is still refused.
    await expect(service.decide({ ...forgedByServer, sig: page.form!.sig })).rejects.toMatchObject({ reason: 'self-approval' });
    expect(sfn).not.toReceiveAnyCommand();

    await service.decide(await link(rel.releaseId, ALICE, 'reject'));
    expect(sfn).toReceiveCommandWith(SendTaskFailureCommand, { taskToken: 'self', error: 'ApprovalRejected', cause: `Rejected by ${ALICE}` });
  });

  it('refuses someone who is not an approver, including an approver removed from the catalog since', async () => {
    const rel = await release();
    const { approvalId, expiresAt } = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 't' });
    const mallory = paramsOf(
      await signedLink(new HmacSecretSigner(SECRET), BASE_URL, { approvalId, approver: 'mallory@example.com', expires: expiresAt, decision: 'approve' }),
    );
    await expect(service.decide(mallory)).rejects.toMatchObject({ name: 'ApprovalForbidden', reason: 'not-an-approver' });

    const bob = await link(rel.releaseId, BOB, 'approve');
    await uploadCatalog(catalog([ALICE]));
    await expect(service.decide(bob)).rejects.toMatchObject({ reason: 'not-an-approver' });
    expect((await service.describeLink(bob)).allowedDecisions).toEqual([]);
    expect(sfn).not.toReceiveAnyCommand();
  });

  it('keeps comments to 1000 characters', async () => {
    const rel = await release();
    await service.requestApproval({ releaseId: rel.releaseId, taskToken: 't' });
    await expect(service.decide({ ...(await link(rel.releaseId, BOB, 'approve')), comment: 'x'.repeat(1001) })).rejects.toBeInstanceOf(
      ValidationError,
    );
    const ok = await service.decide({ ...(await link(rel.releaseId, BOB, 'approve')), comment: 'x'.repeat(1000) });
    expect(ok.decisions[0].comment).toHaveLength(1000);
  });

  it('answers 410 and marks the approval EXPIRED when Step Functions says the task timed out', async () => {
    const rel = await release();
    const { approvalId } = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'late' });
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut' }));
    await expect(service.decide(await link(rel.releaseId, BOB, 'approve'))).rejects.toMatchObject({
      name: 'ApprovalGone',
      reason: 'approval-expired',
    });
    expect((await rawApproval(rel.releaseId, approvalId)).status).toBe('EXPIRED');
    await expect(service.describeLink(await link(rel.releaseId, ALICE, 'approve'))).rejects.toBeInstanceOf(ApprovalGoneError);
  });

  it('reopens the approval when Step Functions fails for another reason, so the same link works again', async () => {
    const rel = await release();
    const { approvalId } = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'flaky' });
    sfn.on(SendTaskSuccessCommand).rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })).resolves({});
    const bob = await link(rel.releaseId, BOB, 'approve');
    await expect(service.decide(bob)).rejects.toThrow('Rate exceeded');
    expect(await rawApproval(rel.releaseId, approvalId)).toMatchObject({ status: 'PENDING', decisions: {} });

    expect((await service.decide(bob)).status).toBe('APPROVED');
    expect(sfn).toReceiveCommandTimes(SendTaskSuccessCommand, 2);
  });

  it('answers 410 when the release ended while the approval was still open', async () => {
    const rel = await release();
    await service.requestApproval({ releaseId: rel.releaseId, taskToken: 't' });
    await store.updateRelease(rel.releaseId, { status: 'EXPIRED' }, { allowTerminal: true });
    await expect(service.decide(await link(rel.releaseId, BOB, 'approve'))).rejects.toMatchObject({ reason: 'release-ended' });
  });
});

describe('describeLink', () => {
  it('shows the release, smoke results and decisions, and changes nothing', async () => {
    const rel = await release({ service: 'payments' });
    const { approvalId } = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'look-only' });
    await service.decide({ ...(await link(rel.releaseId, CAROL, 'approve')), comment: 'fine by me' });
    const itemBefore = await rawApproval(rel.releaseId, approvalId);
    const stepsBefore = await store.getSteps(rel.releaseId);
    const releaseBefore = await store.getRelease(rel.releaseId);
    sfn.resetHistory();

    // A mail scanner opens every link in every email, twice.
    const mails = (await listMessages(outboxDir)).filter((m) => m.releaseId === rel.releaseId);
    for (let i = 0; i < 2; i++) for (const m of mails) for (const l of m.links) await service.describeLink(paramsOf(l.url));

    expect(await rawApproval(rel.releaseId, approvalId)).toEqual(itemBefore);
    expect(await store.getSteps(rel.releaseId)).toEqual(stepsBefore);
    expect(await store.getRelease(rel.releaseId)).toEqual(releaseBefore);
    expect(sfn).not.toReceiveAnyCommand();

    const view = await service.describeLink(await link(rel.releaseId, BOB, 'reject'));
    expect(view.release).toMatchObject({ releaseId: rel.releaseId, version: rel.version, commit: 'abcdef1', triggeredBy: CI });
    expect(view.smoke).toMatchObject({ total: 12, passed: 12, failed: 0, reportKeys: { json: `reports/${rel.releaseId}/staging.json` } });
    expect(view.approval.decisions).toEqual([expect.objectContaining({ approver: CAROL, decision: 'approve', comment: 'fine by me' })]);
    expect(view.allowedDecisions).toEqual(['reject', 'approve']);
    expect(view.form).toMatchObject({ approver: BOB });
    expect(JSON.stringify(view)).not.toContain('look-only');

    const carols = await service.describeLink(await link(rel.releaseId, CAROL, 'approve'));
    expect(carols.allowedDecisions).toEqual([]);
    expect(carols.notice).toMatch(/already chose to approve/);
  });
});

describe('remindApprovers', () => {
  const mailsOf = async (releaseId: string, kind: string) =>
    (await listMessages(outboxDir)).filter((m) => m.releaseId === releaseId && m.kind === kind);

  it('stores the remind point, then the new token; reminds only undecided approvers, once', async () => {
    const rel = await release({ service: 'payments' });
    const { approvalId, expiresAt } = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'first' });
    // payments: 3600 s timeout, default reminder 900 s before expiry.
    expect(await rawApproval(rel.releaseId, approvalId)).toMatchObject({ remindAt: expiresAt - 900 });
    await service.decide(await link(rel.releaseId, BOB, 'approve'));

    clock = new Date((expiresAt - 900) * 1000);
    const out = await service.remindApprovers({ releaseId: rel.releaseId, taskToken: 'second' });
    expect(out).toMatchObject({ approvalId, status: 'PENDING', reminded: [ALICE, CAROL] });
    expect(out.delivered).toBeUndefined();
    const reminders = await mailsOf(rel.releaseId, 'approval-reminder');
    expect(reminders.flatMap((m) => m.to).sort()).toEqual([ALICE, CAROL]);
    expect(reminders[0].text).toContain(`${BOB} chose to approve`);
    expect(await rawApproval(rel.releaseId, approvalId)).toMatchObject({ taskToken: 'second', remindedApprovers: [ALICE, CAROL], remindedAt: clock.toISOString() });

    // A retried step stores its token but sends nothing twice.
    const again = await service.remindApprovers({ releaseId: rel.releaseId, taskToken: 'third' });
    expect(again.reminded).toEqual([]);
    expect(await mailsOf(rel.releaseId, 'approval-reminder')).toHaveLength(2);
    expect((await rawApproval(rel.releaseId, approvalId)).taskToken).toBe('third');
    expect(sfn).not.toReceiveAnyCommand();

    // A decision after the reminder goes to the newest token.
    await service.decide(await link(rel.releaseId, CAROL, 'approve'));
    expect(sfn).toReceiveCommandWith(SendTaskSuccessCommand, { taskToken: 'third' });
  });

  it('keeps a decision made while the token is replaced, and the remind step delivers it with the new token', async () => {
    const rel = await release();
    const { approvalId, expiresAt } = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'old' });
    clock = new Date((expiresAt - 900) * 1000);
    sfn.on(SendTaskSuccessCommand, { taskToken: 'old' }).rejects(Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut' }));

    const result = await service.decide({ ...(await link(rel.releaseId, BOB, 'approve')), comment: 'just in time' });
    expect(result.status).toBe('APPROVED');
    const held = await rawApproval(rel.releaseId, approvalId);
    expect(held.status).toBe('APPROVED');
    expect(held.deliveredAt).toBeUndefined();

    const out = await service.remindApprovers({ releaseId: rel.releaseId, taskToken: 'new' });
    expect(out).toMatchObject({ status: 'APPROVED', reminded: [], delivered: 'delivered' });
    expect(sfn).toReceiveCommandWith(SendTaskSuccessCommand, { taskToken: 'new' });
    expect(await rawApproval(rel.releaseId, approvalId)).toMatchObject({ status: 'APPROVED', deliveredAt: clock.toISOString() });
    expect(await mailsOf(rel.releaseId, 'approval-reminder')).toEqual([]);
  });

  it('a task gone well before the reminder point is not the gap: 410 and EXPIRED as before', async () => {
    const rel = await release();
    const { approvalId, expiresAt } = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'stopped' });
    clock = new Date((expiresAt - 900 - 600) * 1000);
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut' }));
    await expect(service.decide(await link(rel.releaseId, BOB, 'approve'))).rejects.toMatchObject({ reason: 'approval-expired' });
    expect((await rawApproval(rel.releaseId, approvalId)).status).toBe('EXPIRED');
  });

  it('sends a rejection made in the gap as ApprovalRejected with the rejecter and comment', async () => {
    const rel = await release();
    const { expiresAt } = await service.requestApproval({ releaseId: rel.releaseId, taskToken: 'old-r' });
    clock = new Date((expiresAt - 900) * 1000);
    sfn.on(SendTaskFailureCommand, { taskToken: 'old-r' }).rejects(Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut' }));
    expect((await service.decide({ ...(await link(rel.releaseId, ALICE, 'reject')), comment: 'no' })).status).toBe('REJECTED');
    await service.remindApprovers({ releaseId: rel.releaseId, taskToken: 'new-r' });
    expect(sfn).toReceiveCommandWith(SendTaskFailureCommand, { taskToken: 'new-r', error: 'ApprovalRejected', cause: `Rejected by ${ALICE}: no` });
  });
});
