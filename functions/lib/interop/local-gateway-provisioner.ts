import { requireConfig } from '../config.js';
import { InteropProvisioningFailedError, NotFoundError, RollbackFailedError, ValidationError } from '../errors.js';
import { validateOpenApiDocument, type ApiRoute } from '../openapi.js';
import type { InteropDeployment, InteropProvisioner, InteropRequest } from './interop-provisioner.js';

/** The key Launchway itself calls the gateway with when validating production. */
export const VALIDATION_KEY_NAME = 'launchway-validation';
/** Every admin call is one small JSON exchange on loopback; longer means the gateway is stuck. */
const ADMIN_TIMEOUT_MS = 10_000;

export interface LocalGatewayProvisionerOptions {
  /** The gateway's control plane, e.g. `http://127.0.0.1:4010/_admin`. @default `LOCAL_GATEWAY_ADMIN_URL` */
  adminUrl?: string;
}

interface AdminDeployment {
  id: string;
  stage: string;
  releaseId?: string;
  previousDeploymentId?: string;
}

/**
 * Publishes a contract on the local interop gateway (local/gateway.ts) through its admin API, the way the AWS
 * provisioner uses PutRestApi, CreateDeployment, UpdateStage and CreateApiKey: each provision makes a new immutable
 * deployment and moves the stage to it, so a rollback is one stage update back.
 */
export class LocalGatewayProvisioner implements InteropProvisioner {
  constructor(private readonly options: LocalGatewayProvisionerOptions = {}) {}

  async provision(req: InteropRequest): Promise<InteropDeployment> {
    const { service, config } = req;
    if (!config.enabled)
      throw new InteropProvisioningFailedError(`interop is disabled for ${service} in the catalog; nothing to provision`);
    let routes: ApiRoute[];
    let basePath: string;
    try {
      ({ routes, basePath } = await validateOpenApiDocument(req.spec, 'spec'));
    } catch (err) {
      if (err instanceof ValidationError) throw new InteropProvisioningFailedError(err.message, { cause: err });
      throw err;
    }

    const api = await this.call<{ stages: Record<string, string> }>('GET', `/services/${service}`, undefined, [404]);
    const liveId = api?.stages[config.stage];
    let previousDeploymentId = liveId;
    if (liveId) {
      const live = await this.call<AdminDeployment>('GET', `/services/${service}/deployments/${liveId}`);
      // A retried provision of the same release finds its own deployment live: the one before it is the previous.
      if (live?.releaseId === req.releaseId) previousDeploymentId = live.previousDeploymentId;
    }

    // Keys first: if one cannot be made, the stage still serves the previous deployment.
    const keyNames = new Set(config.apiKeys);
    if (config.apiKeyRequired) keyNames.add(VALIDATION_KEY_NAME);
    let validationKeyId: string | undefined;
    for (const name of keyNames) {
      const key = (await this.call<{ id: string }>('POST', `/services/${service}/keys`, { name }))!;
      if (name === VALIDATION_KEY_NAME) validationKeyId = key.id;
    }

    const deployment = (await this.call<{ deploymentId: string }>('POST', `/services/${service}/deployments`, {
      routes,
      basePath,
      basePathMode: config.basePath,
      ...(config.cors ? { cors: config.cors } : {}),
      targetUrl: req.targetUrl,
      apiKeyRequired: config.apiKeyRequired,
      stage: config.stage,
      releaseId: req.releaseId,
      description: `${service} ${req.version}`,
      ...(previousDeploymentId ? { previousDeploymentId } : {}),
    }))!;
    const stage = (await this.call<{ invokeUrl: string }>('PUT', `/services/${service}/stages/${config.stage}`, {
      deploymentId: deployment.deploymentId,
    }))!;
    return {
      deploymentId: deployment.deploymentId,
      baseUrl: stage.invokeUrl,
      ...(previousDeploymentId ? { previousDeploymentId } : {}),
      routeCount: routes.length,
      ...(validationKeyId ? { validationKeyId } : {}),
    };
  }

  /**
   * Points the stage the previous deployment was made for back at it. Without a previous deployment the service's
   * API is removed (its keys stay, so partners keep theirs for the next release).
   */
  async rollback(service: string, previousDeploymentId: string | undefined): Promise<void> {
    try {
      if (previousDeploymentId === undefined) {
        await this.call('DELETE', `/services/${service}`, undefined, [404]);
        return;
      }
      const previous = await this.call<AdminDeployment>(
        'GET',
        `/services/${service}/deployments/${previousDeploymentId}`,
        undefined,
        [404],
      );
      if (!previous) throw new RollbackFailedError(`the gateway has no deployment ${previousDeploymentId} of ${service} to roll back to`);
      await this.call('PUT', `/services/${service}/stages/${previous.stage}`, { deploymentId: previousDeploymentId });
    } catch (err) {
      if (err instanceof RollbackFailedError) throw err;
      throw new RollbackFailedError(`could not roll the gateway back for ${service}: ${(err as Error).message}`, { cause: err });
    }
  }

  async stageDeployment(service: string, stage: string): Promise<string | undefined> {
    const api = await this.call<{ stages: Record<string, string> }>('GET', `/services/${service}`, undefined, [404]);
    return api?.stages[stage];
  }

  async apiKeyValue(service: string, keyId: string): Promise<string> {
    const key = await this.call<{ value: string }>('GET', `/services/${service}/keys/${keyId}`, undefined, [404]);
    if (!key) throw new NotFoundError(`the gateway has no API key ${keyId} for ${service}`);
    return key.value;
  }

  /**
   * One admin call. Returns the JSON body, or undefined for a status listed in `absentOn` (the caller treats it as
   * "does not exist"); any other non-2xx status or a transport failure throws InteropProvisioningFailedError.
   */
  private async call<T = unknown>(method: string, path: string, body?: unknown, absentOn: number[] = []): Promise<T | undefined> {
    const base = (this.options.adminUrl ?? requireConfig('LOCAL_GATEWAY_ADMIN_URL')).replace(/\/+$/, '');
    const url = `${base}${path.split('/').map(encodeURIComponent).join('/')}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(ADMIN_TIMEOUT_MS),
      });
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new InteropProvisioningFailedError(
        `local gateway admin API ${base} is not reachable (${code}); is the embedded runtime running?`,
        { cause: err },
      );
    }
    const text = await res.text();
    if (absentOn.includes(res.status)) return undefined;
    if (!res.ok) {
      let reason = text;
      try {
        const parsed = JSON.parse(text) as { error?: { message?: string; details?: Record<string, string> } };
        reason = [parsed.error?.message, ...Object.entries(parsed.error?.details ?? {}).map(([k, v]) => `${k}: ${v}`)]
          .filter(Boolean)
          .join('; ');
      } catch {
        // Not the gateway's JSON error shape; quote the body as it is.
      }
      throw new InteropProvisioningFailedError(`local gateway ${method} ${path} answered ${res.status}: ${reason}`);
    }
    return text ? (JSON.parse(text) as T) : undefined;
  }
}
