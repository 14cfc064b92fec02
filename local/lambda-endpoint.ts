import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';

/** A handler the endpoint invokes, by function name. */
export type InvokedHandler = (event: unknown, context: Context) => Promise<unknown>;

/** The largest request payload Lambda accepts for a synchronous invocation. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/**
 * Lambda's Invoke operation (synchronous, `RequestResponse`) on 127.0.0.1, for the functions the CLI calls in the
 * stack: `LambdaClient` reaches it through `AWS_ENDPOINT_URL_LAMBDA`. As on AWS, a handler that throws answers 200
 * with `X-Amz-Function-Error: Unhandled` and `{errorType, errorMessage}`; an unknown function is a
 * ResourceNotFoundException. Handlers run in this process, which owns the services' processes.
 */
export async function startLambdaEndpoint(options: {
  functions: Record<string, InvokedHandler>;
  region: string;
  accountId: string;
  port?: number;
}): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    void invoke(options, req, res).catch((err: unknown) =>
      answer(res, 500, { message: String(err) }, { 'x-amzn-ErrorType': 'ServiceException' }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function invoke(
  options: { functions: Record<string, InvokedHandler>; region: string; accountId: string },
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const match = req.method === 'POST' ? INVOKE_PATH.exec(new URL(req.url ?? '/', 'http://localhost').pathname) : null;
  if (!match)
    return answer(
      res,
      404,
      { message: `${req.method} ${req.url} is not an operation of this endpoint` },
      error('UnknownOperationException'),
    );
  // The SDK sends a name, a partial ARN or a full ARN; the name is the last part.
  const name = decodeURIComponent(match[1]).split(':').pop() ?? '';
  const handler = Object.hasOwn(options.functions, name) ? options.functions[name] : undefined;
  if (!handler) return answer(res, 404, { Type: 'User', message: `Function not found: ${name}` }, error('ResourceNotFoundException'));
  const type = req.headers['x-amz-invocation-type'] ?? 'RequestResponse';
  if (type !== 'RequestResponse') {
    return answer(
      res,
      400,
      { Type: 'User', message: `only RequestResponse invocations are served, not ${type}` },
      error('InvalidParameterValueException'),
    );
  }
  const body = await readBody(req);
  if (body === undefined)
    return answer(res, 413, { Type: 'User', message: 'the request payload is over 6 MB' }, error('RequestTooLargeException'));
  let event: unknown;
  try {
    event = body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
  } catch {
    return answer(res, 400, { Type: 'User', message: 'Could not parse request body into json' }, error('InvalidRequestContentException'));
  }
  try {
    const result = await handler(event, context(name, options.region, options.accountId));
    answer(res, 200, result ?? null, { 'x-amz-executed-version': '$LATEST' });
  } catch (err) {
    const failure =
      err instanceof Error ? { errorType: err.name, errorMessage: err.message } : { errorType: 'Error', errorMessage: String(err) };
    answer(res, 200, failure, { 'x-amz-executed-version': '$LATEST', 'x-amz-function-error': 'Unhandled' });
  }
}

const error = (type: string) => ({ 'x-amzn-ErrorType': type });

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The Lambda-like context of one invocation, with the function's own 15-minute ceiling as its deadline. */
function context(name: string, region: string, accountId: string): Context {
  const deadline = Date.now() + 900_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${name}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
