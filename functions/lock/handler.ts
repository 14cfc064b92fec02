import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { LockEventSchema, acquireLock } from '../lib/pipeline/lock.js';

/** AcquireLock: one release per service at a time; the state machine waits while another holds it. */
export const handler = stepHandler(LockEventSchema, (event) => acquireLock(defaultDeps(), event.releaseId));
