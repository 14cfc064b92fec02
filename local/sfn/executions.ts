import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, type RunOptions } from 'aws-local-stepfunctions';
import { assertArn } from './arns.js';
import type { LoadedStateMachine } from './definitions.js';
import { SfnServiceError, namedError } from './errors.js';
import { current, describe, type Attempt, type Closing, type Execution, type ExecutionDescription } from './execution-record.js';
import type { EngineEvent } from './history.js';
import { taskOverride, type TaskDeps } from './lambda-tasks.js';
import { isRedriveEntryEvent, redrivability, redriveEngine } from './redrive.js';

/** What every execution runs with, beyond its machine and input. */
export interface ExecutionRunOptions {
  /** Milliseconds to wait in a Wait state instead of its Seconds/Timestamp, by Wait state name. */
  waitTimeOverrides?: Record<string, number>;
  /** Milliseconds to pause before a retry instead of IntervalSeconds/BackoffRate, by state name (or per retrier). */
  retryIntervalOverrides?: Record<string, number | number[]>;
  /** Called once each time an execution closes (succeeded, failed, timed out or stopped), after a redrive too. */
  onExecutionEnd?: (execution: ExecutionDescription) => void;
}

/** Told of every status change, once each: RUNNING on start and redrive, then how each attempt ended. */
export type StatusListener = (run: Execution) => void;

// AWS answers a repeated RedriveExecution idempotently for the last 10 client tokens.
const REDRIVE_TOKENS_KEPT = 10;

// The engine's default Task timeout, which applies when a state sets none.
const ENGINE_DEFAULT_TIMEOUT_MS = 60_000;

/**
 * The executions of one endpoint, oldest first, and their lifecycle on the engine: launch, read the event log,
 * close once (however it ends), and tell whoever waits. Executions are never forgotten, as DescribeExecution on
 * AWS answers for closed ones too.
 */
export class Executions {
  private readonly runs = new Map<string, Execution>();

  constructor(
    private readonly deps: TaskDeps,
    private readonly options: ExecutionRunOptions,
    private readonly onStatusChange: StatusListener = () => undefined,
  ) {}

  /** The execution with this ARN, or undefined; the ARN is not checked. */
  find(arn: string): Execution | undefined {
    return this.runs.get(arn);
  }

  /** The execution with this ARN; throws the AWS error for a malformed or unknown one. */
  get(arn: string): Execution {
    assertArn(arn, 'execution', 'executionArn');
    const run = this.runs.get(arn);
    if (!run) throw new SfnServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return run;
  }

  /** Every execution started so far, newest first. */
  newestFirst(): Execution[] {
    return [...this.runs.values()].reverse();
  }

  /** Resolves with the execution once it is closed; rejects if it is still running after `timeoutMs`. */
  async waitFor(executionArn: string, timeoutMs: number): Promise<ExecutionDescription> {
    const run = this.get(executionArn);
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

  /** Stops every running execution as StopExecution does, and waits (bounded) for the engine to let go of them. */
  async stopAll(cause: string): Promise<void> {
    const running = [...this.runs.values()].filter((run) => run.status === 'RUNNING');
    for (const run of running) this.stop(run, { status: 'ABORTED', cause });
    await withTimeout(Promise.all(running.map((run) => current(run).settled)), 5_000);
  }

  /** Starts `machine` on `input` (`inputText` parsed) as a new execution, which closes itself when the engine ends. */
  launch(machine: LoadedStateMachine, arn: string, name: string, inputText: string, input: unknown): Execution {
    const run: Execution = {
      arn,
      name,
      machine,
      input: inputText,
      status: 'RUNNING',
      startDate: Date.now(),
      redriveCount: 0,
      redriveTokens: new Map(),
      attempts: [],
      waiters: [],
    };
    this.runs.set(arn, run);
    this.begin(run, machine.engine, input, run.startDate);
    this.tell(run);
    return run;
  }

  /**
   * RedriveExecution: reruns a FAILED, TIMED_OUT or ABORTED execution from the state it stopped in, with that
   * state's input, under the same ARN. Returns the redrive date (epoch ms). A client token already used for one
   * of the last redrives gets that redrive's date again, without redriving.
   */
  redrive(run: Execution, clientToken?: string): number {
    const earlier = clientToken === undefined ? undefined : run.redriveTokens.get(clientToken);
    if (earlier !== undefined) return earlier;
    const check = redrivability({ status: run.status, machine: run.machine, events: current(run).events });
    if (check.status === 'NOT_REDRIVABLE') {
      throw new SfnServiceError('ExecutionNotRedrivable', `Execution Not Redrivable: '${run.arn}': ${check.reason}`);
    }
    const engine = redriveEngine(run.machine, check.point);
    const redriveDate = Date.now();
    Object.assign(run, { status: 'RUNNING', stopDate: undefined, output: undefined, error: undefined, cause: undefined });
    run.redriveCount += 1;
    run.redriveDate = redriveDate;
    if (clientToken !== undefined) {
      run.redriveTokens.set(clientToken, redriveDate);
      if (run.redriveTokens.size > REDRIVE_TOKENS_KEPT) run.redriveTokens.delete(run.redriveTokens.keys().next().value as string);
    }
    this.begin(run, engine, JSON.parse(run.input) as unknown, redriveDate);
    this.tell(run);
    return redriveDate;
  }

  /** Closes an execution once: records how it ended, aborts the engine, closes its tokens, tells the waiters. */
  stop(run: Execution, closing: Closing): void {
    if (run.status !== 'RUNNING') return;
    const stopDate = Date.now();
    Object.assign(run, closing, { stopDate });
    const attempt = current(run);
    attempt.end = { ...closing, stopDate };
    attempt.abort();
    this.deps.tokens.closeExecution(run.arn, namedError('States.Runtime', `execution ${run.status}`));
    const description = describe(run);
    for (const waiter of run.waiters.splice(0)) waiter(description);
    try {
      this.options.onExecutionEnd?.(description);
    } catch (error) {
      // A listener's bug must not leave the execution half closed or reject a promise nobody awaits.
      console.error(`local Step Functions endpoint: onExecutionEnd failed for ${run.arn}`, error);
    }
    this.tell(run);
  }

  /** Runs `engine` on `input` as the execution's new current attempt, which closes the execution when it ends. */
  private begin(run: Execution, engine: LoadedStateMachine['engine'], input: unknown, startDate: number): void {
    const { arn, name, machine } = run;
    const attempt: Attempt = {
      startDate,
      redriveCount: run.redriveCount,
      events: [],
      invocations: [],
      abort: () => undefined,
      settled: Promise.resolve(),
    };
    run.attempts.push(attempt);
    const tokens = this.deps.tokens;
    // An earlier attempt's engine may still be letting go after a stop: it must not run tasks for the redrive.
    const stopped = () => run.status !== 'RUNNING' || current(run) !== attempt;
    const scope = { executionArn: arn, stopped, invocations: attempt.invocations };
    const overrides = Object.fromEntries([...machine.tasks.values()].map((task) => [task.name, taskOverride(task, this.deps, scope)]));
    const execution = engine.run(input as Parameters<typeof engine.run>[0], {
      overrides: {
        taskResourceLocalHandlers: overrides as NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers'],
        waitTimeOverrides: this.options.waitTimeOverrides,
        retryIntervalOverrides: this.options.retryIntervalOverrides,
      },
      // The engine supplies only Execution.Input and StartTime. The Task object is shared by reference through the
      // engine's copies of the context, so its getter runs on every read: each attempt gets a fresh token, as on AWS.
      context: {
        Execution: {
          Id: arn,
          Name: name,
          RoleArn: machine.roleArn,
          StartTime: new Date(run.startDate).toISOString(),
          RedriveCount: run.redriveCount,
          ...(run.redriveDate === undefined ? {} : { RedriveTime: new Date(run.redriveDate).toISOString() }),
        },
        StateMachine: { Id: machine.arn, Name: machine.name },
        Task: {
          get Token() {
            return tokens.mint(arn);
          },
        },
      },
    });
    attempt.abort = execution.abort;

    const drained = (async () => {
      for await (const event of execution.eventLogs) {
        if (isRedriveEntryEvent(event)) continue;
        attempt.events.push(event);
        this.closeTimedOutTasks(attempt, event);
      }
    })();
    attempt.settled = execution.result
      .then(
        (output): Closing => ({ status: 'SUCCEEDED', output: JSON.stringify(output ?? null) }),
        (error: unknown): Closing => closingFor(error),
      )
      .then(async (closing) => {
        // The log ends with the execution's end event; read it all so the history is complete when the status
        // changes. Bounded in case the engine ever forgets to close it.
        await withTimeout(drained, 2_000);
        if (current(run) === attempt) this.stop(run, closing);
      });
  }

  private tell(run: Execution): void {
    try {
      this.onStatusChange(run);
    } catch (error) {
      console.error(`local Step Functions endpoint: the status listener failed for ${run.arn}`, error);
    }
  }

  /**
   * The engine times a task out by racing it, and leaves it running: close the tokens of the attempt that timed
   * out, so a late SendTaskSuccess gets TaskTimedOut. A retry of the same state started within the same
   * millisecond is not touched: only attempts old enough to have reached their timeout are closed.
   */
  private closeTimedOutTasks(attempt: Attempt, event: EngineEvent): void {
    if (event.type !== 'StateFailed' || event.state.type !== 'Task' || event.Error !== 'States.Timeout') return;
    for (const invocation of attempt.invocations) {
      const timeoutMs = invocation.timeoutSeconds === undefined ? ENGINE_DEFAULT_TIMEOUT_MS : invocation.timeoutSeconds * 1000;
      const open = !invocation.succeeded && invocation.failedAt === undefined;
      if (invocation.stateName === event.state.name && open && invocation.scheduledAt + timeoutMs <= event.timestamp + 5) {
        for (const token of invocation.tokens) this.deps.tokens.close(token, namedError('States.Timeout', 'the task timed out'));
      }
    }
  }
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
