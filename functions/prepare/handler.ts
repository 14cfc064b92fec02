import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { PrepareEventSchema, prepareRelease } from '../lib/pipeline/prepare.js';

/** Step 1, Prepare: validate the request and record the release. */
export const handler = stepHandler(PrepareEventSchema, (event) => prepareRelease(defaultDeps(), event));
