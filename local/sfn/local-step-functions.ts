// The engine calls Promise.withResolvers, which Node 20 lacks: the polyfill must load before it.
import '../polyfills.js';
import { randomUUID } from 'node:crypto';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, type RunOptions } from 'aws-local-stepfunctions';
import {
  describeExecutionInput,
  describeStateMachineInput,
  getExecutionHistoryInput,
  listExecutionsInput,
  listStateMachinesInput,
  parseRequest,
  sendTaskFailureInput,
  sendTaskHeartbeatInput,
  sendTaskSuccessInput,
  startExecutionInput,
  stopExecutionInput,
  type DescribeExecutionInput,
  type DescribeStateMachineInput,
  type ExecutionStatus,
  type GetExecutionHistoryInput,
  type ListExecutionsInput,
  type ListStateMachinesInput,
  type SendTaskFailureInput,
  type SendTaskHeartbeatInput,
  type SendTaskSuccessInput,
  type StartExecutionInput,
  type StopExecutionInput,
} from './api-schemas.js';
import { assertArn, assertName, executionArn, type ArnScope } from './arns.js';
import { loadStateMachine, type LoadedStateMachine, type StateMachineSpec } from './definitions.js';
import { SfnServiceError, namedError } from './errors.js';
import { buildHistory, type EngineEvent, type WireHistoryEvent } from './history.js';
import { startJsonProtocolServer, type JsonProtocolServer } from './http-server.js';
import { FaultInjector, LambdaRegistry, taskOverride, type LambdaHandler, type TaskDeps, type TaskInvocation } from './lambda-tasks.js';
import { paginate } from './pagination.js';
import { TaskTokens } from './task-tokens.js';

export type { StateMachineSpec } from './definitions.js';
export type { LambdaHandler, LambdaLikeContext } from './lambda-tasks.js';
export type { ExecutionStatus } from './api-schemas.js';
export type { WireHistoryEvent } from './history.js';

export interface LocalStepFunctionsOptions {
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
  /** The state machines served; their ASL must have its `${Placeholders}` substituted already. */
  stateMachines: StateMachineSpec[];
  /** Lambda handlers by function name or function ARN; Task states find theirs by `Parameters.FunctionName`. */
  lambdas: Record<string, LambdaHandler>;
  /** Milliseconds to wait in a Wait state instead of its Seconds/Timestamp, by Wait state name. */
  waitTimeOverrides?: Record<string, number>;
  /** Milliseconds to pause before a retry instead of IntervalSeconds/BackoffRate, by state name (or per retrier). */
  retryIntervalOverrides?: Record<string, number | number[]>;
  /** Called once when an execution closes (succeeded, failed, timed out or stopped). */
  onExecutionEnd?: (execution: ExecutionDescription) => void;
}

/** DescribeExecution's answer, in the wire shape: timestamps are epoch seconds. */
export interface ExecutionDescription {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  input: string;
  inputDetails: { included: boolean };
  output?: string;
  outputDetails?: { included: boolean };
  error?: string;
  cause?: string;
}

export interface ExecutionListItem {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
}

interface Execution {
  arn: string;
  name: string;
  machine: LoadedStateMachine;
  input: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  events: EngineEvent[];
  invocations: TaskInvocation[];
  abort(): void;
  /** Settles when the engine has finished with the execution and its event log is read to the end. */
  settled: Promise<void>;
  waiters: ((description: ExecutionDescription) => void)[];
}

interface Closing {
  status: Exclude<ExecutionStatus, 'RUNNING'>;
  output?: string;
  error?: string;
  cause?: string;
}

// Executions inputs and task outputs are limited to 256 KiB on AWS.
const MAX_PAYLOAD_BYTES = 256 * 1024;
// The engine's default Task timeout, which applies when a state sets none.
const ENGINE_DEFAULT_TIMEOUT_MS = 60_000;

/**
 * A Step Functions endpoint on one machine: the ASL runs in aws-local-stepfunctions, every Task state calls a
 * registered Lambda handler in process, and the AWS JSON 1.0 protocol is served over HTTP on 127.0.0.1 so the
 * SDK's `SFNClient` (via `AWS_ENDPOINT_URL_SFN`) and `aws stepfunctions --endpoint-url` work unchanged.
 *
 * The operation methods (`startExecution`, ...) take the request members the API takes and return the JSON body
 * AWS returns (timestamps in epoch seconds); they throw `SfnServiceError` with the AWS error name.
 */
export class LocalStepFunctions {
  readonly region: string;
  readonly accountId: string;
  private readonly machines = new Map<string, LoadedStateMachine>();
  private readonly runs = new Map<string, Execution>();
  private readonly tokens = new TaskTokens();
  private readonly faults = new FaultInjector();
  private readonly deps: TaskDeps;
  private server?: JsonProtocolServer;

  constructor(private readonly options: LocalStepFunctionsOptions) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    if (!/^\d{12}$/.test(this.accountId)) throw new Error(`accountId must be 12 digits, got "${this.accountId}"`);
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(this.region)) throw new Error(`region must look like us-east-1, got "${this.region}"`);
    const scope: ArnScope = { region: this.region, accountId: this.accountId };
    for (const spec of options.stateMachines) {
      const machine = loadStateMachine(spec, scope);
      if (this.machines.has(machine.arn)) throw new Error(`stateMachines: the name "${spec.name}" is used twice`);
      this.machines.set(machine.arn, machine);
    }
    this.deps = { lambdas: new LambdaRegistry(options.lambdas, scope), faults: this.faults, tokens: this.tokens };
  }

  /** Starts serving on 127.0.0.1; `port: 0` picks a free port. */
  async listen(port = 0): Promise<{ url: string; port: number }> {
    if (this.server) throw new Error(`already listening on ${this.server.url}`);
    this.server = await startJsonProtocolServer('AWSStepFunctions', (operation, body) => this.dispatch(operation, body), port);
    return { url: this.server.url, port: this.server.port };
  }

  /** The endpoint URL, once listening. */
  get url(): string | undefined {
    return this.server?.url;
  }

  /**
   * Stops every running execution (as StopExecution does, closing their task tokens), waits for the engine to
   * let go of them (bounded), and closes the server.
   */
  async close(): Promise<void> {
    const running = [...this.runs.values()].filter((run) => run.status === 'RUNNING');
    for (const run of running) this.stop(run, { status: 'ABORTED', cause: 'the local Step Functions endpoint closed' });
    await withTimeout(Promise.all(running.map((run) => run.settled)), 5_000);
    await this.server?.close();
    this.server = undefined;
  }

  /**
   * Test hook: the next `times` Lambda invocations from Task state `stateName` throw an Error named `errorName`
   * before the handler is called, as when Lambda itself fails (`Lambda.ServiceException`), so Retry is exercised.
   */
  injectFault(stateName: string, errorName: string, times = 1): void {
    const known = [...this.machines.values()].some((machine) => machine.tasks.has(stateName));
    if (!known) throw new Error(`injectFault: no state machine has a Task state named "${stateName}"`);
    this.faults.add(stateName, errorName, times);
  }

  /** Every execution started so far, newest first. */
  executions(): ExecutionDescription[] {
    return [...this.runs.values()].reverse().map((run) => describe(run));
  }

  /** Resolves with the execution once it is closed; rejects if it is still running after `timeoutMs`. */
  async waitForExecution(executionArn: string, timeoutMs = 30_000): Promise<ExecutionDescription> {
    const run = this.execution(executionArn);
    if (run.status !== 'RUNNING') return describe(run);
    return new Promise<ExecutionDescription>((resolve, reject) => {
      const timer = setTimeout(() => {
        run.waiters = run.waiters.filter((waiter) => waiter !== done);
        reject(new Error(`execution ${executionArn} is still RUNNING after ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (description: ExecutionDescription) => {
        clearTimeout(timer);
        resolve(description);
      };
      run.waiters.push(done);
    });
  }

  // ---- Operations -------------------------------------------------------------------------------------------

  startExecution(input: StartExecutionInput): { executionArn: string; startDate: number } {
    const machine = this.machine(input.stateMachineArn);
    const name = input.name ?? randomUUID();
    assertName(name, 'an execution name');
    const inputText = input.input ?? '{}';
    const parsed = parseJsonMember(inputText, 'InvalidExecutionInput', 'Invalid State Machine Execution Input');
    const arn = executionArn(this, machine.name, name);
    const existing = this.runs.get(arn);
    if (existing) {
      // AWS Standard: a repeated start of a running execution with the same input is the same start.
      if (existing.status === 'RUNNING' && existing.input === inputText) return { executionArn: arn, startDate: existing.startDate / 1000 };
      throw new SfnServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    const run = this.launch(machine, arn, name, inputText, parsed);
    return { executionArn: arn, startDate: run.startDate / 1000 };
  }

  describeExecution(input: DescribeExecutionInput): ExecutionDescription {
    return describe(this.execution(input.executionArn));
  }

  listExecutions(input: ListExecutionsInput): { executions: ExecutionListItem[]; nextToken?: string } {
    if (!input.stateMachineArn) {
      throw new SfnServiceError('ValidationException', 'stateMachineArn is required (listing by mapRunArn is not supported locally)');
    }
    const machine = this.machine(input.stateMachineArn);
    const matching = [...this.runs.values()]
      .reverse()
      .filter((run) => run.machine === machine && (!input.statusFilter || run.status === input.statusFilter));
    const page = paginate(matching, input, `ListExecutions|${machine.arn}|${input.statusFilter ?? ''}`);
    return {
      executions: page.items.map((run) => ({
        executionArn: run.arn,
        stateMachineArn: machine.arn,
        name: run.name,
        status: run.status,
        startDate: run.startDate / 1000,
        stopDate: run.stopDate === undefined ? undefined : run.stopDate / 1000,
      })),
      nextToken: page.nextToken,
    };
  }

  getExecutionHistory(input: GetExecutionHistoryInput): { events: WireHistoryEvent[]; nextToken?: string } {
    const run = this.execution(input.executionArn);
    const events = buildHistory(
      {
        input: run.input,
        roleArn: run.machine.roleArn,
        region: this.region,
        status: run.status,
        output: run.output,
        error: run.error,
        cause: run.cause,
        startDate: run.startDate,
        stopDate: run.stopDate,
        events: run.events,
        invocations: run.invocations,
      },
      { includeExecutionData: input.includeExecutionData },
    );
    if (input.reverseOrder) events.reverse();
    const page = paginate(events, input, `GetExecutionHistory|${run.arn}|${Boolean(input.reverseOrder)}`);
    return { events: page.items, nextToken: page.nextToken };
  }

  stopExecution(input: StopExecutionInput): { stopDate: number } {
    const run = this.execution(input.executionArn);
    if (run.status === 'RUNNING') this.stop(run, { status: 'ABORTED', error: input.error, cause: input.cause });
    return { stopDate: (run.stopDate ?? Date.now()) / 1000 };
  }

  sendTaskSuccess(input: SendTaskSuccessInput): Record<string, never> {
    const output = parseJsonMember(input.output, 'InvalidOutput', 'Invalid Output');
    this.tokens.succeed(input.taskToken, output);
    return {};
  }

  sendTaskFailure(input: SendTaskFailureInput): Record<string, never> {
    this.tokens.fail(input.taskToken, input.error ?? '', input.cause ?? '');
    return {};
  }

  sendTaskHeartbeat(input: SendTaskHeartbeatInput): Record<string, never> {
    this.tokens.heartbeat(input.taskToken);
    return {};
  }

  describeStateMachine(input: DescribeStateMachineInput) {
    const machine = this.machine(input.stateMachineArn);
    return {
      stateMachineArn: machine.arn,
      name: machine.name,
      status: 'ACTIVE',
      definition: machine.definitionText,
      roleArn: machine.roleArn,
      type: 'STANDARD',
      creationDate: machine.creationDate / 1000,
      loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      tracingConfiguration: { enabled: false },
    };
  }

  listStateMachines(input: ListStateMachinesInput) {
    const page = paginate([...this.machines.values()], input, 'ListStateMachines');
    return {
      stateMachines: page.items.map((machine) => ({
        stateMachineArn: machine.arn,
        name: machine.name,
        type: 'STANDARD',
        creationDate: machine.creationDate / 1000,
      })),
      nextToken: page.nextToken,
    };
  }

  // ---- Internals --------------------------------------------------------------------------------------------

  private dispatch(operation: string, body: unknown): Promise<unknown> {
    const operations: Record<string, () => unknown> = {
      StartExecution: () => this.startExecution(parseRequest(startExecutionInput, body)),
      DescribeExecution: () => this.describeExecution(parseRequest(describeExecutionInput, body)),
      ListExecutions: () => this.listExecutions(parseRequest(listExecutionsInput, body)),
      GetExecutionHistory: () => this.getExecutionHistory(parseRequest(getExecutionHistoryInput, body)),
      StopExecution: () => this.stopExecution(parseRequest(stopExecutionInput, body)),
      SendTaskSuccess: () => this.sendTaskSuccess(parseRequest(sendTaskSuccessInput, body)),
      SendTaskFailure: () => this.sendTaskFailure(parseRequest(sendTaskFailureInput, body)),
      SendTaskHeartbeat: () => this.sendTaskHeartbeat(parseRequest(sendTaskHeartbeatInput, body)),
      DescribeStateMachine: () => this.describeStateMachine(parseRequest(describeStateMachineInput, body)),
      ListStateMachines: () => this.listStateMachines(parseRequest(listStateMachinesInput, body)),
    };
    const operationFn = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
    if (!operationFn) {
      return Promise.reject(
        new SfnServiceError('UnknownOperationException', `${operation} is not supported by the local Step Functions endpoint`),
      );
    }
    return Promise.resolve().then(operationFn);
  }

  private machine(arn: string): LoadedStateMachine {
    assertArn(arn, 'stateMachine', 'stateMachineArn');
    const machine = this.machines.get(arn);
    if (!machine) throw new SfnServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  private execution(arn: string): Execution {
    assertArn(arn, 'execution', 'executionArn');
    const run = this.runs.get(arn);
    if (!run) throw new SfnServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return run;
  }

  private launch(machine: LoadedStateMachine, arn: string, name: string, inputText: string, input: unknown): Execution {
    const startDate = Date.now();
    const run: Execution = {
      arn,
      name,
      machine,
      input: inputText,
      status: 'RUNNING',
      startDate,
      events: [],
      invocations: [],
      abort: () => undefined,
      settled: Promise.resolve(),
      waiters: [],
    };
    this.runs.set(arn, run);

    const tokens = this.tokens;
    const scope = { executionArn: arn, stopped: () => run.status !== 'RUNNING', invocations: run.invocations };
    const overrides = Object.fromEntries([...machine.tasks.values()].map((task) => [task.name, taskOverride(task, this.deps, scope)]));
    const execution = machine.engine.run(input as Parameters<typeof machine.engine.run>[0], {
      overrides: {
        taskResourceLocalHandlers: overrides as NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers'],
        waitTimeOverrides: this.options.waitTimeOverrides,
        retryIntervalOverrides: this.options.retryIntervalOverrides,
      },
      // The engine supplies only Execution.Input and StartTime. The Task object is shared by reference through the
      // engine's copies of the context, so its getter runs on every read: each attempt gets a fresh token, as on AWS.
      context: {
        Execution: { Id: arn, Name: name, RoleArn: machine.roleArn, StartTime: new Date(startDate).toISOString() },
        StateMachine: { Id: machine.arn, Name: machine.name },
        Task: {
          get Token() {
            return tokens.mint(arn);
          },
        },
      },
    });
    run.abort = execution.abort;

    const drained = (async () => {
      for await (const event of execution.eventLogs) {
        run.events.push(event);
        this.closeTimedOutTasks(run, event);
      }
    })();
    run.settled = execution.result
      .then(
        (output): Closing => ({ status: 'SUCCEEDED', output: JSON.stringify(output ?? null) }),
        (error: unknown): Closing => closingFor(error),
      )
      .then(async (closing) => {
        // The log ends with the execution's end event; read it all so the history is complete when the status
        // changes. Bounded in case the engine ever forgets to close it.
        await withTimeout(drained, 2_000);
        this.stop(run, closing);
      });
    return run;
  }

  /**
   * The engine times a task out by racing it, and leaves it running: close the tokens of the attempt that timed
   * out, so a late SendTaskSuccess gets TaskTimedOut. A retry of the same state started within the same
   * millisecond is not touched: only attempts old enough to have reached their timeout are closed.
   */
  private closeTimedOutTasks(run: Execution, event: EngineEvent): void {
    if (event.type !== 'StateFailed' || event.state.type !== 'Task' || event.Error !== 'States.Timeout') return;
    for (const invocation of run.invocations) {
      const timeoutMs = invocation.timeoutSeconds === undefined ? ENGINE_DEFAULT_TIMEOUT_MS : invocation.timeoutSeconds * 1000;
      const open = !invocation.succeeded && invocation.failedAt === undefined;
      if (invocation.stateName === event.state.name && open && invocation.scheduledAt + timeoutMs <= event.timestamp + 5) {
        for (const token of invocation.tokens) this.tokens.close(token, namedError('States.Timeout', 'the task timed out'));
      }
    }
  }

  /** Closes an execution once: records how it ended, aborts the engine, closes its tokens, tells the waiters. */
  private stop(run: Execution, closing: Closing): void {
    if (run.status !== 'RUNNING') return;
    Object.assign(run, closing, { stopDate: Date.now() });
    run.abort();
    this.tokens.closeExecution(run.arn, namedError('States.Runtime', `execution ${run.status}`));
    const description = describe(run);
    for (const waiter of run.waiters.splice(0)) waiter(description);
    try {
      this.options.onExecutionEnd?.(description);
    } catch (error) {
      // A listener's bug must not leave the execution half closed or reject a promise nobody awaits.
      console.error(`local Step Functions endpoint: onExecutionEnd failed for ${run.arn}`, error);
    }
  }
}

function describe(run: Execution): ExecutionDescription {
  const closed = run.status !== 'RUNNING';
  return {
    executionArn: run.arn,
    stateMachineArn: run.machine.arn,
    name: run.name,
    status: run.status,
    startDate: run.startDate / 1000,
    stopDate: run.stopDate === undefined ? undefined : run.stopDate / 1000,
    input: run.input,
    inputDetails: { included: true },
    output: run.output,
    outputDetails: closed && run.output !== undefined ? { included: true } : undefined,
    error: run.error,
    cause: run.cause,
  };
}

/** How the engine's rejection maps to the execution's end: its status, error and cause. */
function closingFor(error: unknown): Closing {
  if (error instanceof ExecutionAbortedError) return { status: 'ABORTED' };
  if (error instanceof ExecutionTimeoutError) {
    return { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution ran longer than its TimeoutSeconds' };
  }
  if (error instanceof ExecutionError && error.cause instanceof Error) {
    return { status: 'FAILED', error: error.cause.name, cause: error.cause.message };
  }
  return { status: 'FAILED', error: 'States.Runtime', cause: error instanceof Error ? error.message : String(error) };
}

function parseJsonMember(text: string, type: 'InvalidExecutionInput' | 'InvalidOutput', label: string): unknown {
  if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) {
    throw new SfnServiceError(type, `${label}: larger than the ${MAX_PAYLOAD_BYTES} bytes allowed`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new SfnServiceError(type, `${label}: not valid JSON (${(error as Error).message})`);
  }
}

/** Waits for `promise`, but no longer than `ms`; never rejects. */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
