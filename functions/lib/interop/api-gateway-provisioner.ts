import {
  CreateApiKeyCommand,
  CreateBasePathMappingCommand,
  CreateDeploymentCommand,
  CreateRestApiCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  DeleteBasePathMappingCommand,
  DeleteStageCommand,
  GetApiKeyCommand,
  GetApiKeysCommand,
  GetBasePathMappingCommand,
  GetDeploymentCommand,
  GetDeploymentsCommand,
  GetRestApisCommand,
  GetStageCommand,
  GetUsagePlansCommand,
  PutRestApiCommand,
  UpdateStageCommand,
  UpdateUsagePlanCommand,
  type APIGatewayClient,
  type ThrottleSettings,
} from '@aws-sdk/client-api-gateway';
import { InteropProvisioningFailedError, NotFoundError, RollbackFailedError, ValidationError } from '../errors.js';
import { validateOpenApiDocument } from '../openapi.js';
import type { InteropDeployment, InteropProvisioner, InteropRequest } from './interop-provisioner.js';
import { toApiGatewayOpenApi, type ApiGatewayImport } from './openapi-to-apigateway.js';

/** Tag that marks the REST APIs, keys and usage plans Launchway manages, with the service as its value. */
export const SERVICE_TAG = 'launchway:service';
/** Name suffix of the key Launchway itself calls the gateway with when validating production. */
export const VALIDATION_KEY_SUFFIX = 'validation';
/** Per-key throttle of a new usage plan; operators may tune the plan afterwards, Launchway never resets it. */
export const DEFAULT_THROTTLE: Readonly<Required<Pick<ThrottleSettings, 'rateLimit' | 'burstLimit'>>> = { rateLimit: 100, burstLimit: 200 };
/** API Gateway list calls return at most 500 items a page. */
const PAGE = 500;

/** Names of everything Launchway creates for one service. */
export const apiNameFor = (service: string) => `launchway-${service}`;
export const usagePlanNameFor = (service: string) => `launchway-${service}`;
export const apiKeyNameFor = (service: string, name: string) => `launchway-${service}-${name}`;

export interface ApiGatewayProvisionerOptions {
  /**
   * Custom domain partners call instead of the execute-api host. Each service is then served at
   * `https://<domainName>/<service>` through a base path mapping (base path = service, stage = the catalog's stage),
   * which the provisioner creates on first publication. The domain name itself (certificate, DNS) is set up once
   * by infra or an operator.
   * @default none: partners call `https://<restApiId>.execute-api.<region>.amazonaws.com/<stage>`
   */
  readonly domainName?: string;
  /** Throttle of the usage plan created for a service. @default DEFAULT_THROTTLE */
  readonly throttle?: ThrottleSettings;
}

/** What a Launchway deployment's description records, so a retry or a rollback can read it back from API Gateway. */
interface DeploymentNote {
  releaseId: string;
  stage: string;
  previousDeploymentId?: string;
}

const NOTE = /^launchway release (\S+) on (\S+)(?: \(previous (\S+)\))?$/;

/** `launchway release <releaseId> on <stage> (previous <id>)`: the only state the provisioner keeps. */
export function deploymentDescription(note: DeploymentNote): string {
  const previous = note.previousDeploymentId ? ` (previous ${note.previousDeploymentId})` : '';
  return `launchway release ${note.releaseId} on ${note.stage}${previous}`;
}

function parseDescription(description: string | undefined): DeploymentNote | undefined {
  const m = description ? NOTE.exec(description) : null;
  if (!m) return undefined;
  return { releaseId: m[1], stage: m[2], ...(m[3] ? { previousDeploymentId: m[3] } : {}) };
}

/** An API Gateway call that failed, with the operation named so the domain error can say which. */
class GatewayCallError extends Error {
  override readonly name = 'GatewayCallError';
  constructor(
    readonly operation: string,
    readonly awsName: string,
    message: string,
    options: { cause: unknown },
  ) {
    super(`${operation} failed (${awsName}): ${message}`, options);
  }
}

/** Turns "does not exist" into undefined and lets every other failure through. */
function absent(err: unknown): undefined {
  if (err instanceof GatewayCallError && err.awsName === 'NotFoundException') return undefined;
  throw err;
}

/**
 * Publishes a service's contract as an API Gateway REST API, the AWS twin of `LocalGatewayProvisioner`:
 * one REST API per service (`launchway-<service>`, tagged `launchway:service=<service>`), replaced with PutRestApi
 * (`mode=overwrite`) on each release, then a new immutable deployment on the catalog's stage, so a rollback is one
 * UpdateStage back. The previous deployment id is written into the new deployment's description and read back from
 * API Gateway, so a retried provision of the same release keeps the original one without any state elsewhere.
 */
export class ApiGatewayProvisioner implements InteropProvisioner {
  constructor(
    private readonly client: APIGatewayClient,
    private readonly options: ApiGatewayProvisionerOptions = {},
  ) {}

  async provision(req: InteropRequest): Promise<InteropDeployment> {
    const { service, config } = req;
    if (!config.enabled) throw new InteropProvisioningFailedError(`interop is disabled for ${service} in the catalog; nothing to provision`);
    let imported: ApiGatewayImport;
    try {
      await validateOpenApiDocument(req.spec, 'spec');
      imported = toApiGatewayOpenApi(req.spec, { apiName: apiNameFor(service), targetUrl: req.targetUrl, apiKeyRequired: config.apiKeyRequired });
    } catch (err) {
      if (err instanceof ValidationError) throw new InteropProvisioningFailedError(err.message, { cause: err });
      throw err;
    }

    try {
      const restApiId = await this.ensureRestApi(service);

      // Keys first: they do not depend on the stage, and a failure here leaves the live stage untouched.
      const keyNames = new Set(config.apiKeys.map((n) => apiKeyNameFor(service, n)));
      const validationKeyName = apiKeyNameFor(service, VALIDATION_KEY_SUFFIX);
      if (config.apiKeyRequired) keyNames.add(validationKeyName);
      const keys: { name: string; id: string }[] = [];
      for (const name of keyNames) keys.push({ name, id: await this.ensureApiKey(service, name) });

      try {
        await this.call('PutRestApi', () =>
          this.client.send(
            new PutRestApiCommand({
              restApiId,
              mode: 'overwrite',
              failOnWarnings: true,
              body: new TextEncoder().encode(JSON.stringify(imported.document)),
            }),
          ),
        );
      } catch (err) {
        if (err instanceof GatewayCallError && err.awsName === 'BadRequestException') {
          throw new InteropProvisioningFailedError(`API Gateway rejected the contract of ${service} (PutRestApi): ${(err.cause as Error).message}`, { cause: err });
        }
        throw err;
      }

      // What the stage serves now is what a rollback returns to, unless it is this very release's own deployment
      // (a retry after the stage moved): then the deployment's note holds the original previous id.
      const stage = await this.call('GetStage', () => this.client.send(new GetStageCommand({ restApiId, stageName: config.stage }))).catch(absent);
      const liveId = stage?.deploymentId;
      let previousDeploymentId = liveId;
      if (liveId) {
        const live = await this.call('GetDeployment', () => this.client.send(new GetDeploymentCommand({ restApiId, deploymentId: liveId })));
        const note = parseDescription(live.description);
        if (note?.releaseId === req.releaseId) previousDeploymentId = note.previousDeploymentId;
      }

      // With stageName, CreateDeployment moves the stage, or creates it on the first release.
      const deployment = await this.call('CreateDeployment', () =>
        this.client.send(
          new CreateDeploymentCommand({
            restApiId,
            stageName: config.stage,
            description: deploymentDescription({ releaseId: req.releaseId, stage: config.stage, previousDeploymentId }),
          }),
        ),
      );
      if (!deployment.id) throw new InteropProvisioningFailedError(`API Gateway created a deployment of ${service} without an id`);

      // A usage plan and a base path mapping can only name a stage that exists, so they come after the deployment.
      // If they fail, the stage goes back to what it served, so a failed step never leaves a half-published API live.
      try {
        if (keys.length > 0) {
          const planId = await this.ensureUsagePlan(service, restApiId, config.stage);
          for (const key of keys) await this.linkKey(planId, key.id);
        }
        if (this.options.domainName) await this.ensureBasePathMapping(this.options.domainName, service, restApiId, config.stage);
      } catch (err) {
        const restored = await this.restoreStage(restApiId, config.stage, liveId).then(
          () => (liveId ? `the stage ${config.stage} serves ${liveId} again` : `the new stage ${config.stage} was removed`),
          (e: unknown) => `the stage ${config.stage} could NOT be restored (${(e as Error).message}); it serves ${deployment.id}`,
        );
        throw new InteropProvisioningFailedError(`could not finish publishing ${service}: ${(err as Error).message}; ${restored}`, { cause: err });
      }

      const validationKeyId = keys.find((k) => k.name === validationKeyName)?.id;
      return {
        deploymentId: deployment.id,
        baseUrl: await this.baseUrl(service, restApiId, config.stage),
        ...(previousDeploymentId ? { previousDeploymentId } : {}),
        routeCount: imported.routes.length,
        ...(validationKeyId ? { validationKeyId } : {}),
      };
    } catch (err) {
      if (err instanceof InteropProvisioningFailedError) throw err;
      if (err instanceof GatewayCallError) throw new InteropProvisioningFailedError(`could not publish ${service} on API Gateway: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /**
   * Points the stage of the release being rolled back at `previousDeploymentId`. That stage is the one named in the
   * newest Launchway deployment of the API: the release being rolled back made it, and the service lock means no
   * other release of the service has deployed since.
   *
   * Without a previous deployment (the service's first release) the stage is deleted, so partners get nothing
   * rather than the failed release. The REST API, its keys and the usage plan stay: partners keep their keys for
   * the next release, and the next provision overwrites the API anyway.
   */
  async rollback(service: string, previousDeploymentId: string | undefined): Promise<void> {
    try {
      const restApiId = await this.findRestApi(service);
      if (!restApiId) {
        if (previousDeploymentId === undefined) return;
        throw new RollbackFailedError(`API Gateway has no REST API ${apiNameFor(service)} to roll back to ${previousDeploymentId}`);
      }
      const latest = await this.latestLaunchwayDeployment(restApiId);
      if (!latest) {
        if (previousDeploymentId === undefined) return;
        throw new RollbackFailedError(`API Gateway has no Launchway deployment of ${service}, so the stage to point at ${previousDeploymentId} is unknown`);
      }
      const stageName = latest.note.stage;
      if (previousDeploymentId !== undefined) {
        await this.call('UpdateStage', () =>
          this.client.send(
            new UpdateStageCommand({ restApiId, stageName, patchOperations: [{ op: 'replace', path: '/deploymentId', value: previousDeploymentId }] }),
          ),
        );
        return;
      }
      const stage = await this.call('GetStage', () => this.client.send(new GetStageCommand({ restApiId, stageName }))).catch(absent);
      if (!stage) return; // Already removed by an earlier attempt.
      if (stage.deploymentId !== latest.id) {
        throw new RollbackFailedError(
          `the stage ${stageName} of ${service} serves ${stage.deploymentId}, not the release's deployment ${latest.id}; not deleting a stage someone else moved`,
        );
      }
      if (this.options.domainName) await this.removeBasePathMapping(this.options.domainName, service, restApiId, stageName);
      await this.call('DeleteStage', () => this.client.send(new DeleteStageCommand({ restApiId, stageName }))).catch(absent);
    } catch (err) {
      if (err instanceof RollbackFailedError) throw err;
      throw new RollbackFailedError(`could not roll API Gateway back for ${service}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The key's value, only for a key Launchway made for this service. */
  async apiKeyValue(service: string, keyId: string): Promise<string> {
    let key;
    try {
      key = await this.call('GetApiKey', () => this.client.send(new GetApiKeyCommand({ apiKey: keyId, includeValue: true }))).catch(absent);
    } catch (err) {
      throw new InteropProvisioningFailedError(`could not read API key ${keyId} of ${service}: ${(err as Error).message}`, { cause: err });
    }
    // Another service's key (or any key in the account) is not this service's business.
    if (!key || !key.name?.startsWith(apiKeyNameFor(service, '')) || !key.value) {
      throw new NotFoundError(`API Gateway has no Launchway API key ${keyId} for ${service}`);
    }
    return key.value;
  }

  /** Runs one SDK call; a failure becomes a GatewayCallError naming the operation and API Gateway's error. */
  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      const e = err as Error;
      throw new GatewayCallError(operation, e.name ?? 'Error', e.message ?? String(err), { cause: err });
    }
  }

  /** The service's REST API id, or undefined. Refuses an API with the name but not the tag: someone else's. */
  private async findRestApi(service: string): Promise<string | undefined> {
    const name = apiNameFor(service);
    const named = [];
    let position: string | undefined;
    do {
      const page = await this.call('GetRestApis', () => this.client.send(new GetRestApisCommand({ limit: PAGE, position })));
      named.push(...(page.items ?? []).filter((api) => api.name === name));
      position = page.position;
    } while (position);
    const ours = named.find((api) => api.tags?.[SERVICE_TAG] === service);
    if (ours?.id) return ours.id;
    if (named.length > 0) {
      throw new InteropProvisioningFailedError(
        `a REST API named ${name} (${named.map((a) => a.id).join(', ')}) exists without the tag ${SERVICE_TAG}=${service}; Launchway does not overwrite an API it did not create. Tag it, or rename or delete it`,
      );
    }
    return undefined;
  }

  private async ensureRestApi(service: string): Promise<string> {
    const existing = await this.findRestApi(service);
    if (existing) return existing;
    const created = await this.call('CreateRestApi', () =>
      this.client.send(
        new CreateRestApiCommand({
          name: apiNameFor(service),
          description: `Partner-facing API of ${service}, published by Launchway`,
          endpointConfiguration: { types: ['REGIONAL'] },
          tags: { [SERVICE_TAG]: service },
        }),
      ),
    );
    if (!created.id) throw new InteropProvisioningFailedError(`API Gateway created ${apiNameFor(service)} without an id`);
    return created.id;
  }

  /** The id of the key with exactly this name, created when missing. GetApiKeys' nameQuery matches prefixes. */
  private async ensureApiKey(service: string, name: string): Promise<string> {
    let position: string | undefined;
    do {
      const page = await this.call('GetApiKeys', () => this.client.send(new GetApiKeysCommand({ nameQuery: name, includeValues: false, limit: PAGE, position })));
      const found = (page.items ?? []).find((k) => k.name === name && k.id);
      if (found?.id) return found.id;
      position = page.position;
    } while (position);
    const created = await this.call('CreateApiKey', () =>
      this.client.send(
        new CreateApiKeyCommand({ name, enabled: true, description: `Launchway interop key for ${service}`, tags: { [SERVICE_TAG]: service } }),
      ),
    );
    if (!created.id) throw new InteropProvisioningFailedError(`API Gateway created the API key ${name} without an id`);
    return created.id;
  }

  /** The service's usage plan, created with the default throttle or extended with this API stage when missing. */
  private async ensureUsagePlan(service: string, restApiId: string, stage: string): Promise<string> {
    const name = usagePlanNameFor(service);
    let position: string | undefined;
    do {
      const page = await this.call('GetUsagePlans', () => this.client.send(new GetUsagePlansCommand({ limit: PAGE, position })));
      const plan = (page.items ?? []).find((p) => p.name === name && p.id);
      if (plan?.id) {
        const planId = plan.id;
        if (!(plan.apiStages ?? []).some((s) => s.apiId === restApiId && s.stage === stage)) {
          await this.call('UpdateUsagePlan', () =>
            this.client.send(new UpdateUsagePlanCommand({ usagePlanId: planId, patchOperations: [{ op: 'add', path: '/apiStages', value: `${restApiId}:${stage}` }] })),
          );
        }
        return planId;
      }
      position = page.position;
    } while (position);
    const created = await this.call('CreateUsagePlan', () =>
      this.client.send(
        new CreateUsagePlanCommand({
          name,
          description: `Partner keys of ${service}, managed by Launchway`,
          apiStages: [{ apiId: restApiId, stage }],
          throttle: this.options.throttle ?? { ...DEFAULT_THROTTLE },
          tags: { [SERVICE_TAG]: service },
        }),
      ),
    );
    if (!created.id) throw new InteropProvisioningFailedError(`API Gateway created the usage plan ${name} without an id`);
    return created.id;
  }

  private async linkKey(usagePlanId: string, keyId: string): Promise<void> {
    try {
      await this.call('CreateUsagePlanKey', () => this.client.send(new CreateUsagePlanKeyCommand({ usagePlanId, keyId, keyType: 'API_KEY' })));
    } catch (err) {
      // Already in the plan: nothing to do.
      if (err instanceof GatewayCallError && err.awsName === 'ConflictException') return;
      throw err;
    }
  }

  /** Maps `https://<domain>/<service>` to the stage; refuses to repoint a mapping that serves something else. */
  private async ensureBasePathMapping(domainName: string, service: string, restApiId: string, stage: string): Promise<void> {
    const mapping = await this.call('GetBasePathMapping', () => this.client.send(new GetBasePathMappingCommand({ domainName, basePath: service }))).catch(absent);
    if (!mapping) {
      await this.call('CreateBasePathMapping', () => this.client.send(new CreateBasePathMappingCommand({ domainName, basePath: service, restApiId, stage })));
      return;
    }
    if (mapping.restApiId !== restApiId || mapping.stage !== stage) {
      throw new InteropProvisioningFailedError(
        `https://${domainName}/${service} is mapped to API ${mapping.restApiId} stage ${mapping.stage ?? '(none)'}, not ${restApiId} stage ${stage}; an operator must fix or delete that base path mapping`,
      );
    }
  }

  private async removeBasePathMapping(domainName: string, service: string, restApiId: string, stage: string): Promise<void> {
    const mapping = await this.call('GetBasePathMapping', () => this.client.send(new GetBasePathMappingCommand({ domainName, basePath: service }))).catch(absent);
    if (mapping?.restApiId !== restApiId || mapping.stage !== stage) return;
    await this.call('DeleteBasePathMapping', () => this.client.send(new DeleteBasePathMappingCommand({ domainName, basePath: service }))).catch(absent);
  }

  /** Puts the stage back on what it served before this provision, or removes it if it did not exist. */
  private async restoreStage(restApiId: string, stageName: string, liveId: string | undefined): Promise<void> {
    if (liveId) {
      await this.call('UpdateStage', () =>
        this.client.send(new UpdateStageCommand({ restApiId, stageName, patchOperations: [{ op: 'replace', path: '/deploymentId', value: liveId }] })),
      );
    } else {
      await this.call('DeleteStage', () => this.client.send(new DeleteStageCommand({ restApiId, stageName }))).catch(absent);
    }
  }

  /** The newest deployment whose description Launchway wrote. */
  private async latestLaunchwayDeployment(restApiId: string): Promise<{ id: string; note: DeploymentNote } | undefined> {
    let latest: { id: string; note: DeploymentNote; at: number } | undefined;
    let position: string | undefined;
    do {
      const page = await this.call('GetDeployments', () => this.client.send(new GetDeploymentsCommand({ restApiId, limit: PAGE, position })));
      for (const d of page.items ?? []) {
        const note = parseDescription(d.description);
        const at = d.createdDate?.getTime() ?? 0;
        if (d.id && note && (!latest || at > latest.at)) latest = { id: d.id, note, at };
      }
      position = page.position;
    } while (position);
    return latest;
  }

  private async baseUrl(service: string, restApiId: string, stage: string): Promise<string> {
    if (this.options.domainName) return `https://${this.options.domainName}/${service}`;
    const region = await this.client.config.region();
    const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    return `https://${restApiId}.execute-api.${region}.${suffix}/${stage}`;
  }
}
