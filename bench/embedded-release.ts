/**
 * Benchmarks of the embedded pipeline, written to bench/results/ (never asserted in a timed test):
 * how long the stack takes to boot, and how long a whole release takes with each step's share, over a few runs.
 *
 *   npx tsx bench/embedded-release.ts        # 3 releases
 *   npx tsx bench/embedded-release.ts 5      # 5 releases
 */
import '../local/embedded-defaults.js';
import '../local/polyfills.js';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir, cpus, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbedded, FAST_WAITS } from '../local/runtime.js';
import { decideFromOutbox } from '../cli/approve.js';
import { startRelease, waitForRelease, getReleaseView } from '../cli/release-client.js';
import { parseCatalog } from '../functions/lib/catalog.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number.parseInt(process.argv[2] ?? '3', 10);
const example = (v: string, f: string) => path.join(root, 'examples/greeter', v, f);

async function approveWhenAsked(outbox: string, releaseId: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const view = await getReleaseView(releaseId);
    if (view?.status === 'AWAITING_APPROVAL') {
      await decideFromOutbox(outbox, { releaseId, approver: 'lead@example.com', decision: 'approve' });
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no approval request within 30 s');
}

const dataDir = await mkdtemp(path.join(tmpdir(), 'launchway-bench-'));
const catalog = parseCatalog(
  JSON.parse(await (await import('node:fs/promises')).readFile(path.join(root, 'examples/catalog.json'), 'utf8')),
);
process.env.LOG_LEVEL ??= 'ERROR';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
const bootStart = performance.now();
const stack = await startEmbedded({ catalog, dataDir, waits: FAST_WAITS });
const bootMs = performance.now() - bootStart;
const results: { version: string; totalMs: number; status: string; steps: Record<string, number | undefined> }[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const version = `1.0.${i}`;
    const t0 = performance.now();
    const started = await startRelease({
      service: 'greeter',
      version,
      commit: (0xabc0000 + i).toString(16),
      triggeredBy: 'ci@example.com',
      bundle: example('1.0.0', 'service.mjs'),
      collection: example('1.0.0', 'collection.postman.json'),
      openapi: example('1.0.0', 'openapi.yaml'),
    });
    const [, view] = await Promise.all([
      approveWhenAsked(stack.outboxDir, started.releaseId),
      waitForRelease(started.releaseId, { executionArn: started.executionArn, intervalMs: 50 }),
    ]);
    results.push({
      version,
      totalMs: Math.round(performance.now() - t0),
      status: view.status,
      steps: Object.fromEntries(view.steps.map((s) => [s.step, s.durationMs])),
    });
    process.stderr.write(`release ${version}: ${view.status} in ${results.at(-1)!.totalMs} ms\n`);
  }
} finally {
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}

const totals = results.map((r) => r.totalMs).sort((a, b) => a - b);
const report = {
  benchmark: 'embedded-release',
  description:
    'Boot of the embedded stack and whole releases of examples/greeter 1.0.0 (approval automated, Wait states shortened to FAST_WAITS)',
  date: new Date().toISOString(),
  machine: { node: process.version, cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  bootMs: Math.round(bootMs),
  releases: results,
  medianReleaseMs: totals[Math.floor(totals.length / 2)],
  maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
};
await mkdir(path.join(root, 'bench/results'), { recursive: true });
const out = path.join(root, 'bench/results/embedded-release.json');
await writeFile(out, JSON.stringify(report, null, 2) + '\n');
console.log(
  `wrote ${path.relative(root, out)}: boot ${report.bootMs} ms, median release ${report.medianReleaseMs} ms, max RSS ${report.maxRssMiB} MiB`,
);
