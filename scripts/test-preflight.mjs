#!/usr/bin/env node
// Runs before the test suite (`npm test`) and in .ci/run: the system programs some tests drive must be there, so no
// test has to step aside when one is missing. As root (CI) it installs the missing Debian packages; otherwise it stops
// at once with the command to run. Plain JavaScript with no dependencies: it runs before anything is installed or built.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** The system programs the tests drive, each with the Debian package that provides it and the tests that need it. */
export const SYSTEM_TOOLS = [
  { pkg: 'awscli', path: '/usr/bin/aws', neededBy: 'the AWS CLI tests drive the local endpoints as a real client would' },
  { pkg: 'chromium', path: '/usr/bin/chromium', neededBy: 'the approval page test clicks through it in a headless browser' },
];

/** Whether `file` exists and is executable. */
export function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The tools of SYSTEM_TOOLS that are not installed, as `executable(path)` tells. */
export function missingTools(executable = isExecutable) {
  return SYSTEM_TOOLS.filter((tool) => !executable(tool.path));
}

/** The install command a person runs, for the packages of `missing`. */
export function installLine(missing) {
  return `sudo apt-get install -y ${missing.map((t) => t.pkg).join(' ')}`;
}

/**
 * What to do about `missing` tools: nothing; install them with apt-get (only as root, so a test run never prompts for a
 * password or changes a developer's machine unasked); or stop, with the message to print.
 *
 * @returns `{ action: 'ok' }`, `{ action: 'install', commands }` (argv arrays, run in order) or `{ action: 'stop', message }`.
 */
export function planPreflight({ missing, isRoot, hasAptGet }) {
  if (missing.length === 0) return { action: 'ok' };
  const list = missing.map((t) => `  ${t.path} (Debian package ${t.pkg}): ${t.neededBy}`).join('\n');
  if (isRoot && hasAptGet) {
    const pkgs = missing.map((t) => t.pkg);
    return {
      action: 'install',
      commands: [
        ['apt-get', 'update'],
        ['apt-get', 'install', '-y', '--no-install-recommends', ...pkgs],
      ],
    };
  }
  const how = hasAptGet
    ? `Install them, then run the tests again:\n  ${installLine(missing)}`
    : 'This is not a Debian-like system (no apt-get): install programs that provide these paths, then run the tests again.';
  return { action: 'stop', message: `The tests need programs that are not installed:\n${list}\n${how}` };
}

/**
 * Checks, installs as root when needed, and checks again. Every effect is a parameter so a test can drive each case
 * without running apt-get.
 *
 * @returns the exit code: 0 when every tool is there.
 */
export function runPreflight({
  executable = isExecutable,
  isRoot = process.getuid?.() === 0,
  hasAptGet = existsSync('/usr/bin/apt-get'),
  run = (argv) => execFileSync(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }),
  log = (line) => console.error(line),
} = {}) {
  const plan = planPreflight({ missing: missingTools(executable), isRoot, hasAptGet });
  if (plan.action === 'ok') return 0;
  if (plan.action === 'stop') {
    log(plan.message);
    return 1;
  }
  log(`test-preflight: installing ${plan.commands.at(-1).slice(4).join(' ')} (running as root)`);
  try {
    for (const argv of plan.commands) run(argv);
  } catch (error) {
    log(`test-preflight: ${plan.commands.map((c) => c.join(' ')).join(' && ')} failed: ${error.message}`);
    return 1;
  }
  const still = missingTools(executable);
  if (still.length > 0) {
    log(`test-preflight: still missing after apt-get: ${still.map((t) => t.path).join(', ')}`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = runPreflight();
}
