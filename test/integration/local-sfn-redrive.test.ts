import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { recorder, startEventsFixture, type EventsFixture } from '../fixtures/sfn/events-fixture.js';
import { machineArn } from '../fixtures/sfn/local-sfn-fixture.js';

const STEPS = machineArn('redrive-steps');
const HOLD = machineArn('hold');
const PARALLEL = machineArn('parallel-fail');

let fx: EventsFixture;
const events = recorder();

beforeAll(async () => {
  fx = await startEventsFixture([{ statuses: ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'], handler: events.handler }]);
});

afterAll(async () => {
  await fx?.close();
});

async function start(stateMachineArn: string, input: unknown = {}): Promise<string> {
  const out = await fx.client.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }));
  return out.executionArn!;
}

const describeExecution = (executionArn: string) => fx.client.send(new DescribeExecutionCommand({ executionArn }));

async function historyTypes(executionArn: string): Promise<HistoryEvent[]> {
  const out = await fx.client.send(new GetExecutionHistoryCommand({ executionArn }));
  return out.events ?? [];
}

/** The error a command fails with, or a test failure if it succeeds. */
async function failureOf(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { name: string; message: string };
  }
  throw new Error('expected the command to fail, it succeeded');
}

describe('RedriveExecution', () => {
  it('continues a FAILED execution from the failed state with its input, under the same ARN', async () => {
    const arn = await start(STEPS, { fail: true, release: 'r-1' });
    expect((await fx.sfn.waitForExecution(arn, 10_000)).status).toBe('FAILED');
    const failed = await describeExecution(arn);
    expect(failed).toMatchObject({ status: 'FAILED', error: 'Flaky', redriveCount: 0, redriveStatus: 'REDRIVABLE' });
    expect(failed.redriveDate).toBeUndefined();

    const redriven = await fx.client.send(new RedriveExecutionCommand({ executionArn: arn, clientToken: 'redrive-r-1' }));
    expect(redriven.redriveDate).toBeInstanceOf(Date);
    const done = await fx.sfn.waitForExecution(arn, 10_000);
    expect(done.status).toBe('SUCCEEDED');

    // Prepare ran once; Flaky ran again on the input it failed with; the steps after it ran once.
    expect(fx.stepsOf(arn)).toEqual(['Prepare', 'Flaky', 'Flaky', 'Finish']);
    const [firstFlaky, secondFlaky] = fx.calls.filter((call) => call.executionId === arn && call.step === 'Flaky');
    expect(secondFlaky.payload.state).toEqual(firstFlaky.payload.state);
    expect(secondFlaky.payload.state).toEqual({ fail: true, release: 'r-1', prepared: { step: 'Prepare' } });
    // $$.Execution.Input is still the execution's input, and $$.Execution.RedriveCount counts the redrive.
    expect(secondFlaky.payload.executionInput).toEqual({ fail: true, release: 'r-1' });
    expect([firstFlaky.payload.redriveCount, secondFlaky.payload.redriveCount]).toEqual([0, 1]);

    const described = await describeExecution(arn);
    expect(described).toMatchObject({ executionArn: arn, status: 'SUCCEEDED', redriveCount: 1, redriveStatus: 'NOT_REDRIVABLE' });
    expect(described.redriveStatusReason).toBe('Execution is SUCCEEDED and cannot be redriven.');
    expect(described.redriveDate!.getTime()).toBe(redriven.redriveDate!.getTime());
    expect(described.startDate!.getTime()).toBe(failed.startDate!.getTime());
    expect(described.error).toBeUndefined();
    expect(JSON.parse(described.output!)).toEqual({
      fail: true,
      release: 'r-1',
      prepared: { step: 'Prepare' },
      flaky: { step: 'Flaky' },
      finished: { step: 'Finish' },
    });
    const listed = await fx.client.send(new ListExecutionsCommand({ stateMachineArn: STEPS, maxResults: 1 }));
    expect(listed.executions![0]).toMatchObject({ executionArn: arn, redriveCount: 1 });

    // The same client token answers with the same redrive, and does not redrive again.
    const again = await fx.client.send(new RedriveExecutionCommand({ executionArn: arn, clientToken: 'redrive-r-1' }));
    expect(again.redriveDate!.getTime()).toBe(redriven.redriveDate!.getTime());
    expect((await describeExecution(arn)).redriveCount).toBe(1);
  });

  it("keeps the first run's history, then ExecutionRedriven and the redrive's events, numbered throughout", async () => {
    const arn = await start(STEPS, { fail: true });
    await fx.sfn.waitForExecution(arn, 10_000);
    await fx.client.send(new RedriveExecutionCommand({ executionArn: arn }));
    await fx.sfn.waitForExecution(arn, 10_000);

    const history = await historyTypes(arn);
    const types = history.map((e) => e.type);
    const task = ['TaskStateEntered', 'TaskScheduled', 'TaskStarted'];
    expect(types).toEqual([
      'ExecutionStarted',
      ...task,
      'TaskSucceeded',
      'TaskStateExited',
      ...task,
      'TaskFailed',
      'ExecutionFailed',
      'ExecutionRedriven',
      ...task,
      'TaskSucceeded',
      'TaskStateExited',
      ...task,
      'TaskSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    const redriven = history.find((e) => e.type === 'ExecutionRedriven');
    expect(redriven?.executionRedrivenEventDetails).toEqual({ redriveCount: 1 });
    expect(history[types.indexOf('ExecutionRedriven') + 1].stateEnteredEventDetails?.name).toBe('Flaky');
    history.forEach((event, i) => {
      expect(event.id).toBe(i + 1);
      expect(event.previousEventId).toBe(i);
      if (i > 0) expect(event.timestamp!.getTime()).toBeGreaterThanOrEqual(history[i - 1].timestamp!.getTime());
    });
  });

  it('publishes the status events again for the redrive: RUNNING, then how it ended, with redriveCount 1', async () => {
    const arn = await start(STEPS, { fail: true });
    const failed = await fx.sfn.statusEvents.waitFor(arn, 'FAILED');
    expect(failed.event.detail.redriveCount).toBe(0);
    await fx.client.send(new RedriveExecutionCommand({ executionArn: arn }));
    const running = await fx.sfn.statusEvents.waitFor(arn, 'RUNNING', { redriveCount: 1 });
    const succeeded = await fx.sfn.statusEvents.waitFor(arn, 'SUCCEEDED', { redriveCount: 1 });
    expect(running.event.detail).toMatchObject({ status: 'RUNNING', redriveCount: 1, stopDate: null, error: null });
    expect(running.event.detail.redriveDate).toBeGreaterThanOrEqual(failed.event.detail.stopDate!);
    expect(succeeded.event.detail).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
    const statuses = events.events.filter((e) => e.detail.executionArn === arn).map((e) => `${e.detail.status}/${e.detail.redriveCount}`);
    expect(statuses).toEqual(['RUNNING/0', 'FAILED/0', 'RUNNING/1', 'SUCCEEDED/1']);
  });

  it('redrives an ABORTED execution from the state it was stopped in', async () => {
    const arn = await start(HOLD);
    await fx.client.send(new StopExecutionCommand({ executionArn: arn, cause: 'paused' }));
    await fx.client.send(new RedriveExecutionCommand({ executionArn: arn }));
    const running = await describeExecution(arn);
    expect(running).toMatchObject({ status: 'RUNNING', redriveCount: 1, redriveStatus: 'NOT_REDRIVABLE' });
    expect(running.stopDate).toBeUndefined();
    expect(running.cause).toBeUndefined();

    await fx.client.send(new StopExecutionCommand({ executionArn: arn, cause: 'paused again' }));
    const { event } = await fx.sfn.statusEvents.waitFor(arn, 'ABORTED', { redriveCount: 1 });
    expect(event.detail).toMatchObject({ cause: 'paused again', redriveStatus: 'REDRIVABLE' });
    const types = (await historyTypes(arn)).map((e) => e.type);
    expect(types).toEqual([
      'ExecutionStarted',
      'WaitStateEntered',
      'ExecutionAborted',
      'ExecutionRedriven',
      'WaitStateEntered',
      'ExecutionAborted',
    ]);
  });

  it('refuses a SUCCEEDED or RUNNING execution with ExecutionNotRedrivable, an unknown one with ExecutionDoesNotExist', async () => {
    const succeeded = await start(STEPS);
    await fx.sfn.waitForExecution(succeeded, 10_000);
    const notRedrivable = await failureOf(fx.client.send(new RedriveExecutionCommand({ executionArn: succeeded })));
    expect(notRedrivable.name).toBe('ExecutionNotRedrivable');
    expect(notRedrivable.message).toContain('Execution is SUCCEEDED and cannot be redriven.');
    expect((await describeExecution(succeeded)).redriveCount).toBe(0);
    expect(fx.stepsOf(succeeded)).toEqual(['Prepare', 'Flaky', 'Finish']);

    const running = await start(HOLD);
    expect((await failureOf(fx.client.send(new RedriveExecutionCommand({ executionArn: running })))).name).toBe('ExecutionNotRedrivable');
    await fx.client.send(new StopExecutionCommand({ executionArn: running }));

    const unknown = `${STEPS.replace(':stateMachine:', ':execution:')}:never-started`;
    expect((await failureOf(fx.client.send(new RedriveExecutionCommand({ executionArn: unknown })))).name).toBe('ExecutionDoesNotExist');
  });

  it('refuses to redrive from inside a Parallel state, which AWS would redrive branch by branch', async () => {
    const arn = await start(PARALLEL, { fail: true });
    expect((await fx.sfn.waitForExecution(arn, 10_000)).status).toBe('FAILED');
    const described = await describeExecution(arn);
    expect(described.redriveStatus).toBe('NOT_REDRIVABLE');
    expect(described.redriveStatusReason).toContain('Parallel state "Fanout"');
    const refused = await failureOf(fx.client.send(new RedriveExecutionCommand({ executionArn: arn })));
    expect(refused.name).toBe('ExecutionNotRedrivable');
    expect(fx.stepsOf(arn)).toEqual(['BranchFlaky']);
  });
});
