import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { JsonObject, LoadedStateMachine } from './definitions.js';
import type { EngineEvent } from './history.js';

/**
 * The Pass state a redrive starts with: it hands the state to redrive from its original input while the engine is
 * run on the execution's own input, so `$$.Execution.Input` stays what StartExecution got. Its events are dropped
 * as they arrive, so neither the history nor a later redrive sees it.
 */
export const REDRIVE_ENTRY = '__launchwayRedriveEntry';

/** Where a redrive continues: the top-level state the previous attempt entered and never left, with its input. */
export interface RedrivePoint {
  stateName: string;
  stateType: string;
  input: unknown;
}

/** Whether RedriveExecution would accept the execution now, as DescribeExecution's `redriveStatus` reports it. */
export type Redrivability = { status: 'REDRIVABLE'; point: RedrivePoint } | { status: 'NOT_REDRIVABLE'; reason: string };

/** What the redrive check needs to know of an execution. */
export interface RedriveCandidate {
  status: string;
  machine: LoadedStateMachine;
  /** The engine events of its latest attempt, in the order they arrived. */
  events: EngineEvent[];
}

/**
 * Whether the execution can be redriven, and from where. As on AWS, only a FAILED, TIMED_OUT or ABORTED execution
 * can; the reasons for RUNNING and SUCCEEDED are AWS's words. Locally, a redrive restarts one top-level state: a
 * Map or Parallel state that did not finish is refused, because AWS would rerun only its unsuccessful iterations
 * or branches and the engine can only rerun all of them.
 */
export function redrivability(run: RedriveCandidate): Redrivability {
  if (run.status === 'RUNNING' || run.status === 'SUCCEEDED') {
    return { status: 'NOT_REDRIVABLE', reason: `Execution is ${run.status} and cannot be redriven.` };
  }
  const point = redrivePoint(run.machine, run.events);
  if (!point)
    return { status: 'NOT_REDRIVABLE', reason: 'The execution ended before it entered a state, so there is none to redrive from.' };
  if (point.stateType === 'Map' || point.stateType === 'Parallel') {
    return {
      status: 'NOT_REDRIVABLE',
      reason:
        `The execution stopped inside the ${point.stateType} state "${point.stateName}"; the local endpoint cannot redrive ` +
        'only its unsuccessful iterations or branches, as AWS does.',
    };
  }
  return { status: 'REDRIVABLE', point };
}

/**
 * The last top-level state entered and never exited. Nested states are told apart by name: state names are unique
 * across the whole definition (the loader checks it), and only top-level ones are keys of the definition's States.
 * Top-level events arrive in order; nested ones, which arrive late, are skipped.
 */
function redrivePoint(machine: LoadedStateMachine, events: EngineEvent[]): RedrivePoint | undefined {
  const states = machine.definition.States as Record<string, JsonObject>;
  let open: RedrivePoint | undefined;
  for (const event of events) {
    if (!('state' in event) || !Object.hasOwn(states, event.state.name)) continue;
    if (event.type === 'StateEntered') open = { stateName: event.state.name, stateType: event.state.type, input: event.state.input };
    if (event.type === 'StateExited' && open?.stateName === event.state.name) open = undefined;
  }
  return open;
}

/**
 * An engine for the machine that starts at `point` with the point's input, through the `REDRIVE_ENTRY` Pass state.
 * The definition was validated when it was loaded; the copy is not validated again, because the states before
 * the redrive point are unreachable from the new start, which the validator refuses.
 */
export function redriveEngine(machine: LoadedStateMachine, point: RedrivePoint): StateMachine {
  const definition = machine.definition;
  // The input is wrapped: the engine's Pass state passes its own input through when Result is falsy (null, 0, '').
  const entry = { Type: 'Pass', Result: { input: point.input }, OutputPath: '$.input', Next: point.stateName };
  const states = { ...(definition.States as JsonObject), [REDRIVE_ENTRY]: entry };
  return new StateMachine({ ...definition, StartAt: REDRIVE_ENTRY, States: states } as unknown as StateMachineDefinition, {
    validationOptions: { noValidate: true },
  });
}

/** True for the engine events of the `REDRIVE_ENTRY` state. */
export function isRedriveEntryEvent(event: EngineEvent): boolean {
  return 'state' in event && event.state.name === REDRIVE_ENTRY;
}
