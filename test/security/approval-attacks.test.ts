import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeExecutionCommand, GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, sfnClient } from '../../functions/lib/clients.js';
import { HmacSecretSigner } from '../../functions/lib/approvals/signer.js';
import { signedLink } from '../../functions/lib/approvals/links.js';
import { findApprovalLink, listMessages } from '../../local/outbox.js';
import { parseConfirmationPage } from '../../cli/approval-client.js';
import { startRelease, type StartedRelease } from '../../cli/release-client.js';
import { example, nextCommit, service, startTestStack, waitForStatus, type TestStack } from '../helpers/pipeline.js';

/**
 * Attacks on the approval gate of the real embedded pipeline: releases wait in the real RequestApproval state,
 * links come from the real outbox, requests go over HTTP to the approval server and the real handler. Every case
 * asserts the status it gets AND that nothing changed: every item of the release in dynalite (record, steps,
 * approval with its decisions), the service lock, and the execution, still RUNNING in RequestApproval.
 */

const LEAD = 'lead@example.com';
const QA = 'qa@example.com';
const OPS = 'ops@example.com';
const MALLORY = 'mallory@example.com';
const noInterop = { ...service().interop, enabled: false, apiKeyRequired: false, apiKeys: [] };
const SCRIPT_TITLE = 'fix: escape <script>alert("xss")</script> & "quotes"';
const IMG_AUTHOR = 'Eve <img src=x onerror=alert(1)>';

let stack: TestStack;
let workDir: string;
/** A 2-of-3 release triggered by CI, with hostile change text. */
let guarded: StartedRelease;
/** A release triggered by an approver. */
let selfTriggered: StartedRelease;

async function start(spec: { service: string; triggeredBy: string; changes?: unknown[] }): Promise<StartedRelease> {
  let changesFile: string | undefined;
  if (spec.changes) {
    changesFile = path.join(workDir, `${spec.service}-changes.json`);
    await writeFile(changesFile, JSON.stringify(spec.changes));
  }
  const started = await startRelease({
    service: spec.service,
    version: '1.0.0',
    commit: nextCommit(),
    triggeredBy: spec.triggeredBy,
    bundle: example('1.0.0', 'service.mjs'),
    collection: example('1.0.0', 'collection.postman.json'),
    openapi: example('1.0.0', 'openapi.yaml'),
    changesFile,
  });
  await waitForStatus(started.releaseId, ['AWAITING_APPROVAL']);
  return started;
}

/** Waits, bounded, until every approver of the release has their email. */
async function waitForEmails(releaseId: string, count: number) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = (await listMessages(stack.outboxDir)).filter((m) => m.releaseId === releaseId && m.kind === 'approval-request');
    if (found.length >= count) return found;
    if (Date.now() > deadline) throw new Error(`only ${found.length} approval emails for ${releaseId}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'launchway-attacks-'));
  stack = await startTestStack({
    // No reminder: nothing may change the approval item during the attacks but the attacks themselves.
    guarded: service({ approvers: [LEAD, QA, OPS], requiredApprovals: 2, approvalReminderBeforeExpirySeconds: 0, interop: noInterop }),
    'self-svc': service({ approvers: [LEAD, QA], requiredApprovals: 1, approvalReminderBeforeExpirySeconds: 0, interop: noInterop }),
  });
  [guarded, selfTriggered] = await Promise.all([
    start({
      service: 'guarded',
      triggeredBy: 'ci@example.com',
      changes: [
        { title: SCRIPT_TITLE, sha: 'abcdef0123456789', author: IMG_AUTHOR, url: 'javascript:alert(document.cookie)' },
        { title: 'feat: harmless', url: 'https://example.com/pr/1?a=1&b="2"' },
      ],
    }),
    start({ service: 'self-svc', triggeredBy: LEAD }),
  ]);
  await waitForEmails(guarded.releaseId, 3);
  await waitForEmails(selfTriggered.releaseId, 2);
}, 120_000);

afterAll(async () => {
  await stack?.stopAll();
  await rm(workDir, { recursive: true, force: true });
});

/** Everything that would show a decision or a state change. */
async function snapshot(release: StartedRelease) {
  const items = await documentClient().send(
    new QueryCommand({
      TableName: process.env.RELEASES_TABLE!,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `RELEASE#${release.releaseId}` },
      ConsistentRead: true,
    }),
  );
  const meta = items.Items!.find((i) => i.sk === 'META')!;
  const lock = await documentClient().send(
    new GetCommand({ TableName: process.env.RELEASES_TABLE!, Key: { pk: `LOCK#${meta.service}`, sk: 'LOCK' }, ConsistentRead: true }),
  );
  const execution = await sfnClient().send(new DescribeExecutionCommand({ executionArn: release.executionArn }));
  const { events = [] } = await sfnClient().send(new GetExecutionHistoryCommand({ executionArn: release.executionArn, maxResults: 1000 }));
  const open = new Map<string, number>();
  for (const e of events) {
    if (e.type?.endsWith('StateEntered'))
      open.set(e.stateEnteredEventDetails!.name!, (open.get(e.stateEnteredEventDetails!.name!) ?? 0) + 1);
    if (e.type?.endsWith('StateExited')) open.set(e.stateExitedEventDetails!.name!, (open.get(e.stateExitedEventDetails!.name!) ?? 0) - 1);
  }
  return {
    items: items.Items,
    lock: lock.Item,
    executionStatus: execution.status,
    openStates: [...open].filter(([, n]) => n > 0).map(([name]) => name),
    historyLength: events.length,
  };
}

/** Runs an attack and asserts it changed nothing, and that the release still waits for approval in RequestApproval. */
async function unchangedBy<T>(release: StartedRelease, attack: () => Promise<T>): Promise<T> {
  const before = await snapshot(release);
  expect(before.executionStatus).toBe('RUNNING');
  expect(before.openStates).toEqual(['RequestApproval']);
  const result = await attack();
  const after = await snapshot(release);
  expect(after).toEqual(before);
  return result;
}

function approvalOf(snap: Awaited<ReturnType<typeof snapshot>>) {
  return snap.items!.find((i) => String(i.sk).startsWith('APPROVAL#'))!;
}

type Answer = {
  status: number;
  headers: Headers;
  text: string;
  json?: { error?: { code: string; message: string; details?: Record<string, any> } };
};

async function http(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000), ...init });
  const text = await res.text();
  let json: Answer['json'];
  try {
    json = JSON.parse(text);
  } catch {
    /* HTML */
  }
  return { status: res.status, headers: res.headers, text, json };
}

const getJson = (url: string) => http(url, { headers: { Accept: 'application/json' } });

/** POSTs a link's fields (as a form), the way the confirmation page's form would. */
function postLink(url: string, over: Record<string, string> = {}) {
  const u = new URL(url);
  const form = new URLSearchParams({ ...Object.fromEntries(u.searchParams), ...over });
  return postRaw(`${u.origin}${u.pathname}`, form.toString(), 'application/x-www-form-urlencoded');
}

function postRaw(url: string, body: string | Uint8Array, contentType: string) {
  return http(url, { method: 'POST', headers: { 'Content-Type': contentType, Accept: 'application/json' }, body });
}

function expectRefused(answer: Answer, status: number, code: string, reason?: string) {
  expect(answer.status, answer.text.slice(0, 300)).toBe(status);
  expect(answer.json?.error?.code).toBe(code);
  if (reason) expect(answer.json?.error?.details?.reason).toBe(reason);
}

const link = (release: StartedRelease, approver: string, decision: 'approve' | 'reject') =>
  findApprovalLink(stack.outboxDir, { releaseId: release.releaseId, approver, decision });

/** A link signed with the runtime's own key: only the pipeline can make these, so they stand for real old emails. */
function signedByPipeline(fields: { approvalId: string; approver: string; expires: number; decision: 'approve' | 'reject' }) {
  return signedLink(new HmacSecretSigner(process.env.APPROVAL_SIGNING_SECRET!), stack.endpoints.approval, fields);
}

describe('approval link attacks on a release waiting for approval', () => {
  it('a forged signature is refused with 403 on GET and POST', async () => {
    const url = new URL(await link(guarded, QA, 'approve'));
    url.searchParams.set('sig', 'Q'.repeat(43));
    await unchangedBy(guarded, async () => {
      expectRefused(await getJson(url.toString()), 403, 'FORBIDDEN', 'bad-signature');
      expectRefused(await postLink(url.toString()), 403, 'FORBIDDEN', 'bad-signature');
      // A signature that is not even base64url of a MAC is a validation error, and also decides nothing.
      expectRefused(await postLink(url.toString(), { sig: 'not a signature' }), 400, 'VALIDATION_ERROR');
    });
  });

  it('a tampered decision, approver or expiry breaks the signature: 403', async () => {
    const reject = await link(guarded, QA, 'reject');
    const variants: Record<string, string>[] = [
      { decision: 'approve' },
      { approver: LEAD },
      { approver: OPS, decision: 'approve' },
      { expires: String(Number(new URL(reject).searchParams.get('expires')) + 7 * 24 * 3600) },
    ];
    await unchangedBy(guarded, async () => {
      for (const change of variants) {
        const u = new URL(reject);
        for (const [k, v] of Object.entries(change)) u.searchParams.set(k, v);
        expectRefused(await getJson(u.toString()), 403, 'FORBIDDEN', 'bad-signature');
        expectRefused(await postLink(reject, change), 403, 'FORBIDDEN', 'bad-signature');
      }
    });
  });

  it('an expired link (genuinely signed) is 410 on GET and POST', async () => {
    const approvalId = decodeURIComponent(new URL(await link(guarded, QA, 'approve')).pathname.split('/').pop()!);
    const expired = await signedByPipeline({ approvalId, approver: QA, expires: Math.floor(Date.now() / 1000) - 60, decision: 'approve' });
    await unchangedBy(guarded, async () => {
      expectRefused(await getJson(expired), 410, 'GONE', 'link-expired');
      expectRefused(await postLink(expired), 410, 'GONE', 'link-expired');
      const html = await http(expired);
      expect(html.status).toBe(410);
      expect(html.text).toContain('This link has expired');
    });
  });

  it('a mail scanner that GETs every link of every email decides nothing', async () => {
    await unchangedBy(guarded, async () => {
      let opened = 0;
      for (const mail of await listMessages(stack.outboxDir)) {
        for (const { url } of mail.links) {
          for (const accept of ['text/html,application/xhtml+xml', '*/*', 'application/json']) {
            const res = await http(url, { headers: { Accept: accept, 'User-Agent': 'SafeLinks-Scanner/1.0' } });
            expect(res.status).toBeLessThan(500);
            opened += 1;
          }
          // Scanners also probe with HEAD; only GET and POST are served.
          expect((await http(url, { method: 'HEAD' })).status).toBe(405);
        }
      }
      // 3 approvers × 2 links on the guarded release, 1 + 2 on the self-triggered one, × 3 Accept headers.
      expect(opened).toBeGreaterThanOrEqual(27);
    });
    expect(approvalOf(await snapshot(guarded)).decisions).toEqual({});
  });

  it('a non-approver is refused even with a link the pipeline signed: 403 not-an-approver, and the page offers no buttons', async () => {
    const real = new URL(await link(guarded, QA, 'approve'));
    const approvalId = decodeURIComponent(real.pathname.split('/').pop()!);
    const mallory = await signedByPipeline({
      approvalId,
      approver: MALLORY,
      expires: Number(real.searchParams.get('expires')),
      decision: 'approve',
    });
    await unchangedBy(guarded, async () => {
      expectRefused(await postLink(mallory), 403, 'FORBIDDEN', 'not-an-approver');
      const page = await http(mallory);
      expect(page.status).toBe(200);
      expect(page.text).toContain(`${MALLORY} is not an approver of guarded`);
      expect(page.text).not.toContain('<form');
    });
  });

  it('self-approval: the triggerer gets no approve link, and approving through the page form is 403 with the reason', async () => {
    const mails = (await listMessages(stack.outboxDir)).filter((m) => m.releaseId === selfTriggered.releaseId && m.to.includes(LEAD));
    expect(mails).toHaveLength(1);
    expect(mails[0].links.map((l) => l.label)).toEqual(['Reject']);
    await expect(link(selfTriggered, LEAD, 'approve')).rejects.toThrow(/has no approve link/);

    const rejectLink = await link(selfTriggered, LEAD, 'reject');
    await unchangedBy(selfTriggered, async () => {
      const page = await http(rejectLink);
      expect(page.status).toBe(200);
      const form = parseConfirmationPage(page.text, rejectLink);
      expect(form.decisions).toEqual(['reject']);
      expect(form.notice).toMatch(/You triggered this release/);
      // The form's signature covers either decision for this approver, so only the self-approval rule stops this.
      const forged = await postRaw(
        form.action,
        new URLSearchParams({ ...form.hidden, decision: 'approve' }).toString(),
        'application/x-www-form-urlencoded',
      );
      expectRefused(forged, 403, 'FORBIDDEN', 'self-approval');
      expect(forged.json!.error!.message).toBe(`${LEAD} triggered this release and cannot approve it; another approver has to`);
      // The reject link's own signature is for rejecting only.
      expectRefused(await postLink(rejectLink, { decision: 'approve' }), 403, 'FORBIDDEN', 'bad-signature');
    });
  });

  it('a <script> in a commit message is rendered inert on the page and in the email', async () => {
    const url = await link(guarded, OPS, 'approve');
    const page = await unchangedBy(guarded, () => http(url));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(page.text).toContain('fix: escape &lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(page.text).toContain('by Eve &lt;img src=x onerror=alert(1)&gt;');
    expect(page.text).not.toMatch(/<script/i);
    expect(page.text).not.toMatch(/<img/i);
    expect(page.text).not.toContain('javascript:');
    // A change's http(s) link stays a link, escaped inside the attribute.
    expect(page.text).toContain('href="https://example.com/pr/1?a=1&amp;b=%222%22"');

    const mail = (await listMessages(stack.outboxDir)).find((m) => m.releaseId === guarded.releaseId && m.to.includes(OPS))!;
    expect(mail.html).toContain('&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;');
    expect(mail.html).not.toMatch(/<script|<img|javascript:/i);
  });

  it('malformed and oversized bodies are refused with 400 / 413', async () => {
    const url = await link(guarded, QA, 'approve');
    const u = new URL(url);
    const action = `${u.origin}${u.pathname}`;
    const fields = Object.fromEntries(u.searchParams);
    await unchangedBy(guarded, async () => {
      expectRefused(await postRaw(action, '{"decision":"approve",', 'application/json'), 400, 'VALIDATION_ERROR');
      expectRefused(await postRaw(action, JSON.stringify(fields), 'text/plain'), 400, 'VALIDATION_ERROR');
      expectRefused(await postRaw(action, JSON.stringify([fields]), 'application/json'), 400, 'VALIDATION_ERROR');
      expectRefused(await postRaw(action, new Uint8Array([0xff, 0xfe, 0x00, 0x01, 0x80]), 'application/json'), 400, 'VALIDATION_ERROR');

      const missing = await postRaw(
        action,
        new URLSearchParams({ decision: 'approve', approver: QA }).toString(),
        'application/x-www-form-urlencoded',
      );
      expectRefused(missing, 400, 'VALIDATION_ERROR');
      expect(Object.keys(missing.json!.error!.details!.fields)).toEqual(expect.arrayContaining(['body.expires', 'body.sig']));

      const twice = `${new URLSearchParams(fields).toString()}&approver=${encodeURIComponent(LEAD)}`;
      const repeated = await postRaw(action, twice, 'application/x-www-form-urlencoded');
      expectRefused(repeated, 400, 'VALIDATION_ERROR');
      expect(repeated.json!.error!.details!.fields).toEqual({ 'body.approver': 'expected a single value' });

      expectRefused(await postLink(url, { decision: 'maybe' }), 400, 'VALIDATION_ERROR');
      const tooLong = await postLink(url, { comment: 'x'.repeat(1001) });
      expectRefused(tooLong, 400, 'VALIDATION_ERROR');
      expect(tooLong.json!.error!.details!.fields).toEqual({ 'body.comment': 'expected at most 1000 characters' });

      const big = await postLink(url, { comment: 'y'.repeat(20 * 1024) });
      expectRefused(big, 413, 'PAYLOAD_TOO_LARGE');
      const huge = await postRaw(action, 'z'.repeat(2 * 1024 * 1024), 'application/x-www-form-urlencoded');
      expectRefused(huge, 413, 'PAYLOAD_TOO_LARGE');

      expectRefused(await postLink(`${stack.endpoints.approval}/approvals/not-an-id?x=1`), 400, 'VALIDATION_ERROR');
      expectRefused(await http(url, { method: 'PUT', headers: { Accept: 'application/json' }, body: 'x' }), 405, 'METHOD_NOT_ALLOWED');
    });
  });

  it('a replayed decision is 409 and changes nothing after the first', async () => {
    const url = await link(guarded, QA, 'approve');
    const page = await http(url);
    const form = parseConfirmationPage(page.text, url);
    const body = new URLSearchParams({ ...form.hidden, decision: 'approve', comment: 'first and only' }).toString();
    const first = await postRaw(form.action, body, 'application/x-www-form-urlencoded');
    expect(first.status).toBe(200);
    expect(first.text).toContain('"status":"PENDING"');
    const recorded = approvalOf(await snapshot(guarded));
    expect(recorded.decisions[QA]).toMatchObject({ approver: QA, decision: 'approve', comment: 'first and only', via: 'link' });

    await unchangedBy(guarded, async () => {
      const replay = await postRaw(form.action, body, 'application/x-www-form-urlencoded');
      expectRefused(replay, 409, 'CONFLICT');
      expect(replay.json!.error!.message).toMatch(/^qa@example\.com already chose to approve this release at /);
      expectRefused(await postLink(url), 409, 'CONFLICT');
      expectRefused(await postLink(await link(guarded, QA, 'reject')), 409, 'CONFLICT');
    });
    expect(approvalOf(await snapshot(guarded)).decisions).toEqual({ [QA]: recorded.decisions[QA] });
  });
});
