import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { s3Client } from '../../functions/lib/clients.js';
import type { DeployRequest } from '../../functions/lib/deploy/deploy-provider.js';
import { HttpHookProvider, signRequest } from '../../functions/lib/deploy/http-hook.js';
import type { Clock } from '../../functions/lib/deploy/support.js';
import { DeployTargetSchema, type DeployTarget } from '../../functions/lib/deploy/targets.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';

/**
 * The http provider against a real deploy hook on 127.0.0.1 that checks SigV4 the way API Gateway IAM auth does:
 * it recomputes the signature over the request it received with the caller's secret, so an unsigned request, a
 * changed body or a wrong key gets 403. The artifact is a real object in s3rver, fetched by the hook through the
 * presigned URL it was sent.
 */

const CREDENTIALS = { accessKeyId: process.env.AWS_ACCESS_KEY_ID!, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY! };
const ARTIFACT_KEY = 'artifacts/orders/1.4.0/bundle.zip';
const PREVIOUS_KEY = 'artifacts/orders/1.3.0/bundle.zip';

interface Reply {
  status: number;
  body: string;
}
const json = (status: number, value: unknown): Reply => ({ status, body: JSON.stringify(value) });

/** A deploy hook that verifies SigV4 on every request and answers from a script the test sets. */
class DeployHook {
  private server?: http.Server;
  url = '';
  /** Every request that passed verification. */
  received: { method: string; path: string; body: string; headers: http.IncomingHttpHeaders }[] = [];
  rejected: { path: string; reason: string }[] = [];
  /** What the artifact URL in the last POST served. */
  downloaded?: Buffer;
  onDeploy: (body: Record<string, unknown>) => Reply = () => json(202, { deploymentId: 'd-1', statusUrl: '/status/d-1' });
  statuses: Reply[] = [];
  requireSignature = true;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.handle(req, Buffer.concat(chunks).toString('utf8')).then((reply) => {
          res.writeHead(reply.status, { 'content-type': 'application/json' });
          res.end(reply.body);
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  reset(): void {
    this.received = [];
    this.rejected = [];
    this.downloaded = undefined;
    this.statuses = [];
    this.requireSignature = true;
    this.onDeploy = () => json(202, { deploymentId: 'd-1', statusUrl: '/status/d-1' });
  }

  private async handle(req: http.IncomingMessage, body: string): Promise<Reply> {
    const path = req.url ?? '/';
    if (this.requireSignature) {
      const problem = await verifySigV4(req, body);
      if (problem) {
        this.rejected.push({ path, reason: problem });
        return json(403, { message: problem });
      }
    }
    this.received.push({ method: req.method!, path, body, headers: req.headers });
    if (req.method === 'POST' && path === '/deploy') {
      const parsed = JSON.parse(body) as { artifact: { url: string } };
      const artifact = await fetch(parsed.artifact.url, { signal: AbortSignal.timeout(5_000) });
      this.downloaded = Buffer.from(await artifact.arrayBuffer());
      return this.onDeploy(parsed);
    }
    if (req.method === 'GET' && path.startsWith('/status/'))
      return this.statuses.shift() ?? json(500, { message: 'no scripted status left' });
    return json(404, { message: 'Not Found' });
  }
}

/**
 * Server-side SigV4 check, as a hook behind IAM auth gets it: the access key must be the caller's, the date recent,
 * the body hash must match the body, and the signature recomputed over the signed headers must match.
 */
async function verifySigV4(req: http.IncomingMessage, body: string): Promise<string | undefined> {
  const auth = req.headers.authorization;
  if (!auth) return 'missing Authorization';
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return 'malformed Authorization';
  const [, accessKeyId, , region, service, signedHeaders] = m;
  if (accessKeyId !== CREDENTIALS.accessKeyId) return 'unknown access key';
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const when = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (!Number.isFinite(when) || Math.abs(Date.now() - when) > 5 * 60_000) return 'request date out of range';
  const bodyHash = createHash('sha256').update(body).digest('hex');
  if (req.headers['x-amz-content-sha256'] !== bodyHash) return 'body does not match x-amz-content-sha256';
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-content-sha256')) return 'host and payload hash must be signed';

  const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
  const headers: Record<string, string> = {};
  for (const name of names) headers[name] = String(req.headers[name] ?? '');
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const request = new HttpRequest({
    method: req.method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query,
    headers,
    body,
  });
  const signer = new SignatureV4({ credentials: CREDENTIALS, region, service, sha256: Sha256 });
  const expected = (await signer.sign(request, { signingDate: new Date(when) })).headers.authorization as string;
  const a = Buffer.from(expected);
  const b = Buffer.from(auth);
  return a.length === b.length && timingSafeEqual(a, b) ? undefined : 'signature does not match';
}

function clockFromNow(): Clock & { advance(seconds: number): void } {
  let now = Date.now();
  return { now: () => now, sleep: async (ms) => void (now += ms), advance: (s) => void (now += s * 1000) };
}

describe('HttpHookProvider against a local SigV4-verifying deploy hook', () => {
  let emulators: TestEmulators;
  const hook = new DeployHook();
  let clock: ReturnType<typeof clockFromNow>;
  let provider: HttpHookProvider;

  const target = (over: Record<string, unknown> = {}): DeployTarget =>
    DeployTargetSchema.parse({ type: 'http', deployUrl: `${hook.url}/deploy`, timeoutSeconds: 600, ...over });
  const request = (t: DeployTarget): DeployRequest => ({
    releaseId: 'orders-1.4.0-abcdef123456',
    service: 'orders',
    environment: 'staging',
    version: '1.4.0',
    artifactKey: ARTIFACT_KEY,
    target: t,
  });

  beforeAll(async () => {
    emulators = await startTestEmulators();
    const artifacts = new ArtifactStore(s3Client(), emulators.bucket);
    await artifacts.put(ARTIFACT_KEY, 'bundle of 1.4.0');
    await artifacts.put(PREVIOUS_KEY, 'bundle of 1.3.0');
    await hook.start();
  });
  afterAll(async () => {
    await hook.stop();
    await emulators?.stop();
  });
  beforeEach(() => {
    clock = clockFromNow();
    provider = new HttpHookProvider({
      bucket: emulators.bucket,
      credentials: CREDENTIALS,
      clock,
      rollbackPollMs: 5_000,
      rollbackBudgetMs: 60_000,
    });
  });
  afterEach(() => hook.reset());

  it('POSTs a signed deployment with a presigned artifact URL, then polls the signed status URL to SUCCEEDED', async () => {
    const req = request(target());
    const started = await provider.start(req);
    expect(hook.rejected).toEqual([]);
    expect(started).toMatchObject({ state: 'IN_PROGRESS', handle: { deploymentId: 'd-1', statusUrl: `${hook.url}/status/d-1` } });
    const [post] = hook.received;
    expect(post.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=S3RVER\/\d{8}\/us-east-1\/execute-api\/aws4_request/);
    expect(post.headers['idempotency-key']).toBe('orders-1.4.0-abcdef123456-staging');
    expect(post.headers.authorization).toMatch(/SignedHeaders=[^,]*idempotency-key/);
    const body = JSON.parse(post.body) as Record<string, unknown> & { artifact: { url: string } };
    expect(body).toEqual({
      service: 'orders',
      environment: 'staging',
      version: '1.4.0',
      releaseId: 'orders-1.4.0-abcdef123456',
      artifact: { bucket: emulators.bucket, key: ARTIFACT_KEY, url: expect.any(String) },
    });
    expect(new URL(body.artifact.url).searchParams.get('X-Amz-Expires')).toBe('3600');
    expect(hook.downloaded?.toString()).toBe('bundle of 1.4.0');

    hook.statuses = [
      json(200, { state: 'IN_PROGRESS', message: 'pulling image' }),
      json(200, { state: 'SUCCEEDED', endpoint: 'https://orders-staging.example.com' }),
    ];
    const polling = await provider.status(req, started.handle);
    expect(polling).toMatchObject({ state: 'IN_PROGRESS', message: 'pulling image' });
    const done = await provider.status(req, polling.handle);
    expect(done).toMatchObject({
      state: 'SUCCEEDED',
      endpoint: 'https://orders-staging.example.com',
      handle: { endpoint: 'https://orders-staging.example.com' },
    });
    expect(hook.received.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /deploy', 'GET /status/d-1', 'GET /status/d-1']);
    expect(hook.rejected).toEqual([]);
  });

  it('signs for the configured region and service, and fills the statusUrl template when the hook gives none', async () => {
    hook.onDeploy = () => json(201, { deploymentId: 'dep 7' });
    const t = target({
      statusUrl: `${hook.url}/status/{deploymentId}`,
      signingRegion: 'eu-central-1',
      signingService: 'lambda',
      endpointUrl: 'https://orders.example.com',
    });
    const started = await provider.start(request(t));
    expect(started.handle.statusUrl).toBe(`${hook.url}/status/dep%207`);
    expect(hook.received[0].headers.authorization).toMatch(/\/eu-central-1\/lambda\/aws4_request/);
    hook.statuses = [json(200, { state: 'SUCCEEDED' })];
    const done = await provider.status(request(t), started.handle);
    expect(done).toMatchObject({ state: 'SUCCEEDED', endpoint: 'https://orders.example.com' });
    expect(hook.received[1].path).toBe('/status/dep%207');
  });

  it('fails with the message the hook reports', async () => {
    const req = request(target());
    const started = await provider.start(req);
    hook.statuses = [json(200, { state: 'FAILED', message: 'health check on port 8080 failed' })];
    const failed = await provider.status(req, started.handle);
    expect(failed).toMatchObject({ state: 'FAILED', message: 'health check on port 8080 failed' });
  });

  it('fails clearly on a refused POST, a body that is not JSON, an answer without deploymentId, or a foreign statusUrl', async () => {
    hook.onDeploy = () => ({ status: 409, body: '{"message":"a deployment is already running"}' });
    expect((await provider.start(request(target()))).message).toBe(
      `deploy hook ${hook.url}/deploy answered 409: {"message":"a deployment is already running"}`,
    );
    hook.onDeploy = () => ({ status: 202, body: '<html>accepted</html>' });
    expect((await provider.start(request(target()))).message).toBe(
      `deploy hook ${hook.url}/deploy answered 202 with a body that is not JSON: <html>accepted</html>; expected {"deploymentId": "...", "statusUrl"?: "..."}`,
    );
    hook.onDeploy = () => json(202, { id: 'd-1' });
    expect((await provider.start(request(target()))).message).toMatch(/answered 202 with unexpected JSON \(deploymentId: .*\)/);
    hook.onDeploy = () => json(202, { deploymentId: 'd-1', statusUrl: 'https://attacker.example.net/status/d-1' });
    expect((await provider.start(request(target()))).message).toBe(
      `deploy hook gave statusUrl https://attacker.example.net/status/d-1, which is not on ${hook.url}; Launchway sends signed requests only there`,
    );
    hook.onDeploy = () => json(202, { deploymentId: 'd-1' });
    expect((await provider.start(request(target()))).message).toMatch(/gave no statusUrl and the target has no statusUrl template/);
  });

  it('fails on a 4xx or non-JSON status at once, and after three 5xx in a row', async () => {
    const req = request(target());
    const started = await provider.start(req);
    hook.statuses = [json(404, { message: 'unknown deployment' })];
    expect(await provider.status(req, started.handle)).toMatchObject({
      state: 'FAILED',
      message: `status URL ${hook.url}/status/d-1 answered 404: {"message":"unknown deployment"}`,
    });
    hook.statuses = [{ status: 200, body: 'OK' }];
    expect((await provider.status(req, started.handle)).message).toMatch(/answered a body that is not JSON: OK; expected \{"state"/);

    hook.statuses = [json(503, {}), json(502, {}), json(503, { message: 'down' })];
    const first = await provider.status(req, started.handle);
    expect(first).toMatchObject({ state: 'IN_PROGRESS', handle: { transientFailures: 1 } });
    const second = await provider.status(req, first.handle);
    expect(second).toMatchObject({ state: 'IN_PROGRESS', handle: { transientFailures: 2 } });
    const third = await provider.status(req, second.handle);
    expect(third.state).toBe('FAILED');
    expect(third.message).toBe(`status URL ${hook.url}/status/d-1 failed 3 times in a row; last: answered 503: {"message":"down"}`);
  });

  it('fails once timeoutSeconds have passed, without asking the hook again', async () => {
    const req = request(target({ timeoutSeconds: 60 }));
    const started = await provider.start(req);
    clock.advance(61);
    const failed = await provider.status(req, started.handle);
    expect(failed).toMatchObject({ state: 'FAILED', message: 'deployment d-1 did not finish within 60s' });
    expect(hook.received.map((r) => r.method)).toEqual(['POST']);
  });

  it('sends unsigned requests with auth "none", which a hook that requires IAM refuses', async () => {
    const failed = await provider.start(request(target({ auth: 'none' })));
    expect(failed).toMatchObject({
      state: 'FAILED',
      message: `deploy hook ${hook.url}/deploy answered 403: {"message":"missing Authorization"}`,
    });
    hook.requireSignature = false;
    const accepted = await provider.start(request(target({ auth: 'none' })));
    expect(accepted.state).toBe('IN_PROGRESS');
    expect(hook.received[0].headers.authorization).toBeUndefined();
  });

  it('reports a hook that does not answer as FAILED, not as an exception', async () => {
    const closed = new DeployHook();
    await closed.start();
    const deadUrl = `${closed.url}/deploy`;
    await closed.stop();
    const failed = await provider.start(request(target({ deployUrl: deadUrl })));
    expect(failed.state).toBe('FAILED');
    expect(failed.message).toMatch(new RegExp(`^deploy hook ${deadUrl} did not answer: .*ECONNREFUSED`));
  });

  describe("the hook's verifier", () => {
    const send = (url: string, headers: Record<string, string>, body: string) =>
      fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(5_000) }).then((r) => r.status);

    it('accepts a signed request and rejects an unsigned one, a tampered body and a wrong secret', async () => {
      hook.onDeploy = () => json(202, { deploymentId: 'x', statusUrl: '/status/x' });
      const url = `${hook.url}/deploy`;
      const bodyOf = (key: string) => JSON.stringify({ artifact: { url: `${emulators.s3.url}/${emulators.bucket}/${key}` } });
      const body = bodyOf(ARTIFACT_KEY);
      const sign = (b: string, secretAccessKey = CREDENTIALS.secretAccessKey) =>
        signRequest({
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json' },
          body: b,
          region: 'us-east-1',
          service: 'execute-api',
          credentials: { ...CREDENTIALS, secretAccessKey },
        });

      expect(await send(url, { 'content-type': 'application/json' }, body)).toBe(403);
      expect(await send(url, await sign(body), bodyOf(PREVIOUS_KEY))).toBe(403);
      const tamperedHash = {
        ...(await sign(body)),
        'x-amz-content-sha256': createHash('sha256').update(bodyOf(PREVIOUS_KEY)).digest('hex'),
      };
      expect(await send(url, tamperedHash, bodyOf(PREVIOUS_KEY))).toBe(403);
      expect(await send(url, await sign(body, 'not-the-secret'), body)).toBe(403);
      expect(hook.rejected.map((r) => r.reason)).toEqual([
        'missing Authorization',
        'body does not match x-amz-content-sha256',
        'signature does not match',
        'signature does not match',
      ]);
      expect(hook.received).toHaveLength(0);
      // The same request, correctly signed, gets through (s3rver serves the object path-style without a signature check).
      expect(await send(url, await sign(body), body)).toBe(202);
      expect(hook.received).toHaveLength(1);
    });
  });

  describe('rollback', () => {
    const previous = {
      version: '1.3.0',
      releaseId: 'orders-1.3.0-0123456789ab',
      artifactKey: PREVIOUS_KEY,
      handle: { deploymentId: 'd-0' },
    };

    it("POSTs the previous release's artifact with rollback: true and polls until the hook reports it live", async () => {
      hook.onDeploy = () => json(202, { deploymentId: 'rb-1', statusUrl: `${hook.url}/status/rb-1` });
      hook.statuses = [
        json(200, { state: 'IN_PROGRESS' }),
        json(200, { state: 'IN_PROGRESS' }),
        json(200, { state: 'SUCCEEDED', endpoint: 'https://orders.example.com' }),
      ];
      const failed = {
        version: '1.4.0',
        releaseId: 'orders-1.4.0-abcdef123456',
        artifactKey: ARTIFACT_KEY,
        handle: { deploymentId: 'd-1' },
      };
      const restored = await provider.rollback({ service: 'orders', environment: 'production', target: target(), previous, failed });
      expect(restored).toMatchObject({
        state: 'SUCCEEDED',
        endpoint: 'https://orders.example.com',
        handle: { deploymentId: 'rb-1', version: '1.3.0' },
      });
      const body = JSON.parse(hook.received[0].body) as Record<string, unknown>;
      expect(body).toMatchObject({
        service: 'orders',
        environment: 'production',
        version: '1.3.0',
        releaseId: 'orders-1.3.0-0123456789ab',
        rollback: true,
      });
      expect(body.artifact).toMatchObject({ bucket: emulators.bucket, key: PREVIOUS_KEY });
      expect(hook.received[0].headers['idempotency-key']).toBe(
        'rollback-orders-1.4.0-abcdef123456-to-orders-1.3.0-0123456789ab-production',
      );
      expect(hook.downloaded?.toString()).toBe('bundle of 1.3.0');
      expect(hook.received.map((r) => `${r.method} ${r.path}`)).toEqual([
        'POST /deploy',
        'GET /status/rb-1',
        'GET /status/rb-1',
        'GET /status/rb-1',
      ]);
      expect(hook.rejected).toEqual([]);
    });

    it('gives up with FAILED when the hook stays in progress past the rollback budget', async () => {
      hook.statuses = Array.from({ length: 20 }, () => json(200, { state: 'IN_PROGRESS', message: 'still draining' }));
      const restored = await provider.rollback({ service: 'orders', environment: 'production', target: target(), previous });
      expect(restored?.state).toBe('FAILED');
      expect(restored?.message).toBe(`rollback to 1.3.0 through ${hook.url}/deploy did not finish within 60s (still draining)`);
    });

    it('does nothing without a previous release', async () => {
      expect(await provider.rollback({ service: 'orders', environment: 'production', target: target() })).toBeUndefined();
      expect(hook.received).toHaveLength(0);
    });
  });
});
