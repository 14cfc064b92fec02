/**
 * Bundle size of every Lambda handler, built exactly as the construct builds it: the default CDK app is
 * synthesized with bundling into a temporary directory and each function's asset is measured. Writes
 * bench/results/bundle-sizes.json and prints a table. For each bundle it also records whether newman is inside
 * (it must be in smoke-test-staging's and validate-production's only), which AWS SDK clients are inside, and the
 * packages that weigh the most.
 *
 *   npx tsx bench/bundle-sizes.ts
 *
 * The package breakdown comes from esbuild's metafile of a second build with the construct's own options
 * (`bundlingFor`); its size is checked against the synthesized asset, so a drift between the two shows up as
 * `mirrorMatches: false` instead of a silently wrong breakdown.
 */
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as esbuild from 'esbuild';
import { buildApp } from '../infra/build-app.js';
import { HANDLERS, type HandlerSpec } from '../infra/handlers.js';
import { HANDLER_NAMES, type HandlerName } from '../functions/steps.js';
import { bundlingFor } from '../infra/launchway-function.js';
import { REPO_ROOT, handlerEntry } from '../infra/paths.js';

/** A string only newman's reporter loader contains (the same marker test/infra/bundling.test.ts uses). */
const NEWMAN_MARKER = 'newman-reporter-';

/** SDK clients the code base uses. The bundles keep class names (`keepNames`), so a client's name is a marker. */
const SDK_CLIENTS = [
  'DynamoDBClient',
  'S3Client',
  'SFNClient',
  'KMSClient',
  'SESv2Client',
  'LambdaClient',
  'CloudFormationClient',
  'ECSClient',
  'APIGatewayClient',
  'CloudWatchClient',
];

interface BundleReport {
  bytes: number;
  sourceMapBytes: number;
  newman: boolean;
  newmanExpected: boolean;
  sdkClients: string[];
  /** Largest contributors to the minified output, by npm package (or `functions/lib` for our own code). */
  largestPackages: { name: string; bytes: number }[];
  /** Whether the metafile build produced the same number of bytes as the synthesized asset. */
  mirrorMatches: boolean;
}

const resultsFile = path.join(REPO_ROOT, 'bench', 'results', 'bundle-sizes.json');
const outdir = await mkdtemp(path.join(tmpdir(), 'launchway-bundle-sizes-'));
const reports = {} as Record<HandlerName, BundleReport>;
try {
  const cdkJson = JSON.parse(await readFile(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context?: object };
  const app = new App({ outdir, context: { ...cdkJson.context } });
  // No LAUNCHWAY_* variables: the default app, exactly as `npm run synth` builds it from examples/catalog.json.
  const stack = buildApp(app, {});
  const t0 = performance.now();
  app.synth();
  process.stderr.write(`synthesized with bundling in ${Math.round(performance.now() - t0)} ms\n`);

  for (const name of HANDLER_NAMES) {
    const fn = stack.pipeline.functions[name].node.defaultChild as CfnFunction;
    const key = (stack.resolve(fn.code) as { s3Key: string }).s3Key;
    const bundle = path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
    const text = await readFile(bundle, 'utf8');
    const bytes = Buffer.byteLength(text);
    const spec: HandlerSpec = HANDLERS[name];
    const { packages, mirrorBytes } = await breakdown(name, spec, path.join(outdir, 'mirror', name));
    reports[name] = {
      bytes,
      sourceMapBytes: (await stat(`${bundle}.map`)).size,
      newman: text.includes(NEWMAN_MARKER),
      newmanExpected: Boolean(spec.bundlesNewman),
      sdkClients: SDK_CLIENTS.filter((client) => text.includes(`"${client}"`)),
      largestPackages: packages.slice(0, 8),
      mirrorMatches: mirrorBytes === bytes,
    };
  }
} finally {
  await rm(outdir, { recursive: true, force: true });
}

/** esbuild with the construct's options and a metafile, summed by package. */
async function breakdown(name: HandlerName, spec: HandlerSpec, dir: string) {
  const outfile = path.join(dir, 'index.mjs');
  const result = await esbuild.build({ ...esbuildOptionsOf(bundlingFor(spec)), entryPoints: [handlerEntry(name)], outfile });
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint)!;
  const byPackage = new Map<string, number>();
  for (const [file, input] of Object.entries(output.inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1] ?? file.split('/').slice(0, 2).join('/');
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + input.bytesInOutput);
  }
  const packages = [...byPackage].map(([pkgName, bytes]) => ({ name: pkgName, bytes })).sort((a, b) => b.bytes - a.bytes);
  return { packages, mirrorBytes: (await stat(outfile)).size };
}

/** The esbuild API options matching the CLI flags NodejsFunction derives from BundlingOptions. */
function esbuildOptionsOf(b: BundlingOptions): esbuild.BuildOptions & { metafile: true } {
  return {
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: 'node',
    target: b.target,
    format: b.format as esbuild.Format | undefined,
    minify: b.minify,
    keepNames: b.keepNames,
    sourcemap: b.sourceMap,
    sourcesContent: b.sourcesContent,
    external: b.externalModules,
    mainFields: b.mainFields,
    banner: b.banner ? { js: b.banner } : undefined,
    metafile: true,
    logLevel: 'error',
  };
}

const totalBytes = Object.values(reports).reduce((sum, r) => sum + r.bytes, 0);
const report = {
  benchmark: 'bundle-sizes',
  description:
    'Minified ESM bundle of each Lambda handler as `cdk synth` builds it (default app, examples/catalog.json); newman must be in smoke-test-staging and validate-production only',
  date: new Date().toISOString(),
  machine: { node: process.version, cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  esbuild: esbuild.version,
  totalBytes,
  functions: reports,
};
await mkdir(path.dirname(resultsFile), { recursive: true });
await writeFile(resultsFile, `${JSON.stringify(report, null, 2)}\n`);

const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
const rows = HANDLER_NAMES.map((name) => {
  const r = reports[name];
  return [
    name,
    mb(r.bytes),
    r.newman ? 'yes' : 'no',
    r.sdkClients.map((c) => c.replace(/Client$/, '')).join(' '),
    r.largestPackages
      .slice(0, 3)
      .map((p) => `${p.name} ${Math.round(p.bytes / 1024)}K`)
      .join(', '),
  ];
});
const header = ['function', 'bundle', 'newman', 'SDK clients', 'largest packages'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 1 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
console.log(line(header));
for (const row of rows) console.log(line(row));
console.log(`total ${mb(totalBytes)}; written to ${path.relative(process.cwd(), resultsFile) || resultsFile}`);

const misplaced = HANDLER_NAMES.filter((name) => reports[name].newman !== reports[name].newmanExpected);
if (misplaced.length) console.error(`newman is where it should not be (or missing): ${misplaced.join(', ')}`);
const drifted = HANDLER_NAMES.filter((name) => !reports[name].mirrorMatches);
if (drifted.length) console.error(`the package breakdown build differs in size from the synthesized asset for: ${drifted.join(', ')}`);
// A wrong newman placement is a defect, not a number; everything else here is only measured.
process.exitCode = misplaced.length ? 1 : 0;
