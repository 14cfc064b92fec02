import {
  CreateApiKeyCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  GetApiKeyCommand,
  GetApiKeysCommand,
  GetUsagePlansCommand,
  UpdateUsagePlanCommand,
  type APIGatewayClient,
  type ApiKey,
  type ThrottleSettings,
} from '@aws-sdk/client-api-gateway';
import { InteropProvisioningFailedError } from '../errors.js';
import { absent, callGateway, GatewayCallError, PAGE } from './api-gateway-calls.js';
import { SERVICE_TAG, usagePlanNameFor } from './api-gateway-names.js';

/** Per-key throttle of a new usage plan; operators may tune the plan afterwards, Launchway never resets it. */
export const DEFAULT_THROTTLE: Readonly<Required<Pick<ThrottleSettings, 'rateLimit' | 'burstLimit'>>> = { rateLimit: 100, burstLimit: 200 };

/** The id of the key with exactly this name, created when missing. GetApiKeys' nameQuery matches prefixes. */
export async function ensureApiKey(client: APIGatewayClient, service: string, name: string): Promise<string> {
  let position: string | undefined;
  do {
    const page = await callGateway('GetApiKeys', () =>
      client.send(new GetApiKeysCommand({ nameQuery: name, includeValues: false, limit: PAGE, position })),
    );
    const found = (page.items ?? []).find((k) => k.name === name && k.id);
    if (found?.id) return found.id;
    position = page.position;
  } while (position);
  const created = await callGateway('CreateApiKey', () =>
    client.send(
      new CreateApiKeyCommand({
        name,
        enabled: true,
        description: `Launchway interop key for ${service}`,
        tags: { [SERVICE_TAG]: service },
      }),
    ),
  );
  if (!created.id) throw new InteropProvisioningFailedError(`API Gateway created the API key ${name} without an id`);
  return created.id;
}

/** The key with its value, or undefined when API Gateway has no key with this id. */
export async function readApiKey(client: APIGatewayClient, keyId: string): Promise<ApiKey | undefined> {
  return callGateway('GetApiKey', () => client.send(new GetApiKeyCommand({ apiKey: keyId, includeValue: true }))).catch(absent);
}

/** The service's usage plan, created with `throttle` or extended with this API stage when missing. */
export async function ensureUsagePlan(
  client: APIGatewayClient,
  service: string,
  restApiId: string,
  stage: string,
  throttle: ThrottleSettings,
): Promise<string> {
  const name = usagePlanNameFor(service);
  let position: string | undefined;
  do {
    const page = await callGateway('GetUsagePlans', () => client.send(new GetUsagePlansCommand({ limit: PAGE, position })));
    const plan = (page.items ?? []).find((p) => p.name === name && p.id);
    if (plan?.id) {
      const planId = plan.id;
      if (!(plan.apiStages ?? []).some((s) => s.apiId === restApiId && s.stage === stage)) {
        await callGateway('UpdateUsagePlan', () =>
          client.send(
            new UpdateUsagePlanCommand({
              usagePlanId: planId,
              patchOperations: [{ op: 'add', path: '/apiStages', value: `${restApiId}:${stage}` }],
            }),
          ),
        );
      }
      return planId;
    }
    position = page.position;
  } while (position);
  const created = await callGateway('CreateUsagePlan', () =>
    client.send(
      new CreateUsagePlanCommand({
        name,
        description: `Partner keys of ${service}, managed by Launchway`,
        apiStages: [{ apiId: restApiId, stage }],
        throttle,
        tags: { [SERVICE_TAG]: service },
      }),
    ),
  );
  if (!created.id) throw new InteropProvisioningFailedError(`API Gateway created the usage plan ${name} without an id`);
  return created.id;
}

/** Adds the key to the usage plan; a key already in it is left as it is. */
export async function linkKey(client: APIGatewayClient, usagePlanId: string, keyId: string): Promise<void> {
  try {
    await callGateway('CreateUsagePlanKey', () => client.send(new CreateUsagePlanKeyCommand({ usagePlanId, keyId, keyType: 'API_KEY' })));
  } catch (err) {
    // Already in the plan: nothing to do.
    if (err instanceof GatewayCallError && err.awsName === 'ConflictException') return;
    throw err;
  }
}
