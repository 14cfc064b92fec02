import { providerFor } from '../lib/deploy/index.js';
import { provisionerFromConfig } from '../lib/interop/index.js';
import { notifierFromConfig } from '../lib/notify/index.js';
import { stepHandler } from '../lib/handler.js';
import { defaultDeps } from '../lib/pipeline/deps.js';
import { ExecutionStatusEventSchema, endStoppedExecution } from '../lib/pipeline/execution-ended.js';

/**
 * ExecutionStatus: the target of the EventBridge rule on this state machine's FAILED, TIMED_OUT and ABORTED
 * executions. Ends a release no Finalize ended: rollback where production was touched, terminal record, lock, email.
 */
export const handler = stepHandler(ExecutionStatusEventSchema, (event) =>
  endStoppedExecution(defaultDeps({ providerFor, provisioner: provisionerFromConfig, notifier: notifierFromConfig }), event),
);
