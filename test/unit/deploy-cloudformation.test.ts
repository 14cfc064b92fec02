import 'aws-sdk-client-mock-vitest/extend';
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { s3Client } from '../../functions/lib/clients.js';
import { CloudFormationProvider, MAX_TEMPLATE_BODY_BYTES } from '../../functions/lib/deploy/cloudformation.js';
import { changeSetName } from '../../functions/lib/deploy/cloudformation-stacks.js';
import type { DeployRequest } from '../../functions/lib/deploy/deploy-provider.js';
import type { Clock } from '../../functions/lib/deploy/support.js';
import { DeployTargetSchema, type DeployTarget } from '../../functions/lib/deploy/targets.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';

/**
 * CloudFormation has no emulator here, so its client is mocked and every command is asserted exactly; the template
 * itself is a real object in s3rver.
 */
const cfnMock = mockClient(CloudFormationClient);

const STACK = 'orders-prod';
const STACK_ID = `arn:aws:cloudformation:us-east-1:123456789012:stack/${STACK}/0b1f-4c2d`;
const CS_ID = `arn:aws:cloudformation:us-east-1:123456789012:changeSet/launchway-production-orders-1-4-0-abcdef123456/9f8e`;
const ROLE = 'arn:aws:iam::123456789012:role/orders-cfn-deployer';
const TEMPLATE =
  'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\nOutputs:\n  ApiUrl:\n    Value: https://orders.example.com\n';
const PREVIOUS_TEMPLATE = '{"Resources":{"Queue":{"Type":"AWS::SQS::Queue"}}}';

function manualClock(start = Date.parse('2030-01-01T00:00:00Z')): Clock {
  let now = start;
  return { now: () => now, sleep: async (ms) => void (now += ms) };
}

const stackError = (message: string) => Object.assign(new Error(message), { name: 'ValidationError' });
const stack = (StackStatus: string, extra: Partial<Stack> = {}): { Stacks: Stack[] } => ({
  Stacks: [{ StackName: STACK, StackId: STACK_ID, StackStatus, CreationTime: new Date(), ...extra } as Stack],
});

describe('CloudFormationProvider', () => {
  let emulators: TestEmulators;
  let artifacts: ArtifactStore;
  let provider: CloudFormationProvider;
  const regions: (string | undefined)[] = [];

  const target = (over: Record<string, unknown> = {}): DeployTarget =>
    DeployTargetSchema.parse({
      type: 'cloudformation',
      stackName: STACK,
      roleArn: ROLE,
      parameters: { Stage: 'prod' },
      endpointOutput: 'ApiUrl',
      ...over,
    });
  const request = (t: DeployTarget, artifactKey = 'artifacts/orders/1.4.0/template.yaml'): DeployRequest => ({
    releaseId: 'orders-1.4.0-abcdef123456',
    service: 'orders',
    environment: 'production',
    version: '1.4.0',
    artifactKey,
    target: t,
  });

  beforeAll(async () => {
    emulators = await startTestEmulators();
    artifacts = new ArtifactStore(s3Client(), emulators.bucket);
    await artifacts.put('artifacts/orders/1.4.0/template.yaml', TEMPLATE);
    await artifacts.put('artifacts/orders/1.3.0/template.json', PREVIOUS_TEMPLATE);
  });
  afterAll(async () => emulators?.stop());

  beforeEach(() => {
    regions.length = 0;
    provider = new CloudFormationProvider({
      cloudFormation: (region) => {
        regions.push(region);
        return new CloudFormationClient({ region: region ?? 'us-east-1' });
      },
      artifacts,
      clock: manualClock(),
      rollbackPollMs: 5_000,
      rollbackBudgetMs: 60_000,
    });
    cfnMock.on(CreateChangeSetCommand).resolves({ Id: CS_ID, StackId: STACK_ID });
    cfnMock.on(ExecuteChangeSetCommand).resolves({});
    cfnMock.on(DeleteChangeSetCommand).resolves({});
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
  });
  afterEach(() => cfnMock.reset());

  it('creates a new stack through a CREATE change set, executes it once ready and reports the output as endpoint', async () => {
    cfnMock.on(DescribeStacksCommand).rejectsOnce(stackError(`Stack with id ${STACK} does not exist`));
    const req = request(target());
    const started = await provider.start(req);
    expect(started.state).toBe('IN_PROGRESS');
    expect(cfnMock).toReceiveCommandExactlyOnceWith(DescribeStacksCommand, { StackName: STACK });
    expect(cfnMock.commandCalls(CreateChangeSetCommand)[0].args[0].input).toEqual({
      StackName: STACK,
      ChangeSetName: 'launchway-production-orders-1-4-0-abcdef123456',
      ChangeSetType: 'CREATE',
      TemplateBody: TEMPLATE,
      Parameters: [{ ParameterKey: 'Stage', ParameterValue: 'prod' }],
      Capabilities: ['CAPABILITY_IAM'],
      RoleARN: ROLE,
      Description: 'Launchway: artifacts/orders/1.4.0/template.yaml',
      ClientToken: 'launchway-production-orders-1-4-0-abcdef123456',
    });
    expect(started.handle).toMatchObject({ phase: 'CHANGE_SET', changeSetId: CS_ID, stackId: STACK_ID, changeSetType: 'CREATE' });

    // `resolves` replaces the answer for the next polls (a second `resolvesOnce` would count from the first call).
    cfnMock.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_IN_PROGRESS', ExecutionStatus: 'UNAVAILABLE' });
    const creating = await provider.status(req, started.handle);
    expect(creating.state).toBe('IN_PROGRESS');
    expect(cfnMock).toReceiveCommandWith(DescribeChangeSetCommand, { ChangeSetName: CS_ID, StackName: STACK_ID });
    expect(cfnMock).toReceiveCommandTimes(ExecuteChangeSetCommand, 0);

    cfnMock.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', StackId: STACK_ID });
    const executing = await provider.status(req, creating.handle);
    expect(executing).toMatchObject({ state: 'IN_PROGRESS', handle: { phase: 'EXECUTING' } });
    expect(cfnMock.commandCalls(ExecuteChangeSetCommand).map((c) => c.args[0].input)).toEqual([
      { ChangeSetName: CS_ID, StackName: STACK_ID, ClientRequestToken: 'launchway-production-orders-1-4-0-abcdef123456' },
    ]);

    cfnMock.on(DescribeStacksCommand).resolves(stack('CREATE_IN_PROGRESS'));
    const inProgress = await provider.status(req, executing.handle);
    expect(inProgress).toMatchObject({ state: 'IN_PROGRESS', message: `stack ${STACK} is CREATE_IN_PROGRESS` });

    cfnMock
      .on(DescribeStacksCommand)
      .resolves(stack('CREATE_COMPLETE', { Outputs: [{ OutputKey: 'ApiUrl', OutputValue: 'https://orders.example.com' }] }));
    const done = await provider.status(req, inProgress.handle);
    expect(done).toMatchObject({
      state: 'SUCCEEDED',
      endpoint: 'https://orders.example.com',
      handle: { phase: 'DONE', templateKey: 'artifacts/orders/1.4.0/template.yaml', endpoint: 'https://orders.example.com' },
    });
    expect(cfnMock).toReceiveCommandTimes(ExecuteChangeSetCommand, 1);
    expect(regions.every((r) => r === undefined)).toBe(true);
  });

  it('updates an existing stack in its own region, passing a template over 51,200 bytes by URL', async () => {
    const big = `${'#'.repeat(MAX_TEMPLATE_BODY_BYTES)}\n${TEMPLATE}`;
    await artifacts.put('artifacts/orders/1.5.0/template.yaml', big);
    cfnMock.on(DescribeStacksCommand).resolves(stack('UPDATE_COMPLETE'));
    const started = await provider.start(
      request(target({ region: 'eu-west-1', capabilities: ['CAPABILITY_NAMED_IAM'] }), 'artifacts/orders/1.5.0/template.yaml'),
    );
    expect(started.state).toBe('IN_PROGRESS');
    const input = cfnMock.commandCalls(CreateChangeSetCommand)[0].args[0].input;
    expect(input).toMatchObject({ ChangeSetType: 'UPDATE', Capabilities: ['CAPABILITY_NAMED_IAM'] });
    expect(input.TemplateBody).toBeUndefined();
    expect(input.TemplateURL).toBe(`https://${emulators.bucket}.s3.eu-west-1.amazonaws.com/artifacts/orders/1.5.0/template.yaml`);
    expect(regions.length).toBeGreaterThan(0);
    expect(new Set(regions)).toEqual(new Set(['eu-west-1']));
  });

  it('treats a change set without changes as a successful no-op and deletes it', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .resolves(stack('UPDATE_COMPLETE', { Outputs: [{ OutputKey: 'ApiUrl', OutputValue: 'https://orders.example.com' }] }));
    const req = request(target());
    const started = await provider.start(req);
    cfnMock.on(DescribeChangeSetCommand).resolves({
      Status: 'FAILED',
      ExecutionStatus: 'UNAVAILABLE',
      StatusReason: "The submitted information didn't contain changes. Submit different information to create a change set.",
    });
    const done = await provider.status(req, started.handle);
    expect(done).toMatchObject({ state: 'SUCCEEDED', endpoint: 'https://orders.example.com', message: `stack ${STACK}: no changes` });
    expect(cfnMock.commandCalls(DeleteChangeSetCommand).map((c) => c.args[0].input)).toEqual([
      { ChangeSetName: CS_ID, StackName: STACK_ID },
    ]);
    expect(cfnMock).toReceiveCommandTimes(ExecuteChangeSetCommand, 0);
  });

  it('fails with the reason when the change set itself fails', async () => {
    cfnMock.on(DescribeStacksCommand).resolves(stack('UPDATE_COMPLETE'));
    const req = request(target());
    const started = await provider.start(req);
    cfnMock
      .on(DescribeChangeSetCommand)
      .resolves({ Status: 'FAILED', StatusReason: 'Template format error: Unresolved resource dependencies [Topic]' });
    const failed = await provider.status(req, started.handle);
    expect(failed.state).toBe('FAILED');
    expect(failed.message).toBe(
      `change set launchway-production-orders-1-4-0-abcdef123456 on ${STACK} failed: Template format error: Unresolved resource dependencies [Topic]`,
    );
    expect(cfnMock).toReceiveCommandTimes(ExecuteChangeSetCommand, 0);
    expect(cfnMock).toReceiveCommandTimes(DeleteChangeSetCommand, 0);
  });

  it('fails with the stack reason and the first failed resource of this execution when the update rolls back', async () => {
    cfnMock.on(DescribeStacksCommand).resolves(stack('UPDATE_COMPLETE'));
    const req = request(target());
    const started = await provider.start(req);
    cfnMock.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', StackId: STACK_ID });
    const executing = await provider.status(req, started.handle);
    const token = executing.handle.requestToken as string;
    cfnMock
      .on(DescribeStacksCommand)
      .resolves(stack('UPDATE_ROLLBACK_COMPLETE', { StackStatusReason: 'The following resource(s) failed to update: [Queue]. ' }));
    // Newest first, as CloudFormation returns them: the cancellation and an older execution's failure are not the cause.
    cfnMock.on(DescribeStackEventsCommand).resolves({
      StackEvents: [
        {
          StackId: STACK_ID,
          EventId: '4',
          StackName: STACK,
          Timestamp: new Date(),
          LogicalResourceId: 'Topic',
          ResourceType: 'AWS::SNS::Topic',
          ResourceStatus: 'UPDATE_FAILED',
          ResourceStatusReason: 'Resource update cancelled',
          ClientRequestToken: token,
        },
        {
          StackId: STACK_ID,
          EventId: '3',
          StackName: STACK,
          Timestamp: new Date(),
          LogicalResourceId: 'Queue',
          ResourceType: 'AWS::SQS::Queue',
          ResourceStatus: 'UPDATE_FAILED',
          ResourceStatusReason: 'Invalid value for VisibilityTimeout',
          ClientRequestToken: token,
        },
        {
          StackId: STACK_ID,
          EventId: '1',
          StackName: STACK,
          Timestamp: new Date(),
          LogicalResourceId: 'Old',
          ResourceType: 'AWS::SQS::Queue',
          ResourceStatus: 'CREATE_FAILED',
          ResourceStatusReason: 'an older failure',
          ClientRequestToken: 'someone-else',
        },
      ],
    });
    const failed = await provider.status(req, executing.handle);
    expect(failed.state).toBe('FAILED');
    expect(failed.message).toBe(
      `stack ${STACK} is UPDATE_ROLLBACK_COMPLETE: The following resource(s) failed to update: [Queue]. ; Queue (AWS::SQS::Queue) UPDATE_FAILED: Invalid value for VisibilityTimeout`,
    );
    expect(cfnMock).toReceiveCommandWith(DescribeStackEventsCommand, { StackName: STACK_ID });
  });

  it('refuses to start on a stack that must be deleted first or is busy, before creating anything', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .resolves(stack('ROLLBACK_COMPLETE', { StackStatusReason: 'The following resource(s) failed to create: [Queue].' }));
    const dead = await provider.start(request(target()));
    expect(dead).toMatchObject({
      state: 'FAILED',
      message: `stack ${STACK} is ROLLBACK_COMPLETE; it cannot be updated until it is deleted (The following resource(s) failed to create: [Queue].)`,
    });
    cfnMock.on(DescribeStacksCommand).resolves(stack('UPDATE_IN_PROGRESS'));
    const busy = await provider.start(request(target()));
    expect(busy.message).toBe(`stack ${STACK} is busy (UPDATE_IN_PROGRESS); another operation must finish first`);
    expect(cfnMock).toReceiveCommandTimes(CreateChangeSetCommand, 0);
  });

  it('fails a finished stack that lacks the endpoint output, naming the outputs it has', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .resolves(stack('UPDATE_COMPLETE', { Outputs: [{ OutputKey: 'QueueUrl', OutputValue: 'https://sqs' }] }));
    const req = request(target());
    const started = await provider.start(req);
    cfnMock.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE' });
    const executing = await provider.status(req, started.handle);
    const failed = await provider.status(req, executing.handle);
    expect(failed).toMatchObject({ state: 'FAILED', message: `stack ${STACK} has no output ApiUrl for the endpoint (outputs: QueueUrl)` });
  });

  describe('rollback', () => {
    const previous = {
      version: '1.3.0',
      releaseId: 'orders-1.3.0-0123456789ab',
      artifactKey: 'artifacts/orders/1.3.0/template.json',
      handle: { stackName: STACK, phase: 'DONE' },
    };

    it('waits for the stack to settle, then redeploys the previous template and polls it to completion', async () => {
      cfnMock
        .on(DescribeStacksCommand)
        .resolvesOnce(stack('UPDATE_ROLLBACK_IN_PROGRESS'))
        .resolvesOnce(stack('UPDATE_ROLLBACK_COMPLETE'))
        .resolvesOnce(stack('UPDATE_ROLLBACK_COMPLETE'))
        .resolvesOnce(stack('UPDATE_IN_PROGRESS'))
        .resolves(stack('UPDATE_COMPLETE', { Outputs: [{ OutputKey: 'ApiUrl', OutputValue: 'https://orders.example.com' }] }));
      cfnMock
        .on(DescribeChangeSetCommand)
        .resolvesOnce({ Status: 'CREATE_PENDING' })
        .resolves({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', StackId: STACK_ID });
      const restored = await provider.rollback({ service: 'orders', environment: 'production', target: target(), previous });
      expect(restored).toMatchObject({
        state: 'SUCCEEDED',
        endpoint: 'https://orders.example.com',
        handle: { phase: 'DONE', templateKey: 'artifacts/orders/1.3.0/template.json' },
      });
      const created = cfnMock.commandCalls(CreateChangeSetCommand).map((c) => c.args[0].input);
      expect(created).toHaveLength(1);
      expect(created[0]).toMatchObject({
        StackName: STACK,
        ChangeSetType: 'UPDATE',
        TemplateBody: PREVIOUS_TEMPLATE,
        RoleARN: ROLE,
        ChangeSetName: expect.stringMatching(/^launchway-rollback-orders-1-3-0-0123456789ab-\d+$/),
      });
      expect(cfnMock).toReceiveCommandTimes(ExecuteChangeSetCommand, 1);
    });

    it('gives up with FAILED when the redeploy does not finish within its budget', async () => {
      cfnMock
        .on(DescribeStacksCommand)
        .resolvesOnce(stack('UPDATE_ROLLBACK_COMPLETE'))
        .resolvesOnce(stack('UPDATE_ROLLBACK_COMPLETE'))
        .resolves(stack('UPDATE_IN_PROGRESS'));
      cfnMock.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE' });
      const restored = await provider.rollback({ service: 'orders', environment: 'production', target: target(), previous });
      expect(restored?.state).toBe('FAILED');
      expect(restored?.message).toBe(`rollback of ${STACK} to 1.3.0 did not finish within 60s (stack ${STACK} is UPDATE_IN_PROGRESS)`);
    });

    it('leaves the stack alone when there is no previous release', async () => {
      const restored = await provider.rollback({ service: 'orders', environment: 'production', target: target() });
      expect(restored).toBeUndefined();
      expect(cfnMock.calls()).toHaveLength(0);
    });
  });

  it('fails a deployment still in progress after timeoutSeconds, naming the stack status and the bound', async () => {
    const clock = manualClock();
    provider = new CloudFormationProvider({ cloudFormation: () => new CloudFormationClient({ region: 'us-east-1' }), artifacts, clock });
    cfnMock.on(DescribeStacksCommand).resolves(stack('UPDATE_COMPLETE'));
    const req = request(target({ timeoutSeconds: 600 }));
    const started = await provider.start(req);
    cfnMock.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', StackId: STACK_ID });
    const executing = await provider.status(req, started.handle);
    cfnMock.on(DescribeStacksCommand).resolves(stack('UPDATE_IN_PROGRESS'));
    await clock.sleep(600_000);
    const late = await provider.status(req, executing.handle);
    expect(late).toMatchObject({ state: 'IN_PROGRESS' });
    await clock.sleep(1_000);
    expect(await provider.status(req, late.handle)).toMatchObject({
      state: 'FAILED',
      message: `stack ${STACK} is UPDATE_IN_PROGRESS; still not complete after 600s`,
    });
  });

  it('makes valid change set names out of release ids', () => {
    expect(changeSetName('launchway-staging-orders-1.4.0-abcdef123456')).toBe('launchway-staging-orders-1-4-0-abcdef123456');
    expect(changeSetName(`9-${'x'.repeat(200)}`)).toMatch(/^x{128}$/);
  });
});
