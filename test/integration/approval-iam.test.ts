import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_DEPLOY_TARGET, startApprovalBench, type ApprovalBench } from '../helpers/approval-bench.js';
import { runCli } from '../helpers/run-cli.js';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { TestEmulators } from '../helpers/emulators.js';
import type { LocalStepFunctions } from '../../local/sfn/local-step-functions.js';
import { sigV4Authorizer, startApprovalServer, type ApprovalServer } from '../../local/approval-server.js';
import { listMessages } from '../../local/outbox.js';
import { decideWithIam } from '../../cli/approval-client.js';
import { handler as approvalApiHandler } from '../../functions/approval-api/handler.js';
import { documentClient } from '../../functions/lib/clients.js';
import type { ReleaseStore } from '../../functions/lib/store/release-store.js';
import type { ReleaseRecord } from '../../functions/lib/store/records.js';

/**
 * Decisions through the IAM-authorized route: the approval-api handler with the requestContext API Gateway builds
 * after AWS_IAM authorization, and the CLI's SigV4-signed request through a local server that verifies the signature
 * the way API Gateway does. Releases wait in a real waitForTaskToken task on the local Step Functions endpoint.
 */

const SECRET = 'iam-integration-signing-secret-0123456789abcd';
const REGION = 'eu-west-1';
const LEAD = 'lead@example.com';
const QA = 'qa@example.com';
const OPS = 'ops@example.com';
const CI = 'ci@example.com';
const LEAD_ARN = 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReleaseLead_0123abcd/lead@example.com';
const QA_ARN = 'arn:aws:iam::111122223333:user/qa';
const OPS_ARN = 'arn:aws:sts::111122223333:assumed-role/Operators/ops@example.com';
const STRANGER_ARN = 'arn:aws:sts::111122223333:assumed-role/Developers/dev@example.com';
const target = NO_DEPLOY_TARGET;

/** The access keys the local IAM authorizer knows, and the ARN API Gateway would report for each. */
const KEYS = {
  lead: { accessKeyId: 'AKIALEAD000000000001', secretAccessKey: 'lead-secret-key-0000000000000000000000000' },
  stranger: { accessKeyId: 'AKIASTRANGER00000001', secretAccessKey: 'stranger-secret-key-00000000000000000000' },
};

let bench: ApprovalBench;
let emu: TestEmulators;
let sfn: LocalStepFunctions;
let server: ApprovalServer;
let store: ReleaseStore;
let outboxDir: string;
let counter = 0;

beforeAll(async () => {
  const identities = {
    [LEAD]: ['arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReleaseLead_*/lead@example.com'],
    [QA]: [QA_ARN],
    [OPS]: [OPS_ARN],
  };
  bench = await startApprovalBench({
    secret: SECRET,
    services: {
      greeter: {
        approvers: [LEAD, QA],
        requiredApprovals: 1,
        approverIdentities: { [LEAD]: identities[LEAD], [QA]: identities[QA] },
        staging: target,
        production: target,
      },
      payments: { approvers: [LEAD, QA, OPS], requiredApprovals: 2, approverIdentities: identities, staging: target, production: target },
    },
    server: {
      iam: sigV4Authorizer({
        region: REGION,
        identities: {
          [KEYS.lead.accessKeyId]: { secretAccessKey: KEYS.lead.secretAccessKey, arn: LEAD_ARN },
          [KEYS.stranger.accessKeyId]: { secretAccessKey: KEYS.stranger.secretAccessKey, arn: STRANGER_ARN },
        },
      }),
    },
  });
  ({ emu, sfn, server, store, outboxDir } = bench);
});

afterAll(async () => bench?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A release waiting at RequestApproval: the record, its smoke results, and an execution that emailed the approvers. */
async function awaitingApproval(over: Partial<ReleaseRecord> = {}) {
  counter += 1;
  const now = new Date().toISOString();
  const service = over.service ?? 'greeter';
  const rel: ReleaseRecord = {
    releaseId: `${service}-3.0.${counter}-feed${counter}`,
    service,
    version: `3.0.${counter}`,
    commit: `feed${counter}`,
    branch: 'main',
    triggeredBy: CI,
    status: 'RUNNING',
    request: {},
    changes: [],
    createdAt: now,
    updatedAt: now,
    ...over,
  };
  await store.createRelease(rel);
  const { executionArn } = sfn.startExecution({
    stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:approval-gate',
    name: rel.releaseId,
    input: JSON.stringify({ releaseId: rel.releaseId }),
  });
  const approvers = service === 'payments' ? 3 : 2;
  for (let waited = 0; ; waited += 50) {
    const mails = (await listMessages(outboxDir)).filter((m) => m.releaseId === rel.releaseId);
    if (mails.length >= approvers) break;
    const state = sfn.describeExecution({ executionArn });
    if (state.status !== 'RUNNING') throw new Error(`execution ended ${state.status} before the approval emails: ${state.cause ?? ''}`);
    if (waited > 10_000) throw new Error(`no approval emails for ${rel.releaseId} within 10 s`);
    await sleep(50);
  }
  return { rel, executionArn };
}

async function approvalItem(releaseId: string) {
  const approvalId = (await store.getSteps(releaseId)).find((s) => s.step === 'Approval')?.details?.approvalId as string;
  const out = await documentClient().send(
    new GetCommand({ TableName: emu.table, Key: { pk: `RELEASE#${releaseId}`, sk: `APPROVAL#${approvalId}` }, ConsistentRead: true }),
  );
  return out.Item!;
}

/** The event API Gateway hands the Lambda for `POST /releases/{releaseId}/decision` after AWS_IAM authorization. */
function iamEvent(releaseId: string, userArn: string | null, body: unknown): APIGatewayProxyEvent {
  return {
    resource: '/releases/{releaseId}/decision',
    path: `/releases/${releaseId}/decision`,
    httpMethod: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { releaseId },
    stageVariables: null,
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: {
      requestId: `req-${counter}-${Math.random().toString(16).slice(2)}`,
      path: `/v1/releases/${releaseId}/decision`,
      resourcePath: '/releases/{releaseId}/decision',
      httpMethod: 'POST',
      identity: { userArn, caller: userArn ? userArn.split('/').pop() : null, accountId: userArn ? '111122223333' : null },
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

const lambdaContext = {
  awsRequestId: 'lambda-req',
  functionName: 'approval-api',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

async function callIam(releaseId: string, userArn: string | null, body: unknown) {
  const res = await approvalApiHandler(iamEvent(releaseId, userArn, body), lambdaContext);
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, any> };
}

async function waitForExecution(executionArn: string) {
  return sfn.waitForExecution(executionArn, 10_000);
}

describe('IAM-authorized decision route (handler with API Gateway requestContexts)', () => {
  it('a mapped identity (wildcard in the SSO role name) approves: recorded under the approver with the ARN, the execution continues', async () => {
    const { rel, executionArn } = await awaitingApproval();
    const res = await callIam(rel.releaseId, LEAD_ARN, { decision: 'approve', approver: LEAD, comment: 'signed in' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: 'APPROVED', approver: LEAD, approvals: 1, requiredApprovals: 1 });
    const item = await approvalItem(rel.releaseId);
    expect(item.decisions[LEAD]).toMatchObject({
      approver: LEAD,
      decision: 'approve',
      comment: 'signed in',
      via: 'iam',
      identity: LEAD_ARN,
    });
    expect(Date.parse(item.decisions[LEAD].decidedAt)).not.toBeNaN();
    expect((await waitForExecution(executionArn)).status).toBe('SUCCEEDED');
  });

  it('an identity the catalog does not map gets 403 and changes nothing', async () => {
    const { rel, executionArn } = await awaitingApproval();
    const before = await approvalItem(rel.releaseId);
    const res = await callIam(rel.releaseId, STRANGER_ARN, { decision: 'approve' });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'unknown-identity' } });
    expect(res.body.error.message).toContain(STRANGER_ARN);
    expect(await approvalItem(rel.releaseId)).toEqual(before);
    expect(sfn.describeExecution({ executionArn }).status).toBe('RUNNING');
  });

  it('the wildcard stays inside one segment: another session name of the same role is not the approver', async () => {
    const { rel } = await awaitingApproval();
    const impostor = 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReleaseLead_0123abcd/qa@example.com';
    const res = await callIam(rel.releaseId, impostor, { decision: 'approve' });
    expect(res.status).toBe(403);
    expect(res.body.error.details.reason).toBe('unknown-identity');
    const spanning = 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReleaseLead_x/y/lead@example.com';
    expect((await callIam(rel.releaseId, spanning, { decision: 'approve' })).status).toBe(403);
  });

  it('--as naming someone else than the mapped identity gets 403 identity-mismatch and changes nothing', async () => {
    const { rel } = await awaitingApproval();
    const before = await approvalItem(rel.releaseId);
    const res = await callIam(rel.releaseId, LEAD_ARN, { decision: 'approve', approver: QA });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'identity-mismatch' } });
    expect(res.body.error.message).toContain(`approver ${LEAD}, not ${QA}`);
    expect(await approvalItem(rel.releaseId)).toEqual(before);
  });

  it('self-approval through IAM is refused with the reason; the same person may still reject', async () => {
    const { rel, executionArn } = await awaitingApproval({ triggeredBy: LEAD });
    const before = await approvalItem(rel.releaseId);
    const res = await callIam(rel.releaseId, LEAD_ARN, { decision: 'approve', approver: LEAD });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'self-approval' } });
    expect(res.body.error.message).toMatch(/triggered this release and cannot approve it/);
    expect(await approvalItem(rel.releaseId)).toEqual(before);

    const rejected = await callIam(rel.releaseId, LEAD_ARN, { decision: 'reject', comment: 'pulling it' });
    expect(rejected.status).toBe(200);
    expect(rejected.body.status).toBe('REJECTED');
    const ended = await waitForExecution(executionArn);
    expect(ended).toMatchObject({ status: 'FAILED', error: 'ApprovalRejected' });
    expect(ended.cause).toContain('pulling it');
  });

  it('applies N of M and one decision per approver: 2 of 3 across link-less IAM decisions, a replay is 409', async () => {
    const { rel, executionArn } = await awaitingApproval({ service: 'payments' });
    const first = await callIam(rel.releaseId, QA_ARN, { decision: 'approve' });
    expect(first.body).toMatchObject({ status: 'PENDING', approvals: 1, requiredApprovals: 2 });
    expect(sfn.describeExecution({ executionArn }).status).toBe('RUNNING');

    const replay = await callIam(rel.releaseId, QA_ARN, { decision: 'approve' });
    expect(replay.status).toBe(409);
    expect(replay.body.error.code).toBe('CONFLICT');

    const second = await callIam(rel.releaseId, OPS_ARN, { decision: 'approve' });
    expect(second.body).toMatchObject({ status: 'APPROVED', approvals: 2 });
    expect((await waitForExecution(executionArn)).status).toBe('SUCCEEDED');
    const after = await callIam(rel.releaseId, LEAD_ARN, { decision: 'reject' });
    expect(after.status).toBe(409);
  });

  it('refuses a request with no authenticated identity, a bad body and an unknown release', async () => {
    const { rel } = await awaitingApproval();
    const before = await approvalItem(rel.releaseId);
    expect((await callIam(rel.releaseId, null, { decision: 'approve' })).status).toBe(403);
    const bad = await callIam(rel.releaseId, LEAD_ARN, { decision: 'yes', extra: 1 });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.details.fields)).toEqual(expect.arrayContaining(['body.decision']));
    expect((await callIam('no-such-release-1.0.0-0000000', LEAD_ARN, { decision: 'approve' })).status).toBe(404);
    expect(await approvalItem(rel.releaseId)).toEqual(before);
  });
});

/** Runs the real `launchway` command in a directory without an embedded stack, with only the given environment. */
const launchway = (args: string[], env: Record<string, string>, cwd: string) => runCli(args, { cwd, env, timeoutMs: 60_000 });

describe('launchway approve on AWS: a SigV4-signed request the server verifies', () => {
  it('the CLI signs with the default credential chain; the verified identity approves and the release continues', async () => {
    const { rel, executionArn } = await awaitingApproval();
    const cwd = await mkdtemp(path.join(tmpdir(), 'launchway-iam-cli-'));
    try {
      const run = await launchway(
        ['approve', rel.releaseId, '--as', LEAD, '--comment', 'from my laptop', '--json'],
        {
          LAUNCHWAY_APPROVAL_API_URL: `${server.url}/`,
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: KEYS.lead.accessKeyId,
          AWS_SECRET_ACCESS_KEY: KEYS.lead.secretAccessKey,
        },
        cwd,
      );
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.trim().split('\n').pop()!)).toMatchObject({ releaseId: rel.releaseId, via: 'iam', status: 'APPROVED' });
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
    expect((await approvalItem(rel.releaseId)).decisions[LEAD]).toMatchObject({
      via: 'iam',
      identity: LEAD_ARN,
      comment: 'from my laptop',
    });
    expect((await waitForExecution(executionArn)).status).toBe('SUCCEEDED');
  });

  it('--as someone else is refused by the API with 403 and the command fails saying why', async () => {
    const { rel } = await awaitingApproval();
    const before = await approvalItem(rel.releaseId);
    const cwd = await mkdtemp(path.join(tmpdir(), 'launchway-iam-cli-'));
    try {
      const run = await launchway(
        ['approve', rel.releaseId, '--as', QA],
        {
          LAUNCHWAY_APPROVAL_API_URL: server.url,
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: KEYS.lead.accessKeyId,
          AWS_SECRET_ACCESS_KEY: KEYS.lead.secretAccessKey,
        },
        cwd,
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/refused with 403: FORBIDDEN: .*approver lead@example.com, not qa@example.com/);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
    expect(await approvalItem(rel.releaseId)).toEqual(before);
  });

  it('a wrong secret, a body changed after signing and an unsigned request never reach the handler', async () => {
    const { rel, executionArn } = await awaitingApproval();
    const before = await approvalItem(rel.releaseId);
    const common = { apiUrl: server.url, releaseId: rel.releaseId, decision: 'approve' as const, approver: LEAD, region: REGION };

    await expect(
      decideWithIam({
        ...common,
        credentials: { accessKeyId: KEYS.lead.accessKeyId, secretAccessKey: 'not-the-secret-0000000000000000000000000' },
      }),
    ).rejects.toThrow(/403: API Gateway: The request signature we calculated does not match/);

    // A man in the middle turns the approve into a reject: the signed payload hash no longer matches the body…
    const injected = JSON.stringify({ decision: 'reject', approver: LEAD, comment: 'injected' });
    const tampering: typeof fetch = (url, init) => fetch(url, { ...init, body: injected });
    await expect(decideWithIam({ ...common, credentials: KEYS.lead, fetchImpl: tampering })).rejects.toThrow(
      /403: API Gateway: The request body does not match x-amz-content-sha256/,
    );
    // …and dropping that header too leaves a signature over a different request.
    const stripping: typeof fetch = (url, init) => {
      const headers = Object.fromEntries(
        Object.entries(init!.headers as Record<string, string>).filter(([k]) => k.toLowerCase() !== 'x-amz-content-sha256'),
      );
      return fetch(url, { ...init, headers, body: injected });
    };
    await expect(decideWithIam({ ...common, credentials: KEYS.lead, fetchImpl: stripping })).rejects.toThrow(
      /403: API Gateway: The request signature/,
    );

    // A signature from another region's scope is refused too.
    await expect(decideWithIam({ ...common, region: 'us-east-1', credentials: KEYS.lead })).rejects.toThrow(
      /403: API Gateway: Credential should be scoped/,
    );

    const unsigned = await fetch(`${server.url}/releases/${rel.releaseId}/decision`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ decision: 'approve', approver: LEAD }),
    });
    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toEqual({ message: 'Missing Authentication Token' });

    expect(await approvalItem(rel.releaseId)).toEqual(before);
    expect(sfn.describeExecution({ executionArn }).status).toBe('RUNNING');
  });

  it('the approval server without an IAM authorizer (embedded mode) does not serve the route at all', async () => {
    const plain = await startApprovalServer();
    try {
      const res = await fetch(`${plain.url}/releases/whatever-1.0.0-abc/decision`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
