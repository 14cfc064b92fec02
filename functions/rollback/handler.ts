import { providerFor } from '../lib/deploy/index.js';
import { provisionerFromConfig } from '../lib/interop/index.js';
import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { RollbackEventSchema, rollbackProduction } from '../lib/pipeline/rollback.js';

/** Rollback: the previous production version and gateway deployment back in place. */
export const handler = stepHandler(RollbackEventSchema, (event) =>
  rollbackProduction(defaultDeps({ providerFor, provisioner: provisionerFromConfig }), event),
);
