import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { BUCKET_LAYOUT } from '../bucket-layout.js';
import { findService as findServiceInCatalog } from '../catalog-source.js';
import type { ServiceConfig } from '../catalog.js';
import { documentClient, s3Client, sfnClient } from '../clients.js';
import { getConfig, requireConfig, type Config } from '../config.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import { notifierFromConfig } from '../notify/index.js';
import type { Notifier } from '../notify/notifier.js';
import { TERMINAL_STATUSES, type ReleaseRecord, type StepRecord } from '../store/records.js';
import { ReleaseStore } from '../store/release-store.js';
import { buildApprovalEmail } from './approval-email.js';
import { ApprovalForbiddenError, ApprovalGoneError } from './errors.js';
import { approverForIdentity } from './identities.js';
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
import { approvalSchedule } from './schedule.js';
import { signerFromConfig, type LinkSigner } from './signer.js';
import { smokeSummaryOf, type SmokeSummary } from './smoke-summary.js';

/** Longest comment kept with a decision. */
export const MAX_COMMENT_LENGTH = 1000;

/** How long a report link on the confirmation page works: long enough to click, short enough not to matter if shared. */
export const REPORT_LINK_SECONDS = 900;

/**
 * Step Functions starts RequestApproval's clock when it schedules the task, a little before the Lambda computes
 * `remindAt`, so the first token times out up to this long before `remindAt` (cold start, invoke retries).
 */
const REMINDER_GAP_SLACK_SECONDS = 120;

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
  /**
   * A short-lived download URL (a presigned S3 GET) for a smoke report key under `reports/`. Absent: the page shows
   * the keys without links.
   */
  reportUrl?(key: string): Promise<string>;
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
  /** Download links of the smoke reports by kind (`junit`, `json`), valid for {@link REPORT_LINK_SECONDS}. */
  reportUrls?: Record<string, string>;
  /**
   * The decisions this approver can still make here, the link's own first. Empty when the approval is closed or
   * the approver may not decide; `notice` then says why.
   */
  allowedDecisions: Decision[];
  notice?: string;
  /** Hidden fields of the page's form, signed for either decision; absent when nothing can be decided. */
  form?: { approver: string; expires: number; sig: string };
}

/** A decision through the IAM-authorized route: who the caller is comes from API Gateway, not from the body. */
export interface IdentityDecisionParams {
  releaseId: string;
  decision: Decision;
  /** `requestContext.identity.userArn`, which API Gateway sets after verifying the SigV4 signature. */
  callerArn: string;
  /** The approver the caller says they are (`launchway approve --as`); must be who the ARN maps to. */
  claimedApprover?: string;
  comment?: string;
}

/** What the remind step did. */
export interface ReminderResult {
  approvalId: string;
  status: ApprovalStatus;
  /** Who was emailed the reminder (empty when it was sent before, or nothing is pending). */
  reminded: string[];
  /** Set when the approval had concluded while the token changed hands, and this step told Step Functions. */
  delivered?: DeliveryOutcome;
}

/**
 * How telling Step Functions ended: `delivered` by this caller, `by-other` (another writer holds the claim for the
 * current token), `deferred` (the token was being replaced by the remind step, which will deliver), or `gone`
 * (the task no longer exists).
 */
export type DeliveryOutcome = 'delivered' | 'by-other' | 'deferred' | 'gone';

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

/** The delivery claim stores a hash, so a second copy of the token is not needed to compare. */
const tokenHash = (token: string) => createHash('sha256').update(token, 'utf8').digest('base64url');

const isConcluded = (status: ApprovalStatus): status is 'APPROVED' | 'REJECTED' => status === 'APPROVED' || status === 'REJECTED';

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
    // The same schedule Prepare gave the state machine: RequestApproval times out at remindAt, the release at expiresAt.
    const schedule = approvalSchedule(service);
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const expiresAt = nowSeconds + schedule.timeoutSeconds;
    const remindAt = schedule.reminderSeconds > 0 ? nowSeconds + schedule.waitSeconds : undefined;
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
      ...(remindAt !== undefined ? { remindAt } : {}),
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
      ...(remindAt !== undefined ? { remindAt } : {}),
      ...(warning ? { warning } : {}),
    });

    await this.emailApprovers(release, item, approvers);
    logger.info('approval requested', { releaseId: release.releaseId, approvalId, approvers, expiresAt, remindAt });
    return { approvalId, approvers, expiresAt };
  }

  /**
   * The RemindApprovers step: the first task token timed out at the reminder point, and the state machine waits
   * again with a new one for the rest of the timeout. Stores the new token on the current approval, then:
   * - if the approval concluded meanwhile (a decision arrived while the token changed hands), tells Step Functions
   *   with the new token, so the decision is neither lost nor turned into EXPIRED;
   * - otherwise emails the approvers who have not decided, once per approval (a retried step sends nothing twice).
   */
  async remindApprovers(input: { releaseId: string; taskToken: string }): Promise<ReminderResult> {
    const current = await this.currentApproval(input.releaseId);
    if (!current) throw new NotFoundError(`release ${input.releaseId} has no approval to remind about`);
    const now = this.now();
    let item: ApprovalItem;
    try {
      const out = await this.deps.doc.send(
        new UpdateCommand({
          TableName: this.deps.table,
          Key: approvalKey(current.releaseId, current.approvalId),
          UpdateExpression: 'SET taskToken = :token, tokenRotatedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND #status <> :superseded',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':token': input.taskToken, ':at': now.toISOString(), ':superseded': 'SUPERSEDED' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      item = out.Attributes as ApprovalItem;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      throw new ConflictError(`approval ${current.approvalId} was superseded while the reminder was due`, { cause: err });
    }
    const base = { approvalId: item.approvalId, status: item.status, reminded: [] as string[] };
    if (isConcluded(item.status)) return { ...base, delivered: await this.deliverConclusion(item, 'remind') };
    if (item.status !== 'PENDING') {
      // EXPIRED: nothing to deliver or remind; the state's own timeout ends the release.
      logger.warn('reminder due for an approval that is not pending', { releaseId: item.releaseId, approvalId: item.approvalId, status: item.status });
      return base;
    }

    const undecided = item.approvers.filter((a) => !item.decisions?.[a]);
    try {
      await this.deps.doc.send(
        new UpdateCommand({
          TableName: this.deps.table,
          Key: approvalKey(item.releaseId, item.approvalId),
          UpdateExpression: 'SET remindedAt = :at, remindedApprovers = :who',
          ConditionExpression: 'attribute_not_exists(remindedAt) AND #status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':at': now.toISOString(), ':who': undecided, ':pending': 'PENDING' },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // Reminded by an earlier attempt of this step, or concluded a moment ago: deliver in that case.
      const latest = await this.loadItem(item.releaseId, item.approvalId);
      if (latest && isConcluded(latest.status)) return { ...base, status: latest.status, delivered: await this.deliverConclusion(latest, 'remind') };
      return base;
    }
    const release = await this.deps.store.requireRelease(item.releaseId);
    await this.emailApprovers(release, item, undecided, summarize(item).decisions);
    logger.info('approval reminder sent', { releaseId: item.releaseId, approvalId: item.approvalId, reminded: undecided });
    return { ...base, reminded: undecided };
  }

  /** Emails each of `to` their own signed links: the request, or with `decisions` the reminder. */
  private async emailApprovers(release: ReleaseRecord, item: ApprovalItem, to: string[], decisions?: DecisionRecord[]): Promise<void> {
    const smoke = smokeSummaryOf(await this.deps.store.getSteps(release.releaseId));
    for (const approver of to) {
      const fields = { approvalId: item.approvalId, approver, expires: item.expiresAt };
      const links = {
        // The person who triggered the release may not approve it, so their email carries no approve link.
        approve: approver === item.triggeredBy ? undefined : await signedLink(this.deps.signer, this.deps.baseUrl, { ...fields, decision: 'approve' }),
        reject: await signedLink(this.deps.signer, this.deps.baseUrl, { ...fields, decision: 'reject' }),
      };
      await this.deps.notifier.send(
        buildApprovalEmail({
          release,
          approvalId: item.approvalId,
          approver,
          links,
          requiredApprovals: item.requiredApprovals,
          approverCount: item.approvers.length,
          expiresAt: item.expiresAt,
          smoke,
          ...(decisions ? { reminder: { decisions } } : {}),
        }),
      );
    }
  }

  /** The newest approval of a release, without its task token (the store's projection never reads it). */
  getApprovalSummary(releaseId: string): Promise<ApprovalSummary | undefined> {
    return this.deps.store.getApprovalSummary(releaseId);
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

    const smoke = smokeSummaryOf(steps);
    const reportUrls = await this.reportUrlsOf(smoke);
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
      smoke,
      ...(reportUrls ? { reportUrls } : {}),
      allowedDecisions: allowed,
      ...(notice ? { notice } : {}),
      ...(form ? { form } : {}),
    };
  }

  /**
   * Records one approver's decision from a signed link. Checks, in order: signature (403), link expiry (410),
   * approval exists and is current (404/410), approver allowed (403), approval open and not decided before by this
   * approver (409); then records it (see {@link applyDecision}).
   */
  async decide(params: SignedLinkParams & { comment?: string }): Promise<DecisionResult> {
    const comment = checkedComment(params.comment);
    const { item } = await this.openLink(params);
    const approver = params.approver;
    // Who may decide comes before the approval's state, so someone refused learns nothing about it.
    const refusal = await this.refusalFor(item, approver, params.decision);
    if (refusal) throw refusal;
    this.assertOpen(item, approver);
    return this.applyDecision(item, { approver, decision: params.decision, comment, via: 'link' });
  }

  /**
   * Records a decision made through the IAM-authorized route. The caller is who API Gateway authenticated
   * (`callerArn`), mapped to an approver by the live catalog's `approverIdentities`; a claimed approver must be that
   * same person. Then exactly the rules of a link: approver of the service, no self-approval, one decision each,
   * N of M. Statuses: 404 no approval, 403 unmapped identity / mismatch / not an approver / self-approval, 410
   * expired or ended, 409 decided before.
   */
  async decideAsIdentity(params: IdentityDecisionParams): Promise<DecisionResult> {
    const comment = checkedComment(params.comment);
    const item = await this.currentApproval(params.releaseId);
    if (!item) throw new NotFoundError(`release ${params.releaseId} has no approval`);
    const live = await this.deps.findService(item.service);
    const match = approverForIdentity(live?.approverIdentities, params.callerArn);
    if (match.kind === 'unmapped') {
      throw new ApprovalForbiddenError(
        `${params.callerArn} is not mapped to an approver of ${item.service}; add it under approverIdentities in the catalog`,
        'unknown-identity',
      );
    }
    if (match.kind === 'ambiguous') {
      throw new ApprovalForbiddenError(
        `${params.callerArn} matches the identities of several approvers (${match.approvers.join(', ')}); the catalog must map it to one`,
        'unknown-identity',
      );
    }
    const approver = match.approver;
    if (params.claimedApprover !== undefined && normalizeEmail(params.claimedApprover) !== approver) {
      throw new ApprovalForbiddenError(
        `you are signed in as ${params.callerArn}, which is approver ${approver}, not ${normalizeEmail(params.claimedApprover)}`,
        'identity-mismatch',
      );
    }
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    if (item.status === 'SUPERSEDED') {
      throw new ApprovalGoneError('this approval was replaced by a newer request', 'superseded');
    }
    if (item.status === 'EXPIRED' || (item.status === 'PENDING' && item.expiresAt < nowSeconds)) {
      throw new ApprovalGoneError('this approval has expired', 'approval-expired');
    }
    const release = await this.deps.store.getRelease(item.releaseId);
    if (item.status === 'PENDING' && (!release || TERMINAL_STATUSES.includes(release.status))) {
      throw new ApprovalGoneError(`the release has already ended (${release?.status ?? 'no record'})`, 'release-ended');
    }
    const refusal = await this.refusalFor(item, approver, params.decision);
    if (refusal) throw refusal;
    this.assertOpen(item, approver);
    return this.applyDecision(item, { approver, decision: params.decision, comment, via: 'iam', identity: params.callerArn });
  }

  /**
   * Writes one decision with a conditional update that lets each approver decide once while the approval is open
   * and unexpired. Reaching the required approvals concludes APPROVED and sends SendTaskSuccess; a rejection
   * concludes REJECTED and sends SendTaskFailure `ApprovalRejected`. Only the writer that concludes the approval
   * talks to Step Functions.
   */
  private async applyDecision(
    item: ApprovalItem,
    input: { approver: string; decision: Decision; comment?: string; via: 'link' | 'iam'; identity?: string },
  ): Promise<DecisionResult> {
    const { approver, comment } = input;
    const now = this.now();
    const record: DecisionRecord = {
      approver,
      decision: input.decision,
      decidedAt: now.toISOString(),
      ...(comment ? { comment } : {}),
      via: input.via,
      ...(input.identity ? { identity: input.identity } : {}),
    };
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
      decision: input.decision,
      via: input.via,
    });

    const approvals = Object.values(updated.decisions).filter((d) => d.decision === 'approve');
    const result = (status: ApprovalStatus, latest: ApprovalItem = updated): DecisionResult => ({
      approvalId: item.approvalId,
      releaseId: item.releaseId,
      approver,
      decision: input.decision,
      status,
      approvals: Object.values(latest.decisions).filter((d) => d.decision === 'approve').length,
      requiredApprovals: item.requiredApprovals,
      decisions: summarize(latest).decisions,
    });

    if (input.decision === 'reject') {
      if (!(await this.conclude(updated, 'REJECTED', now))) return this.resultAfterLostRace(updated, result);
      await this.deliverOrExpire(updated, approver);
      await this.deps.store.endStep(item.releaseId, 'Approval', 'FAILED', {
        error: { error: 'ApprovalRejected', cause: rejectionCause(updated) },
        details: { approvalId: item.approvalId, rejectedBy: approver, decisions: summarize(updated).decisions },
      });
      logger.info('approval rejected', { releaseId: item.releaseId, approvalId: item.approvalId, approver });
      return result('REJECTED');
    }

    if (approvals.length < item.requiredApprovals) return result('PENDING');
    if (!(await this.conclude(updated, 'APPROVED', now))) return this.resultAfterLostRace(updated, result);
    await this.deliverOrExpire(updated, approver);
    const summary = summarize(updated);
    await this.deps.store.endStep(item.releaseId, 'Approval', 'SUCCEEDED', {
      details: { approvalId: item.approvalId, approvedBy: summary.approvedBy, decisions: summary.decisions, requiredApprovals: item.requiredApprovals },
    });
    logger.info('approval approved', { releaseId: item.releaseId, approvalId: item.approvalId, approvedBy: summary.approvedBy });
    return result('APPROVED');
  }

  /**
   * Tells Step Functions about a conclusion the approval API just wrote. When the task is gone for good (the
   * approval's own expiry passed, or the execution ended), the approval becomes EXPIRED and the caller gets 410. When
   * it is gone only because the remind step is replacing the token, the conclusion stays and that step delivers it.
   */
  private async deliverOrExpire(item: ApprovalItem, approver: string): Promise<void> {
    const outcome = await this.deliverConclusion(item, 'decide', approver);
    if (outcome !== 'gone') return;
    await this.setStatusFrom(item, item.status, 'EXPIRED').catch((e) =>
      logger.error('could not mark approval expired', { releaseId: item.releaseId, approvalId: item.approvalId, error: e as Error }),
    );
    throw new ApprovalGoneError('the release is no longer waiting for this approval (its approval step timed out or ended)', 'approval-expired');
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
   * Sends the approval's conclusion (APPROVED: SendTaskSuccess; REJECTED: SendTaskFailure `ApprovalRejected`) with
   * the task token stored on the item now. The remind step replaces that token at the reminder point, so:
   * - before sending, the writer claims the token (a conditional write of its hash): one writer sends per token, and
   *   a writer that finds the token replaced tries again with the new one;
   * - when Step Functions says the task is gone, the item is read again: a new token means try again; no new token
   *   yet while a reminder is due and the approval has not expired means the remind step is about to run and will
   *   deliver (`deferred`); anything else means the task is really gone.
   * On any other failure the claim is undone, and for a decision the approval is reopened (that approver's decision
   * removed), so the same link can be used again rather than leaving a closed approval the execution never heard of.
   */
  private async deliverConclusion(start: ApprovalItem, by: 'decide' | 'remind', approver?: string): Promise<DeliveryOutcome> {
    let item = start;
    // A token changes hands once per approval (again only if the remind step is retried): a few rounds suffice.
    for (let round = 0; round < 4; round++) {
      const token = item.taskToken;
      if (!(await this.claimDelivery(item, token))) {
        const latest = await this.loadItem(item.releaseId, item.approvalId);
        if (latest && latest.taskToken !== token) {
          item = { ...latest, status: item.status };
          continue;
        }
        return 'by-other';
      }
      try {
        if (item.status === 'APPROVED') {
          const summary = summarize(item);
          const output = { approvalId: item.approvalId, approvedBy: summary.approvedBy, decisions: summary.decisions };
          await this.deps.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }));
        } else {
          await this.deps.sfn.send(new SendTaskFailureCommand({ taskToken: token, error: 'ApprovalRejected', cause: rejectionCause(item) }));
        }
      } catch (err) {
        const name = (err as Error)?.name;
        if (!TASK_GONE_ERRORS.has(name)) {
          await this.releaseClaim(item, by === 'decide' ? approver : undefined);
          throw err;
        }
        const latest = await this.loadItem(item.releaseId, item.approvalId);
        if (latest && latest.taskToken !== token) {
          item = { ...latest, status: item.status };
          continue;
        }
        const nowSeconds = Math.floor(this.now().getTime() / 1000);
        const inGap =
          latest?.remindAt !== undefined &&
          !latest.remindedAt &&
          nowSeconds >= latest.remindAt - REMINDER_GAP_SLACK_SECONDS &&
          nowSeconds <= latest.expiresAt;
        if (by === 'decide' && inGap) {
          logger.info('approval concluded while the task token is being replaced; the remind step delivers it', {
            releaseId: item.releaseId,
            approvalId: item.approvalId,
          });
          return 'deferred';
        }
        logger.warn('Step Functions no longer has the approval task', { releaseId: item.releaseId, approvalId: item.approvalId, by, error: name });
        return 'gone';
      }
      await this.send(
        new UpdateCommand({
          TableName: this.deps.table,
          Key: approvalKey(item.releaseId, item.approvalId),
          UpdateExpression: 'SET deliveredAt = :at',
          ExpressionAttributeValues: { ':at': this.now().toISOString() },
        }),
      ).catch((e) => logger.warn('could not record the delivery time', { releaseId: item.releaseId, error: e as Error }));
      logger.info('approval conclusion delivered to Step Functions', { releaseId: item.releaseId, approvalId: item.approvalId, status: item.status, by });
      return 'delivered';
    }
    return 'gone';
  }

  /** Claims the right to send with this token; false when the token changed or another writer claimed it. */
  private async claimDelivery(item: ApprovalItem, token: string): Promise<boolean> {
    const hash = tokenHash(token);
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.deps.table,
          Key: approvalKey(item.releaseId, item.approvalId),
          UpdateExpression: 'SET deliveryTokenHash = :hash',
          ConditionExpression: 'taskToken = :token AND (attribute_not_exists(deliveryTokenHash) OR deliveryTokenHash <> :hash)',
          ExpressionAttributeValues: { ':hash': hash, ':token': token },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /**
   * Undoes a claim after Step Functions failed for a reason other than a gone task. For a decision the approval is
   * also reopened and that approver's decision removed, so the same link works again.
   */
  private async releaseClaim(item: ApprovalItem, approver: string | undefined): Promise<void> {
    logger.error('Step Functions did not take the approval conclusion', { releaseId: item.releaseId, approvalId: item.approvalId, reopen: Boolean(approver) });
    const command = approver
      ? new UpdateCommand({
          TableName: this.deps.table,
          Key: approvalKey(item.releaseId, item.approvalId),
          UpdateExpression: 'SET #status = :pending REMOVE decisions.#who, concludedAt, deliveryTokenHash',
          ConditionExpression: '#status = :concluded',
          ExpressionAttributeNames: { '#status': 'status', '#who': approver },
          ExpressionAttributeValues: { ':pending': 'PENDING', ':concluded': item.status },
        })
      : new UpdateCommand({
          TableName: this.deps.table,
          Key: approvalKey(item.releaseId, item.approvalId),
          UpdateExpression: 'REMOVE deliveryTokenHash',
        });
    await this.send(command).catch((e) =>
      logger.error('could not undo the delivery claim', { releaseId: item.releaseId, approvalId: item.approvalId, error: e as Error }),
    );
  }

  /** Download links for the smoke reports, when a presigner is configured; a failure only costs the link. */
  private async reportUrlsOf(smoke: SmokeSummary | undefined): Promise<Record<string, string> | undefined> {
    const presign = this.deps.reportUrl;
    if (!presign || !smoke) return undefined;
    const urls: Record<string, string> = {};
    for (const [kind, key] of Object.entries(smoke.reportKeys)) {
      // Only report objects get a download link, whatever a step record claims.
      if (!key.startsWith(BUCKET_LAYOUT.reportsPrefix) || key.split('/').includes('..')) continue;
      try {
        urls[kind] = await presign(key);
      } catch (err) {
        logger.warn('could not make a report link', { key, error: err as Error });
      }
    }
    return Object.keys(urls).length > 0 ? urls : undefined;
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

  /** The newest approval of a release (with its token), or undefined. */
  private async currentApproval(releaseId: string): Promise<ApprovalItem | undefined> {
    const items = await this.approvalsOf(releaseId);
    return items.sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
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

/** A comment trimmed, empty as undefined, refused when too long. */
function checkedComment(raw: string | undefined): string | undefined {
  const comment = raw?.trim() || undefined;
  if (comment && comment.length > MAX_COMMENT_LENGTH) {
    throw new ValidationError(`comment is too long: at most ${MAX_COMMENT_LENGTH} characters`, {
      comment: `expected at most ${MAX_COMMENT_LENGTH} characters`,
    });
  }
  return comment;
}

/** The SendTaskFailure cause of a rejected approval: who rejected, and their comment. */
function rejectionCause(item: ApprovalItem): string {
  const rejection = summarize(item).decisions.find((d) => d.decision === 'reject');
  if (!rejection) return 'Rejected';
  return `Rejected by ${rejection.approver}${rejection.comment ? `: ${rejection.comment}` : ''}`;
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
    // Signed with the function's own credentials: on AWS it may read reports/* only, so the URL can do no more.
    reportUrl: (key) =>
      getSignedUrl(s3Client(), new GetObjectCommand({ Bucket: config.ARTIFACTS_BUCKET, Key: key }), { expiresIn: REPORT_LINK_SECONDS }),
  });
  cached = { config, service };
  return service;
}
