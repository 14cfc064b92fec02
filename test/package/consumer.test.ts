import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '../../functions/lib/catalog.js';
import { HANDLERS } from '../../infra/handlers.js';
import { describeFinished, killRunning, runProcess, type Finished } from './run-process.js';

/**
 * The package as a team gets it: `npm pack` (its prepack builds dist/), the tarball installed with aws-cdk-lib and
 * constructs into a fresh folder outside the repository, then everything a user does first, from that folder only:
 * a CDK app of their own, TypeScript against the shipped types, the bin, `launchway init` and a whole embedded
 * release. The only file that packs, so two builds never write dist/ at once.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MINUTE = 60_000;
const versionOf = (pkg: string) =>
  (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
const OWN = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

// npm's lifecycle variables describe the repository's package; an install in another folder must not see them.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_(package|lifecycle)_|^npm_config_local_prefix$|^INIT_CWD$/.test(k)),
);

interface PackedFile {
  path: string;
  size: number;
}
/** `npm pack --json` prints an array with one entry; lifecycle scripts may print lines of their own before it. */
function packedFiles(out: Finished): string[] {
  const start = out.stdout.search(/^\[/m);
  expect(start, describeFinished(out)).toBeGreaterThanOrEqual(0);
  const [entry] = JSON.parse(out.stdout.slice(start)) as { files: PackedFile[] }[];
  return entry.files.map((f) => f.path).sort();
}

function expectExit0(f: Finished): Finished {
  expect(f.code, describeFinished(f)).toBe(0);
  return f;
}

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

let tmp: string;
let project: string;
let packed: string[];

const npx = (args: string[], timeoutMs: number) =>
  // --no: never fetch launchway from the registry, it must come from the folder's own node_modules; `--` keeps npx
  // from reading the command's options (`--version`) as its own.
  runProcess('npx', ['--no', '--', 'launchway', ...args], { cwd: project, env, timeoutMs });

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'launchway-consumer-'));
  project = path.join(tmp, 'team-app');
  await mkdir(project);
  // prepack (scripts/build-package.ts) compiles and bundles into dist/ first.
  const pack = expectExit0(
    await runProcess('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT, env, timeoutMs: 8 * MINUTE }),
  );
  packed = packedFiles(pack);
  const tarball = path.join(tmp, `${OWN.name}-${OWN.version}.tgz`);
  expect(existsSync(tarball), describeFinished(pack)).toBe(true);

  expectExit0(await runProcess('npm', ['init', '-y'], { cwd: project, env, timeoutMs: MINUTE }));
  expectExit0(await runProcess('npm', ['pkg', 'set', 'type=module'], { cwd: project, env, timeoutMs: MINUTE }));
  const install = ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball];
  install.push(`aws-cdk-lib@${versionOf('aws-cdk-lib')}`, `constructs@${versionOf('constructs')}`);
  expectExit0(await runProcess('npm', install, { cwd: project, env, timeoutMs: 8 * MINUTE }));
}, 18 * MINUTE);

afterAll(async () => {
  killRunning();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('what npm pack ships', () => {
  it('matches npm pack --dry-run, with no tests, benchmarks, scripts or TypeScript sources', async () => {
    const dry = expectExit0(
      await runProcess('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, env, timeoutMs: 2 * MINUTE }),
    );
    const listed = packedFiles(dry);
    expect(listed).toEqual(packed);
    const forbidden = listed.filter(
      (f) =>
        /^(test|bench|\.ci|scripts|examples\/notes)\//.test(f) ||
        /\.test\./.test(f) ||
        (/\.(c|m)?ts$/.test(f) && !/\.d\.(c|m)?ts$/.test(f)),
    );
    expect(forbidden).toEqual([]);
    const handlers = Object.keys(HANDLERS).map((h) => `dist/lambda/${h}/index.mjs`);
    const required = [
      'bin/launchway.js',
      'dist/infra/index.js',
      'dist/infra/index.d.ts',
      'dist/cli/main.js',
      'schemas/catalog.schema.json',
    ];
    expect(listed).toEqual(expect.arrayContaining([...required, ...handlers]));
  });
});

describe('the installed package, from a fresh folder outside the repository', () => {
  it('installs without esbuild: the handlers come bundled', () => {
    expect(existsSync(path.join(project, 'node_modules', 'launchway', 'dist', 'infra', 'index.js'))).toBe(true);
    expect(existsSync(path.join(project, 'node_modules', 'esbuild'))).toBe(false);
    expect(existsSync(path.join(project, 'node_modules', 'tsx'))).toBe(false);
  });

  it(
    "synthesizes a 10-line app with the folder's own catalog, every function's code the shipped bundle",
    async () => {
      const catalog = {
        $schema: './node_modules/launchway/schemas/catalog.schema.json',
        services: {
          invoices: {
            approvers: ['finance-lead@example.com'],
            triggeredBy: ['ci@example.com'],
            staging: { type: 'lambda-alias', functionName: 'invoices-staging', functionUrl: true },
            production: { type: 'lambda-alias', functionName: 'invoices-prod', functionUrl: true },
          },
        },
      };
      parseCatalog(catalog, 'the consumer catalog');
      await writeFile(path.join(project, 'invoices.catalog.json'), `${JSON.stringify(catalog, null, 2)}\n`);
      const app = [
        "import { App, Stack } from 'aws-cdk-lib';",
        "import { ReleasePipeline, loadCatalogFile } from 'launchway';",
        '',
        "const app = new App({ outdir: 'cdk.out' });",
        "const stack = new Stack(app, 'InvoiceReleases');",
        "new ReleasePipeline(stack, 'Pipeline', {",
        "  catalog: loadCatalogFile('invoices.catalog.json'),",
        "  mailFrom: 'releases@example.com',",
        '});',
        'app.synth();',
      ];
      await writeFile(path.join(project, 'app.mjs'), `${app.join('\n')}\n`);
      expectExit0(await runProcess(process.execPath, ['app.mjs'], { cwd: project, env, timeoutMs: 5 * MINUTE }));

      const outdir = path.join(project, 'cdk.out');
      const template = JSON.parse(await readFile(path.join(outdir, 'InvoiceReleases.template.json'), 'utf8')) as {
        Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }>;
      };
      const resources = Object.entries(template.Resources);
      expect(resources.filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')).toHaveLength(1);
      const text = JSON.stringify(template);
      expect(text).toContain('function:invoices-staging');
      expect(text).not.toContain('greeter');

      // Each pipeline function's asset is one file, byte for byte the bundle the package ships for its handler.
      const assets = new Map<string, string[]>();
      for (const [id, r] of resources) {
        if (r.Type !== 'AWS::Lambda::Function' || !id.startsWith('Pipeline')) continue;
        const dir = path.join(outdir, `asset.${r.Properties.Code!.S3Key!.replace(/\.zip$/, '')}`);
        assets.set(await sha256(path.join(dir, 'index.mjs')), await readdir(dir));
      }
      expect(assets.size).toBe(Object.keys(HANDLERS).length);
      for (const name of Object.keys(HANDLERS)) {
        const shipped = await sha256(path.join(project, 'node_modules/launchway/dist/lambda', name, 'index.mjs'));
        expect(assets.get(shipped), `the asset of ${name}`).toEqual(['index.mjs']);
      }
    },
    6 * MINUTE,
  );

  it(
    'type-checks a TypeScript app against the shipped types (NodeNext, the exports map, library declarations checked)',
    async () => {
      const check = [
        "import { App, Stack } from 'aws-cdk-lib';",
        "import { ReleasePipeline, type Catalog, type ReleasePipelineProps } from 'launchway';",
        '',
        "const deploy = { type: 'http', deployUrl: 'https://deploy.example.com/invoices' } as const;",
        "const catalog: Catalog = { services: { invoices: { approvers: ['lead@example.com'], staging: deploy, production: deploy } } };",
        "const props: ReleasePipelineProps = { catalog, mailFrom: 'releases@example.com' };",
        "export const pipeline: ReleasePipeline = new ReleasePipeline(new Stack(new App(), 'S'), 'P', props);",
        '// @ts-expect-error mailFrom is required, which only real types know',
        'export const incomplete: ReleasePipelineProps = { catalog };',
      ];
      await writeFile(path.join(project, 'check.ts'), `${check.join('\n')}\n`);
      const tsconfig = {
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          // aws-cdk-lib's own declarations use Disposable.
          lib: ['ES2022', 'esnext.disposable'],
          strict: true,
          noEmit: true,
          // A TypeScript CDK app has @types/node; this folder borrows the repository's rather than install it.
          typeRoots: [path.join(ROOT, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['check.ts'],
      };
      await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
      const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
      expectExit0(await runProcess(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project, env, timeoutMs: 6 * MINUTE }));
    },
    7 * MINUTE,
  );

  it(
    'runs the bin: --version prints the package version, --help exits 0',
    async () => {
      const version = expectExit0(await npx(['--version'], 2 * MINUTE));
      expect(version.stdout.trim()).toBe(OWN.version);
      const help = expectExit0(await npx(['--help'], 2 * MINUTE));
      expect(help.stdout).toMatch(/^Usage: launchway /);
      expect(help.stdout).toContain('demo');
    },
    5 * MINUTE,
  );

  it(
    'scaffolds with launchway init, and the scaffolded app synthesizes',
    async () => {
      expectExit0(await npx(['init', '--service', 'payments'], 2 * MINUTE));
      for (const file of [
        'launchway.catalog.json',
        'launchway-app.mjs',
        'cdk.json',
        '.github/workflows/launchway-release.yml',
        'README.md',
      ]) {
        expect(existsSync(path.join(project, file)), file).toBe(true);
      }
      const catalog = JSON.parse(await readFile(path.join(project, 'launchway.catalog.json'), 'utf8')) as { $schema: string };
      expect(catalog.$schema).toBe('./node_modules/launchway/schemas/catalog.schema.json');
      expect(existsSync(path.join(project, catalog.$schema))).toBe(true);
      expect(Object.keys(parseCatalog(catalog, 'launchway.catalog.json').services)).toEqual(['payments']);
      expect(JSON.parse(await readFile(path.join(project, 'cdk.json'), 'utf8'))).toMatchObject({ app: 'node launchway-app.mjs' });
      expect(await readFile(path.join(project, 'README.md'), 'utf8')).toContain('## Releasing with Launchway');

      const again = await npx(['init', '--service', 'payments'], 2 * MINUTE);
      expect(again.code, describeFinished(again)).toBe(2);
      expect(again.stdout + again.stderr).toContain('launchway.catalog.json');

      // As `cdk synth` runs it: context in CDK_CONTEXT_JSON, the cloud assembly in CDK_OUTDIR.
      const outdir = path.join(tmp, 'init.out');
      const mail = { LAUNCHWAY_MAIL_FROM: 'releases@example.com', CDK_CONTEXT_JSON: JSON.stringify({ mailFrom: 'releases@example.com' }) };
      const synth = await runProcess(process.execPath, ['launchway-app.mjs'], {
        cwd: project,
        env: { ...env, ...mail, CDK_OUTDIR: outdir },
        timeoutMs: 5 * MINUTE,
      });
      expectExit0(synth);
      const templates = (await readdir(outdir)).filter((f) => f.endsWith('.template.json'));
      const machines = await Promise.all(
        templates.map(async (t) => (await readFile(path.join(outdir, t), 'utf8')).includes('AWS::StepFunctions::StateMachine')),
      );
      expect(machines).toContain(true);
    },
    10 * MINUTE,
  );

  it(
    'runs a whole embedded release: launchway demo --approve-as ends SUCCEEDED',
    async () => {
      const dataDir = path.join(tmp, 'demo-data');
      const demo = expectExit0(await npx(['demo', '--approve-as', 'lead@example.com', '--json', '--data-dir', dataDir], 8 * MINUTE));
      const last = demo.stdout.trim().split('\n').at(-1)!;
      expect(JSON.parse(last)).toMatchObject({ service: 'greeter', version: '1.1.0', status: 'SUCCEEDED' });
    },
    9 * MINUTE,
  );
});
