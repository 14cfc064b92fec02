/**
 * How long the `launchway` command takes to start and finish, next to `node -e 0` (Node's own start): `--help`,
 * `--version`, and `status --json` against a running embedded stack, each run as a whole process the way a user or
 * a CI job runs it. The rows that matter are the compiled CLI the package ships (`node dist/cli/main.js`, what the
 * installed bin imports; built first when dist/ is missing or older than a source file); the same commands through
 * the sources and tsx (`node bin/launchway.js` in a checkout) follow for comparison. Written to
 * bench/results/cli-start.json; the figure to watch is the median ratio to `node -e 0`, taken pair by pair (command,
 * then node, in turn) so a machine that speeds up or slows down moves both alike.
 *
 *   npx tsx bench/cli-start.ts        # 7 runs of each command
 *   npx tsx bench/cli-start.ts 15     # 15 runs
 */
import '../local/embedded-defaults.js';
import '../local/polyfills.js';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAST_WAITS, startEmbedded } from '../local/runtime.js';
import { getReleaseView, startRelease } from '../cli/release-client.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number.parseInt(process.argv[2] ?? '7', 10);
const bin = path.join(root, 'bin/launchway.js');
const compiled = path.join(root, 'dist/cli/main.js');
const example = (f: string) => path.join(root, 'examples/greeter/1.0.0', f);

process.env.LOG_LEVEL ??= 'ERROR';

/** The newest modification time among the files the package build compiles. */
function newestSource(): number {
  let newest = 0;
  const visit = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const entry of readdirSync(p)) visit(path.join(p, entry));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const dir of ['functions', 'local', 'cli', 'infra', 'statemachines', 'scripts/example-deps.ts']) visit(path.join(root, dir));
  return newest;
}
if (!existsSync(compiled) || statSync(compiled).mtimeMs < newestSource()) {
  process.stderr.write('dist/ is missing or older than the sources: building the package first\n');
  execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/build-package.ts')], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
const dataDir = await mkdtemp(path.join(tmpdir(), 'launchway-bench-cli-'));
const stack = await startEmbedded({ catalog: path.join(root, 'examples/catalog.json'), dataDir, waits: FAST_WAITS });

interface Timing {
  command: string;
  exitCodes: number[];
  wallMs: { min: number; median: number; max: number };
  /** This command's wall time over `node -e 0`'s, run for run. */
  ratioToNode: { min: number; median: number; max: number };
}

const stats = (xs: number[], digits = 0) => {
  const s = [...xs].sort((a, b) => a - b);
  const round = (x: number) => Number(x.toFixed(digits));
  return { min: round(s[0]), median: round(s[Math.floor(s.length / 2)]), max: round(s[s.length - 1]) };
};

/**
 * One whole process, timed from spawn to exit; its output is read and dropped. Asynchronous: the stack it talks to
 * runs on this process's event loop.
 */
function timeOnce(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; code: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.resume();
  child.stderr.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - t0, code: code ?? -1 });
    });
  });
}

const results: Timing[] = [];
let nodeRuns: number[] = [];
try {
  // A release parked at its approval: a record with steps to read, and an engine that is idle while we measure.
  const started = await startRelease({
    service: 'greeter',
    version: '1.0.0',
    commit: 'bec0001',
    triggeredBy: 'ci@example.com',
    bundle: example('service.mjs'),
    collection: example('collection.postman.json'),
    openapi: example('openapi.yaml'),
  });
  for (let i = 0; (await getReleaseView(started.releaseId))?.status !== 'AWAITING_APPROVAL'; i++) {
    if (i > 600) throw new Error('the release did not reach AWAITING_APPROVAL within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const env = { PATH: process.env.PATH, HOME: dataDir, NO_COLOR: '1', ...stack.env };
  const commands: [string, string[]][] = [
    ['launchway --help (compiled, as installed)', [compiled, '--help']],
    ['launchway --version (compiled, as installed)', [compiled, '--version']],
    ['launchway status <id> --json (compiled, as installed)', [compiled, 'status', started.releaseId, '--json']],
    ['launchway --help (sources through tsx, a checkout)', [bin, '--help']],
    ['launchway --version (sources through tsx, a checkout)', [bin, '--version']],
    ['launchway status <id> --json (sources through tsx, a checkout)', [bin, 'status', started.releaseId, '--json']],
  ];
  for (const [name, args] of commands) {
    await timeOnce(args, env); // warm-up: tsx's compile cache, the disk cache
    const wall: number[] = [];
    const ratio: number[] = [];
    const codes: number[] = [];
    for (let i = 0; i < runs; i++) {
      const a = await timeOnce(args, env);
      const b = await timeOnce(['-e', '0'], env);
      wall.push(a.ms);
      nodeRuns.push(b.ms);
      ratio.push(a.ms / b.ms);
      codes.push(a.code);
    }
    results.push({ command: name, exitCodes: [...new Set(codes)], wallMs: stats(wall), ratioToNode: stats(ratio, 2) });
    process.stderr.write(`${name}: median ${results.at(-1)!.wallMs.median} ms, ${results.at(-1)!.ratioToNode.median}× node -e 0\n`);
  }
} finally {
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}

nodeRuns = nodeRuns.sort((a, b) => a - b);
const report = {
  benchmark: 'cli-start',
  description:
    'Whole-process wall time of `node dist/cli/main.js …` (the compiled CLI the package ships) and of ' +
    '`node bin/launchway.js …` in a checkout (the sources through tsx), spawn to exit, each run paired with a `node -e 0`; ' +
    'status --json reads a release parked at its approval on an embedded stack running in the benchmark process',
  date: new Date().toISOString(),
  machine: { node: process.version, cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  runs,
  nodeE0WallMs: stats(nodeRuns),
  commands: results,
};
await mkdir(path.join(root, 'bench/results'), { recursive: true });
const out = path.join(root, 'bench/results/cli-start.json');
await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`wrote ${path.relative(root, out)}`);
