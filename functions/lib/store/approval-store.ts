import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { summarize, type ApprovalItem, type ApprovalStatus, type ApprovalSummary, type DecisionRecord } from '../approvals/records.js';
import { isConditionFailure, keys, newestFirst, queryRelease, strip } from './table.js';

/** Names one approval item: its release and its id. An {@link ApprovalItem} is one. */
export interface ApprovalRef {
  releaseId: string;
  approvalId: string;
}

/** What readers may see of an approval item: everything but the task token and the delivery claim. */
const SUMMARY_FIELDS = [
  'approvalId',
  'releaseId',
  'service',
  'approvers',
  'requiredApprovals',
  'apiOwners',
  'decisions',
  'status',
  'expiresAt',
  'createdAt',
  'triggeredBy',
  'concludedAt',
  'remindAt',
  'remindedAt',
  'remindedApprovers',
];

/** The delivery claim stores a hash, so a second copy of the token is not needed to compare. */
const tokenHash = (token: string) => createHash('sha256').update(token, 'utf8').digest('base64url');

const key = (ref: ApprovalRef) => keys.approval(ref.releaseId, ref.approvalId);

/**
 * The approval items of the releases table (`RELEASE#<id>` / `APPROVAL#<approvalId>`): the only code that reads or
 * writes them. Every change is a single conditional update, so concurrent deciders, the remind step and a retried
 * request never overwrite each other; a refused condition comes back as `false` or `undefined`, never as an error.
 */
export class ApprovalStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Stores a new approval. Its id is random, so an existing item means a bug, and the write fails. */
  async create(item: ApprovalItem): Promise<void> {
    await this.doc.send(
      new PutCommand({ TableName: this.table, Item: { ...key(item), ...item }, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
  }

  /** One approval with its task token, read consistently. */
  async get(ref: ApprovalRef): Promise<ApprovalItem | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: key(ref), ConsistentRead: true }));
    return strip<ApprovalItem>(out.Item);
  }

  /** The newest approval of a release, with its task token. */
  async current(releaseId: string): Promise<ApprovalItem | undefined> {
    return newestFirst(await this.list(releaseId))[0];
  }

  /**
   * The newest approval of a release for readers. The projection leaves the task token out, so it never reaches a
   * CLI, a page or release notes.
   */
  async summary(releaseId: string): Promise<ApprovalSummary | undefined> {
    const items = await queryRelease(this.doc, this.table, releaseId, 'APPROVAL#', {
      ProjectionExpression: SUMMARY_FIELDS.map((_, i) => `#p${i}`).join(', '),
      ExpressionAttributeNames: Object.fromEntries(SUMMARY_FIELDS.map((f, i) => [`#p${i}`, f])),
    });
    const newest = newestFirst(items as unknown as ApprovalItem[])[0];
    return newest ? summarize(newest) : undefined;
  }

  /** Marks every still-pending approval of the release SUPERSEDED; a retried RequestApproval replaces them. */
  async supersedePending(releaseId: string, at: string): Promise<void> {
    for (const old of await this.list(releaseId)) {
      if (old.status !== 'PENDING') continue;
      await this.updateIf(old, {
        UpdateExpression: 'SET #status = :superseded, concludedAt = :at',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':superseded': 'SUPERSEDED', ':pending': 'PENDING', ':at': at },
      });
    }
  }

  /**
   * Marks every still-pending approval of a release CANCELLED because the release ended without a decision; their
   * links then answer 410. Returns how many were closed.
   */
  async cancelPending(releaseId: string, at: string): Promise<number> {
    let closed = 0;
    for (const item of await this.list(releaseId)) {
      if (item.status !== 'PENDING') continue;
      const out = await this.updateIf(item, {
        UpdateExpression: 'SET #status = :cancelled, concludedAt = :at',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':cancelled': 'CANCELLED', ':pending': 'PENDING', ':at': at },
      });
      if (out) closed += 1;
    }
    return closed;
  }

  /**
   * Stores the remind step's new task token. Returns the approval as it is now, or undefined when it was
   * superseded (or never existed).
   */
  async replaceToken(ref: ApprovalRef, taskToken: string, at: string): Promise<ApprovalItem | undefined> {
    const out = await this.updateIf(ref, {
      UpdateExpression: 'SET taskToken = :token, tokenRotatedAt = :at',
      ConditionExpression: 'attribute_exists(pk) AND #status <> :superseded',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':token': taskToken, ':at': at, ':superseded': 'SUPERSEDED' },
      ReturnValues: 'ALL_NEW',
    });
    return out?.item;
  }

  /** Records who the reminder goes to; false when a reminder was recorded before or the approval is not pending. */
  async markReminded(ref: ApprovalRef, approvers: string[], at: string): Promise<boolean> {
    const out = await this.updateIf(ref, {
      UpdateExpression: 'SET remindedAt = :at, remindedApprovers = :who',
      ConditionExpression: 'attribute_not_exists(remindedAt) AND #status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':at': at, ':who': approvers, ':pending': 'PENDING' },
    });
    return out !== undefined;
  }

  /**
   * Adds one approver's decision while the approval is pending and unexpired at `nowSeconds`, once per approver.
   * Returns the approval with it, or undefined when the condition refused it (decided before, closed, expired).
   */
  async recordDecision(ref: ApprovalRef, decision: DecisionRecord, nowSeconds: number): Promise<ApprovalItem | undefined> {
    const out = await this.updateIf(ref, {
      UpdateExpression: 'SET decisions.#who = :decision',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(decisions.#who) AND #status = :pending AND expiresAt >= :now',
      ExpressionAttributeNames: { '#who': decision.approver, '#status': 'status' },
      ExpressionAttributeValues: { ':decision': decision, ':pending': 'PENDING', ':now': nowSeconds },
      ReturnValues: 'ALL_NEW',
    });
    return out?.item;
  }

  /** Moves the approval from PENDING to a final status; false when another writer closed it first. */
  async conclude(ref: ApprovalRef, status: 'APPROVED' | 'REJECTED', at: string): Promise<boolean> {
    const out = await this.updateIf(ref, {
      UpdateExpression: 'SET #status = :final, concludedAt = :at',
      ConditionExpression: '#status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':final': status, ':pending': 'PENDING', ':at': at },
    });
    return out !== undefined;
  }

  /** Marks the approval EXPIRED if its status is still `from`; throws when it is not. */
  async markExpired(ref: ApprovalRef, from: ApprovalStatus): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: key(ref),
        UpdateExpression: 'SET #status = :to',
        ConditionExpression: '#status = :from',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':to': 'EXPIRED', ':from': from },
      }),
    );
  }

  /**
   * Claims the right to send the conclusion with this task token: one writer per token talks to Step Functions.
   * False when the stored token is another one, or this token was claimed before.
   */
  async claimDelivery(ref: ApprovalRef, taskToken: string): Promise<boolean> {
    const hash = tokenHash(taskToken);
    const out = await this.updateIf(ref, {
      UpdateExpression: 'SET deliveryTokenHash = :hash',
      ConditionExpression: 'taskToken = :token AND (attribute_not_exists(deliveryTokenHash) OR deliveryTokenHash <> :hash)',
      ExpressionAttributeValues: { ':hash': hash, ':token': taskToken },
    });
    return out !== undefined;
  }

  /** Records when Step Functions accepted the conclusion. */
  async markDelivered(ref: ApprovalRef, at: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: key(ref),
        UpdateExpression: 'SET deliveredAt = :at',
        ExpressionAttributeValues: { ':at': at },
      }),
    );
  }

  /** Undoes a delivery claim, so the next writer can send with the same token. */
  async releaseClaim(ref: ApprovalRef): Promise<void> {
    await this.doc.send(new UpdateCommand({ TableName: this.table, Key: key(ref), UpdateExpression: 'REMOVE deliveryTokenHash' }));
  }

  /**
   * Undoes a conclusion Step Functions never took: back to PENDING without `approver`'s decision or the claim, if
   * the status is still `concluded`. Throws when it is not.
   */
  async reopen(ref: ApprovalRef, approver: string, concluded: ApprovalStatus): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: key(ref),
        UpdateExpression: 'SET #status = :pending REMOVE decisions.#who, concludedAt, deliveryTokenHash',
        ConditionExpression: '#status = :concluded',
        ExpressionAttributeNames: { '#status': 'status', '#who': approver },
        ExpressionAttributeValues: { ':pending': 'PENDING', ':concluded': concluded },
      }),
    );
  }

  /** Every approval of a release, each with its task token. */
  private async list(releaseId: string): Promise<ApprovalItem[]> {
    const items = await queryRelease(this.doc, this.table, releaseId, 'APPROVAL#');
    return items.map((i) => strip<ApprovalItem>(i)!);
  }

  /**
   * A conditional update of one approval. Undefined when the condition refused it; otherwise the item after it when
   * `ReturnValues` asks for it.
   */
  private async updateIf(
    ref: ApprovalRef,
    input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>,
  ): Promise<{ item?: ApprovalItem } | undefined> {
    try {
      const out = await this.doc.send(new UpdateCommand({ ...input, TableName: this.table, Key: key(ref) }));
      return { item: strip<ApprovalItem>(out.Attributes) };
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }
}
