import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, type DevProcess, ROOT, startDev } from '../helpers/dev-process.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * The `launchway` command as a user runs it: `dev` in one process, the other commands in others, talking only
 * through the endpoints `dev` writes.
 */
const EX = (v: string, f: string) => path.join(ROOT, 'examples/greeter', v, f);
const FIXTURE = (f: string) => path.join(ROOT, 'test/fixtures/openapi', f);
let dataDir: string;
/** `launchway dev`, whose stdout is a pipe here, as in CI. */
let dev: DevProcess;
let env: Record<string, string>;

function cli(args: string[], timeoutMs = 90_000, extraEnv: Record<string, string> = {}): Promise<CliRun> {
  return runCli(args, { cwd: dataDir, env: { ...env, ...extraEnv }, timeoutMs });
}

/**
 * The example catalog and two more services built like greeter: `parked`, whose release waits on approval for the
 * wait bound to run out, and `expiring`, whose approval expires after the schema's minimum of 1 s.
 */
function testCatalog(): string {
  const catalog = JSON.parse(readFileSync(path.join(ROOT, 'examples/catalog.json'), 'utf8'));
  delete catalog.$schema;
  const { greeter } = catalog.services;
  catalog.services.parked = { ...greeter, description: 'greeter, left awaiting approval' };
  catalog.services.expiring = { ...greeter, description: 'greeter whose approval expires at once', approvalTimeoutSeconds: 1 };
  const file = path.join(dataDir, 'catalog.json');
  writeFileSync(file, JSON.stringify(catalog, null, 2));
  return file;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'launchway-cli-'));
  dev = await startDev(dataDir, testCatalog());
  env = dev.env;
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('launchway CLI against launchway dev', () => {
  it('dev writes the endpoints the other commands need', () => {
    for (const name of [
      'AWS_ENDPOINT_URL_SFN',
      'AWS_ENDPOINT_URL_DYNAMODB',
      'AWS_ENDPOINT_URL_S3',
      'LAUNCHWAY_STATE_MACHINE_ARN',
      'RELEASES_TABLE',
      'ARTIFACTS_BUCKET',
      'OUTBOX_DIR',
    ]) {
      expect(env[name], name).toBeTruthy();
    }
    expect(env.APPROVAL_SIGNING_SECRET).toBeUndefined();
  });

  it('release --wait follows a release that approve lets through; status and list read it', async () => {
    const releasing = cli([
      'release',
      '--service',
      'greeter',
      '--version',
      '1.0.0',
      '--commit',
      'c0ffee1',
      '--triggered-by',
      'ci@example.com',
      '--bundle',
      EX('1.0.0', 'service.mjs'),
      '--collection',
      EX('1.0.0', 'collection.postman.json'),
      '--openapi',
      EX('1.0.0', 'openapi.yaml'),
      '--wait',
    ]);
    const releaseId = 'greeter-1.0.0-c0ffee1';
    let approved: { code: number | null; stdout: string; stderr: string } | undefined;
    for (let i = 0; i < 60 && !approved; i++) {
      const status = await cli(['status', releaseId, '--json']);
      if (status.code === 0 && JSON.parse(status.stdout).status === 'AWAITING_APPROVAL') {
        approved = await cli(['approve', releaseId, '--as', 'lead@example.com', '--comment', 'from the CLI test']);
      } else await new Promise((r) => setTimeout(r, 500));
    }
    expect(approved?.code, approved?.stderr).toBe(0);
    expect(approved!.stdout).toContain('Approved');

    const released = await releasing;
    expect(released.code, released.stderr).toBe(0);
    // The diff runs before anything starts: the service's first release has nothing to compare.
    expect(released.stderr).toContain('first release of greeter: no live contract to compare');
    expect(released.stderr.indexOf('no live contract')).toBeLessThan(released.stderr.indexOf('Started'));
    expect(released.stderr).toMatch(/DeployProduction\s+SUCCEEDED/);
    expect(released.stdout).toContain('SUCCEEDED');

    const status = JSON.parse((await cli(['status', releaseId, '--json'])).stdout);
    expect(status).toMatchObject({
      releaseId,
      status: 'SUCCEEDED',
      approval: { decisions: [expect.objectContaining({ comment: 'from the CLI test' })] },
    });
    const list = JSON.parse((await cli(['list', '--service', 'greeter', '--json'])).stdout);
    expect(list.map((r: { releaseId: string }) => r.releaseId)).toContain(releaseId);

    // The same service, version and commit again: nothing new starts, the existing release is reported.
    const again = await cli([
      'release',
      '--service',
      'greeter',
      '--version',
      '1.0.0',
      '--commit',
      'c0ffee1',
      '--triggered-by',
      'ci@example.com',
      '--bundle',
      EX('1.0.0', 'service.mjs'),
      '--collection',
      EX('1.0.0', 'collection.postman.json'),
      '--openapi',
      EX('1.0.0', 'openapi.yaml'),
      '--json',
    ]);
    expect(JSON.parse(again.stdout)).toMatchObject({ releaseId, started: false });

    // dev's stdout is not a terminal: it told of the approval email without printing its signed links.
    expect(dev.output()).toContain(`launchway approve ${releaseId} --as lead@example.com`);
    expect(dev.output()).toContain('approval links are not printed');
    expect(dev.output()).not.toContain('sig=');
  }, 120_000);

  it('diff compares with the contract live in production: 1.1.0 adds GET /languages (exit 0), a removed route exits 3', async () => {
    const next = await cli(['diff', '--service', 'greeter', '--openapi', EX('1.1.0', 'openapi.yaml')]);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toContain('API changes for partners against greeter 1.0.0, live in production (greeter-1.0.0-c0ffee1)');
    expect(next.stdout).toContain('0 breaking');
    expect(next.stdout).toMatch(/ {2}Non-breaking\n(?: {4}\+ .*\n)* {4}\+ GET \/languages: the operation was added/);
    expect(next.stdout).not.toContain('Breaking');

    const removed = await cli(['diff', '--service', 'greeter', '--openapi', FIXTURE('greeter-route-removed.yaml')]);
    expect(removed.code, removed.stderr).toBe(3);
    // Breaking first, naming the route and what changed.
    expect(removed.stdout).toMatch(
      /1 breaking, 0 deprecated, 1 non-breaking\n {2}Breaking\n {4}✖ GET \/greetings\/\{name\}: the operation was removed/,
    );
    expect(removed.stdout.indexOf('Breaking')).toBeLessThan(removed.stdout.indexOf('GET /languages'));

    const asJson = await cli(['diff', '--service', 'greeter', '--openapi', FIXTURE('greeter-route-removed.yaml'), '--json']);
    expect(asJson.code).toBe(3);
    expect(JSON.parse(asJson.stdout)).toMatchObject({
      against: { releaseId: 'greeter-1.0.0-c0ffee1', version: '1.0.0' },
      breaking: 1,
      deprecations: 0,
      nonBreaking: 1,
      changes: [
        { severity: 'breaking', method: 'GET', path: '/greetings/{name}', rule: 'path-removed' },
        { severity: 'non-breaking', method: 'GET', path: '/languages', rule: 'path-added' },
      ],
    });
    // The same contract as live: nothing changes, nothing breaks.
    const same = await cli(['diff', '--service', 'greeter', '--openapi', EX('1.0.0', 'openapi.yaml'), '--json']);
    expect(same.code, same.stderr).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ changes: [], breaking: 0 });
  }, 120_000);

  it('diff refuses a bad contract, a missing file and an unknown service, exit 2 naming the field', async () => {
    const bad = await cli(['diff', '--service', 'greeter', '--openapi', FIXTURE('missing-responses.yaml'), '--json']);
    expect(bad.code, bad.stderr).toBe(2);
    expect(JSON.parse(bad.stdout).error).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { fields: { '--openapi': expect.stringContaining('paths./x.get.responses is required') } },
    });
    const human = await cli(['diff', '--service', 'greeter', '--openapi', FIXTURE('missing-responses.yaml')]);
    expect(human.code).toBe(2);
    expect(human.stderr).toContain('--openapi: ');
    expect(human.stderr).toContain('paths./x.get.responses is required');
    const missing = await cli(['diff', '--service', 'greeter', '--openapi', FIXTURE('nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--openapi: .*nope\.yaml: no such file/);
    const unknown = await cli(['diff', '--service', 'greter', '--openapi', EX('1.1.0', 'openapi.yaml')]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--service: expected a service from the catalog \(.*greeter.*\); "greter" is not in it/);
  }, 120_000);

  it('bad input stops before anything starts, exits 2 and names the field', async () => {
    const out = await cli([
      'release',
      '--service',
      'greeter',
      '--version',
      'v1',
      '--commit',
      'c0ffee2',
      '--triggered-by',
      'ci@example.com',
      '--bundle',
      EX('1.0.0', 'service.mjs'),
      '--collection',
      EX('1.0.0', 'collection.postman.json'),
      '--openapi',
      EX('1.0.0', 'openapi.yaml'),
    ]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/version: expected a semantic version/);
    const list = JSON.parse((await cli(['list', '--json'])).stdout);
    expect(list.map((r: { version: string }) => r.version)).not.toContain('v1');
  });

  it('status of an unknown release exits 1 with a clear message', async () => {
    const out = await cli(['status', 'nope-1.0.0-abc1234']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('release nope-1.0.0-abc1234 does not exist');
  });
});

/** `release` arguments for the greeter example: `files` is the folder under examples/greeter. */
function releaseArgs(version: string, commit: string, files = version, service = 'greeter'): string[] {
  return [
    'release',
    ...['--service', service, '--version', version, '--commit', commit, '--triggered-by', 'ci@example.com'],
    ...['--bundle', EX(files, 'service.mjs'), '--collection', EX(files, 'collection.postman.json')],
    ...['--openapi', EX(files, 'openapi.yaml')],
  ];
}

/** Polls `launchway status` until the release reaches `wanted`; bounded, and failing with the last status seen. */
async function untilStatus(releaseId: string, wanted: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (last !== wanted) {
    if (Date.now() > deadline) throw new Error(`${releaseId} did not reach ${wanted} within ${timeoutMs} ms (last ${last})`);
    const run = await cli(['status', releaseId, '--json']);
    if (run.code === 0) last = JSON.parse(run.stdout).status;
    if (last !== wanted) await new Promise((r) => setTimeout(r, 500));
  }
}

/** A TCP port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('launchway exit codes and errors', () => {
  it('--version prints the package version; release --version stays the release version', async () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const out = await cli([flag]);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout.trim()).toBe(pkg.version);
    }
    // A release option after the command is the release's: here it reaches the request check, which names it.
    const args = releaseArgs('1.0.0', 'c0ffee9').filter((a) => a !== '--version' && a !== '1.0.0');
    const out = await cli([...args, '--version', 'not-semver']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/version: expected a semantic version/);
  });

  it("a usage error exits 2 with commander's message; with --json it is a VALIDATION_ERROR on stdout", async () => {
    const out = await cli(['release', '--service', 'greeter']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("required option '--version <semver>' not specified");
    expect(out.stdout).toBe('');
    const asJson = await cli(['release', '--service', 'greeter', '--json']);
    expect(asJson.code).toBe(2);
    expect(JSON.parse(asJson.stdout)).toEqual({
      error: {
        code: 'VALIDATION_ERROR',
        message: "required option '--version <semver>' not specified",
        details: { fields: { '--version': "required option '--version <semver>' not specified" } },
      },
    });
    expect(asJson.stderr).not.toContain('required option');
  });

  it('a bad option value exits 2 naming the option; --json gives the error format with its fields', async () => {
    const out = await cli(['list', '--limit', 'abc']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--limit: expected a whole number from 1 to 1000, got "abc"');
    const asJson = await cli(['list', '--limit', '0', '--json']);
    expect(asJson.code).toBe(2);
    expect(JSON.parse(asJson.stdout)).toEqual({
      error: {
        code: 'VALIDATION_ERROR',
        message: 'invalid value for --limit',
        details: { fields: { '--limit': 'expected a whole number from 1 to 1000, got "0"' } },
      },
    });
    const timeout = await cli([...releaseArgs('1.0.0', 'c0ffee9'), '--wait', '--timeout', 'soon', '--json']);
    expect(timeout.code).toBe(2);
    expect(JSON.parse(timeout.stdout).error.details.fields['--timeout']).toMatch(/expected a duration/);
    // The request check's errors take the same form.
    const request = await cli([...releaseArgs('1.0.0', 'c0ffee9').map((a) => (a === '1.0.0' ? 'v1' : a)), '--json']);
    expect(request.code).toBe(2);
    expect(JSON.parse(request.stdout).error).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { fields: { version: expect.stringMatching(/expected a semantic version/) } },
    });
  });

  it('status of an unknown release is NOT_FOUND with --json, exit 1', async () => {
    const out = await cli(['status', 'nope-1.0.0-abc1234', '--json']);
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({
      error: { code: 'NOT_FOUND', message: 'release nope-1.0.0-abc1234 does not exist' },
    });
  });

  it('a stack it cannot reach exits 5, STACK_UNREACHABLE with --json', async () => {
    const port = await closedPort();
    const closed = { AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port}` };
    const out = await cli(['status', 'greeter-1.0.0-c0ffee1', '--json'], 90_000, closed);
    expect(out.code, out.stderr).toBe(5);
    expect(JSON.parse(out.stdout).error).toMatchObject({
      code: 'STACK_UNREACHABLE',
      details: { cause: 'ECONNREFUSED', address: `127.0.0.1:${port}` },
    });
    const human = await cli(['list'], 90_000, closed);
    expect(human.code).toBe(5);
    expect(human.stderr).toContain(`no Launchway stack answers at http://127.0.0.1:${port}: start it with \`npx launchway dev\``);
  });

  it('release --wait: a rejected release exits 11, showing the approval it waits on; a failed one exits 10', async () => {
    const rejecting = cli([...releaseArgs('1.1.0', 'c0ffee3'), '--wait'], 120_000);
    const releaseId = 'greeter-1.1.0-c0ffee3';
    let rejected: Awaited<ReturnType<typeof cli>> | undefined;
    for (let i = 0; i < 120 && !rejected; i++) {
      const status = await cli(['status', releaseId, '--json']);
      if (status.code === 0 && JSON.parse(status.stdout).status === 'AWAITING_APPROVAL') {
        rejected = await cli(['reject', releaseId, '--as', 'lead@example.com', '--comment', 'not today']);
      } else await new Promise((r) => setTimeout(r, 500));
    }
    expect(rejected?.code, rejected?.stderr).toBe(0);
    const out = await rejecting;
    expect(out.code, out.stderr).toBe(11);
    expect(out.stdout).toContain('REJECTED');
    // Before it started, release printed what 1.1.0 changes against 1.0.0, live.
    expect(out.stderr).toMatch(/API changes for partners against greeter 1\.0\.0, live in production .*: 0 breaking/);
    expect(out.stderr.indexOf('+ GET /languages')).toBeGreaterThan(-1);
    expect(out.stderr.indexOf('+ GET /languages')).toBeLessThan(out.stderr.indexOf('Started'));
    expect(out.stderr).toMatch(/awaiting approval: 0 of 1 approvals; to decide: lead@example\.com, qa@example\.com; expires /);

    const failing = await cli([...releaseArgs('1.2.0', 'c0ffee4', '1.2.0-broken'), '--wait', '--json'], 120_000);
    expect(failing.code, failing.stderr).toBe(10);
    expect(JSON.parse(failing.stdout)).toMatchObject({ releaseId: 'greeter-1.2.0-c0ffee4', status: 'FAILED' });
  }, 240_000);
  it('release --wait --timeout 1s on a release awaiting approval exits 4, TIMEOUT with its status; the release goes on', async () => {
    const releaseId = 'parked-1.0.0-c0ffee5';
    const args = releaseArgs('1.0.0', 'c0ffee5', '1.0.0', 'parked');
    const started = await cli([...args, '--json'], 120_000);
    expect(started.code, started.stderr).toBe(0);
    await untilStatus(releaseId, 'AWAITING_APPROVAL');
    // The same release again: nothing new starts, the wait follows the one awaiting approval until its bound.
    const waited = await cli([...args, '--wait', '--timeout', '1s', '--json'], 120_000);
    expect(waited.code, waited.stderr).toBe(4);
    expect(JSON.parse(waited.stdout)).toEqual({
      error: {
        code: 'TIMEOUT',
        message: `release ${releaseId} did not end within the wait bound (last status AWAITING_APPROVAL); it goes on`,
        details: { releaseId, status: 'AWAITING_APPROVAL' },
      },
    });
    const after = await cli(['status', releaseId, '--json']);
    expect(JSON.parse(after.stdout)).toMatchObject({ status: 'AWAITING_APPROVAL', approval: { status: 'PENDING' } });
  }, 180_000);

  it('release --wait on a service whose approval times out after 1 s exits 12 with the release EXPIRED', async () => {
    const out = await cli([...releaseArgs('1.0.0', 'c0ffee6', '1.0.0', 'expiring'), '--wait', '--json'], 150_000);
    expect(out.code, out.stderr).toBe(12);
    expect(JSON.parse(out.stdout)).toMatchObject({ releaseId: 'expiring-1.0.0-c0ffee6', status: 'EXPIRED' });
  }, 180_000);
});
