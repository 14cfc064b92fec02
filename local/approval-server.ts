import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { handler as approvalApiHandler } from '../functions/approval-api/handler.js';

/** A handler with the API Gateway proxy signature, like the approval API's. */
export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export interface ApprovalServerOptions {
  /** Port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
  /** @default the approval API's Lambda handler */
  handler?: ProxyHandler;
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
const ROUTE = /^\/approvals\/([^/]+)$/;

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

/** An API Gateway REST proxy event (v1) for a Node request, as API Gateway would build it. */
export function toProxyEvent(req: IncomingMessage, body: Buffer, approvalId: string, requestId: string): APIGatewayProxyEvent {
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
    resource: '/approvals/{approvalId}',
    path: url.pathname,
    httpMethod: req.method ?? 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: { approvalId },
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
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        user: null,
        userAgent: req.headers['user-agent'] ?? null,
        userArn: null,
      },
      path: url.pathname,
      stage: 'local',
      requestId,
      requestTimeEpoch: now.getTime(),
      resourceId: 'local',
      resourcePath: '/approvals/{approvalId}',
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
 * `/approvals/{approvalId}` and goes to the same Lambda handler that runs on AWS. Other paths answer 404 JSON.
 */
export async function startApprovalServer(options: ApprovalServerOptions = {}): Promise<ApprovalServer> {
  const handle: ProxyHandler = options.handler ?? ((event, context) => approvalApiHandler(event, context));
  const server = createServer((req, res) => {
    const requestId = randomUUID();
    void (async () => {
      const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const match = ROUTE.exec(pathname);
      if (!match) return jsonError(res, 404, 'NOT_FOUND', `no route for ${req.method} ${pathname}`, requestId);
      let approvalId: string;
      try {
        approvalId = decodeURIComponent(match[1]);
      } catch {
        return jsonError(res, 400, 'VALIDATION_ERROR', 'the approval id in the path is not valid URL encoding', requestId);
      }
      const body = await readBody(req);
      if (!body) {
        res.setHeader('Connection', 'close');
        return jsonError(res, 413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${MAX_READ_BYTES} bytes`, requestId);
      }
      const result = await handle(toProxyEvent(req, body, approvalId, requestId), lambdaContext(requestId));
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
