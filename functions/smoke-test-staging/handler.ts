import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { SmokeTestStagingEventSchema, smokeTestStaging } from '../lib/pipeline/smoke-test-staging.js';

/** SmokeTestStaging: the service's Postman collection with Newman against staging. */
export const handler = stepHandler(SmokeTestStagingEventSchema, (event) => smokeTestStaging(defaultDeps(), event));
