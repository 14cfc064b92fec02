import 'aws-sdk-client-mock-vitest/extend';
import {
  APIGatewayClient,
  CreateDeploymentCommand,
  GetBasePathMappingCommand,
  GetRestApisCommand,
  GetStageCommand,
  NotFoundException,
  PutRestApiCommand,
} from '@aws-sdk/client-api-gateway';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InteropSchema } from '../../functions/lib/catalog.js';
import { apiGatewayClient, resetClients } from '../../functions/lib/clients.js';
import { resetConfig } from '../../functions/lib/config.js';
import { ApiGatewayProvisioner } from '../../functions/lib/interop/api-gateway-provisioner.js';
import { provisionerFromConfig } from '../../functions/lib/interop/index.js';
import { LocalGatewayProvisioner } from '../../functions/lib/interop/local-gateway-provisioner.js';

const VARS = [
  'RELEASES_TABLE',
  'ARTIFACTS_BUCKET',
  'INTEROP_PROVIDER',
  'INTEROP_DOMAIN_NAME',
  'LOCAL_GATEWAY_ADMIN_URL',
  'AWS_REGION',
] as const;
const saved = Object.fromEntries(VARS.map((k) => [k, process.env[k]]));

function setEnv(vars: Partial<Record<(typeof VARS)[number], string>>): void {
  for (const k of VARS) delete process.env[k];
  Object.assign(process.env, { RELEASES_TABLE: 'releases', ARTIFACTS_BUCKET: 'artifacts', AWS_REGION: 'ap-southeast-2', ...vars });
  resetConfig();
  resetClients();
}

// Every client of this class, including the one clients.ts creates for provisionerFromConfig.
const gw = mockClient(APIGatewayClient);

beforeEach(() => {
  gw.on(GetRestApisCommand).resolves({ items: [{ id: 'api-9', name: 'launchway-greeter', tags: { 'launchway:service': 'greeter' } }] });
  gw.on(PutRestApiCommand).resolves({});
  gw.on(GetStageCommand).rejects(new NotFoundException({ message: 'Invalid stage identifier specified', $metadata: {} }));
  gw.on(CreateDeploymentCommand).resolves({ id: 'dep-1' });
  gw.on(GetBasePathMappingCommand).resolves({ basePath: 'greeter', restApiId: 'api-9', stage: 'v1' });
});
afterEach(() => {
  gw.reset();
  for (const k of VARS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  resetConfig();
  resetClients();
});
afterAll(() => gw.restore());

const publish = () =>
  provisionerFromConfig().provision({
    service: 'greeter',
    releaseId: 'greeter-1.0.0-abc',
    version: '1.0.0',
    spec: {
      openapi: '3.0.3',
      info: { title: 'G', version: '1' },
      paths: { '/health': { get: { responses: { '200': { description: 'ok' } } } } },
    },
    targetUrl: 'https://greeter.example.com',
    config: InteropSchema.parse({}),
  });

describe('provisionerFromConfig', () => {
  it('publishes on API Gateway when nothing points at a local gateway, through the shared client and its region', async () => {
    setEnv({});
    const provisioner = provisionerFromConfig();
    expect(provisioner).toBeInstanceOf(ApiGatewayProvisioner);
    expect((await publish()).baseUrl).toBe('https://api-9.execute-api.ap-southeast-2.amazonaws.com/v1');
    expect(gw.call(0).thisValue).toBe(apiGatewayClient());
  });

  it('uses the local gateway when LOCAL_GATEWAY_ADMIN_URL is set', () => {
    setEnv({ LOCAL_GATEWAY_ADMIN_URL: 'http://127.0.0.1:4010/_admin' });
    expect(provisionerFromConfig()).toBeInstanceOf(LocalGatewayProvisioner);
  });

  it('lets INTEROP_PROVIDER decide when both could apply', () => {
    setEnv({ LOCAL_GATEWAY_ADMIN_URL: 'http://127.0.0.1:4010/_admin', INTEROP_PROVIDER: 'api-gateway' });
    expect(provisionerFromConfig()).toBeInstanceOf(ApiGatewayProvisioner);
    setEnv({ LOCAL_GATEWAY_ADMIN_URL: 'http://127.0.0.1:4010/_admin', INTEROP_PROVIDER: 'local-gateway' });
    expect(provisionerFromConfig()).toBeInstanceOf(LocalGatewayProvisioner);
  });

  it('passes INTEROP_DOMAIN_NAME on, so partners get the custom domain URL', async () => {
    setEnv({ INTEROP_PROVIDER: 'api-gateway', INTEROP_DOMAIN_NAME: 'partners.example.com' });
    expect((await publish()).baseUrl).toBe('https://partners.example.com/greeter');
    expect(gw).toReceiveCommandWith(GetBasePathMappingCommand, { domainName: 'partners.example.com', basePath: 'greeter' });
  });

  it('says what is missing when the local gateway is asked for without its URL', () => {
    setEnv({ INTEROP_PROVIDER: 'local-gateway' });
    expect(() => provisionerFromConfig()).toThrow('INTEROP_PROVIDER is local-gateway but LOCAL_GATEWAY_ADMIN_URL is not set');
  });

  it('names a bad INTEROP_PROVIDER or INTEROP_DOMAIN_NAME', () => {
    setEnv({ INTEROP_PROVIDER: 'apigw' });
    expect(() => provisionerFromConfig()).toThrow(/INTEROP_PROVIDER: Invalid option: expected one of "local-gateway"\|"api-gateway"/);
    setEnv({ INTEROP_DOMAIN_NAME: 'https://partners.example.com/' });
    expect(() => provisionerFromConfig()).toThrow(
      'INTEROP_DOMAIN_NAME: expected a domain name such as api.example.com, without scheme or path',
    );
  });
});
