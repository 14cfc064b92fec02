import { provisionerFromConfig } from '../lib/interop/index.js';
import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { ValidateProductionEventSchema, validateProduction } from '../lib/pipeline/validate-production.js';

/** ValidateProduction: a health check, then Newman through the interop layer the way partners call it. */
export const handler = stepHandler(ValidateProductionEventSchema, (event) =>
  validateProduction(defaultDeps({ provisioner: provisionerFromConfig }), event),
);
