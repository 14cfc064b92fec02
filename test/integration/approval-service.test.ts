import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskHeartbeatCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { LocalStepFunctions, type LambdaHandler } from '../../local/sfn/local-step-functions.js';
import { documentClient, s3Client } from '../../functions/lib/clients.js';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { findService, resetCatalog } from '../../functions/lib/catalog-source.js';
import { resetConfig } from '../../functions/lib/config.js';
import { ConflictError, NotFoundError, ValidationError } from '../../functions/lib/errors.js';
import { ApprovalStore } from '../../functions/lib/store/approval-store.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import type { ReleaseRecord } from '../../functions/lib/store/records.js';
import { OutboxNotifier } from '../../functions/lib/notify/outbox-notifier.js';
import { HmacSecretSigner } from '../../functions/lib/approvals/signer.js';
import { ApprovalService } from '../../functions/lib/approvals/approval-service.js';
import type { ApprovalDeps } from '../../functions/lib/approvals/deps.js';
import type { SignedLinkParams } from '../../functions/lib/approvals/link-check.js';
import { remindApprovers, requestApproval } from '../../functions/lib/pipeline/approval.js';
import { ApprovalForbiddenError, ApprovalGoneError } from '../../functions/lib/approvals/errors.js';
import { newApprovalId, signedLink, type Decision } from '../../functions/lib/approvals/links.js';
import { findApprovalLink, listMessages } from '../../local/outbox.js';

/**
 * The approval step (pipeline/approval.ts) and the approval service against the embedded Step Functions endpoint.
 * Every release waits in a real `lambda:invoke.waitForTaskToken` Task (test/fixtures/sfn/approval-*.asl.json) whose
 * Lambda only hands the task token to the test, which gives it to the step as the request-approval handler would. What the service told
 * Step Functions is read back from Step Functions itself: the execution's status and output, its history, and
 * whether the token still answers a heartbeat. DynamoDB is dynalite, S3 is s3rver, mail goes to the outbox.
 *
 * The service's clock is a test clock (expiry and reminder points are hours away); Step Functions' own timeouts are
 * real and short (1 s) where a test needs a task to be gone.
 */

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/sfn');
const REGION = 'us-east-1';
const machineArn = (name: Machine) => `arn:aws:states:${REGION}:000000000000:stateMachine:${name}`;
/** Bound on every wait for the engine (a token to be handed out, an execution to end). */
const WAIT_MS = 10_000;

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

type Machine = 'approval-gate' | 'approval-reminder';
type Phase = 'request' | 'remind';

/**
 * The Lambda behind both approval Task states: it records the task token it was handed, by release and phase, and
 * returns. `failAfterHandOver` makes the next invocation fail after taking the token (as when an invoke times out
 * after the handler stored it), so the state's Retry runs again with a new token.
 */
class TokenInbox {
  private readonly received = new Map<string, string[]>();
  private readonly failing = new Map<string, number>();

  readonly handler: LambdaHandler = (event: { releaseId: string; taskToken: string; phase: Phase }) => {
    const key = `${event.releaseId}/${event.phase}`;
    this.received.set(key, [...(this.received.get(key) ?? []), event.taskToken]);
    const failures = this.failing.get(key) ?? 0;
    if (failures > 0) {
      this.failing.set(key, failures - 1);
      throw Object.assign(new Error('the invocation failed after the handler took the task token'), { name: 'Lambda.ServiceException' });
    }
    return { received: true };
  };

  failAfterHandOver(releaseId: string, phase: Phase): void {
    this.failing.set(`${releaseId}/${phase}`, 1);
  }

  /** The tokens handed out so far for this release and phase, in order. */
  tokens(releaseId: string, phase: Phase): string[] {
    return this.received.get(`${releaseId}/${phase}`) ?? [];
  }
}

let emu: TestEmulators;
let endpoint: LocalStepFunctions;
let sfn: SFNClient;
let store: ReleaseStore;
let artifacts: ArtifactStore;
let outboxDir: string;
let clock: Date;
let deps: ApprovalDeps;
let service: ApprovalService;
const inbox = new TokenInbox();
let releaseCounter = 0;

async function uploadCatalog(body: unknown) {
  await artifacts.put('config/catalog.json', JSON.stringify(body), 'application/json');
  resetCatalog();
}

/** The approval gate's parts as the Lambda handlers build them, with the test clock and the given Step Functions client. */
function depsWith(client: SFNClient): ApprovalDeps {
  const now = () => new Date(clock);
  return {
    store,
    approvals: new ApprovalStore(documentClient(), emu.table),
    signer: new HmacSecretSigner(SECRET),
    notifier: new OutboxNotifier(outboxDir, { print: () => undefined }),
    sfn: client,
    baseUrl: BASE_URL,
    findService,
    now,
  };
}

/** The approval service as the approval API builds it, over {@link depsWith}. */
function serviceWith(client: SFNClient): ApprovalService {
  return new ApprovalService(depsWith(client));
}

beforeAll(async () => {
  emu = await startTestEmulators();
  outboxDir = path.join(emu.dir, 'outbox');
  process.env.APPROVAL_BASE_URL = BASE_URL;
  process.env.APPROVAL_SIGNING_SECRET = SECRET;
  process.env.OUTBOX_DIR = outboxDir;
  resetConfig();
  artifacts = new ArtifactStore(s3Client(), emu.bucket);
  const definition = async (name: Machine) => readFile(path.join(FIXTURES, `${name}.asl.json`), 'utf8');
  endpoint = new LocalStepFunctions({
    region: REGION,
    stateMachines: [
      { name: 'approval-gate', definition: await definition('approval-gate') },
      { name: 'approval-reminder', definition: await definition('approval-reminder') },
    ],
    lambdas: { 'approval-token-inbox': inbox.handler },
    retryIntervalOverrides: { RequestApproval: 0, RemindApprovers: 0 },
  });
  const { url } = await endpoint.listen();
  sfn = new SFNClient({ endpoint: url, region: REGION });
});

afterAll(async () => {
  sfn?.destroy();
  await endpoint?.close();
  await emu?.stop();
});

beforeEach(async () => {
  clock = new Date('2026-05-01T10:00:00.000Z');
  store = new ReleaseStore(documentClient(), emu.table, () => new Date(clock));
  deps = depsWith(sfn);
  service = new ApprovalService(deps);
  await uploadCatalog(catalog());
});

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
    details: {
      total: 12,
      passed: 12,
      failed: 0,
      requests: 4,
      durationMs: 300,
      baseUrl: 'http://127.0.0.1:9/staging',
      failures: [],
      reportKeys: { json: `reports/${record.releaseId}/staging.json`, junit: `reports/${record.releaseId}/staging.xml` },
    },
  });
  return record;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The `index`-th task token handed out for this release and phase; waits for it, at most {@link WAIT_MS}. */
async function tokenOf(executionArn: string, releaseId: string, phase: Phase, index = 0): Promise<string> {
  for (const started = Date.now(); ; await sleep(20)) {
    const token = inbox.tokens(releaseId, phase)[index];
    if (token) return token;
    const { status, error, cause } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (status !== 'RUNNING') throw new Error(`execution ended ${status} (${error}: ${cause}) before ${phase} token #${index + 1}`);
    if (Date.now() - started > WAIT_MS) throw new Error(`no ${phase} token #${index + 1} for ${releaseId} within ${WAIT_MS} ms`);
  }
}

interface Waiting {
  rel: ReleaseRecord;
  executionArn: string;
  /** The task token RequestApproval handed out (its last attempt's, when `failFirst` made it retry). */
  token: string;
}

/**
 * A release whose execution waits in RequestApproval, started through the Step Functions API with the release id
 * as the execution name, as the release state machine is. RequestApproval waits `waitSeconds`, RemindApprovers
 * (on the reminder machine) `reminderSeconds`. `failFirst` makes that phase's first invocation fail after handing
 * over its token, so the state retries with a new one.
 */
async function waiting(
  over: Partial<ReleaseRecord> = {},
  opts: { machine?: Machine; waitSeconds?: number; reminderSeconds?: number; failFirst?: Phase } = {},
): Promise<Waiting> {
  const rel = await release(over);
  if (opts.failFirst) inbox.failAfterHandOver(rel.releaseId, opts.failFirst);
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: machineArn(opts.machine ?? 'approval-gate'),
      name: rel.releaseId,
      input: JSON.stringify({ approvalWaitSeconds: opts.waitSeconds ?? 300, approvalReminderSeconds: opts.reminderSeconds ?? 300 }),
    }),
  );
  const token = await tokenOf(executionArn!, rel.releaseId, 'request', opts.failFirst === 'request' ? 1 : 0);
  return { rel, executionArn: executionArn!, token };
}

/** The execution once it has ended (bounded), as DescribeExecution reports it. */
async function ended(executionArn: string) {
  await endpoint.waitForExecution(executionArn, WAIT_MS);
  return sfn.send(new DescribeExecutionCommand({ executionArn }));
}

async function history(executionArn: string): Promise<HistoryEvent[]> {
  const { events = [], nextToken } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  expect(nextToken).toBeUndefined();
  return events;
}

interface TaskOutcome {
  state: string;
  type: 'TaskSucceeded' | 'TaskFailed' | 'TaskTimedOut';
  output?: unknown;
  error?: string;
  cause?: string;
}

/** How each Task attempt of the execution ended, with the state it belonged to, from GetExecutionHistory. */
async function taskOutcomes(executionArn: string): Promise<TaskOutcome[]> {
  let state = '';
  const outcomes: TaskOutcome[] = [];
  for (const event of await history(executionArn)) {
    if (event.type === 'TaskStateEntered') state = event.stateEnteredEventDetails!.name!;
    if (event.type === 'TaskSucceeded')
      outcomes.push({ state, type: event.type, output: JSON.parse(event.taskSucceededEventDetails!.output!) });
    if (event.type === 'TaskFailed') outcomes.push({ state, type: event.type, ...event.taskFailedEventDetails });
    if (event.type === 'TaskTimedOut') outcomes.push({ state, type: event.type, ...event.taskTimedOutEventDetails });
  }
  return outcomes.map(({ state: s, type, output, error, cause }) => ({
    state: s,
    type,
    ...(output !== undefined ? { output } : {}),
    ...(error !== undefined ? { error } : {}),
    ...(cause !== undefined ? { cause } : {}),
  }));
}

/**
 * Step Functions has heard nothing about the approval: the execution still runs, no Task attempt succeeded or was
 * failed by a SendTask* call, and the token still answers a heartbeat (a settled token answers TaskTimedOut).
 */
async function expectStillWaiting(executionArn: string, token: string) {
  await expect(sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }))).resolves.toBeDefined();
  expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');
  const told = (await taskOutcomes(executionArn)).filter(
    (o) => o.type === 'TaskSucceeded' || (o.type === 'TaskFailed' && o.error !== 'Lambda.ServiceException'),
  );
  expect(told).toEqual([]);
}

/** The execution succeeded with exactly one TaskSucceeded, in `state`, whose output is the approval. */
async function expectApprovedOnce(executionArn: string, approval: unknown, state = 'RequestApproval') {
  const execution = await ended(executionArn);
  expect(execution.status).toBe('SUCCEEDED');
  expect(JSON.parse(execution.output!).approval).toEqual(approval);
  const outcomes = await taskOutcomes(executionArn);
  expect(outcomes.filter((o) => o.type === 'TaskSucceeded')).toEqual([{ state, type: 'TaskSucceeded', output: approval }]);
  expect(outcomes.filter((o) => o.type === 'TaskFailed' && o.error !== 'Lambda.ServiceException')).toEqual([]);
}

/** The execution failed with ApprovalRejected and this cause, told once, in `state`. */
async function expectRejectedOnce(executionArn: string, cause: string, state = 'RequestApproval') {
  const execution = await ended(executionArn);
  expect(execution).toMatchObject({ status: 'FAILED', error: 'ApprovalRejected', cause });
  const outcomes = await taskOutcomes(executionArn);
  expect(outcomes.filter((o) => o.type === 'TaskSucceeded')).toEqual([]);
  expect(outcomes.filter((o) => o.type === 'TaskFailed' && o.error !== 'Lambda.ServiceException')).toEqual([
    { state, type: 'TaskFailed', error: 'ApprovalRejected', cause },
  ]);
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
    const { rel, token } = await waiting();
    const before = (await listMessages(outboxDir)).length;
    const out = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });

    expect(out.approvers).toEqual([ALICE, BOB]);
    expect(out.expiresAt).toBe(Math.floor(clock.getTime() / 1000) + 3600);
    const item = await rawApproval(rel.releaseId, out.approvalId);
    expect(item).toMatchObject({
      approvalId: out.approvalId,
      taskToken: token,
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
    const { rel, token } = await waiting();
    await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    for (const file of await readdir(outboxDir)) expect(await readFile(path.join(outboxDir, file), 'utf8')).not.toContain(token);
    expect(JSON.stringify(await service.getApprovalSummary(rel.releaseId))).not.toContain(token);
  });

  it('gives the person who triggered the release only a reject link', async () => {
    const { rel, token } = await waiting({ triggeredBy: 'Alice@Example.com' });
    await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    const mails = (await listMessages(outboxDir)).filter((m) => m.releaseId === rel.releaseId);
    const alices = mails.find((m) => m.to[0] === ALICE)!;
    expect(alices.links.map((l) => l.label)).toEqual(['Reject']);
    expect(alices.text).toContain('You triggered this release');
    expect(mails.find((m) => m.to[0] === BOB)!.links.map((l) => l.label)).toEqual(['Approve', 'Reject']);
  });

  it('uses the catalog snapshot the release was prepared with', async () => {
    const snapshot = { ...catalog().services.greeter, approvers: [CAROL], notify: [], triggeredBy: [], lockWaitSeconds: 60 };
    const { rel, token } = await waiting({ catalog: snapshot as never });
    const out = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    expect(out.approvers).toEqual([CAROL]);
  });

  it('refuses a release that has already ended, and an unknown release', async () => {
    const { rel, token } = await waiting();
    await store.updateRelease(rel.releaseId, { status: 'FAILED' }, { allowTerminal: true });
    await expect(requestApproval(deps, { releaseId: rel.releaseId, taskToken: token })).rejects.toBeInstanceOf(ConflictError);
    await expect(requestApproval(deps, { releaseId: 'nope-1.0.0-abc', taskToken: token })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('supersedes the earlier approval when the step is retried with a new token', async () => {
    // RequestApproval's first invocation fails after taking its token; the Retry runs it again with a new one.
    const { rel, executionArn, token: second } = await waiting({}, { failFirst: 'request' });
    const [first] = inbox.tokens(rel.releaseId, 'request');
    expect(first).not.toBe(second);
    const firstApproval = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: first });
    const oldLink = await link(rel.releaseId, ALICE, 'approve');
    clock = new Date(clock.getTime() + 1000);
    const secondApproval = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: second });
    expect(secondApproval.approvalId).not.toBe(firstApproval.approvalId);
    expect((await rawApproval(rel.releaseId, firstApproval.approvalId)).status).toBe('SUPERSEDED');
    await expect(service.decide(oldLink)).rejects.toMatchObject({ name: 'ApprovalGone', reason: 'superseded' });
    expect((await service.getApprovalSummary(rel.releaseId))?.approvalId).toBe(secondApproval.approvalId);

    // The first token's attempt is closed: had the service used it, Step Functions would answer TaskTimedOut and
    // the decision would end in 410. The retry's attempt is the one that succeeds.
    await service.decide(await link(rel.releaseId, ALICE, 'approve'));
    await expectApprovedOnce(executionArn, expect.objectContaining({ approvalId: secondApproval.approvalId, approvedBy: [ALICE] }));
    expect((await taskOutcomes(executionArn)).map((o) => [o.type, o.error])).toEqual([
      ['TaskFailed', 'Lambda.ServiceException'],
      ['TaskSucceeded', undefined],
    ]);
  });
});

describe('decide', () => {
  it('approves 1 of 2: SendTaskSuccess with the stored token and the approval summary, step SUCCEEDED', async () => {
    const { rel, executionArn, token } = await waiting();
    const { approvalId } = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    clock = new Date(clock.getTime() + 60_000);
    const result = await service.decide({ ...(await link(rel.releaseId, BOB, 'approve')), comment: '  ship it  ' });

    expect(result).toMatchObject({ status: 'APPROVED', approvals: 1, requiredApprovals: 1, approver: BOB, decision: 'approve' });
    const decidedAt = clock.toISOString();
    const decisions = [{ approver: BOB, decision: 'approve', decidedAt, comment: 'ship it', via: 'link' }];
    await expectApprovedOnce(executionArn, { approvalId, approvedBy: [BOB], decisions });
    expect(await rawApproval(rel.releaseId, approvalId)).toMatchObject({ status: 'APPROVED', decisions: { [BOB]: decisions[0] } });
    expect((await store.getSteps(rel.releaseId)).find((s) => s.step === 'Approval')).toMatchObject({
      status: 'SUCCEEDED',
      details: { approvalId, approvedBy: [BOB], decisions },
    });
    expect(await service.getApprovalSummary(rel.releaseId)).toMatchObject({ status: 'APPROVED', approvedBy: [BOB], decisions });

    // The approval is closed: the other approver's link now conflicts (a second SendTaskSuccess would have been
    // answered TaskTimedOut and turned into 410 instead), and the history is unchanged.
    const historyBefore = await history(executionArn);
    await expect(service.decide(await link(rel.releaseId, ALICE, 'approve'))).rejects.toBeInstanceOf(ConflictError);
    expect(await history(executionArn)).toEqual(historyBefore);
  });

  it('needs two approvals for 2 of 3, and tells Step Functions once', async () => {
    const { rel, executionArn, token } = await waiting({ service: 'payments' });
    await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    const first = await service.decide(await link(rel.releaseId, ALICE, 'approve'));
    expect(first).toMatchObject({ status: 'PENDING', approvals: 1, requiredApprovals: 2 });
    await expectStillWaiting(executionArn, token);
    expect((await store.getSteps(rel.releaseId)).find((s) => s.step === 'Approval')?.status).toBe('RUNNING');

    const second = await service.decide(await link(rel.releaseId, CAROL, 'approve'));
    expect(second).toMatchObject({ status: 'APPROVED', approvals: 2 });
    await expectApprovedOnce(executionArn, expect.objectContaining({ approvedBy: [ALICE, CAROL] }));
  });

  it('rejects: SendTaskFailure ApprovalRejected with who and why, step FAILED, later approvals conflict', async () => {
    const { rel, executionArn, token } = await waiting();
    const { approvalId } = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    const result = await service.decide({ ...(await link(rel.releaseId, BOB, 'reject')), comment: 'not today' });
    expect(result.status).toBe('REJECTED');
    await expectRejectedOnce(executionArn, `Rejected by ${BOB}: not today`);
    expect((await rawApproval(rel.releaseId, approvalId)).status).toBe('REJECTED');
    expect((await store.getSteps(rel.releaseId)).find((s) => s.step === 'Approval')).toMatchObject({
      status: 'FAILED',
      error: { error: 'ApprovalRejected', cause: `Rejected by ${BOB}: not today` },
    });
    await expect(service.decide(await link(rel.releaseId, ALICE, 'approve'))).rejects.toBeInstanceOf(ConflictError);
  });

  it('records one decision per approver: a replay conflicts', async () => {
    const { rel, executionArn, token } = await waiting({ service: 'payments' });
    await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    const alice = await link(rel.releaseId, ALICE, 'approve');
    await service.decide(alice);
    await expect(service.decide(alice)).rejects.toThrow(/alice@example.com already chose to approve/);
    await expect(service.decide(await link(rel.releaseId, ALICE, 'reject'))).rejects.toBeInstanceOf(ConflictError);
    await expectStillWaiting(executionArn, token);
  });

  it('lets concurrent final approvals close the approval exactly once', async () => {
    const { rel, executionArn, token } = await waiting({ service: 'payments' });
    await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    const links = await Promise.all([ALICE, BOB, CAROL].map((a) => link(rel.releaseId, a, 'approve')));
    const results = await Promise.allSettled(links.map((l) => service.decide(l)));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    const summary = await service.getApprovalSummary(rel.releaseId);
    expect(summary?.status).toBe('APPROVED');
    // Exactly one TaskSucceeded for the token. It carries the approvals recorded when the approval closed (two or
    // three, depending on which writer won the close); Step Functions is not told again by the others.
    await expectApprovedOnce(executionArn, expect.objectContaining({ approvalId: summary?.approvalId }));
    const { approvedBy } = JSON.parse((await ended(executionArn)).output!).approval as { approvedBy: string[] };
    expect(approvedBy.length).toBeGreaterThanOrEqual(2);
    for (const approver of approvedBy) expect(summary?.approvedBy).toContain(approver);
  });

  it('lets a double-submitted decision of one approver count once', async () => {
    const { rel, executionArn, token } = await waiting({ service: 'payments' });
    const { approvalId } = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    const alice = await link(rel.releaseId, ALICE, 'approve');
    const results = await Promise.allSettled([service.decide(alice), service.decide(alice), service.decide(alice)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r) => r.status === 'rejected'))
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    expect(Object.keys((await rawApproval(rel.releaseId, approvalId)).decisions)).toEqual([ALICE]);
    await expectStillWaiting(executionArn, token);
  });

  it('refuses a forged signature and any tampered field with 403', async () => {
    const { rel, executionArn, token } = await waiting();
    await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
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
    await expectStillWaiting(executionArn, token);
    expect((await service.getApprovalSummary(rel.releaseId))?.decisions).toEqual([]);
  });

  it('answers 410 for an expired link, checked before anything is written', async () => {
    const { rel, executionArn, token } = await waiting();
    await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    const bob = await link(rel.releaseId, BOB, 'approve');
    clock = new Date((bob.expires + 1) * 1000);
    await expect(service.describeLink(bob)).rejects.toMatchObject({ name: 'ApprovalGone', reason: 'link-expired' });
    await expect(service.decide(bob)).rejects.toBeInstanceOf(ApprovalGoneError);
    expect((await service.getApprovalSummary(rel.releaseId))?.decisions).toEqual([]);
    await expectStillWaiting(executionArn, token);
  });

  it('answers 404 for a validly signed link to an approval that does not exist', async () => {
    const fields = { approvalId: newApprovalId('greeter-9.9.9-abcdef1'), approver: BOB, expires: Math.floor(clock.getTime() / 1000) + 60 };
    const params = paramsOf(await signedLink(new HmacSecretSigner(SECRET), BASE_URL, { ...fields, decision: 'approve' }));
    await expect(service.decide(params)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.describeLink(params)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses self-approval with the reason, but lets the triggerer reject', async () => {
    const { rel, executionArn, token } = await waiting({ triggeredBy: ALICE });
    const { approvalId, expiresAt } = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
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
    await expectStillWaiting(executionArn, token);

    await service.decide(await link(rel.releaseId, ALICE, 'reject'));
    await expectRejectedOnce(executionArn, `Rejected by ${ALICE}`);
  });

  it('refuses someone who is not an approver, including an approver removed from the catalog since', async () => {
    const { rel, executionArn, token } = await waiting();
    const { approvalId, expiresAt } = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    const mallory = paramsOf(
      await signedLink(new HmacSecretSigner(SECRET), BASE_URL, {
        approvalId,
        approver: 'mallory@example.com',
        expires: expiresAt,
        decision: 'approve',
      }),
    );
    await expect(service.decide(mallory)).rejects.toMatchObject({ name: 'ApprovalForbidden', reason: 'not-an-approver' });

    const bob = await link(rel.releaseId, BOB, 'approve');
    await uploadCatalog(catalog([ALICE]));
    await expect(service.decide(bob)).rejects.toMatchObject({ reason: 'not-an-approver' });
    expect((await service.describeLink(bob)).allowedDecisions).toEqual([]);
    await expectStillWaiting(executionArn, token);
  });

  it('keeps comments to 1000 characters', async () => {
    const { rel, executionArn, token } = await waiting();
    await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    await expect(service.decide({ ...(await link(rel.releaseId, BOB, 'approve')), comment: 'x'.repeat(1001) })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expectStillWaiting(executionArn, token);
    const ok = await service.decide({ ...(await link(rel.releaseId, BOB, 'approve')), comment: 'x'.repeat(1000) });
    expect(ok.decisions[0].comment).toHaveLength(1000);
    await expectApprovedOnce(
      executionArn,
      expect.objectContaining({ decisions: [expect.objectContaining({ comment: 'x'.repeat(1000) })] }),
    );
  });

  it('answers 410 and marks the approval EXPIRED when Step Functions says the task timed out', async () => {
    // RequestApproval really times out after 1 s; the execution fails with States.Timeout and closes the token.
    const { rel, executionArn, token } = await waiting({}, { waitSeconds: 1 });
    const { approvalId } = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    expect(await ended(executionArn)).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    await expect(service.decide(await link(rel.releaseId, BOB, 'approve'))).rejects.toMatchObject({
      name: 'ApprovalGone',
      reason: 'approval-expired',
    });
    expect((await rawApproval(rel.releaseId, approvalId)).status).toBe('EXPIRED');
    await expect(service.describeLink(await link(rel.releaseId, ALICE, 'approve'))).rejects.toBeInstanceOf(ApprovalGoneError);
    expect(await taskOutcomes(executionArn)).toEqual([
      { state: 'RequestApproval', type: 'TaskTimedOut', error: 'States.Timeout', cause: expect.any(String) },
    ]);
  });

  it('reopens the approval when Step Functions fails for another reason, so the same link works again', async () => {
    // The one failure here that is not the endpoint's answer: the embedded endpoint answers every SendTaskSuccess
    // with a valid, open token successfully (injectFault acts on Lambda invocations, a closed or stopped execution
    // gives TaskTimedOut, which is the task-gone case), so it cannot be throttled. Instead the service reaches it
    // through a TCP relay on 127.0.0.1 that drops the first connection: a real network failure (socket hang up),
    // with nothing answered on Step Functions' behalf. Later connections are relayed unchanged.
    const { rel, executionArn, token } = await waiting();
    const { approvalId } = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    const relay = await startRelay(new URL(endpoint.url!).port, 1);
    // One attempt per call, so the SDK's own retry does not hide the dropped connection.
    const client = new SFNClient({ endpoint: relay.url, region: REGION, maxAttempts: 1 });
    try {
      const flaky = serviceWith(client);
      const bob = await link(rel.releaseId, BOB, 'approve');
      const failure = await flaky.decide(bob).then(
        () => undefined,
        (err: unknown) => err as Error & { code?: string },
      );
      expect(failure).toBeDefined();
      expect(failure).not.toBeInstanceOf(ApprovalGoneError);
      expect(failure?.code).toBe('ECONNRESET');
      expect(await rawApproval(rel.releaseId, approvalId)).toMatchObject({ status: 'PENDING', decisions: {} });
      await expectStillWaiting(executionArn, token);

      expect((await flaky.decide(bob)).status).toBe('APPROVED');
      await expectApprovedOnce(executionArn, expect.objectContaining({ approvalId, approvedBy: [BOB] }));
      expect(relay.connections()).toBeGreaterThanOrEqual(2);
    } finally {
      client.destroy();
      await relay.close();
    }
  });

  it('answers 410 when the release ended while the approval was still open', async () => {
    const { rel, executionArn, token } = await waiting();
    await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    await store.updateRelease(rel.releaseId, { status: 'EXPIRED' }, { allowTerminal: true });
    await expect(service.decide(await link(rel.releaseId, BOB, 'approve'))).rejects.toMatchObject({ reason: 'release-ended' });
    await expectStillWaiting(executionArn, token);
  });
});

describe('describeLink', () => {
  it('shows the release, smoke results and decisions, and changes nothing', async () => {
    const { rel, executionArn, token } = await waiting({ service: 'payments' });
    const { approvalId } = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    await service.decide({ ...(await link(rel.releaseId, CAROL, 'approve')), comment: 'fine by me' });
    const itemBefore = await rawApproval(rel.releaseId, approvalId);
    const stepsBefore = await store.getSteps(rel.releaseId);
    const releaseBefore = await store.getRelease(rel.releaseId);
    const historyBefore = await history(executionArn);

    // A mail scanner opens every link in every email, twice.
    const mails = (await listMessages(outboxDir)).filter((m) => m.releaseId === rel.releaseId);
    for (let i = 0; i < 2; i++) for (const m of mails) for (const l of m.links) await service.describeLink(paramsOf(l.url));

    expect(await rawApproval(rel.releaseId, approvalId)).toEqual(itemBefore);
    expect(await store.getSteps(rel.releaseId)).toEqual(stepsBefore);
    expect(await store.getRelease(rel.releaseId)).toEqual(releaseBefore);
    expect(await history(executionArn)).toEqual(historyBefore);
    await expectStillWaiting(executionArn, token);

    const view = await service.describeLink(await link(rel.releaseId, BOB, 'reject'));
    expect(view.release).toMatchObject({ releaseId: rel.releaseId, version: rel.version, commit: 'abcdef1', triggeredBy: CI });
    expect(view.smoke).toMatchObject({ total: 12, passed: 12, failed: 0, reportKeys: { json: `reports/${rel.releaseId}/staging.json` } });
    expect(view.approval.decisions).toEqual([expect.objectContaining({ approver: CAROL, decision: 'approve', comment: 'fine by me' })]);
    expect(view.allowedDecisions).toEqual(['reject', 'approve']);
    expect(view.form).toMatchObject({ approver: BOB });
    expect(JSON.stringify(view)).not.toContain(token);

    const carols = await service.describeLink(await link(rel.releaseId, CAROL, 'approve'));
    expect(carols.allowedDecisions).toEqual([]);
    expect(carols.notice).toMatch(/already chose to approve/);
  });
});

describe('remindApprovers', () => {
  const mailsOf = async (releaseId: string, kind: string) =>
    (await listMessages(outboxDir)).filter((m) => m.releaseId === releaseId && m.kind === kind);

  it('stores the remind point, then the new token; reminds only undecided approvers, once', async () => {
    // RequestApproval waits 1 s (the reminder point); RemindApprovers' first invocation fails after taking its
    // token, so the retried step hands out a third one, as a retried remind Lambda would.
    const {
      rel,
      executionArn,
      token: first,
    } = await waiting({ service: 'payments' }, { machine: 'approval-reminder', waitSeconds: 1, failFirst: 'remind' });
    const { approvalId, expiresAt } = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: first });
    // payments: 3600 s timeout, default reminder 900 s before expiry.
    expect(await rawApproval(rel.releaseId, approvalId)).toMatchObject({ remindAt: expiresAt - 900 });
    await service.decide(await link(rel.releaseId, BOB, 'approve'));

    const second = await tokenOf(executionArn, rel.releaseId, 'remind', 0);
    const third = await tokenOf(executionArn, rel.releaseId, 'remind', 1);
    clock = new Date((expiresAt - 900) * 1000);
    const out = await remindApprovers(deps, { releaseId: rel.releaseId, taskToken: second });
    expect(out).toMatchObject({ approvalId, status: 'PENDING', reminded: [ALICE, CAROL] });
    expect(out.delivered).toBeUndefined();
    const reminders = await mailsOf(rel.releaseId, 'approval-reminder');
    expect(reminders.flatMap((m) => m.to).sort()).toEqual([ALICE, CAROL]);
    expect(reminders[0].text).toContain(`${BOB} chose to approve`);
    expect(await rawApproval(rel.releaseId, approvalId)).toMatchObject({
      taskToken: second,
      remindedApprovers: [ALICE, CAROL],
      remindedAt: clock.toISOString(),
    });

    // A retried step stores its token but sends nothing twice.
    const again = await remindApprovers(deps, { releaseId: rel.releaseId, taskToken: third });
    expect(again.reminded).toEqual([]);
    expect(await mailsOf(rel.releaseId, 'approval-reminder')).toHaveLength(2);
    expect((await rawApproval(rel.releaseId, approvalId)).taskToken).toBe(third);
    await expectStillWaiting(executionArn, third);

    // A decision after the reminder goes to the newest token: the earlier two are closed.
    await service.decide(await link(rel.releaseId, CAROL, 'approve'));
    await expectApprovedOnce(executionArn, expect.objectContaining({ approvalId, approvedBy: [BOB, CAROL] }), 'RemindApprovers');
    expect((await taskOutcomes(executionArn)).map((o) => [o.state, o.type, o.error])).toEqual([
      ['RequestApproval', 'TaskTimedOut', 'States.Timeout'],
      ['RemindApprovers', 'TaskFailed', 'Lambda.ServiceException'],
      ['RemindApprovers', 'TaskSucceeded', undefined],
    ]);
  });

  it('marks the reminder sent only after its emails are written, so a retried step after a failed send still reminds', async () => {
    const {
      rel,
      executionArn,
      token: first,
    } = await waiting({ service: 'payments' }, { machine: 'approval-reminder', waitSeconds: 1, failFirst: 'remind' });
    const { approvalId, expiresAt } = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: first });
    const second = await tokenOf(executionArn, rel.releaseId, 'remind', 0);
    const third = await tokenOf(executionArn, rel.releaseId, 'remind', 1);
    clock = new Date((expiresAt - 900) * 1000);

    // The mailer is down for the first attempt: the step fails and nothing says a reminder went out.
    const down = { send: async () => Promise.reject(new Error('mail relay unavailable')) };
    await expect(remindApprovers({ ...deps, notifier: down }, { releaseId: rel.releaseId, taskToken: second })).rejects.toThrow(
      'mail relay unavailable',
    );
    expect(await rawApproval(rel.releaseId, approvalId)).not.toHaveProperty('remindedAt');
    expect(await mailsOf(rel.releaseId, 'approval-reminder')).toHaveLength(0);

    // The retried step reminds every undecided approver, then marks it.
    const retried = await remindApprovers(deps, { releaseId: rel.releaseId, taskToken: third });
    expect(retried.reminded.sort()).toEqual([ALICE, BOB, CAROL].sort());
    expect((await mailsOf(rel.releaseId, 'approval-reminder')).flatMap((m) => m.to).sort()).toEqual([ALICE, BOB, CAROL].sort());
    expect(await rawApproval(rel.releaseId, approvalId)).toMatchObject({ remindedAt: clock.toISOString() });
  });

  it('keeps a decision made while the token is replaced, and the remind step delivers it with the new token', async () => {
    const { rel, executionArn, token: old } = await waiting({}, { machine: 'approval-reminder', waitSeconds: 1 });
    const { approvalId, expiresAt } = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: old });
    // RequestApproval timed out at the reminder point (its token is closed) and RemindApprovers has its new token,
    // which the approval does not know yet: the gap.
    const fresh = await tokenOf(executionArn, rel.releaseId, 'remind');
    clock = new Date((expiresAt - 900) * 1000);

    const result = await service.decide({ ...(await link(rel.releaseId, BOB, 'approve')), comment: 'just in time' });
    expect(result.status).toBe('APPROVED');
    const held = await rawApproval(rel.releaseId, approvalId);
    expect(held.status).toBe('APPROVED');
    expect(held.deliveredAt).toBeUndefined();
    await expectStillWaiting(executionArn, fresh);

    const out = await remindApprovers(deps, { releaseId: rel.releaseId, taskToken: fresh });
    expect(out).toMatchObject({ status: 'APPROVED', reminded: [], delivered: 'delivered' });
    await expectApprovedOnce(executionArn, expect.objectContaining({ approvalId, approvedBy: [BOB] }), 'RemindApprovers');
    expect(await rawApproval(rel.releaseId, approvalId)).toMatchObject({ status: 'APPROVED', deliveredAt: clock.toISOString() });
    expect(await mailsOf(rel.releaseId, 'approval-reminder')).toEqual([]);
  });

  it('a task gone well before the reminder point is not the gap: 410 and EXPIRED as before', async () => {
    const { rel, executionArn, token } = await waiting({}, { machine: 'approval-reminder' });
    const { approvalId, expiresAt } = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    await sfn.send(new StopExecutionCommand({ executionArn, error: 'Stopped', cause: 'stopped by an operator' }));
    expect((await ended(executionArn)).status).toBe('ABORTED');
    clock = new Date((expiresAt - 900 - 600) * 1000);
    await expect(service.decide(await link(rel.releaseId, BOB, 'approve'))).rejects.toMatchObject({ reason: 'approval-expired' });
    expect((await rawApproval(rel.releaseId, approvalId)).status).toBe('EXPIRED');
  });

  it('sends a rejection made in the gap as ApprovalRejected with the rejecter and comment', async () => {
    const { rel, executionArn, token } = await waiting({}, { machine: 'approval-reminder', waitSeconds: 1 });
    const { expiresAt } = await requestApproval(deps, { releaseId: rel.releaseId, taskToken: token });
    const fresh = await tokenOf(executionArn, rel.releaseId, 'remind');
    clock = new Date((expiresAt - 900) * 1000);
    expect((await service.decide({ ...(await link(rel.releaseId, ALICE, 'reject')), comment: 'no' })).status).toBe('REJECTED');
    await expectStillWaiting(executionArn, fresh);
    await remindApprovers(deps, { releaseId: rel.releaseId, taskToken: fresh });
    await expectRejectedOnce(executionArn, `Rejected by ${ALICE}: no`, 'RemindApprovers');
  });
});

/**
 * A TCP relay on 127.0.0.1 to `port` that drops the first `drop` connections without a byte in reply, and relays
 * the rest both ways unchanged.
 */
async function startRelay(port: string, drop: number) {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (accepted <= drop) {
      socket.destroy();
      return;
    }
    const upstream = net.connect(Number(port), '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: relayPort } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${relayPort}`,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
