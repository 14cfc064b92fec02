import { providerFor } from '../lib/deploy/index.js';
import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { DeployEventSchema, startDeployment } from '../lib/pipeline/deployments.js';

/** DeployStaging / DeployProduction: start a deployment through the catalog's provider. */
export const handler = stepHandler(DeployEventSchema, (event) => startDeployment(defaultDeps({ providerFor }), event));
