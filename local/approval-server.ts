import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { handler as approvalApiHandler } from '../functions/approval-api/handler.js';

/** A handler with the API Gateway proxy signature, like the approval API's. */
export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/**
 * Authenticates a request the way API Gateway's AWS_IAM authorization does: returns the caller's ARN, or a reason
 * the request is refused (answered 403 `{"message": reason}` without calling the handler).
 */
export type IamAuthorizer = (req: IncomingMessage, body: Buffer) => Promise<{ userArn: string } | { refused: string }>;

export interface ApprovalServerOptions {
  /** Port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
  /** @default the approval API's Lambda handler */
  handler?: ProxyHandler;
  /**
   * Serves the IAM-authorized route `POST /releases/{releaseId}/decision` too, authenticating with this (for example
   * {@link sigV4Authorizer}). Absent (embedded mode has no IAM): that route answers 404 like any unknown path.
   */
  iam?: IamAuthorizer;
}

export interface ApprovalServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The server reads at most this much of a body before it answers 413 itself; the handler's own, smaller limit
 * applies below it, so both paths answer with the same error format.
 */
const MAX_READ_BYTES = 1024 * 1024;
const LINK_ROUTE = /^\/approvals\/([^/]+)$/;
const DECISION_ROUTE = /^\/releases\/([^/]+)\/decision$/;

/** Which API Gateway resource a request matched, and its path parameters. */
export interface MatchedRoute {
  resource: '/approvals/{approvalId}' | '/releases/{releaseId}/decision';
  pathParameters: Record<string, string>;
}

function jsonError(res: ServerResponse, status: number, code: string, message: string, requestId: string) {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify({ error: { code, message, requestId } }));
}

/** Reads the body, or returns undefined once it grows past the limit. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_READ_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * An API Gateway REST proxy event (v1) for a Node request, as API Gateway would build it. `userArn` is set only for
 * a request an IAM authorizer authenticated, as API Gateway sets `requestContext.identity.userArn`.
 */
export function toProxyEvent(
  req: IncomingMessage,
  body: Buffer,
  route: MatchedRoute,
  requestId: string,
  userArn: string | null = null,
): APIGatewayProxyEvent {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const [name, value] = [req.rawHeaders[i], req.rawHeaders[i + 1]];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    query[k] = v;
    (multiQuery[k] ??= []).push(v);
  }
  const hasQuery = Object.keys(query).length > 0;
  const now = new Date();
  return {
    resource: route.resource,
    path: url.pathname,
    httpMethod: req.method ?? 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: route.pathParameters,
    stageVariables: null,
    body: body.length > 0 ? body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: req.method ?? 'GET',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: userArn ? (userArn.split('/').slice(-1)[0] ?? null) : null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        user: null,
        userAgent: req.headers['user-agent'] ?? null,
        userArn,
      },
      path: url.pathname,
      stage: 'local',
      requestId,
      requestTimeEpoch: now.getTime(),
      resourceId: 'local',
      resourcePath: route.resource,
    },
  };
}

/** A Lambda-like context for one invocation. */
function lambdaContext(requestId: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'launchway-approval-api',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:launchway-approval-api',
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/launchway-approval-api',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Serves the approval API on 127.0.0.1 the way API Gateway does: each request becomes a proxy event for
 * `/approvals/{approvalId}` (or, with `iam`, an authenticated `/releases/{releaseId}/decision`) and goes to the same
 * Lambda handler that runs on AWS. Other paths answer 404 JSON.
 */
export async function startApprovalServer(options: ApprovalServerOptions = {}): Promise<ApprovalServer> {
  const handle: ProxyHandler = options.handler ?? ((event, context) => approvalApiHandler(event, context));
  const server = createServer((req, res) => {
    const requestId = randomUUID();
    void (async () => {
      const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const linkMatch = LINK_ROUTE.exec(pathname);
      const decisionMatch = options.iam ? DECISION_ROUTE.exec(pathname) : null;
      const match = linkMatch ?? decisionMatch;
      if (!match) return jsonError(res, 404, 'NOT_FOUND', `no route for ${req.method} ${pathname}`, requestId);
      let param: string;
      try {
        param = decodeURIComponent(match[1]);
      } catch {
        return jsonError(res, 400, 'VALIDATION_ERROR', 'the id in the path is not valid URL encoding', requestId);
      }
      const route: MatchedRoute = linkMatch
        ? { resource: '/approvals/{approvalId}', pathParameters: { approvalId: param } }
        : { resource: '/releases/{releaseId}/decision', pathParameters: { releaseId: param } };
      const body = await readBody(req);
      if (!body) {
        res.setHeader('Connection', 'close');
        return jsonError(res, 413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${MAX_READ_BYTES} bytes`, requestId);
      }
      let userArn: string | null = null;
      if (!linkMatch) {
        // API Gateway answers an unauthenticated IAM route itself, in its own shape, before any Lambda runs.
        const auth = await options.iam!(req, body);
        if ('refused' in auth) {
          res.writeHead(403, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'IncompleteSignatureException' });
          return res.end(JSON.stringify({ message: auth.refused }));
        }
        userArn = auth.userArn;
      }
      const result = await handle(toProxyEvent(req, body, route, requestId, userArn), lambdaContext(requestId));
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
      for (const [k, vs] of Object.entries(result.multiValueHeaders ?? {})) headers[k] = vs.map(String);
      res.writeHead(result.statusCode, headers);
      res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
    })().catch((err: unknown) => {
      // The handler answers its own errors; reaching here is a bug in this adapter. Keep the detail on stderr only.
      process.stderr.write(`approval server: request ${requestId} failed: ${(err as Error)?.stack ?? String(err)}\n`);
      if (!res.headersSent) jsonError(res, 500, 'INTERNAL', 'Internal error. Quote the request id when you report it.', requestId);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** One IAM identity the local authorizer knows: its secret key and the ARN API Gateway would report for it. */
export interface LocalIamIdentity {
  secretAccessKey: string;
  /** e.g. `arn:aws:sts::111122223333:assumed-role/ReleaseLeads/lead@example.com` */
  arn: string;
}

/** How far a request's `X-Amz-Date` may be from the server's clock, as on AWS. */
const SIGV4_MAX_SKEW_MS = 5 * 60 * 1000;

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 escaping as SigV4 wants it (encodeURIComponent leaves `!'()*` alone). */
const sigV4Escape = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * A local stand-in for API Gateway's AWS_IAM authorization: verifies a SigV4 `Authorization` header (service
 * `execute-api`) against a table of known access keys, written from the SigV4 specification independently of the
 * SDK's signer, and returns the key's ARN. Used to test the CLI's signed decision end to end; embedded mode does not
 * enable it (there, holding the emailed link is the proof).
 */
export function sigV4Authorizer(options: {
  region: string;
  identities: Record<string, LocalIamIdentity>;
  /** @default () => new Date() */
  now?: () => Date;
}): IamAuthorizer {
  const now = options.now ?? (() => new Date());
  return async (req, body) => {
    const authorization = req.headers.authorization;
    if (!authorization) return { refused: 'Missing Authentication Token' };
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/.exec(
        authorization,
      );
    if (!m) return { refused: 'Authorization header requires Credential, SignedHeaders and Signature (AWS4-HMAC-SHA256)' };
    const [, accessKeyId, day, region, service, signedHeaderList, signature] = m;
    const identity = Object.hasOwn(options.identities, accessKeyId) ? options.identities[accessKeyId] : undefined;
    if (!identity) return { refused: 'The security token included in the request is invalid.' };
    if (service !== 'execute-api' || region !== options.region) {
      return { refused: `Credential should be scoped to a valid region and service execute-api in ${options.region}` };
    }
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    const dm = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
    if (!dm || amzDate.slice(0, 8) !== day) return { refused: 'X-Amz-Date is missing or does not match the credential scope date' };
    const signedAt = Date.UTC(+dm[1], +dm[2] - 1, +dm[3], +dm[4], +dm[5], +dm[6]);
    if (Math.abs(now().getTime() - signedAt) > SIGV4_MAX_SKEW_MS) return { refused: 'Signature expired' };
    const signedHeaders = signedHeaderList.split(';');
    if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-date')) {
      return { refused: 'SignedHeaders must include host and x-amz-date' };
    }
    const payloadHash = sha256Hex(body);
    const declared = req.headers['x-amz-content-sha256'];
    if (typeof declared === 'string' && declared !== payloadHash)
      return { refused: 'The request body does not match x-amz-content-sha256' };

    const url = new URL(req.url ?? '/', 'http://placeholder');
    // Every service but S3 escapes each (already escaped) path segment once more.
    const canonicalUri = url.pathname
      .split('/')
      .map((seg) => sigV4Escape(seg))
      .join('/');
    const canonicalQuery = [...url.searchParams]
      .map(([k, v]) => [sigV4Escape(k), sigV4Escape(v)])
      .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const headerValue = (name: string) => {
      const raw = req.headers[name];
      return (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).trim().replace(/\s+/g, ' ');
    };
    const canonicalHeaders = signedHeaders.map((h) => `${h}:${headerValue(h)}\n`).join('');
    const canonicalRequest = [req.method ?? 'GET', canonicalUri, canonicalQuery, canonicalHeaders, signedHeaderList, payloadHash].join(
      '\n',
    );
    const scope = `${day}/${region}/${service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    const key = hmac(hmac(hmac(hmac(`AWS4${identity.secretAccessKey}`, day), region), service), 'aws4_request');
    const expected = hmac(key, stringToSign);
    const given = Buffer.from(signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { refused: 'The request signature we calculated does not match the signature you provided.' };
    }
    return { userArn: identity.arn };
  };
}
