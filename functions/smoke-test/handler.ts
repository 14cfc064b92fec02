import { provisionerFromConfig } from '../lib/interop/index.js';
import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { SmokeEventSchema, runStageTests } from '../lib/pipeline/smoke.js';

/** SmokeTestStaging / ValidateProduction: Newman against staging, or health plus Newman through the interop layer. */
export const handler = stepHandler(SmokeEventSchema, (event) => runStageTests(defaultDeps({ provisioner: provisionerFromConfig }), event));
