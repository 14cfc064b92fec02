import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { decideFromOutbox } from '../../cli/approve.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators.js';
import { example, service, startTestStack, type TestStack } from '../helpers/pipeline.js';
import { systemTool } from '../helpers/system-tools.js';

const run = promisify(execFile);
/** The AWS CLI (LAUNCHWAY_AWS_CLI, else `aws` on PATH); the file fails, saying what to install or set, when it is missing. */
const AWS = systemTool('aws');

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ greeter: service() });
}, 60_000);
afterAll(async () => stack?.stopAll());

/** Runs the AWS CLI against one local endpoint, with dummy credentials, and parses JSON output. */
async function aws(endpoint: string, ...args: string[]): Promise<any> {
  const { stdout } = await run(AWS, [...args, '--endpoint-url', endpoint, '--region', LOCAL_REGION, '--output', 'json'], {
    env: {
      PATH: process.env.PATH,
      HOME: stack.dataDir,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_PAGER: '',
      AWS_CONFIG_FILE: path.join(stack.dataDir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(stack.dataDir, 'no-aws-credentials'),
    },
    timeout: 30_000,
  });
  return stdout.trim() ? JSON.parse(stdout) : undefined;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a release driven by real clients against the local endpoints', () => {
  it('the AWS CLI uploads, starts, follows and reads a release; the SDK sees the same', async () => {
    const { sfn: sfnUrl, dynamodb: ddbUrl, s3: s3Url } = stack.endpoints;
    const bucket = process.env.ARTIFACTS_BUCKET!;
    const table = process.env.RELEASES_TABLE!;
    const prefix = 'releases/greeter/1.0.0/cafe123';
    for (const [file, name] of [
      [example('1.0.0', 'service.mjs'), 'service.mjs'],
      [example('1.0.0', 'collection.postman.json'), 'collection.postman.json'],
      [example('1.0.0', 'openapi.yaml'), 'openapi.yaml'],
    ]) {
      await aws(s3Url, 's3', 'cp', file, `s3://${bucket}/${prefix}/${name}`, '--only-show-errors');
    }
    const listed = await aws(s3Url, 's3api', 'list-objects-v2', '--bucket', bucket, '--prefix', prefix);
    expect(listed.Contents.map((o: { Key: string }) => o.Key).sort()).toEqual([
      `${prefix}/collection.postman.json`,
      `${prefix}/openapi.yaml`,
      `${prefix}/service.mjs`,
    ]);

    const inputFile = path.join(stack.dataDir, 'input.json');
    await writeFile(
      inputFile,
      JSON.stringify({
        service: 'greeter',
        version: '1.0.0',
        commit: 'cafe123',
        triggeredBy: 'ci@example.com',
        artifacts: { bundle: `${prefix}/service.mjs`, collection: `${prefix}/collection.postman.json`, openapi: `${prefix}/openapi.yaml` },
        changes: [{ title: 'feat: first release' }],
      }),
    );
    const releaseId = 'greeter-1.0.0-cafe123';
    const started = await aws(
      sfnUrl,
      'stepfunctions',
      'start-execution',
      '--state-machine-arn',
      stack.stateMachineArn,
      '--name',
      releaseId,
      '--input',
      `file://${inputFile}`,
    );
    expect(started.executionArn).toContain(`:execution:launchway-release:${releaseId}`);

    const key = JSON.stringify({ pk: { S: `RELEASE#${releaseId}` }, sk: { S: 'META' } });
    await until('AWAITING_APPROVAL in DynamoDB', async () => {
      const item = await aws(ddbUrl, 'dynamodb', 'get-item', '--table-name', table, '--key', key, '--consistent-read');
      const status = item?.Item?.status?.S;
      if (['FAILED', 'REJECTED', 'EXPIRED', 'ROLLED_BACK'].includes(status)) throw new Error(`release ended ${status}`);
      return status === 'AWAITING_APPROVAL' ? status : undefined;
    });
    await decideFromOutbox(stack.outboxDir, { releaseId, approver: 'lead@example.com', decision: 'approve' });

    const done = await until('the execution to end', async () => {
      const d = await aws(sfnUrl, 'stepfunctions', 'describe-execution', '--execution-arn', started.executionArn);
      return d.status === 'RUNNING' ? undefined : d;
    });
    expect(done.status).toBe('SUCCEEDED');

    const executions = await aws(sfnUrl, 'stepfunctions', 'list-executions', '--state-machine-arn', stack.stateMachineArn);
    expect(executions.executions).toEqual([expect.objectContaining({ name: releaseId, status: 'SUCCEEDED' })]);
    const history = await aws(
      sfnUrl,
      'stepfunctions',
      'get-execution-history',
      '--execution-arn',
      started.executionArn,
      '--max-items',
      '1000',
    );
    const entered = history.events.filter((e: any) => e.stateEnteredEventDetails).map((e: any) => e.stateEnteredEventDetails.name);
    expect(entered).toEqual(
      expect.arrayContaining([
        'Prepare',
        'DeployStaging',
        'SmokeTestStaging',
        'RequestApproval',
        'DeployProduction',
        'ProvisionInterop',
        'ValidateProduction',
        'PublishReleaseNotes',
        'Finalize',
      ]),
    );
    expect(history.events.at(-1).type).toBe('ExecutionSucceeded');

    const steps = await aws(
      ddbUrl,
      'dynamodb',
      'query',
      '--table-name',
      table,
      '--key-condition-expression',
      'pk = :p AND begins_with(sk, :s)',
      '--expression-attribute-values',
      JSON.stringify({ ':p': { S: `RELEASE#${releaseId}` }, ':s': { S: 'STEP#' } }),
    );
    expect(steps.Items.map((i: any) => `${i.step.S}:${i.status.S}`)).toEqual([
      'Prepare:SUCCEEDED',
      'AcquireLock:SUCCEEDED',
      'DeployStaging:SUCCEEDED',
      'SmokeTestStaging:SUCCEEDED',
      'Approval:SUCCEEDED',
      'DeployProduction:SUCCEEDED',
      'ProvisionInterop:SUCCEEDED',
      'ValidateProduction:SUCCEEDED',
      'PublishReleaseNotes:SUCCEEDED',
    ]);
    const history2 = await aws(
      ddbUrl,
      'dynamodb',
      'query',
      '--table-name',
      table,
      '--index-name',
      'gsi1',
      '--key-condition-expression',
      'gsi1pk = :p',
      '--expression-attribute-values',
      JSON.stringify({ ':p': { S: 'SERVICE#greeter' } }),
    );
    expect(history2.Items.map((i: any) => i.releaseId.S)).toEqual([releaseId]);

    const notes = await aws(s3Url, 's3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'release-notes/greeter/');
    expect(notes.Contents.map((o: { Key: string }) => o.Key).sort()).toEqual([
      `release-notes/greeter/${releaseId}.json`,
      `release-notes/greeter/${releaseId}.md`,
    ]);
    const notesFile = path.join(stack.dataDir, 'notes.md');
    await aws(s3Url, 's3', 'cp', `s3://${bucket}/release-notes/greeter/${releaseId}.md`, notesFile, '--only-show-errors');
    const { readFile } = await import('node:fs/promises');
    const markdown = await readFile(notesFile, 'utf8');
    expect(markdown).toContain('first release');
    expect(markdown).toContain('lead@example.com');

    // The same endpoints through SDK clients configured only with an endpoint.
    const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const sdkSfn = new SFNClient({ ...common, endpoint: sfnUrl });
    const sdkDdb = new DynamoDBClient({ ...common, endpoint: ddbUrl });
    const sdkS3 = new S3Client({ ...common, endpoint: s3Url, forcePathStyle: true, responseChecksumValidation: 'WHEN_REQUIRED' });
    try {
      expect((await sdkSfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }))).status).toBe('SUCCEEDED');
      const meta = await sdkDdb.send(new GetItemCommand({ TableName: table, Key: JSON.parse(key) }));
      expect(meta.Item?.status?.S).toBe('SUCCEEDED');
      const obj = await sdkS3.send(new GetObjectCommand({ Bucket: bucket, Key: `release-notes/greeter/${releaseId}.md` }));
      expect(await obj.Body!.transformToString()).toBe(markdown);
    } finally {
      sdkSfn.destroy();
      sdkDdb.destroy();
      sdkS3.destroy();
    }
  });
});
