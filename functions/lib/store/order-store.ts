import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ReleaseRecord } from './records.js';
import { HISTORY_INDEX, isConditionFailure, keys, strip } from './table.js';

/** Who claimed a build (service, version, commit) and when. */
export interface BuildClaim {
  releaseId: string;
  claimedAt: string;
}

/**
 * What the order of releases needs from the table: the releases of a service by start time (the queue), the lock's
 * holder, and the claim each build leaves so it is started once. Single-item conditional writes only.
 */
export class OrderStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Releases of `service` whose history key (`<createdAt>#<releaseId>`) lies in [`fromCreatedAt`, `upToKey`], oldest
   * first, filtered to `statuses`. From the history index, so eventually consistent: a status may lag by a moment.
   */
  async startedBetween(service: string, fromCreatedAt: string, upToKey: string, statuses: readonly string[]): Promise<ReleaseRecord[]> {
    const found: ReleaseRecord[] = [];
    const statusValues = Object.fromEntries(statuses.map((s, i) => [`:s${i}`, s]));
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: HISTORY_INDEX,
          KeyConditionExpression: 'gsi1pk = :p AND gsi1sk BETWEEN :from AND :upTo',
          FilterExpression: `#status IN (${Object.keys(statusValues).join(', ')})`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':p': keys.history(service, '', '').gsi1pk,
            ':from': fromCreatedAt,
            ':upTo': upToKey,
            ...statusValues,
          },
          ExclusiveStartKey: start,
        }),
      );
      found.push(...(out.Items ?? []).map((i) => strip<ReleaseRecord>(i)!));
      start = out.LastEvaluatedKey;
    } while (start);
    return found;
  }

  /** The release holding the service's lock, if any (its lease may have expired). */
  async lockHolder(service: string): Promise<string | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.lock(service), ConsistentRead: true }));
    return out.Item?.holder as string | undefined;
  }

  async buildClaim(service: string, version: string, commit: string): Promise<BuildClaim | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.build(service, version, commit), ConsistentRead: true }),
    );
    return out.Item ? { releaseId: String(out.Item.releaseId), claimedAt: String(out.Item.claimedAt) } : undefined;
  }

  /**
   * Claims a build for `releaseId`: succeeds when nobody claimed it, this release did (a retry), or `replacing`
   * still holds it (a claim the caller found dead). False when another release claimed it first.
   */
  async claimBuild(service: string, version: string, commit: string, releaseId: string, replacing?: string): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.build(service, version, commit), releaseId, claimedAt: this.now().toISOString() },
          ConditionExpression: `attribute_not_exists(pk) OR releaseId = :me${replacing ? ' OR releaseId = :old' : ''}`,
          ExpressionAttributeValues: { ':me': releaseId, ...(replacing ? { ':old': replacing } : {}) },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }
}
