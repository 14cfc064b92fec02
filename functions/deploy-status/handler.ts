import { providerFor } from '../lib/deploy/index.js';
import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { DeployEventSchema, checkDeployment } from '../lib/pipeline/deployments.js';

/** CheckStaging / CheckProduction: poll the deployment once. */
export const handler = stepHandler(DeployEventSchema, (event) => checkDeployment(defaultDeps({ providerFor }), event));
