import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalGateway, type LocalGateway } from '../../local/gateway.js';

/**
 * Route matching and proxy details of the local gateway, driven through its admin API with an in-process target
 * that echoes what it received (and one that never answers, for the integration timeout).
 */

let gateway: LocalGateway;
let echo: http.Server;
let echoUrl: string;
let silent: http.Server;
let silentUrl: string;

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: http.Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function adminCall(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gateway.adminUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Creates a deployment with these routes and points the `live` stage at it. */
async function publish(service: string, routes: { method: string; path: string }[], targetUrl = echoUrl): Promise<string> {
  const created = await adminCall('POST', `/services/${service}/deployments`, { routes, targetUrl, apiKeyRequired: false, stage: 'live' });
  expect(created.status).toBe(201);
  const staged = await adminCall('PUT', `/services/${service}/stages/live`, { deploymentId: created.body.deploymentId });
  expect(staged.status).toBe(200);
  return staged.body.invokeUrl as string;
}

async function send(url: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

beforeAll(async () => {
  echo = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, {
        'content-type': 'application/json',
        connection: 'keep-alive, x-hop',
        'x-hop': 'connection-only',
        'x-kept': 'yes',
      });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bytes: Buffer.concat(chunks).length }));
    });
  });
  echoUrl = await listen(echo);
  // Takes requests and never answers them.
  silent = http.createServer(() => undefined);
  silentUrl = await listen(silent);
  gateway = await startLocalGateway({ integrationTimeoutMs: 300 });
});

afterAll(async () => {
  await gateway?.close();
  await close(echo);
  await close(silent);
});

describe('local gateway routing', () => {
  it('prefers a literal segment over a parameter, then requires the method on that path', async () => {
    const base = await publish('items', [
      { method: 'GET', path: '/items/{id}' },
      { method: 'POST', path: '/items/special' },
      { method: 'GET', path: '/' },
    ]);
    expect((await send(`${base}/items/42`)).body).toMatchObject({ method: 'GET', url: '/items/42' });
    expect((await send(`${base}/items/special`, { method: 'POST', body: 'x' })).body).toMatchObject({
      method: 'POST',
      url: '/items/special',
    });
    // /items/special is declared for POST only; API Gateway does not fall back to /items/{id}.
    expect(await send(`${base}/items/special`)).toMatchObject({ status: 404, body: { message: 'Not Found' } });
    expect((await send(`${base}/`)).body).toMatchObject({ url: '/' });
    expect((await send(base)).body).toMatchObject({ url: '/' });
    // One trailing slash is the same resource.
    expect((await send(`${base}/items/42/`)).status).toBe(200);
  });

  it('matches a greedy {proxy+} parameter across segments and forwards the raw path', async () => {
    const base = await publish('files', [{ method: 'GET', path: '/files/{path+}' }]);
    expect((await send(`${base}/files/a/b%20c/d.txt?x=1`)).body).toMatchObject({ url: '/files/a/b%20c/d.txt?x=1' });
    expect((await send(`${base}/files`)).status).toBe(404);
    expect((await send(`${base}/files/a/../../secret`)).status).toBe(404);
  });

  it('joins the target base path and strips hop-by-hop headers both ways', async () => {
    const base = await publish('prefixed', [{ method: 'PUT', path: '/things/{id}' }], `${echoUrl}/internal/v3/`);
    const big = 'z'.repeat(256 * 1024);
    // fetch refuses to set Connection, so this one goes through node:http.
    const res = await new Promise<{ body: any; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const req = http.request(`${base}/things/7`, {
        method: 'PUT',
        headers: { connection: 'keep-alive, x-drop-me', 'x-drop-me': '1', 'x-keep-me': '2', 'content-length': big.length },
        timeout: 10_000,
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', reject);
      req.on('response', (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ body: JSON.parse(Buffer.concat(chunks).toString()), headers: r.headers }));
      });
      req.end(big);
    });
    expect(res.body).toMatchObject({ method: 'PUT', url: '/internal/v3/things/7', bytes: big.length });
    expect(res.body.headers['x-drop-me']).toBeUndefined();
    expect(res.body.headers['x-keep-me']).toBe('2');
    expect(res.body.headers['x-forwarded-host']).toBe(new URL(gateway.url).host);
    expect(res.headers['x-kept']).toBe('yes');
    expect(res.headers['x-hop']).toBeUndefined();
  });

  it('answers 504 when the target does not answer within the integration timeout', async () => {
    const base = await publish('slow', [{ method: 'GET', path: '/wait' }], silentUrl);
    expect(await send(`${base}/wait`)).toMatchObject({ status: 504, body: { message: 'Endpoint request timed out' } });
  });

  it('removes a stage with a null deployment id', async () => {
    const base = await publish('ephemeral', [{ method: 'GET', path: '/x' }]);
    expect((await send(`${base}/x`)).status).toBe(200);
    const removed = await adminCall('PUT', '/services/ephemeral/stages/live', { deploymentId: null });
    expect(removed.body).toMatchObject({ stage: 'live', deploymentId: null, previousDeploymentId: expect.any(String) });
    expect((await send(`${base}/x`)).status).toBe(404);
  });
});

describe('local gateway admin API', () => {
  it('rejects a bad deployment with field-level details', async () => {
    const res = await adminCall('POST', '/services/bad/deployments', {
      routes: [{ method: 'FETCH', path: '/a/{b+}/c' }],
      targetUrl: 'ftp://example.com',
      apiKeyRequired: 'yes',
      stage: 'has space',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(Object.keys(res.body.error.details).sort()).toEqual([
      'apiKeyRequired',
      'routes.0.method',
      'routes.0.path',
      'stage',
      'targetUrl',
    ]);
    expect(res.body.error.details['routes.0.path']).toBe('"/a/{b+}/c": a greedy {b+} must be the last segment');
    expect(res.body.error.requestId).toEqual(expect.any(String));
  });

  it('rejects a body that is not JSON, an unknown deployment on a stage and a bad service name', async () => {
    expect((await adminCall('POST', '/services/svc/keys', '{nope')).body.error.message).toMatch(/^request body is not JSON/);
    expect(await adminCall('PUT', '/services/svc/stages/live', { deploymentId: 'missing' })).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: 'svc has no deployment missing' } },
    });
    expect((await adminCall('GET', '/services/Bad_Name')).status).toBe(400);
    expect((await adminCall('PATCH', '/services/svc/keys')).status).toBe(405);
    expect((await adminCall('GET', '/services/svc/nothing-here')).status).toBe(404);
  });

  it('creates a key once per name and returns its value only by id', async () => {
    const first = await adminCall('POST', '/services/keyed/keys', { name: 'acme' });
    const second = await adminCall('POST', '/services/keyed/keys', { name: 'acme' });
    expect(first.status).toBe(201);
    expect(second).toMatchObject({ status: 200, body: { id: first.body.id, name: 'acme' } });
    expect(first.body.value).toBeUndefined();
    const full = await adminCall('GET', `/services/keyed/keys/${first.body.id}`);
    expect(full.body).toMatchObject({ id: first.body.id, name: 'acme', value: expect.stringMatching(/^[A-Za-z0-9_-]{40}$/) });
  });

  it('lists the services it serves at the admin root', async () => {
    const root = await adminCall('GET', '');
    expect(root.body.url).toBe(gateway.url);
    expect(root.body.services).toEqual(expect.arrayContaining(['items', 'files']));
  });
});
