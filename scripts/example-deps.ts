/**
 * Installs an example service's own run-time dependencies (its `npm ci`) when its node_modules is missing, so the
 * demo and the tests work on a fresh checkout. CI installs them up front (.ci/run); this covers everyone else.
 *
 *   npx tsx scripts/example-deps.ts            # every example with a package-lock.json
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const EXAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'examples');

/** The example services that have their own dependencies: the folders of examples/ holding a package-lock.json. */
function exampleServices(): string[] {
  return readdirSync(EXAMPLES, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(EXAMPLES, e.name, 'package-lock.json')))
    .map((e) => path.join(EXAMPLES, e.name));
}

/**
 * Runs `npm ci` for the example in `dir` unless its node_modules exists. Several processes may ask at once (test
 * files run in parallel): each installs into a scratch folder beside it and renames that into place, so node_modules
 * appears whole or not at all, and the first rename wins.
 *
 * @returns whether this call installed it.
 */
export async function ensureExampleDeps(dir: string, log: (line: string) => void = () => {}): Promise<boolean> {
  const target = path.join(dir, 'node_modules');
  if (existsSync(target)) return false;
  log(`installing the dependencies of ${path.relative(process.cwd(), dir) || dir} (npm ci, first run only)`);
  const scratch = mkdtempSync(path.join(dir, '.npm-install-'));
  try {
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(path.join(dir, file), path.join(scratch, file));
    await run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: scratch, timeout: 10 * 60_000 });
    try {
      renameSync(path.join(scratch, 'node_modules'), target);
    } catch (err) {
      // Another process put its install in place first: that one is as good as ours.
      if (!existsSync(target)) throw err;
      return false;
    }
    return true;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const dir of exampleServices()) await ensureExampleDeps(dir, (line) => console.log(line));
}
