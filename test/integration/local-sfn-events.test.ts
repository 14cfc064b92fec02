import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DescribeExecutionCommand, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { ExecutionStatusChangeEvent } from '../../local/sfn/local-step-functions.js';
import { recorder, startEventsFixture, type EventsFixture } from '../fixtures/sfn/events-fixture.js';
import { ACCOUNT, machineArn, REGION } from '../fixtures/sfn/local-sfn-fixture.js';

const STEPS = machineArn('redrive-steps');
const FAIL_STATE = machineArn('fail-state');
const TIMEOUT = machineArn('timeout');
const HOLD = machineArn('hold');

let fx: EventsFixture;
const terminal = recorder();
const lifecycle = recorder();
/** The status DescribeExecution gave while each terminal event was being handled, by event id. */
const describedAtDelivery = new Map<string, string | undefined>();

beforeAll(async () => {
  fx = await startEventsFixture([
    {
      statuses: ['FAILED', 'TIMED_OUT', 'ABORTED'],
      handler: async (event) => {
        const described = await fx.client.send(new DescribeExecutionCommand({ executionArn: event.detail.executionArn }));
        describedAtDelivery.set(event.id, described.status);
        await terminal.handler(event);
      },
    },
    { statuses: ['RUNNING', 'SUCCEEDED'], handler: lifecycle.handler },
  ]);
});

afterAll(async () => {
  await fx?.close();
});

async function start(stateMachineArn: string, input: unknown = {}): Promise<string> {
  const out = await fx.client.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }));
  return out.executionArn!;
}

const eventsOf = (events: ExecutionStatusChangeEvent[], executionArn: string) =>
  events.filter((e) => e.detail.executionArn === executionArn);

describe('status change events, as EventBridge delivers them', () => {
  it('publishes FAILED for an uncaught error, in the AWS shape, after DescribeExecution shows it', async () => {
    const arn = await start(STEPS, { fail: true });
    const { event, deliveries } = await fx.sfn.statusEvents.waitFor(arn, 'FAILED');
    expect(deliveries).toEqual([expect.objectContaining({ rule: 0, attempts: 1, outcome: 'delivered', errors: [] })]);

    const described = await fx.client.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(event).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: ACCOUNT,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: REGION,
      resources: [arn],
      detail: {
        executionArn: arn,
        stateMachineArn: STEPS,
        name: arn.split(':').at(-1),
        status: 'FAILED',
        startDate: described.startDate!.getTime(),
        stopDate: described.stopDate!.getTime(),
        input: '{"fail":true}',
        inputDetails: { included: true },
        output: null,
        outputDetails: null,
        error: 'Flaky',
        cause: 'the flaky step failed',
        redriveCount: 0,
        redriveDate: null,
        redriveStatus: 'REDRIVABLE',
        redriveStatusReason: null,
      },
    });
    expect(describedAtDelivery.get(event.id)).toBe('FAILED');
    expect(eventsOf(terminal.events, arn)).toEqual([event]);
  });

  it('publishes each status once: RUNNING on start, then how it ended, to the rules that list it', async () => {
    const arn = await start(STEPS);
    await fx.sfn.statusEvents.waitFor(arn, 'RUNNING');
    await fx.sfn.statusEvents.waitFor(arn, 'SUCCEEDED');
    const statuses = eventsOf(lifecycle.events, arn).map((e) => e.detail.status);
    expect(statuses).toEqual(['RUNNING', 'SUCCEEDED']);
    expect(eventsOf(terminal.events, arn)).toEqual([]);

    const running = eventsOf(lifecycle.events, arn)[0].detail;
    expect(running).toMatchObject({ stopDate: null, output: null, redriveStatus: 'NOT_REDRIVABLE' });
    expect(running.redriveStatusReason).toBe('Execution is RUNNING and cannot be redriven.');
    const succeeded = eventsOf(lifecycle.events, arn)[1].detail;
    expect(JSON.parse(succeeded.output!)).toMatchObject({ finished: { step: 'Finish' } });
    expect(succeeded.outputDetails).toEqual({ included: true });
    expect(fx.sfn.statusEvents.published().filter((p) => p.event.detail.executionArn === arn)).toHaveLength(2);
  });

  it('publishes FAILED with the Error and Cause of a Fail state', async () => {
    const arn = await start(FAIL_STATE);
    const { event } = await fx.sfn.statusEvents.waitFor(arn, 'FAILED');
    expect(event.detail).toMatchObject({ status: 'FAILED', error: 'ReleaseRejected', cause: 'the checks failed' });
    expect(eventsOf(terminal.events, arn)).toHaveLength(1);
  });

  it("publishes TIMED_OUT when the execution outlasts the machine's TimeoutSeconds", async () => {
    const arn = await start(TIMEOUT);
    const { event } = await fx.sfn.statusEvents.waitFor(arn, 'TIMED_OUT', { timeoutMs: 5_000 });
    expect(event.detail).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout', redriveStatus: 'REDRIVABLE' });
    expect(event.detail.stopDate! - event.detail.startDate).toBeGreaterThanOrEqual(1_000);
    expect(describedAtDelivery.get(event.id)).toBe('TIMED_OUT');
  });

  it('publishes ABORTED on StopExecution, with its error and cause', async () => {
    const arn = await start(HOLD);
    await fx.sfn.statusEvents.waitFor(arn, 'RUNNING');
    await fx.client.send(new StopExecutionCommand({ executionArn: arn, error: 'Cancelled', cause: 'superseded' }));
    const { event } = await fx.sfn.statusEvents.waitFor(arn, 'ABORTED');
    expect(event.detail).toMatchObject({ status: 'ABORTED', error: 'Cancelled', cause: 'superseded', output: null });
    expect(describedAtDelivery.get(event.id)).toBe('ABORTED');
    // Stopping again changes nothing, so nothing more is published.
    await fx.client.send(new StopExecutionCommand({ executionArn: arn }));
    expect(
      fx.sfn.statusEvents
        .published()
        .filter((p) => p.event.detail.executionArn === arn)
        .map((p) => p.event.detail.status),
    ).toEqual(['RUNNING', 'ABORTED']);
  });
});

describe('status event targets that fail', () => {
  let own: EventsFixture | undefined;
  afterEach(async () => {
    await own?.close();
    own = undefined;
    vi.restoreAllMocks();
  });

  it('retries a target that throws, with backoff, then gives up without harming the endpoint', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    let calls = 0;
    own = await startEventsFixture(
      [
        {
          statuses: ['FAILED'],
          handler: () => {
            calls += 1;
            throw new Error(`target down (${calls})`);
          },
        },
      ],
      { maxAttempts: 3, delayMs: 5 },
    );
    const { executionArn } = await own.client.send(new StartExecutionCommand({ stateMachineArn: FAIL_STATE }));
    const { deliveries } = await own.sfn.statusEvents.waitFor(executionArn!, 'FAILED');
    expect(deliveries).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        attempts: 3,
        errors: ['Error: target down (1)', 'Error: target down (2)', 'Error: target down (3)'],
      }),
    ]);
    expect(calls).toBe(3);
    expect(logged.mock.calls.map((args) => String(args[0]))).toEqual([
      expect.stringContaining('attempt 1 to deliver the FAILED event'),
      expect.stringContaining('attempt 2 to deliver'),
      expect.stringMatching(/attempt 3 to deliver .*giving up/),
    ]);
    // The endpoint still answers and runs executions.
    const next = await own.client.send(new StartExecutionCommand({ stateMachineArn: STEPS }));
    expect((await own.sfn.waitForExecution(next.executionArn!, 10_000)).status).toBe('SUCCEEDED');
  });

  it('delivers on a retry once the target recovers, handing it the same event each time', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const seen: ExecutionStatusChangeEvent[] = [];
    own = await startEventsFixture(
      [
        {
          statuses: ['FAILED'],
          handler: async (event) => {
            seen.push(event);
            if (seen.length === 1) throw new Error('cold start');
          },
        },
      ],
      { maxAttempts: 3, delayMs: 5 },
    );
    const { executionArn } = await own.client.send(new StartExecutionCommand({ stateMachineArn: FAIL_STATE }));
    const { deliveries } = await own.sfn.statusEvents.waitFor(executionArn!, 'FAILED');
    expect(deliveries[0]).toMatchObject({ outcome: 'delivered', attempts: 2, errors: ['Error: cold start'] });
    expect(seen).toHaveLength(2);
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[1]).not.toBe(seen[0]);
  });
});

describe('closing the endpoint with deliveries pending', () => {
  it('waits for a target that is running, and cancels a retry that is waiting, so nothing runs after close', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let slowStarted!: () => void;
    const slowRunning = new Promise<void>((resolve) => {
      slowStarted = resolve;
    });
    let failedOnce!: () => void;
    const failing = new Promise<void>((resolve) => {
      failedOnce = resolve;
    });
    let failingCalls = 0;
    const own = await startEventsFixture(
      [
        {
          statuses: ['FAILED'],
          stateMachineArns: [FAIL_STATE],
          handler: async () => {
            slowStarted();
            await gate;
            order.push('slow target finished');
          },
        },
        {
          statuses: ['FAILED'],
          stateMachineArns: [FAIL_STATE],
          handler: () => {
            failingCalls += 1;
            failedOnce();
            throw new Error('down');
          },
        },
      ],
      // Long enough that only a cancelled retry explains the target not running again before the test ends.
      { maxAttempts: 5, delayMs: 60_000 },
    );
    try {
      const { executionArn } = await own.client.send(new StartExecutionCommand({ stateMachineArn: FAIL_STATE }));
      await Promise.all([slowRunning, failing]);
      const closed = own.close().then(() => order.push('closed'));
      release();
      await closed;
      expect(order).toEqual(['slow target finished', 'closed']);
      const published = await own.sfn.statusEvents.waitFor(executionArn!, 'FAILED');
      expect(published.deliveries.map((d) => [d.outcome, d.attempts])).toEqual([
        ['delivered', 1],
        ['cancelled', 1],
      ]);
      expect(failingCalls).toBe(1);
    } finally {
      release();
      await own.close();
    }
  });

  it('does not deliver the ABORTED events of the executions close() itself stops', async () => {
    const aborted = recorder();
    const own = await startEventsFixture([{ statuses: ['ABORTED'], handler: aborted.handler }]);
    const { executionArn } = await own.client.send(new StartExecutionCommand({ stateMachineArn: HOLD }));
    await own.close();
    expect(own.sfn.describeExecution({ executionArn: executionArn! }).status).toBe('ABORTED');
    const { deliveries } = await own.sfn.statusEvents.waitFor(executionArn!, 'ABORTED');
    expect(deliveries.map((d) => d.outcome)).toEqual(['cancelled']);
    expect(aborted.events).toEqual([]);
  });
});
