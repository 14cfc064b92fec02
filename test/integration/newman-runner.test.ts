import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { s3Client } from '../../functions/lib/clients.js';
import { NotFoundError, ValidationError } from '../../functions/lib/errors.js';
import { runSmokeTests, type RunSmokeTestsOptions } from '../../functions/lib/newman-runner.js';
import { failureText } from '../../functions/lib/pipeline/collection-run.js';
import { greeterFile, startGreeter, type GreeterVersion, type RunningGreeter } from '../../examples/greeter/start-greeter.js';

let emu: TestEmulators;
let artifacts: ArtifactStore;
const greeters: Partial<Record<GreeterVersion, RunningGreeter>> = {};
const servers: Server[] = [];

const SCHEMA = 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json';
const collectionKey = (v: GreeterVersion) => `artifacts/greeter/${v}/collection.postman.json`;

beforeAll(async () => {
  emu = await startTestEmulators();
  artifacts = new ArtifactStore(s3Client(), emu.bucket);
  const versions: GreeterVersion[] = ['1.0.0', '1.1.0', '1.2.0-broken'];
  for (const v of versions) {
    await artifacts.put(collectionKey(v), await readFile(greeterFile(v, 'collection.postman.json')), 'application/json');
  }
  const started = await Promise.all(versions.map((v) => startGreeter(v)));
  versions.forEach((v, i) => {
    greeters[v] = started[i];
  });
});

afterAll(async () => {
  await Promise.all(Object.values(greeters).map((g) => g?.stop()));
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  );
  await emu?.stop();
});

const run = (over: Partial<RunSmokeTestsOptions> & Pick<RunSmokeTestsOptions, 'collectionKey' | 'baseUrl'>) =>
  runSmokeTests({ artifacts, reportPrefix: `reports/test/${Math.random().toString(36).slice(2)}`, timeoutMs: 30_000, ...over });

/** Listens on a free loopback port and remembers the server so afterAll closes it. */
async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('runSmokeTests with the contract check', () => {
  /** A server that answers the 1.0.0 greetings, but its 400s carry `error.code` as a number, not the string the contract says. */
  async function breaksContract(): Promise<string> {
    const port = await listen(
      createServer((req, res) => {
        const name = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
        const ok = /^\p{L}{1,64}$/u.test(name);
        const body = ok ? { message: `Hello, ${name}!`, version: '1.0.0' } : { error: { code: 7, message: 'name must be letters' } };
        res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      }),
    );
    await artifacts.put('artifacts/greeter/1.0.0/openapi.yaml', await readFile(greeterFile('1.0.0', 'openapi.yaml')), 'application/yaml');
    return `http://127.0.0.1:${port}`;
  }

  it('fails on each violation, lists it like an assertion and adds it to both reports', async () => {
    const baseUrl = await breaksContract();
    const result = await run({
      collectionKey: collectionKey('1.0.0'),
      baseUrl,
      variables: { expectedVersion: '1.0.0' },
      contract: { openapiKey: 'artifacts/greeter/1.0.0/openapi.yaml', mode: 'fail' },
    });
    // The collection checks error.code's value ('VALIDATION_ERROR'), so two assertions fail as well as the contract.
    const contract = result.failures.filter((f) => f.test === 'contract');
    expect(contract).toEqual([
      {
        name: 'Name with digits is rejected',
        test: 'contract',
        message: 'GET /greetings/{name} → 400: $.error.code must be string, got number',
      },
      {
        name: 'Name longer than 64 letters is rejected',
        test: 'contract',
        message: 'GET /greetings/{name} → 400: $.error.code must be string, got number',
      },
    ]);
    expect(result).toMatchObject({ contract: { mode: 'fail', checked: 3, conforming: 1, violationCount: 2 } });
    expect(result.failed).toBe(result.failures.length);
    const junit = await artifacts.getText(result.reportKeys.junit);
    expect(junit).toContain('<testsuite name="contract" tests="2" failures="2">');
    expect(junit).toContain('message="GET /greetings/{name} → 400: $.error.code must be string, got number"');
    expect(JSON.parse(await artifacts.getText(result.reportKeys.json)).contract.violationCount).toBe(2);
  });

  it('in warn mode reports the violations without counting them', async () => {
    const baseUrl = await breaksContract();
    const result = await run({
      collectionKey: collectionKey('1.0.0'),
      baseUrl,
      variables: { expectedVersion: '1.0.0' },
      contract: { openapiKey: 'artifacts/greeter/1.0.0/openapi.yaml', mode: 'warn' },
    });
    expect(result.failures.filter((f) => f.test === 'contract')).toEqual([]);
    expect(result.contract).toMatchObject({ mode: 'warn', violationCount: 2 });
    expect(await artifacts.getText(result.reportKeys.junit)).not.toContain('name="contract"');
  });
});

describe('runSmokeTests against the example services', () => {
  it('passes the 1.0.0 collection against 1.0.0 and uploads JSON and JUnit reports', async () => {
    const reportPrefix = 'reports/greeter/r-100/staging/';
    const result = await run({
      collectionKey: collectionKey('1.0.0'),
      baseUrl: greeters['1.0.0']!.url,
      reportPrefix,
      variables: { expectedVersion: '1.0.0' },
    });
    expect(result).toMatchObject({ total: 9, passed: 9, failed: 0, requests: 3, failures: [] });
    expect(result.reportKeys).toEqual({
      json: 'reports/greeter/r-100/staging/newman.json',
      junit: 'reports/greeter/r-100/staging/junit.xml',
    });

    const report = JSON.parse(await artifacts.getText(result.reportKeys.json)) as {
      run: { stats: { assertions: { total: number; failed: number }; requests: { total: number } } };
    };
    expect(report.run.stats.assertions).toMatchObject({ total: 9, failed: 0 });
    expect(report.run.stats.requests.total).toBe(3);
    const junit = await artifacts.getText(result.reportKeys.junit);
    expect(junit.startsWith('<?xml')).toBe(true);
    expect(junit).toMatch(/<testsuites[^>]*>/);
    expect(junit).toContain('greets Ada by name');
    expect(junit).not.toContain('<failure');
  });

  it('passes the 1.1.0 collection against 1.1.0, folders included', async () => {
    const result = await run({
      collectionKey: collectionKey('1.1.0'),
      baseUrl: greeters['1.1.0']!.url,
      variables: { expectedVersion: '1.1.0' },
    });
    expect(result).toMatchObject({ total: 24, passed: 24, failed: 0, requests: 7, failures: [] });
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it('fails the 1.1.0 collection against 1.0.0, listing the failed tests by name', async () => {
    const result = await run({
      collectionKey: collectionKey('1.1.0'),
      baseUrl: greeters['1.0.0']!.url,
      variables: { expectedVersion: '1.0.0' },
    });
    expect(result.requests).toBe(7);
    expect(result.total).toBe(24);
    expect(result.failed).toBe(8);
    expect(result.passed).toBe(16);
    const listed = result.failures.map((f) => `${f.name} › ${f.test}`);
    expect(listed).toContain('Greeting in French › greets Ada in French');
    expect(listed).toContain('Languages are listed › status is 200');
    expect(result.failures.find((f) => f.test === 'greets Ada in French')!.message).toBe("expected 'Hello, Ada!' to equal 'Bonjour, Ada!'");
    // The JUnit report carries the same failures for CI dashboards.
    expect(await artifacts.getText(result.reportKeys.junit)).toContain('<failure');
  });

  it('fails when a different version answers than the one expected', async () => {
    const result = await run({
      collectionKey: collectionKey('1.0.0'),
      baseUrl: greeters['1.0.0']!.url,
      variables: { expectedVersion: '1.0.1' },
    });
    expect(result.failed).toBe(1);
    expect(result.failures).toEqual([
      {
        name: 'Greeting in English',
        test: 'answers from the expected version',
        message: "expected '1.0.0' to equal '1.0.1'",
        method: 'GET',
        path: '/greetings/Ada',
        status: 200,
      },
    ]);
  });

  it('fails the broken 1.2.0 on its wrong greeting only', async () => {
    const result = await run({
      collectionKey: collectionKey('1.2.0-broken'),
      baseUrl: greeters['1.2.0-broken']!.url,
      variables: { expectedVersion: '1.2.0' },
    });
    expect(result.failed).toBe(1);
    expect(result.failures).toEqual([
      {
        name: 'Greeting in English',
        test: 'greets Ada by name',
        message: "expected 'Goodbye, Ada!' to equal 'Hello, Ada!'",
        method: 'GET',
        path: '/greetings/Ada',
        status: 200,
      },
    ]);
  });

  it('passes through a gateway that prefixes the path and requires the API key, and redacts the key', async () => {
    const target = greeters['1.1.0']!;
    const apiKey = 'pk_live_Secret-123';
    const seen: Array<string | undefined> = [];
    // A minimal stand-in for the interop layer: strips /greeter/v1, checks x-api-key, proxies to the service.
    const gateway = createServer((req, res) => {
      seen.push(req.headers['x-api-key'] as string | undefined);
      const prefix = '/greeter/v1';
      if (!req.url?.startsWith(`${prefix}/`)) return void res.writeHead(404).end();
      if (req.headers['x-api-key'] !== apiKey)
        return void res.writeHead(403, { 'content-type': 'application/json' }).end('{"message":"Forbidden"}');
      const upstream = httpRequest(
        { host: '127.0.0.1', port: target.port, path: req.url.slice(prefix.length), method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
    });
    const port = await listen(gateway);

    const result = await run({
      collectionKey: collectionKey('1.1.0'),
      baseUrl: `http://127.0.0.1:${port}/greeter/v1/`,
      apiKey,
      variables: { expectedVersion: '1.1.0' },
    });
    expect(result).toMatchObject({ total: 24, passed: 24, failed: 0, requests: 7 });
    expect(seen).toEqual(Array(7).fill(apiKey));

    const json = await artifacts.getText(result.reportKeys.json);
    const junit = await artifacts.getText(result.reportKeys.junit);
    expect(json).not.toContain(apiKey);
    expect(json).toContain('***');
    expect(junit).not.toContain(apiKey);
  });

  it('fails without the API key when the gateway requires it', async () => {
    const gateway = createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"message":"Forbidden"}');
    });
    const port = await listen(gateway);
    const result = await run({
      collectionKey: collectionKey('1.0.0'),
      baseUrl: `http://127.0.0.1:${port}/greeter/v1`,
      variables: { expectedVersion: '1.0.0' },
    });
    expect(result.passed).toBeLessThan(result.total);
    expect(result.failures[0]).toEqual({
      name: 'Greeting in English',
      test: 'status is 200',
      message: 'expected response to have status code 200 but got 403',
      method: 'GET',
      path: '/greeter/v1/greetings/Ada',
      status: 403,
    });
  });
});

describe('runSmokeTests with variables and secrets', () => {
  it("gives environment variables over the collection's own, names method, path and status of a failure, and masks secrets", async () => {
    const secret = 'tok-Secret-4711';
    const port = await listen(
      createServer((req, res) => {
        // Echoes the token it was sent, and has no /api/notes route.
        const token = req.headers.authorization?.replace('Bearer ', '');
        res.writeHead(req.url === '/api/me' ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
      }),
    );
    const key = 'artifacts/custom/own-variables.json';
    const auth = [{ key: 'authorization', value: 'Bearer {{token}}' }];
    await artifacts.put(
      key,
      JSON.stringify({
        info: { name: 'own variables', schema: SCHEMA },
        variable: [{ key: 'apiUrl', value: 'http://127.0.0.1:9/api' }],
        item: [
          {
            name: 'Who am I',
            request: { method: 'GET', url: '{{apiUrl}}/me', header: auth },
            event: [
              { listen: 'test', script: { exec: ["pm.test('echoes', () => pm.expect(pm.response.json().token).to.equal('other'));"] } },
            ],
          },
          {
            name: 'Create note',
            request: { method: 'POST', url: '{{apiUrl}}/notes?draft=1', header: auth, body: { mode: 'raw', raw: '{}' } },
            event: [{ listen: 'test', script: { exec: ["pm.test('status is 201', () => pm.response.to.have.status(201));"] } }],
          },
        ],
      }),
    );
    const result = await run({
      collectionKey: key,
      baseUrl: `http://127.0.0.1:${port}`,
      variables: { apiUrl: `http://127.0.0.1:${port}/api`, token: secret },
      secrets: [secret],
    });
    expect(result).toMatchObject({ total: 2, failed: 2, requests: 2 });
    expect(failureText(result)).toBe(
      "2 of 2 assertions failed (Who am I (GET /api/me → 200) › echoes: expected '***' to equal 'other'; " +
        'Create note (POST /api/notes → 404) › status is 201: expected response to have status code 201 but got 404)',
    );
    const json = await artifacts.getText(result.reportKeys.json);
    const junit = await artifacts.getText(result.reportKeys.junit);
    expect(junit).toContain('***');
    for (const text of [json, junit, JSON.stringify(result)]) expect(text).not.toContain(secret);
  });

  it('masks a secret sent with Basic auth, and in a cookie the service sets base64-encoded', async () => {
    const password = 'pw-Basic-9931';
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const port = await listen(
      createServer((req, res) => {
        const ok = req.headers.authorization === `Basic ${b64(`svc:${password}`)}`;
        res.writeHead(ok ? 200 : 401, { 'set-cookie': `sid=${b64(`session:${password}`)}; Path=/` }).end();
      }),
    );
    const key = 'artifacts/custom/basic-auth.json';
    await artifacts.put(
      key,
      JSON.stringify({
        info: { name: 'basic auth', schema: SCHEMA },
        item: [
          {
            name: 'Signed in',
            request: {
              method: 'GET',
              url: '{{baseUrl}}/api/me',
              auth: {
                type: 'basic',
                basic: [
                  { key: 'username', value: 'svc' },
                  { key: 'password', value: '{{password}}' },
                ],
              },
            },
            event: [{ listen: 'test', script: { exec: ["pm.test('is 200', () => pm.response.to.have.status(200));"] } }],
          },
        ],
      }),
    );
    const result = await run({ collectionKey: key, baseUrl: `http://127.0.0.1:${port}`, variables: { password }, secrets: [password] });
    expect(result).toMatchObject({ total: 1, failed: 0 });
    const json = await artifacts.getText(result.reportKeys.json);
    for (const leak of [password, b64(`svc:${password}`), b64(`session:${password}`)]) expect(json).not.toContain(leak);
    const headers = (JSON.parse(json) as { run: { executions: { request: { header: { key: string; value: string }[] } }[] } }).run
      .executions[0]!.request.header;
    expect(headers.find((h) => h.key.toLowerCase() === 'authorization')?.value).toBe('Basic ***');
  });
});

describe('runSmokeTests when the target or the collection is not right', () => {
  it('returns request failures, not an exception, when nothing listens on the port', async () => {
    const port = await closedPort();
    const result = await run({
      collectionKey: collectionKey('1.0.0'),
      baseUrl: `http://127.0.0.1:${port}`,
      variables: { expectedVersion: '1.0.0' },
    });
    expect(result.requests).toBe(3);
    expect(result.passed).toBe(0);
    expect(result.failed).toBe(result.total);
    // Three refused requests plus the nine assertions that had no response to check.
    expect(result.total).toBe(12);
    expect(result.failures[0]).toEqual({
      name: 'Greeting in English',
      test: 'request',
      message: `connect ECONNREFUSED 127.0.0.1:${port}`,
      method: 'GET',
      path: '/greetings/Ada',
    });
    expect(result.failures).toHaveLength(10);
    expect(JSON.parse(await artifacts.getText(result.reportKeys.json)).run.stats.requests.failed).toBe(3);
  });

  it('reports a run cut short by the overall timeout, with reports written from what ran', async () => {
    // Each answer takes 1.5 s; the run may take 1 s in all, so Newman stops during the first request.
    const slow = createServer((_req, res) => {
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), 1500).unref();
    });
    const port = await listen(slow);
    const result = await run({
      collectionKey: collectionKey('1.0.0'),
      baseUrl: `http://127.0.0.1:${port}`,
      timeoutMs: 1000,
      requestTimeoutMs: 800,
      variables: { expectedVersion: '1.0.0' },
    });
    expect(result.failed).toBeGreaterThan(0);
    expect(result.failures[0]!.name).toBe('(run)');
    expect(result.failures[0]!.message).toContain('Newman stopped before the end');
    const report = JSON.parse(await artifacts.getText(result.reportKeys.json)) as { error: { message: string } };
    expect(report.error.message).toContain('Newman stopped before the end');
    const junit = await artifacts.getText(result.reportKeys.junit);
    expect(junit).toContain('<testsuites');
    expect(junit).toContain('<failure');
  });

  it('counts a script that throws and ignores skipped tests', async () => {
    const key = 'artifacts/custom/script-error.json';
    await artifacts.put(
      key,
      JSON.stringify({
        info: { name: 'custom', schema: SCHEMA },
        item: [
          {
            name: 'Health',
            request: { method: 'GET', url: '{{baseUrl}}/health' },
            event: [
              {
                listen: 'test',
                script: {
                  // A team's own script: one check, one it set aside with Postman's pm.test.skip (its assertion
                  // would fail), and a throw. Counting the set-aside one would give total 3, failed 2.
                  exec: [
                    "pm.test('is up', function () { pm.response.to.have.status(200); });",
                    "pm.test.skip('not yet', function () { pm.expect(1).to.equal(2); });",
                    "throw new Error('boom outside pm.test');",
                  ],
                },
              },
            ],
          },
        ],
      }),
    );
    const result = await run({ collectionKey: key, baseUrl: greeters['1.0.0']!.url });
    expect(result).toMatchObject({ total: 2, passed: 1, failed: 1, requests: 1 });
    expect(result.failures).toEqual([
      { name: 'Health', test: 'test script', message: 'Error: boom outside pm.test', method: 'GET', path: '/health', status: 200 },
    ]);
  });

  it('throws NotFoundError for a collection that is not in S3', async () => {
    await expect(run({ collectionKey: 'artifacts/missing.json', baseUrl: greeters['1.0.0']!.url })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('throws ValidationError naming artifacts.collection for a file that is not a collection', async () => {
    const key = 'artifacts/custom/not-a-collection.json';
    await artifacts.put(key, '{"openapi":"3.0.3"}', 'application/json');
    const err = await run({ collectionKey: key, baseUrl: greeters['1.0.0']!.url }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).fields['artifacts.collection']).toMatch(/^expected a Postman v2\.1 collection: info/);
  });

  it('refuses a baseUrl that is not an http(s) URL', async () => {
    await expect(run({ collectionKey: collectionKey('1.0.0'), baseUrl: 'file:///etc' })).rejects.toThrow(
      /baseUrl must be an http\(s\) URL/,
    );
    await expect(run({ collectionKey: collectionKey('1.0.0'), baseUrl: '127.0.0.1:80' })).rejects.toThrow(/baseUrl/);
  });
});
