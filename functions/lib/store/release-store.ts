import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ApprovalStore } from './approval-store.js';
import { FenceStore } from './fence-store.js';
import { OperatorStore } from './operator-store.js';
import { OrderStore } from './order-store.js';
import { HISTORY_INDEX, isConditionFailure, keys, queryRelease, strip } from './table.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { emitStepMetric } from '../metrics.js';
import { STEPS, type StepName } from '../../steps.js';
import {
  storedRequest,
  NON_TERMINAL_STATUSES,
  type ReleaseStatus,
  TERMINAL_STATUSES,
  type CurrentRecord,
  type Environment,
  type ReleaseRecord,
  type PreparedRelease,
  type ReleaseView,
  type StepRecord,
  type StepRecordOf,
  type StepStatus,
  type StopRequest,
} from './records.js';
import type { StepDetails } from './step-details.js';

const stepKey = (id: string, step: StepName) => keys.step(id, STEPS.indexOf(step) + 1, step);

/** Prepare writes the checked request and the catalog snapshot together; a release with them was prepared. */
const isPrepared = (r: ReleaseRecord): r is PreparedRelease => r.catalog !== undefined;

/**
 * Releases, their steps, the per-service lock and what is live, in one DynamoDB table. Writes are single-item and
 * conditional: dynalite has no transactions, and none are needed when each item has one writer at a time.
 */
export class ReleaseStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => Date = () => new Date(),
    /** Told of every step that ends; by default publishes the StepDuration metric. */
    private readonly onStepEnd: (step: Pick<StepRecord, 'step' | 'status' | 'durationMs'>) => void = emitStepMetric,
  ) {}

  /** The queue, the lock's holder and build claims: what the order of releases reads and writes. */
  get order(): OrderStore {
    return new OrderStore(this.doc, this.table, this.now);
  }

  /** The operating commands' writes that move a release out of a terminal status (redrive, rollback). */
  get operator(): OperatorStore {
    return new OperatorStore(this.doc, this.table, this.now);
  }

  /**
   * Creates the release unless it exists. Returns false when it already existed (a retried Prepare). The request is
   * written without its changes: the record keeps them once, as `changes`, so they count once against the item limit.
   */
  async createRelease(record: ReleaseRecord): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...keys.release(record.releaseId),
            ...keys.history(record.service, record.createdAt, record.releaseId),
            ...record,
            request: storedRequest(record.request),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async getRelease(releaseId: string): Promise<ReleaseRecord | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.release(releaseId), ConsistentRead: true }));
    return strip<ReleaseRecord>(out.Item);
  }

  async requireRelease(releaseId: string): Promise<ReleaseRecord> {
    const rec = await this.getRelease(releaseId);
    if (!rec) throw new NotFoundError(`release ${releaseId} does not exist`);
    return rec;
  }

  /**
   * The release as every step after Prepare reads it: with its checked request and catalog snapshot, which Prepare
   * writes together. A release without them was never prepared (NotFoundError).
   */
  async requirePrepared(releaseId: string): Promise<PreparedRelease> {
    const rec = await this.requireRelease(releaseId);
    if (!isPrepared(rec)) throw new NotFoundError(`release ${releaseId} has no catalog snapshot; was it prepared?`);
    return rec;
  }

  /**
   * Sets fields of the release. A terminal release is never changed again, so a late writer (a retried task after
   * Finalize) cannot reopen it; `allowTerminal` is for Finalize itself.
   */
  async updateRelease(
    releaseId: string,
    patch: Partial<Omit<ReleaseRecord, 'releaseId'>>,
    opts: { allowTerminal?: boolean } = {},
  ): Promise<ReleaseRecord> {
    const entries = Object.entries({ ...patch, updatedAt: this.now().toISOString() }).filter(([, v]) => v !== undefined);
    const names: Record<string, string> = { '#pk': 'pk' };
    const values: Record<string, unknown> = {};
    const sets = entries.map(([k, v], i) => {
      names[`#f${i}`] = k;
      values[`:v${i}`] = v;
      return `#f${i} = :v${i}`;
    });
    let condition = 'attribute_exists(#pk)';
    if (!opts.allowTerminal) {
      names['#status'] = 'status';
      for (const [i, s] of TERMINAL_STATUSES.entries()) values[`:t${i}`] = s;
      condition += ` AND NOT #status IN (${TERMINAL_STATUSES.map((_, i) => `:t${i}`).join(', ')})`;
    }
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.release(releaseId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<ReleaseRecord>(out.Attributes)!;
    } catch (err) {
      if (isConditionFailure(err)) {
        const existing = await this.getRelease(releaseId);
        if (!existing) throw new NotFoundError(`release ${releaseId} does not exist`);
        throw new ConflictError(`release ${releaseId} has already ended (${existing.status})`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * Writes a stop request on a release that has not ended (or, with `onlyIn`, is in one of those statuses) and has
   * none yet. A second request (a concurrent cancel, a supersede racing a cancel) keeps the first: `written` is false
   * and `record` carries the one that stands. Throws ConflictError when the release has ended, NotFoundError when it
   * does not exist. The execution is stopped after this write, so the status-change handler finds the request.
   */
  async requestStop(
    releaseId: string,
    stop: StopRequest,
    onlyIn: readonly ReleaseStatus[] = NON_TERMINAL_STATUSES,
  ): Promise<{ record: ReleaseRecord; written: boolean }> {
    const statusValues = Object.fromEntries(onlyIn.map((s, i) => [`:s${i}`, s]));
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.release(releaseId),
          UpdateExpression: 'SET stopRequest = :stop, updatedAt = :now',
          ConditionExpression: `attribute_exists(pk) AND attribute_not_exists(stopRequest) AND #status IN (${Object.keys(statusValues).join(', ')})`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':stop': stop, ':now': this.now().toISOString(), ...statusValues },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { record: strip<ReleaseRecord>(out.Attributes)!, written: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const existing = await this.requireRelease(releaseId);
      if (TERMINAL_STATUSES.includes(existing.status)) {
        throw new ConflictError(`release ${releaseId} has already ended (${existing.status})`, { cause: err });
      }
      return { record: existing, written: false };
    }
  }

  /** Takes back a stop request `supersededBy` wrote, when the release moved on before its execution was stopped. */
  async withdrawStop(releaseId: string, supersededBy: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.release(releaseId),
          UpdateExpression: 'REMOVE stopRequest',
          ConditionExpression: 'stopRequest.supersededBy = :by',
          ExpressionAttributeValues: { ':by': supersededBy },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /** Marks a step as running. Running it again (a retry) keeps the first start time. */
  async startStep<S extends StepName>(releaseId: string, step: S, details?: StepDetails[S]): Promise<void> {
    const startedAt = this.now().toISOString();
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: stepKey(releaseId, step),
        UpdateExpression:
          'SET releaseId = :r, step = :s, #status = :running, startedAt = if_not_exists(startedAt, :t)' +
          (details ? ', details = :d' : '') +
          ' REMOVE endedAt, durationMs, #error',
        ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
        ExpressionAttributeValues: {
          ':r': releaseId,
          ':s': step,
          ':running': 'RUNNING',
          ':t': startedAt,
          ...(details ? { ':d': details } : {}),
        },
      }),
    );
  }

  /** Ends a step with its status, duration and details. A step that was never started starts now. */
  async endStep<S extends StepName>(
    releaseId: string,
    step: S,
    status: Exclude<StepStatus, 'RUNNING'>,
    extra: { details?: StepDetails[S]; error?: { error: string; cause: string } } = {},
  ): Promise<StepRecordOf<S>> {
    const now = this.now();
    const prev = await this.stepResult(releaseId, step);
    const startedAt = prev?.startedAt ?? now.toISOString();
    const record: StepRecordOf<S> = {
      releaseId,
      step,
      status,
      startedAt,
      endedAt: now.toISOString(),
      durationMs: Math.max(0, now.getTime() - Date.parse(startedAt)),
      // A step's end adds to what its start kept (a deploy's handle, the approval id); the merge is that step's shape.
      details: { ...(prev?.details ?? {}), ...(extra.details ?? {}) } as StepDetails[S],
      ...(extra.error ? { error: extra.error } : {}),
    };
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { ...stepKey(releaseId, step), ...record } }));
    this.onStepEnd(record);
    return record;
  }

  /** One step's record with its details typed by the step, or undefined when the step has not started. */
  async stepResult<S extends StepName>(releaseId: string, step: S): Promise<StepRecordOf<S> | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: stepKey(releaseId, step), ConsistentRead: true }));
    return strip<StepRecordOf<S>>(out.Item);
  }

  async getSteps(releaseId: string): Promise<StepRecord[]> {
    const items = await queryRelease(this.doc, this.table, releaseId, 'STEP#');
    return items.map((i) => strip<StepRecord>(i)!);
  }

  /** Who may act for a release that holds its service's lock: the fence on the lock item. */
  get fences(): FenceStore {
    return new FenceStore(this.doc, this.table, this.now);
  }

  /** The approval items of the same table. */
  approvals(): ApprovalStore {
    return new ApprovalStore(this.doc, this.table);
  }

  /** The release with its steps and approval, as `status --json` prints it. */
  async getView(releaseId: string): Promise<ReleaseView | undefined> {
    const release = await this.getRelease(releaseId);
    if (!release) return undefined;
    const [steps, approval] = await Promise.all([this.getSteps(releaseId), this.approvals().summary(releaseId)]);
    return { ...release, steps, ...(approval ? { approval } : {}) };
  }

  /** Releases of one service, newest first, from the history index. */
  async listByService(service: string, limit = 20): Promise<ReleaseRecord[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: HISTORY_INDEX,
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': `SERVICE#${service}` },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((i) => strip<ReleaseRecord>(i)!);
  }

  /** Every release, newest first. A scan: fine for a release history, which grows by a few items a day. */
  async listAll(limit = 20): Promise<ReleaseRecord[]> {
    const found: ReleaseRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: 'sk = :meta AND begins_with(pk, :rel)',
          ExpressionAttributeValues: { ':meta': 'META', ':rel': 'RELEASE#' },
          ExclusiveStartKey: start,
        }),
      );
      found.push(...(out.Items ?? []).map((i) => strip<ReleaseRecord>(i)!));
      start = out.LastEvaluatedKey;
    } while (start);
    return found.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, limit);
  }

  /**
   * Takes the service lock for a release. Succeeds when the lock is free, its lease has expired, or this release
   * already holds it (a retried task). A new holder gets a fresh item, without the last holder's fence; a holder
   * taking it again only renews the lease, so the fence of its step running now stays (fence-store.ts).
   */
  async acquireLock(service: string, releaseId: string, leaseSeconds: number): Promise<{ acquired: boolean; holder?: string }> {
    const now = this.now();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const leaseExpiresAt = nowSeconds + leaseSeconds;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.lock(service), holder: releaseId, acquiredAt: now.toISOString(), leaseExpiresAt },
          ConditionExpression: 'attribute_not_exists(pk) OR (leaseExpiresAt < :now AND holder <> :me)',
          ExpressionAttributeValues: { ':me': releaseId, ':now': nowSeconds },
        }),
      );
      return { acquired: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.lock(service),
          UpdateExpression: 'SET leaseExpiresAt = :lease',
          ConditionExpression: 'holder = :me',
          ExpressionAttributeValues: { ':me': releaseId, ':lease': leaseExpiresAt },
        }),
      );
      return { acquired: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.lock(service), ConsistentRead: true }));
      return { acquired: false, holder: out.Item?.holder as string | undefined };
    }
  }

  /** Releases the lock if this release holds it; a no-op otherwise. */
  async releaseLock(service: string, releaseId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.lock(service),
          ConditionExpression: 'holder = :me',
          ExpressionAttributeValues: { ':me': releaseId },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async getCurrent(service: string, env: Environment): Promise<CurrentRecord | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.current(service, env), ConsistentRead: true }));
    return strip<CurrentRecord>(out.Item);
  }

  /** Writes what is live; with `ifUpdatedAt`, only over the same record as read then (else false): never over a newer one. */
  async putCurrent(record: Omit<CurrentRecord, 'updatedAt'>, ifUpdatedAt?: string): Promise<boolean> {
    const Item = { ...keys.current(record.service, record.environment), ...record, updatedAt: this.now().toISOString() };
    if (ifUpdatedAt === undefined) {
      await this.doc.send(new PutCommand({ TableName: this.table, Item }));
      return true;
    }
    const values = { ':read': ifUpdatedAt, ':release': record.releaseId };
    const cond = { ConditionExpression: 'updatedAt = :read AND releaseId = :release', ExpressionAttributeValues: values };
    return this.doc.send(new PutCommand({ TableName: this.table, Item, ...cond })).then(
      () => true,
      (err: unknown) => (isConditionFailure(err) ? false : Promise.reject(err)),
    );
  }
}
