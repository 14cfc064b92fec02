/**
 * The one table of the pipeline's steps. Each row is a step as people read it (its record name, shown by the
 * CLI, the release notes and the docs) with the ASL Task states that run it and the Lambda function each state
 * invokes. A function's id says what it does; its folder under `functions/` and its ASL placeholder derive from
 * the id (`SmokeTestStaging` → `functions/smoke-test-staging/`, `${SmokeTestStagingFunctionArn}`). The CDK
 * construct, the embedded runtime and the ASL check all read this table, so none of them can drift.
 */

/** One step: its record name, and each ASL Task state that runs it with the function that state invokes. */
interface StepRow {
  readonly step: string;
  readonly states: Readonly<Record<string, string>>;
  /** False for Finalize, which ends the release rather than recording a step of its own. */
  readonly record?: false;
}

/** The steps in pipeline order. The order of the recorded ones keeps their items sorted in the table (`STEP#<nn>`). */
export const STEP_TABLE = [
  { step: 'Prepare', states: { Prepare: 'Prepare' } },
  { step: 'AcquireLock', states: { AcquireLock: 'AcquireLock' } },
  // One pair of functions deploys and polls both environments: the environment is in the state's payload.
  { step: 'DeployStaging', states: { DeployStaging: 'Deploy', CheckStaging: 'DeployStatus' } },
  { step: 'SmokeTestStaging', states: { SmokeTestStaging: 'SmokeTestStaging' } },
  { step: 'Approval', states: { RequestApproval: 'Approval', RemindApprovers: 'Approval' } },
  { step: 'DeployProduction', states: { DeployProduction: 'Deploy', CheckProduction: 'DeployStatus' } },
  { step: 'ProvisionInterop', states: { ProvisionInterop: 'ProvisionInterop' } },
  { step: 'ValidateProduction', states: { ValidateProduction: 'ValidateProduction' } },
  { step: 'PublishReleaseNotes', states: { PublishReleaseNotes: 'PublishReleaseNotes' } },
  { step: 'Rollback', states: { Rollback: 'Rollback' } },
  // HoldForRedrive, where a release that failed before production waits for `launchway redrive`, is Finalize's too.
  { step: 'Finalize', states: { Finalize: 'Finalize', HoldForRedrive: 'Finalize' }, record: false },
] as const satisfies readonly StepRow[];

type Row = (typeof STEP_TABLE)[number];
type Recorded = Exclude<Row, { record: false }>;

/** The name of a recorded step: what its record, the CLI, the notes and the docs call it. */
export type StepName = Recorded['step'];

/** The recorded steps, in pipeline order. */
export const STEPS: readonly StepName[] = STEP_TABLE.filter((row): row is Recorded => !('record' in row)).map((row) => row.step);

/** The recorded step an ASL Task state runs (`CheckProduction` → `DeployProduction`); undefined for Finalize and non-Task states. */
export function stepOfState(state: string): StepName | undefined {
  const row = STEP_TABLE.find((r) => Object.hasOwn(r.states, state));
  return row && !('record' in row) ? row.step : undefined;
}

/** A Lambda function the state machine invokes, by what it does. */
export type StepFunctionId = Row extends infer R ? (R extends { states: infer S } ? S[keyof S] : never) : never;

/** Every step function once, in pipeline order. */
export const STEP_FUNCTION_IDS: readonly StepFunctionId[] = [...new Set(STEP_TABLE.flatMap((row) => Object.values(row.states)))];

type KebabTail<S extends string> = S extends `${infer C}${infer Rest}`
  ? `${C extends Lowercase<C> ? C : `-${Lowercase<C>}`}${KebabTail<Rest>}`
  : '';
/** `DeployStatus` → `deploy-status`, at the type level. */
export type Kebab<S extends string> = S extends `${infer C}${infer Rest}` ? `${Lowercase<C>}${KebabTail<Rest>}` : '';

/** A step function's folder under `functions/` (also its Lambda name suffix, `launchway-<folder>`). */
export type StepFunctionFolder = Kebab<StepFunctionId>;

/** The folder under `functions/` that holds a step function's handler: its id in kebab case. */
export function folderOf<Id extends StepFunctionId>(id: Id): Kebab<Id> {
  return id.replace(/[A-Z]/g, (c, at: number) => (at === 0 ? '' : '-') + c.toLowerCase()) as Kebab<Id>;
}

/** The key in the ASL's `${…}` placeholders (and the CDK DefinitionSubstitutions) that a function's ARN replaces. */
export function placeholderOf(id: StepFunctionId): `${StepFunctionId}FunctionArn` {
  return `${id}FunctionArn`;
}

/**
 * Handlers the state machine does not invoke: the approval links' API behind API Gateway, the target of the
 * EventBridge rule on the state machine's FAILED, TIMED_OUT and ABORTED executions, and the operating commands
 * the CLI invokes (`launchway rollback`).
 */
export const API_FOLDERS = ['approval-api', 'execution-status', 'operate'] as const;

/** A handler folder under `functions/`: every step function's and the other handlers'. */
export type HandlerName = StepFunctionFolder | (typeof API_FOLDERS)[number];

/** Every handler folder, step functions first in pipeline order. */
export const HANDLER_NAMES: readonly HandlerName[] = [...STEP_FUNCTION_IDS.map(folderOf), ...API_FOLDERS];
