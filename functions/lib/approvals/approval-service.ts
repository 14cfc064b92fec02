import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { findService as findServiceInCatalog } from '../catalog-source.js';
import type { ServiceConfig } from '../catalog.js';
import { documentClient, sfnClient } from '../clients.js';
import { getConfig, requireConfig, type Config } from '../config.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import { notifierFromConfig } from '../notify/index.js';
import type { Notifier } from '../notify/notifier.js';
import { TERMINAL_STATUSES, type ReleaseRecord, type StepRecord } from '../store/records.js';
import { ReleaseStore } from '../store/release-store.js';
import { buildApprovalEmail } from './approval-email.js';
import { ApprovalForbiddenError, ApprovalGoneError } from './errors.js';
import {
  newApprovalId,
  normalizeEmail,
  releaseIdOfApproval,
  signedLink,
  signFields,
  verifyFields,
  type Decision,
  type LinkFields,
} from './links.js';
import { summarize, type ApprovalItem, type ApprovalStatus, type ApprovalSummary, type DecisionRecord } from './records.js';
import { signerFromConfig, type LinkSigner } from './signer.js';
import { smokeSummaryOf, type SmokeSummary } from './smoke-summary.js';

/** Longest comment kept with a decision. */
export const MAX_COMMENT_LENGTH = 1000;

/** What the approval service needs; tests and the embedded runtime pass their own. */
export interface ApprovalServiceDeps {
  store: ReleaseStore;
  doc: DynamoDBDocumentClient;
  table: string;
  signer: LinkSigner;
  notifier: Notifier;
  sfn: SFNClient;
  /** Public base URL of the approval API, e.g. `https://approvals.example.com` (no trailing slash needed). */
  baseUrl: string;
  /** The live catalog entry of a service (re-read at decision time, so removing an approver takes effect). */
  findService(name: string): Promise<ServiceConfig | undefined>;
  /** @default () => new Date() */
  now?: () => Date;
}

/** A link's signed fields plus its signature, as they arrive in a query string or a form. */
export interface SignedLinkParams extends LinkFields {
  sig: string;
}

/** What the confirmation page shows for a valid link. Never contains the task token. */
export interface LinkDescription {
  link: LinkFields;
  approval: ApprovalSummary;
  release: Pick<
    ReleaseRecord,
    'releaseId' | 'service' | 'version' | 'commit' | 'branch' | 'triggeredBy' | 'status' | 'changes' | 'createdAt'
  >;
  smoke?: SmokeSummary;
  /**
   * The decisions this approver can still make here, the link's own first. Empty when the approval is closed or
   * the approver may not decide; `notice` then says why.
   */
  allowedDecisions: Decision[];
  notice?: string;
  /** Hidden fields of the page's form, signed for either decision; absent when nothing can be decided. */
  form?: { approver: string; expires: number; sig: string };
}

/** The outcome of one decision. */
export interface DecisionResult {
  approvalId: string;
  releaseId: string;
  approver: string;
  decision: Decision;
  /** The approval's status after this decision: still PENDING until enough people approved. */
  status: ApprovalStatus;
  approvals: number;
  requiredApprovals: number;
  decisions: DecisionRecord[];
}

/** Step Functions says the task is gone: the execution timed out, ended, or the token is no longer valid. */
const TASK_GONE_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

const isConditionFailure = (err: unknown) =>
  err instanceof ConditionalCheckFailedException || (err as Error)?.name === 'ConditionalCheckFailedException';

const approvalKey = (releaseId: string, approvalId: string) => ({ pk: `RELEASE#${releaseId}`, sk: `APPROVAL#${approvalId}` });

/**
 * The approval gate: emails signed links, shows what a link is for without changing anything, and records
 * decisions with conditional writes, telling Step Functions once enough approvers agreed or one rejected.
 */
export class ApprovalService {
  private readonly now: () => Date;

  constructor(private readonly deps: ApprovalServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Opens an approval for a release waiting in RequestApproval: stores the task token on a new approval item, marks
   * the release AWAITING_APPROVAL and its Approval step running, and emails each approver their own links. A
   * retried request (new token) supersedes the earlier approval, whose links then answer 410.
   */
  async requestApproval(input: { releaseId: string; taskToken: string }): Promise<{
    approvalId: string;
    approvers: string[];
    expiresAt: number;
  }> {
    const { store } = this.deps;
    const release = await store.requireRelease(input.releaseId);
    if (TERMINAL_STATUSES.includes(release.status)) {
      throw new ConflictError(`release ${release.releaseId} has already ended (${release.status}); no approval is requested`);
    }
    const service = release.catalog ?? (await this.deps.findService(release.service));
    if (!service) throw new NotFoundError(`service ${release.service} is not in the catalog`);

    const now = this.now();
    const createdAt = now.toISOString();
    const expiresAt = Math.floor(now.getTime() / 1000) + service.approvalTimeoutSeconds;
    const approvers = [...new Set(service.approvers.map(normalizeEmail))];
    const triggeredBy = normalizeEmail(release.triggeredBy);
    const approvalId = newApprovalId(release.releaseId);

    await this.supersedePending(release.releaseId, createdAt);
    const item: ApprovalItem = {
      approvalId,
      releaseId: release.releaseId,
      service: release.service,
      taskToken: input.taskToken,
      approvers,
      requiredApprovals: service.requiredApprovals,
      decisions: {},
      status: 'PENDING',
      expiresAt,
      createdAt,
      triggeredBy,
    };
    await this.deps.doc.send(
      new PutCommand({
        TableName: this.deps.table,
        Item: { ...approvalKey(release.releaseId, approvalId), ...item },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );

    const eligible = approvers.filter((a) => a !== triggeredBy).length;
    const warning =
      eligible < service.requiredApprovals
        ? `only ${eligible} approver(s) other than ${triggeredBy} can approve, but ${service.requiredApprovals} approval(s) are required; the release will expire unless it is rejected`
        : undefined;
    if (warning) logger.warn('approval cannot be reached', { releaseId: release.releaseId, approvalId, warning });

    await store.updateRelease(release.releaseId, { status: 'AWAITING_APPROVAL' });
    await store.startStep(release.releaseId, 'Approval', {
      approvalId,
      approvers,
      requiredApprovals: service.requiredApprovals,
      expiresAt,
      ...(warning ? { warning } : {}),
    });

    const smoke = smokeSummaryOf(await store.getSteps(release.releaseId));
    for (const approver of approvers) {
      const fields = { approvalId, approver, expires: expiresAt };
      const links = {
        // The person who triggered the release may not approve it, so their email carries no approve link.
        approve: approver === triggeredBy ? undefined : await signedLink(this.deps.signer, this.deps.baseUrl, { ...fields, decision: 'approve' }),
        reject: await signedLink(this.deps.signer, this.deps.baseUrl, { ...fields, decision: 'reject' }),
      };
      await this.deps.notifier.send(
        buildApprovalEmail({
          release,
          approvalId,
          approver,
          links,
          requiredApprovals: service.requiredApprovals,
          approverCount: approvers.length,
          expiresAt,
          smoke,
        }),
      );
    }
    logger.info('approval requested', { releaseId: release.releaseId, approvalId, approvers, expiresAt });
    return { approvalId, approvers, expiresAt };
  }

  /** The newest approval of a release, without its task token; undefined when none was requested. */
  async getApprovalSummary(releaseId: string): Promise<ApprovalSummary | undefined> {
    const items = await this.approvalsOf(releaseId);
    const newest = items.sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
    return newest ? summarize(newest) : undefined;
  }

  /**
   * What a link's confirmation page shows. Verifies the signature (403) and expiry (410) and loads the approval
   * (404). Changes nothing: mail scanners open every link.
   */
  async describeLink(params: SignedLinkParams): Promise<LinkDescription> {
    const { item, release } = await this.openLink(params);
    const steps: StepRecord[] = await this.deps.store.getSteps(release.releaseId);
    const approver = params.approver;
    const decidedBefore = item.decisions?.[approver];

    let allowed: Decision[] = [];
    let notice: string | undefined;
    if (item.status !== 'PENDING') {
      notice = `This approval is closed: the release was ${item.status.toLowerCase()}${item.concludedAt ? ` at ${item.concludedAt}` : ''}.`;
    } else if (decidedBefore) {
      notice = `You already chose to ${decidedBefore.decision} this release at ${decidedBefore.decidedAt}. Waiting for other approvers.`;
    } else {
      // Asked for approving, the stricter case, so a reject link of the triggerer also hides the approve button.
      const refusal = await this.refusalFor(item, approver, 'approve');
      if (refusal?.reason === 'not-an-approver') {
        notice = refusal.message;
      } else if (refusal?.reason === 'self-approval') {
        allowed = ['reject'];
        notice = 'You triggered this release, so someone else has to approve it. You can still reject it.';
      } else {
        allowed = params.decision === 'approve' ? ['approve', 'reject'] : ['reject', 'approve'];
      }
    }

    const form =
      allowed.length > 0
        ? {
            approver,
            expires: params.expires,
            sig: await signFields(this.deps.signer, { approvalId: item.approvalId, approver, expires: params.expires }, 'any'),
          }
        : undefined;
    return {
      link: { approvalId: params.approvalId, decision: params.decision, approver, expires: params.expires },
      approval: summarize(item),
      release: {
        releaseId: release.releaseId,
        service: release.service,
        version: release.version,
        commit: release.commit,
        branch: release.branch,
        triggeredBy: release.triggeredBy,
        status: release.status,
        changes: release.changes ?? [],
        createdAt: release.createdAt,
      },
      smoke: smokeSummaryOf(steps),
      allowedDecisions: allowed,
      ...(notice ? { notice } : {}),
      ...(form ? { form } : {}),
    };
  }

  /**
   * Records one approver's decision. Checks, in order: signature (403), link expiry (410), approval exists and is
   * current (404/410), approver allowed (403), approval open and not decided before by this approver (409); then a conditional write that
   * lets each approver decide once. Reaching the required approvals sends SendTaskSuccess; a rejection sends
   * SendTaskFailure `ApprovalRejected`. Only the writer that closes the approval talks to Step Functions.
   */
  async decide(params: SignedLinkParams & { comment?: string }): Promise<DecisionResult> {
    const comment = params.comment?.trim() || undefined;
    if (comment && comment.length > MAX_COMMENT_LENGTH) {
      throw new ValidationError(`comment is too long: at most ${MAX_COMMENT_LENGTH} characters`, {
        comment: `expected at most ${MAX_COMMENT_LENGTH} characters`,
      });
    }
    const { item } = await this.openLink(params);
    const approver = params.approver;
    // Who may decide comes before the approval's state, so someone refused learns nothing about it.
    const refusal = await this.refusalFor(item, approver, params.decision);
    if (refusal) throw refusal;
    this.assertOpen(item, approver);

    const now = this.now();
    const record: DecisionRecord = { approver, decision: params.decision, decidedAt: now.toISOString(), ...(comment ? { comment } : {}) };
    let updated: ApprovalItem;
    try {
      const out = await this.deps.doc.send(
        new UpdateCommand({
          TableName: this.deps.table,
          Key: approvalKey(item.releaseId, item.approvalId),
          UpdateExpression: 'SET decisions.#who = :decision',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(decisions.#who) AND #status = :pending AND expiresAt >= :now',
          ExpressionAttributeNames: { '#who': approver, '#status': 'status' },
          ExpressionAttributeValues: { ':decision': record, ':pending': 'PENDING', ':now': Math.floor(now.getTime() / 1000) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      updated = out.Attributes as ApprovalItem;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // Another request won the race; say what it did.
      const current = await this.loadItem(item.releaseId, item.approvalId);
      if (!current) throw new NotFoundError(`approval ${item.approvalId} does not exist`, { cause: err });
      this.assertOpen(current, approver);
      throw new ApprovalGoneError('this approval expired before the decision was recorded', 'approval-expired', { cause: err });
    }
    logger.info('approval decision recorded', {
      releaseId: item.releaseId,
      approvalId: item.approvalId,
      approver,
      decision: params.decision,
    });

    const decisions = Object.values(updated.decisions);
    const approvals = decisions.filter((d) => d.decision === 'approve');
    const result = (status: ApprovalStatus, latest: ApprovalItem = updated): DecisionResult => ({
      approvalId: item.approvalId,
      releaseId: item.releaseId,
      approver,
      decision: params.decision,
      status,
      approvals: Object.values(latest.decisions).filter((d) => d.decision === 'approve').length,
      requiredApprovals: item.requiredApprovals,
      decisions: summarize(latest).decisions,
    });

    if (params.decision === 'reject') {
      if (!(await this.conclude(updated, 'REJECTED', now))) return this.resultAfterLostRace(updated, result);
      const cause = `Rejected by ${approver}${comment ? `: ${comment}` : ''}`;
      await this.notifyStepFunctions(updated, approver, 'REJECTED', () =>
        this.deps.sfn.send(new SendTaskFailureCommand({ taskToken: updated.taskToken, error: 'ApprovalRejected', cause })),
      );
      await this.deps.store.endStep(item.releaseId, 'Approval', 'FAILED', {
        error: { error: 'ApprovalRejected', cause },
        details: { approvalId: item.approvalId, rejectedBy: approver, decisions: summarize(updated).decisions },
      });
      logger.info('approval rejected', { releaseId: item.releaseId, approvalId: item.approvalId, approver });
      return result('REJECTED');
    }

    if (approvals.length < item.requiredApprovals) return result('PENDING');
    if (!(await this.conclude(updated, 'APPROVED', now))) return this.resultAfterLostRace(updated, result);
    const summary = summarize(updated);
    const output = { approvalId: item.approvalId, approvedBy: summary.approvedBy, decisions: summary.decisions };
    await this.notifyStepFunctions(updated, approver, 'APPROVED', () =>
      this.deps.sfn.send(new SendTaskSuccessCommand({ taskToken: updated.taskToken, output: JSON.stringify(output) })),
    );
    await this.deps.store.endStep(item.releaseId, 'Approval', 'SUCCEEDED', {
      details: { approvalId: item.approvalId, approvedBy: summary.approvedBy, decisions: summary.decisions, requiredApprovals: item.requiredApprovals },
    });
    logger.info('approval approved', { releaseId: item.releaseId, approvalId: item.approvalId, approvedBy: summary.approvedBy });
    return result('APPROVED');
  }

  /** Verifies a link's signature and expiry, then loads its approval and release. */
  private async openLink(params: SignedLinkParams): Promise<{ item: ApprovalItem; release: ReleaseRecord }> {
    const fields: LinkFields = {
      approvalId: params.approvalId,
      decision: params.decision,
      approver: params.approver,
      expires: params.expires,
    };
    if (!(await verifyFields(this.deps.signer, fields, params.sig))) {
      throw new ApprovalForbiddenError('the approval link is not valid: its signature does not match', 'bad-signature');
    }
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    if (params.expires < nowSeconds) {
      throw new ApprovalGoneError(`the approval link expired at ${new Date(params.expires * 1000).toISOString()}`, 'link-expired');
    }
    const releaseId = releaseIdOfApproval(params.approvalId);
    const item = releaseId ? await this.loadItem(releaseId, params.approvalId) : undefined;
    if (!item) throw new NotFoundError(`approval ${params.approvalId} does not exist`);
    if (item.status === 'SUPERSEDED') {
      throw new ApprovalGoneError('this approval was replaced by a newer request; use the links in the newest email', 'superseded');
    }
    if (item.status === 'EXPIRED' || (item.status === 'PENDING' && item.expiresAt < nowSeconds)) {
      throw new ApprovalGoneError('this approval has expired', 'approval-expired');
    }
    const release = await this.deps.store.getRelease(item.releaseId);
    if (!release) throw new NotFoundError(`release ${item.releaseId} does not exist`);
    if (item.status === 'PENDING' && TERMINAL_STATUSES.includes(release.status)) {
      throw new ApprovalGoneError(`the release has already ended (${release.status})`, 'release-ended');
    }
    return { item, release };
  }

  /** Throws 409 when the approver already decided or the approval is no longer open. */
  private assertOpen(item: ApprovalItem, approver: string): void {
    const previous = item.decisions?.[approver];
    if (previous) {
      throw new ConflictError(`${approver} already chose to ${previous.decision} this release at ${previous.decidedAt}`);
    }
    if (item.status === 'SUPERSEDED') {
      throw new ApprovalGoneError('this approval was replaced by a newer request; use the links in the newest email', 'superseded');
    }
    if (item.status === 'EXPIRED') throw new ApprovalGoneError('this approval has expired', 'approval-expired');
    if (item.status !== 'PENDING') throw new ConflictError(`this approval is already closed: ${item.status}`);
  }

  /** Why this approver may not make this decision, or undefined when they may. */
  private async refusalFor(item: ApprovalItem, approver: string, decision: Decision): Promise<ApprovalForbiddenError | undefined> {
    const live = await this.deps.findService(item.service);
    const liveApprovers = (live?.approvers ?? []).map(normalizeEmail);
    if (!item.approvers.includes(approver) || !liveApprovers.includes(approver)) {
      return new ApprovalForbiddenError(`${approver} is not an approver of ${item.service}`, 'not-an-approver');
    }
    // Rejecting one's own release stops it, which is always safe; approving it is what the rule forbids.
    if (decision === 'approve' && approver === item.triggeredBy) {
      return new ApprovalForbiddenError(
        `${approver} triggered this release and cannot approve it; another approver has to`,
        'self-approval',
      );
    }
    return undefined;
  }

  /** Moves the approval from PENDING to a final status; false when another request closed it first. */
  private async conclude(item: ApprovalItem, status: 'APPROVED' | 'REJECTED', now: Date): Promise<boolean> {
    try {
      await this.deps.doc.send(
        new UpdateCommand({
          TableName: this.deps.table,
          Key: approvalKey(item.releaseId, item.approvalId),
          UpdateExpression: 'SET #status = :final, concludedAt = :at',
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':final': status, ':pending': 'PENDING', ':at': now.toISOString() },
        }),
      );
      item.status = status;
      item.concludedAt = now.toISOString();
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** The decision was recorded but a concurrent request closed the approval; report the final state. */
  private async resultAfterLostRace(
    updated: ApprovalItem,
    result: (status: ApprovalStatus, latest?: ApprovalItem) => DecisionResult,
  ): Promise<DecisionResult> {
    const latest = (await this.loadItem(updated.releaseId, updated.approvalId)) ?? updated;
    return result(latest.status, latest);
  }

  /**
   * Calls SendTaskSuccess/SendTaskFailure. When Step Functions says the task is gone, the approval is marked EXPIRED
   * and the caller gets 410. On any other failure the approval is reopened and this approver's decision removed, so
   * the same link can be used again rather than leaving a closed approval the execution never heard of.
   */
  private async notifyStepFunctions(item: ApprovalItem, approver: string, concluded: 'APPROVED' | 'REJECTED', call: () => Promise<unknown>) {
    try {
      await call();
    } catch (err) {
      const name = (err as Error)?.name;
      if (TASK_GONE_ERRORS.has(name)) {
        await this.setStatusFrom(item, concluded, 'EXPIRED').catch((e) =>
          logger.error('could not mark approval expired', { releaseId: item.releaseId, approvalId: item.approvalId, error: e as Error }),
        );
        throw new ApprovalGoneError(
          'the release is no longer waiting for this approval (its approval step timed out or ended)',
          'approval-expired',
          { cause: err },
        );
      }
      logger.error('Step Functions did not take the approval decision; reopening the approval', {
        releaseId: item.releaseId,
        approvalId: item.approvalId,
        error: { name, message: (err as Error)?.message },
      });
      await this.send(
        new UpdateCommand({
          TableName: this.deps.table,
          Key: approvalKey(item.releaseId, item.approvalId),
          UpdateExpression: 'SET #status = :pending REMOVE decisions.#who, concludedAt',
          ConditionExpression: '#status = :concluded',
          ExpressionAttributeNames: { '#status': 'status', '#who': approver },
          ExpressionAttributeValues: { ':pending': 'PENDING', ':concluded': concluded },
        }),
      ).catch((e) =>
        logger.error('could not reopen approval', { releaseId: item.releaseId, approvalId: item.approvalId, error: e as Error }),
      );
      throw err;
    }
  }

  private async setStatusFrom(item: ApprovalItem, from: ApprovalStatus, to: ApprovalStatus): Promise<void> {
    await this.send(
      new UpdateCommand({
        TableName: this.deps.table,
        Key: approvalKey(item.releaseId, item.approvalId),
        UpdateExpression: 'SET #status = :to',
        ConditionExpression: '#status = :from',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':to': to, ':from': from },
      }),
    );
  }

  /** Marks every still-pending approval of the release SUPERSEDED; a retried RequestApproval replaces them. */
  private async supersedePending(releaseId: string, at: string): Promise<void> {
    for (const old of await this.approvalsOf(releaseId)) {
      if (old.status !== 'PENDING') continue;
      try {
        await this.send(
          new UpdateCommand({
            TableName: this.deps.table,
            Key: approvalKey(releaseId, old.approvalId),
            UpdateExpression: 'SET #status = :superseded, concludedAt = :at',
            ConditionExpression: '#status = :pending',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':superseded': 'SUPERSEDED', ':pending': 'PENDING', ':at': at },
          }),
        );
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    }
  }

  private async approvalsOf(releaseId: string): Promise<ApprovalItem[]> {
    const items: ApprovalItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.deps.doc.send(
        new QueryCommand({
          TableName: this.deps.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :approval)',
          ExpressionAttributeValues: { ':pk': `RELEASE#${releaseId}`, ':approval': 'APPROVAL#' },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...((out.Items ?? []) as ApprovalItem[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  private async loadItem(releaseId: string, approvalId: string): Promise<ApprovalItem | undefined> {
    const out = await this.deps.doc.send(
      new GetCommand({ TableName: this.deps.table, Key: approvalKey(releaseId, approvalId), ConsistentRead: true }),
    );
    return out.Item as ApprovalItem | undefined;
  }

  private send(command: UpdateCommand) {
    return this.deps.doc.send(command);
  }
}

let cached: { config: Config; service: ApprovalService } | undefined;

/**
 * The approval service built from the configuration (`RELEASES_TABLE`, `APPROVAL_BASE_URL`, the signer and notifier
 * settings) and the shared SDK clients. Rebuilt when the configuration is reset.
 */
export function approvalServiceFromConfig(): ApprovalService {
  const config = getConfig();
  if (cached?.config === config) return cached.service;
  const doc = documentClient();
  // Built on first send: the approval API never emails, so it must not fail over mail settings it does not use.
  let notifier: Notifier | undefined;
  const service = new ApprovalService({
    store: new ReleaseStore(doc, config.RELEASES_TABLE),
    doc,
    table: config.RELEASES_TABLE,
    signer: signerFromConfig(config),
    notifier: { send: (message) => (notifier ??= notifierFromConfig(config)).send(message) },
    sfn: sfnClient(),
    baseUrl: requireConfig('APPROVAL_BASE_URL'),
    findService: findServiceInCatalog,
  });
  cached = { config, service };
  return service;
}
