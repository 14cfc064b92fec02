import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SfnServiceError } from './errors.js';

/** Answers one operation: the parsed JSON body in, the JSON body out; an `SfnServiceError` becomes an AWS error. */
export type OperationHandler = (operation: string, body: unknown) => Promise<unknown>;

export interface JsonProtocolServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const CONTENT_TYPE = 'application/x-amz-json-1.0';
// AWS caps request payloads well below this; the bound only protects the process.
const MAX_BODY_BYTES = 2 * 1024 * 1024;

/**
 * Serves the AWS JSON 1.0 protocol on 127.0.0.1: `POST /` with `X-Amz-Target: <targetPrefix>.<Operation>` and a JSON
 * body. Success is 200 with a JSON body; failure is HTTP 400 (500 for a bug) with `{"__type", "message"}` and the
 * same type in `x-amzn-ErrorType`, which is how both the AWS SDK v3 and the AWS CLI read the error code.
 * Signatures are not checked: any credentials work.
 */
export async function startJsonProtocolServer(targetPrefix: string, handle: OperationHandler, port = 0): Promise<JsonProtocolServer> {
  const server = createServer((req, res) => {
    void serve(targetPrefix, handle, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    close: () =>
      new Promise<void>((resolve) => {
        // SDK clients keep connections alive; without this close() waits for them to time out.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function serve(targetPrefix: string, handle: OperationHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  try {
    const body = await readBody(req);
    const target = req.headers['x-amz-target'];
    const operation = typeof target === 'string' && target.startsWith(`${targetPrefix}.`) ? target.slice(targetPrefix.length + 1) : '';
    if (req.method !== 'POST' || !operation) {
      throw new SfnServiceError(
        'UnknownOperationException',
        `expected POST with the header X-Amz-Target: ${targetPrefix}.<Operation>, got ${req.method} with ${JSON.stringify(target ?? null)}`,
      );
    }
    let parsed: unknown = {};
    if (body.length > 0) {
      try {
        parsed = JSON.parse(body);
      } catch (error) {
        throw new SfnServiceError('SerializationException', `request body is not valid JSON: ${(error as Error).message}`);
      }
    }
    const result = await handle(operation, parsed);
    send(res, 200, requestId, result ?? {});
  } catch (error) {
    if (error instanceof SfnServiceError) {
      send(res, error.statusCode, requestId, { __type: error.type, message: error.message }, error.type);
      return;
    }
    // A bug in the endpoint: the detail goes to the log with the request id, the client gets a generic message.
    console.error(`local Step Functions endpoint: request ${requestId} failed`, error);
    send(res, 500, requestId, { __type: 'InternalFailure', message: `internal error, request id ${requestId}` }, 'InternalFailure');
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the bound the rest is read and dropped, so the client still gets its 400 answer.
      if (size > MAX_BODY_BYTES) reject(new SfnServiceError('ValidationException', `request body exceeds ${MAX_BODY_BYTES} bytes`));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, requestId: string, body: unknown, errorType?: string): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'Content-Type': CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': requestId,
  };
  if (errorType) headers['x-amzn-ErrorType'] = errorType;
  res.writeHead(status, headers);
  res.end(text);
}
