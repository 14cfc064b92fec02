import 'aws-sdk-client-mock-vitest/extend';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
  type Output,
  type StackStatus,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeError } from '../../cli/errors.js';
import { EXIT } from '../../cli/exit-codes.js';
import { requireEnv } from '../../cli/options.js';
import { locateStack, readStackOutputs } from '../../cli/stack-outputs.js';
import { ValidationError } from '../../functions/lib/errors.js';

/**
 * `--stack`: CloudFormation has no emulator here, so DescribeStacks is mocked; the real-process path (a local
 * CloudFormation query endpoint, dynalite, `node bin/launchway.js`) is in test/e2e/cli-stack.test.ts.
 */
const cfnMock = mockClient(CloudFormationClient);
afterEach(() => {
  cfnMock.reset();
  vi.unstubAllEnvs();
});

const REGION = 'eu-west-1';
const client = () => new CloudFormationClient({ region: REGION });
const LAUNCHWAY_OUTPUTS: Output[] = [
  { OutputKey: 'StateMachineArn', OutputValue: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Release' },
  { OutputKey: 'ReleasesTableName', OutputValue: 'team-releases' },
  { OutputKey: 'ArtifactsBucketName', OutputValue: 'team-artifacts' },
  { OutputKey: 'ApprovalApiUrl', OutputValue: 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1/' },
  { OutputKey: 'OperateFunctionName', OutputValue: 'team-operate' },
];
const EXPECTED_ENV = {
  LAUNCHWAY_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Release',
  RELEASES_TABLE: 'team-releases',
  ARTIFACTS_BUCKET: 'team-artifacts',
  LAUNCHWAY_APPROVAL_API_URL: 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1/',
  LAUNCHWAY_OPERATE_FUNCTION: 'team-operate',
};
const answer = (outputs: Output[], status: StackStatus = 'UPDATE_COMPLETE') =>
  cfnMock.on(DescribeStacksCommand).resolves({
    Stacks: [{ StackName: 'TeamStack', StackStatus: status, CreationTime: new Date(), Outputs: outputs }],
  });

/** The ValidationError `run` throws, with the exit code and JSON body the CLI would end with. */
async function refusal(run: () => Promise<unknown>) {
  const err = await run().then(
    () => expect.unreachable('expected a refusal'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return { fields: (err as ValidationError).fields, message: (err as Error).message, ...describeError(err) };
}

describe('readStackOutputs', () => {
  it("maps the stack's Launchway outputs to the variables the CLI reads, ignoring the others", async () => {
    answer([
      ...LAUNCHWAY_OUTPUTS,
      { OutputKey: 'DashboardUrl', OutputValue: 'https://console' },
      { OutputKey: 'TheirApi', OutputValue: 'x' },
    ]);
    expect(await readStackOutputs('TeamStack', client())).toEqual(EXPECTED_ENV);
    expect(cfnMock).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'TeamStack' });
  });

  it.each<StackStatus>(['UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE', 'UPDATE_ROLLBACK_IN_PROGRESS'])(
    'reads the outputs of a stack in %s',
    async (status) => {
      answer(LAUNCHWAY_OUTPUTS, status);
      expect(await readStackOutputs('TeamStack', client())).toEqual(EXPECTED_ENV);
    },
  );

  it('refuses a stack that does not exist (exit 2), naming --stack, the stack and the region', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(
      new CloudFormationServiceException({
        name: 'ValidationError',
        message: 'Stack with id NoSuchStack does not exist',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const { fields, exitCode, body } = await refusal(() => readStackOutputs('NoSuchStack', client()));
    expect(exitCode).toBe(EXIT.USAGE);
    expect(body.error.code).toBe('VALIDATION_ERROR');
    expect(Object.keys(fields)).toEqual(['--stack']);
    expect(fields['--stack']).toContain('NoSuchStack does not exist in region eu-west-1');
  });

  it('refuses a stack with none of the Launchway outputs, naming each missing output and the status', async () => {
    answer([{ OutputKey: 'TheirApi', OutputValue: 'x' }], 'REVIEW_IN_PROGRESS');
    const { fields, exitCode } = await refusal(() => readStackOutputs('OtherStack', client()));
    expect(exitCode).toBe(EXIT.USAGE);
    for (const name of LAUNCHWAY_OUTPUTS.map((o) => o.OutputKey!)) expect(fields['--stack']).toContain(name);
    expect(fields['--stack']).toContain('OtherStack in eu-west-1 (REVIEW_IN_PROGRESS)');
  });

  it.each(['', 'my_stack', '1stack', 'a'.repeat(129)])('refuses the stack name %j before calling CloudFormation', async (name) => {
    const { fields } = await refusal(() => readStackOutputs(name, client()));
    expect(fields['--stack']).toContain(`got ${JSON.stringify(name)}`);
    expect(cfnMock.calls()).toHaveLength(0);
  });

  it('accepts a stack ARN as CloudFormation does', async () => {
    answer(LAUNCHWAY_OUTPUTS);
    const arn = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/TeamStack/0b1f2c3d-4e5f-6789-abcd-ef0123456789';
    expect(await readStackOutputs(arn, client())).toEqual(EXPECTED_ENV);
  });

  it('refuses to guess a region, naming AWS_REGION, before calling CloudFormation', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'launchway-no-region-'));
    try {
      vi.stubEnv('AWS_REGION', undefined);
      vi.stubEnv('AWS_DEFAULT_REGION', undefined);
      vi.stubEnv('AWS_PROFILE', undefined);
      // No profile file can supply one either.
      vi.stubEnv('AWS_CONFIG_FILE', path.join(scratch, 'config'));
      vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', path.join(scratch, 'credentials'));
      const { fields, exitCode } = await refusal(() => readStackOutputs('TeamStack', new CloudFormationClient({})));
      expect(exitCode).toBe(EXIT.USAGE);
      expect(Object.keys(fields)).toEqual(['AWS_REGION']);
      expect(fields.AWS_REGION).toContain('TeamStack');
      expect(cfnMock.calls()).toHaveLength(0);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('ends a network failure on the way to CloudFormation as STACK_UNREACHABLE (exit 5)', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const err = await readStackOutputs('TeamStack', client()).catch((e: unknown) => e);
    const { exitCode, body } = describeError(err);
    expect(exitCode).toBe(EXIT.UNREACHABLE);
    expect(body.error.code).toBe('STACK_UNREACHABLE');
  });
});

describe('locateStack', () => {
  const cwd = process.cwd();
  let scratch: string;
  beforeAll(() => {
    // A leftover embedded session in the working directory, pointing elsewhere.
    scratch = mkdtempSync(path.join(tmpdir(), 'launchway-locate-'));
    mkdirSync(path.join(scratch, '.launchway'));
    writeFileSync(
      path.join(scratch, '.launchway', 'endpoints.env'),
      "export RELEASES_TABLE='embedded-table'\nexport OUTBOX_DIR='/tmp/outbox'\n",
    );
    process.chdir(scratch);
  });
  afterAll(() => {
    process.chdir(cwd);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('fills only the variables not already set, and never reads .launchway/endpoints.env', async () => {
    answer(LAUNCHWAY_OUTPUTS);
    const env: NodeJS.ProcessEnv = { RELEASES_TABLE: 'set-by-hand', ARTIFACTS_BUCKET: '' };
    await locateStack('TeamStack', ['RELEASES_TABLE', 'ARTIFACTS_BUCKET'], { env, client: client() });
    expect(env).toEqual({ ...EXPECTED_ENV, RELEASES_TABLE: 'set-by-hand' });
    expect(process.env.OUTBOX_DIR).toBeUndefined();
  });

  it('without a stack, reads the endpoints file and checks the variables as before', async () => {
    vi.stubEnv('LAUNCHWAY_STATE_MACHINE_ARN', undefined);
    vi.stubEnv('RELEASES_TABLE', undefined);
    vi.stubEnv('OUTBOX_DIR', undefined);
    await locateStack(undefined, ['RELEASES_TABLE']);
    expect(process.env.RELEASES_TABLE).toBe('embedded-table');
    expect(cfnMock.calls()).toHaveLength(0);
    const { fields } = await refusal(() => locateStack(undefined, ['LAUNCHWAY_OPERATE_FUNCTION']));
    expect(fields.LAUNCHWAY_OPERATE_FUNCTION).toContain('--stack <name> or LAUNCHWAY_STACK');
  });

  it("names the output an older stack lacks for this command, and takes the variable when it's set by hand", async () => {
    answer(LAUNCHWAY_OUTPUTS.filter((o) => o.OutputKey !== 'OperateFunctionName'));
    const { fields, message } = await refusal(() => locateStack('OldStack', ['LAUNCHWAY_OPERATE_FUNCTION'], { env: {}, client: client() }));
    expect(message).toContain('OperateFunctionName');
    expect(fields['--stack']).toContain('no output OperateFunctionName (LAUNCHWAY_OPERATE_FUNCTION)');
    const env: NodeJS.ProcessEnv = { LAUNCHWAY_OPERATE_FUNCTION: 'by-hand' };
    await locateStack('OldStack', ['LAUNCHWAY_OPERATE_FUNCTION'], { env, client: client() });
    expect(env.LAUNCHWAY_OPERATE_FUNCTION).toBe('by-hand');
  });
});

describe('requireEnv', () => {
  it('points at --stack and LAUNCHWAY_STACK for AWS', () => {
    const err = (() => {
      try {
        requireEnv(['RELEASES_TABLE'], {});
      } catch (e) {
        return e as ValidationError;
      }
    })();
    expect(err?.fields.RELEASES_TABLE).toMatch(/--stack <name> or LAUNCHWAY_STACK/);
  });
});
