import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { AcquireLockEventSchema, acquireLock } from '../lib/pipeline/acquire-lock.js';

/** AcquireLock: one release per service at a time; the state machine waits while another holds it. */
export const handler = stepHandler(AcquireLockEventSchema, (event) => acquireLock(defaultDeps(), event.releaseId));
