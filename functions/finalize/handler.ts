import * as z from 'zod';
import { providerFor } from '../lib/deploy/index.js';
import { notifierFromConfig } from '../lib/notify/index.js';
import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { FinalizeEventSchema, finalizeRelease } from '../lib/pipeline/finalize.js';
import { HoldEventSchema, holdForRedrive } from '../lib/pipeline/redrive-hold.js';

/**
 * Finalize: terminal status, open steps closed, lock released, outcome email sent. The HoldForRedrive state invokes
 * it too (`action: 'hold'`), where a release that failed before production waits for `launchway redrive`.
 */
export const handler = stepHandler(z.union([HoldEventSchema, FinalizeEventSchema]), async (event): Promise<object> => {
  // Deploy providers: a SUCCEEDED release retires the production version it replaced (pipeline/retire.ts).
  const deps = defaultDeps({ notifier: notifierFromConfig, providerFor });
  return 'action' in event ? holdForRedrive(deps, event) : finalizeRelease(deps, event);
});
