import { Names } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { LaunchwayFunction } from './launchway-function.js';

/** The approval API's stage, the first path segment of every approval link. */
export const APPROVAL_API_STAGE = 'v1';

/** Requests per second and burst allowed on the approval API stage. */
export interface ApprovalApiThrottle {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Requests allowed in a burst. */
  readonly burstLimit: number;
}

/** The throttle, checked: both limits positive integers. */
export function validThrottle(throttle: ApprovalApiThrottle, scope: Construct): ApprovalApiThrottle {
  for (const [field, value] of Object.entries(throttle)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`${scope.node.path}: approvalApiThrottle.${field} expected a positive integer, got ${value}`);
    }
  }
  return throttle;
}

/** How the approval API is set up, from the pipeline's props. */
export interface ApprovalApiOptions {
  readonly throttle: ApprovalApiThrottle;
  /** Where access logs go. */
  readonly accessLogs: logs.ILogGroup;
  /** With a custom approval domain, the execute-api endpoint is turned off. */
  readonly customDomain: boolean;
  /** Create the account-wide role API Gateway needs to write logs. */
  readonly cloudWatchRole: boolean;
}

/**
 * The approval REST API in `scope` (the pipeline, so construct ids and logical ids stay the pipeline's): the link
 * routes GET and POST `/approvals/{approvalId}` without authorization (the signed link is the credential), and
 * `POST /releases/{releaseId}/decision` with AWS_IAM for `launchway approve|reject`.
 */
export function createApprovalApi(
  scope: Construct,
  handler: LaunchwayFunction,
  options: ApprovalApiOptions,
): { api: apigw.RestApi; decisionMethod: apigw.Method } {
  const api = new apigw.RestApi(scope, 'ApprovalApi', {
    // API Gateway metrics are keyed by API name: a name unique to this pipeline keeps its alarms and dashboard
    // from counting another stack's approval API in the same account.
    restApiName: `${Names.uniqueResourceName(scope, { maxLength: 54 })}-approvals`,
    description: 'Launchway approval links: GET shows the release, POST records a decision',
    endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
    // With a custom domain the links have one address; the execute-api one would bypass nothing but confuse.
    disableExecuteApiEndpoint: options.customDomain,
    cloudWatchRole: options.cloudWatchRole,
    deployOptions: {
      stageName: APPROVAL_API_STAGE,
      tracingEnabled: true,
      // Execution logs of failures only; request and response bodies (signatures, comments) stay out of logs.
      loggingLevel: apigw.MethodLoggingLevel.ERROR,
      dataTraceEnabled: false,
      throttlingRateLimit: options.throttle.rateLimit,
      throttlingBurstLimit: options.throttle.burstLimit,
      accessLogDestination: new apigw.LogGroupLogDestination(options.accessLogs),
      // The resource path is the template (/approvals/{approvalId}); query strings with signatures are not logged.
      accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields({
        ip: true,
        caller: false,
        user: false,
        requestTime: true,
        httpMethod: true,
        resourcePath: true,
        status: true,
        protocol: true,
        responseLength: true,
      }),
    },
  });
  // The signed link is the credential: the handler verifies the HMAC and the expiry before a POST changes
  // anything, and GET never changes anything. Approvers open links from email, so these routes have no IAM or
  // Cognito authorizer.
  const integration = new apigw.LambdaIntegration(handler, { proxy: true, allowTestInvoke: false });
  const approval = api.root.addResource('approvals').addResource('{approvalId}');
  // API Gateway refuses a request without the path parameter before the function runs; the handler validates
  // the rest (signature, expiry, form) with zod.
  const requestValidator = api.addRequestValidator('ApprovalRequestValidator', { validateRequestParameters: true });
  for (const method of ['GET', 'POST']) {
    approval.addMethod(method, integration, {
      authorizationType: apigw.AuthorizationType.NONE,
      requestParameters: { 'method.request.path.approvalId': true },
      requestValidator,
    });
  }
  // `launchway approve|reject` on AWS: API Gateway verifies the caller's SigV4 signature (AWS_IAM) and hands the
  // handler `requestContext.identity.userArn`, which the catalog's approverIdentities map to one approver; the
  // same rules as a link then apply. Callers need execute-api:Invoke on it (grantDecide).
  const decisionMethod = api.root
    .addResource('releases')
    .addResource('{releaseId}')
    .addResource('decision')
    .addMethod('POST', integration, {
      authorizationType: apigw.AuthorizationType.IAM,
      requestParameters: { 'method.request.path.releaseId': true },
      requestValidator,
    });
  return { api, decisionMethod };
}
