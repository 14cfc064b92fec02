import { notifierFromConfig } from '../lib/notify/index.js';
import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { FinalizeEventSchema, finalizeRelease } from '../lib/pipeline/finalize.js';

/** Finalize: terminal status, open steps closed, lock released, outcome email sent. */
export const handler = stepHandler(FinalizeEventSchema, (event) => finalizeRelease(defaultDeps({ notifier: notifierFromConfig }), event));
