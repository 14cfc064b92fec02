import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { createReleasesTable, LOCAL_CREDENTIALS, startDynalite, type RunningServer } from '../../local/emulators.js';
import { type CliRun, runCli } from '../helpers/run-cli.js';

/**
 * `launchway list --stack MyStack` as a process: the stack's outputs come from a local server that answers
 * CloudFormation's DescribeStacks query API (form-encoded POST, XML answer, as AWS does), and they point at a real
 * dynalite table holding a release. A stale endpoints.env in the working directory must not be read.
 */
const REGION = 'us-east-1';
const TABLE = 'team-releases';
let dynamo: RunningServer;
let cfn: Server;
let cfnUrl: string;
let cwd: string;
/** The form bodies CloudFormation was sent. */
const requests: URLSearchParams[] = [];

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

function describeStacksXml(name: string, outputs: Record<string, string>): string {
  const members = Object.entries(outputs)
    .map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${xml(value)}</OutputValue></member>`)
    .join('');
  return (
    `<DescribeStacksResponse xmlns="${NS}"><DescribeStacksResult><Stacks><member>` +
    `<StackName>${name}</StackName><StackId>arn:aws:cloudformation:${REGION}:123456789012:stack/${name}/0b1f2c3d</StackId>` +
    `<CreationTime>2030-01-01T00:00:00.000Z</CreationTime><StackStatus>UPDATE_IN_PROGRESS</StackStatus>` +
    `<Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult>` +
    '<ResponseMetadata><RequestId>1b2c3d4e</RequestId></ResponseMetadata></DescribeStacksResponse>'
  );
}

const notFoundXml = (name: string) =>
  `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>ValidationError</Code>` +
  `<Message>Stack with id ${name} does not exist</Message></Error><RequestId>5f6a7b8c</RequestId></ErrorResponse>`;

/** `launchway` in `cwd` with AWS credentials and endpoints only for the local CloudFormation and DynamoDB servers. */
function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<CliRun> {
  const env = {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_CLOUDFORMATION: cfnUrl,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    ...extraEnv,
  };
  return runCli(args, { cwd, env, timeoutMs: 60_000 });
}

beforeAll(async () => {
  dynamo = await startDynalite();
  await createReleasesTable(dynamo.url, TABLE);
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.url, region: REGION, credentials: LOCAL_CREDENTIALS }));
  const now = new Date().toISOString();
  await new ReleaseStore(doc, TABLE).createRelease({
    releaseId: 'orders-3.1.0-f00dfee',
    service: 'orders',
    version: '3.1.0',
    commit: 'f00dfee',
    branch: 'main',
    triggeredBy: 'ci@example.com',
    status: 'SUCCEEDED',
    request: {},
    changes: [],
    createdAt: now,
    updatedAt: now,
  });
  doc.destroy();

  cfn = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      requests.push(form);
      const name = form.get('StackName') ?? '';
      const found = form.get('Action') === 'DescribeStacks' && name === 'MyStack';
      const outputs = {
        StateMachineArn: `arn:aws:states:${REGION}:123456789012:stateMachine:Release`,
        ReleasesTableName: TABLE,
        ArtifactsBucketName: 'team-artifacts',
        ApprovalApiUrl: `https://abc123.execute-api.${REGION}.amazonaws.com/v1/`,
        OperateFunctionName: 'team-operate',
        DashboardUrl: 'https://console.aws.amazon.com/cloudwatch/home?region=us-east-1&x=<y>',
      };
      res.writeHead(found ? 200 : 400, { 'content-type': 'text/xml' }).end(found ? describeStacksXml(name, outputs) : notFoundXml(name));
    });
  });
  await new Promise<void>((r) => cfn.listen(0, '127.0.0.1', r));
  cfnUrl = `http://127.0.0.1:${(cfn.address() as AddressInfo).port}`;

  // A leftover embedded session: read, it would send the CLI to a closed port and another table.
  cwd = await mkdtemp(path.join(tmpdir(), 'launchway-stack-'));
  mkdirSync(path.join(cwd, '.launchway'));
  writeFileSync(
    path.join(cwd, '.launchway', 'endpoints.env'),
    "export RELEASES_TABLE='stale-table'\nexport AWS_ENDPOINT_URL_DYNAMODB='http://127.0.0.1:9'\n",
  );
}, 60_000);

afterAll(async () => {
  await new Promise((r) => cfn?.close(r));
  await dynamo?.close();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe('launchway --stack against a CloudFormation endpoint', () => {
  it("lists the releases of the table the stack's outputs name, from --stack and from LAUNCHWAY_STACK", async () => {
    for (const [args, env] of [
      [['list', '--stack', 'MyStack', '--json'], {}],
      [['list', '--json'], { LAUNCHWAY_STACK: 'MyStack' }],
    ] as const) {
      const before = requests.length;
      const run = await cli([...args], env);
      expect(run.code, run.stderr).toBe(0);
      const rows = JSON.parse(run.stdout) as { releaseId: string; status: string }[];
      expect(rows.map((r) => [r.releaseId, r.status])).toEqual([['orders-3.1.0-f00dfee', 'SUCCEEDED']]);
      expect(run.stderr).not.toContain("using the embedded stack's endpoints");
      expect(requests.slice(before).map((f) => [f.get('Action'), f.get('StackName')])).toEqual([['DescribeStacks', 'MyStack']]);
    }
  });

  it("in a shell that sourced endpoints.env, --stack still reads the stack's table, naming each variable it replaced", async () => {
    const run = await cli(['list', '--stack', 'MyStack', '--json'], {
      RELEASES_TABLE: 'stale-table',
      LAUNCHWAY_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:embedded',
    });
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { releaseId: string }[]).map((r) => r.releaseId)).toEqual(['orders-3.1.0-f00dfee']);
    expect(run.stderr).toContain('(--stack MyStack: RELEASES_TABLE set from the output ReleasesTableName, replacing the value set)');
    expect(run.stderr).toContain('(--stack MyStack: LAUNCHWAY_STATE_MACHINE_ARN set from the output StateMachineArn');
    expect(run.stderr).toContain('warning (--stack MyStack): AWS_ENDPOINT_URL_DYNAMODB is set');
    expect(run.stderr).not.toContain('stale-table');
  });

  it('blames LAUNCHWAY_STACK, not --stack, when the variable is set but empty (an unset repository variable in CI)', async () => {
    const before = requests.length;
    const run = await cli(['list', '--json'], { LAUNCHWAY_STACK: '' });
    expect(run.code, run.stderr).toBe(2);
    const { error } = JSON.parse(run.stdout) as { error: { message: string; details: { fields: Record<string, string> } } };
    expect(error.message).toBe('LAUNCHWAY_STACK is empty');
    expect(Object.keys(error.details.fields)).toEqual(['LAUNCHWAY_STACK']);
    expect(error.details.fields.LAUNCHWAY_STACK).toContain('repository variable is unset');
    expect(requests.length).toBe(before);
  });

  it('ends with exit 2 and a JSON error naming --stack, the stack and the region when the stack does not exist', async () => {
    const run = await cli(['list', '--stack', 'NoSuchStack', '--json']);
    expect(run.code, run.stderr).toBe(2);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; details: { fields: Record<string, string> } } };
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(Object.keys(error.details.fields)).toEqual(['--stack']);
    expect(error.details.fields['--stack']).toContain(`NoSuchStack does not exist in region ${REGION}`);
  });

  it('--stack beats LAUNCHWAY_STACK: the flag names the stack read and the error; the variable alone is named itself', async () => {
    const before = requests.length;
    const flag = await cli(['list', '--stack', 'NoSuchStack', '--json'], { LAUNCHWAY_STACK: 'MyStack' });
    expect(flag.code, flag.stderr).toBe(2);
    const flagError = (JSON.parse(flag.stdout) as { error: { details: { fields: Record<string, string> } } }).error;
    expect(Object.keys(flagError.details.fields)).toEqual(['--stack']);
    expect(flagError.details.fields['--stack']).toContain(`NoSuchStack does not exist in region ${REGION}`);
    // Only the flag's stack was asked for: MyStack, which exists, would have listed the release.
    expect(requests.slice(before).map((f) => f.get('StackName'))).toEqual(['NoSuchStack']);

    const variable = await cli(['list', '--json'], { LAUNCHWAY_STACK: 'NoSuchStack' });
    expect(variable.code, variable.stderr).toBe(2);
    const varError = (JSON.parse(variable.stdout) as { error: { details: { fields: Record<string, string> } } }).error;
    expect(Object.keys(varError.details.fields)).toEqual(['LAUNCHWAY_STACK']);
    expect(varError.details.fields.LAUNCHWAY_STACK).toContain(`NoSuchStack does not exist in region ${REGION}`);
  });
});
