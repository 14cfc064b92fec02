import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod';
import type { SignedLinkParams } from '../lib/approvals/link-check.js';
import { MAX_COMMENT_LENGTH } from '../lib/approvals/policy.js';
import { ApprovalForbiddenError } from '../lib/approvals/errors.js';
import { APPROVAL_ID_PATTERN, DECISIONS, type Decision } from '../lib/approvals/links.js';
import { ValidationError } from '../lib/errors.js';
import { fieldErrors } from '../lib/release-request.js';
import { header, MethodNotAllowedError, PayloadTooLargeError } from './responses.js';

/** Largest request body the approval API reads: a form with a 1000-character comment is far below it. */
export const MAX_BODY_BYTES = 16 * 1024;

const expires = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\d{1,12}$/, 'expected the expiry in epoch seconds')
    .transform(Number),
]);

/** The signed fields of a link, in a query string (GET) or a form or JSON body (POST). */
export const SignedLinkSchema = z.object({
  decision: z.enum(DECISIONS, { message: 'expected approve or reject' }),
  approver: z.email({ message: 'expected the approver email the link was made for' }).max(254),
  expires,
  sig: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'expected the link signature (base64url)'),
});

/** A decision: the signed fields plus an optional comment. */
export const DecisionBodySchema = SignedLinkSchema.extend({
  comment: z.string().max(MAX_COMMENT_LENGTH, `expected at most ${MAX_COMMENT_LENGTH} characters`).optional(),
});

const ApprovalIdSchema = z.string().regex(APPROVAL_ID_PATTERN, 'expected an approval id from an approval link');

/** The resource of the signed-link route, as API Gateway reports it in `event.resource`. */
export const LINK_RESOURCE = '/approvals/{approvalId}';
/** The resource of the IAM-authorized decision route (`launchway approve|reject` on AWS). */
export const IDENTITY_DECISION_RESOURCE = '/releases/{releaseId}/decision';

const ReleaseIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,80}$/, 'expected a release id');

/**
 * The body of an IAM-authorized decision. `approver` is who the caller says they are (`--as`); the handler checks it
 * against the identity API Gateway authenticated, never the other way round.
 */
export const IdentityDecisionBodySchema = z.strictObject({
  decision: z.enum(DECISIONS, { message: 'expected approve or reject' }),
  approver: z.email({ message: 'expected the approver email you act as' }).max(254).optional(),
  comment: z.string().max(MAX_COMMENT_LENGTH, `expected at most ${MAX_COMMENT_LENGTH} characters`).optional(),
});

/** A request to the approval API after parsing: what the route and the domain need, nothing raw. */
export type ApprovalHttpRequest =
  | { route: 'link'; method: 'GET'; approvalId: string; link: SignedLinkParams; path: string }
  | { route: 'link'; method: 'POST'; approvalId: string; link: SignedLinkParams; comment?: string; path: string }
  | {
      route: 'identity-decision';
      method: 'POST';
      releaseId: string;
      decision: Decision;
      /** `requestContext.identity.userArn`: set by API Gateway after it verified the SigV4 signature. */
      callerArn: string;
      claimedApprover?: string;
      comment?: string;
      path: string;
    };

function invalid(error: z.ZodError, prefix: string): never {
  const fields = fieldErrors(error, prefix);
  throw new ValidationError(
    `invalid request: ${Object.entries(fields)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}`,
    fields,
  );
}

/**
 * Collects single values from repeated-key sources. A signed field given twice is ambiguous, so it is refused rather
 * than letting the first or the last one win.
 */
function singleValues(entries: Iterable<[string, string]>, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  const repeated: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (Object.hasOwn(out, k)) repeated[`${prefix}.${k}`] = 'expected a single value';
    out[k] = v;
  }
  if (Object.keys(repeated).length > 0) {
    throw new ValidationError(`invalid request: ${Object.keys(repeated).join(', ')} given more than once`, repeated);
  }
  return out;
}

function queryEntries(event: APIGatewayProxyEvent): [string, string][] {
  if (event.multiValueQueryStringParameters) {
    return Object.entries(event.multiValueQueryStringParameters).flatMap(([k, vs]) => (vs ?? []).map((v): [string, string] => [k, v]));
  }
  return Object.entries(event.queryStringParameters ?? {}).flatMap(([k, v]) => (v === undefined ? [] : [[k, v] as [string, string]]));
}

function bodyText(event: APIGatewayProxyEvent): string {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  return bytes.toString('utf8');
}

function bodyFields(event: APIGatewayProxyEvent): unknown {
  const text = bodyText(event);
  const type = (header(event, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return singleValues(new URLSearchParams(text), 'body');
  if (type === 'application/json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new ValidationError('invalid request: the body is not valid JSON', { body: 'expected a JSON object' }, { cause: err });
    }
  }
  throw new ValidationError('invalid request: unsupported body type', {
    'headers.content-type': 'expected application/x-www-form-urlencoded or application/json',
  });
}

/**
 * Parses an API Gateway (REST, proxy) event for `/approvals/{approvalId}`: the path parameter, and the signed
 * fields from the query (GET) or the body (POST). Throws ValidationError naming each bad field,
 * PayloadTooLargeError over {@link MAX_BODY_BYTES}, and MethodNotAllowedError for other methods.
 */
export function parseApprovalRequest(event: APIGatewayProxyEvent): ApprovalHttpRequest {
  if (event.resource === IDENTITY_DECISION_RESOURCE) return parseIdentityDecision(event);
  const method = (event.httpMethod ?? '').toUpperCase();
  if (method !== 'GET' && method !== 'POST') throw new MethodNotAllowedError(method || '(none)', ['GET', 'POST']);

  const id = ApprovalIdSchema.safeParse(event.pathParameters?.approvalId ?? '');
  if (!id.success) invalid(id.error, 'path.approvalId');
  // The page's form posts back to the path it was served from, stage prefix included.
  const path = event.requestContext?.path || event.path;

  if (method === 'GET') {
    const parsed = SignedLinkSchema.safeParse(singleValues(queryEntries(event), 'query'));
    if (!parsed.success) invalid(parsed.error, 'query');
    return { route: 'link', method, approvalId: id.data, link: { approvalId: id.data, ...parsed.data }, path };
  }

  const body = bodyFields(event);
  const parsed = DecisionBodySchema.safeParse(body);
  if (!parsed.success) invalid(parsed.error, 'body');
  const { comment, ...signed } = parsed.data;
  return { route: 'link', method, approvalId: id.data, link: { approvalId: id.data, ...signed }, comment: comment || undefined, path };
}

/**
 * Parses `POST /releases/{releaseId}/decision` (AuthorizationType AWS_IAM). The caller is
 * `requestContext.identity.userArn`, which only API Gateway sets; a request without one was not IAM-authenticated
 * (a misconfigured route) and is refused before anything else is read.
 */
function parseIdentityDecision(event: APIGatewayProxyEvent): ApprovalHttpRequest {
  const method = (event.httpMethod ?? '').toUpperCase();
  if (method !== 'POST') throw new MethodNotAllowedError(method || '(none)', ['POST']);
  const callerArn = event.requestContext?.identity?.userArn;
  if (!callerArn) {
    throw new ApprovalForbiddenError(
      'this route needs a SigV4-signed request from an IAM identity; none was authenticated',
      'unknown-identity',
    );
  }
  const id = ReleaseIdSchema.safeParse(event.pathParameters?.releaseId ?? '');
  if (!id.success) invalid(id.error, 'path.releaseId');
  const text = bodyText(event);
  const type = (header(event, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') {
    throw new ValidationError('invalid request: unsupported body type', { 'headers.content-type': 'expected application/json' });
  }
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch (err) {
    throw new ValidationError('invalid request: the body is not valid JSON', { body: 'expected a JSON object' }, { cause: err });
  }
  const parsed = IdentityDecisionBodySchema.safeParse(body);
  if (!parsed.success) invalid(parsed.error, 'body');
  return {
    route: 'identity-decision',
    method: 'POST',
    releaseId: id.data,
    decision: parsed.data.decision,
    callerArn,
    ...(parsed.data.approver ? { claimedApprover: parsed.data.approver } : {}),
    ...(parsed.data.comment?.trim() ? { comment: parsed.data.comment } : {}),
    path: event.requestContext?.path || event.path,
  };
}
