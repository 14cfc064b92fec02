import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForApprovalLink } from '../../local/outbox.js';
import { ROOT, runCli } from '../helpers/run-cli.js';

/**
 * `launchway cancel` and `launchway unlock` as an operator runs them: `dev` in one process, each command in another,
 * against the embedded stack, whose Step Functions endpoint delivers the ABORTED event to the execution-status handler.
 */
const EX = (v: string, f: string) => path.join(ROOT, 'examples/greeter', v, f);
let dataDir: string;
let dev: ChildProcess;
let env: Record<string, string>;
let doc: DynamoDBDocumentClient;

const cli = (args: string[], timeoutMs = 120_000) => runCli(args, { cwd: dataDir, env, timeoutMs });

const releaseArgs = (version: string, commit: string) => [
  'release',
  ...['--service', 'greeter', '--version', version, '--commit', commit, '--triggered-by', 'ci@example.com'],
  ...['--bundle', EX(version, 'service.mjs'), '--collection', EX(version, 'collection.postman.json')],
  ...['--openapi', EX(version, 'openapi.yaml')],
];
const status = async (releaseId: string) => JSON.parse((await cli(['status', releaseId, '--json'])).stdout);
const lockItem = async (service: string) =>
  (await doc.send(new GetCommand({ TableName: env.RELEASES_TABLE, Key: { pk: `LOCK#${service}`, sk: 'LOCK' }, ConsistentRead: true })))
    .Item;
const putLock = (service: string, holder: string) =>
  doc.send(
    new PutCommand({
      TableName: env.RELEASES_TABLE,
      Item: { pk: `LOCK#${service}`, sk: 'LOCK', holder, acquiredAt: new Date().toISOString(), leaseExpiresAt: 4102444800 },
    }),
  );

/** Starts a release and waits, bounded, until it awaits approval. */
async function awaitingApproval(version: string, commit: string): Promise<string> {
  const started = await cli([...releaseArgs(version, commit), '--json']);
  expect(started.code, started.stderr).toBe(0);
  const { releaseId } = JSON.parse(started.stdout) as { releaseId: string };
  const deadline = Date.now() + 120_000;
  while ((await status(releaseId)).status !== 'AWAITING_APPROVAL') {
    if (Date.now() > deadline) throw new Error(`${releaseId} did not reach AWAITING_APPROVAL`);
    await new Promise((r) => setTimeout(r, 500));
  }
  return releaseId;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'launchway-ops-'));
  const args = ['dev', '--data-dir', path.join(dataDir, '.launchway'), '--catalog', path.join(ROOT, 'examples/catalog.json')];
  dev = spawn(process.execPath, [path.join(ROOT, 'bin/launchway.js'), ...args], {
    cwd: dataDir,
    env: { ...process.env, NO_COLOR: '1', LOG_LEVEL: 'ERROR' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let devErr = '';
  dev.stderr!.on('data', (d) => (devErr += d));
  const envFile = path.join(dataDir, '.launchway', 'endpoints.env');
  const deadline = Date.now() + 60_000;
  while (!existsSync(envFile)) {
    if (Date.now() > deadline || dev.exitCode !== null) throw new Error(`launchway dev did not write ${envFile}\n${devErr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  env = Object.fromEntries(
    [...readFileSync(envFile, 'utf8').matchAll(/^export ([A-Z0-9_]+)='((?:[^']|'\\'')*)'$/gm)].map((m) => [
      m[1],
      m[2].replace(/'\\''/g, "'"),
    ]),
  );
  doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
      region: env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
}, 90_000);

afterAll(async () => {
  if (dev && dev.exitCode === null) {
    const exited = new Promise((r) => dev.once('exit', r));
    dev.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (dev.exitCode === null) dev.kill('SIGKILL');
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('launchway cancel', () => {
  let cancelled: string;

  it('cancel --wait ends a release awaiting approval CANCELLED (exit 15): who and why kept, link 410, lock free', async () => {
    cancelled = await awaitingApproval('1.0.0', 'ca11ce1');
    const link = await waitForApprovalLink(env.OUTBOX_DIR, { releaseId: cancelled, approver: 'lead@example.com', decision: 'approve' });
    const out = await cli(['cancel', cancelled, '--as', 'ops@example.com', '--reason', 'wrong build', '--wait']);
    expect(out.code, out.stderr).toBe(15);
    expect(out.stdout).toContain('CANCELLED');
    const view = await status(cancelled);
    expect(view).toMatchObject({
      status: 'CANCELLED',
      stopRequest: { status: 'CANCELLED', by: 'ops@example.com', reason: 'wrong build' },
      error: { error: 'ExecutionAborted', cause: expect.stringContaining('cancelled by ops@example.com: wrong build') },
    });
    expect((await fetch(link, { signal: AbortSignal.timeout(10_000) })).status).toBe(410);
    expect(await lockItem('greeter')).toBeUndefined();
    const free = await cli(['unlock', 'greeter', '--as', 'ops@example.com', '--reason', 'check']);
    expect(free.code, free.stderr).toBe(0);
    expect(free.stdout).toContain('the lock of greeter is free; nothing to do');
  }, 240_000);

  it('a release that has ended is refused (exit 2), nothing written', async () => {
    const before = await status(cancelled);
    const out = await cli(['cancel', cancelled, '--as', 'late@example.com', '--reason', 'again', '--json']);
    expect(out.code).toBe(2);
    expect(JSON.parse(out.stdout).error).toMatchObject({
      code: 'VALIDATION_ERROR',
      message: expect.stringContaining('has already ended (CANCELLED)'),
    });
    const after = await status(cancelled);
    expect(after.updatedAt).toBe(before.updatedAt);
    expect(after.stopRequest).toEqual(before.stopRequest);
  });

  it('without --reason: a usage error naming --reason (exit 2)', async () => {
    const out = await cli(['cancel', cancelled, '--as', 'ops@example.com']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("required option '--reason <text>' not specified");
    const asJson = await cli(['cancel', cancelled, '--as', 'ops@example.com', '--json']);
    expect(JSON.parse(asJson.stdout).error.details.fields).toHaveProperty('--reason');
  });
});

describe('launchway unlock', () => {
  it('removes a lock whose holder has no execution, and one whose holder ended, keeping who and why', async () => {
    await putLock('greeter', 'greeter-9.9.9-dead000');
    const ghost = await cli(['unlock', 'greeter', '--as', 'ops@example.com', '--reason', 'holder never existed']);
    expect(ghost.code, ghost.stderr).toBe(0);
    expect(ghost.stdout).toContain('Removed the lock of greeter held by greeter-9.9.9-dead000');
    expect(await lockItem('greeter')).toBeUndefined();

    await putLock('greeter', 'greeter-1.0.0-ca11ce1');
    const ended = await cli(['unlock', 'greeter', '--as', 'ops@example.com', '--reason', 'left over', '--json']);
    expect(ended.code, ended.stderr).toBe(0);
    expect(JSON.parse(ended.stdout)).toMatchObject({ unlocked: true, holder: 'greeter-1.0.0-ca11ce1', audited: true });
    expect(await lockItem('greeter')).toBeUndefined();
    expect((await status('greeter-1.0.0-ca11ce1')).unlockedBy).toMatchObject({ by: 'ops@example.com', reason: 'left over' });
  });

  it('refuses while the holder runs, naming it; cancel then frees the service', async () => {
    const running = await awaitingApproval('1.1.0', 'ca11ce2');
    const out = await cli(['unlock', 'greeter', '--as', 'ops@example.com', '--reason', 'impatient']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`held by ${running}, which is still running`);
    expect(out.stderr).toContain(`launchway cancel ${running}`);
    expect((await lockItem('greeter'))?.holder).toBe(running);
    expect((await status(running)).unlockedBy).toBeUndefined();

    const cancel = await cli(['cancel', running, '--as', 'ops@example.com', '--reason', 'make way', '--wait', '--json']);
    expect(cancel.code, cancel.stderr).toBe(15);
    expect(JSON.parse(cancel.stdout)).toMatchObject({ releaseId: running, status: 'CANCELLED' });
    expect(await lockItem('greeter')).toBeUndefined();
  }, 240_000);
});
