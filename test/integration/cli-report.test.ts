import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeReport, fetchReport } from '../../cli/report.js';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { documentClient, s3Client } from '../../functions/lib/clients.js';
import { NotFoundError } from '../../functions/lib/errors.js';
import { runSmokeTests } from '../../functions/lib/newman-runner.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { ROOT } from '../helpers/dev-process.js';

/**
 * `launchway report` over real Newman reports: a collection run by the pipeline's runner against a local server that
 * answers one request 404, the reports in s3rver, the release and its step in dynalite.
 */
let emu: TestEmulators;
let server: Server;
let store: ReleaseStore;
let artifacts: ArtifactStore;
let out: string;
const releaseId = 'shop-2.0.0-abc1234';

const collection = {
  info: { name: 'shop', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
  item: ['items', 'missing'].map((name) => ({
    name: `get ${name}`,
    request: { method: 'GET', url: `{{baseUrl}}/api/${name}?page=1` },
    event: [{ listen: 'test', script: { exec: ['pm.test("status is 200", () => pm.response.to.have.status(200));'] } }],
  })),
};

beforeAll(async () => {
  emu = await startTestEmulators();
  store = new ReleaseStore(documentClient(), emu.table);
  artifacts = new ArtifactStore(s3Client(), emu.bucket);
  out = await mkdtemp(path.join(tmpdir(), 'launchway-report-'));
  server = createServer((req, res) => {
    const found = req.url?.startsWith('/api/items');
    res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(found ? [] : { error: 'no' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await artifacts.put('artifacts/shop/collection.json', JSON.stringify(collection), 'application/json');
  const result = await runSmokeTests({
    artifacts,
    collectionKey: 'artifacts/shop/collection.json',
    reportPrefix: `reports/shop/${releaseId}/staging`,
    baseUrl,
  });
  const now = new Date().toISOString();
  await store.createRelease({
    releaseId,
    service: 'shop',
    version: '2.0.0',
    commit: 'abc1234',
    branch: 'main',
    triggeredBy: 'ci@example.com',
    status: 'FAILED',
    request: {},
    changes: [],
    createdAt: now,
    updatedAt: now,
  });
  await store.startStep(releaseId, 'SmokeTestStaging');
  await store.endStep(releaseId, 'SmokeTestStaging', 'FAILED', { details: { ...result, baseUrl } });
}, 120_000);

afterAll(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await emu?.stop();
  if (out) await rm(out, { recursive: true, force: true });
});

describe('launchway report', () => {
  it('writes the JSON and JUnit reports and lists the failed request with its method, path and status', async () => {
    const dir = path.join(out, 'in-process');
    const report = await fetchReport({ store, artifacts }, { releaseId, outDir: dir });
    expect(report).toMatchObject({ stage: 'staging', step: { name: 'SmokeTestStaging', status: 'FAILED' }, requests: 2 });
    expect(report.failedRequests).toEqual([
      {
        name: 'get missing',
        method: 'GET',
        path: '/api/missing?page=1',
        status: 404,
        statusText: 'Not Found',
        failures: [expect.stringContaining('status is 200')],
      },
    ]);
    expect(report.files).toEqual([path.join(dir, 'newman.json'), path.join(dir, 'junit.xml')]);
    expect(await readFile(report.files[0], 'utf8')).toBe(await artifacts.getText(`reports/shop/${releaseId}/staging/newman.json`));
    expect(await readFile(report.files[1], 'utf8')).toContain('<testsuites');
    expect(describeReport(report)).toContain('get missing  GET /api/missing?page=1 → 404 Not Found');
    expect(describeReport(report)).toContain('1 of 2 requests failed');
  });

  it('says which stage has not run, and which release does not exist', async () => {
    await expect(fetchReport({ store, artifacts }, { releaseId, stage: 'production', outDir: out })).rejects.toThrow(
      new NotFoundError(`release ${releaseId} has no production report: ValidateProduction has not run (the release is FAILED)`),
    );
    await expect(fetchReport({ store, artifacts }, { releaseId: 'shop-9.9.9-fff0000', outDir: out })).rejects.toThrow(
      'release shop-9.9.9-fff0000 does not exist',
    );
  });

  it('as a command: --json to the default folder, --open never fails, exit 1 with the reason when the stage has no report', async () => {
    const env = {
      PATH: process.env.PATH!,
      HOME: out,
      NO_COLOR: '1',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_DYNAMODB: emu.dynamo.url,
      AWS_ENDPOINT_URL_S3: emu.s3.url,
      RELEASES_TABLE: emu.table,
      ARTIFACTS_BUCKET: emu.bucket,
    };
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [path.join(ROOT, 'bin/launchway.js'), ...args], { cwd: out, env });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const ok = await run(['report', releaseId, '--stage', 'staging', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    const written = path.join(out, '.launchway', 'reports', releaseId, 'staging');
    expect(JSON.parse(ok.stdout)).toMatchObject({ files: [path.join(written, 'newman.json'), path.join(written, 'junit.xml')] });
    // With or without a desktop opener on this machine, the reports were written: exit 0.
    const opened = await run(['report', releaseId, '--out', path.join(out, 'opened'), '--open']);
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stderr).toMatch(/opened with|could not open it/);
    const missing = await run(['report', releaseId, '--stage', 'production']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('has no production report: ValidateProduction has not run');
    const bad = await run(['report', releaseId, '--stage', 'qa']);
    expect(bad.code).toBe(2);
  }, 60_000);
});
