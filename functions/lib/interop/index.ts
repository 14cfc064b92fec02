import { apiGatewayClient } from '../clients.js';
import { getConfig } from '../config.js';
import { ApiGatewayProvisioner } from './api-gateway-provisioner.js';
import type { InteropProvisioner } from './interop-provisioner.js';
import { LocalGatewayProvisioner } from './local-gateway-provisioner.js';

export type { InteropDeployment, InteropProvisioner, InteropRequest } from './interop-provisioner.js';

/**
 * The provisioner this runtime publishes contracts with, chosen by `INTEROP_PROVIDER`: the local gateway in embedded
 * mode (`LOCAL_GATEWAY_ADMIN_URL`), API Gateway REST APIs on AWS. Unset, the local gateway is chosen when its admin
 * URL is configured and API Gateway otherwise.
 */
export function provisionerFromConfig(): InteropProvisioner {
  const config = getConfig();
  const provider = config.INTEROP_PROVIDER ?? (config.LOCAL_GATEWAY_ADMIN_URL ? 'local-gateway' : 'api-gateway');
  if (provider === 'api-gateway') return new ApiGatewayProvisioner(apiGatewayClient(), { domainName: config.INTEROP_DOMAIN_NAME });
  if (!config.LOCAL_GATEWAY_ADMIN_URL) {
    throw new Error(
      'INTEROP_PROVIDER is local-gateway but LOCAL_GATEWAY_ADMIN_URL is not set: set it to the local gateway admin URL (embedded mode)',
    );
  }
  return new LocalGatewayProvisioner({ adminUrl: config.LOCAL_GATEWAY_ADMIN_URL });
}
