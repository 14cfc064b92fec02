import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalGateway, type LocalGateway } from '../../local/gateway.js';
import { ProcessSupervisor } from '../../functions/lib/deploy/process-supervisor.js';
import { LocalGatewayProvisioner, VALIDATION_KEY_NAME } from '../../functions/lib/interop/local-gateway-provisioner.js';
import { provisionerFromConfig } from '../../functions/lib/interop/index.js';
import { freeLoopbackPort } from '../../functions/lib/deploy/local-process.js';
import { parseOpenApi } from '../../functions/lib/openapi.js';
import { resetConfig } from '../../functions/lib/config.js';
import { InteropProvisioningFailedError, NotFoundError, RollbackFailedError } from '../../functions/lib/errors.js';
import type { InteropDeployment, InteropRequest } from '../../functions/lib/interop/interop-provisioner.js';
import { interopConfig } from '../helpers/catalog-parts.js';

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));

let dir: string;
let gateway: LocalGateway;
let provisioner: LocalGatewayProvisioner;
const supervisor = new ProcessSupervisor();
let v1Url: string;
let v2Url: string;
let specV1: Record<string, unknown>;
let specV2: Record<string, unknown>;

const interop = interopConfig;

const request = (
  service: string,
  releaseId: string,
  spec: Record<string, unknown>,
  targetUrl: string,
  config = interop(),
): InteropRequest => ({
  service,
  releaseId,
  version: releaseId.split('-')[1] ?? '1.0.0',
  spec,
  targetUrl,
  config,
});

/** Starts a fixture service through the supervisor and waits (bounded) until it answers. */
async function startService(name: string, version: string): Promise<string> {
  const port = await freeLoopbackPort();
  await supervisor.start({
    command: ['node', here(`../fixtures/services/${name}`)],
    cwd: dir,
    port,
    version,
    logFile: path.join(dir, name, 'process.log'),
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return url;
    if (Date.now() > deadline) throw new Error(`${name} did not answer within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

async function admin(pathname: string): Promise<Record<string, unknown>> {
  return (await call(`${gateway.adminUrl}${pathname}`)).body;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'launchway-gateway-'));
  gateway = await startLocalGateway();
  provisioner = new LocalGatewayProvisioner({ adminUrl: gateway.adminUrl });
  [v1Url, v2Url] = await Promise.all([startService('greeter-v1.mjs', '1.0.0'), startService('greeter-v2.mjs', '2.0.0')]);
  specV1 = (await parseOpenApi(await readFile(here('../fixtures/openapi/greeter-v1.yaml'), 'utf8'))).document;
  specV2 = (await parseOpenApi(await readFile(here('../fixtures/openapi/greeter-v2.json'), 'utf8'))).document;
});

afterAll(async () => {
  await gateway?.close();
  await supervisor.stopAll(1_000);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('local gateway and its provisioner', () => {
  let v1DeploymentId: string;

  it('publishes a contract: declared routes are proxied with method, path, query, body and headers', async () => {
    const out = await provisioner.provision(request('greeter', 'greeter-1.0.0-a', specV1, v1Url));
    v1DeploymentId = out.deploymentId;
    expect(out).toEqual({ deploymentId: expect.any(String), baseUrl: `${gateway.url}/greeter/v1`, routeCount: 3 });

    const get = await call(`${out.baseUrl}/greetings/ada%20lovelace?lang=en&lang2=fr`, {
      headers: { 'x-trace': 'abc', 'x-api-key': 'not-for-the-target' },
    });
    expect(get.status).toBe(200);
    expect(get.body).toMatchObject({ greeting: 'Hello, ada lovelace!', version: '1', method: 'GET', query: { lang: 'en', lang2: 'fr' } });
    const seen = get.body.headers as Record<string, string>;
    expect(seen['x-trace']).toBe('abc');
    expect(seen['x-api-key']).toBeUndefined();
    expect(seen['x-forwarded-for']).toContain('127.0.0.1');
    expect(get.headers.get('x-service-version')).toBe('1');
    expect(get.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);

    const post = await call(`${out.baseUrl}/greetings/bob`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"mood":"sunny"}',
    });
    expect(post.body).toMatchObject({ method: 'POST', body: '{"mood":"sunny"}', version: '1' });
  });

  it('answers 404 Not Found, as API Gateway does, for anything the contract does not declare', async () => {
    const base = `${gateway.url}/greeter/v1`;
    for (const [method, url] of [
      ['GET', `${base}/version`], // only v2 declares it, and the v1 target would answer 404 anyway
      ['DELETE', `${base}/greetings/ada`], // declared path, undeclared method: 404, never 405
      ['GET', `${base}/greetings`],
      ['GET', `${base}/greetings/a/b`],
      ['GET', `${base}/greetings/..`],
      ['GET', `${gateway.url}/greeter/v9/health`],
      ['GET', `${gateway.url}/nobody/v1/health`],
      ['GET', `${gateway.url}/`],
    ] as const) {
      const res = await call(url, { method });
      expect({ method, url, status: res.status, body: res.body }).toEqual({ method, url, status: 404, body: { message: 'Not Found' } });
    }
  });

  it('moves the stage to a new deployment and remembers the previous one', async () => {
    const out = await provisioner.provision(request('greeter', 'greeter-2.0.0-b', specV2, v2Url));
    expect(out.previousDeploymentId).toBe(v1DeploymentId);
    expect(out.routeCount).toBe(3);
    expect((await call(`${out.baseUrl}/version`)).body).toMatchObject({ version: '2', release: '2.0.0' });
    expect((await call(`${out.baseUrl}/greetings/ada`)).body).toMatchObject({ version: '2' });
    // greeter-v2.json declares no POST on /greetings/{name}.
    expect((await call(`${out.baseUrl}/greetings/ada`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect(await admin('/services/greeter')).toMatchObject({
      stage: 'v1',
      currentDeploymentId: out.deploymentId,
      stages: { v1: out.deploymentId },
    });
  });

  it('keeps the previous deployment when the same release is provisioned again (a retried step)', async () => {
    const again = await provisioner.provision(request('greeter', 'greeter-2.0.0-b', specV2, v2Url));
    expect(again.previousDeploymentId).toBe(v1DeploymentId);
  });

  it('rolls back to the previous route table and target', async () => {
    await provisioner.rollback('greeter', v1DeploymentId);
    const base = `${gateway.url}/greeter/v1`;
    expect(await call(`${base}/version`)).toMatchObject({ status: 404, body: { message: 'Not Found' } });
    expect((await call(`${base}/greetings/ada`)).body).toMatchObject({ version: '1' });
    expect(await admin('/services/greeter')).toMatchObject({
      currentDeploymentId: v1DeploymentId,
      routes: [
        { method: 'GET', path: '/health' },
        { method: 'GET', path: '/greetings/{name}' },
        { method: 'POST', path: '/greetings/{name}' },
      ],
    });
  });

  it('removes the API on a rollback with no previous deployment', async () => {
    const out = await provisioner.provision(request('newcomer', 'newcomer-1.0.0-c', specV1, v1Url));
    expect((await call(`${out.baseUrl}/health`)).status).toBe(200);
    await provisioner.rollback('newcomer', undefined);
    expect((await call(`${out.baseUrl}/health`)).status).toBe(404);
    expect((await call(`${gateway.adminUrl}/services/newcomer`)).status).toBe(404);
  });

  it('refuses a rollback to a deployment the gateway does not have', async () => {
    await expect(provisioner.rollback('greeter', 'nosuchdeploy')).rejects.toBeInstanceOf(RollbackFailedError);
  });

  it('requires a valid x-api-key when the catalog says so: 403 Forbidden without or with a wrong key', async () => {
    const config = interop({ apiKeyRequired: true, apiKeys: ['acme', 'globex'], stage: 'prod' });
    const out = await provisioner.provision(request('partner-api', 'partner-api-1.0.0-d', specV1, v1Url, config));
    expect(out.baseUrl).toBe(`${gateway.url}/partner-api/prod`);
    expect(out.validationKeyId).toEqual(expect.any(String));
    const url = `${out.baseUrl}/greetings/zoe`;

    expect(await call(url)).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
    expect(await call(url, { headers: { 'x-api-key': 'wrong' } })).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
    // The route check comes first, as on API Gateway: an undeclared route is 404 even without a key.
    expect((await call(`${out.baseUrl}/version`)).status).toBe(404);

    const validationKey = await provisioner.apiKeyValue('partner-api', out.validationKeyId!);
    expect(validationKey.length).toBeGreaterThanOrEqual(40);
    const ok = await call(url, { headers: { 'x-api-key': validationKey } });
    expect(ok.status).toBe(200);
    expect((ok.body.headers as Record<string, string>)['x-api-key']).toBeUndefined();

    const described = (await admin('/services/partner-api')) as { keys: { id: string; name: string }[] };
    expect(described.keys.map((k) => k.name).sort()).toEqual(['acme', 'globex', VALIDATION_KEY_NAME]);
    expect(JSON.stringify(described)).not.toContain(validationKey);
    const acme = described.keys.find((k) => k.name === 'acme')!;
    expect((await call(url, { headers: { 'x-api-key': await provisioner.apiKeyValue('partner-api', acme.id) } })).status).toBe(200);

    // Keys are made once per name: a second release keeps the values partners hold.
    const next = await provisioner.provision(request('partner-api', 'partner-api-1.1.0-e', specV1, v1Url, config));
    expect(next.validationKeyId).toBe(out.validationKeyId);
    expect(await provisioner.apiKeyValue('partner-api', next.validationKeyId!)).toBe(validationKey);
  });

  it('reports an unknown key id as NotFoundError', async () => {
    await expect(provisioner.apiKeyValue('partner-api', 'nokey')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('answers 502 when the target is down', async () => {
    const closedPort = await freeLoopbackPort();
    const out = await provisioner.provision(request('downstream', 'downstream-1.0.0-f', specV1, `http://127.0.0.1:${closedPort}`));
    expect(await call(`${out.baseUrl}/health`)).toMatchObject({ status: 502, body: { message: 'Bad Gateway' } });
  });

  it('fails provisioning with InteropProvisioningFailed for a contract the gateway cannot publish', async () => {
    const spec = {
      openapi: '3.0.3',
      info: { title: 't', version: '1' },
      paths: { '/files/{name}.json': { get: { responses: { '200': { description: 'ok' } } } } },
    };
    const err = await provisioner.provision(request('oddpaths', 'oddpaths-1.0.0-g', spec, v1Url)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InteropProvisioningFailedError);
    expect((err as Error).message).toContain('routes.0.path: "/files/{name}.json": segment "{name}.json" mixes text and a parameter');
    expect((await call(`${gateway.adminUrl}/services/oddpaths`)).status).toBe(404);
  });

  it('fails provisioning with a clear message when the gateway is not running', async () => {
    const nowhere = new LocalGatewayProvisioner({ adminUrl: `http://127.0.0.1:${await freeLoopbackPort()}/_admin` });
    await expect(nowhere.provision(request('greeter', 'greeter-3.0.0-h', specV1, v1Url))).rejects.toThrow(/not reachable \(ECONNREFUSED\)/);
  });

  it('is what provisionerFromConfig builds from LOCAL_GATEWAY_ADMIN_URL', async () => {
    process.env.RELEASES_TABLE ??= 'unused';
    process.env.ARTIFACTS_BUCKET ??= 'unused';
    process.env.LOCAL_GATEWAY_ADMIN_URL = gateway.adminUrl;
    resetConfig();
    try {
      const fromConfig = provisionerFromConfig();
      expect(fromConfig).toBeInstanceOf(LocalGatewayProvisioner);
      const out = await fromConfig.provision(request('cfg', 'cfg-1.0.0-i', specV1, v1Url, interop({ apiKeyRequired: true })));
      expect(out.baseUrl).toBe(`${gateway.url}/cfg/v1`);
      expect(await fromConfig.apiKeyValue('cfg', out.validationKeyId!)).toBe(await provisioner.apiKeyValue('cfg', out.validationKeyId!));
    } finally {
      delete process.env.LOCAL_GATEWAY_ADMIN_URL;
      resetConfig();
    }
  });
});

describe('local gateway state file', () => {
  it('keeps deployments, stages and keys across a restart', async () => {
    const stateFile = path.join(dir, 'state', 'gateway.json');
    const first = await startLocalGateway({ stateFile });
    let out: InteropDeployment;
    try {
      out = await new LocalGatewayProvisioner({ adminUrl: first.adminUrl }).provision(
        request('durable', 'durable-1.0.0-j', specV1, v1Url, interop({ apiKeyRequired: true })),
      );
    } finally {
      await first.close();
    }
    expect((await stat(stateFile)).mode & 0o777).toBe(0o600);

    const second = await startLocalGateway({ stateFile });
    try {
      const again = new LocalGatewayProvisioner({ adminUrl: second.adminUrl });
      const key = await again.apiKeyValue('durable', out.validationKeyId!);
      const res = await call(`${second.url}/durable/v1/greetings/kim`, { headers: { 'x-api-key': key } });
      expect(res).toMatchObject({ status: 200, body: { version: '1' } });
      expect((await call(`${second.adminUrl}/services/durable`)).body).toMatchObject({ currentDeploymentId: out.deploymentId });
    } finally {
      await second.close();
    }
  });

  it('refuses to start from a file that is not gateway state, naming it', async () => {
    const stateFile = path.join(dir, 'state', 'broken.json');
    await writeFile(stateFile, JSON.stringify({ version: 2 }));
    await expect(startLocalGateway({ stateFile })).rejects.toThrow(`${stateFile} is not local gateway state`);
  });
});
