import 'aws-sdk-client-mock-vitest/extend';
import { CloudFormationClient, DeleteChangeSetCommand } from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetAliasCommand, LambdaClient, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudFormationProvider } from '../../functions/lib/deploy/cloudformation.js';
import type { DeployRequest } from '../../functions/lib/deploy/deploy-provider.js';
import { EcsServiceProvider } from '../../functions/lib/deploy/ecs-service.js';
import { HttpHookProvider } from '../../functions/lib/deploy/http-hook.js';
import { LambdaAliasProvider } from '../../functions/lib/deploy/lambda-alias.js';
import { DeployTargetSchema } from '../../functions/lib/deploy/targets.js';

/**
 * DeployProvider.discard: what a step attempt that lost its fence retires. Only its own deployment, and traffic it
 * took only while that traffic is still on it; a later deployment (the rollback's, the next release's) is left alone.
 * These services have no emulator here: their clients are mocked and the commands asserted.
 */
const lambdaMock = mockClient(LambdaClient);
const ecsMock = mockClient(ECSClient);
const cfnMock = mockClient(CloudFormationClient);
afterAll(() => {
  lambdaMock.restore();
  ecsMock.restore();
  cfnMock.restore();
});
beforeEach(() => {
  lambdaMock.reset();
  ecsMock.reset();
  cfnMock.reset();
});

const request = (target: Record<string, unknown>): DeployRequest => ({
  releaseId: 'orders-1.4.0-abcdef123456',
  service: 'orders',
  environment: 'production',
  version: '1.4.0',
  artifactKey: 'artifacts/orders/1.4.0/artifact',
  target: DeployTargetSchema.parse(target),
});

describe('lambda-alias discard', () => {
  const provider = new LambdaAliasProvider({ lambda: new LambdaClient({ region: 'us-east-1' }) });
  const req = request({ type: 'lambda-alias', functionName: 'orders' });
  const handle = { functionName: 'orders', alias: 'live', phase: 'BAKING', version: '8', previousVersion: '7' };

  it('puts the alias back on the version before, with the revision it read, while the alias is on this version', async () => {
    lambdaMock.on(GetAliasCommand).resolves({ FunctionVersion: '8', RevisionId: 'rev-1' });
    lambdaMock.on(UpdateAliasCommand).resolves({});
    expect(await provider.discard(req, handle)).toBe('live is back on version 7');
    expect(lambdaMock).toHaveReceivedCommandWith(UpdateAliasCommand, {
      FunctionName: 'orders',
      Name: 'live',
      FunctionVersion: '7',
      RoutingConfig: { AdditionalVersionWeights: {} },
      RevisionId: 'rev-1',
    });
  });

  it('also while this version only has a canary weight', async () => {
    lambdaMock.on(GetAliasCommand).resolves({ FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.1 } } });
    lambdaMock.on(UpdateAliasCommand).resolves({});
    await provider.discard(req, handle);
    expect(lambdaMock).toHaveReceivedCommandWith(UpdateAliasCommand, { FunctionVersion: '7' });
  });

  it('leaves an alias that moved on, and a start that published nothing', async () => {
    lambdaMock.on(GetAliasCommand).resolves({ FunctionVersion: '9' });
    expect(await provider.discard(req, handle)).toContain('left alone');
    expect(await provider.discard(req, { functionName: 'orders', alias: 'live', phase: 'UPDATING' })).toContain('was not moved');
    expect(lambdaMock).not.toHaveReceivedCommand(UpdateAliasCommand);
  });
});

describe('ecs-service discard', () => {
  const provider = new EcsServiceProvider({ ecs: new ECSClient({ region: 'us-east-1' }) });
  const req = request({
    type: 'ecs-service',
    cluster: 'prod',
    service: 'orders',
    containerName: 'app',
    taskRoleArns: [],
    endpointUrl: 'https://orders.example.com',
  });
  const mine = 'arn:aws:ecs:us-east-1:123456789012:task-definition/orders:13';
  const before = 'arn:aws:ecs:us-east-1:123456789012:task-definition/orders:12';
  const handle = {
    cluster: 'prod',
    service: 'orders',
    taskDefinitionArn: mine,
    previousTaskDefinitionArn: before,
    deploymentId: 'ecs-svc/1',
    startedAt: '2030-01-01T00:00:00.000Z',
  };

  it('sends the service back to the revision before while it still runs this deployment', async () => {
    ecsMock.on(DescribeServicesCommand).resolves({ services: [{ serviceName: 'orders', status: 'ACTIVE', taskDefinition: mine }] });
    ecsMock.on(UpdateServiceCommand).resolves({});
    expect(await provider.discard(req, handle)).toBe(`orders is going back to ${before}`);
    expect(ecsMock).toHaveReceivedCommandWith(UpdateServiceCommand, { cluster: 'prod', service: 'orders', taskDefinition: before });
  });

  it('leaves a service another deployment moved', async () => {
    ecsMock.on(DescribeServicesCommand).resolves({ services: [{ serviceName: 'orders', status: 'ACTIVE', taskDefinition: before }] });
    expect(await provider.discard(req, handle)).toContain('left alone');
    expect(await provider.discard(req, { cluster: 'prod', service: 'orders' })).toBe('no task definition was registered');
    expect(ecsMock).not.toHaveReceivedCommand(UpdateServiceCommand);
  });
});

describe('cloudformation discard', () => {
  const provider = new CloudFormationProvider({ cloudFormation: () => new CloudFormationClient({ region: 'us-east-1' }) });
  const req = request({
    type: 'cloudformation',
    stackName: 'orders-prod',
    roleArn: 'arn:aws:iam::123456789012:role/orders-cfn-deployer',
  });
  const handle = {
    stackName: 'orders-prod',
    stackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/orders-prod/1',
    changeSetId: 'arn:aws:cloudformation:us-east-1:123456789012:changeSet/launchway-production-x/1',
    changeSetName: 'launchway-production-x',
    changeSetType: 'UPDATE',
    phase: 'CHANGE_SET',
    templateKey: 'artifacts/orders/1.4.0/template.yaml',
    startedAt: '2030-01-01T00:00:00.000Z',
  };

  it('deletes a change set not executed yet', async () => {
    cfnMock.on(DeleteChangeSetCommand).resolves({});
    expect(await provider.discard(req, handle)).toContain('deleted change set');
    expect(cfnMock).toHaveReceivedCommandWith(DeleteChangeSetCommand, { ChangeSetName: handle.changeSetId, StackName: handle.stackId });
  });

  it('leaves an executed change set to the rollback, also when it was executed between the last poll and now', async () => {
    expect(await provider.discard(req, { ...handle, phase: 'EXECUTING' })).toContain('left to the rollback');
    expect(cfnMock).not.toHaveReceivedCommand(DeleteChangeSetCommand);
    cfnMock.on(DeleteChangeSetCommand).rejects(Object.assign(new Error('executed'), { name: 'InvalidChangeSetStatusException' }));
    expect(await provider.discard(req, handle)).toContain('left to the rollback');
  });
});

describe('http discard', () => {
  it('sends nothing to the hook, which has no cancel, and says so', async () => {
    const provider = new HttpHookProvider({ credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const req = request({ type: 'http', deployUrl: 'https://deploy.example.com/hooks/orders', auth: 'none' });
    expect(await provider.discard(req, { deploymentId: 'd-1', version: '1.4.0', startedAt: '2030-01-01T00:00:00.000Z' })).toBe(
      'deployment d-1 is left to the hook, which has no cancel',
    );
  });
});
