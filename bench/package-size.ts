/**
 * What installing Launchway downloads and writes: `npm pack --json` (its prepack builds dist/ first), measured as
 * npm reports it. Writes bench/results/package-size.json: the tarball's bytes, the unpacked bytes, the file count,
 * the largest files, the bytes of each prebundled handler (dist/lambda/<handler>/index.mjs), and how the unpacked
 * bytes split between the handler bundles, the compiled code and the rest.
 *
 *   npx tsx bench/package-size.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HANDLERS } from '../infra/handlers.js';

interface PackResult {
  name: string;
  version: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

const root = fileURLToPath(new URL('..', import.meta.url));
const dest = await mkdtemp(path.join(tmpdir(), 'launchway-package-size-'));
let pack: PackResult;
try {
  // prepack's own output lands on stdout too, before npm's JSON.
  const stdout = execFileSync('npm', ['pack', '--json', '--pack-destination', dest], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  [pack] = JSON.parse(stdout.slice(stdout.search(/^\[/m))) as PackResult[];
} finally {
  await rm(dest, { recursive: true, force: true });
}

const sum = (files: { size: number }[]) => files.reduce((n, f) => n + f.size, 0);
const bundles = pack.files.filter((f) => f.path.startsWith('dist/lambda/'));
const compiled = pack.files.filter((f) => f.path.startsWith('dist/') && !f.path.startsWith('dist/lambda/'));
const handlerBytes = Object.fromEntries(
  Object.keys(HANDLERS).map((name) => [name, pack.files.find((f) => f.path === `dist/lambda/${name}/index.mjs`)?.size ?? null]),
);
const report = {
  benchmark: 'package-size',
  description: 'The npm package as `npm pack` builds it: tarball (what an install downloads) and unpacked bytes, as npm reports them',
  date: new Date().toISOString(),
  machine: { node: process.version, cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  package: `${pack.name}@${pack.version}`,
  tarballBytes: pack.size,
  unpackedBytes: pack.unpackedSize,
  fileCount: pack.entryCount,
  unpackedSplit: {
    handlerBundles: sum(bundles),
    compiledCode: sum(compiled),
    other: pack.unpackedSize - sum(bundles) - sum(compiled),
  },
  handlerBundleBytes: handlerBytes,
  largestFiles: [...pack.files]
    .sort((a, b) => b.size - a.size)
    .slice(0, 15)
    .map((f) => ({ path: f.path, size: f.size })),
};
const out = path.join(root, 'bench/results/package-size.json');
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);

const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
console.log(`${report.package}: tarball ${mb(report.tarballBytes)}, unpacked ${mb(report.unpackedBytes)} in ${report.fileCount} files`);
console.log(`  handler bundles ${mb(report.unpackedSplit.handlerBundles)}, compiled code ${mb(report.unpackedSplit.compiledCode)}`);
console.log(`wrote ${path.relative(root, out)}`);
