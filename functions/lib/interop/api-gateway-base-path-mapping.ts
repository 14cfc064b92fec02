import {
  CreateBasePathMappingCommand,
  DeleteBasePathMappingCommand,
  GetBasePathMappingCommand,
  type APIGatewayClient,
} from '@aws-sdk/client-api-gateway';
import { InteropProvisioningFailedError } from '../errors.js';
import { absent, callGateway } from './api-gateway-calls.js';

/** Where a service is served on the interop custom domain: `https://<domainName>/<service>` on a stage of its API. */
export interface BasePathTarget {
  domainName: string;
  service: string;
  restApiId: string;
  stage: string;
}

/** Maps `https://<domain>/<service>` to the stage; refuses to repoint a mapping that serves something else. */
export async function ensureBasePathMapping(client: APIGatewayClient, target: BasePathTarget): Promise<void> {
  const { domainName, service, restApiId, stage } = target;
  const mapping = await getMapping(client, domainName, service);
  if (!mapping) {
    await callGateway('CreateBasePathMapping', () =>
      client.send(new CreateBasePathMappingCommand({ domainName, basePath: service, restApiId, stage })),
    );
    return;
  }
  if (mapping.restApiId !== restApiId || mapping.stage !== stage) {
    throw new InteropProvisioningFailedError(
      `https://${domainName}/${service} is mapped to API ${mapping.restApiId} stage ${mapping.stage ?? '(none)'}, not ${restApiId} stage ${stage}; an operator must fix or delete that base path mapping`,
    );
  }
}

/** Removes the mapping if it still serves this stage; a mapping that serves something else is left alone. */
export async function removeBasePathMapping(client: APIGatewayClient, target: BasePathTarget): Promise<void> {
  const { domainName, service, restApiId, stage } = target;
  const mapping = await getMapping(client, domainName, service);
  if (mapping?.restApiId !== restApiId || mapping.stage !== stage) return;
  await callGateway('DeleteBasePathMapping', () => client.send(new DeleteBasePathMappingCommand({ domainName, basePath: service }))).catch(
    absent,
  );
}

function getMapping(client: APIGatewayClient, domainName: string, service: string) {
  const get = () => client.send(new GetBasePathMappingCommand({ domainName, basePath: service }));
  return callGateway('GetBasePathMapping', get).catch(absent);
}
