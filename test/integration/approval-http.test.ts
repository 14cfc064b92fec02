import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_DEPLOY_TARGET, startApprovalBench, type ApprovalBench } from '../helpers/approval-bench.js';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { TestEmulators } from '../helpers/emulators.js';
import type { LocalStepFunctions } from '../../local/sfn/local-step-functions.js';
import type { ApprovalServer } from '../../local/approval-server.js';
import { findApprovalLink, listMessages } from '../../local/outbox.js';
import { decideViaLink } from '../../cli/approval-client.js';
import { documentClient } from '../../functions/lib/clients.js';
import { resetConfig } from '../../functions/lib/config.js';
import type { ReleaseStore } from '../../functions/lib/store/release-store.js';
import type { ReleaseRecord } from '../../functions/lib/store/records.js';
import { HmacSecretSigner } from '../../functions/lib/approvals/signer.js';
import { newApprovalId, signedLink, type Decision } from '../../functions/lib/approvals/links.js';

/**
 * The approval flow over real HTTP: releases wait in a real waitForTaskToken Task on the local Step Functions
 * endpoint, the request-approval Lambda handler writes to dynalite and the outbox, and people (or mail scanners)
 * reach the approval API handler through the local approval server with fetch.
 */

const SECRET = 'integration-signing-secret-0123456789abcdefgh';
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const CAROL = 'carol@example.com';
const CI = 'ci@example.com';
const target = NO_DEPLOY_TARGET;

let bench: ApprovalBench;
let emu: TestEmulators;
let sfn: LocalStepFunctions;
let server: ApprovalServer;
let store: ReleaseStore;
let outboxDir: string;
let counter = 0;

beforeAll(async () => {
  bench = await startApprovalBench({
    secret: SECRET,
    services: {
      greeter: { approvers: [ALICE, BOB], requiredApprovals: 1, staging: target, production: target },
      payments: { approvers: [ALICE, BOB, CAROL], requiredApprovals: 2, staging: target, production: target },
    },
  });
  ({ emu, sfn, server, store, outboxDir } = bench);
});

afterAll(async () => bench?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates a release waiting for approval: the record, its smoke results, and an execution in RequestApproval. */
async function awaitingApproval(over: Partial<ReleaseRecord> = {}) {
  counter += 1;
  const now = new Date().toISOString();
  const rel: ReleaseRecord = {
    releaseId: `${over.service ?? 'greeter'}-2.0.${counter}-c0ffee1`,
    service: 'greeter',
    version: `2.0.${counter}`,
    commit: 'c0ffee1',
    branch: 'main',
    triggeredBy: CI,
    status: 'RUNNING',
    request: {},
    changes: [{ title: 'fix: escape <script>alert("x")</script> & friends', sha: 'abcdef0123456', author: 'Eve <eve@example.com>' }],
    createdAt: now,
    updatedAt: now,
    ...over,
  };
  await store.createRelease(rel);
  await store.endStep(rel.releaseId, 'SmokeTestStaging', 'FAILED', {
    details: {
      total: 5,
      passed: 4,
      failed: 1,
      requests: 3,
      durationMs: 120,
      baseUrl: 'http://127.0.0.1:9/staging',
      failures: [{ name: 'GET /hello', test: 'status is 200', message: 'expected 500 to equal 200 <b>' }],
      reportKeys: { json: `reports/${rel.releaseId}/smoke.json`, junit: `reports/${rel.releaseId}/smoke.xml` },
    },
  });
  const { executionArn } = sfn.startExecution({
    stateMachineArn: `arn:aws:states:us-east-1:000000000000:stateMachine:approval-gate`,
    name: rel.releaseId,
    input: JSON.stringify({ releaseId: rel.releaseId }),
  });
  // The execution reaches RequestApproval and the handler emails every approver; wait for that, bounded.
  const approvers = over.service === 'payments' ? 3 : 2;
  for (let waited = 0; ; waited += 50) {
    const mails = (await listMessages(outboxDir)).filter((m) => m.releaseId === rel.releaseId);
    if (mails.length >= approvers) break;
    const state = sfn.describeExecution({ executionArn });
    if (state.status !== 'RUNNING') throw new Error(`execution ended ${state.status} before the approval emails: ${state.cause ?? ''}`);
    if (waited > 10_000) throw new Error(`no approval emails for ${rel.releaseId} within 10 s`);
    await sleep(50);
  }
  const view = await store.getView(rel.releaseId);
  return { rel, executionArn, view };
}

const link = (releaseId: string, approver: string, decision: Decision) => findApprovalLink(outboxDir, { releaseId, approver, decision });

async function approvalItem(releaseId: string) {
  const summary = await store.getSteps(releaseId);
  const approvalId = summary.find((s) => s.step === 'Approval')?.details?.approvalId as string;
  const out = await documentClient().send(
    new GetCommand({ TableName: emu.table, Key: { pk: `RELEASE#${releaseId}`, sk: `APPROVAL#${approvalId}` }, ConsistentRead: true }),
  );
  return out.Item!;
}

/** The form fields a confirmation page would post, taken from a link. */
function formOf(url: string, decision?: Decision, comment?: string): URLSearchParams {
  const u = new URL(url);
  const body = new URLSearchParams({
    decision: decision ?? u.searchParams.get('decision')!,
    approver: u.searchParams.get('approver')!,
    expires: u.searchParams.get('expires')!,
    sig: u.searchParams.get('sig')!,
  });
  if (comment) body.set('comment', comment);
  return body;
}

function postForm(url: string, body: URLSearchParams | string, headers: Record<string, string> = {}) {
  const u = new URL(url);
  return fetch(`${u.origin}${u.pathname}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', ...headers },
    body: body.toString(),
  });
}

async function expectJsonError(res: Response, status: number, code: string, message?: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string; requestId: string; details?: Record<string, unknown> } };
  expect(body.error.code).toBe(code);
  expect(body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
  if (message) expect(body.error.message).toMatch(message);
  return body.error;
}

/** A link signed with the real secret, for cases no email contains (expired, unknown, someone else). */
async function handSigned(fields: { approvalId: string; approver: string; expires: number; decision: Decision }) {
  return signedLink(new HmacSecretSigner(SECRET), server.url, fields);
}

describe('approval API over HTTP', () => {
  it('approves 1 of 2 through the link: GET shows the page, POST decides, the execution continues', async () => {
    const { rel, executionArn } = await awaitingApproval();
    const url = await link(rel.releaseId, BOB, 'approve');

    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('content-security-policy')).toContain("form-action 'self'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).toContain(`<td>greeter</td>`);
    expect(html).toContain(`<td>${rel.version}</td>`);
    expect(html).toContain('<code>c0ffee1</code>');
    expect(html).toContain(`<td>${CI}</td>`);
    expect(html).toContain('4 passed, 1 failed of 5 (FAILED)');
    expect(html).toContain(`reports/${rel.releaseId}/smoke.json`);
    expect(html).toMatch(/<form method="post" action="\/approvals\/[^"]+"/);
    // The link's own decision is the first, primary button.
    expect(html.indexOf('value="approve" class="primary approve"')).toBeGreaterThan(-1);
    expect(html.indexOf('value="approve"')).toBeLessThan(html.indexOf('value="reject"'));
    expect(html).toContain('<label for="comment">');
    expect(html).not.toContain('<script');

    const result = await decideViaLink(url, { comment: 'looks good' });
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ status: 'APPROVED', approver: BOB, decision: 'approve', approvals: 1 });

    const done = await sfn.waitForExecution(executionArn, 10_000);
    expect(done.status).toBe('SUCCEEDED');
    const output = JSON.parse(done.output!) as {
      approval: { approvalId: string; approvedBy: string[]; decisions: { approver: string; comment?: string }[] };
    };
    expect(output.approval.approvedBy).toEqual([BOB]);
    expect(output.approval.decisions).toEqual([expect.objectContaining({ approver: BOB, decision: 'approve', comment: 'looks good' })]);
    expect((await store.getSteps(rel.releaseId)).find((s) => s.step === 'Approval')?.status).toBe('SUCCEEDED');
  });

  it('needs two approvers for 2 of 3; the first leaves the execution waiting', async () => {
    const { rel, executionArn } = await awaitingApproval({ service: 'payments' });
    const first = await decideViaLink(await link(rel.releaseId, ALICE, 'approve'));
    expect(first.body).toMatchObject({ status: 'PENDING', approvals: 1, requiredApprovals: 2 });
    expect(sfn.describeExecution({ executionArn }).status).toBe('RUNNING');

    const second = await decideViaLink(await link(rel.releaseId, CAROL, 'approve'));
    expect(second.body).toMatchObject({ status: 'APPROVED', approvals: 2 });
    const done = await sfn.waitForExecution(executionArn, 10_000);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output!).approval.approvedBy).toEqual([ALICE, CAROL]);
  });

  it('rejects: the execution fails with ApprovalRejected naming who and why', async () => {
    const { rel, executionArn } = await awaitingApproval();
    // Alice opens her approve link but presses Reject on the page.
    const result = await decideViaLink(await link(rel.releaseId, ALICE, 'approve'), { decision: 'reject', comment: 'smoke test failed' });
    expect(result.body).toMatchObject({ status: 'REJECTED', decision: 'reject' });
    const done = await sfn.waitForExecution(executionArn, 10_000);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('ApprovalRejected');
    expect(done.cause).toBe(`Rejected by ${ALICE}: smoke test failed`);
  });

  it('decides nothing when a mail scanner opens every link of every email', async () => {
    const { rel, executionArn } = await awaitingApproval();
    const before = await approvalItem(rel.releaseId);
    const mails = await listMessages(outboxDir);
    let opened = 0;
    for (const mail of mails) {
      for (const { url } of mail.links) {
        for (const accept of ['text/html', 'application/json', '*/*']) {
          const res = await fetch(url, { headers: { Accept: accept } });
          // Links of finished approvals may answer 4xx; none may decide anything.
          expect(res.status).toBeLessThan(500);
          await res.arrayBuffer();
          opened += 1;
        }
      }
    }
    expect(opened).toBeGreaterThanOrEqual(12);
    expect(await approvalItem(rel.releaseId)).toEqual(before);
    expect(sfn.describeExecution({ executionArn }).status).toBe('RUNNING');
    expect((await store.getRelease(rel.releaseId))?.status).toBe('AWAITING_APPROVAL');

    // The links still work for the person afterwards.
    await decideViaLink(await link(rel.releaseId, BOB, 'reject'));
    expect((await sfn.waitForExecution(executionArn, 10_000)).status).toBe('FAILED');
  });

  it('answers GET with JSON for Accept: application/json, without the task token', async () => {
    const { rel } = await awaitingApproval();
    const token = (await approvalItem(rel.releaseId)).taskToken as string;
    const res = await fetch(await link(rel.releaseId, ALICE, 'reject'), { headers: { Accept: 'application/json' } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(token);
    const body = JSON.parse(text);
    expect(body).toMatchObject({ release: { releaseId: rel.releaseId }, allowedDecisions: ['reject', 'approve'], smoke: { failed: 1 } });
  });

  it('refuses forged and tampered links with 403 and leaves the approval untouched', async () => {
    const { rel } = await awaitingApproval();
    const url = await link(rel.releaseId, BOB, 'reject');
    const before = await approvalItem(rel.releaseId);
    const variants: [string, (u: URL) => void][] = [
      ['forged signature', (u) => u.searchParams.set('sig', 'A'.repeat(43))],
      ['tampered decision', (u) => u.searchParams.set('decision', 'approve')],
      ['tampered approver', (u) => u.searchParams.set('approver', ALICE)],
      ['tampered expiry', (u) => u.searchParams.set('expires', String(Number(u.searchParams.get('expires')) + 3600))],
    ];
    for (const [, change] of variants) {
      const u = new URL(url);
      change(u);
      await expectJsonError(await fetch(u, { headers: { Accept: 'application/json' } }), 403, 'FORBIDDEN', /signature/);
      await expectJsonError(await postForm(u.toString(), formOf(u.toString())), 403, 'FORBIDDEN', /signature/);
    }
    const htmlRefusal = await fetch(url.replace(/sig=[^&]+/, `sig=${'B'.repeat(43)}`));
    expect(htmlRefusal.status).toBe(403);
    expect(htmlRefusal.headers.get('x-frame-options')).toBe('DENY');
    expect(await htmlRefusal.text()).toContain('id="error-code">FORBIDDEN<');
    expect(await approvalItem(rel.releaseId)).toEqual(before);
  });

  it('answers 410 for an expired link and 404 for an approval that does not exist', async () => {
    const { rel } = await awaitingApproval();
    const { approvalId, expiresAt } = (await store.getSteps(rel.releaseId)).find((s) => s.step === 'Approval')!.details as {
      approvalId: string;
      expiresAt: number;
    };
    expect(expiresAt).toBeGreaterThan(Date.now() / 1000);
    const expired = await handSigned({ approvalId, approver: BOB, expires: Math.floor(Date.now() / 1000) - 5, decision: 'approve' });
    await expectJsonError(await fetch(expired, { headers: { Accept: 'application/json' } }), 410, 'GONE', /expired/);
    await expectJsonError(await postForm(expired, formOf(expired)), 410, 'GONE');

    const unknown = await handSigned({ approvalId: newApprovalId(rel.releaseId), approver: BOB, expires: expiresAt, decision: 'approve' });
    await expectJsonError(await fetch(unknown, { headers: { Accept: 'application/json' } }), 404, 'NOT_FOUND');
    await expectJsonError(await postForm(unknown, formOf(unknown)), 404, 'NOT_FOUND');
  });

  it('answers 409 to a replayed decision and to a decision after the approval closed', async () => {
    const { rel } = await awaitingApproval({ service: 'payments' });
    const alice = await link(rel.releaseId, ALICE, 'approve');
    expect((await postForm(alice, formOf(alice))).status).toBe(200);
    await expectJsonError(await postForm(alice, formOf(alice)), 409, 'CONFLICT', /already chose to approve/);

    // The page of a decided link says so and offers no buttons.
    const page = await (await fetch(alice)).text();
    expect(page).toContain('You already chose to approve');
    expect(page).not.toContain('<form');
    await expect(decideViaLink(alice)).rejects.toThrow(/no decision form: You already chose to approve/);

    const bobReject = await link(rel.releaseId, BOB, 'reject');
    expect((await postForm(bobReject, formOf(bobReject))).status).toBe(200);
    const carol = await link(rel.releaseId, CAROL, 'approve');
    await expectJsonError(await postForm(carol, formOf(carol)), 409, 'CONFLICT', /already closed: REJECTED/);
  });

  it('refuses self-approval with the reason, and someone who is not an approver', async () => {
    const { rel } = await awaitingApproval({ triggeredBy: ALICE });
    const aliceReject = await link(rel.releaseId, ALICE, 'reject');
    await expect(link(rel.releaseId, ALICE, 'approve')).rejects.toThrow(/has no approve link/);
    const page = await (await fetch(aliceReject)).text();
    expect(page).toContain('You triggered this release');
    expect(page).toContain('value="reject"');
    expect(page).not.toContain('value="approve"');
    await expect(decideViaLink(aliceReject, { decision: 'approve' })).rejects.toThrow(/offers no approve button/);

    const u = new URL(aliceReject);
    const approvalId = decodeURIComponent(u.pathname.split('/').pop()!);
    const expires = Number(u.searchParams.get('expires'));
    const selfApprove = await handSigned({ approvalId, approver: ALICE, expires, decision: 'approve' });
    const error = await expectJsonError(
      await postForm(selfApprove, formOf(selfApprove)),
      403,
      'FORBIDDEN',
      /triggered this release and cannot approve it/,
    );
    expect(error.details).toEqual({ reason: 'self-approval' });

    const mallory = await handSigned({ approvalId, approver: 'mallory@example.com', expires, decision: 'approve' });
    const notApprover = await expectJsonError(await postForm(mallory, formOf(mallory)), 403, 'FORBIDDEN', /not an approver of greeter/);
    expect(notApprover.details).toEqual({ reason: 'not-an-approver' });
    expect((await approvalItem(rel.releaseId)).decisions).toEqual({});
  });

  it('escapes commit titles, authors, smoke messages and comments in every page', async () => {
    const { rel } = await awaitingApproval({ service: 'payments' });
    const url = await link(rel.releaseId, ALICE, 'approve');
    const html = await (await fetch(url)).text();
    expect(html).toContain('fix: escape &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; friends');
    expect(html).toContain('by Eve &lt;eve@example.com&gt;');
    expect(html).toContain('expected 500 to equal 200 &lt;b&gt;');
    expect(html).not.toMatch(/<script|<b>/);

    const res = await postForm(url, formOf(url, 'approve', '<img src=x onerror=alert(1)>'), { Accept: 'text/html' });
    expect(res.status).toBe(200);
    const resultHtml = await res.text();
    expect(resultHtml).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(resultHtml).not.toContain('<img');
    const later = await (await fetch(await link(rel.releaseId, BOB, 'approve'))).text();
    expect(later).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('answers bad requests with 4xx and the JSON error format', async () => {
    const { rel } = await awaitingApproval();
    const url = await link(rel.releaseId, BOB, 'approve');
    const { origin, pathname } = new URL(url);

    const tooBig = await postForm(url, `${formOf(url).toString()}&comment=${'x'.repeat(20 * 1024)}`);
    await expectJsonError(tooBig, 413, 'PAYLOAD_TOO_LARGE');

    const badJson = await postForm(url, '{"decision": "approve",', { 'Content-Type': 'application/json' });
    expect((await expectJsonError(badJson, 400, 'VALIDATION_ERROR', /not valid JSON/)).details).toEqual({
      fields: { body: 'expected a JSON object' },
    });

    const wrongType = await postForm(url, 'hello', { 'Content-Type': 'text/plain' });
    await expectJsonError(wrongType, 400, 'VALIDATION_ERROR', /unsupported body type/);

    const missing = await postForm(url, new URLSearchParams({ decision: 'maybe', expires: 'soon' }));
    const fields = (await expectJsonError(missing, 400, 'VALIDATION_ERROR')).details?.fields as Record<string, string>;
    expect(fields).toEqual({
      'body.decision': 'expected approve or reject',
      'body.approver': expect.any(String),
      'body.expires': expect.any(String),
      'body.sig': expect.any(String),
    });

    const longComment = await postForm(url, formOf(url, 'approve', 'y'.repeat(1001)));
    expect((await expectJsonError(longComment, 400, 'VALIDATION_ERROR')).details).toEqual({
      fields: { 'body.comment': 'expected at most 1000 characters' },
    });

    const twice = await fetch(`${url}&decision=reject`, { headers: { Accept: 'application/json' } });
    expect((await expectJsonError(twice, 400, 'VALIDATION_ERROR')).details).toEqual({
      fields: { 'query.decision': 'expected a single value' },
    });

    const badId = await fetch(`${origin}/approvals/not-an-id?decision=approve`, { headers: { Accept: 'application/json' } });
    expect((await expectJsonError(badId, 400, 'VALIDATION_ERROR')).details?.fields).toHaveProperty('path.approvalId');

    const put = await fetch(`${origin}${pathname}`, { method: 'PUT', headers: { Accept: 'application/json' } });
    await expectJsonError(put, 405, 'METHOD_NOT_ALLOWED');
    expect(put.headers.get('allow')).toBe('GET, POST');

    await expectJsonError(await fetch(`${origin}/elsewhere`), 404, 'NOT_FOUND');

    // A JSON body works as well as a form.
    const json = await postForm(url, JSON.stringify(Object.fromEntries(formOf(url))), { 'Content-Type': 'application/json' });
    expect(json.status).toBe(200);
  });

  it('answers 410 when the execution is no longer waiting for the approval', async () => {
    const { rel, executionArn } = await awaitingApproval();
    sfn.stopExecution({ executionArn, error: 'Stopped', cause: 'an operator stopped it' });
    await sfn.waitForExecution(executionArn, 10_000);
    const url = await link(rel.releaseId, BOB, 'approve');
    await expectJsonError(await postForm(url, formOf(url)), 410, 'GONE', /no longer waiting/);
    expect((await approvalItem(rel.releaseId)).status).toBe('EXPIRED');
  });

  it('answers an internal failure with a generic 500 and the request id, keeping the detail out', async () => {
    const { rel } = await awaitingApproval();
    const url = await link(rel.releaseId, BOB, 'approve');
    delete process.env.APPROVAL_SIGNING_SECRET;
    resetConfig();
    try {
      const error = await expectJsonError(await fetch(url, { headers: { Accept: 'application/json' } }), 500, 'INTERNAL');
      expect(error.message).toBe('Internal error. Quote the request id when you report it.');
      expect(error).not.toHaveProperty('details');
    } finally {
      process.env.APPROVAL_SIGNING_SECRET = SECRET;
      resetConfig();
    }
    expect((await fetch(url)).status).toBe(200);
  });
});
