import middy, { type MiddlewareObj } from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { approvalServiceFromConfig, type ApprovalService } from '../lib/approvals/approval-service.js';
import { logger } from '../lib/logger.js';
import { confirmationPage, errorPage, resultPage } from './pages.js';
import { parseApprovalRequest, type ApprovalHttpRequest } from './request.js';
import { header, htmlResponse, jsonResponse, prefersJson, requestIdOf, toApiError, type ApiErrorBody } from './responses.js';

/**
 * The approval API behind API Gateway (REST, proxy integration):
 * - `GET /approvals/{approvalId}?decision&approver&expires&sig` shows a confirmation page and changes nothing;
 * - `POST /approvals/{approvalId}` (form or JSON: the signed fields, the decision and a comment) decides;
 * - `POST /releases/{releaseId}/decision` (AWS_IAM authorization, JSON) decides as the IAM caller, mapped to an
 *   approver by the catalog: `launchway approve|reject` on AWS.
 * HTML by default, JSON for `Accept: application/json`. The embedded runtime serves the link routes locally.
 */

/** How a response is written: HTML or JSON, and the request id the caller can quote. */
export interface ResponseFormat {
  json: boolean;
  requestId: string;
}

/**
 * The route itself, after parsing: calls the domain and renders the answer. Exported so tests can call it without
 * Lambda; `service` defaults to the one built from the configuration.
 */
export async function approvalApi(
  request: ApprovalHttpRequest,
  format: ResponseFormat,
  service: ApprovalService = approvalServiceFromConfig(),
): Promise<APIGatewayProxyResult> {
  if (request.route === 'identity-decision') {
    const result = await service.decideAsIdentity({
      releaseId: request.releaseId,
      decision: request.decision,
      callerArn: request.callerArn,
      claimedApprover: request.claimedApprover,
      comment: request.comment,
    });
    return format.json ? jsonResponse(200, result) : htmlResponse(200, resultPage(result));
  }
  if (request.method === 'GET') {
    const view = await service.describeLink(request.link);
    return format.json ? jsonResponse(200, view) : htmlResponse(200, confirmationPage(view, request.path));
  }
  const result = await service.decide({ ...request.link, comment: request.comment });
  return format.json ? jsonResponse(200, result) : htmlResponse(200, resultPage(result));
}

function formatOf(event: APIGatewayProxyEvent, context: Context): ResponseFormat {
  return { json: prefersJson(header(event, 'accept')), requestId: requestIdOf(event, context.awsRequestId) };
}

/**
 * Parses the event with the zod schemas in request.ts and keeps the result beside the raw event, which the error
 * middleware still needs for the response format.
 */
const parsedRequests = new WeakMap<object, ApprovalHttpRequest>();
function parseRequest(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    before: (request) => {
      const parsed = parseApprovalRequest(request.event);
      parsedRequests.set(request.event, parsed);
      // Never the signature: only what identifies the approval and who acts.
      if (parsed.route === 'identity-decision') {
        logger.appendKeys({ releaseId: parsed.releaseId, callerArn: parsed.callerArn, method: parsed.method, route: parsed.route });
      } else {
        logger.appendKeys({ approvalId: parsed.approvalId, approver: parsed.link.approver, method: parsed.method });
      }
    },
  };
}

/**
 * Turns any error into the API's error response: domain errors keep their message, anything else is a generic 500
 * whose detail only the log sees.
 */
function errorResponses(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    onError: (request) => {
      const format = formatOf(request.event, request.context);
      const apiError = toApiError(request.error);
      if (apiError.status >= 500) {
        logger.error('approval request failed', { requestId: format.requestId, error: request.error as Error });
      } else {
        logger.info('approval request refused', {
          requestId: format.requestId,
          status: apiError.status,
          code: apiError.code,
          message: apiError.message,
        });
      }
      const body: ApiErrorBody = {
        error: {
          code: apiError.code,
          message: apiError.message,
          ...(apiError.details ? { details: apiError.details } : {}),
          requestId: format.requestId,
        },
      };
      request.response = format.json
        ? jsonResponse(apiError.status, body, apiError.headers)
        : htmlResponse(apiError.status, errorPage(apiError, format.requestId), apiError.headers);
    },
  };
}

/** The Lambda handler: logger context, error responses, parsing, then the route. */
export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(errorResponses())
  .use(parseRequest())
  .handler((event, context) => approvalApi(parsedRequests.get(event)!, formatOf(event, context)));
