import { getConfig } from '../config.js';
import type { InteropProvisioner } from './interop-provisioner.js';
import { LocalGatewayProvisioner } from './local-gateway-provisioner.js';

export type { InteropDeployment, InteropProvisioner, InteropRequest } from './interop-provisioner.js';

/**
 * The provisioner this runtime publishes contracts with. Embedded mode sets `LOCAL_GATEWAY_ADMIN_URL` (the local
 * gateway); an API Gateway provisioner for AWS joins here when it is built.
 */
export function provisionerFromConfig(): InteropProvisioner {
  const adminUrl = getConfig().LOCAL_GATEWAY_ADMIN_URL;
  if (adminUrl) return new LocalGatewayProvisioner({ adminUrl });
  throw new Error('no interop provisioner is configured: set LOCAL_GATEWAY_ADMIN_URL to the local gateway admin URL (embedded mode)');
}
