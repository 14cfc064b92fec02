import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineArn, startSfnFixture, type SfnFixture } from '../fixtures/sfn/local-sfn-fixture.js';
import { systemTool } from '../helpers/system-tools.js';

const run = promisify(execFile);

/** The AWS CLI (LAUNCHWAY_AWS_CLI, else `aws` on PATH); the file fails, saying what to install or set, when it is missing. */
const AWS = systemTool('aws');
const version = execFileSync(AWS, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).trim();

let fx: SfnFixture;

beforeAll(async () => {
  fx = await startSfnFixture();
});
afterAll(async () => fx?.sfn.close());

/** Runs `aws stepfunctions <args>` against the local endpoint with dummy credentials and no user config. */
async function aws(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'dummy',
    AWS_SECRET_ACCESS_KEY: 'dummy',
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  };
  delete env.AWS_PROFILE;
  try {
    const { stdout, stderr } = await run(
      AWS,
      ['stepfunctions', ...args, '--endpoint-url', fx.url, '--region', 'us-east-1', '--output', 'json'],
      { env, timeout: 60_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

describe(`local Step Functions endpoint through the AWS CLI (${version})`, () => {
  it('lists machines, starts and describes an execution, answers a task token and reports errors', async () => {
    const machines = JSON.parse((await aws('list-state-machines')).stdout) as { stateMachines: { name: string }[] };
    expect(machines.stateMachines.map((m) => m.name)).toContain('two-tasks');

    const started = await aws(
      'start-execution',
      '--state-machine-arn',
      machineArn('two-tasks'),
      '--name',
      'from-cli',
      '--input',
      '{"value":3}',
    );
    expect(started.stderr).toBe('');
    const { executionArn } = JSON.parse(started.stdout) as { executionArn: string };
    expect(executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:two-tasks:from-cli');
    await fx.sfn.waitForExecution(executionArn, 10_000);

    const described = JSON.parse((await aws('describe-execution', '--execution-arn', executionArn)).stdout) as {
      status: string;
      output: string;
      startDate: unknown;
    };
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output)).toMatchObject({ prepared: { doubled: 6 }, finished: { message: 'finished' } });
    expect(described.startDate).toBeTruthy();

    // A callback task answered from the CLI, as an operator would.
    const callback = await aws(
      'start-execution',
      '--state-machine-arn',
      machineArn('callback'),
      '--input',
      '{"release":"cli","timeoutSeconds":30}',
    );
    const callbackArn = (JSON.parse(callback.stdout) as { executionArn: string }).executionArn;
    const token = await fx.tokens.first(callbackArn);
    const answered = await aws('send-task-success', '--task-token', token, '--task-output', '{"approvedBy":"cli"}');
    expect(answered.code).toBe(0);
    expect((await fx.sfn.waitForExecution(callbackArn, 10_000)).output).toBe('{"outcome":"APPROVED","decision":{"approvedBy":"cli"}}');

    const missing = await aws('describe-execution', '--execution-arn', 'arn:aws:states:us-east-1:000000000000:execution:two-tasks:nope');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('ExecutionDoesNotExist');
  });
});
