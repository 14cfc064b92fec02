import { randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import { logger } from '../functions/lib/logger.js';
import { allowOriginHeaders, PREFLIGHT_STATUS, preflightHeaders } from './gateway-cors.js';
import {
  CreateDeploymentSchema,
  CreateKeySchema,
  GatewayNotFound,
  GatewayState,
  SERVICE_NAME,
  SetStageSchema,
  STAGE_NAME,
} from './gateway-state.js';

/**
 * The local interop gateway: the embedded stand-in for the partner-facing API Gateway REST API.
 *
 * Partner traffic, `ANY /<service>/<stage>/<path>`, is served only when the stage's current deployment declares
 * the route (OpenAPI path template and method), with `x-api-key` checked when the deployment requires one, and is
 * then proxied to the production target. Errors look like API Gateway's: `404 {"message":"Not Found"}` for an
 * undeclared route, including a declared path called with an undeclared method (API Gateway never answers 405),
 * `403 {"message":"Forbidden"}` for a missing or wrong key, `502`/`504` when the target is down or slow (a 404's
 * debug log line lists the routes the stage serves). A deployment carries the contract's base path and the mode
 * API Gateway's import `basepath` would apply (openapi.ts `routePrefix`): partners call
 * `/<service>/<stage><prefix><path>` and the target receives `<prefix><path>`. With `cors`, a preflight `OPTIONS`
 * on a declared path is answered here without a key (gateway-cors.ts).
 *
 * The control plane, the analogue of PutRestApi/CreateDeployment/UpdateStage/CreateApiKey, is a JSON API under
 * `/_admin` on the same loopback-only server; service names start with a letter, so no partner path reaches it.
 * It has no authentication of its own: like everything in embedded mode it trusts the local machine.
 *
 *   GET    /_admin                                   -> { url, services }
 *   GET    /_admin/services/<svc>                    -> { service, stages, deployments, keys (no values) }
 *   DELETE /_admin/services/<svc>                    -> 204; removes deployments and stages, keeps keys
 *   POST   /_admin/services/<svc>/deployments        { routes, targetUrl, apiKeyRequired, stage, basePath?, basePathMode?, cors?,
 *                                                      releaseId?, ... } -> 201 { deploymentId, ... }
 *   GET    /_admin/services/<svc>/deployments/<id>   -> the deployment with its routes
 *   PUT    /_admin/services/<svc>/stages/<stage>     { deploymentId | null } -> { stage, deploymentId, previousDeploymentId, invokeUrl }
 *   POST   /_admin/services/<svc>/keys               { name } -> 201 (200 when it exists) { id, name, createdAt }
 *   GET    /_admin/services/<svc>/keys/<id>          -> { id, name, value, createdAt }
 */

export interface LocalGatewayOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** Keep the state in this JSON file as well as in memory, so it survives a restart. @default memory only */
  stateFile?: string;
  /** How long the target may take to start answering, as API Gateway's 29 s integration timeout. @default 29000 */
  integrationTimeoutMs?: number;
}

export interface LocalGateway {
  /** Partner-facing base URL, e.g. `http://127.0.0.1:4010`. */
  url: string;
  /** Control-plane base URL, `<url>/_admin`: what `LOCAL_GATEWAY_ADMIN_URL` is set to. */
  adminUrl: string;
  port: number;
  close(): Promise<void>;
}

/** Headers that describe one connection, not the message; a proxy must not forward them (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const MAX_ADMIN_BODY_BYTES = 1024 * 1024;

/** Starts the gateway on 127.0.0.1. */
export async function startLocalGateway(opts: LocalGatewayOptions = {}): Promise<LocalGateway> {
  const state = await GatewayState.open(opts.stateFile);
  const integrationTimeoutMs = opts.integrationTimeoutMs ?? 29_000;
  let url = '';

  const server = http.createServer((req, res) => {
    const requestId = randomUUID();
    res.setHeader('x-amzn-requestid', requestId);
    const pathname = (req.url ?? '/').split('?')[0];
    const handler = pathname === '/_admin' || pathname.startsWith('/_admin/') ? handleAdmin : handlePartner;
    handler(req, res, requestId).catch((err: unknown) => {
      // A bug, not a partner error: say so without detail, as API Gateway does, and keep serving.
      logger.error('local gateway request failed', { requestId, method: req.method, url: req.url, error: err as Error });
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal server error' });
      else res.destroy();
    });
  });

  async function handlePartner(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [rawPath, query] = splitQuery(req.url ?? '/');
    const rawSegments = rawPath.split('/').slice(1);
    const [service, stage, ...rest] = rawSegments;
    if (!service || !stage) return notFound(res);
    // One trailing slash is not a different resource.
    const restRaw = rest.length > 0 && rest[rest.length - 1] === '' ? rest.slice(0, -1) : rest;
    const segments = decodeSegments(restRaw);
    // Dot segments could be resolved by the target into a route the contract does not declare.
    if (!segments || segments.some((s) => s === '.' || s === '..' || s === '')) return notFound(res);

    const method = req.method ?? 'GET';
    const match = state.match(service, stage, method, segments);
    if (!match.ok) {
      if (match.reason === 'no-stage') {
        logger.debug('local gateway: no such stage', { api: service, stage, method, path: rawPath });
        return notFound(res);
      }
      const { cors } = match.deployment;
      const origin = req.headers.origin;
      if (method === 'OPTIONS' && cors && match.methods.length > 0) {
        res.writeHead(PREFLIGHT_STATUS, preflightHeaders(cors, origin, match.methods)).end();
        return;
      }
      // The body mimics API Gateway's; the routes the stage serves go to the log, where a failed validation is read.
      logger.debug('local gateway: no route', {
        api: service,
        stage,
        method,
        path: rawPath,
        routes: GatewayState.routesOf(match.deployment),
      });
      return notFound(res, allowOriginHeaders(cors, origin));
    }
    const cors = allowOriginHeaders(match.deployment.cors, req.headers.origin);
    if (match.deployment.apiKeyRequired) {
      const key = req.headers['x-api-key'];
      if (typeof key !== 'string' || !state.keyAccepted(service, key)) {
        return sendJson(res, 403, { message: 'Forbidden' }, 'ForbiddenException', cors);
      }
    }
    // The part of the base path partners keep is the part the service receives (openapi.ts routePrefix), so the
    // path after the stage goes to the target as it came.
    proxy(req, res, match.deployment.targetUrl, `/${restRaw.join('/')}`, query, cors);
  }

  function proxy(
    req: IncomingMessage,
    res: ServerResponse,
    targetUrl: string,
    restPath: string,
    query: string,
    cors: Record<string, string>,
  ): void {
    const target = new URL(targetUrl);
    const basePath = target.pathname.replace(/\/+$/, '');
    const headers = forwardHeaders(req.headers, ['x-api-key', 'host']);
    headers['x-forwarded-for'] = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
    headers['x-forwarded-host'] = req.headers.host ?? '';
    headers['x-forwarded-proto'] = 'http';

    const upstream = (target.protocol === 'https:' ? https : http).request({
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      method: req.method,
      path: `${basePath}${restPath}${query}`,
      headers,
    });
    const timer = setTimeout(() => {
      upstream.destroy(Object.assign(new Error('integration timeout'), { code: 'INTEGRATION_TIMEOUT' }));
    }, integrationTimeoutMs);

    upstream.on('response', (upRes) => {
      clearTimeout(timer);
      const headers = forwardHeaders(upRes.headers, []);
      // A service that answers CORS itself keeps its own answer.
      if (!headers['access-control-allow-origin']) Object.assign(headers, cors);
      res.writeHead(upRes.statusCode ?? 502, headers);
      upRes.pipe(res);
      upRes.on('error', () => res.destroy());
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (res.headersSent) return void res.destroy();
      if (err.code === 'INTEGRATION_TIMEOUT') sendJson(res, 504, { message: 'Endpoint request timed out' }, undefined, cors);
      else sendJson(res, 502, { message: 'Bad Gateway' }, undefined, cors);
    });
    // A partner that hangs up must not leave the target request open.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const method = req.method ?? 'GET';
    const fail = (status: number, code: string, message: string, details?: Record<string, string>) =>
      sendJson(res, status, { error: { code, message, ...(details ? { details } : {}), requestId } });
    const notAllowed = () => fail(405, 'METHOD_NOT_ALLOWED', `${method} is not supported on ${req.url}`);
    const parts = decodeSegments(
      splitQuery(req.url ?? '/')[0]
        .split('/')
        .slice(2),
    );
    if (!parts) return fail(400, 'VALIDATION_ERROR', `${req.url} is not a valid percent-encoded path`);

    if (parts.length === 0 || (parts.length === 1 && parts[0] === '')) {
      return method === 'GET' ? sendJson(res, 200, { url, services: state.services() }) : notAllowed();
    }
    if (parts[0] !== 'services' || !parts[1]) return fail(404, 'NOT_FOUND', `no admin resource ${req.url}`);
    const service = parts[1];
    if (!SERVICE_NAME.test(service)) {
      return fail(400, 'VALIDATION_ERROR', `invalid service name "${service}"`, {
        service: 'expected 2-40 lowercase letters, digits or dashes, starting with a letter',
      });
    }
    const body = async <S extends z.ZodType>(schema: S): Promise<z.infer<S> | undefined> => {
      let raw: unknown;
      try {
        raw = JSON.parse((await readBody(req, MAX_ADMIN_BODY_BYTES)) || 'null');
      } catch (err) {
        fail(400, 'VALIDATION_ERROR', `request body is not JSON: ${(err as Error).message}`);
        return undefined;
      }
      const parsed = schema.safeParse(raw);
      if (parsed.success) return parsed.data;
      const details = Object.fromEntries(parsed.error.issues.map((i) => [i.path.join('.') || 'body', i.message]));
      fail(400, 'VALIDATION_ERROR', 'request body is invalid', details);
      return undefined;
    };

    try {
      const [, , resource, id, extra] = parts;
      if (extra !== undefined) return fail(404, 'NOT_FOUND', `no admin resource ${req.url}`);
      if (resource === undefined) {
        if (method === 'GET') return sendJson(res, 200, state.describe(service));
        if (method === 'DELETE') {
          if (!(await state.deleteApi(service))) return fail(404, 'NOT_FOUND', `the gateway has no API for ${service}`);
          res.writeHead(204).end();
          return;
        }
        return notAllowed();
      }
      if (resource === 'deployments' && id === undefined) {
        if (method !== 'POST') return notAllowed();
        const input = await body(CreateDeploymentSchema);
        if (!input) return;
        const deployment = await state.createDeployment(service, input);
        return sendJson(res, 201, { deploymentId: deployment.id, ...deployment });
      }
      if (resource === 'deployments') {
        return method === 'GET' ? sendJson(res, 200, state.deployment(service, id)) : notAllowed();
      }
      if (resource === 'stages' && id !== undefined) {
        if (method !== 'PUT') return notAllowed();
        if (!STAGE_NAME.test(id))
          return fail(400, 'VALIDATION_ERROR', `invalid stage name "${id}"`, {
            stage: 'expected 1-64 letters, digits, dashes or underscores',
          });
        const input = await body(SetStageSchema);
        if (!input) return;
        const previousDeploymentId = await state.setStage(service, id, input.deploymentId);
        return sendJson(res, 200, {
          stage: id,
          deploymentId: input.deploymentId,
          previousDeploymentId: previousDeploymentId ?? null,
          invokeUrl: `${url}/${service}/${id}`,
        });
      }
      if (resource === 'keys' && id === undefined) {
        if (method !== 'POST') return notAllowed();
        const input = await body(CreateKeySchema);
        if (!input) return;
        const { key, created } = await state.ensureKey(service, input.name);
        return sendJson(res, created ? 201 : 200, { id: key.id, name: key.name, createdAt: key.createdAt });
      }
      if (resource === 'keys') {
        return method === 'GET' ? sendJson(res, 200, state.key(service, id)) : notAllowed();
      }
      return fail(404, 'NOT_FOUND', `no admin resource ${req.url}`);
    } catch (err) {
      if (err instanceof GatewayNotFound) return fail(404, 'NOT_FOUND', err.message);
      if (err instanceof BodyTooLarge) return fail(413, 'PAYLOAD_TOO_LARGE', err.message);
      throw err;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  url = `http://127.0.0.1:${port}`;
  return {
    url,
    adminUrl: `${url}/_admin`,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections from partners would otherwise hold close() open.
        server.closeAllConnections();
      });
      await state.flushed();
    },
  };
}

function notFound(res: ServerResponse, extraHeaders: Record<string, string> = {}): void {
  sendJson(res, 404, { message: 'Not Found' }, 'NotFoundException', extraHeaders);
}

function sendJson(res: ServerResponse, status: number, body: unknown, errorType?: string, extraHeaders: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    ...extraHeaders,
  });
  res.end(text);
}

function splitQuery(url: string): [string, string] {
  const i = url.indexOf('?');
  return i === -1 ? [url, ''] : [url.slice(0, i), url.slice(i)];
}

function decodeSegments(raw: string[]): string[] | undefined {
  try {
    return raw.map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

/** Copies headers minus hop-by-hop ones (and those the Connection header names) and `drop`. */
function forwardHeaders(headers: IncomingHttpHeaders, drop: string[]): Record<string, string | string[]> {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.includes(name) || drop.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge(`request body is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
