/**
 * `npm run bench`: every benchmark in turn, each writing its results to bench/results/. Benchmarks measure; they
 * never fail a build on a number (that is what a timed test would do, and we do not write those).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// package-size builds dist/, which cli-start then times.
const BENCHMARKS = ['embedded-release.ts', 'bundle-sizes.ts', 'package-size.ts', 'cli-start.ts'];

let failed = 0;
for (const file of BENCHMARKS) {
  const path = fileURLToPath(new URL(file, import.meta.url));
  process.stderr.write(`\n== ${file}\n`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', path, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (run.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
