import type { Context } from 'aws-lambda';
import { STEP_FUNCTIONS, placeholderFor, type StepFunctionId } from '../functions/registry.js';
import { handler as prepare } from '../functions/prepare/handler.js';
import { handler as lock } from '../functions/lock/handler.js';
import { handler as deploy } from '../functions/deploy/handler.js';
import { handler as deployStatus } from '../functions/deploy-status/handler.js';
import { handler as smokeTest } from '../functions/smoke-test/handler.js';
import { handler as requestApproval } from '../functions/request-approval/handler.js';
import { handler as provisionInterop } from '../functions/provision-interop/handler.js';
import { handler as releaseNotes } from '../functions/release-notes/handler.js';
import { handler as rollback } from '../functions/rollback/handler.js';
import { handler as finalize } from '../functions/finalize/handler.js';

type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

const HANDLERS: Record<StepFunctionId, LambdaHandler> = {
  Prepare: prepare as LambdaHandler,
  Lock: lock as LambdaHandler,
  Deploy: deploy as LambdaHandler,
  DeployStatus: deployStatus as LambdaHandler,
  SmokeTest: smokeTest as LambdaHandler,
  RequestApproval: requestApproval as LambdaHandler,
  ProvisionInterop: provisionInterop as LambdaHandler,
  ReleaseNotes: releaseNotes as LambdaHandler,
  Rollback: rollback as LambdaHandler,
  Finalize: finalize as LambdaHandler,
};

export const LOCAL_ACCOUNT = '000000000000';

/** The ARN a step function has in embedded mode (the same shape as on AWS). */
export function localFunctionArn(id: StepFunctionId, region: string): string {
  return `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:launchway-${STEP_FUNCTIONS[id]}`;
}

/** Every step handler by its local ARN: what the local Step Functions endpoint invokes in process. */
export function localLambdas(region: string): Record<string, LambdaHandler> {
  return Object.fromEntries(
    (Object.keys(HANDLERS) as StepFunctionId[]).map((id) => [localFunctionArn(id, region), HANDLERS[id]]),
  );
}

/** `definitionSubstitutions` for embedded mode. */
export function localSubstitutions(region: string): Record<string, string> {
  return Object.fromEntries(
    (Object.keys(HANDLERS) as StepFunctionId[]).map((id) => [placeholderFor(id), localFunctionArn(id, region)]),
  );
}
