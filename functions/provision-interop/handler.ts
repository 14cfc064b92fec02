import { provisionerFromConfig } from '../lib/interop/index.js';
import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { InteropEventSchema, provisionInterop } from '../lib/pipeline/interop.js';

/** ProvisionInterop: publish the OpenAPI contract on the partner gateway. */
export const handler = stepHandler(InteropEventSchema, (event) => provisionInterop(defaultDeps({ provisioner: provisionerFromConfig }), event.releaseId));
