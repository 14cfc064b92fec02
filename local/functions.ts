import type { Context } from 'aws-lambda';
import { STEP_FUNCTION_IDS, folderOf, placeholderOf, type StepFunctionId } from '../functions/steps.js';
import { handler as prepare } from '../functions/prepare/handler.js';
import { handler as acquireLock } from '../functions/acquire-lock/handler.js';
import { handler as deploy } from '../functions/deploy/handler.js';
import { handler as deployStatus } from '../functions/deploy-status/handler.js';
import { handler as smokeTestStaging } from '../functions/smoke-test-staging/handler.js';
import { handler as approval } from '../functions/approval/handler.js';
import { handler as provisionInterop } from '../functions/provision-interop/handler.js';
import { handler as validateProduction } from '../functions/validate-production/handler.js';
import { handler as publishReleaseNotes } from '../functions/publish-release-notes/handler.js';
import { handler as rollback } from '../functions/rollback/handler.js';
import { handler as finalize } from '../functions/finalize/handler.js';

/** A Lambda handler as the local endpoint calls it. */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/** Every step function of functions/steps.ts, in process: a missing one fails type checking. */
const HANDLERS: Record<StepFunctionId, LambdaHandler> = {
  Prepare: prepare as LambdaHandler,
  AcquireLock: acquireLock as LambdaHandler,
  Deploy: deploy as LambdaHandler,
  DeployStatus: deployStatus as LambdaHandler,
  SmokeTestStaging: smokeTestStaging as LambdaHandler,
  Approval: approval as LambdaHandler,
  ProvisionInterop: provisionInterop as LambdaHandler,
  ValidateProduction: validateProduction as LambdaHandler,
  PublishReleaseNotes: publishReleaseNotes as LambdaHandler,
  Rollback: rollback as LambdaHandler,
  Finalize: finalize as LambdaHandler,
};

export const LOCAL_ACCOUNT = '000000000000';

/** The ARN a step function has in embedded mode (the same shape as on AWS): `launchway-<folder>`. */
export function localFunctionArn(id: StepFunctionId, region: string): string {
  return `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:launchway-${folderOf(id)}`;
}

/**
 * Every step handler by its local ARN: what the local Step Functions endpoint invokes in process. `wrap` may replace
 * a handler (tests hold a step with it).
 */
export function localLambdas(
  region: string,
  wrap: (id: StepFunctionId, handler: LambdaHandler) => LambdaHandler = (_id, handler) => handler,
): Record<string, LambdaHandler> {
  return Object.fromEntries(STEP_FUNCTION_IDS.map((id) => [localFunctionArn(id, region), wrap(id, HANDLERS[id])]));
}

/** `definitionSubstitutions` for embedded mode. */
export function localSubstitutions(region: string): Record<string, string> {
  return Object.fromEntries(STEP_FUNCTION_IDS.map((id) => [placeholderOf(id), localFunctionArn(id, region)]));
}
