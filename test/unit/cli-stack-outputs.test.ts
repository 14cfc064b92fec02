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
import { locateStack, readStackOutputs, type StackRef } from '../../cli/stack-outputs.js';
import { ValidationError } from '../../functions/lib/errors.js';

/**
 * `--stack`: CloudFormation has no emulator here, so DescribeStacks is mocked; the real-process path (a local
 * CloudFormation query endpoint, dynalite, `node bin/launchway.js`) is in test/e2e/cli-stack.test.ts, with --stack
 * beating LAUNCHWAY_STACK, which only commander decides.
 */
const cfnMock = mockClient(CloudFormationClient);
afterEach(() => {
  cfnMock.reset();
  vi.unstubAllEnvs();
});

const REGION = 'eu-west-1';
const flag = (name: string): StackRef => ({ name, from: '--stack' });
const fromEnv = (name: string): StackRef => ({ name, from: 'LAUNCHWAY_STACK' });
const client = () => new CloudFormationClient({ region: REGION });
/** CloudFormation's answer for a stack it does not have: a 400 ValidationError. */
const noSuchStack = () =>
  new CloudFormationServiceException({
    name: 'ValidationError',
    message: 'Stack with id NoSuchStack does not exist',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
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
    expect(await readStackOutputs(flag('TeamStack'), client())).toEqual(EXPECTED_ENV);
    expect(cfnMock).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'TeamStack' });
  });

  it.each<StackStatus>(['UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE', 'UPDATE_ROLLBACK_IN_PROGRESS'])(
    'reads the outputs of a stack in %s',
    async (status) => {
      answer(LAUNCHWAY_OUTPUTS, status);
      expect(await readStackOutputs(flag('TeamStack'), client())).toEqual(EXPECTED_ENV);
    },
  );

  it('refuses a stack that does not exist (exit 2), naming --stack, the stack and the region', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(noSuchStack());
    const { fields, exitCode, body } = await refusal(() => readStackOutputs(flag('NoSuchStack'), client()));
    expect(exitCode).toBe(EXIT.USAGE);
    expect(body.error.code).toBe('VALIDATION_ERROR');
    expect(Object.keys(fields)).toEqual(['--stack']);
    expect(fields['--stack']).toContain('NoSuchStack does not exist in region eu-west-1');
  });

  it('refuses a stack with none of the Launchway outputs, naming each missing output and the status', async () => {
    answer([{ OutputKey: 'TheirApi', OutputValue: 'x' }], 'REVIEW_IN_PROGRESS');
    const { fields, exitCode } = await refusal(() => readStackOutputs(flag('OtherStack'), client()));
    expect(exitCode).toBe(EXIT.USAGE);
    for (const name of LAUNCHWAY_OUTPUTS.map((o) => o.OutputKey!)) expect(fields['--stack']).toContain(name);
    expect(fields['--stack']).toContain('OtherStack in eu-west-1 (REVIEW_IN_PROGRESS)');
  });

  it.each(['', 'my_stack', '1stack', 'a'.repeat(129)])('refuses the stack name %j before calling CloudFormation', async (name) => {
    const { fields } = await refusal(() => readStackOutputs(flag(name), client()));
    expect(fields['--stack']).toContain(`got ${JSON.stringify(name)}`);
    expect(cfnMock.calls()).toHaveLength(0);
  });

  it('accepts a stack ARN as CloudFormation does', async () => {
    answer(LAUNCHWAY_OUTPUTS);
    const arn = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/TeamStack/0b1f2c3d-4e5f-6789-abcd-ef0123456789';
    expect(await readStackOutputs(flag(arn), client())).toEqual(EXPECTED_ENV);
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
      const { fields, exitCode } = await refusal(() => readStackOutputs(flag('TeamStack'), new CloudFormationClient({})));
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
    const err = await readStackOutputs(flag('TeamStack'), client()).catch((e: unknown) => e);
    const { exitCode, body } = describeError(err);
    expect(exitCode).toBe(EXIT.UNREACHABLE);
    expect(body.error.code).toBe('STACK_UNREACHABLE');
  });
});

describe('readStackOutputs naming LAUNCHWAY_STACK when it named the stack', () => {
  it('refuses an empty LAUNCHWAY_STACK, saying the repository variable may be unset, before calling CloudFormation', async () => {
    const { fields, message, exitCode } = await refusal(() => readStackOutputs(fromEnv(''), client()));
    expect(exitCode).toBe(EXIT.USAGE);
    expect(message).toBe('LAUNCHWAY_STACK is empty');
    expect(Object.keys(fields)).toEqual(['LAUNCHWAY_STACK']);
    expect(fields.LAUNCHWAY_STACK).toContain('repository variable is unset');
    expect(fields.LAUNCHWAY_STACK).not.toContain('--stack');
    expect(cfnMock.calls()).toHaveLength(0);
  });

  it('names LAUNCHWAY_STACK for a bad name and for a stack that does not exist', async () => {
    const bad = await refusal(() => readStackOutputs(fromEnv('my_stack'), client()));
    expect(bad.message).toBe('invalid value for LAUNCHWAY_STACK');
    expect(Object.keys(bad.fields)).toEqual(['LAUNCHWAY_STACK']);
    cfnMock.on(DescribeStacksCommand).rejects(noSuchStack());
    const missing = await refusal(() => readStackOutputs(fromEnv('NoSuchStack'), client()));
    expect(Object.keys(missing.fields)).toEqual(['LAUNCHWAY_STACK']);
    expect(missing.fields.LAUNCHWAY_STACK).toContain('NoSuchStack does not exist in region eu-west-1');
  });
});

describe('readStackOutputs when AWS refuses the call', () => {
  /** The CLI's ending for a DescribeStacks that failed with `err`. */
  async function failure(err: Error, stack = flag('TeamStack')) {
    cfnMock.on(DescribeStacksCommand).rejects(err);
    const thrown = await readStackOutputs(stack, client()).then(
      () => expect.unreachable('expected a failure'),
      (e: unknown) => e as Error,
    );
    return { thrown, ...describeError(thrown) };
  }

  it('names the stack and how it was named when there are no credentials (exit 1), keeping the cause', async () => {
    const sdkError = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    const { thrown, exitCode, body } = await failure(sdkError, fromEnv('TeamStack'));
    expect(exitCode).toBe(EXIT.ERROR);
    expect(body.error.code).toBe('STACK_UNREADABLE');
    expect(body.error.message).toMatch(
      /^reading the outputs of stack TeamStack \(LAUNCHWAY_STACK\) in eu-west-1: Could not load credentials from any providers: /,
    );
    expect(body.error.message).toContain('AWS_PROFILE');
    expect(body.error.details).toEqual({ stack: 'TeamStack', region: 'eu-west-1', cause: 'CredentialsProviderError' });
    expect(thrown.cause).toBe(sdkError);
  });

  it('names the cloudformation:DescribeStacks permission and the redeploy when access is denied', async () => {
    const denied = new CloudFormationServiceException({
      name: 'AccessDenied',
      message:
        'User: arn:aws:sts::123456789012:assumed-role/ci/gh is not authorized to perform: cloudformation:DescribeStacks ' +
        'on resource: arn:aws:cloudformation:eu-west-1:123456789012:stack/TeamStack/*',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
    });
    const { exitCode, body } = await failure(denied);
    expect(exitCode).toBe(EXIT.ERROR);
    expect(body.error.code).toBe('FORBIDDEN');
    expect(body.error.message).toMatch(/^reading the outputs of stack TeamStack \(--stack\) in eu-west-1: User: /);
    expect(body.error.message).toContain('needs cloudformation:DescribeStacks on the stack');
    expect(body.error.message).toContain('until redeployed');
  });

  it('names the stack for any other refusal, such as a token AWS does not know', async () => {
    const invalid = new CloudFormationServiceException({
      name: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
    });
    const { body } = await failure(invalid);
    expect(body.error.code).toBe('STACK_UNREADABLE');
    expect(body.error.message).toBe(
      'reading the outputs of stack TeamStack (--stack) in eu-west-1: The security token included in the request is invalid.',
    );
  });

  it('leaves a network failure behind a cause chain on the STACK_UNREACHABLE path (exit 5)', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED', address: '10.0.0.1', port: 443 });
    const { thrown, exitCode, body } = await failure(new TypeError('fetch failed', { cause: refused }));
    expect(thrown).toBeInstanceOf(TypeError);
    expect(exitCode).toBe(EXIT.UNREACHABLE);
    expect(body.error.details).toEqual({ cause: 'ECONNREFUSED', address: '10.0.0.1:443' });
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

  it("replaces variables holding other values with the stack's outputs, one stderr line each naming only the variable", async () => {
    answer(LAUNCHWAY_OUTPUTS);
    // A shell that sourced the embedded stack's endpoints.env, then `list --stack TeamStack`.
    const env: NodeJS.ProcessEnv = {
      RELEASES_TABLE: 'embedded-releases',
      LAUNCHWAY_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:embedded',
      ARTIFACTS_BUCKET: 'team-artifacts',
      LAUNCHWAY_OPERATE_FUNCTION: '',
    };
    const lines: string[] = [];
    await locateStack(flag('TeamStack'), ['RELEASES_TABLE'], { env, client: client(), warn: (l) => lines.push(l) });
    expect(env).toEqual(EXPECTED_ENV);
    expect(process.env.OUTBOX_DIR).toBeUndefined();
    // The same value and an empty one are no news; the old values are not printed.
    expect(lines).toEqual([
      '(--stack TeamStack: LAUNCHWAY_STATE_MACHINE_ARN set from the output StateMachineArn, replacing the value set)',
      '(--stack TeamStack: RELEASES_TABLE set from the output ReleasesTableName, replacing the value set)',
    ]);
    expect(lines.join('\n')).not.toContain('embedded');
  });

  it('warns, naming them, about the endpoint variables that send the SDK away from AWS, and keeps them', async () => {
    answer(LAUNCHWAY_OUTPUTS);
    const endpoints = {
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:4567',
      AWS_ENDPOINT_URL_SFN: 'http://127.0.0.1:4568',
      AWS_ENDPOINT_URL_CLOUDFORMATION: 'http://127.0.0.1:4569',
    };
    const env: NodeJS.ProcessEnv = { ...endpoints, ...EXPECTED_ENV };
    const lines: string[] = [];
    await locateStack(fromEnv('TeamStack'), ['RELEASES_TABLE'], { env, client: client(), warn: (l) => lines.push(l) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^warning \(LAUNCHWAY_STACK TeamStack\): AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SFN are set/);
    expect(lines[0]).toContain('endpoints.env');
    expect(lines[0]).not.toContain('127.0.0.1');
    expect(env).toEqual({ ...endpoints, ...EXPECTED_ENV });

    lines.length = 0;
    await locateStack(flag('TeamStack'), [], {
      env: { AWS_ENDPOINT_URL: 'http://localhost:4566' },
      client: client(),
      warn: (l) => lines.push(l),
    });
    expect(lines[0]).toContain('AWS_ENDPOINT_URL is set');
  });

  it("drops OUTBOX_DIR, so approve --stack goes to the stack's approval API, not the embedded outbox", async () => {
    answer(LAUNCHWAY_OUTPUTS);
    const env: NodeJS.ProcessEnv = { OUTBOX_DIR: '/tmp/outbox' };
    const lines: string[] = [];
    await locateStack(flag('TeamStack'), [], { env, client: client(), warn: (l) => lines.push(l) });
    expect(env.OUTBOX_DIR).toBeUndefined();
    expect(env.LAUNCHWAY_APPROVAL_API_URL).toBe(EXPECTED_ENV.LAUNCHWAY_APPROVAL_API_URL);
    expect(lines).toEqual(["(--stack TeamStack: OUTBOX_DIR ignored, it is the embedded stack's outbox)"]);
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
    const { fields, message } = await refusal(() =>
      locateStack(flag('OldStack'), ['LAUNCHWAY_OPERATE_FUNCTION'], { env: {}, client: client() }),
    );
    expect(message).toContain('OperateFunctionName');
    expect(fields['--stack']).toContain('no output OperateFunctionName (LAUNCHWAY_OPERATE_FUNCTION)');
    const env: NodeJS.ProcessEnv = { LAUNCHWAY_OPERATE_FUNCTION: 'by-hand' };
    await locateStack(flag('OldStack'), ['LAUNCHWAY_OPERATE_FUNCTION'], { env, client: client() });
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
