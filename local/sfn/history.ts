import type { HistoryEvent, HistoryEventType } from '@aws-sdk/client-sfn';
import type { StateMachine } from 'aws-local-stepfunctions';
import type { ExecutionStatus } from './api-schemas.js';
import type { Execution } from './execution-record.js';
import type { TaskInvocation } from './lambda-tasks.js';

/** An event of the engine's event log (the package does not export the type by name). */
export type EngineEvent = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** A history event as the AWS JSON protocol sends it: the SDK's shape, with the timestamp in epoch seconds. */
export type WireHistoryEvent = Omit<HistoryEvent, 'timestamp'> & { timestamp: number };

/** What the history of one attempt of an execution is built from. */
export interface HistorySource {
  input: string;
  /** Above 0 for a redrive's attempt, which begins with ExecutionRedriven instead of ExecutionStarted. */
  redriveCount?: number;
  roleArn: string;
  region: string;
  status: ExecutionStatus;
  output?: string;
  error?: string;
  cause?: string;
  /** Epoch milliseconds. */
  startDate: number;
  stopDate?: number;
  /** The engine's events in the order they arrived. */
  events: EngineEvent[];
  invocations: TaskInvocation[];
}

type Details = Omit<WireHistoryEvent, 'timestamp' | 'type' | 'id' | 'previousEventId'>;

const TIMEOUT_ERRORS = new Set(['States.Timeout', 'States.HeartbeatTimeout']);

/**
 * Maps an execution to the AWS GetExecutionHistory shape: ExecutionStarted, then per state `<Type>StateEntered`,
 * the task's Scheduled / Started / (Submitted) / Succeeded | Failed | TimedOut events, `<Type>StateExited`, and
 * finally the execution's end event, with ids 1..n and each `previousEventId` the one before.
 *
 * The engine's log arrives out of order (nested branches are forwarded late), so it is sorted by timestamp first;
 * the task events, which the engine does not log, come from the recorded invocations, paired with the engine's
 * attempt boundaries (StateEntered / StateRetried start an attempt, StateFailed / StateExited end it), so their
 * order does not depend on two events falling in the same millisecond.
 */
export function buildHistory(source: HistorySource, options: { includeExecutionData?: boolean } = {}): WireHistoryEvent[] {
  const withData = options.includeExecutionData ?? true;
  const data = (value: unknown) => (withData ? JSON.stringify(value ?? null) : undefined);
  const out: { type: HistoryEventType; at: number; details: Details }[] = [];
  const push = (type: HistoryEventType, at: number, details: Details = {}) => out.push({ type, at, details });

  if (source.redriveCount) {
    push('ExecutionRedriven', source.startDate, { executionRedrivenEventDetails: { redriveCount: source.redriveCount } });
  } else {
    push('ExecutionStarted', source.startDate, {
      executionStartedEventDetails: {
        input: withData ? source.input : undefined,
        inputDetails: { truncated: false },
        roleArn: source.roleArn,
      },
    });
  }

  const pendingByState = new Map<string, TaskInvocation[]>();
  for (const invocation of [...source.invocations].sort((a, b) => a.scheduledAt - b.scheduledAt)) {
    const queue = pendingByState.get(invocation.stateName) ?? [];
    queue.push(invocation);
    pendingByState.set(invocation.stateName, queue);
  }
  const current = new Map<string, TaskInvocation>();
  const started = new Set<string>();

  // Map iterations run the same state concurrently: an attempt is keyed by state name and iteration index.
  const attemptKey = (stateName: string, index?: number) => `${stateName}#${index ?? ''}`;
  const startAttempt = (stateName: string, at: number, index?: number) => {
    const queue = pendingByState.get(stateName);
    // An attempt that failed before the task was invoked (a bad path in Parameters) has no invocation.
    if (!queue?.length || queue[0].scheduledAt < at) return;
    const invocation = queue.shift()!;
    current.set(attemptKey(stateName, index), invocation);
    const task = taskNames(invocation);
    if (invocation.resource === 'function') {
      push('LambdaFunctionScheduled', invocation.scheduledAt, {
        lambdaFunctionScheduledEventDetails: {
          resource: invocation.resourceArn,
          input: data(invocation.parameters),
          inputDetails: { truncated: false },
          timeoutInSeconds: invocation.timeoutSeconds,
        },
      });
      push('LambdaFunctionStarted', invocation.scheduledAt);
      return;
    }
    push('TaskScheduled', invocation.scheduledAt, {
      taskScheduledEventDetails: {
        ...task,
        region: source.region,
        parameters: JSON.stringify(invocation.parameters ?? null),
        timeoutInSeconds: invocation.timeoutSeconds,
        heartbeatInSeconds: invocation.heartbeatSeconds,
      },
    });
    push('TaskStarted', invocation.scheduledAt, { taskStartedEventDetails: task });
    if (invocation.submitted) {
      push('TaskSubmitted', invocation.submitted.at, {
        taskSubmittedEventDetails: { ...task, output: data(invocation.submitted.output), outputDetails: { truncated: false } },
      });
    }
  };

  const endAttempt = (stateName: string, at: number, index: number | undefined, failure?: { error: string; cause: string }) => {
    const invocation = current.get(attemptKey(stateName, index));
    if (!invocation) return;
    current.delete(attemptKey(stateName, index));
    const task = taskNames(invocation);
    const lambda = invocation.resource === 'function';
    if (!failure) {
      const output = data(invocation.succeeded?.output);
      const outputDetails = { truncated: false };
      if (lambda)
        push('LambdaFunctionSucceeded', invocation.succeeded?.at ?? at, { lambdaFunctionSucceededEventDetails: { output, outputDetails } });
      else push('TaskSucceeded', invocation.succeeded?.at ?? at, { taskSucceededEventDetails: { ...task, output, outputDetails } });
    } else if (TIMEOUT_ERRORS.has(failure.error)) {
      if (lambda) push('LambdaFunctionTimedOut', at, { lambdaFunctionTimedOutEventDetails: failure });
      else push('TaskTimedOut', at, { taskTimedOutEventDetails: { ...task, ...failure } });
    } else {
      const failedAt = invocation.failedAt ?? at;
      if (lambda) push('LambdaFunctionFailed', failedAt, { lambdaFunctionFailedEventDetails: failure });
      else push('TaskFailed', failedAt, { taskFailedEventDetails: { ...task, ...failure } });
    }
  };

  const sorted = [...source.events].sort((a, b) => a.timestamp - b.timestamp);
  for (const event of sorted) {
    switch (event.type) {
      case 'StateEntered':
        push(`${event.state.type}StateEntered` as HistoryEventType, event.timestamp, {
          stateEnteredEventDetails: { name: event.state.name, input: data(event.state.input), inputDetails: { truncated: false } },
        });
        started.delete(event.state.name);
        if (event.state.type === 'Task') startAttempt(event.state.name, event.timestamp, event.index);
        break;
      case 'StateRetried':
        if (event.state.type === 'Task') startAttempt(event.state.name, event.timestamp, event.index);
        break;
      case 'StateFailed': {
        const failure = { error: String(event.Error), cause: causeText(event.Cause) };
        if (event.state.type === 'Task') endAttempt(event.state.name, event.timestamp, event.index, failure);
        if (event.state.type === 'Parallel') push('ParallelStateFailed', event.timestamp);
        if (event.state.type === 'Map') push('MapStateFailed', event.timestamp);
        break;
      }
      case 'StateExited':
        if (event.state.type === 'Task') endAttempt(event.state.name, event.timestamp, event.index);
        if (event.state.type === 'Parallel') push('ParallelStateSucceeded', event.timestamp);
        if (event.state.type === 'Map') push('MapStateSucceeded', event.timestamp);
        push(`${event.state.type}StateExited` as HistoryEventType, event.timestamp, {
          stateExitedEventDetails: { name: event.state.name, output: data(event.state.output), outputDetails: { truncated: false } },
        });
        break;
      case 'ParallelBranchStarted':
        if (!started.has(event.parentState.name)) push('ParallelStateStarted', event.timestamp);
        started.add(event.parentState.name);
        break;
      case 'MapIterationStarted':
        if (!started.has(event.parentState.name)) push('MapStateStarted', event.timestamp, { mapStateStartedEventDetails: {} });
        started.add(event.parentState.name);
        push('MapIterationStarted', event.timestamp, {
          mapIterationStartedEventDetails: { name: event.parentState.name, index: event.index },
        });
        break;
      case 'MapIterationSucceeded':
        push('MapIterationSucceeded', event.timestamp, {
          mapIterationSucceededEventDetails: { name: event.parentState.name, index: event.index },
        });
        break;
      case 'MapIterationFailed':
        push('MapIterationFailed', event.timestamp, {
          mapIterationFailedEventDetails: { name: event.parentState.name, index: event.index },
        });
        break;
      default:
        // Execution* events come from the execution record below; StateCaught and branch ends have no AWS event.
        break;
    }
  }

  // A task still running has been scheduled, and maybe submitted, but has no end yet: startAttempt covered it.
  const end = source.stopDate ?? Date.now();
  const failure = { error: source.error, cause: source.cause };
  switch (source.status) {
    case 'SUCCEEDED':
      push('ExecutionSucceeded', end, {
        executionSucceededEventDetails: { output: withData ? source.output : undefined, outputDetails: { truncated: false } },
      });
      break;
    case 'FAILED':
      push('ExecutionFailed', end, { executionFailedEventDetails: failure });
      break;
    case 'ABORTED':
      push('ExecutionAborted', end, { executionAbortedEventDetails: failure });
      break;
    case 'TIMED_OUT':
      push('ExecutionTimedOut', end, { executionTimedOutEventDetails: failure });
      break;
    case 'RUNNING':
      break;
  }

  // AWS timestamps never go backwards; the recorded times can, by a millisecond, across the two sources.
  let last = 0;
  return out.map((event, i) => {
    last = Math.max(last, event.at);
    return { timestamp: last / 1000, type: event.type, id: i + 1, previousEventId: i, ...event.details };
  });
}

/**
 * The whole history of an execution, as AWS keeps it across redrives: each attempt's events in turn (a redrive's
 * starting with ExecutionRedriven), numbered 1..n across all of them.
 */
export function executionHistory(run: Execution, region: string, options: { includeExecutionData?: boolean } = {}): WireHistoryEvent[] {
  const attempts = run.attempts.map((attempt) =>
    buildHistory(
      {
        input: run.input,
        redriveCount: attempt.redriveCount,
        roleArn: run.machine.roleArn,
        region,
        status: attempt.end?.status ?? 'RUNNING',
        output: attempt.end?.output,
        error: attempt.end?.error,
        cause: attempt.end?.cause,
        startDate: attempt.startDate,
        stopDate: attempt.end?.stopDate,
        events: attempt.events,
        invocations: attempt.invocations,
      },
      options,
    ),
  );
  let last = 0;
  return attempts.flat().map((event, i) => {
    last = Math.max(last, event.timestamp);
    return { ...event, timestamp: last, id: i + 1, previousEventId: i };
  });
}

function taskNames(invocation: TaskInvocation): { resourceType: string; resource: string } {
  return { resourceType: 'lambda', resource: invocation.resource };
}

function causeText(cause: unknown): string {
  if (typeof cause === 'string') return cause;
  if (cause instanceof Error) return cause.message;
  return JSON.stringify(cause) ?? '';
}
