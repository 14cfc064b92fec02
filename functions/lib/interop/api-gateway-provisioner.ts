import type { APIGatewayClient, ApiKey, ThrottleSettings } from '@aws-sdk/client-api-gateway';
import { InteropProvisioningFailedError, NotFoundError, RollbackFailedError, ValidationError } from '../errors.js';
import { validateOpenApiDocument } from '../openapi.js';
import { ensureBasePathMapping, removeBasePathMapping } from './api-gateway-base-path-mapping.js';
import { GatewayCallError } from './api-gateway-calls.js';
import { DEFAULT_THROTTLE, ensureApiKey, ensureUsagePlan, linkKey, readApiKey } from './api-gateway-keys-and-usage-plan.js';
import { apiKeyNameFor, apiNameFor, VALIDATION_KEY_SUFFIX } from './api-gateway-names.js';
import { ensureRestApi, findRestApi, importContract } from './api-gateway-rest-api.js';
import {
  deleteStage,
  deployToStage,
  getStage,
  latestLaunchwayDeployment,
  pointStage,
  previousDeploymentFor,
  restoreStage,
} from './api-gateway-stage-deployments.js';
import type { InteropDeployment, InteropProvisioner, InteropRequest } from './interop-provisioner.js';
import { toApiGatewayOpenApi, type ApiGatewayImport } from './openapi-to-apigateway.js';

export { DEFAULT_THROTTLE } from './api-gateway-keys-and-usage-plan.js';
export { SERVICE_TAG, VALIDATION_KEY_SUFFIX, apiKeyNameFor, apiNameFor, usagePlanNameFor } from './api-gateway-names.js';
export { deploymentDescription } from './api-gateway-stage-deployments.js';

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
    if (!config.enabled)
      throw new InteropProvisioningFailedError(`interop is disabled for ${service} in the catalog; nothing to provision`);
    let imported: ApiGatewayImport;
    try {
      await validateOpenApiDocument(req.spec, 'spec');
      imported = toApiGatewayOpenApi(req.spec, {
        apiName: apiNameFor(service),
        targetUrl: req.targetUrl,
        apiKeyRequired: config.apiKeyRequired,
        basePathMode: config.basePath,
        ...(config.cors ? { cors: config.cors } : {}),
      });
    } catch (err) {
      if (err instanceof ValidationError) throw new InteropProvisioningFailedError(err.message, { cause: err });
      throw err;
    }

    try {
      const restApiId = await ensureRestApi(this.client, service);

      // Keys first: they do not depend on the stage, and a failure here leaves the live stage untouched.
      const keyNames = new Set(config.apiKeys.map((n) => apiKeyNameFor(service, n)));
      const validationKeyName = apiKeyNameFor(service, VALIDATION_KEY_SUFFIX);
      if (config.apiKeyRequired) keyNames.add(validationKeyName);
      const keys: { name: string; id: string }[] = [];
      for (const name of keyNames) keys.push({ name, id: await ensureApiKey(this.client, service, name) });

      await importContract(this.client, service, restApiId, imported);

      const { liveId, previousDeploymentId } = await previousDeploymentFor(this.client, restApiId, config.stage, req.releaseId);
      const note = { releaseId: req.releaseId, stage: config.stage, previousDeploymentId };
      const deploymentId = await deployToStage(this.client, service, restApiId, note);

      // A usage plan and a base path mapping can only name a stage that exists, so they come after the deployment.
      // If they fail, the stage goes back to what it served, so a failed step never leaves a half-published API live.
      try {
        if (keys.length > 0) {
          const throttle = this.options.throttle ?? { ...DEFAULT_THROTTLE };
          const planId = await ensureUsagePlan(this.client, service, restApiId, config.stage, throttle);
          for (const key of keys) await linkKey(this.client, planId, key.id);
        }
        const { domainName } = this.options;
        if (domainName) await ensureBasePathMapping(this.client, { domainName, service, restApiId, stage: config.stage });
      } catch (err) {
        const restored = await restoreStage(this.client, restApiId, config.stage, liveId).then(
          () => (liveId ? `the stage ${config.stage} serves ${liveId} again` : `the new stage ${config.stage} was removed`),
          (e: unknown) => `the stage ${config.stage} could NOT be restored (${(e as Error).message}); it serves ${deploymentId}`,
        );
        throw new InteropProvisioningFailedError(`could not finish publishing ${service}: ${(err as Error).message}; ${restored}`, {
          cause: err,
        });
      }

      const validationKeyId = keys.find((k) => k.name === validationKeyName)?.id;
      return {
        deploymentId,
        baseUrl: await this.baseUrl(service, restApiId, config.stage),
        ...(previousDeploymentId ? { previousDeploymentId } : {}),
        routeCount: imported.routes.length,
        ...(validationKeyId ? { validationKeyId } : {}),
      };
    } catch (err) {
      if (err instanceof InteropProvisioningFailedError) throw err;
      if (err instanceof GatewayCallError)
        throw new InteropProvisioningFailedError(`could not publish ${service} on API Gateway: ${err.message}`, { cause: err });
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
      const restApiId = await findRestApi(this.client, service);
      if (!restApiId) {
        if (previousDeploymentId === undefined) return;
        throw new RollbackFailedError(`API Gateway has no REST API ${apiNameFor(service)} to roll back to ${previousDeploymentId}`);
      }
      const latest = await latestLaunchwayDeployment(this.client, restApiId);
      if (!latest) {
        if (previousDeploymentId === undefined) return;
        throw new RollbackFailedError(
          `API Gateway has no Launchway deployment of ${service}, so the stage to point at ${previousDeploymentId} is unknown`,
        );
      }
      const stageName = latest.note.stage;
      if (previousDeploymentId !== undefined) {
        await pointStage(this.client, restApiId, stageName, previousDeploymentId);
        return;
      }
      const stage = await getStage(this.client, restApiId, stageName);
      if (!stage) return; // Already removed by an earlier attempt.
      if (stage.deploymentId !== latest.id) {
        throw new RollbackFailedError(
          `the stage ${stageName} of ${service} serves ${stage.deploymentId}, not the release's deployment ${latest.id}; not deleting a stage someone else moved`,
        );
      }
      const { domainName } = this.options;
      if (domainName) await removeBasePathMapping(this.client, { domainName, service, restApiId, stage: stageName });
      await deleteStage(this.client, restApiId, stageName);
    } catch (err) {
      if (err instanceof RollbackFailedError) throw err;
      throw new RollbackFailedError(`could not roll API Gateway back for ${service}: ${(err as Error).message}`, { cause: err });
    }
  }

  async stageDeployment(service: string, stage: string): Promise<string | undefined> {
    try {
      const restApiId = await findRestApi(this.client, service);
      return restApiId ? (await getStage(this.client, restApiId, stage))?.deploymentId : undefined;
    } catch (err) {
      if (err instanceof InteropProvisioningFailedError) throw err;
      throw new InteropProvisioningFailedError(`could not read the stage ${stage} of ${service}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** The key's value, only for a key Launchway made for this service. */
  async apiKeyValue(service: string, keyId: string): Promise<string> {
    let key: ApiKey | undefined;
    try {
      key = await readApiKey(this.client, keyId);
    } catch (err) {
      throw new InteropProvisioningFailedError(`could not read API key ${keyId} of ${service}: ${(err as Error).message}`, { cause: err });
    }
    // Another service's key (or any key in the account) is not this service's business.
    if (!key?.name?.startsWith(apiKeyNameFor(service, '')) || !key.value) {
      throw new NotFoundError(`API Gateway has no Launchway API key ${keyId} for ${service}`);
    }
    return key.value;
  }

  private async baseUrl(service: string, restApiId: string, stage: string): Promise<string> {
    if (this.options.domainName) return `https://${this.options.domainName}/${service}`;
    const region = await this.client.config.region();
    const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    return `https://${restApiId}.execute-api.${region}.${suffix}/${stage}`;
  }
}
