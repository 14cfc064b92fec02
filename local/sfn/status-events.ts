import { randomUUID } from 'node:crypto';
import type { EventBridgeEvent } from 'aws-lambda';
import type { ExecutionStatus } from './api-schemas.js';
import type { ArnScope } from './arns.js';
import { describe, type Execution } from './execution-record.js';

/** The `detail` of a "Step Functions Execution Status Change" event, as AWS sends it: dates in epoch ms, nulls kept. */
export interface ExecutionStatusChangeDetail {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate: number | null;
  input: string | null;
  inputDetails: { included: boolean };
  output: string | null;
  outputDetails: { included: boolean } | null;
  error: string | null;
  cause: string | null;
  redriveCount: number;
  redriveDate: number | null;
  redriveStatus: 'REDRIVABLE' | 'NOT_REDRIVABLE';
  redriveStatusReason: string | null;
}

/** The event EventBridge hands a rule's target (a Lambda function) when an execution's status changes. */
export type ExecutionStatusChangeEvent = EventBridgeEvent<'Step Functions Execution Status Change', ExecutionStatusChangeDetail>;

/**
 * An EventBridge rule on source `aws.states`, detail-type `Step Functions Execution Status Change`, matching
 * `detail.status` (and `detail.stateMachineArn`, when given), with one target invoked asynchronously.
 */
export interface StatusChangeRule {
  statuses: ExecutionStatus[];
  /** Only executions of these state machines; every machine's when omitted. */
  stateMachineArns?: string[];
  /** The target, called with a JSON copy of the event; a throw or a rejection is retried (see `StatusEventRetry`). */
  handler: (event: ExecutionStatusChangeEvent) => unknown;
}

/** How a failed delivery is retried: Lambda retries an asynchronous invocation twice, after 1 and 2 minutes. */
export interface StatusEventRetry {
  /** Attempts in all, the first included. @default 3 */
  maxAttempts?: number;
  /** The pause before the first retry, doubled before each next one. @default 100 */
  delayMs?: number;
}

/** One event handed to one rule's target: how it went. */
export interface StatusEventDelivery {
  event: ExecutionStatusChangeEvent;
  /** The rule's index in `onStatusChange`. */
  rule: number;
  attempts: number;
  /** `cancelled`: the endpoint closed before the delivery succeeded or ran out of attempts. */
  outcome: 'pending' | 'delivered' | 'failed' | 'cancelled';
  /** The message of each failed attempt, in order. */
  errors: string[];
}

/** An event published to the bus, and the deliveries it matched, once they have all settled. */
export interface PublishedStatusEvent {
  event: ExecutionStatusChangeEvent;
  deliveries: StatusEventDelivery[];
}

interface Pending {
  delivery: StatusEventDelivery;
  timer?: NodeJS.Timeout;
  /** True while the target is running: close() lets it finish instead of cancelling it. */
  inFlight: boolean;
  settle(outcome: 'delivered' | 'failed' | 'cancelled'): void;
}

interface Slot {
  done: Promise<PublishedStatusEvent>;
  resolve(value: PublishedStatusEvent): void;
}

/**
 * The default event bus, as far as Step Functions' status change events go: each status change of an execution is
 * published once, after DescribeExecution already shows it, and handed asynchronously to every matching rule's
 * target. A target that throws is logged and retried with backoff, then given up. Tests await a delivery with
 * `waitFor` instead of sleeping.
 */
export class StatusEvents {
  private readonly rules: StatusChangeRule[];
  private readonly maxAttempts: number;
  private readonly delayMs: number;
  private readonly slots = new Map<string, Slot>();
  private readonly log: PublishedStatusEvent[] = [];
  private readonly pending = new Set<Pending>();
  private readonly running = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly scope: ArnScope,
    rules: StatusChangeRule[] = [],
    retry: StatusEventRetry = {},
  ) {
    this.rules = rules;
    this.maxAttempts = retry.maxAttempts ?? 3;
    this.delayMs = retry.delayMs ?? 100;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1)
      throw new Error(`statusEventRetry.maxAttempts must be a positive integer`);
    rules.forEach((rule, i) => {
      if (typeof rule.handler !== 'function') throw new Error(`onStatusChange[${i}].handler must be a function`);
    });
  }

  /** Publishes the execution's current status, and starts delivering it to the rules it matches. */
  publish(run: Execution): void {
    const event = statusChangeEvent(run, this.scope);
    const { detail } = event;
    const deliveries = this.rules.flatMap((rule, i) =>
      rule.statuses.includes(detail.status) && (!rule.stateMachineArns || rule.stateMachineArns.includes(detail.stateMachineArn))
        ? [this.deliver(event, rule, i)]
        : [],
    );
    const slot = this.slot(detail.executionArn, detail.status, detail.redriveCount);
    const published = { event, deliveries: deliveries.map((d) => d.delivery) };
    this.log.push(published);
    void Promise.all(deliveries.map((d) => d.done)).then(() => slot.resolve(published));
  }

  /**
   * Resolves once the event for this execution, status and redrive count (0: before any redrive) is published and
   * every delivery of it has settled; rejects after `timeoutMs`.
   */
  async waitFor(
    executionArn: string,
    status: ExecutionStatus,
    options: { redriveCount?: number; timeoutMs?: number } = {},
  ): Promise<PublishedStatusEvent> {
    const { redriveCount = 0, timeoutMs = 10_000 } = options;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const what = `${status} event (redriveCount ${redriveCount}) of ${executionArn}`;
        reject(new Error(`the ${what} was not published and delivered within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.slot(executionArn, status, redriveCount).done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Every event published so far, oldest first. */
  published(): PublishedStatusEvent[] {
    return [...this.log];
  }

  /**
   * Stops delivering: retries and deliveries not yet started are cancelled (they never run), and the attempts
   * already running are awaited, at most `timeoutMs`. Events published later are not delivered.
   */
  async close(timeoutMs = 5_000): Promise<void> {
    this.closed = true;
    for (const pending of [...this.pending]) if (!pending.inFlight) pending.settle('cancelled');
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([Promise.allSettled([...this.running]), bound]);
    clearTimeout(timer);
    if (result === 'timeout') {
      console.error(`local Step Functions endpoint: ${this.running.size} status event target(s) still running ${timeoutMs} ms after close`);
    }
  }

  private deliver(event: ExecutionStatusChangeEvent, rule: StatusChangeRule, index: number) {
    const delivery: StatusEventDelivery = { event, rule: index, attempts: 0, outcome: 'pending', errors: [] };
    let settled!: () => void;
    const done = new Promise<void>((resolve) => {
      settled = resolve;
    });
    const pending: Pending = {
      delivery,
      inFlight: false,
      settle: (outcome) => {
        if (delivery.outcome !== 'pending') return;
        clearTimeout(pending.timer);
        this.pending.delete(pending);
        delivery.outcome = outcome;
        settled();
      },
    };
    const attempt = async () => {
      pending.timer = undefined;
      if (this.closed) return pending.settle('cancelled');
      delivery.attempts += 1;
      // Each attempt gets its own copy, as each Lambda invocation gets its own event; the event id stays the same.
      const call = Promise.resolve().then(() => rule.handler(JSON.parse(JSON.stringify(event)) as ExecutionStatusChangeEvent));
      this.running.add(call);
      pending.inFlight = true;
      try {
        await call;
        pending.settle('delivered');
      } catch (error) {
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        delivery.errors.push(message);
        const last = delivery.attempts >= this.maxAttempts;
        const what = `${event.detail.status} event of ${event.detail.executionArn} to onStatusChange[${index}]`;
        console.error(
          `local Step Functions endpoint: attempt ${delivery.attempts} to deliver the ${what} failed${last ? ', giving up' : ''}`,
          error,
        );
        if (last) pending.settle('failed');
        else if (this.closed) pending.settle('cancelled');
        else pending.timer = setTimeout(() => void attempt(), this.delayMs * 2 ** (delivery.attempts - 1));
      } finally {
        pending.inFlight = false;
        this.running.delete(call);
      }
    };
    this.pending.add(pending);
    // Asynchronous as on AWS: the API call that changed the status answers before any target runs.
    if (this.closed) pending.settle('cancelled');
    else pending.timer = setTimeout(() => void attempt(), 0);
    return { delivery, done };
  }

  private slot(executionArn: string, status: ExecutionStatus, redriveCount: number): Slot {
    const key = `${executionArn}|${status}|${redriveCount}`;
    let slot = this.slots.get(key);
    if (!slot) {
      let resolve!: (value: PublishedStatusEvent) => void;
      const done = new Promise<PublishedStatusEvent>((res) => {
        resolve = res;
      });
      slot = { done, resolve };
      this.slots.set(key, slot);
    }
    return slot;
  }
}

/** The event AWS would publish for the execution's current status. */
export function statusChangeEvent(run: Execution, scope: ArnScope): ExecutionStatusChangeEvent {
  const described = describe(run);
  const closed = run.status !== 'RUNNING';
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: scope.accountId,
    time: new Date(run.stopDate ?? Date.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: scope.region,
    resources: [run.arn],
    detail: {
      executionArn: run.arn,
      stateMachineArn: run.machine.arn,
      name: run.name,
      status: run.status,
      startDate: run.startDate,
      stopDate: run.stopDate ?? null,
      input: run.input,
      inputDetails: { included: true },
      output: run.output ?? null,
      outputDetails: closed && run.output !== undefined ? { included: true } : null,
      error: run.error ?? null,
      cause: run.cause ?? null,
      redriveCount: run.redriveCount,
      redriveDate: run.redriveDate ?? null,
      redriveStatus: described.redriveStatus,
      redriveStatusReason: described.redriveStatusReason ?? null,
    },
  };
}
