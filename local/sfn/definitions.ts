import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { assertName, stateMachineArn, type ArnScope } from './arns.js';

/** A state machine the local endpoint serves: a name and its ASL (JSON text or an already parsed object). */
export interface StateMachineSpec {
  name: string;
  definition: string | object;
  /** Reported by DescribeStateMachine and `$$.Execution.RoleArn`; defaults to a role named after the machine. */
  roleArn?: string;
}

/** How a Task state calls Lambda. */
export type TaskKind = 'invoke' | 'invoke.waitForTaskToken' | 'function';

/** What the local Lambda integration needs to know about one Task state. */
export interface TaskStateInfo {
  name: string;
  kind: TaskKind;
  resource: string;
  /** Literal TimeoutSeconds, if the state has one. */
  timeoutSeconds?: number;
  /** Literal HeartbeatSeconds, if the state has one. */
  heartbeatSeconds?: number;
  /** True when the engine's copy of the state wraps its parameters (see `wrapPathTimeouts`). */
  wrapped: boolean;
}

/** A parsed JSON object. */
export type JsonObject = Record<string, unknown>;

/** A loaded state machine: the engine instance plus what the endpoint reports and the Task overrides need. */
export interface LoadedStateMachine {
  name: string;
  arn: string;
  roleArn: string;
  /** The definition as given (JSON text), which DescribeStateMachine returns. */
  definitionText: string;
  creationDate: number;
  engine: StateMachine;
  /** The parsed definition as the engine got it (Task states prepared); a redrive builds its engine from it. */
  definition: JsonObject;
  tasks: Map<string, TaskStateInfo>;
}

/** Keys the engine's copy of a wrapped Task state uses in its parameters; unwrapped before the Lambda sees them. */
export const WRAPPED = {
  params: '__launchwayParameters',
  timeout: '__launchwayTimeoutSeconds',
  heartbeat: '__launchwayHeartbeatSeconds',
} as const;

/** The longest timeout a Node timer holds (2^31 - 1 ms), in whole seconds. */
export const MAX_TIMER_SECONDS = Math.floor(2_147_483_647 / 1000);

/**
 * Parses, checks and prepares a state machine for the engine. Every problem is reported with the machine and
 * state name: unreplaced `${Placeholders}`, a Task resource other than Lambda, a state name used twice (overrides
 * are keyed by state name), or anything the engine's ASL validator rejects.
 */
export function loadStateMachine(spec: StateMachineSpec, scope: ArnScope): LoadedStateMachine {
  assertName(spec.name, 'a state machine name');
  const definitionText = typeof spec.definition === 'string' ? spec.definition : JSON.stringify(spec.definition, null, 2);
  const placeholders = definitionText.match(/\$\{[^}]*\}/g);
  if (placeholders) {
    throw new Error(
      `State machine "${spec.name}": definition still has placeholders ${[...new Set(placeholders)].join(', ')}; substitute them before loading it`,
    );
  }
  let parsed: JsonObject;
  try {
    parsed = JSON.parse(definitionText) as JsonObject;
  } catch (error) {
    throw new Error(`State machine "${spec.name}": definition is not valid JSON: ${(error as Error).message}`);
  }
  const tasks = new Map<string, TaskStateInfo>();
  collectStates(spec.name, parsed, tasks, new Set());
  let engine: StateMachine;
  try {
    engine = new StateMachine(parsed as unknown as StateMachineDefinition);
  } catch (error) {
    throw new Error(`State machine "${spec.name}": ${(error as Error).message}`);
  }
  return {
    name: spec.name,
    arn: stateMachineArn(scope, spec.name),
    roleArn: spec.roleArn ?? `arn:aws:iam::${scope.accountId}:role/${spec.name}-role`,
    definitionText,
    creationDate: Date.now(),
    engine,
    definition: parsed,
    tasks,
  };
}

/** Walks the states, nested Parallel branches and Map processors included; prepares each Task state in place. */
function collectStates(machine: string, graph: JsonObject, tasks: Map<string, TaskStateInfo>, seen: Set<string>): void {
  const states = graph.States;
  if (!states || typeof states !== 'object') return; // the engine's validator reports a missing States
  for (const [name, state] of Object.entries(states as Record<string, JsonObject>)) {
    if (seen.has(name)) {
      throw new Error(`State machine "${machine}": state name "${name}" is used more than once; state names must be unique`);
    }
    seen.add(name);
    if (state.Type === 'Task') tasks.set(name, prepareTask(machine, name, state));
    if (state.Type === 'Parallel' && Array.isArray(state.Branches)) {
      for (const branch of state.Branches as JsonObject[]) collectStates(machine, branch, tasks, seen);
    }
    if (state.Type === 'Map') {
      const processor = (state.ItemProcessor ?? state.Iterator) as JsonObject | undefined;
      if (processor) collectStates(machine, processor, tasks, seen);
    }
  }
}

function taskKind(resource: unknown): TaskKind | undefined {
  if (typeof resource !== 'string') return undefined;
  if (/^arn:aws[a-z-]*:states:::lambda:invoke$/.test(resource)) return 'invoke';
  if (/^arn:aws[a-z-]*:states:::lambda:invoke\.waitForTaskToken$/.test(resource)) return 'invoke.waitForTaskToken';
  if (/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[^:]+(:[^:]+)?$/.test(resource)) return 'function';
  return undefined;
}

function prepareTask(machine: string, name: string, state: JsonObject): TaskStateInfo {
  const kind = taskKind(state.Resource);
  if (!kind) {
    throw new Error(
      `State machine "${machine}": Task state "${name}" has Resource ${JSON.stringify(state.Resource)}; the local endpoint runs ` +
        'only arn:aws:states:::lambda:invoke, arn:aws:states:::lambda:invoke.waitForTaskToken and Lambda function ARNs',
    );
  }
  if (typeof state.TimeoutSeconds === 'number' && state.TimeoutSeconds > MAX_TIMER_SECONDS) {
    // The engine arms a Node timer, which fires at once past ~24.8 days; on AWS the task would simply wait.
    state.TimeoutSeconds = MAX_TIMER_SECONDS;
  }
  const wrapped = wrapPathTimeouts(state);
  return {
    name,
    kind,
    resource: state.Resource as string,
    timeoutSeconds: typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : undefined,
    heartbeatSeconds: typeof state.HeartbeatSeconds === 'number' ? state.HeartbeatSeconds : undefined,
    wrapped,
  };
}

/**
 * The engine evaluates `TimeoutSecondsPath` against the state's parameters, where AWS evaluates it against the
 * state input, and it ignores `HeartbeatSecondsPath`. So for such a state the engine's copy gets parameters that
 * carry the original parameters plus both values resolved from the input, and a `TimeoutSecondsPath` that points
 * at the resolved value. The Task override unwraps them again, so the Lambda sees the original parameters.
 */
function wrapPathTimeouts(state: JsonObject): boolean {
  const timeoutPath = state.TimeoutSecondsPath;
  const heartbeatPath = state.HeartbeatSecondsPath;
  if (typeof timeoutPath !== 'string' && typeof heartbeatPath !== 'string') return false;
  const wrappedParameters: JsonObject = 'Parameters' in state ? { [WRAPPED.params]: state.Parameters } : { [`${WRAPPED.params}.$`]: '$' };
  if (typeof timeoutPath === 'string') {
    wrappedParameters[`${WRAPPED.timeout}.$`] = timeoutPath;
    state.TimeoutSecondsPath = `$.${WRAPPED.timeout}`;
  }
  if (typeof heartbeatPath === 'string') {
    wrappedParameters[`${WRAPPED.heartbeat}.$`] = heartbeatPath;
    delete state.HeartbeatSecondsPath;
  }
  state.Parameters = wrappedParameters;
  return true;
}
