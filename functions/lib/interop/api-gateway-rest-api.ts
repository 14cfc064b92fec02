import { CreateRestApiCommand, GetRestApisCommand, PutRestApiCommand, type APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { InteropProvisioningFailedError } from '../errors.js';
import { callGateway, GatewayCallError, PAGE } from './api-gateway-calls.js';
import { apiNameFor, SERVICE_TAG } from './api-gateway-names.js';
import type { ApiGatewayImport } from './openapi-to-apigateway.js';

/** The service's REST API id, or undefined. Refuses an API with the name but not the tag: someone else's. */
export async function findRestApi(client: APIGatewayClient, service: string): Promise<string | undefined> {
  const name = apiNameFor(service);
  const named = [];
  let position: string | undefined;
  do {
    const page = await callGateway('GetRestApis', () => client.send(new GetRestApisCommand({ limit: PAGE, position })));
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

/** The service's REST API id, the API created (empty, tagged) when missing. */
export async function ensureRestApi(client: APIGatewayClient, service: string): Promise<string> {
  const existing = await findRestApi(client, service);
  if (existing) return existing;
  const created = await callGateway('CreateRestApi', () =>
    client.send(
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

/**
 * Replaces the REST API's routes and integrations with the import document (PutRestApi, `mode=overwrite`, with the
 * catalog's `interop.basePath` as the `basepath` parameter, which says what the document's base path becomes). A
 * contract API Gateway refuses is the service's fault, not the gateway's, so it is reported as such.
 */
export async function importContract(
  client: APIGatewayClient,
  service: string,
  restApiId: string,
  imported: Pick<ApiGatewayImport, 'document' | 'basePathMode'>,
): Promise<void> {
  try {
    await callGateway('PutRestApi', () =>
      client.send(
        new PutRestApiCommand({
          restApiId,
          mode: 'overwrite',
          failOnWarnings: true,
          parameters: { basepath: imported.basePathMode },
          body: new TextEncoder().encode(JSON.stringify(imported.document)),
        }),
      ),
    );
  } catch (err) {
    if (err instanceof GatewayCallError && err.awsName === 'BadRequestException') {
      throw new InteropProvisioningFailedError(
        `API Gateway rejected the contract of ${service} (PutRestApi): ${(err.cause as Error).message}`,
        { cause: err },
      );
    }
    throw err;
  }
}
