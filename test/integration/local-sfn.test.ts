import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListActivitiesCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { machineArn, REGION, startSfnFixture, type SfnFixture } from '../fixtures/sfn/local-sfn-fixture.js';

let fx: SfnFixture;
let client: SFNClient;

beforeAll(async () => {
  fx = await startSfnFixture();
  client = new SFNClient({ endpoint: fx.url, region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

afterAll(async () => {
  client?.destroy();
  await fx?.sfn.close();
});

const TWO_TASKS = machineArn('two-tasks');
const CALLBACK = machineArn('callback');
const HEARTBEAT = machineArn('heartbeat');
const NESTED = machineArn('nested');

async function start(stateMachineArn: string, input: unknown, name?: string): Promise<string> {
  const out = await client.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input), name }));
  return out.executionArn!;
}

/** Waits (bounded) for the execution to close, then describes it through the API. */
async function finished(executionArn: string) {
  await fx.sfn.waitForExecution(executionArn, 10_000);
  return client.send(new DescribeExecutionCommand({ executionArn }));
}

async function history(executionArn: string): Promise<HistoryEvent[]> {
  const out = await client.send(new GetExecutionHistoryCommand({ executionArn }));
  return out.events ?? [];
}

/** The error a command fails with, or a test failure if it succeeds. */
async function failureOf(promise: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the command to fail, it succeeded');
}

describe('local Step Functions endpoint through the SDK', () => {
  it('runs two lambda:invoke tasks through a Choice and a Wait and returns the output', async () => {
    const arn = await start(TWO_TASKS, { value: 7 }, 'happy-path');
    expect(arn).toBe('arn:aws:states:us-east-1:000000000000:execution:two-tasks:happy-path');

    const described = await finished(arn);
    expect(described.status).toBe('SUCCEEDED');
    expect(described.stopDate).toBeInstanceOf(Date);
    expect(JSON.parse(described.output!)).toEqual({
      value: 7,
      prepared: { doubled: 14, executionId: arn },
      finished: { message: 'finished' },
    });

    // The handlers were called as Lambda calls them.
    const [prepare, finish] = fx.callsOf(arn);
    expect(prepare.functionName).toBe('prepare');
    expect(prepare.payload).toEqual({ value: 7, executionId: arn });
    expect(prepare.context.invokedFunctionArn).toBe('arn:aws:lambda:us-east-1:000000000000:function:prepare');
    expect(prepare.context.functionVersion).toBe('$LATEST');
    expect(prepare.context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(prepare.context.logGroupName).toBe('/aws/lambda/prepare');
    expect(prepare.remainingMs).toBeGreaterThan(0);
    expect(prepare.remainingMs).toBeLessThanOrEqual(10_000);
    expect(finish.functionName).toBe('finish');
    expect(finish.context.invokedFunctionArn).toBe('arn:aws:lambda:us-east-1:000000000000:function:finish');
  });

  it('maps the history to the AWS shape: ordered types, ids, previous ids and details', async () => {
    const arn = await start(TWO_TASKS, { value: 7 });
    await finished(arn);
    const events = await history(arn);
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'WaitStateEntered',
      'WaitStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    events.forEach((event, i) => {
      expect(event.id).toBe(i + 1);
      expect(event.previousEventId).toBe(i);
      if (i > 0) expect(event.timestamp!.getTime()).toBeGreaterThanOrEqual(events[i - 1].timestamp!.getTime());
    });
    expect(JSON.parse(events[0].executionStartedEventDetails!.input!)).toEqual({ value: 7 });
    expect(events[1].stateEnteredEventDetails?.name).toBe('Prepare');
    expect(events[2].taskScheduledEventDetails).toMatchObject({
      resourceType: 'lambda',
      resource: 'invoke',
      region: 'us-east-1',
      timeoutInSeconds: 10,
    });
    expect(JSON.parse(events[2].taskScheduledEventDetails!.parameters!)).toEqual({
      FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:prepare',
      Payload: { value: 7, executionId: arn },
    });
    expect(JSON.parse(events[4].taskSucceededEventDetails!.output!)).toEqual({
      ExecutedVersion: '$LATEST',
      StatusCode: 200,
      Payload: { doubled: 14, executionId: arn },
    });
    expect(events[5].stateExitedEventDetails?.name).toBe('Prepare');
    expect(events[6].stateEnteredEventDetails?.name).toBe('IsBig');
    expect(events[8].stateEnteredEventDetails?.name).toBe('Pause');
    expect(JSON.parse(events[15].executionSucceededEventDetails!.output!).finished).toEqual({ message: 'finished' });

    // Pages of 5 in reverse order add up to the whole history backwards.
    const pages: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 5, reverseOrder: true, nextToken }));
      pages.push(...page.events!);
      nextToken = page.nextToken;
    } while (nextToken);
    expect(pages.map((e) => e.id)).toEqual(events.map((e) => e.id).reverse());

    // A token from another listing is refused.
    const firstPage = await client.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 5 }));
    const misuse = await failureOf(
      client.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 5, reverseOrder: true, nextToken: firstPage.nextToken })),
    );
    expect(misuse.name).toBe('InvalidToken');
  });

  it('orders the history of Parallel branches and Map iterations, one task result per iteration', async () => {
    const arn = await start(NESTED, { items: [1, 2, 3] });
    const described = await finished(arn);
    expect(JSON.parse(described.output!)).toEqual([{ echoed: 1 }, { echoed: 2 }, { echoed: 3 }]);

    const events = await history(arn);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual([
      'ExecutionStarted',
      'ParallelStateEntered',
      'ParallelStateStarted',
      expect.stringMatching(/StateEntered$/),
    ]);
    expect(types.indexOf('ParallelStateSucceeded')).toBeGreaterThan(types.lastIndexOf('PassStateExited'));
    expect(types.indexOf('ParallelStateExited')).toBeLessThan(types.indexOf('MapStateEntered'));
    const iterations = events.filter((e) => e.type === 'MapIterationStarted').map((e) => e.mapIterationStartedEventDetails);
    expect(iterations).toEqual([0, 1, 2].map((index) => ({ name: 'Each', index })));
    const results = events
      .filter((e) => e.type === 'LambdaFunctionSucceeded')
      .map((e) => JSON.parse(e.lambdaFunctionSucceededEventDetails!.output!));
    expect(results).toEqual(expect.arrayContaining([{ echoed: 1 }, { echoed: 2 }, { echoed: 3 }]));
    expect(results).toHaveLength(3);
    expect(types.at(-3)).toBe('MapStateSucceeded');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    events.forEach((event, i) => {
      expect(event.id).toBe(i + 1);
    });
  });

  it('sends an error a handler throws to Catch by its name, with its message as the cause', async () => {
    const arn = await start(TWO_TASKS, { value: 2, fail: true });
    const described = await finished(arn);
    expect(described.status).toBe('SUCCEEDED');
    const output = JSON.parse(described.output!);
    expect(output.error).toEqual({ Error: 'Boom', Cause: 'the finish step blew up' });
    expect(output.recovery).toBe('recovered');
    expect(output.finished).toBeUndefined();

    const events = await history(arn);
    const failed = events.find((e) => e.type === 'TaskFailed');
    expect(failed?.taskFailedEventDetails).toMatchObject({ error: 'Boom', cause: 'the finish step blew up', resource: 'invoke' });
    // The Choice went to Finish directly (2 * 2 is not above 10), and the caught task still exits before Recovered.
    expect(events.map((e) => e.type)).not.toContain('WaitStateEntered');
    const failedAt = events.indexOf(failed!);
    expect(events.slice(failedAt, failedAt + 3).map((e) => e.type)).toEqual(['TaskFailed', 'TaskStateExited', 'PassStateEntered']);
  });

  it('retries an injected Lambda.ServiceException and then succeeds, calling the handler once', async () => {
    fx.sfn.injectFault('Prepare', 'Lambda.ServiceException');
    const arn = await start(TWO_TASKS, { value: 1 });
    const described = await finished(arn);
    expect(described.status).toBe('SUCCEEDED');
    expect(fx.callsOf(arn).filter((call) => call.functionName === 'prepare')).toHaveLength(1);

    const prepareEvents = (await history(arn)).slice(1, 9).map((e) => e.type);
    expect(prepareEvents).toEqual([
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskFailed',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
    ]);
    const failed = (await history(arn)).find((e) => e.type === 'TaskFailed');
    expect(failed?.taskFailedEventDetails?.error).toBe('Lambda.ServiceException');
  });

  it('fails the execution when the injected fault outlasts the Retry, without calling the handler', async () => {
    fx.sfn.injectFault('Prepare', 'Lambda.ServiceException', 3);
    const arn = await start(TWO_TASKS, { value: 1 });
    const described = await finished(arn);
    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('Lambda.ServiceException');
    expect(fx.callsOf(arn)).toHaveLength(0);
    const types = (await history(arn)).map((e) => e.type);
    expect(types.filter((t) => t === 'TaskFailed')).toHaveLength(3);
    expect(types.at(-1)).toBe('ExecutionFailed');
  });

  it('completes a waitForTaskToken task on SendTaskSuccess and passes the output on', async () => {
    const arn = await start(CALLBACK, { release: 'r-1', timeoutSeconds: 30 });
    const token = await fx.tokens.first(arn);
    expect((await client.send(new DescribeExecutionCommand({ executionArn: arn }))).status).toBe('RUNNING');

    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approvedBy: 'lead@example.com' }) }));
    const described = await finished(arn);
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output!)).toEqual({ outcome: 'APPROVED', decision: { approvedBy: 'lead@example.com' } });
    expect(fx.callsOf(arn)[0].payload).toEqual({ taskToken: token, executionId: arn, release: 'r-1' });
    // TimeoutSecondsPath is read from the state input (as on AWS), so the Lambda's clock is 30 s.
    expect(fx.callsOf(arn)[0].remainingMs).toBeGreaterThan(10_000);

    const events = await history(arn);
    expect(events.slice(1, 7).map((e) => e.type)).toEqual([
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
    ]);
    expect(events[2].taskScheduledEventDetails).toMatchObject({ resource: 'invoke.waitForTaskToken', timeoutInSeconds: 30 });
    expect(JSON.parse(events[4].taskSubmittedEventDetails!.output!)).toMatchObject({ StatusCode: 200, Payload: { emailed: true } });
    expect(JSON.parse(events[5].taskSucceededEventDetails!.output!)).toEqual({ approvedBy: 'lead@example.com' });

    // The task is closed: answering again is TaskTimedOut, as on AWS.
    const again = await failureOf(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })));
    expect(again).toMatchObject({ name: 'TaskTimedOut', status: 400 });
  });

  it('fails a waitForTaskToken task on SendTaskFailure with the named error', async () => {
    const arn = await start(CALLBACK, { release: 'r-2', timeoutSeconds: 30 });
    const token = await fx.tokens.first(arn);
    await client.send(new SendTaskFailureCommand({ taskToken: token, error: 'ApprovalRejected', cause: 'not this week' }));
    const described = await finished(arn);
    expect(JSON.parse(described.output!)).toEqual({
      outcome: 'REJECTED',
      rejection: { Error: 'ApprovalRejected', Cause: 'not this week' },
    });
    const failed = (await history(arn)).find((e) => e.type === 'TaskFailed');
    expect(failed?.taskFailedEventDetails).toMatchObject({ error: 'ApprovalRejected', cause: 'not this week' });
  });

  it('times a waitForTaskToken task out to States.Timeout; a late SendTaskSuccess gets TaskTimedOut', async () => {
    const arn = await start(CALLBACK, { release: 'r-3', timeoutSeconds: 1 });
    const token = await fx.tokens.first(arn);
    const described = await finished(arn);
    expect(JSON.parse(described.output!)).toMatchObject({ outcome: 'EXPIRED', expiry: { Error: 'States.Timeout' } });

    const late = await failureOf(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"approvedBy":"late"}' })));
    expect(late).toMatchObject({ name: 'TaskTimedOut', status: 400 });
    const heartbeat = await failureOf(client.send(new SendTaskHeartbeatCommand({ taskToken: token })));
    expect(heartbeat.name).toBe('TaskTimedOut');

    const types = (await history(arn)).map((e) => e.type);
    expect(types).toContain('TaskTimedOut');
    expect(types).not.toContain('TaskSucceeded');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
  });

  it('fails a callback task that misses its heartbeat with States.HeartbeatTimeout', async () => {
    const arn = await start(HEARTBEAT, {});
    await fx.tokens.first(arn);
    const described = await finished(arn);
    expect(JSON.parse(described.output!)).toMatchObject({ outcome: 'LOST', lost: { Error: 'States.HeartbeatTimeout' } });
    const timedOut = (await history(arn)).find((e) => e.type === 'TaskTimedOut');
    expect(timedOut?.taskTimedOutEventDetails?.error).toBe('States.HeartbeatTimeout');
  });

  it('keeps a callback task alive while heartbeats arrive, past its HeartbeatSeconds', async () => {
    const arn = await start(HEARTBEAT, {});
    const token = await fx.tokens.first(arn);
    // 9 heartbeats 300 ms apart span 2.7 s, longer than the 2 s HeartbeatSeconds.
    for (let i = 0; i < 9; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await client.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    }
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"done":true}' }));
    const described = await finished(arn);
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output!)).toEqual({ done: true });
  });

  it('answers bad task tokens and outputs with the AWS errors', async () => {
    expect((await failureOf(client.send(new SendTaskSuccessCommand({ taskToken: 'not-a-token', output: '{}' })))).name).toBe(
      'InvalidToken',
    );
    const unknown = `LWTT1${'A'.repeat(64)}`;
    expect((await failureOf(client.send(new SendTaskSuccessCommand({ taskToken: unknown, output: '{}' })))).name).toBe('TaskDoesNotExist');

    const arn = await start(CALLBACK, { release: 'r-4', timeoutSeconds: 30 });
    const token = await fx.tokens.first(arn);
    expect((await failureOf(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{oops' })))).name).toBe('InvalidOutput');
    // The bad output did not close the task.
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '"ok"' }));
    expect((await finished(arn)).status).toBe('SUCCEEDED');
  });

  it('makes StartExecution idempotent for the same name and input while running', async () => {
    const input = { release: 'r-5', timeoutSeconds: 30 };
    const first = await client.send(
      new StartExecutionCommand({ stateMachineArn: CALLBACK, name: 'release-5', input: JSON.stringify(input) }),
    );
    const again = await client.send(
      new StartExecutionCommand({ stateMachineArn: CALLBACK, name: 'release-5', input: JSON.stringify(input) }),
    );
    expect(again.executionArn).toBe(first.executionArn);
    expect(again.startDate!.getTime()).toBe(first.startDate!.getTime());

    const other = await failureOf(
      client.send(
        new StartExecutionCommand({ stateMachineArn: CALLBACK, name: 'release-5', input: JSON.stringify({ ...input, release: 'x' }) }),
      ),
    );
    expect(other).toMatchObject({ name: 'ExecutionAlreadyExists', status: 400 });
    // Only one execution was started, so the handler ran once.
    expect(fx.callsOf(first.executionArn!)).toHaveLength(1);

    await client.send(new SendTaskSuccessCommand({ taskToken: await fx.tokens.first(first.executionArn!), output: '{}' }));
    await finished(first.executionArn!);
    const closed = await failureOf(
      client.send(new StartExecutionCommand({ stateMachineArn: CALLBACK, name: 'release-5', input: JSON.stringify(input) })),
    );
    expect(closed.name).toBe('ExecutionAlreadyExists');
  });

  it('stops a running execution: ABORTED with the error and cause, its task token closed', async () => {
    const arn = await start(CALLBACK, { release: 'r-6', timeoutSeconds: 30 });
    const token = await fx.tokens.first(arn);
    const stopped = await client.send(new StopExecutionCommand({ executionArn: arn, error: 'Cancelled', cause: 'superseded' }));
    expect(stopped.stopDate).toBeInstanceOf(Date);

    const described = await finished(arn);
    expect(described).toMatchObject({ status: 'ABORTED', error: 'Cancelled', cause: 'superseded' });
    expect(described.output).toBeUndefined();
    expect((await failureOf(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })))).name).toBe('TaskTimedOut');

    const events = await history(arn);
    expect(events.at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Cancelled', cause: 'superseded' },
    });
    // Stopping again is harmless and reports the same stop date.
    const again = await client.send(new StopExecutionCommand({ executionArn: arn }));
    expect(again.stopDate!.getTime()).toBe(described.stopDate!.getTime());
  });

  it('lists executions newest first, filtered by status, page by page', async () => {
    const running = await start(CALLBACK, { release: 'r-7', timeoutSeconds: 30 });
    const all = await client.send(new ListExecutionsCommand({ stateMachineArn: CALLBACK }));
    expect(all.executions![0].executionArn).toBe(running);
    expect(all.executions!.every((e) => e.stateMachineArn === CALLBACK)).toBe(true);

    const onlyRunning = await client.send(new ListExecutionsCommand({ stateMachineArn: CALLBACK, statusFilter: 'RUNNING' }));
    expect(onlyRunning.executions!.map((e) => e.executionArn)).toEqual([running]);

    const firstPage = await client.send(new ListExecutionsCommand({ stateMachineArn: CALLBACK, maxResults: 2 }));
    expect(firstPage.executions).toHaveLength(2);
    const secondPage = await client.send(
      new ListExecutionsCommand({ stateMachineArn: CALLBACK, maxResults: 2, nextToken: firstPage.nextToken }),
    );
    expect(secondPage.executions![0].executionArn).toBe(all.executions![2].executionArn);

    await client.send(new StopExecutionCommand({ executionArn: running }));
    await finished(running);
  });

  it('describes and lists the state machines', async () => {
    const listed = await client.send(new ListStateMachinesCommand({}));
    expect(listed.stateMachines!.map((m) => m.name)).toEqual(['two-tasks', 'callback', 'heartbeat', 'nested']);
    const described = await client.send(new DescribeStateMachineCommand({ stateMachineArn: TWO_TASKS }));
    expect(described).toMatchObject({ name: 'two-tasks', status: 'ACTIVE', type: 'STANDARD' });
    expect(JSON.parse(described.definition!).StartAt).toBe('Prepare');
  });

  it('answers bad requests with the AWS error types', async () => {
    const unknownOp = await failureOf(client.send(new ListActivitiesCommand({})));
    expect(unknownOp).toMatchObject({ name: 'UnknownOperationException', status: 400 });

    const badArn = await failureOf(
      client.send(new DescribeExecutionCommand({ executionArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:two-tasks' })),
    );
    expect(badArn.name).toBe('InvalidArn');
    const missing = await failureOf(
      client.send(new DescribeExecutionCommand({ executionArn: 'arn:aws:states:us-east-1:000000000000:execution:two-tasks:nope' })),
    );
    expect(missing.name).toBe('ExecutionDoesNotExist');
    const noMachine = await failureOf(client.send(new StartExecutionCommand({ stateMachineArn: machineArn('ghost') })));
    expect(noMachine.name).toBe('StateMachineDoesNotExist');
    const badName = await failureOf(client.send(new StartExecutionCommand({ stateMachineArn: TWO_TASKS, name: 'has space' })));
    expect(badName.name).toBe('InvalidName');
    const badInput = await failureOf(client.send(new StartExecutionCommand({ stateMachineArn: TWO_TASKS, input: '{"value":' })));
    expect(badInput.name).toBe('InvalidExecutionInput');
    const badPage = await failureOf(client.send(new ListExecutionsCommand({ stateMachineArn: TWO_TASKS, maxResults: 5000 })));
    expect(badPage.name).toBe('ValidationException');
    expect(badPage.message).toContain('maxResults');
  });

  it('speaks the JSON 1.0 wire format: error type in the body and the header, epoch-second dates', async () => {
    const post = (target: string, body: unknown) =>
      fetch(fx.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': target },
        body: JSON.stringify(body),
      });
    const unknown = await post('AWSStepFunctions.CreateActivity', { name: 'a' });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(await unknown.json()).toMatchObject({ __type: 'UnknownOperationException' });

    const started = await post('AWSStepFunctions.StartExecution', { stateMachineArn: TWO_TASKS, input: '{"value":1}' });
    expect(started.headers.get('content-type')).toBe('application/x-amz-json-1.0');
    const body = (await started.json()) as { executionArn: string; startDate: unknown };
    expect(typeof body.startDate).toBe('number');
    expect(body.startDate as number).toBeCloseTo(Date.now() / 1000, -2);
    await finished(body.executionArn);
  });
});

describe('closing the endpoint', () => {
  it('stops executions that wait for a task token, so close() returns and nothing is left running', async () => {
    const own = await startSfnFixture();
    const ownClient = new SFNClient({ endpoint: own.url, region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const started = await ownClient.send(
        new StartExecutionCommand({ stateMachineArn: CALLBACK, input: JSON.stringify({ release: 'r-9', timeoutSeconds: 30 }) }),
      );
      const token = await own.tokens.first(started.executionArn!);
      ownClient.destroy();
      await own.sfn.close();
      const [closed] = own.sfn.executions();
      expect(closed).toMatchObject({ executionArn: started.executionArn, status: 'ABORTED' });
      expect(() => own.sfn.sendTaskSuccess({ taskToken: token, output: '{}' })).toThrow(/Task Timed Out/);
    } finally {
      ownClient.destroy();
      await own.sfn.close();
    }
  });
});
