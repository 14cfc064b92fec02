import type { InteropConfig } from '../catalog.js';

/** What the interop layer publishes for one service release. */
export interface InteropRequest {
  service: string;
  releaseId: string;
  version: string;
  /** The OpenAPI document, already parsed and validated. */
  spec: Record<string, unknown>;
  /** Base URL of the production target the gateway proxies to. */
  targetUrl: string;
  config: InteropConfig;
}

export interface InteropDeployment {
  /** Identifies this deployment of the API, so a rollback can point the stage back at it. */
  deploymentId: string;
  /** Partner-facing base URL, including the stage. */
  baseUrl: string;
  /** The deployment that was live before this one, if any. */
  previousDeploymentId?: string;
  /** Number of routes (method + path) published. */
  routeCount: number;
  /** Id of the key Launchway itself uses to validate production through the gateway, when keys are required. */
  validationKeyId?: string;
}

/** Publishes a service's OpenAPI contract on a gateway: API Gateway on AWS, the local gateway embedded. */
export interface InteropProvisioner {
  provision(req: InteropRequest): Promise<InteropDeployment>;
  /** Points the service's stage back at an earlier deployment (or removes the API when there was none). */
  rollback(service: string, previousDeploymentId: string | undefined): Promise<void>;
  /** The deployment the service's `stage` serves now; undefined when there is no such stage (or API). */
  stageDeployment(service: string, stage: string): Promise<string | undefined>;
  /** The value of an API key by id, for Launchway's own validation calls. */
  apiKeyValue(service: string, keyId: string): Promise<string>;
}
