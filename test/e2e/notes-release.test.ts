import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { LocalGatewayProvisioner } from '../../functions/lib/interop/local-gateway-provisioner.js';
import { isTerminal } from '../../functions/lib/store/records.js';
import { type CliRun, ROOT, startDev, type DevProcess } from '../helpers/dev-process.js';
import { ensureNotesDeps, NOTES_DIR } from '../helpers/notes-service.js';

/**
 * examples/notes released as its team would bring it: the directory with its own node_modules as the artifact, its
 * own collection and contract, unedited, the catalog of examples/ naming its variables and its secret. Then an
 * upgrade and a rollback with a partner polling the gateway every 50 ms, and the secret looked for everywhere the
 * stack writes.
 */
const SECRET = `notes-e2e-${randomBytes(16).toString('hex')}`;
const POLL_MS = 50;
let dataDir: string;
let dev: DevProcess;
/** What every CLI command printed, for the secret check. */
const printed: CliRun[] = [];

const cli = async (args: string[], timeoutMs?: number) => {
  const run = await dev.cli(args, timeoutMs);
  printed.push(run);
  return run;
};
const status = async (releaseId: string) => JSON.parse((await cli(['status', releaseId, '--json'])).stdout);
const stepOf = (view: { steps: Array<{ step: string; details?: any }> }, step: string) => view.steps.find((s) => s.step === step);

/** Polls `status` until it is `wanted`, bounded; a release that ends otherwise fails at once with its record. */
async function until(releaseId: string, wanted: string, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await status(releaseId);
    if (view.status === wanted) return view;
    if (isTerminal(view.status) || Date.now() > deadline)
      throw new Error(`${releaseId} is ${view.status}, not ${wanted}: ${JSON.stringify(view.error ?? view.steps, null, 2)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** `launchway release` of a notes directory with its collection and contract, approved through the CLI; the SUCCEEDED record. */
async function release(version: string, commit: string, dir: string) {
  const started = await cli([
    'release',
    ...['--service', 'notes', '--version', version, '--commit', commit, '--triggered-by', 'ci@example.com'],
    ...['--artifact', dir, '--collection', path.join(dir, 'postman/notes.postman_collection.json')],
    ...['--openapi', path.join(dir, 'openapi.yaml'), '--json'],
  ]);
  expect(started.code, started.stderr).toBe(0);
  const { releaseId } = JSON.parse(started.stdout) as { releaseId: string };
  await until(releaseId, 'AWAITING_APPROVAL');
  const approved = await cli(['approve', releaseId, '--as', 'lead@example.com']);
  expect(approved.code, approved.stderr).toBe(0);
  return until(releaseId, 'SUCCEEDED');
}

type Seen = { status: number; version?: string; body?: string };

/** A partner calling `url` with its key every 50 ms (one request at a time) until stopped; what it saw. */
function partnerPoller(url: string, apiKey: string) {
  const seen: Seen[] = [];
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      const started = Date.now();
      try {
        const res = await fetch(url, { headers: { 'x-api-key': apiKey }, signal: AbortSignal.timeout(10_000) });
        const body = await res.text();
        seen.push(res.status === 200 ? { status: 200, version: JSON.parse(body).version } : { status: res.status, body });
      } catch (err) {
        seen.push({ status: 0, body: (err as Error).message });
      }
      await new Promise((r) => setTimeout(r, Math.max(0, POLL_MS - (Date.now() - started))));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await running;
      return seen;
    },
  };
}

/** The versions a poller saw, each run of equal versions once: `['1.0.0', '1.1.0']` for a clean switch. */
const switches = (seen: Seen[]) => seen.map((s) => s.version).filter((v, i, all) => i === 0 || v !== all[i - 1]);

/** Waits, bounded, until nothing answers at `url` any more (a retired version's own port). */
async function stoppedAnswering(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).body?.cancel();
    } catch (err) {
      // Refused: nothing listens there any more. A slow answer on a loaded machine is not that.
      if ((err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') return;
    }
    if (Date.now() > deadline) throw new Error(`${url} still answers ${timeoutMs} ms later: the replaced version was not retired`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function version(url: string, apiKey?: string) {
  const res = await fetch(url, { headers: apiKey ? { 'x-api-key': apiKey } : {}, signal: AbortSignal.timeout(10_000) });
  expect(res.status, url).toBe(200);
  return ((await res.json()) as { version: string }).version;
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

beforeAll(async () => {
  await ensureNotesDeps();
  dataDir = await mkdtemp(path.join(tmpdir(), 'launchway-notes-'));
  // The embedded secret store: `.launchway/secrets.json`, readable by its owner only.
  mkdirSync(path.join(dataDir, '.launchway'), { recursive: true });
  const secrets = path.join(dataDir, '.launchway', 'secrets.json');
  writeFileSync(secrets, JSON.stringify({ 'notes/token': SECRET }), { mode: 0o600 });
  chmodSync(secrets, 0o600);
  dev = await startDev(dataDir, path.join(ROOT, 'examples/catalog.json'), { LOG_LEVEL: 'INFO' });
}, 360_000);

afterAll(async () => {
  await dev?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('examples/notes through launchway, unedited', () => {
  let v100: any;
  let v110: any;
  let apiKey: string;
  let partnerUrl: string;

  it('releases 1.0.0 from its directory to SUCCEEDED; partners call <gateway>/notes/v1/api/...', async () => {
    v100 = await release('1.0.0', 'a0c1d2e3', NOTES_DIR);
    expect(v100.artifactSha256).toMatch(/^[0-9a-f]{64}$/);
    for (const step of ['SmokeTestStaging', 'ValidateProduction']) {
      expect(stepOf(v100, step)?.details, step).toMatchObject({ failed: 0 });
      expect(stepOf(v100, step)?.details.total, step).toBeGreaterThanOrEqual(40);
    }
    expect(await version(`${v100.links.productionUrl}/api/status`)).toBe('1.0.0');

    const interop = stepOf(v100, 'ProvisionInterop')!.details;
    apiKey = await new LocalGatewayProvisioner({ adminUrl: dev.env.LOCAL_GATEWAY_ADMIN_URL }).apiKeyValue('notes', interop.validationKeyId);
    // The gateway's stage URL; with interop.basePath "prepend" the contract's /api follows it.
    partnerUrl = `${v100.links.interopUrl.replace(/\/api$/, '')}/api/status`;
    expect(new URL(partnerUrl).pathname).toBe('/notes/v1/api/status');
    expect(await version(partnerUrl, apiKey)).toBe('1.0.0');
    expect((await fetch(partnerUrl)).status).toBe(403);

    // The service got the secret's value itself: a token it issues through the gateway is signed with it.
    const username = `partner_${randomBytes(6).toString('hex')}`;
    const registered = await fetch(partnerUrl.replace(/status$/, 'users'), {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: 'correct-horse-battery' }),
    });
    expect(registered.status).toBe(201);
    const [userId, expiresAt, signature] = ((await registered.json()) as { token: string }).token.split('.');
    expect(signature).toBe(createHmac('sha256', SECRET).update(`${userId}.${expiresAt}`).digest('base64url'));
  }, 600_000);

  it('upgrades to 1.1.0 (a bumped package.json and a new route) while a partner polling every 50 ms sees only 200', async () => {
    const upgrade = await mkdtemp(path.join(tmpdir(), 'notes-1.1.0-'));
    try {
      // As `cp -a` would: node_modules/.bin keeps its relative links (Node's default rewrites them as absolute).
      cpSync(NOTES_DIR, upgrade, {
        recursive: true,
        verbatimSymlinks: true,
        filter: (src) => !path.basename(src).startsWith('.npm-install-'),
      });
      const pkgFile = path.join(upgrade, 'package.json');
      writeFileSync(pkgFile, JSON.stringify({ ...JSON.parse(readFileSync(pkgFile, 'utf8')), version: '1.1.0' }, null, 2));
      // A new plugin in the folder the service reads at run time, and the contract that declares it.
      writeFileSync(
        path.join(upgrade, 'src/routes/tags.js'),
        `import { requireUser } from '../auth.js';
export default async function tagRoutes(app, { db, tokens }) {
  app.get('/tags', { preHandler: requireUser(tokens, db) }, async (request) => {
    const counts = new Map();
    for (const note of db.listNotes(request.user.id)) for (const tag of note.tags) counts.set(tag, (counts.get(tag) ?? 0) + 1);
    return { items: [...counts].map(([name, count]) => ({ name, count })) };
  });
}
`,
      );
      const specFile = path.join(upgrade, 'openapi.yaml');
      const spec = parse(readFileSync(specFile, 'utf8'));
      spec.info.version = '1.1.0';
      spec.paths['/tags'] = {
        get: {
          operationId: 'listTags',
          security: [{ bearerAuth: [] }],
          responses: {
            '200': {
              description: "The caller's tags and how many notes carry each",
              content: {
                'application/json': { schema: { type: 'object', required: ['items'], properties: { items: { type: 'array' } } } },
              },
            },
            '401': { $ref: '#/components/responses/Unauthorized' },
          },
        },
      };
      writeFileSync(specFile, stringify(spec));

      const poller = partnerPoller(partnerUrl, apiKey);
      let seen: Seen[];
      try {
        v110 = await release('1.1.0', 'b1c2d3e4', upgrade);
        // Polls past the end too, until the old version is retired after its drain: nothing may fail then either.
        await stoppedAnswering(`${v100.links.productionUrl}/api/status`);
      } finally {
        seen = await poller.stop();
      }
      expect(seen.filter((s) => s.status !== 200)).toEqual([]);
      expect(seen.length).toBeGreaterThan(20);
      expect(switches(seen)).toEqual(['1.0.0', '1.1.0']);
      expect(await version(`${v110.links.productionUrl}/api/status`)).toBe('1.1.0');
      // The new route is published (the service's own 401, not the gateway's 404).
      const tags = await fetch(partnerUrl.replace(/status$/, 'tags'), { headers: { 'x-api-key': apiKey } });
      expect(tags.status).toBe(401);
    } finally {
      await rm(upgrade, { recursive: true, force: true });
    }
  }, 600_000);

  it('rolls back to 1.0.0 while the partner still sees only 200', async () => {
    const poller = partnerPoller(partnerUrl, apiKey);
    let out: CliRun;
    let seen: Seen[];
    try {
      out = await cli(['rollback', 'notes', '--as', 'ops@example.com', '--reason', 'back to 1.0.0'], 300_000);
      // Until the undone version is retired after its drain, the partner keeps polling.
      await stoppedAnswering(`${v110.links.productionUrl}/api/status`);
    } finally {
      seen = await poller.stop();
    }
    expect(out.code, out.stderr).toBe(0);
    expect(seen.filter((s) => s.status !== 200)).toEqual([]);
    expect(switches(seen)).toEqual(['1.1.0', '1.0.0']);

    const undone = await status(v110.releaseId);
    expect(undone).toMatchObject({ status: 'ROLLED_BACK', rolledBackBy: { restoredVersion: '1.0.0' } });
    const restored = await status(undone.rolledBackBy.restoredReleaseId);
    expect(await version(`${restored.links.productionUrl}/api/status`)).toBe('1.0.0');
    expect(await version(partnerUrl, apiKey)).toBe('1.0.0');
    // The gateway serves 1.0.0's contract again: 1.1.0's route is gone for partners.
    expect((await fetch(partnerUrl.replace(/status$/, 'tags'), { headers: { 'x-api-key': apiKey } })).status).toBe(404);
  }, 600_000);

  it('finds the secret nowhere: records, dev output, CLI output, emails, notes, reports, process logs', async () => {
    const records = await cli(['list', '--service', 'notes', '--json']);
    expect(records.code, records.stderr).toBe(0);
    const ids = (JSON.parse(records.stdout) as Array<{ releaseId: string }>).map((r) => r.releaseId);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    for (const id of ids) await status(id);
    for (const run of printed) expect(run.stdout + run.stderr).not.toContain(SECRET);
    expect(dev.output()).not.toContain(SECRET);

    // Everything the stack wrote (S3 data with the notes and reports, the outbox, the targets and their logs), but
    // the one file that holds it on purpose.
    const root = path.join(dataDir, '.launchway');
    // Installed packages are left out: copies from the registry, which nothing at run time writes to.
    const files = filesUnder(root).filter(
      (f) => f !== path.join(root, 'secrets.json') && !f.includes(`${path.sep}node_modules${path.sep}`),
    );
    const text = (f: string) => readFileSync(f).toString('latin1');
    const kinds = {
      emails: files.filter((f) => f.endsWith('.eml')),
      notes: files.filter((f) => f.includes(`${path.sep}release-notes${path.sep}notes${path.sep}`)),
      reports: files.filter((f) => f.includes(`${path.sep}reports${path.sep}notes${path.sep}`)),
      processLogs: files.filter((f) => text(f).includes('"msg":"notes ready"')),
    };
    for (const [kind, list] of Object.entries(kinds)) expect(list.length, kind).toBeGreaterThan(0);
    const holding = files.filter((f) => text(f).includes(SECRET));
    expect(holding.map((f) => path.relative(root, f))).toEqual([]);
  }, 120_000);
});
