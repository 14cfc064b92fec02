import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The one table's key layout and the query helpers every store over it shares (releases, steps, approvals, the
 * lock, what is live). Keys are built here and nowhere else.
 */
export const keys = {
  release: (id: string) => ({ pk: `RELEASE#${id}`, sk: 'META' }),
  /** `nn` is the step's position, so a release's steps sort in pipeline order under one partition. */
  step: (id: string, position: number, step: string) => ({
    pk: `RELEASE#${id}`,
    sk: `STEP#${String(position).padStart(2, '0')}#${step}`,
  }),
  approval: (releaseId: string, approvalId: string) => ({ pk: `RELEASE#${releaseId}`, sk: `APPROVAL#${approvalId}` }),
  lock: (service: string) => ({ pk: `LOCK#${service}`, sk: 'LOCK' }),
  current: (service: string, env: string) => ({ pk: `SERVICE#${service}`, sk: `CURRENT#${env}` }),
  /** Which release claimed one build (service, version, commit): a second start of the same build is refused. */
  build: (service: string, version: string, commit: string) => ({ pk: `SERVICE#${service}`, sk: `BUILD#${version}#${commit}` }),
  /** The history index's partition and sort values of a release. */
  history: (service: string, createdAt: string, releaseId: string) => ({
    gsi1pk: `SERVICE#${service}`,
    gsi1sk: `${createdAt}#${releaseId}`,
  }),
};

/** The partition of one release: its META, STEP# and APPROVAL# items. */
export const releasePartition = (releaseId: string) => `RELEASE#${releaseId}`;

/** Name of the history index: releases of one service, newest first. */
export const HISTORY_INDEX = 'gsi1';

/** True when a conditional write was refused (the SDK class, or its name across bundles). */
export const isConditionFailure = (err: unknown): boolean =>
  err instanceof ConditionalCheckFailedException || (err as Error)?.name === 'ConditionalCheckFailedException';

/** An item without its table keys: what a reader sees. */
export function strip<T>(item: Record<string, unknown> | undefined): T | undefined {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ...rest } = item;
  return rest as T;
}

/** Every page of a consistent query, for partitions that are small but may still page. */
export async function queryAll(
  doc: DynamoDBDocumentClient,
  table: string,
  input: Omit<ConstructorParameters<typeof QueryCommand>[0], 'TableName'>,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(new QueryCommand({ ...input, TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...((out.Items as Record<string, unknown>[]) ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Items of one release's partition whose sort key begins with `prefix` (`STEP#`, `APPROVAL#`). */
export function queryRelease(
  doc: DynamoDBDocumentClient,
  table: string,
  releaseId: string,
  prefix: string,
  extra: Pick<ConstructorParameters<typeof QueryCommand>[0], 'ProjectionExpression' | 'ExpressionAttributeNames'> = {},
): Promise<Record<string, unknown>[]> {
  return queryAll(doc, table, {
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': releasePartition(releaseId), ':prefix': prefix },
    ...extra,
  });
}

/** The newest first, by `createdAt`. */
export const newestFirst = <T extends { createdAt: string }>(items: T[]): T[] =>
  [...items].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
