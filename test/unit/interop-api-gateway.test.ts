import 'aws-sdk-client-mock-vitest/extend';
import {
  APIGatewayClient,
  BadRequestException,
  ConflictException,
  CreateApiKeyCommand,
  CreateBasePathMappingCommand,
  CreateDeploymentCommand,
  CreateRestApiCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteBasePathMappingCommand,
  DeleteRestApiCommand,
  DeleteStageCommand,
  GetApiKeyCommand,
  GetApiKeysCommand,
  GetBasePathMappingCommand,
  GetDeploymentCommand,
  GetDeploymentsCommand,
  GetRestApisCommand,
  GetStageCommand,
  GetUsagePlansCommand,
  NotFoundException,
  PutRestApiCommand,
  TooManyRequestsException,
  UpdateStageCommand,
  UpdateUsagePlanCommand,
} from '@aws-sdk/client-api-gateway';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InteropSchema } from '../../functions/lib/catalog.js';
import { InteropProvisioningFailedError, NotFoundError, RollbackFailedError } from '../../functions/lib/errors.js';
import {
  ApiGatewayProvisioner,
  DEFAULT_THROTTLE,
  type ApiGatewayProvisionerOptions,
} from '../../functions/lib/interop/api-gateway-provisioner.js';
import type { InteropRequest } from '../../functions/lib/interop/interop-provisioner.js';
import { toApiGatewayOpenApi } from '../../functions/lib/interop/openapi-to-apigateway.js';

const REGION = 'eu-west-1';
const API = 'a1b2c3d4e5';
const TARGET = 'https://greeter.prod.example.com';
const TAGS = { 'launchway:service': 'greeter' };

const spec = {
  openapi: '3.0.3',
  info: { title: 'Greeter', version: '1.0.0' },
  paths: {
    '/health': { get: { responses: { '200': { description: 'ready' } } } },
    '/greetings/{name}': {
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
      get: { responses: { '200': { description: 'a greeting' } } },
      post: { responses: { '201': { description: 'stored' } } },
    },
  },
};

function request(over: Partial<InteropRequest> = {}, interop: Record<string, unknown> = {}): InteropRequest {
  return {
    service: 'greeter',
    releaseId: 'greeter-1.1.0-def',
    version: '1.1.0',
    spec,
    targetUrl: TARGET,
    config: InteropSchema.parse({ apiKeyRequired: true, apiKeys: ['acme'], ...interop }),
    ...over,
  };
}

const client = new APIGatewayClient({ region: REGION });
const gw = mockClient(client);
const provisioner = (options: ApiGatewayProvisionerOptions = {}) => new ApiGatewayProvisioner(client, options);

const notFound = (message = 'Invalid stage identifier specified') => new NotFoundException({ message, $metadata: {} });
const names = () => gw.calls().map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, ''));
const inputOf = <T>(cmd: new (input: T) => unknown, i = 0) => gw.commandCalls(cmd as never)[i].args[0].input as T;
const bodyOf = () => JSON.parse(new TextDecoder().decode(inputOf(PutRestApiCommand).body as Uint8Array)) as Record<string, unknown>;

/** The account as it is after greeter's first release: API, keys, plan, stage v1 on dep-1. */
function existingService(
  live: { deploymentId: string; description: string } = { deploymentId: 'dep-1', description: 'launchway release greeter-1.0.0-abc on v1' },
) {
  gw.on(GetRestApisCommand).resolves({ items: [{ id: API, name: 'launchway-greeter', tags: TAGS }] });
  gw.on(GetApiKeysCommand, { nameQuery: 'launchway-greeter-acme' }).resolves({
    items: [{ id: 'key-acme', name: 'launchway-greeter-acme' }],
  });
  gw.on(GetApiKeysCommand, { nameQuery: 'launchway-greeter-validation' }).resolves({
    items: [{ id: 'key-val', name: 'launchway-greeter-validation' }],
  });
  gw.on(PutRestApiCommand).resolves({ id: API });
  gw.on(GetStageCommand).resolves({ stageName: 'v1', deploymentId: live.deploymentId });
  gw.on(GetDeploymentCommand, { deploymentId: live.deploymentId }).resolves({ id: live.deploymentId, description: live.description });
  gw.on(CreateDeploymentCommand).resolves({ id: 'dep-2' });
  gw.on(GetUsagePlansCommand).resolves({ items: [{ id: 'plan-1', name: 'launchway-greeter', apiStages: [{ apiId: API, stage: 'v1' }] }] });
  gw.on(CreateUsagePlanKeyCommand).rejects(new ConflictException({ message: 'Usage Plan Key already exists', $metadata: {} }));
}

/** An account where greeter has never been published. */
function emptyAccount() {
  gw.on(GetRestApisCommand).resolves({ items: [{ id: 'other', name: 'launchway-billing', tags: { 'launchway:service': 'billing' } }] });
  gw.on(CreateRestApiCommand).resolves({ id: API, name: 'launchway-greeter' });
  gw.on(GetApiKeysCommand).resolves({ items: [] });
  gw.on(CreateApiKeyCommand).callsFake((input: { name: string }) => ({ id: `id-${input.name}`, name: input.name }));
  gw.on(PutRestApiCommand).resolves({ id: API });
  gw.on(GetStageCommand).rejects(notFound());
  gw.on(CreateDeploymentCommand).resolves({ id: 'dep-1' });
  gw.on(GetUsagePlansCommand).resolves({ items: [] });
  gw.on(CreateUsagePlanCommand).resolves({ id: 'plan-1' });
  gw.on(CreateUsagePlanKeyCommand).resolves({ id: 'x', type: 'API_KEY' });
}

afterEach(() => gw.reset());

describe('ApiGatewayProvisioner.provision: first release', () => {
  beforeEach(emptyAccount);

  it('creates the API, keys, deployment, stage and usage plan, and reports no previous deployment', async () => {
    const out = await provisioner().provision(request({ releaseId: 'greeter-1.0.0-abc', version: '1.0.0' }));
    expect(out).toEqual({
      deploymentId: 'dep-1',
      baseUrl: `https://${API}.execute-api.${REGION}.amazonaws.com/v1`,
      routeCount: 3,
      validationKeyId: 'id-launchway-greeter-validation',
    });
    expect(out).not.toHaveProperty('previousDeploymentId');

    expect(gw).toReceiveCommandExactlyOnceWith(CreateRestApiCommand, {
      name: 'launchway-greeter',
      description: 'Partner-facing API of greeter, published by Launchway',
      endpointConfiguration: { types: ['REGIONAL'] },
      tags: TAGS,
    });
    expect(gw).toReceiveCommandTimes(CreateApiKeyCommand, 2);
    for (const name of ['launchway-greeter-acme', 'launchway-greeter-validation']) {
      expect(gw).toReceiveCommandWith(GetApiKeysCommand, { nameQuery: name, includeValues: false });
      expect(gw).toReceiveCommandWith(CreateApiKeyCommand, {
        name,
        enabled: true,
        description: 'Launchway interop key for greeter',
        tags: TAGS,
      });
    }
    expect(gw).toReceiveCommandExactlyOnceWith(GetStageCommand, { restApiId: API, stageName: 'v1' });
    expect(inputOf(CreateDeploymentCommand)).toEqual({
      restApiId: API,
      stageName: 'v1',
      description: 'launchway release greeter-1.0.0-abc on v1',
    });
    expect(inputOf(CreateUsagePlanCommand)).toEqual({
      name: 'launchway-greeter',
      description: 'Partner keys of greeter, managed by Launchway',
      apiStages: [{ apiId: API, stage: 'v1' }],
      throttle: DEFAULT_THROTTLE,
      tags: TAGS,
    });
    expect(gw).toReceiveCommandTimes(CreateUsagePlanKeyCommand, 2);
    expect(gw).toReceiveCommandWith(CreateUsagePlanKeyCommand, {
      usagePlanId: 'plan-1',
      keyId: 'id-launchway-greeter-acme',
      keyType: 'API_KEY',
    });
    expect(gw).toReceiveCommandWith(CreateUsagePlanKeyCommand, {
      usagePlanId: 'plan-1',
      keyId: 'id-launchway-greeter-validation',
      keyType: 'API_KEY',
    });
    expect(gw).not.toReceiveCommand(GetDeploymentCommand);
  });

  it('imports the transformed contract with PutRestApi, mode overwrite and failOnWarnings', async () => {
    await provisioner().provision(request({ releaseId: 'greeter-1.0.0-abc' }));
    const input = inputOf(PutRestApiCommand);
    expect(input.restApiId).toBe(API);
    expect(input.mode).toBe('overwrite');
    expect(input.failOnWarnings).toBe(true);
    // The catalog's interop.basePath (prepend by default) says what the document's base path becomes.
    expect(input.parameters).toEqual({ basepath: 'prepend' });
    const body = bodyOf();
    expect(body).toEqual(toApiGatewayOpenApi(spec, { apiName: 'launchway-greeter', targetUrl: TARGET, apiKeyRequired: true }).document);
    // Spot checks on the parsed body, independent of the transformation's own tests.
    expect(body.openapi).toBe('3.0.1');
    expect(body['x-amazon-apigateway-api-key-source']).toBe('HEADER');
    const post = (body.paths as Record<string, Record<string, Record<string, unknown>>>)['/greetings/{name}'].post;
    expect(post.security).toEqual([{ api_key: [] }]);
    expect(post['x-amazon-apigateway-integration']).toMatchObject({
      type: 'http_proxy',
      httpMethod: 'POST',
      uri: `${TARGET}/greetings/{name}`,
      requestParameters: { 'integration.request.path.name': 'method.request.path.name' },
    });
  });

  it('makes keys before the import and the deployment, and binds the plan only once the stage exists', async () => {
    await provisioner().provision(request({ releaseId: 'greeter-1.0.0-abc' }));
    expect(names()).toEqual([
      'GetRestApis',
      'CreateRestApi',
      'GetApiKeys',
      'CreateApiKey',
      'GetApiKeys',
      'CreateApiKey',
      'PutRestApi',
      'GetStage',
      'CreateDeployment',
      'GetUsagePlans',
      'CreateUsagePlan',
      'CreateUsagePlanKey',
      'CreateUsagePlanKey',
    ]);
  });

  it('makes no key and no usage plan when the catalog asks for none', async () => {
    const out = await provisioner().provision(request({ releaseId: 'greeter-1.0.0-abc' }, { apiKeyRequired: false, apiKeys: [] }));
    expect(out).not.toHaveProperty('validationKeyId');
    expect(gw).not.toReceiveCommand(GetApiKeysCommand);
    expect(gw).not.toReceiveCommand(GetUsagePlansCommand);
    expect(gw).not.toReceiveCommand(CreateUsagePlanKeyCommand);
    expect(bodyOf()).not.toHaveProperty('components');
  });

  it('links partner keys but makes no validation key when keys exist but are not required', async () => {
    const out = await provisioner().provision(request({ releaseId: 'greeter-1.0.0-abc' }, { apiKeyRequired: false, apiKeys: ['acme'] }));
    expect(out).not.toHaveProperty('validationKeyId');
    expect(gw).toReceiveCommandExactlyOnceWith(CreateApiKeyCommand, { name: 'launchway-greeter-acme' });
    expect(gw).toReceiveCommandExactlyOnceWith(CreateUsagePlanKeyCommand, { keyId: 'id-launchway-greeter-acme' });
  });

  it('uses the custom domain for the base URL and maps <domain>/<service> to the stage', async () => {
    gw.on(GetBasePathMappingCommand).rejects(notFound('Invalid base path mapping identifier specified'));
    const out = await provisioner({ domainName: 'partners.example.com' }).provision(request({ releaseId: 'greeter-1.0.0-abc' }));
    expect(out.baseUrl).toBe('https://partners.example.com/greeter');
    expect(gw).toReceiveCommandExactlyOnceWith(GetBasePathMappingCommand, { domainName: 'partners.example.com', basePath: 'greeter' });
    expect(inputOf(CreateBasePathMappingCommand)).toEqual({
      domainName: 'partners.example.com',
      basePath: 'greeter',
      restApiId: API,
      stage: 'v1',
    });
  });

  it('removes the new stage again when the usage plan cannot be made', async () => {
    gw.on(CreateUsagePlanCommand).rejects(new BadRequestException({ message: 'Invalid stage identifier specified', $metadata: {} }));
    const err = await provisioner()
      .provision(request({ releaseId: 'greeter-1.0.0-abc' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InteropProvisioningFailedError);
    expect((err as Error).message).toBe(
      'could not finish publishing greeter: CreateUsagePlan failed (BadRequestException): Invalid stage identifier specified; the new stage v1 was removed',
    );
    expect(gw).toReceiveCommandExactlyOnceWith(DeleteStageCommand, { restApiId: API, stageName: 'v1' });
  });
});

describe('ApiGatewayProvisioner.provision: base path and CORS from the catalog', () => {
  beforeEach(emptyAccount);
  const underApi = { ...spec, servers: [{ url: 'https://greeter.example.com/api/v1' }] };

  for (const [mode, prefix] of [
    ['prepend', '/api/v1'],
    ['ignore', ''],
    ['split', '/v1'],
  ] as const) {
    it(`imports with basepath=${mode} and proxies to the target under "${prefix}"`, async () => {
      await provisioner().provision(request({ spec: underApi }, { basePath: mode }));
      expect(inputOf(PutRestApiCommand).parameters).toEqual({ basepath: mode });
      const body = bodyOf();
      expect(body.servers).toEqual([{ url: '/{basePath}', variables: { basePath: { default: 'api/v1' } } }]);
      const get = (body.paths as Record<string, Record<string, Record<string, { uri: string }>>>)['/greetings/{name}'].get;
      expect(get['x-amazon-apigateway-integration'].uri).toBe(`${TARGET}${prefix}/greetings/{name}`);
    });
  }

  it('publishes the preflight and the gateway responses of interop.cors', async () => {
    await provisioner().provision(request({}, { cors: { allowOrigins: ['https://app.example.com'] } }));
    const body = bodyOf();
    const options = (body.paths as Record<string, Record<string, Record<string, unknown>>>)['/greetings/{name}'].options;
    expect(options.security).toBeUndefined();
    expect(options['x-amazon-apigateway-integration']).toMatchObject({
      type: 'mock',
      responses: {
        default: {
          statusCode: '204',
          responseParameters: {
            'method.response.header.Access-Control-Allow-Methods': "'GET,POST,OPTIONS'",
            'method.response.header.Access-Control-Allow-Headers': "'content-type,authorization,x-api-key'",
            'method.response.header.Access-Control-Max-Age': "'600'",
          },
        },
      },
    });
    expect(body['x-amazon-apigateway-gateway-responses']).toMatchObject({
      DEFAULT_4XX: { responseParameters: { 'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example.com'" } },
    });
  });
});

describe('ApiGatewayProvisioner.provision: later releases', () => {
  beforeEach(() => existingService());

  it('reuses the API, keys and plan, and records the live deployment as previous', async () => {
    const out = await provisioner().provision(request());
    expect(out).toEqual({
      deploymentId: 'dep-2',
      baseUrl: `https://${API}.execute-api.${REGION}.amazonaws.com/v1`,
      previousDeploymentId: 'dep-1',
      routeCount: 3,
      validationKeyId: 'key-val',
    });
    expect(inputOf(CreateDeploymentCommand)).toEqual({
      restApiId: API,
      stageName: 'v1',
      description: 'launchway release greeter-1.1.0-def on v1 (previous dep-1)',
    });
    expect(gw).toReceiveCommandExactlyOnceWith(GetDeploymentCommand, { restApiId: API, deploymentId: 'dep-1' });
    expect(gw).not.toReceiveCommand(CreateRestApiCommand);
    expect(gw).not.toReceiveCommand(CreateApiKeyCommand);
    expect(gw).not.toReceiveCommand(CreateUsagePlanCommand);
    expect(gw).not.toReceiveCommand(UpdateUsagePlanCommand);
    expect(gw).not.toReceiveCommand(UpdateStageCommand);
    expect(gw).not.toReceiveCommand(DeleteStageCommand);
    // Both keys were already in the plan (ConflictException): that is success.
    expect(gw).toReceiveCommandTimes(CreateUsagePlanKeyCommand, 2);
  });

  it('keeps the original previous deployment when the same release is provisioned again', async () => {
    gw.reset();
    existingService({ deploymentId: 'dep-2', description: 'launchway release greeter-1.1.0-def on v1 (previous dep-1)' });
    gw.on(CreateDeploymentCommand).resolves({ id: 'dep-3' });
    const out = await provisioner().provision(request());
    expect(out.deploymentId).toBe('dep-3');
    expect(out.previousDeploymentId).toBe('dep-1');
    expect(inputOf(CreateDeploymentCommand).description).toBe('launchway release greeter-1.1.0-def on v1 (previous dep-1)');
  });

  it('keeps "no previous deployment" when the first release is provisioned again', async () => {
    gw.reset();
    existingService({ deploymentId: 'dep-1', description: 'launchway release greeter-1.1.0-def on v1' });
    const out = await provisioner().provision(request());
    expect(out).not.toHaveProperty('previousDeploymentId');
    expect(inputOf(CreateDeploymentCommand).description).toBe('launchway release greeter-1.1.0-def on v1');
  });

  it('treats a deployment Launchway did not describe as the previous one', async () => {
    gw.reset();
    existingService({ deploymentId: 'manual-7', description: 'hotfix by ops' });
    expect((await provisioner().provision(request())).previousDeploymentId).toBe('manual-7');
  });

  it('finds the API and exact key names across pages; nameQuery prefix matches are not the key', async () => {
    gw.on(GetRestApisCommand)
      .resolvesOnce({ items: [{ id: 'other', name: 'launchway-greeter-old' }], position: 'p2' })
      .resolvesOnce({ items: [{ id: API, name: 'launchway-greeter', tags: TAGS }] });
    gw.on(GetApiKeysCommand, { nameQuery: 'launchway-greeter-acme' })
      .resolvesOnce({ items: [{ id: 'key-acme-2', name: 'launchway-greeter-acme-2' }], position: 'k2' })
      .resolvesOnce({ items: [{ id: 'key-acme', name: 'launchway-greeter-acme' }] });
    await provisioner().provision(request());
    expect(gw).toReceiveCommandWith(GetRestApisCommand, { limit: 500, position: 'p2' });
    expect(gw).toReceiveCommandWith(GetApiKeysCommand, { nameQuery: 'launchway-greeter-acme', position: 'k2' });
    expect(gw).toReceiveCommandExactlyOnceWith(PutRestApiCommand, { restApiId: API });
    expect(gw).toReceiveCommandWith(CreateUsagePlanKeyCommand, { keyId: 'key-acme' });
    expect(gw).not.toReceiveCommand(CreateApiKeyCommand);
  });

  it('adds the stage to an existing usage plan that lacks it', async () => {
    gw.on(GetUsagePlansCommand).resolves({
      items: [{ id: 'plan-1', name: 'launchway-greeter', apiStages: [{ apiId: 'old-api', stage: 'v1' }] }],
    });
    await provisioner().provision(request());
    expect(inputOf(UpdateUsagePlanCommand)).toEqual({
      usagePlanId: 'plan-1',
      patchOperations: [{ op: 'add', path: '/apiStages', value: `${API}:v1` }],
    });
    expect(gw).not.toReceiveCommand(CreateUsagePlanCommand);
  });

  it('puts the stage back on the live deployment when a key cannot be linked', async () => {
    gw.on(CreateUsagePlanKeyCommand).rejects(new TooManyRequestsException({ message: 'Too Many Requests', $metadata: {} }));
    const err = await provisioner()
      .provision(request())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InteropProvisioningFailedError);
    expect((err as Error).message).toMatch(
      /CreateUsagePlanKey failed \(TooManyRequestsException\): Too Many Requests; the stage v1 serves dep-1 again$/,
    );
    expect(inputOf(UpdateStageCommand)).toEqual({
      restApiId: API,
      stageName: 'v1',
      patchOperations: [{ op: 'replace', path: '/deploymentId', value: 'dep-1' }],
    });
  });

  it('refuses to repoint a custom domain mapping that serves another API, and restores the stage', async () => {
    gw.on(GetBasePathMappingCommand).resolves({ basePath: 'greeter', restApiId: 'someone-else', stage: 'prod' });
    const err = await provisioner({ domainName: 'partners.example.com' })
      .provision(request())
      .catch((e: unknown) => e);
    expect((err as Error).message).toContain(
      `https://partners.example.com/greeter is mapped to API someone-else stage prod, not ${API} stage v1; an operator must fix or delete that base path mapping`,
    );
    expect(gw).not.toReceiveCommand(CreateBasePathMappingCommand);
    expect(gw).toReceiveCommandExactlyOnceWith(UpdateStageCommand, {
      patchOperations: [{ op: 'replace', path: '/deploymentId', value: 'dep-1' }],
    });
  });

  it('leaves an existing mapping to the same API and stage alone', async () => {
    gw.on(GetBasePathMappingCommand).resolves({ basePath: 'greeter', restApiId: API, stage: 'v1' });
    expect((await provisioner({ domainName: 'partners.example.com' }).provision(request())).baseUrl).toBe(
      'https://partners.example.com/greeter',
    );
    expect(gw).not.toReceiveCommand(CreateBasePathMappingCommand);
  });
});

describe('ApiGatewayProvisioner.provision: failures', () => {
  beforeEach(() => existingService());

  it('names what API Gateway said when it rejects the contract, and deploys nothing', async () => {
    gw.on(PutRestApiCommand).rejects(
      new BadRequestException({
        message: "Errors found during import:\n\tUnable to put integration on 'GET' for resource at path '/x'",
        $metadata: {},
      }),
    );
    const err = await provisioner()
      .provision(request())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InteropProvisioningFailedError);
    expect((err as Error).message).toBe(
      "API Gateway rejected the contract of greeter (PutRestApi): Errors found during import:\n\tUnable to put integration on 'GET' for resource at path '/x'",
    );
    expect(gw).not.toReceiveCommand(CreateDeploymentCommand);
  });

  it('rejects a contract API Gateway cannot import before calling AWS', async () => {
    const bad = { ...spec, paths: { '/files/{name}.json': { get: { responses: { '200': { description: 'ok' } } } } } };
    const err = await provisioner()
      .provision(request({ spec: bad }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InteropProvisioningFailedError);
    expect((err as Error).message).toContain(
      'spec.paths./files/{name}.json: "/files/{name}.json": segment "{name}.json" mixes text and a parameter',
    );
    expect(gw.calls()).toHaveLength(0);
  });

  it('rejects an invalid OpenAPI document before calling AWS', async () => {
    const err = await provisioner()
      .provision(request({ spec: { openapi: '3.0.3', info: { title: 't', version: '1' }, paths: { '/x': { get: {} } } } }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InteropProvisioningFailedError);
    expect((err as Error).message).toMatch(/^spec is not a valid OpenAPI contract: .*paths\.\/x\.get\.responses is required/);
    expect(gw.calls()).toHaveLength(0);
  });

  it('refuses interop disabled in the catalog', async () => {
    await expect(provisioner().provision(request({}, { enabled: false }))).rejects.toThrow(InteropProvisioningFailedError);
    expect(gw.calls()).toHaveLength(0);
  });

  it('will not overwrite an API with the name but without the Launchway tag', async () => {
    gw.on(GetRestApisCommand).resolves({ items: [{ id: 'handmade', name: 'launchway-greeter', tags: {} }] });
    await expect(provisioner().provision(request())).rejects.toThrow(
      'a REST API named launchway-greeter (handmade) exists without the tag launchway:service=greeter; Launchway does not overwrite an API it did not create',
    );
    expect(gw).not.toReceiveCommand(PutRestApiCommand);
    expect(gw).not.toReceiveCommand(CreateRestApiCommand);
  });

  it('wraps any other API Gateway failure with the operation and the error', async () => {
    gw.on(GetRestApisCommand).rejects(new TooManyRequestsException({ message: 'Too Many Requests', $metadata: {} }));
    const err = await provisioner()
      .provision(request())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InteropProvisioningFailedError);
    expect((err as Error).message).toBe(
      'could not publish greeter on API Gateway: GetRestApis failed (TooManyRequestsException): Too Many Requests',
    );
    expect((err as Error).cause).toBeInstanceOf(Error);
  });
});

describe('ApiGatewayProvisioner.rollback', () => {
  const deployments = [
    { id: 'dep-1', description: 'launchway release greeter-1.0.0-abc on v1', createdDate: new Date('2026-01-01T10:00:00Z') },
    {
      id: 'dep-2',
      description: 'launchway release greeter-1.1.0-def on v1 (previous dep-1)',
      createdDate: new Date('2026-01-02T10:00:00Z'),
    },
    { id: 'console', description: 'made in the console', createdDate: new Date('2026-01-03T10:00:00Z') },
  ];
  beforeEach(() => {
    gw.on(GetRestApisCommand).resolves({ items: [{ id: API, name: 'launchway-greeter', tags: TAGS }] });
    gw.on(GetDeploymentsCommand)
      .resolvesOnce({ items: deployments.slice(0, 1), position: 'd2' })
      .resolves({ items: deployments.slice(1) });
  });

  it('points the stage of the newest Launchway deployment back at the previous deployment', async () => {
    await provisioner().rollback('greeter', 'dep-1');
    expect(gw).toReceiveCommandWith(GetDeploymentsCommand, { restApiId: API, position: 'd2' });
    expect(inputOf(UpdateStageCommand)).toEqual({
      restApiId: API,
      stageName: 'v1',
      patchOperations: [{ op: 'replace', path: '/deploymentId', value: 'dep-1' }],
    });
    expect(gw).not.toReceiveCommand(DeleteStageCommand);
  });

  it('reads the stage from the deployment note, whatever the catalog stage was', async () => {
    gw.on(GetDeploymentsCommand).resolves({
      items: [{ id: 'dep-9', description: 'launchway release greeter-2.0.0-x on partners_v2 (previous dep-8)', createdDate: new Date() }],
    });
    await provisioner().rollback('greeter', 'dep-8');
    expect(gw).toReceiveCommandExactlyOnceWith(UpdateStageCommand, {
      stageName: 'partners_v2',
      patchOperations: [{ op: 'replace', path: '/deploymentId', value: 'dep-8' }],
    });
  });

  it('deletes the stage when there was no previous deployment, and keeps the API and its keys', async () => {
    gw.on(GetDeploymentsCommand).resolves({ items: deployments.slice(0, 1) });
    gw.on(GetStageCommand).resolves({ stageName: 'v1', deploymentId: 'dep-1' });
    await provisioner().rollback('greeter', undefined);
    expect(gw).toReceiveCommandExactlyOnceWith(GetStageCommand, { restApiId: API, stageName: 'v1' });
    expect(inputOf(DeleteStageCommand)).toEqual({ restApiId: API, stageName: 'v1' });
    expect(gw).not.toReceiveCommand(DeleteRestApiCommand);
    expect(gw).not.toReceiveCommand(DeleteApiKeyCommand);
    expect(gw).not.toReceiveCommand(UpdateStageCommand);
  });

  it('removes the custom domain mapping of a deleted stage first', async () => {
    gw.on(GetDeploymentsCommand).resolves({ items: deployments.slice(0, 1) });
    gw.on(GetStageCommand).resolves({ stageName: 'v1', deploymentId: 'dep-1' });
    gw.on(GetBasePathMappingCommand).resolves({ basePath: 'greeter', restApiId: API, stage: 'v1' });
    await provisioner({ domainName: 'partners.example.com' }).rollback('greeter', undefined);
    expect(gw).toReceiveCommandExactlyOnceWith(DeleteBasePathMappingCommand, { domainName: 'partners.example.com', basePath: 'greeter' });
    expect(names().slice(-2)).toEqual(['DeleteBasePathMapping', 'DeleteStage']);
  });

  it('is done when an earlier attempt already deleted the stage', async () => {
    gw.on(GetDeploymentsCommand).resolves({ items: deployments.slice(0, 1) });
    gw.on(GetStageCommand).rejects(notFound());
    await provisioner().rollback('greeter', undefined);
    expect(gw).not.toReceiveCommand(DeleteStageCommand);
  });

  it('does not delete a stage that now serves another deployment', async () => {
    gw.on(GetDeploymentsCommand).resolves({ items: deployments.slice(0, 1) });
    gw.on(GetStageCommand).resolves({ stageName: 'v1', deploymentId: 'console' });
    await expect(provisioner().rollback('greeter', undefined)).rejects.toThrow(
      new RollbackFailedError(
        "the stage v1 of greeter serves console, not the release's deployment dep-1; not deleting a stage someone else moved",
      ),
    );
    expect(gw).not.toReceiveCommand(DeleteStageCommand);
  });

  it('has nothing to do without an API and without a previous deployment', async () => {
    gw.on(GetRestApisCommand).resolves({ items: [] });
    await provisioner().rollback('greeter', undefined);
    expect(names()).toEqual(['GetRestApis']);
  });

  it("fails with RollbackFailed and API Gateway's message when the stage cannot be moved", async () => {
    gw.on(UpdateStageCommand).rejects(new BadRequestException({ message: 'Invalid deployment identifier specified', $metadata: {} }));
    const err = await provisioner()
      .rollback('greeter', 'dep-404')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RollbackFailedError);
    expect((err as Error).message).toBe(
      'could not roll API Gateway back for greeter: UpdateStage failed (BadRequestException): Invalid deployment identifier specified',
    );
  });

  it('fails with RollbackFailed when the API is gone but a previous deployment was expected', async () => {
    gw.on(GetRestApisCommand).resolves({ items: [] });
    await expect(provisioner().rollback('greeter', 'dep-1')).rejects.toThrow(
      new RollbackFailedError('API Gateway has no REST API launchway-greeter to roll back to dep-1'),
    );
  });
});

describe('ApiGatewayProvisioner.apiKeyValue', () => {
  it('reads the value with includeValue', async () => {
    gw.on(GetApiKeyCommand, { apiKey: 'key-val' }).resolves({ id: 'key-val', name: 'launchway-greeter-validation', value: 's3cr3t-value' });
    expect(await provisioner().apiKeyValue('greeter', 'key-val')).toBe('s3cr3t-value');
    expect(gw).toReceiveCommandExactlyOnceWith(GetApiKeyCommand, { apiKey: 'key-val', includeValue: true });
  });

  it('does not hand out a key of another service', async () => {
    gw.on(GetApiKeyCommand).resolves({ id: 'key-b', name: 'launchway-billing-validation', value: 'billing-secret' });
    await expect(provisioner().apiKeyValue('greeter', 'key-b')).rejects.toThrow(
      new NotFoundError('API Gateway has no Launchway API key key-b for greeter'),
    );
  });

  it('is NotFound for an unknown key, and InteropProvisioningFailed when API Gateway fails', async () => {
    gw.on(GetApiKeyCommand)
      .rejectsOnce(notFound('Invalid API Key identifier specified'))
      .rejectsOnce(new TooManyRequestsException({ message: 'slow down', $metadata: {} }));
    await expect(provisioner().apiKeyValue('greeter', 'nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(provisioner().apiKeyValue('greeter', 'nope')).rejects.toThrow(
      new InteropProvisioningFailedError('could not read API key nope of greeter: GetApiKey failed (TooManyRequestsException): slow down'),
    );
  });
});
