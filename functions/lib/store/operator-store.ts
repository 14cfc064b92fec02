import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RedriveEntry, RedriveRequest, ReleaseRecord, RolledBackBy } from './records.js';
import { isConditionFailure, keys, strip } from './table.js';

/**
 * The writes of the operating commands that move a release out of a terminal status: a redrive reopens a FAILED
 * release, a rollback turns a SUCCEEDED (or ROLLBACK_FAILED) one into ROLLED_BACK. Every write is conditional on the
 * status it starts from, so a command racing the pipeline or another command changes nothing; each returns
 * undefined when its condition failed.
 */
export class OperatorStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Writes a redrive request on a FAILED release that has not changed since it was read (`seenUpdatedAt`): the
   * redriven execution reopens the release only for this request (see {@link reopenForRedrive}).
   */
  async requestRedrive(releaseId: string, request: RedriveRequest, seenUpdatedAt: string): Promise<ReleaseRecord | undefined> {
    return this.update(releaseId, {
      UpdateExpression: 'SET redrive = :r, updatedAt = :now',
      ConditionExpression: '#status = :failed AND updatedAt = :seen',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':r': request, ':now': this.now().toISOString(), ':failed': 'FAILED', ':seen': seenUpdatedAt },
    });
  }

  /** Takes back a redrive request whose RedriveExecution was refused, while nothing took it up. */
  async withdrawRedrive(releaseId: string, request: RedriveRequest): Promise<void> {
    await this.update(releaseId, {
      UpdateExpression: 'REMOVE redrive SET updatedAt = :now',
      ConditionExpression:
        '#status = :failed AND redrive.#at = :at AND redrive.#count = :count AND attribute_not_exists(redrive.reopenedAt)',
      ExpressionAttributeNames: { '#status': 'status', '#at': 'at', '#count': 'count' },
      ExpressionAttributeValues: { ':now': this.now().toISOString(), ':failed': 'FAILED', ':at': request.at, ':count': request.count },
    });
  }

  /**
   * Reopens a FAILED release for the redrive request numbered `count`, once: RUNNING again, the request marked taken
   * up, the failure it resumes from kept in `redrives`, and the ending (error, endedAt, queue time) cleared so the
   * release runs as new from the lock on.
   */
  async reopenForRedrive(release: ReleaseRecord, count: number): Promise<ReleaseRecord | undefined> {
    const at = this.now().toISOString();
    const request = release.redrive!;
    const entry: RedriveEntry = {
      ...request,
      reopenedAt: at,
      previous: { ...(release.error ? { error: release.error } : {}), ...(release.endedAt ? { endedAt: release.endedAt } : {}) },
    };
    return this.update(release.releaseId, {
      UpdateExpression:
        'SET #status = :running, redrive.reopenedAt = :at, redrives = list_append(if_not_exists(redrives, :none), :entry), ' +
        'updatedAt = :at REMOVE endedAt, durationMs, #error, warnings, queuedAt',
      ConditionExpression: '#status = :failed AND redrive.#count = :count AND attribute_not_exists(redrive.reopenedAt)',
      ExpressionAttributeNames: { '#status': 'status', '#error': 'error', '#count': 'count' },
      ExpressionAttributeValues: {
        ':running': 'RUNNING',
        ':failed': 'FAILED',
        ':count': count,
        ':at': at,
        ':none': [],
        ':entry': [entry],
      },
    });
  }

  /** Marks a SUCCEEDED or ROLLBACK_FAILED release ROLLED_BACK by an operator, keeping who, why and what is live again. */
  async markRolledBack(releaseId: string, rolledBackBy: RolledBackBy): Promise<ReleaseRecord | undefined> {
    return this.update(releaseId, {
      UpdateExpression: 'SET #status = :rolledBack, rolledBackBy = :by, updatedAt = :now',
      ConditionExpression: '#status IN (:succeeded, :rollbackFailed)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':rolledBack': 'ROLLED_BACK',
        ':by': rolledBackBy,
        ':now': this.now().toISOString(),
        ':succeeded': 'SUCCEEDED',
        ':rollbackFailed': 'ROLLBACK_FAILED',
      },
    });
  }

  private async update(
    releaseId: string,
    expression: Pick<
      ConstructorParameters<typeof UpdateCommand>[0],
      'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
  ): Promise<ReleaseRecord | undefined> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({ TableName: this.table, Key: keys.release(releaseId), ReturnValues: 'ALL_NEW', ...expression }),
      );
      return strip<ReleaseRecord>(out.Attributes);
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }
}
