import { provisionerFromConfig } from '../lib/interop/index.js';
import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { ProvisionInteropEventSchema, provisionInterop } from '../lib/pipeline/provision-interop.js';

/** ProvisionInterop: publish the OpenAPI contract on the partner gateway. */
export const handler = stepHandler(ProvisionInteropEventSchema, (event) =>
  provisionInterop(defaultDeps({ provisioner: provisionerFromConfig }), event.releaseId),
);
