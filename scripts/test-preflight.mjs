#!/usr/bin/env node
// Runs before the test suite (`npm test`) and in .ci/run: the system programs some tests drive must be there, so no
// test has to step aside when one is missing. Each is looked up the way a shell would (an environment variable naming
// it wins, else PATH), so macOS, Homebrew and other Linux systems work as well as Debian. On a Debian-like system
// (apt-get) it installs the missing packages as root, or with passwordless sudo when given `--sudo` (.ci/run); otherwise
// it stops at once saying what to install or set. Plain JavaScript with no dependencies: it runs before anything is
// installed or built.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The system programs the tests drive: the commands looked up on PATH (in order), the environment variable that names
 * the program instead, the Debian package that provides it, and why the tests need it.
 */
export const SYSTEM_TOOLS = [
  {
    name: 'aws',
    commands: ['aws'],
    env: 'LAUNCHWAY_AWS_CLI',
    pkg: 'awscli',
    neededBy: 'the AWS CLI tests drive the local endpoints as a real client would',
  },
  {
    name: 'chromium',
    commands: ['chromium', 'chromium-browser'],
    env: 'LAUNCHWAY_CHROMIUM',
    pkg: 'chromium',
    neededBy: 'the approval page test clicks through it in a headless browser',
  },
];

/** Whether `file` is a regular file this process may execute (a directory passes access(X_OK), so it is checked too). */
export function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Where `tool` is: the file its environment variable names (resolved from the working directory; a wrong one is a
 * problem, never a reason to take another program), else the first of its commands found on PATH.
 *
 * @returns `{ path }` or `{ problem }`, the problem saying what was looked for.
 */
export function locateTool(tool, { env = process.env, executable = isExecutable } = {}) {
  const override = env[tool.env];
  if (override) {
    const file = path.resolve(override);
    return executable(file) ? { path: file } : { problem: `${tool.env}=${override} is not an executable file` };
  }
  // Empty PATH entries (the working directory, for a shell) are left out: a test must not run a program it happens to sit next to.
  const dirs = (env.PATH ?? '').split(path.delimiter).filter((dir) => path.isAbsolute(dir));
  for (const command of tool.commands) {
    for (const dir of dirs) {
      const file = path.join(dir, command);
      if (executable(file)) return { path: file };
    }
  }
  return { problem: `${tool.commands.join(' or ')} not found on PATH` };
}

/** The tools of SYSTEM_TOOLS that are not found, each with its problem and whether its environment variable is set. */
export function missingTools({ env = process.env, executable = isExecutable } = {}) {
  return SYSTEM_TOOLS.flatMap((tool) => {
    const found = locateTool(tool, { env, executable });
    return 'problem' in found ? [{ tool, problem: found.problem, overridden: Boolean(env[tool.env]) }] : [];
  });
}

/** One line of the stop message, naming the program, what was wrong, its package and its variable. */
export function missingLine({ tool, problem, overridden }) {
  const hint = overridden ? '' : ` (Debian package ${tool.pkg}, or set ${tool.env} to the program's path)`;
  return `${tool.name}: ${problem}${hint}: ${tool.neededBy}`;
}

/** The install command a person runs, for the packages of `missing`. */
export function installLine(missing) {
  return `sudo apt-get install -y ${missing.map((m) => m.tool.pkg).join(' ')}`;
}

/**
 * What to do about `missing` tools: nothing; install them with apt-get (on a Debian-like system, as root or with
 * passwordless sudo when allowed, so a test run never prompts for a password or changes a developer's machine
 * unasked); or stop, with the message to print. A set but wrong variable always stops: installing would not fix it.
 *
 * @returns `{ action: 'ok' }`, `{ action: 'install', packages, via, commands }` (argv arrays, run in order) or
 *   `{ action: 'stop', message }`.
 */
export function planPreflight({ missing, isRoot, canSudo = false, hasAptGet }) {
  if (missing.length === 0) return { action: 'ok' };
  const overridden = missing.filter((m) => m.overridden);
  if (hasAptGet && overridden.length === 0 && (isRoot || canSudo)) {
    const packages = missing.map((m) => m.tool.pkg);
    // sudo resets the environment, so the non-interactive front end is passed through env.
    const prefix = isRoot ? [] : ['sudo', '-n', 'env', 'DEBIAN_FRONTEND=noninteractive'];
    return {
      action: 'install',
      packages,
      via: isRoot ? 'running as root' : 'with sudo',
      commands: [
        [...prefix, 'apt-get', 'update'],
        [...prefix, 'apt-get', 'install', '-y', '--no-install-recommends', ...packages],
      ],
    };
  }
  const lines = ['The tests need programs that were not found:', ...missing.map((m) => `  ${missingLine(m)}`)];
  if (overridden.length > 0) {
    lines.push(`Point ${overridden.map((m) => m.tool.env).join(' and ')} at the program, or unset it to look on PATH.`);
  }
  const installable = missing.filter((m) => !m.overridden);
  if (installable.length > 0 && hasAptGet) {
    lines.push('Install them, then run the tests again:', `  ${installLine(installable)}`);
  } else if (installable.length > 0) {
    lines.push(
      `This is not a Debian-like system (no apt-get): install ${installable.map((m) => m.tool.name).join(' and ')} so that ` +
        `they are on PATH, or set ${installable.map((m) => m.tool.env).join(' and ')}, then run the tests again.`,
    );
  }
  return { action: 'stop', message: lines.join('\n') };
}

/** Whether sudo runs without asking for a password. */
function sudoWithoutPassword() {
  return spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
}

/**
 * Checks, installs when allowed and needed, and checks again. Every effect is a parameter so a test can drive each
 * case without running apt-get or sudo.
 *
 * @param options.allowSudo install with passwordless sudo when not root (.ci/run passes `--sudo`; `npm test` does not).
 * @returns the exit code: 0 when every tool is there.
 */
export function runPreflight({
  env = process.env,
  executable = isExecutable,
  isRoot = process.getuid?.() === 0,
  hasAptGet = existsSync('/usr/bin/apt-get'),
  allowSudo = false,
  sudoWorks = sudoWithoutPassword,
  run = (argv) => execFileSync(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }),
  log = (line) => console.error(line),
} = {}) {
  const missing = missingTools({ env, executable });
  if (missing.length === 0) return 0;
  // sudo is asked only when it would be used: a passing check never runs it.
  const canSudo = allowSudo && !isRoot && hasAptGet && sudoWorks();
  const plan = planPreflight({ missing, isRoot, canSudo, hasAptGet });
  if (plan.action === 'stop') {
    log(plan.message);
    return 1;
  }
  log(`test-preflight: installing ${plan.packages.join(' ')} (${plan.via})`);
  try {
    for (const argv of plan.commands) run(argv);
  } catch (error) {
    log(`test-preflight: ${plan.commands.map((c) => c.join(' ')).join(' && ')} failed: ${error.message}`);
    return 1;
  }
  const still = missingTools({ env, executable });
  if (still.length > 0) {
    log(`test-preflight: still missing after apt-get:\n${still.map((m) => `  ${missingLine(m)}`).join('\n')}`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--sudo');
  if (unknown.length > 0) {
    console.error(`test-preflight: unknown argument ${unknown[0]} (the only option is --sudo)`);
    process.exitCode = 2;
  } else {
    process.exitCode = runPreflight({ allowSudo: args.includes('--sudo') });
  }
}
