import { randomUUID } from 'node:crypto';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StepName } from '../../steps.js';
import { isConditionFailure, keys } from './table.js';

/** The step that, once it claims a release's fence, keeps every forward step of that release from claiming again. */
const ROLLBACK_PREFIX = 'Rollback#';

/** Who may act for a service now, as the lock item says. */
export interface FenceState {
  holder?: string;
  fence?: string;
}

/**
 * Fencing on the service lock item (`LOCK#<service>`), with single-item conditional writes (dynalite has no
 * transactions). The item's `fence` is the token of the one step attempt that may change production, the gateway,
 * `CURRENT#*` or a step record for the holder: `claim` gives a new attempt the token (conditional on the release
 * still holding the lock and, for a forward step, on its Rollback not having claimed), and `check` tells an attempt,
 * after its side effect, whether it still owns it. An attempt that lost undoes its own effect and writes nothing
 * else. The fence belongs to the holder: a new holder's lock item starts without one (ReleaseStore.acquireLock).
 */
export class FenceStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Makes a new attempt of `step` the one that may act for `releaseId`. Returns its token, or undefined when the
   * release no longer holds the lock (it ended, or the lease passed to another) or, for a step other than Rollback,
   * when the release's Rollback has claimed. Rollback may always claim while the release holds the lock.
   */
  async claim(service: string, releaseId: string, step: StepName): Promise<string | undefined> {
    const forward = step !== 'Rollback';
    // Every rollback of a release shares one token: two of them racing (the state machine's and the status handler's)
    // both keep acting, and their restores are idempotent.
    const token = forward ? `${step}#${randomUUID()}` : `${ROLLBACK_PREFIX}${releaseId}`;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.lock(service),
          UpdateExpression: 'SET fence = :token, fencedAt = :now',
          ConditionExpression: forward
            ? 'holder = :me AND (attribute_not_exists(fence) OR NOT begins_with(fence, :rollback))'
            : 'holder = :me',
          ExpressionAttributeValues: {
            ':token': token,
            ':now': this.now().toISOString(),
            ':me': releaseId,
            ...(forward ? { ':rollback': ROLLBACK_PREFIX } : {}),
          },
        }),
      );
      return token;
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  /**
   * True while `token` is still the fence of `releaseId`'s lock: the attempt that claimed it may write its results.
   * A conditional write (it stamps `checkedAt`), so it is ordered with every claim as strongly as a claim is.
   */
  async check(service: string, releaseId: string, token: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.lock(service),
          UpdateExpression: 'SET checkedAt = :now',
          ConditionExpression: 'holder = :me AND fence = :token',
          ExpressionAttributeValues: { ':now': this.now().toISOString(), ':me': releaseId, ':token': token },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** The lock's holder and fence now, to tell a lost attempt who took over. */
  async state(service: string): Promise<FenceState> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.lock(service), ConsistentRead: true }));
    return { holder: out.Item?.holder as string | undefined, fence: out.Item?.fence as string | undefined };
  }
}

/** The step a fence token was claimed for. */
export const stepOfToken = (token: string | undefined): string | undefined => token?.slice(0, token.indexOf('#'));
