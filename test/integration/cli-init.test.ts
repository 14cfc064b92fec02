import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InitWrites } from '../../cli/init-files.js';
import { parseCatalog } from '../../functions/lib/catalog.js';
import { REPO_ROOT } from '../../infra/paths.js';
import { releaseWorkflowChecks } from '../helpers/release-workflow-checks.js';
import { type CliRun, runCli } from '../helpers/run-cli.js';

/**
 * `launchway init` and `launchway dev`'s catalog discovery, run as a user runs them: the CLI spawned in a folder of
 * their own, its files read back and checked against what consumes them.
 */

const BIN = path.join(REPO_ROOT, 'bin', 'launchway.js');
const launchway = (cwd: string, args: string[], timeoutMs = 60_000) => runCli(args, { cwd, timeoutMs });

const scratch: string[] = [];
async function folder(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'launchway-init-'));
  scratch.push(dir);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

/** Every file under `dir`, relative, sorted. */
const listing = (dir: string) =>
  (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();

const WORKFLOW = '.github/workflows/launchway-release.yml';
const HEADING = '## Releasing with Launchway';
const count = (text: string, part: string) => text.split(part).length - 1;

describe('launchway init in a service folder', () => {
  let dir: string;
  let first: CliRun;
  beforeAll(async () => {
    dir = await folder({ 'package.json': JSON.stringify({ name: '@acme/pay-ments', version: '1.0.0' }), 'README.md': '# Payments\n' });
    first = await launchway(dir, ['init']);
  });

  it('names the service after package.json without its scope and lists what it wrote', () => {
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('Launchway set up for pay-ments');
    for (const file of ['launchway.catalog.json', 'launchway-app.mjs', 'cdk.json', WORKFLOW])
      expect(first.stdout).toMatch(new RegExp(`${file}\\s+created`));
    expect(first.stdout).toMatch(/README\.md\s+section appended/);
    expect(first.stdout).toMatch(/\.gitignore\s+created/);
    expect(first.stdout).toContain('  npm install --save-dev launchway aws-cdk aws-cdk-lib constructs\n');
    expect(listing(dir)).toEqual([
      '.github/workflows/launchway-release.yml',
      '.gitignore',
      'README.md',
      'cdk.json',
      'launchway-app.mjs',
      'launchway.catalog.json',
      'package.json',
    ]);
  });

  it('writes a catalog that parseCatalog and the JSON Schema accept, pointing editors at the installed schema', () => {
    const json = JSON.parse(readFileSync(path.join(dir, 'launchway.catalog.json'), 'utf8'));
    const catalog = parseCatalog(json);
    expect(Object.keys(catalog.services)).toEqual(['pay-ments']);
    const service = catalog.services['pay-ments'];
    expect(service.staging).toMatchObject({ type: 'local-process', healthPath: '/health' });
    expect(service.production).toMatchObject({ type: 'local-process', healthPath: '/health' });
    expect(service.requiredApprovals).toBe(1);
    expect(service.interop.enabled).toBe(true);
    expect(service.description).toContain('local-process targets only run embedded (launchway dev)');
    expect(schemaValidator()(json), JSON.stringify(schemaValidator().errors)).toBe(true);
    // The schema is at that path inside the installed package: package.json ships it.
    expect(json.$schema).toBe('./node_modules/launchway/schemas/catalog.schema.json');
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('schemas/catalog.schema.json');
    expect(existsSync(path.join(REPO_ROOT, 'schemas/catalog.schema.json'))).toBe(true);
  });

  it('writes an ESM CDK app on the construct library and a cdk.json that runs it', () => {
    const app = readFileSync(path.join(dir, 'launchway-app.mjs'), 'utf8');
    expect(app).toMatch(/^import \{ ReleasePipeline, loadCatalogFile \} from 'launchway';$/m);
    expect(app).toMatch(/^import \{ App, Stack \} from 'aws-cdk-lib';$/m);
    expect(app).toContain("loadCatalogFile('launchway.catalog.json')");
    expect(app).toContain("new ReleasePipeline(stack, 'Releases'");
    expect(app).toMatch(/tryGetContext\('mailFrom'\) \?\? process\.env\.LAUNCHWAY_MAIL_FROM/);
    expect(app).not.toContain('CfnOutput');
    expect(app.trim().split('\n').length).toBeLessThanOrEqual(16);
    expect(JSON.parse(readFileSync(path.join(dir, 'cdk.json'), 'utf8'))).toEqual({ app: 'node launchway-app.mjs' });
  });

  it('keeps the dev data (signing secret, secrets.json) and cdk.out out of git, adding only the missing lines', async () => {
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe('.launchway/\ncdk.out/\n');
    const other = await folder({ '.gitignore': 'node_modules\n/cdk.out' });
    const run = await launchway(other, ['init', '--service', 'ledger']);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(path.join(other, '.gitignore'), 'utf8')).toBe('node_modules\n/cdk.out\n.launchway/\n');
  });

  it('appends the README section after what was there', () => {
    const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme.startsWith('# Payments\n\n## Releasing with Launchway\n')).toBe(true);
    for (const part of [
      'npm install --save-dev launchway aws-cdk aws-cdk-lib constructs',
      'local-process` targets only run embedded (`launchway dev`)',
      'npx launchway dev',
      'npx cdk deploy -c mailFrom=',
      WORKFLOW,
    ]) {
      expect(readme).toContain(part);
    }
    expect(readme).toMatch(/\[its JSON Schema\]\(https:\/\/[^)]+\/schemas\/catalog\.schema\.json\)/);
  });

  it('refuses to run again, naming each file it would replace, and writes nothing', async () => {
    const before = Object.fromEntries(listing(dir).map((f) => [f, readFileSync(path.join(dir, f), 'utf8')]));
    const again = await launchway(dir, ['init', '--json']);
    expect(again.code).toBe(2);
    const body = JSON.parse(again.stdout) as { error: { code: string; details: { fields: Record<string, string> } } };
    expect(body.error.code).toBe('VALIDATION_ERROR');
    expect(Object.keys(body.error.details.fields).sort()).toEqual([WORKFLOW, 'launchway-app.mjs', 'launchway.catalog.json']);
    expect(Object.fromEntries(listing(dir).map((f) => [f, readFileSync(path.join(dir, f), 'utf8')]))).toEqual(before);
  });

  it('replaces its files with --force, keeps cdk.json and adds the README section only once', async () => {
    writeFileSync(path.join(dir, 'launchway-app.mjs'), '// edited\n');
    const forced = await launchway(dir, ['init', '--force', '--service', 'payments', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toEqual({
      service: 'payments',
      directory: dir,
      files: [
        { path: 'launchway.catalog.json', action: 'overwritten' },
        { path: 'launchway-app.mjs', action: 'overwritten' },
        { path: 'cdk.json', action: 'kept' },
        { path: WORKFLOW, action: 'overwritten' },
        { path: 'README.md', action: 'kept' },
        { path: '.gitignore', action: 'kept' },
      ],
      otherCdkApp: false,
    });
    expect(readFileSync(path.join(dir, 'launchway-app.mjs'), 'utf8')).toContain('ReleasePipeline');
    expect(count(readFileSync(path.join(dir, 'README.md'), 'utf8'), HEADING)).toBe(1);
    expect(Object.keys(JSON.parse(readFileSync(path.join(dir, 'launchway.catalog.json'), 'utf8')).services)).toEqual(['payments']);
  });

  describe('the workflow it writes', () => {
    releaseWorkflowChecks(() => readFileSync(path.join(dir, WORKFLOW), 'utf8'), { LAUNCHWAY_STACK: 'Launchway' });
  });
});

describe('launchway init refusals and defaults', () => {
  it('refuses files that exist before writing anything, naming each (exit 2)', async () => {
    const dir = await folder({ 'launchway.catalog.json': '{}', [WORKFLOW]: 'name: mine\n' });
    const run = await launchway(dir, ['init', '--service', 'payments']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('launchway init would replace');
    expect(run.stderr).toMatch(/launchway\.catalog\.json: exists/);
    expect(run.stderr).toContain(`${WORKFLOW}: exists`);
    expect(run.stderr).not.toMatch(/launchway-app\.mjs: exists/);
    expect(listing(dir)).toEqual([WORKFLOW, 'launchway.catalog.json']);
    expect(readFileSync(path.join(dir, 'launchway.catalog.json'), 'utf8')).toBe('{}');
  });

  it('refuses a file where a folder must be before writing anything, naming it (exit 2); once it is gone, init runs', async () => {
    const dir = await folder({ '.github': 'not a folder\n' });
    const run = await launchway(dir, ['init', '--service', 'ledger', '--json']);
    expect(run.code, run.stderr).toBe(2);
    const body = JSON.parse(run.stdout) as { error: { message: string; details: { fields: Record<string, string> } } };
    expect(body.error.message).toBe(`launchway init cannot write .github in ${dir}`);
    expect(body.error.details.fields).toEqual({
      '.github': `is a file, not a folder: ${WORKFLOW} goes inside it; nothing was written`,
    });
    expect(listing(dir)).toEqual(['.github']);
    const human = await launchway(dir, ['init', '--service', 'ledger']);
    expect(human.code).toBe(2);
    expect(human.stderr).toContain(`.github: is a file, not a folder: ${WORKFLOW} goes inside it`);
    rmSync(path.join(dir, '.github'));
    const rerun = await launchway(dir, ['init', '--service', 'ledger']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(listing(dir)).toContain(WORKFLOW);
  });

  it('refuses README.md or .gitignore that are folders, naming each (exit 2), and writes nothing', async () => {
    const dir = await folder({ 'README.md/notes.txt': 'a folder named README.md\n', '.gitignore/keep': '' });
    const run = await launchway(dir, ['init', '--service', 'ledger', '--json']);
    expect(run.code, run.stderr).toBe(2);
    const body = JSON.parse(run.stdout) as { error: { details: { fields: Record<string, string> } } };
    expect(body.error.details.fields).toEqual({
      'README.md': 'is a folder, not a regular file; nothing was written',
      '.gitignore': 'is a folder, not a regular file; nothing was written',
    });
    expect(listing(dir)).toEqual(['.gitignore/keep', 'README.md/notes.txt']);
  });

  it('removes the files a run created when a later write fails, and leaves the files it replaced', async () => {
    const dir = await folder({ 'kept.txt': 'before\n' });
    const writes = new InitWrites(dir);
    const failing = writes.run(async () => {
      await writes.write('kept.txt', 'after\n');
      await writes.write('new.txt', 'new\n');
      await writes.write('.github/workflows/release.yml', 'name: x\n');
      // new.txt is a file: writing under it fails as an I/O error would, after the checks.
      await writes.write('new.txt/inside.txt', 'never\n');
    });
    const message = await failing.then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    expect(message.startsWith(`launchway init failed in ${dir}: E`)).toBe(true);
    expect(message).toContain(`mkdir '${path.join(dir, 'new.txt')}'`);
    expect(
      message.endsWith(
        '; removed what it had created (.github/workflows/release.yml, .github, new.txt), files it replaced or appended to are left as they are',
      ),
    ).toBe(true);
    expect(listing(dir)).toEqual(['kept.txt']);
    expect(readdirSync(dir)).toEqual(['kept.txt']);
    expect(readFileSync(path.join(dir, 'kept.txt'), 'utf8')).toBe('after\n');
  });

  it('refuses a --service the catalog would refuse (exit 2, naming --service) and writes nothing', async () => {
    const dir = await folder();
    for (const bad of ['Payments', 'x', '9lives', 'pay_ments']) {
      const run = await launchway(dir, ['init', '--service', bad, '--json']);
      expect(run.code, bad).toBe(2);
      const body = JSON.parse(run.stdout) as { error: { details: { fields: Record<string, string> } } };
      expect(body.error.details.fields['--service']).toContain(JSON.stringify(bad));
    }
    expect(listing(dir)).toEqual([]);
  });

  it('without package.json names the service after the folder, creates the README and keeps a cdk.json of another app', async () => {
    const dir = await folder({ 'cdk.json': '{"app":"npx ts-node bin/app.ts"}\n' });
    const run = await launchway(dir, ['init']);
    expect(run.code, run.stderr).toBe(0);
    const expected = path
      .basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-');
    expect(Object.keys(parseCatalog(JSON.parse(readFileSync(path.join(dir, 'launchway.catalog.json'), 'utf8'))).services)).toEqual([
      expected,
    ]);
    expect(readFileSync(path.join(dir, 'cdk.json'), 'utf8')).toBe('{"app":"npx ts-node bin/app.ts"}\n');
    expect(run.stdout).toMatch(/cdk\.json\s+left as it was/);
    expect(run.stdout).toContain('npx cdk deploy --app "node launchway-app.mjs"');
    const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme.startsWith(HEADING)).toBe(true);
    expect(count(readme, HEADING)).toBe(1);
  });
});

describe('launchway dev finds its catalog', () => {
  it('in a folder without launchway.catalog.json, exits 2 at once naming init, --catalog and demo', async () => {
    const dir = await folder();
    const run = await launchway(dir, ['dev', '--data-dir', path.join(dir, 'data')], 30_000);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('launchway dev needs a service catalog');
    expect(run.stderr).toContain(`${dir} has no launchway.catalog.json`);
    for (const way of ['launchway init', 'launchway dev --catalog <file>', 'launchway demo']) expect(run.stderr).toContain(way);
    // It stopped before booting: nothing was started, so the data folder was never created.
    expect(existsSync(path.join(dir, 'data'))).toBe(false);
    expect(run.stdout).toBe('');
  });

  it('names --catalog when the file it names does not exist', async () => {
    const dir = await folder();
    const run = await launchway(dir, ['dev', '--catalog', 'services.json'], 30_000);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`no catalog file at ${path.join(dir, 'services.json')}`);
    expect(run.stderr).toContain('--catalog: services.json: no such file');
  });

  it('boots with the catalog launchway init wrote in the working directory', async () => {
    const dir = await folder({ 'package.json': JSON.stringify({ name: 'ledger' }) });
    expect((await launchway(dir, ['init'])).code).toBe(0);
    const dev = spawn(process.execPath, [BIN, 'dev'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', LOG_LEVEL: 'ERROR' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    dev.stdout.on('data', (d) => (output += d));
    dev.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => dev.on('close', resolve));
    try {
      const envFile = path.join(dir, '.launchway', 'endpoints.env');
      const deadline = Date.now() + 60_000;
      while (!existsSync(envFile)) {
        if (Date.now() > deadline || dev.exitCode !== null) throw new Error(`launchway dev did not write ${envFile}:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(output).toContain('Launchway embedded stack is up (catalog launchway.catalog.json)');
      expect(output).toContain('npx launchway release --service ledger');
    } finally {
      dev.kill('SIGINT');
      const stopped = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
      if (stopped === 'still running') dev.kill('SIGKILL');
      expect(stopped).toBe(0);
    }
  }, 120_000);
});

let validator: ValidateFunction | undefined;
/** schemas/catalog.schema.json compiled by ajv, as an editor or a CI lint step would use it. */
function schemaValidator(): ValidateFunction {
  // ajv-formats is CommonJS with a `default` property: which half the loader hands out depends on the loader.
  const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;
  validator ??= addFormats(new Ajv({ allErrors: true, strict: false })).compile(
    JSON.parse(readFileSync(path.join(REPO_ROOT, 'schemas', 'catalog.schema.json'), 'utf8')),
  );
  return validator;
}
