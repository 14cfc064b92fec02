import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../../functions/lib/catalog.js';
import { CloudFormationProvider } from '../../functions/lib/deploy/cloudformation.js';
import { EcsServiceProvider } from '../../functions/lib/deploy/ecs-service.js';
import { HttpHookProvider } from '../../functions/lib/deploy/http-hook.js';
import { providerFor } from '../../functions/lib/deploy/index.js';
import { LambdaAliasProvider } from '../../functions/lib/deploy/lambda-alias.js';
import { LocalProcessProvider } from '../../functions/lib/deploy/local-process.js';
import { DeployTargetSchema } from '../../functions/lib/deploy/targets.js';

/** Targets as catalog authors write them: parsed through the whole catalog, so error paths are what they would see. */
const catalogWith = (staging: unknown) => ({
  services: { orders: { approvers: ['lead@example.com'], staging, production: { type: 'local-process' } } },
});
const stagingOf = (staging: unknown) => parseCatalog(catalogWith(staging)).services.orders.staging;
/** The error lines of a catalog that does not parse. */
const problems = (staging: unknown): string[] => {
  try {
    parseCatalog(catalogWith(staging));
  } catch (err) {
    return (err as Error).message
      .split('\n')
      .slice(1)
      .map((l) => l.trim());
  }
  throw new Error('expected the catalog to be rejected');
};
const ROLE = 'arn:aws:iam::123456789012:role/deployer';

describe('deploy target schemas', () => {
  it('names the accepted types when the type is unknown or missing', () => {
    const expected =
      'services.orders.staging.type: expected type "local-process", "lambda-alias", "cloudformation", "ecs-service" or "http"';
    expect(problems({ type: 'kubernetes' })).toEqual([expected]);
    expect(problems({ functionName: 'orders' })).toEqual([expected]);
  });

  describe('lambda-alias', () => {
    it('fills in the alias, health path and an all-at-once switch', () => {
      expect(stagingOf({ type: 'lambda-alias', functionName: 'orders-api' })).toEqual({
        type: 'lambda-alias',
        functionName: 'orders-api',
        alias: 'live',
        healthPath: '/health',
        updateTimeoutSeconds: 600,
        trafficShifting: { type: 'all-at-once', bakeSeconds: 0, alarms: [] },
        functionUrl: false,
      });
    });

    it('accepts a function ARN and fills canary and linear defaults', () => {
      const canary = stagingOf({
        type: 'lambda-alias',
        functionName: 'arn:aws:lambda:eu-west-1:123456789012:function:orders-api',
        trafficShifting: { type: 'canary', alarms: ['orders-5xx'] },
      });
      expect(canary).toMatchObject({
        trafficShifting: { type: 'canary', percent: 10, intervalSeconds: 300, bakeSeconds: 0, alarms: ['orders-5xx'] },
      });
      expect(stagingOf({ type: 'lambda-alias', functionName: 'orders-api', trafficShifting: { type: 'linear' } })).toMatchObject({
        trafficShifting: { type: 'linear', percent: 10, intervalSeconds: 60 },
      });
    });

    it('names each bad field', () => {
      expect(problems({ type: 'lambda-alias' })).toEqual(['services.orders.staging.functionName: required: a Lambda function name or ARN']);
      expect(problems({ type: 'lambda-alias', functionName: 'orders api', alias: '42' })).toEqual([
        'services.orders.staging.functionName: expected a Lambda function name (letters, digits, "-" or "_", up to 64) or a function ARN',
        'services.orders.staging.alias: an alias name cannot be all digits (that is a version number)',
      ]);
      expect(problems({ type: 'lambda-alias', functionName: 'f', trafficShifting: { type: 'blue-green' } })).toEqual([
        'services.orders.staging.trafficShifting.type: expected type "all-at-once", "canary" or "linear"',
      ]);
      expect(problems({ type: 'lambda-alias', functionName: 'f', trafficShifting: { type: 'canary', percent: 100 } })).toEqual([
        'services.orders.staging.trafficShifting.percent: Too big: expected number to be <=99',
      ]);
      expect(problems({ type: 'lambda-alias', functionName: 'f', functionUrl: true, endpointUrl: 'https://orders.example.com' })).toEqual([
        'services.orders.staging.endpointUrl: set either functionUrl or endpointUrl, not both',
      ]);
    });
  });

  describe('cloudformation', () => {
    it('fills parameters, capabilities, the timeout and the health path', () => {
      expect(stagingOf({ type: 'cloudformation', stackName: 'orders-staging', roleArn: ROLE })).toEqual({
        type: 'cloudformation',
        stackName: 'orders-staging',
        roleArn: ROLE,
        parameters: {},
        capabilities: ['CAPABILITY_IAM'],
        timeoutSeconds: 1800,
        healthPath: '/health',
      });
    });

    it('names each bad field', () => {
      expect(problems({ type: 'cloudformation', stackName: 'orders' })).toEqual([
        'services.orders.staging.roleArn: required: an IAM role ARN',
      ]);
      expect(
        problems({ type: 'cloudformation', stackName: '1orders', roleArn: 'deployer', region: 'Europe', capabilities: ['CAPABILITY_ALL'] }),
      ).toEqual([
        'services.orders.staging.stackName: expected a stack name: a letter, then letters, digits or "-", up to 128',
        'services.orders.staging.capabilities.0: Invalid option: expected one of "CAPABILITY_IAM"|"CAPABILITY_NAMED_IAM"|"CAPABILITY_AUTO_EXPAND"',
        'services.orders.staging.roleArn: expected an IAM role ARN (arn:aws:iam::123456789012:role/name)',
        'services.orders.staging.region: expected an AWS region such as eu-west-1',
      ]);
    });
  });

  describe('ecs-service', () => {
    it('fills roles, timeout and the health path; accepts a cluster ARN', () => {
      expect(
        stagingOf({
          type: 'ecs-service',
          cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
          service: 'orders',
          containerName: 'app',
        }),
      ).toEqual({
        type: 'ecs-service',
        cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
        service: 'orders',
        containerName: 'app',
        taskRoleArns: [],
        timeoutSeconds: 1800,
        healthPath: '/health',
      });
    });

    it('names each bad field', () => {
      expect(problems({ type: 'ecs-service', cluster: 'prod', service: 'orders' })).toEqual([
        'services.orders.staging.containerName: required: the name of a container in the task definition',
      ]);
      expect(
        problems({
          type: 'ecs-service',
          cluster: 'prod/x',
          service: 'orders',
          containerName: 'app',
          taskRoleArns: ['task-role'],
          endpointUrl: 'orders',
        }),
      ).toEqual([
        'services.orders.staging.cluster: expected a cluster name or cluster ARN',
        'services.orders.staging.taskRoleArns.0: expected an IAM role ARN (arn:aws:iam::123456789012:role/name)',
        'services.orders.staging.endpointUrl: expected an http(s) URL',
      ]);
    });
  });

  describe('http', () => {
    it('signs with SigV4 for execute-api by default', () => {
      expect(stagingOf({ type: 'http', deployUrl: 'https://hooks.example.com/deploy' })).toEqual({
        type: 'http',
        deployUrl: 'https://hooks.example.com/deploy',
        auth: 'sigv4',
        signingService: 'execute-api',
        timeoutSeconds: 900,
        pollSeconds: 5,
        healthPath: '/health',
      });
      expect(
        stagingOf({
          type: 'http',
          deployUrl: 'http://127.0.0.1:8080/deploy',
          statusUrl: 'http://127.0.0.1:8080/status/{deploymentId}',
          auth: 'none',
        }),
      ).toMatchObject({
        auth: 'none',
      });
    });

    it('names each bad field', () => {
      expect(problems({ type: 'http' })).toEqual(['services.orders.staging.deployUrl: required: the deploy hook URL']);
      expect(
        problems({
          type: 'http',
          deployUrl: 'http://hooks.example.com/deploy',
          statusUrl: 'https://hooks.example.com/status',
          auth: 'hmac',
        }),
      ).toEqual([
        'services.orders.staging.deployUrl: expected an https URL (http only on 127.0.0.1 or localhost)',
        'services.orders.staging.statusUrl: expected a URL template containing {deploymentId}',
        'services.orders.staging.auth: Invalid option: expected one of "sigv4"|"none"',
      ]);
    });
  });

  it('gives local-process the defaults a Node service expects', () => {
    expect(DeployTargetSchema.parse({ type: 'local-process' })).toEqual({
      type: 'local-process',
      healthPath: '/health',
      startTimeoutSeconds: 30,
      env: {},
      portEnv: 'PORT',
      hostEnv: 'HOST',
      secretEnv: {},
      drainSeconds: 5,
    });
  });

  it('refuses local-process variables Launchway sets itself, on the field that names them', () => {
    expect(
      problems({
        type: 'local-process',
        portEnv: 'APP_PORT',
        env: { SERVICE_VERSION: '1', APP_PORT: '80', HOST: '0.0.0.0', LOG_LEVEL: 'info' },
        secretEnv: { SERVICE_VERSION: 'notes/v', APP_PORT: 'notes/p', DB_PASSWORD: 'notes/db' },
      }),
    ).toEqual([
      "services.orders.staging.env.SERVICE_VERSION: SERVICE_VERSION is set by Launchway (the release's version); it would be overwritten",
      'services.orders.staging.env.APP_PORT: APP_PORT is set by Launchway (the port, portEnv); it would be overwritten',
      'services.orders.staging.env.HOST: HOST is set by Launchway (the listen address, hostEnv); it would be overwritten',
      "services.orders.staging.secretEnv.SERVICE_VERSION: SERVICE_VERSION is set by Launchway (the release's version); it would be overwritten",
      'services.orders.staging.secretEnv.APP_PORT: APP_PORT is set by Launchway (the port, portEnv); it would be overwritten',
    ]);
    expect(problems({ type: 'local-process', portEnv: 'SERVICE_VERSION', hostEnv: 'SERVICE_VERSION' })).toEqual([
      'services.orders.staging.hostEnv: portEnv and hostEnv must name different variables',
      "services.orders.staging.portEnv: SERVICE_VERSION is set by Launchway to the release's version; name another variable",
      "services.orders.staging.hostEnv: SERVICE_VERSION is set by Launchway to the release's version; name another variable",
    ]);
    expect(problems({ type: 'local-process', env: { DB: 'x' }, secretEnv: { DB: 'notes/db' } })).toEqual([
      'services.orders.staging.secretEnv.DB: DB is in env too; a variable is either plain or secret',
    ]);
  });

  it('picks one provider per target type and reuses it', () => {
    const targets = [
      { type: 'local-process' },
      { type: 'lambda-alias', functionName: 'f' },
      { type: 'cloudformation', stackName: 's', roleArn: ROLE },
      { type: 'ecs-service', cluster: 'c', service: 's', containerName: 'app' },
      { type: 'http', deployUrl: 'https://hooks.example.com/deploy' },
    ].map((t) => DeployTargetSchema.parse(t));
    const classes = [LocalProcessProvider, LambdaAliasProvider, CloudFormationProvider, EcsServiceProvider, HttpHookProvider];
    targets.forEach((target, i) => {
      const provider = providerFor(target);
      expect(provider).toBeInstanceOf(classes[i]);
      expect(provider.type).toBe(target.type);
      expect(providerFor(target)).toBe(provider);
    });
  });
});
