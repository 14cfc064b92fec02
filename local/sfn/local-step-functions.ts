// The engine calls Promise.withResolvers, which Node 20 lacks: the polyfill must load before it.
import '../polyfills.js';
import { randomUUID } from 'node:crypto';
import {
  describeExecutionInput,
  describeStateMachineInput,
  getExecutionHistoryInput,
  listExecutionsInput,
  listStateMachinesInput,
  parseJsonMember,
  parseRequest,
  redriveExecutionInput,
  sendTaskFailureInput,
  sendTaskHeartbeatInput,
  sendTaskSuccessInput,
  startExecutionInput,
  stopExecutionInput,
  type DescribeExecutionInput,
  type DescribeStateMachineInput,
  type GetExecutionHistoryInput,
  type ListExecutionsInput,
  type ListStateMachinesInput,
  type RedriveExecutionInput,
  type SendTaskFailureInput,
  type SendTaskHeartbeatInput,
  type SendTaskSuccessInput,
  type StartExecutionInput,
  type StopExecutionInput,
} from './api-schemas.js';
import { assertArn, assertName, executionArn, type ArnScope } from './arns.js';
import { loadStateMachine, type LoadedStateMachine, type StateMachineSpec } from './definitions.js';
import { SfnServiceError } from './errors.js';
import { describe, type ExecutionDescription } from './execution-record.js';
import { Executions, type ExecutionRunOptions } from './executions.js';
import { executionHistory, type WireHistoryEvent } from './history.js';
import { startJsonProtocolServer, type JsonProtocolServer } from './http-server.js';
import { FaultInjector, LambdaRegistry, type LambdaHandler } from './lambda-tasks.js';
import { paginate } from './pagination.js';
import { StatusEvents, type StatusChangeRule, type StatusEventRetry } from './status-events.js';
import { TaskTokens } from './task-tokens.js';

export type { StateMachineSpec } from './definitions.js';
export type { LambdaHandler, LambdaLikeContext } from './lambda-tasks.js';
export type { ExecutionStatus } from './api-schemas.js';
export type { WireHistoryEvent } from './history.js';
export type { ExecutionDescription } from './execution-record.js';
export type {
  ExecutionStatusChangeDetail,
  ExecutionStatusChangeEvent,
  PublishedStatusEvent,
  StatusChangeRule,
  StatusEventDelivery,
  StatusEventRetry,
} from './status-events.js';

/** What the endpoint serves, and how its executions run. */
export interface LocalStepFunctionsOptions extends ExecutionRunOptions {
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
  /** The state machines served; their ASL must have its `${Placeholders}` substituted already. */
  stateMachines: StateMachineSpec[];
  /** Lambda handlers by function name or function ARN; Task states find theirs by `Parameters.FunctionName`. */
  lambdas: Record<string, LambdaHandler>;
  /**
   * EventBridge rules on "Step Functions Execution Status Change" events: each target is called asynchronously,
   * once per execution reaching a listed status (RUNNING on start and on redrive, then how it ended).
   */
  onStatusChange?: StatusChangeRule[];
  /** How a target that throws is retried. */
  statusEventRetry?: StatusEventRetry;
}

/** ListExecutions' item: the description without the input, output and how it ended. */
export type ExecutionListItem = Pick<
  ExecutionDescription,
  'executionArn' | 'stateMachineArn' | 'name' | 'status' | 'startDate' | 'stopDate' | 'redriveCount' | 'redriveDate'
>;

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
  private readonly tokens = new TaskTokens();
  private readonly faults = new FaultInjector();
  private readonly runs: Executions;
  private server?: JsonProtocolServer;
  /** The status change events published so far, and a way to await their delivery (`waitFor`). */
  readonly statusEvents: StatusEvents;

  constructor(options: LocalStepFunctionsOptions) {
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
    this.statusEvents = new StatusEvents(scope, options.onStatusChange, options.statusEventRetry);
    const deps = { lambdas: new LambdaRegistry(options.lambdas, scope), faults: this.faults, tokens: this.tokens };
    this.runs = new Executions(deps, options, (run) => this.statusEvents.publish(run));
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
   * Stops delivering status events (awaiting, bounded, the targets already running), stops every running execution
   * (as StopExecution does, closing their task tokens; their ABORTED events are not delivered, as on AWS they would
   * still be running), waits for the engine to let go of them (bounded), and closes the server.
   */
  async close(): Promise<void> {
    await this.statusEvents.close();
    await this.runs.stopAll('the local Step Functions endpoint closed');
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
    return this.runs.newestFirst().map((run) => describe(run));
  }

  /** Resolves with the execution once it is closed; rejects if it is still running after `timeoutMs`. */
  async waitForExecution(executionArn: string, timeoutMs = 30_000): Promise<ExecutionDescription> {
    return this.runs.waitFor(executionArn, timeoutMs);
  }

  // ---- Operations -------------------------------------------------------------------------------------------

  startExecution(input: StartExecutionInput): { executionArn: string; startDate: number } {
    const machine = this.machine(input.stateMachineArn);
    const name = input.name ?? randomUUID();
    assertName(name, 'an execution name');
    const inputText = input.input ?? '{}';
    const parsed = parseJsonMember(inputText, 'InvalidExecutionInput', 'Invalid State Machine Execution Input');
    const arn = executionArn(this, machine.name, name);
    const existing = this.runs.find(arn);
    if (existing) {
      // AWS Standard: a repeated start of a running execution with the same input is the same start.
      if (existing.status === 'RUNNING' && existing.input === inputText) return { executionArn: arn, startDate: existing.startDate / 1000 };
      throw new SfnServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    const run = this.runs.launch(machine, arn, name, inputText, parsed);
    return { executionArn: arn, startDate: run.startDate / 1000 };
  }

  describeExecution(input: DescribeExecutionInput): ExecutionDescription {
    return describe(this.runs.get(input.executionArn));
  }

  listExecutions(input: ListExecutionsInput): { executions: ExecutionListItem[]; nextToken?: string } {
    if (!input.stateMachineArn) {
      throw new SfnServiceError('ValidationException', 'stateMachineArn is required (listing by mapRunArn is not supported locally)');
    }
    const machine = this.machine(input.stateMachineArn);
    const matching = this.runs
      .newestFirst()
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
        redriveCount: run.redriveCount,
        redriveDate: run.redriveDate === undefined ? undefined : run.redriveDate / 1000,
      })),
      nextToken: page.nextToken,
    };
  }

  getExecutionHistory(input: GetExecutionHistoryInput): { events: WireHistoryEvent[]; nextToken?: string } {
    const run = this.runs.get(input.executionArn);
    const events = executionHistory(run, this.region, { includeExecutionData: input.includeExecutionData });
    if (input.reverseOrder) events.reverse();
    const page = paginate(events, input, `GetExecutionHistory|${run.arn}|${Boolean(input.reverseOrder)}`);
    return { events: page.items, nextToken: page.nextToken };
  }

  stopExecution(input: StopExecutionInput): { stopDate: number } {
    const run = this.runs.get(input.executionArn);
    if (run.status === 'RUNNING') this.runs.stop(run, { status: 'ABORTED', error: input.error, cause: input.cause });
    return { stopDate: (run.stopDate ?? Date.now()) / 1000 };
  }

  redriveExecution(input: RedriveExecutionInput): { redriveDate: number } {
    const run = this.runs.get(input.executionArn);
    return { redriveDate: this.runs.redrive(run, input.clientToken) / 1000 };
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
      RedriveExecution: () => this.redriveExecution(parseRequest(redriveExecutionInput, body)),
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
}
