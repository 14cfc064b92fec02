import { randomBytes } from 'node:crypto';
import { SfnServiceError, namedError } from './errors.js';

/**
 * Task tokens of `.waitForTaskToken` tasks.
 *
 * A token is minted each time the engine reads `$$.Task.Token`, claimed by the Task state whose parameters carry
 * it, and then settled once: by SendTaskSuccess / SendTaskFailure, by a missed heartbeat, or by being closed when
 * its task fails or times out or its execution ends. A closed token is kept, so a late SendTaskSuccess gets
 * `TaskTimedOut` as on AWS rather than a crash or a hang.
 */

const PREFIX = 'LWTT1';
const TOKEN_SHAPE = /^LWTT1[A-Za-z0-9_-]{64}$/;

type TokenStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'CLOSED';

interface TokenRecord {
  executionArn: string;
  stateName?: string;
  status: TokenStatus;
  resolve(output: unknown): void;
  reject(error: Error): void;
  promise: Promise<unknown>;
  heartbeat?: NodeJS.Timeout;
}

export class TaskTokens {
  private readonly records = new Map<string, TokenRecord>();

  /** A fresh token for a task of this execution, pending until settled. */
  mint(executionArn: string): string {
    const token = PREFIX + randomBytes(48).toString('base64url');
    let resolve!: (output: unknown) => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Most minted tokens are never awaited (read by a Pass state, or closed before the task waits): a rejection
    // with nobody listening must not become an unhandled rejection.
    promise.catch(() => undefined);
    this.records.set(token, { executionArn, status: 'PENDING', resolve, reject, promise });
    return token;
  }

  /**
   * Ties the pending, unclaimed tokens of this execution that occur anywhere in `value` to `stateName`, so that the
   * state's failure or timeout closes them. Returns the claimed tokens in the order found.
   */
  claimIn(value: unknown, executionArn: string, stateName: string): string[] {
    const claimed: string[] = [];
    const visit = (v: unknown): void => {
      if (typeof v === 'string') {
        const record = this.records.get(v);
        if (record && record.executionArn === executionArn && record.status === 'PENDING' && !record.stateName) {
          record.stateName = stateName;
          claimed.push(v);
        }
      } else if (Array.isArray(v)) {
        v.forEach(visit);
      } else if (v && typeof v === 'object') {
        Object.values(v).forEach(visit);
      }
    };
    visit(value);
    return claimed;
  }

  /** Settles when the token is: with the output, or with the failure / timeout error. */
  wait(token: string): Promise<unknown> {
    const record = this.records.get(token);
    if (!record) return Promise.reject(namedError('States.Runtime', 'unknown task token'));
    return record.promise;
  }

  /**
   * Fails the token with `States.HeartbeatTimeout` unless a heartbeat (or a result) arrives every `seconds`.
   * The clock starts now, when the task has been handed to its worker.
   */
  armHeartbeat(token: string, seconds: number): void {
    const record = this.records.get(token);
    if (record?.status !== 'PENDING') return;
    clearTimeout(record.heartbeat);
    // A Node timer holds at most 2^31 - 1 ms; past that it would fire at once.
    const delayMs = Math.min(seconds * 1000, 2_147_483_647);
    record.heartbeat = setTimeout(() => {
      this.settle(record, 'CLOSED');
      record.reject(namedError('States.HeartbeatTimeout', `no heartbeat for the task token within ${seconds} s`));
    }, delayMs);
  }

  succeed(token: string, output: unknown): void {
    const record = this.pending(token);
    this.settle(record, 'SUCCEEDED');
    record.resolve(output);
  }

  fail(token: string, error: string, cause: string): void {
    const record = this.pending(token);
    this.settle(record, 'FAILED');
    record.reject(namedError(error, cause));
  }

  /** Restarts the heartbeat clock of a pending token. */
  heartbeat(token: string): void {
    const record = this.pending(token);
    record.heartbeat?.refresh();
  }

  /** Closes one token if it is still pending (its task failed before anyone answered). */
  close(token: string, reason: Error): void {
    const record = this.records.get(token);
    if (record?.status !== 'PENDING') return;
    this.settle(record, 'CLOSED');
    record.reject(reason);
  }

  /** Closes every pending token of an execution (it ended, was stopped or timed out). */
  closeExecution(executionArn: string, reason: Error): void {
    for (const record of this.records.values()) {
      if (record.executionArn === executionArn && record.status === 'PENDING') {
        this.settle(record, 'CLOSED');
        record.reject(reason);
      }
    }
  }

  /** The pending token, or the error AWS gives for a token that is malformed, unknown or already closed. */
  private pending(token: string): TokenRecord {
    if (!TOKEN_SHAPE.test(token)) throw new SfnServiceError('InvalidToken', 'Invalid Token: the task token is malformed');
    const record = this.records.get(token);
    if (!record) throw new SfnServiceError('TaskDoesNotExist', 'Task Does Not Exist: no task was issued this token');
    if (record.status !== 'PENDING') {
      throw new SfnServiceError('TaskTimedOut', 'Task Timed Out: the task for this token is already closed');
    }
    return record;
  }

  private settle(record: TokenRecord, status: Exclude<TokenStatus, 'PENDING'>): void {
    record.status = status;
    clearTimeout(record.heartbeat);
    record.heartbeat = undefined;
  }
}
