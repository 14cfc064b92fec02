import type { ExecutionStatus } from './api-schemas.js';
import type { LoadedStateMachine } from './definitions.js';
import type { EngineEvent } from './history.js';
import type { TaskInvocation } from './lambda-tasks.js';
import { redrivability } from './redrive.js';

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
  redriveCount: number;
  redriveDate?: number;
  redriveStatus: 'REDRIVABLE' | 'NOT_REDRIVABLE';
  redriveStatusReason?: string;
}

/** One run of the engine for an execution: the first from StartExecution, then one per RedriveExecution. */
export interface Attempt {
  /** Epoch milliseconds: the execution's start, or the redrive's. */
  startDate: number;
  /** 0 for the first attempt, then the execution's redriveCount when this attempt began. */
  redriveCount: number;
  /** The engine's events in the order they arrived. */
  events: EngineEvent[];
  invocations: TaskInvocation[];
  /** How this attempt ended; unset while it runs. */
  end?: Closing & { stopDate: number };
  abort(): void;
  /** Settles when the engine has finished with the attempt and its event log is read to the end. */
  settled: Promise<void>;
}

/** One execution as the endpoint keeps it: what it ran, how it ended, and what its history is built from. */
export interface Execution {
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
  redriveCount: number;
  redriveDate?: number;
  /** The client tokens of the last successful redrives, with their redrive dates, for idempotent retries. */
  redriveTokens: Map<string, number>;
  /** Oldest first; the last is the current one. */
  attempts: Attempt[];
  waiters: ((description: ExecutionDescription) => void)[];
}

/** How an execution ended. */
export interface Closing {
  status: Exclude<ExecutionStatus, 'RUNNING'>;
  output?: string;
  error?: string;
  cause?: string;
}

/** The execution's current attempt. */
export function current(run: Execution): Attempt {
  return run.attempts[run.attempts.length - 1];
}

/** The execution in DescribeExecution's wire shape. */
export function describe(run: Execution): ExecutionDescription {
  const closed = run.status !== 'RUNNING';
  const check = redrivability({ status: run.status, machine: run.machine, events: current(run).events });
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
    redriveCount: run.redriveCount,
    redriveDate: run.redriveDate === undefined ? undefined : run.redriveDate / 1000,
    redriveStatus: check.status,
    redriveStatusReason: check.status === 'NOT_REDRIVABLE' ? check.reason : undefined,
  };
}
