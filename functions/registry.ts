/**
 * The step functions of the pipeline: the ASL placeholder prefix (`${PrepareFunctionArn}`) and the folder under
 * `functions/` that holds its handler. The CDK construct and the embedded runtime both build from this list, so the
 * state machine, the Lambda functions and the local registry cannot drift apart.
 */
export const STEP_FUNCTIONS = {
  Prepare: 'prepare',
  Lock: 'lock',
  Deploy: 'deploy',
  DeployStatus: 'deploy-status',
  SmokeTest: 'smoke-test',
  RequestApproval: 'request-approval',
  ProvisionInterop: 'provision-interop',
  ReleaseNotes: 'release-notes',
  Rollback: 'rollback',
  Finalize: 'finalize',
} as const;

export type StepFunctionId = keyof typeof STEP_FUNCTIONS;

/** The placeholder a function's ARN replaces in statemachines/release.asl.json. */
export const placeholderFor = (id: StepFunctionId) => `${id}FunctionArn`;
