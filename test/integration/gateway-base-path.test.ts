import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { logger } from '../../functions/lib/logger.js';
import { startLocalGateway, type LocalGateway } from '../../local/gateway.js';
import { LocalGatewayProvisioner } from '../../functions/lib/interop/local-gateway-provisioner.js';
import type { InteropConfig } from '../../functions/lib/catalog.js';
import { interopConfig } from '../helpers/catalog-parts.js';

/**
 * The contract's base path and CORS on the local gateway, through its provisioner, against a real HTTP target that
 * records the path of every request it receives.
 */

let gateway: LocalGateway;
let target: http.Server;
let targetUrl: string;
const received: string[] = [];
let provisioner: LocalGatewayProvisioner;

/** A service whose every route lives under `/api`, as its contract says. */
const spec = (servers: unknown[] = [{ url: '/api' }]) => ({
  openapi: '3.0.3',
  info: { title: 'Shop', version: '1.0.0' },
  servers,
  paths: {
    '/': { get: { responses: { '200': { description: 'index' } } } },
    '/items': {
      get: { responses: { '200': { description: 'list' } } },
      post: { responses: { '201': { description: 'made' } } },
    },
    '/items/{id}': {
      get: {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'one' } },
      },
    },
  },
});

const interop = interopConfig;

async function provision(service: string, config: InteropConfig, document = spec()): Promise<string> {
  const out = await provisioner.provision({
    service,
    releaseId: `${service}-1.0.0-a`,
    version: '1.0.0',
    spec: document,
    targetUrl,
    config,
  });
  return out.baseUrl;
}

/** Calls the gateway and returns the status, the headers and the path the target received (if it was called). */
async function call(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; targetPath?: string; body: string }> {
  const before = received.length;
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body, ...(received.length > before ? { targetPath: received.at(-1) } : {}) };
}

beforeAll(async () => {
  target = http.createServer((req, res) => {
    received.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url }));
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  gateway = await startLocalGateway();
  provisioner = new LocalGatewayProvisioner({ adminUrl: gateway.adminUrl });
});

afterAll(async () => {
  await gateway?.close();
  await new Promise<void>((resolve) => (target ? target.close(() => resolve()) : resolve()));
});

describe('the contract base path on the local gateway', () => {
  it('prepend (the default): partners call <stage>/api/..., the service receives /api/...', async () => {
    const base = await provision('shop-prepend', interop());
    expect(base).toBe(`${gateway.url}/shop-prepend/v1`);
    expect(await call(`${base}/api/items?page=2`)).toMatchObject({ status: 200, targetPath: '/api/items?page=2' });
    expect(await call(`${base}/api/items/42`)).toMatchObject({ status: 200, targetPath: '/api/items/42' });
    expect(await call(`${base}/api`)).toMatchObject({ status: 200, targetPath: '/api' });
    expect(await call(`${base}/api/items`, { method: 'POST', body: '{}' })).toMatchObject({ status: 200, targetPath: '/api/items' });
    for (const wrong of [`${base}/items`, `${base}/items/42`, `${base}/`, `${base}/apix/items`, `${base}/v2/api/items`]) {
      expect({ wrong, ...(await call(wrong)) }).toMatchObject({ wrong, status: 404, body: '{"message":"Not Found"}' });
      expect((await call(wrong)).targetPath).toBeUndefined();
    }
    const deployment = (await (await fetch(`${gateway.adminUrl}/services/shop-prepend`)).json()) as { currentDeploymentId: string };
    const stored = (await (
      await fetch(`${gateway.adminUrl}/services/shop-prepend/deployments/${deployment.currentDeploymentId}`)
    ).json()) as Record<string, unknown>;
    expect(stored).toMatchObject({ basePath: '/api', basePathMode: 'prepend' });
  });

  it("logs, at debug, the routes the stage serves when it answers 404 (the body stays API Gateway's)", async () => {
    const base = await provision('shop-logged', interop());
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const level = logger.getLevelName();
    logger.setLogLevel('DEBUG');
    try {
      expect((await call(`${base}/items`)).body).toBe('{"message":"Not Found"}');
    } finally {
      logger.setLogLevel(level);
      write.mockRestore();
    }
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'local gateway: no route');
    expect(logged).toMatchObject({
      api: 'shop-logged',
      stage: 'v1',
      method: 'GET',
      path: '/shop-logged/v1/items',
      routes: ['GET /api', 'GET /api/items', 'POST /api/items', 'GET /api/items/{id}'],
    });
  });

  it('ignore: partners call <stage>/..., the service receives /... without the base path', async () => {
    const base = await provision('shop-ignore', interop({ basePath: 'ignore' }));
    expect(await call(`${base}/items`)).toMatchObject({ status: 200, targetPath: '/items' });
    expect(await call(`${base}/items/7`)).toMatchObject({ status: 200, targetPath: '/items/7' });
    expect(await call(`${base}`)).toMatchObject({ status: 200, targetPath: '/' });
    const wrong = await call(`${base}/api/items`);
    expect(wrong).toMatchObject({ status: 404, body: '{"message":"Not Found"}' });
    expect(wrong.targetPath).toBeUndefined();
  });

  it('split: the first segment of the base path is taken as the stage, the rest stays on both sides', async () => {
    const twoLevels = spec([
      { url: 'https://{host}/{root}/v2', variables: { host: { default: 'shop.example.com' }, root: { default: 'api' } } },
    ]);
    const base = await provision('shop-split', interop({ basePath: 'split' }), twoLevels);
    expect(await call(`${base}/v2/items/9`)).toMatchObject({ status: 200, targetPath: '/v2/items/9' });
    expect(await call(`${base}/v2`)).toMatchObject({ status: 200, targetPath: '/v2' });
    for (const wrong of [`${base}/api/v2/items/9`, `${base}/items/9`]) {
      const res = await call(wrong);
      expect({ wrong, status: res.status, called: res.targetPath }).toEqual({ wrong, status: 404, called: undefined });
    }
    // A one-segment base path is all stage: split then serves what ignore serves.
    const oneLevel = await provision('shop-split-one', interop({ basePath: 'split' }));
    expect(await call(`${oneLevel}/items`)).toMatchObject({ status: 200, targetPath: '/items' });
    expect((await call(`${oneLevel}/api/items`)).status).toBe(404);
  });

  it('a Swagger 2.0 basePath is the base path too', async () => {
    const swagger = {
      swagger: '2.0',
      info: { title: 'Old shop', version: '1.0.0' },
      basePath: '/api/',
      paths: { '/items': { get: { responses: { '200': { description: 'list' } } } } },
    };
    const base = await provision('shop-swagger', interop(), swagger as never);
    expect(await call(`${base}/api/items`)).toMatchObject({ status: 200, targetPath: '/api/items' });
    expect((await call(`${base}/items`)).status).toBe(404);
  });
});

describe('CORS on the local gateway', () => {
  const cors = {
    allowOrigins: ['https://app.example.com', 'https://admin.example.com'],
    allowHeaders: ['content-type', 'x-api-key'],
    maxAgeSeconds: 300,
  };

  it('answers a preflight on a declared path without a key, with the path declared methods', async () => {
    const base = await provision('shop-cors', interop({ cors, apiKeyRequired: true }));
    const preflight = await call(`${base}/api/items`, {
      method: 'OPTIONS',
      headers: { origin: 'https://admin.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.targetPath).toBeUndefined();
    expect(Object.fromEntries([...preflight.headers].filter(([k]) => k.startsWith('access-control') || k === 'vary'))).toEqual({
      'access-control-allow-origin': 'https://admin.example.com',
      'access-control-allow-methods': 'GET,POST,OPTIONS',
      'access-control-allow-headers': 'content-type,x-api-key',
      'access-control-max-age': '300',
      vary: 'Origin',
    });
    // An origin the catalog does not list gets no Allow-Origin: the browser refuses.
    const stranger = await call(`${base}/api/items/1`, { method: 'OPTIONS', headers: { origin: 'https://evil.example.com' } });
    expect(stranger.status).toBe(204);
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
    expect(stranger.headers.get('access-control-allow-methods')).toBe('GET,OPTIONS');
    // Undeclared paths get no preflight, and the key is still required on the real call (with CORS on the 403).
    expect((await call(`${base}/api/nothing`, { method: 'OPTIONS' })).status).toBe(404);
    const forbidden = await call(`${base}/api/items`, { headers: { origin: 'https://app.example.com' } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  });

  it('adds Access-Control-Allow-Origin to proxied responses, * when any origin is allowed', async () => {
    const base = await provision('shop-cors-any', interop({ cors: { ...cors, allowOrigins: ['*'] } }));
    const res = await call(`${base}/api/items`, { headers: { origin: 'https://app.example.com' } });
    expect(res).toMatchObject({ status: 200, targetPath: '/api/items' });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const preflight = await call(`${base}/api`, { method: 'OPTIONS', headers: { origin: 'https://x.example' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET,OPTIONS');
  });

  it('without interop.cors, an OPTIONS call is an undeclared route like any other', async () => {
    const base = await provision('shop-no-cors', interop());
    const res = await call(`${base}/api/items`, { method: 'OPTIONS', headers: { origin: 'https://app.example.com' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(
      (await call(`${base}/api/items`, { headers: { origin: 'https://app.example.com' } })).headers.get('access-control-allow-origin'),
    ).toBeNull();
  });
});
