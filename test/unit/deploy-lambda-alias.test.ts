import 'aws-sdk-client-mock-vitest/extend';
import { CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import {
  CreateAliasCommand,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  GetFunctionUrlConfigCommand,
  LambdaClient,
  PublishVersionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeployRequest, DeployStatus } from '../../functions/lib/deploy/deploy-provider.js';
import { LambdaAliasProvider } from '../../functions/lib/deploy/lambda-alias.js';
import type { Clock } from '../../functions/lib/deploy/support.js';
import { DeployTargetSchema, type DeployTarget } from '../../functions/lib/deploy/targets.js';

const lambdaMock = mockClient(LambdaClient);
const cloudWatchMock = mockClient(CloudWatchClient);

const FN = 'orders-api';
const ALIAS_ARN = `arn:aws:lambda:us-east-1:123456789012:function:${FN}:live`;
const SHA = 'c2hhMjU2LW9mLXRoZS1uZXctY29kZQ==';

/** A clock the test moves by hand: no test here waits for real time. */
function manualClock(start = Date.parse('2030-01-01T00:00:00Z')): Clock & { advance(seconds: number): void } {
  let now = start;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    advance(seconds) {
      now += seconds * 1000;
    },
  };
}

const target = (over: Record<string, unknown> = {}): DeployTarget =>
  DeployTargetSchema.parse({ type: 'lambda-alias', functionName: FN, ...over });

const request = (t: DeployTarget): DeployRequest => ({
  releaseId: 'orders-1.4.0-abcdef123456',
  service: 'orders',
  environment: 'production',
  version: '1.4.0',
  artifactKey: 'artifacts/orders/1.4.0/bundle.zip',
  target: t,
});

const alarm = (name: string, state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA'): MetricAlarm => ({ AlarmName: name, StateValue: state });

describe('LambdaAliasProvider', () => {
  let clock: ReturnType<typeof manualClock>;
  let provider: LambdaAliasProvider;

  beforeEach(() => {
    clock = manualClock();
    provider = new LambdaAliasProvider({
      lambda: new LambdaClient({ region: 'us-east-1' }),
      cloudWatch: new CloudWatchClient({ region: 'us-east-1' }),
      bucket: 'launchway-artifacts',
      clock,
    });
    lambdaMock.on(GetAliasCommand).resolves({ AliasArn: ALIAS_ARN, FunctionVersion: '7' });
    lambdaMock.on(UpdateFunctionCodeCommand).resolves({ CodeSha256: SHA, LastUpdateStatus: 'InProgress' });
    lambdaMock.on(PublishVersionCommand).resolves({ Version: '8', State: 'Active', CodeSha256: SHA });
    lambdaMock.on(UpdateAliasCommand).resolves({ AliasArn: ALIAS_ARN });
    lambdaMock.on(CreateAliasCommand).resolves({ AliasArn: ALIAS_ARN });
  });

  afterEach(() => {
    lambdaMock.reset();
    cloudWatchMock.reset();
  });

  const updated = (status: 'InProgress' | 'Successful' | 'Failed', extra: Record<string, unknown> = {}) =>
    lambdaMock.on(GetFunctionConfigurationCommand, { FunctionName: FN }).resolves({ CodeSha256: SHA, LastUpdateStatus: status, ...extra });

  describe('all at once', () => {
    it('updates the code from S3, polls until the update is done, publishes with the SHA guard and moves the alias', async () => {
      const t = target();
      const req = request(t);
      const started = await provider.start(req);
      expect(started.state).toBe('IN_PROGRESS');
      expect(lambdaMock).toReceiveCommandExactlyOnceWith(GetAliasCommand, { FunctionName: FN, Name: 'live' });
      expect(lambdaMock.commandCalls(UpdateFunctionCodeCommand)[0].args[0].input).toEqual({
        FunctionName: FN,
        S3Bucket: 'launchway-artifacts',
        S3Key: 'artifacts/orders/1.4.0/bundle.zip',
      });
      expect(started.handle).toMatchObject({ phase: 'UPDATING', codeSha256: SHA, previousVersion: '7', aliasExisted: true });

      updated('InProgress');
      const polling = await provider.status(req, started.handle);
      expect(polling.state).toBe('IN_PROGRESS');
      expect(lambdaMock).toReceiveCommandTimes(PublishVersionCommand, 0);
      expect(lambdaMock).toReceiveCommandTimes(UpdateAliasCommand, 0);

      updated('Successful');
      const done = await provider.status(req, polling.handle);
      expect(done.state).toBe('SUCCEEDED');
      expect(lambdaMock.commandCalls(PublishVersionCommand)[0].args[0].input).toEqual({
        FunctionName: FN,
        CodeSha256: SHA,
        Description: 'Launchway orders 1.4.0 (orders-1.4.0-abcdef123456)',
      });
      expect(lambdaMock.commandCalls(UpdateAliasCommand).map((c) => c.args[0].input)).toEqual([
        { FunctionName: FN, Name: 'live', FunctionVersion: '8', RoutingConfig: { AdditionalVersionWeights: {} } },
      ]);
      expect(done.handle).toMatchObject({ phase: 'DONE', version: '8', previousVersion: '7', aliasArn: ALIAS_ARN });
      // No endpoint is configured, so none is invented (an alias ARN is not something Newman can call).
      expect(done.endpoint).toBeUndefined();
      expect(lambdaMock).toReceiveCommandTimes(GetFunctionUrlConfigCommand, 0);
    });

    it('creates the alias on a first deploy and reports the function URL as the endpoint when asked to', async () => {
      lambdaMock.on(GetAliasCommand).rejects(new ResourceNotFoundException({ message: 'Alias not found', $metadata: {} }));
      lambdaMock
        .on(GetFunctionUrlConfigCommand, { FunctionName: FN, Qualifier: 'live' })
        .resolves({ FunctionUrl: 'https://abc123.lambda-url.us-east-1.on.aws/' });
      const req = request(target({ functionUrl: true, trafficShifting: { type: 'canary' } }));
      const started = await provider.start(req);
      expect(started.handle).toMatchObject({ aliasExisted: false });
      expect(started.handle).not.toHaveProperty('previousVersion');
      updated('Successful');
      const done = await provider.status(req, started.handle);
      expect(done.state).toBe('SUCCEEDED');
      // With nothing live there is no traffic to shift: canary falls back to a plain switch.
      expect(lambdaMock).toReceiveCommandTimes(UpdateAliasCommand, 0);
      expect(lambdaMock.commandCalls(CreateAliasCommand)[0].args[0].input).toEqual({
        FunctionName: FN,
        Name: 'live',
        FunctionVersion: '8',
        RoutingConfig: { AdditionalVersionWeights: {} },
      });
      expect(done.endpoint).toBe('https://abc123.lambda-url.us-east-1.on.aws/');
      expect(done.handle).toMatchObject({ endpoint: 'https://abc123.lambda-url.us-east-1.on.aws/' });
    });

    it('waits for a published version that is still Pending before moving the alias', async () => {
      lambdaMock.on(PublishVersionCommand).resolves({ Version: '8', State: 'Pending' });
      const req = request(target({ endpointUrl: 'https://orders.example.com' }));
      updated('Successful');
      const pending = await provider.status(req, (await provider.start(req)).handle);
      expect(pending).toMatchObject({ state: 'IN_PROGRESS', handle: { phase: 'ACTIVATING', version: '8' } });
      expect(lambdaMock).toReceiveCommandTimes(UpdateAliasCommand, 0);

      lambdaMock.on(GetFunctionConfigurationCommand, { FunctionName: FN, Qualifier: '8' }).resolves({ State: 'Active' });
      const done = await provider.status(req, pending.handle);
      expect(done).toMatchObject({ state: 'SUCCEEDED', endpoint: 'https://orders.example.com' });
      expect(lambdaMock).toReceiveCommandWith(UpdateAliasCommand, { FunctionVersion: '8' });
    });

    it('fails a code update still in progress after updateTimeoutSeconds, naming the bound', async () => {
      const req = request(target({ updateTimeoutSeconds: 120 }));
      const started = await provider.start(req);
      updated('InProgress');
      clock.advance(120);
      const waiting = await provider.status(req, started.handle);
      expect(waiting).toMatchObject({ state: 'IN_PROGRESS' });
      expect(waiting).not.toHaveProperty('dueInSeconds');
      clock.advance(1);
      expect(await provider.status(req, waiting.handle)).toMatchObject({
        state: 'FAILED',
        message: `code update of ${FN} in progress; still not complete after 120s (updateTimeoutSeconds)`,
      });
      expect(lambdaMock).toReceiveCommandTimes(PublishVersionCommand, 0);
    });

    it('fails with the reason Lambda gives when the code update fails, and never publishes', async () => {
      const req = request(target());
      updated('Failed', { LastUpdateStatusReasonCode: 'InvalidZipFileException', LastUpdateStatusReason: 'Could not unzip uploaded file' });
      const failed = await provider.status(req, (await provider.start(req)).handle);
      expect(failed.state).toBe('FAILED');
      expect(failed.message).toBe('code update of orders-api failed: InvalidZipFileException: Could not unzip uploaded file');
      expect(lambdaMock).toReceiveCommandTimes(PublishVersionCommand, 0);
      expect(lambdaMock).toReceiveCommandTimes(UpdateAliasCommand, 0);
    });

    it('fails when the function now runs other code than the update installed', async () => {
      const req = request(target());
      updated('Successful', { CodeSha256: 'c29tZWJvZHktZWxzZQ==' });
      const failed = await provider.status(req, (await provider.start(req)).handle);
      expect(failed.state).toBe('FAILED');
      expect(failed.message).toMatch(/someone else updated it/);
      expect(lambdaMock).toReceiveCommandTimes(PublishVersionCommand, 0);
    });

    it('fails at start, naming the function, when UpdateFunctionCode is refused', async () => {
      lambdaMock
        .on(UpdateFunctionCodeCommand)
        .rejects(new ResourceConflictException({ message: 'An update is in progress for resource', $metadata: {} }));
      const failed = await provider.start(request(target()));
      expect(failed.state).toBe('FAILED');
      expect(failed.message).toBe(
        'UpdateFunctionCode on orders-api failed: ResourceConflictException: An update is in progress for resource',
      );
    });

    it('bakes at 100% while watching the alarms and goes back when one fires', async () => {
      cloudWatchMock.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [alarm('orders-errors', 'OK')] });
      const req = request(target({ trafficShifting: { type: 'all-at-once', bakeSeconds: 120, alarms: ['orders-errors'] } }));
      updated('Successful');
      const baking = await provider.status(req, (await provider.start(req)).handle);
      expect(baking).toMatchObject({ state: 'IN_PROGRESS', handle: { phase: 'BAKING', version: '8' } });
      expect(lambdaMock).toReceiveCommandWith(UpdateAliasCommand, { FunctionVersion: '8' });

      clock.advance(60);
      cloudWatchMock.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [alarm('orders-errors', 'ALARM')] });
      const failed = await provider.status(req, baking.handle);
      expect(failed.state).toBe('FAILED');
      expect(failed.message).toBe('alarm orders-errors is in ALARM during the bake of version 8; orders-api:live is back on version 7');
      expect(lambdaMock.commandCalls(UpdateAliasCommand).at(-1)!.args[0].input).toEqual({
        FunctionName: FN,
        Name: 'live',
        FunctionVersion: '7',
        RoutingConfig: { AdditionalVersionWeights: {} },
      });
    });
  });

  describe('canary', () => {
    const canary = () =>
      target({ trafficShifting: { type: 'canary', percent: 10, intervalSeconds: 300, alarms: ['orders-5xx', 'orders-latency'] } });

    it('routes 10% to the new version, holds it for the interval while the alarms stay OK, then switches fully', async () => {
      cloudWatchMock.on(DescribeAlarmsCommand).resolves({
        MetricAlarms: [alarm('orders-5xx', 'OK')],
        CompositeAlarms: [{ AlarmName: 'orders-latency', StateValue: 'INSUFFICIENT_DATA' }],
      });
      const req = request(canary());
      const started = await provider.start(req);
      expect(cloudWatchMock.commandCalls(DescribeAlarmsCommand)[0].args[0].input).toEqual({
        AlarmNames: ['orders-5xx', 'orders-latency'],
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        MaxRecords: 100,
      });
      updated('Successful');
      const shifting = await provider.status(req, started.handle);
      // The next poll is due when the canary interval ends, however long the backoff has grown.
      expect(shifting).toMatchObject({
        state: 'IN_PROGRESS',
        handle: { phase: 'SHIFTING', weight: 10, version: '8', previousVersion: '7' },
        dueInSeconds: 300,
      });
      expect(lambdaMock.commandCalls(UpdateAliasCommand).map((c) => c.args[0].input)).toEqual([
        { FunctionName: FN, Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.1 } } },
      ]);

      clock.advance(299);
      const holding = await provider.status(req, shifting.handle);
      expect(holding).toMatchObject({ state: 'IN_PROGRESS', dueInSeconds: 1 });
      expect(lambdaMock).toReceiveCommandTimes(UpdateAliasCommand, 1);

      clock.advance(1);
      const done = await provider.status(req, holding.handle);
      expect(done.state).toBe('SUCCEEDED');
      expect(lambdaMock.commandCalls(UpdateAliasCommand).at(-1)!.args[0].input).toEqual({
        FunctionName: FN,
        Name: 'live',
        FunctionVersion: '8',
        RoutingConfig: { AdditionalVersionWeights: {} },
      });
      expect(done.handle).toMatchObject({ phase: 'DONE', version: '8' });
      expect(done.handle).not.toHaveProperty('weight');
    });

    it('puts the alias back on the previous version with no routing when an alarm fires during the shift', async () => {
      cloudWatchMock.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [alarm('orders-5xx', 'OK'), alarm('orders-latency', 'OK')] });
      const req = request(canary());
      updated('Successful');
      const shifting = await provider.status(req, (await provider.start(req)).handle);
      expect(shifting.handle).toMatchObject({ phase: 'SHIFTING', weight: 10 });

      clock.advance(30);
      cloudWatchMock.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [alarm('orders-5xx', 'ALARM'), alarm('orders-latency', 'OK')] });
      const failed = await provider.status(req, shifting.handle);
      expect(failed.state).toBe('FAILED');
      expect(failed.message).toBe('alarm orders-5xx is in ALARM at 10% on version 8; orders-api:live is back on version 7');
      expect(lambdaMock.commandCalls(UpdateAliasCommand).map((c) => c.args[0].input)).toEqual([
        { FunctionName: FN, Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.1 } } },
        { FunctionName: FN, Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: {} } },
      ]);
    });

    it('refuses to start while a watched alarm is already in ALARM or does not exist, before touching the function', async () => {
      cloudWatchMock.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [alarm('orders-5xx', 'ALARM'), alarm('orders-latency', 'OK')] });
      const alarming = await provider.start(request(canary()));
      expect(alarming).toMatchObject({ state: 'FAILED', message: 'not deploying orders-api: alarm orders-5xx is in ALARM' });

      cloudWatchMock.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [alarm('orders-5xx', 'OK')] });
      const missing = await provider.start(request(canary()));
      expect(missing.message).toBe('not deploying orders-api: alarm orders-latency does not exist, so it cannot be watched');
      expect(lambdaMock).toReceiveCommandTimes(UpdateFunctionCodeCommand, 0);
    });
  });

  describe('linear', () => {
    it('steps the weight up by percent every interval and ends with the alias fully on the new version', async () => {
      const req = request(target({ trafficShifting: { type: 'linear', percent: 40, intervalSeconds: 60 } }));
      updated('Successful');
      let status: DeployStatus = await provider.status(req, (await provider.start(req)).handle);
      const weights: unknown[] = [status.handle.weight];
      while (status.state === 'IN_PROGRESS') {
        clock.advance(60);
        status = await provider.status(req, status.handle);
        weights.push(status.handle.weight);
        expect(weights.length).toBeLessThan(10);
      }
      expect(status.state).toBe('SUCCEEDED');
      expect(weights).toEqual([40, 80, undefined]);
      expect(lambdaMock.commandCalls(UpdateAliasCommand).map((c) => c.args[0].input.RoutingConfig)).toEqual([
        { AdditionalVersionWeights: { '8': 0.4 } },
        { AdditionalVersionWeights: { '8': 0.8 } },
        { AdditionalVersionWeights: {} },
      ]);
      expect(lambdaMock.commandCalls(UpdateAliasCommand).map((c) => c.args[0].input.FunctionVersion)).toEqual(['7', '7', '8']);
    });
  });

  describe('rollback', () => {
    const live = (handle: Record<string, unknown>) => ({
      version: '1.3.0',
      artifactKey: 'a/1.3.0.zip',
      releaseId: 'orders-1.3.0-aaa',
      handle,
    });

    it("points the alias at the previous deployment's version with no routing", async () => {
      const t = target({ endpointUrl: 'https://orders.example.com' });
      const restored = await provider.rollback({
        service: 'orders',
        environment: 'production',
        target: t,
        previous: live({
          functionName: FN,
          alias: 'live',
          phase: 'DONE',
          codeSha256: 'b2xk',
          aliasExisted: true,
          version: '7',
          startedAt: '2029-12-01T00:00:00.000Z',
        }),
        failed: { ...live({ phase: 'DONE', version: '8', previousVersion: '7' }), version: '1.4.0' },
      });
      expect(restored).toMatchObject({
        state: 'SUCCEEDED',
        endpoint: 'https://orders.example.com',
        handle: { version: '7', phase: 'DONE', codeSha256: 'b2xk' },
      });
      expect(lambdaMock.commandCalls(UpdateAliasCommand).map((c) => c.args[0].input)).toEqual([
        { FunctionName: FN, Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: {} } },
      ]);
    });

    it('without a previous release, restores the version the failed deployment found on the alias, or leaves the alias alone', async () => {
      const t = target();
      const restored = await provider.rollback({
        service: 'orders',
        environment: 'production',
        target: t,
        failed: live({ phase: 'SHIFTING', version: '8', previousVersion: '5', weight: 10 }),
      });
      expect(restored).toMatchObject({ state: 'SUCCEEDED', handle: { version: '5' } });
      expect(lambdaMock).toReceiveCommandWith(UpdateAliasCommand, {
        FunctionVersion: '5',
        RoutingConfig: { AdditionalVersionWeights: {} },
      });

      lambdaMock.resetHistory();
      const nothing = await provider.rollback({
        service: 'orders',
        environment: 'production',
        target: t,
        failed: live({ phase: 'DONE', version: '1' }),
      });
      expect(nothing).toBeUndefined();
      expect(lambdaMock).toReceiveCommandTimes(UpdateAliasCommand, 0);
    });

    it('fails clearly when the previous deployment records no version', async () => {
      const restored = await provider.rollback({
        service: 'orders',
        environment: 'production',
        target: target(),
        previous: live({ pid: 1234, url: 'http://127.0.0.1:4000' }),
      });
      expect(restored).toMatchObject({ state: 'FAILED', message: expect.stringMatching(/records no Lambda version to return live to/) });
      expect(lambdaMock).toReceiveCommandTimes(UpdateAliasCommand, 0);
    });
  });
});
