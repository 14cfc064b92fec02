import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { lambdaFunctionArn, type ArnScope } from './arns.js';
import { MAX_TIMER_SECONDS, WRAPPED, type TaskKind, type TaskStateInfo } from './definitions.js';
import { namedError } from './errors.js';
import type { TaskTokens } from './task-tokens.js';

/** The context object handlers receive, as Lambda builds it. */
export type LambdaLikeContext = Context;

/**
 * A Lambda handler as the Node runtime calls it. The payload is typed `any` on purpose: real handlers declare their
 * own event type (and parse it with zod at run time), and a parameter typed `unknown` would reject them.
 */
// biome-ignore lint/suspicious/noExplicitAny: handlers declare their own event type; `unknown` would reject them.
export type LambdaHandler = (payload: any, context: LambdaLikeContext) => unknown;

/** One call of a Task state's integration, recorded for GetExecutionHistory. */
export interface TaskInvocation {
  stateName: string;
  resource: TaskKind;
  /** The state's Resource field (for a plain function ARN task, the function). */
  resourceArn: string;
  /** The task tokens this invocation waits on (`.waitForTaskToken` only). */
  tokens: string[];
  /** The effective parameters, which TaskScheduled reports. */
  parameters: unknown;
  scheduledAt: number;
  /** For `.waitForTaskToken`: when the Lambda returned, and its Invoke response. */
  submitted?: { at: number; output: unknown };
  /** Set when the task produced its result. The error of a failure is taken from the engine's failure event. */
  succeeded?: { at: number; output: unknown };
  failedAt?: number;
  heartbeatSeconds?: number;
  timeoutSeconds?: number;
}

/** The execution a Task override belongs to. */
export interface TaskRunScope {
  executionArn: string;
  /** True once the execution is stopped: the engine may still retry a state after an abort; nothing may run. */
  stopped(): boolean;
  invocations: TaskInvocation[];
}

interface ResolvedFunction {
  handler: LambdaHandler;
  functionName: string;
  invokedFunctionArn: string;
}

const FUNCTION_ARN = /^(?:arn:aws[a-z-]*:lambda:[a-z0-9-]+:)?\d{12}:function:([^:]+)(?::([^:]+))?$/;

/** The function name inside a function name, a full or partial function ARN, or `name:qualifier`. */
function functionNameOf(nameOrArn: string): string {
  const arn = FUNCTION_ARN.exec(nameOrArn);
  if (arn) return arn[1];
  return nameOrArn.split(':')[0];
}

/**
 * Finds the handler for a `FunctionName`, as Lambda accepts it: the exact registry key first, then by function
 * name, so a registry keyed by name serves a definition that uses full ARNs and the other way round.
 */
export class LambdaRegistry {
  private readonly exact = new Map<string, LambdaHandler>();
  private readonly byName = new Map<string, LambdaHandler>();

  constructor(
    lambdas: Record<string, LambdaHandler>,
    private readonly scope: ArnScope,
  ) {
    for (const [key, handler] of Object.entries(lambdas)) {
      if (typeof handler !== 'function') throw new Error(`lambdas["${key}"] must be a function, got ${typeof handler}`);
      this.exact.set(key, handler);
      const name = functionNameOf(key);
      const existing = this.byName.get(name);
      if (existing && existing !== handler) {
        throw new Error(`lambdas: two different handlers are registered for the function name "${name}"`);
      }
      this.byName.set(name, handler);
    }
  }

  resolve(functionName: string): ResolvedFunction | undefined {
    const name = functionNameOf(functionName);
    const handler = this.exact.get(functionName) ?? this.byName.get(name);
    if (!handler) return undefined;
    const invokedFunctionArn = functionName.startsWith('arn:') ? functionName : lambdaFunctionArn(this.scope, functionName);
    return { handler, functionName: name, invokedFunctionArn };
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}

/** Faults queued by state name, consumed one per Lambda invocation of that state. */
export class FaultInjector {
  private readonly queued = new Map<string, { errorName: string; remaining: number }[]>();

  add(stateName: string, errorName: string, times: number): void {
    if (!Number.isInteger(times) || times < 1) throw new Error(`injectFault: times must be a positive integer, got ${times}`);
    const queue = this.queued.get(stateName) ?? [];
    queue.push({ errorName, remaining: times });
    this.queued.set(stateName, queue);
  }

  /** The error name to throw for this invocation of `stateName`, if a fault is queued for it. */
  take(stateName: string): string | undefined {
    const queue = this.queued.get(stateName);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining === 0) queue.shift();
    return head.errorName;
  }
}

/** What every Task override of one endpoint shares. */
export interface TaskDeps {
  lambdas: LambdaRegistry;
  faults: FaultInjector;
  tokens: TaskTokens;
}

// The engine's default, used for getRemainingTimeInMillis when the state sets no timeout.
const ENGINE_DEFAULT_TIMEOUT_SECONDS = 60;
// A Lambda function runs at most 15 minutes, whatever the state's timeout: middy arms a timer from
// getRemainingTimeInMillis, and a callback task's days-long timeout would overflow it.
const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

/**
 * The local function that replaces one Task state for one execution. It invokes the registered handler the way
 * Lambda and the Step Functions Lambda integration do, and for `.waitForTaskToken` then waits for the token.
 * Thrown errors keep their `name` (what Retry and Catch match) and their message (the Cause).
 */
export function taskOverride(task: TaskStateInfo, deps: TaskDeps, run: TaskRunScope): (input: unknown) => Promise<unknown> {
  return async (engineInput) => {
    if (run.stopped()) throw namedError('States.Runtime', `execution ${run.executionArn} is no longer running`);
    const wrapped = task.wrapped ? (engineInput as Record<string, unknown>) : undefined;
    const parameters = wrapped ? wrapped[WRAPPED.params] : engineInput;
    const timeoutSeconds = task.timeoutSeconds ?? (wrapped?.[WRAPPED.timeout] as number | undefined);
    const heartbeatSeconds = task.heartbeatSeconds ?? (wrapped?.[WRAPPED.heartbeat] as number | undefined);
    for (const [field, seconds] of [
      ['TimeoutSecondsPath', timeoutSeconds],
      ['HeartbeatSecondsPath', heartbeatSeconds],
    ] as const) {
      // The engine's timer would fire at once instead of waiting; say so rather than time out silently.
      if (wrapped && typeof seconds === 'number' && seconds > MAX_TIMER_SECONDS) {
        throw namedError(
          'States.Runtime',
          `Task state ${task.name}: ${field} gives ${seconds} s; the local engine can time at most ${MAX_TIMER_SECONDS} s`,
        );
      }
    }
    const now = Date.now();
    const tokens = task.kind === 'invoke.waitForTaskToken' ? deps.tokens.claimIn(parameters, run.executionArn, task.name) : [];
    const invocation: TaskInvocation = {
      stateName: task.name,
      resource: task.kind,
      resourceArn: task.resource,
      tokens,
      parameters,
      scheduledAt: now,
      timeoutSeconds,
      heartbeatSeconds,
    };
    run.invocations.push(invocation);
    try {
      const output = await runTask(task, deps, parameters, tokens, invocation);
      invocation.succeeded = { at: Date.now(), output };
      // Any other token this task minted is answered too late from now on.
      for (const token of tokens) deps.tokens.close(token, namedError('States.Runtime', 'the task already completed'));
      return output;
    } catch (error) {
      invocation.failedAt = Date.now();
      const failure = asTaskError(error);
      for (const token of tokens) deps.tokens.close(token, failure);
      throw failure;
    }
  };
}

async function runTask(
  task: TaskStateInfo,
  deps: TaskDeps,
  parameters: unknown,
  tokens: string[],
  invocation: TaskInvocation,
): Promise<unknown> {
  const injected = deps.faults.take(task.name);
  if (injected) throw namedError(injected, `fault ${injected} injected into Task state ${task.name}`);

  const params = (parameters ?? {}) as { FunctionName?: unknown; Payload?: unknown };
  const functionName = task.kind === 'function' ? task.resource : params.FunctionName;
  // Lambda receives `{}` when the integration passes no Payload.
  const payload = task.kind === 'function' ? parameters : (params.Payload ?? {});
  if (typeof functionName !== 'string' || functionName === '') {
    throw namedError('States.Runtime', `Task state ${task.name}: Parameters.FunctionName must be a function name or ARN`);
  }
  const target = deps.lambdas.resolve(functionName);
  if (!target) {
    throw namedError(
      'Lambda.ResourceNotFoundException',
      `Function not found: ${functionName} (registered: ${deps.lambdas.names().join(', ') || 'none'})`,
    );
  }
  const timeoutMs = Math.min(invocation.timeoutSeconds ?? ENGINE_DEFAULT_TIMEOUT_SECONDS, LAMBDA_MAX_TIMEOUT_SECONDS) * 1000;
  const result = await invokeLambda(target, payload, timeoutMs);

  if (task.kind === 'function') return result;
  const invokeResponse = { ExecutedVersion: '$LATEST', Payload: result, StatusCode: 200 };
  if (task.kind === 'invoke') return invokeResponse;

  invocation.submitted = { at: Date.now(), output: invokeResponse };
  if (tokens.length === 0) {
    throw namedError('States.Runtime', `Task state ${task.name} waits for a task token but its Parameters do not pass $$.Task.Token`);
  }
  if (invocation.heartbeatSeconds) for (const token of tokens) deps.tokens.armHeartbeat(token, invocation.heartbeatSeconds);
  // Every read of $$.Task.Token mints a token; whichever of this task's tokens is answered first decides.
  return Promise.race(tokens.map((token) => deps.tokens.wait(token)));
}

/** Calls the handler with a JSON copy of the payload, and returns a JSON copy of its result, as the wire would. */
async function invokeLambda(target: ResolvedFunction, payload: unknown, timeoutMs: number): Promise<unknown> {
  const event = JSON.parse(JSON.stringify(payload ?? null)) as unknown;
  const result = await target.handler(event, lambdaContext(target, timeoutMs));
  try {
    return result === undefined ? null : (JSON.parse(JSON.stringify(result)) as unknown);
  } catch (error) {
    throw namedError('Runtime.MarshalError', `Unable to marshal the response of ${target.functionName}: ${(error as Error).message}`);
  }
}

function lambdaContext(target: ResolvedFunction, timeoutMs: number): LambdaLikeContext {
  const deadline = Date.now() + timeoutMs;
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  const noop = () => undefined;
  return {
    functionName: target.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: target.invokedFunctionArn,
    memoryLimitInMB: '128',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${target.functionName}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: noop,
    fail: noop,
    succeed: noop,
  };
}

/** A plain Error carrying the thrown error's name and message: the Error and Cause Step Functions reports. */
function asTaskError(error: unknown): Error {
  if (error instanceof Error) return namedError(error.name || 'Error', error.message);
  return namedError('Error', typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error)));
}
