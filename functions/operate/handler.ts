import { providerFor } from '../lib/deploy/index.js';
import { provisionerFromConfig } from '../lib/interop/index.js';
import { notifierFromConfig } from '../lib/notify/index.js';
import { stepHandler } from '../lib/handler.js';
import { OperateEventSchema, runOperation } from '../lib/operations/operate-event.js';
import { defaultDeps } from '../lib/pipeline/deps.js';

/**
 * Operate: the operating commands that change production (`launchway rollback`), invoked by the CLI. It runs in the
 * stack, with the grants of the functions that roll back, rather than with the operator's own.
 */
export const handler = stepHandler(OperateEventSchema, (event) =>
  runOperation(defaultDeps({ providerFor, provisioner: provisionerFromConfig, notifier: notifierFromConfig }), event),
);
