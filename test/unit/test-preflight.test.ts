import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  installLine,
  isExecutable,
  locateTool,
  missingTools,
  planPreflight,
  runPreflight,
  SYSTEM_TOOLS,
} from '../../scripts/test-preflight.mjs';
import { systemTool } from '../helpers/system-tools.js';

const AWS = SYSTEM_TOOLS.find((t) => t.name === 'aws')!;
const CHROMIUM = SYSTEM_TOOLS.find((t) => t.name === 'chromium')!;
/** A Debian PATH and where apt-get puts the programs. */
const DEBIAN_PATH = '/usr/local/bin:/usr/bin:/bin';

/** A machine where only the programs at `present` exist, recording the commands run and the lines logged. */
function machine(present: string[], { installs = [] as string[], env = { PATH: DEBIAN_PATH } as Record<string, string> } = {}) {
  const files = new Set(present);
  const ran: string[][] = [];
  const logged: string[] = [];
  let sudoAsked = 0;
  return {
    ran,
    logged,
    env,
    get sudoAsked() {
      return sudoAsked;
    },
    executable: (file: string) => files.has(file),
    // apt-get install makes its packages' programs appear, as the real one would.
    run: (argv: string[]) => {
      ran.push(argv);
      if (argv.includes('install')) for (const file of installs) files.add(file);
    },
    sudoWorks: () => {
      sudoAsked++;
      return true;
    },
    log: (line: string) => logged.push(line),
  };
}

describe('test preflight: finding the programs', () => {
  it('lists the programs the tests drive, with their commands, variables and Debian packages', () => {
    expect(SYSTEM_TOOLS.map((t) => [t.name, t.commands, t.env, t.pkg])).toEqual([
      ['aws', ['aws'], 'LAUNCHWAY_AWS_CLI', 'awscli'],
      ['chromium', ['chromium', 'chromium-browser'], 'LAUNCHWAY_CHROMIUM', 'chromium'],
    ]);
  });

  it('looks on PATH in order, wherever the programs live (Homebrew, /usr/local, chromium-browser)', () => {
    const brew = { PATH: '/opt/homebrew/bin:/usr/local/bin:/usr/bin' };
    const files = new Set(['/usr/local/bin/aws', '/usr/bin/aws', '/usr/bin/chromium-browser', '/opt/homebrew/bin/chromium-browser']);
    const executable = (file: string) => files.has(file);
    expect(locateTool(AWS, { env: brew, executable })).toEqual({ path: '/usr/local/bin/aws' });
    expect(locateTool(CHROMIUM, { env: brew, executable })).toEqual({ path: '/opt/homebrew/bin/chromium-browser' });
    // chromium is preferred to chromium-browser even when the latter comes earlier on PATH.
    files.add('/usr/bin/chromium');
    expect(locateTool(CHROMIUM, { env: brew, executable })).toEqual({ path: '/usr/bin/chromium' });
    // Relative and empty PATH entries (the working directory) are not searched.
    expect(locateTool(AWS, { env: { PATH: ':bin:.' }, executable: () => true })).toEqual({ problem: 'aws not found on PATH' });
    expect(locateTool(CHROMIUM, { env: {}, executable })).toEqual({ problem: 'chromium or chromium-browser not found on PATH' });
  });

  it('takes the program its variable names over PATH, and reports a wrong one instead of looking further', () => {
    const executable = (file: string) => file === '/usr/bin/aws' || file === '/opt/aws-cli/aws';
    const env = { PATH: DEBIAN_PATH, LAUNCHWAY_AWS_CLI: '/opt/aws-cli/aws' };
    expect(locateTool(AWS, { env, executable })).toEqual({ path: '/opt/aws-cli/aws' });
    expect(locateTool(AWS, { env: { ...env, LAUNCHWAY_AWS_CLI: '/opt/nothing/aws' }, executable })).toEqual({
      problem: 'LAUNCHWAY_AWS_CLI=/opt/nothing/aws is not an executable file',
    });
    expect(
      missingTools({ env: { ...env, LAUNCHWAY_AWS_CLI: '/opt/nothing/aws' }, executable }).map((m) => [m.tool.name, m.overridden]),
    ).toEqual([
      ['aws', true],
      ['chromium', false],
    ]);
  });

  describe('on real files', () => {
    let dir: string;
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('counts only executable regular files: not a directory, not a file without the x bit', async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'launchway-preflight-'));
      const [first, second] = [path.join(dir, 'first'), path.join(dir, 'second')];
      await mkdir(path.join(first, 'aws'), { recursive: true });
      await mkdir(second);
      await writeFile(path.join(second, 'chromium'), '#!/bin/sh\n');
      await writeFile(path.join(second, 'aws'), '#!/bin/sh\n');
      await chmod(path.join(second, 'aws'), 0o755);
      expect(isExecutable(path.join(first, 'aws'))).toBe(false);
      expect(isExecutable(path.join(second, 'chromium'))).toBe(false);
      const env = { PATH: [first, second].join(path.delimiter) };
      expect(locateTool(AWS, { env })).toEqual({ path: path.join(second, 'aws') });
      expect(locateTool(CHROMIUM, { env })).toEqual({ problem: 'chromium or chromium-browser not found on PATH' });
    });

    it('gives the tests the path the preflight finds, and fails a test file naming the program and its variable', async () => {
      const saved = process.env.LAUNCHWAY_AWS_CLI;
      try {
        process.env.LAUNCHWAY_AWS_CLI = path.join(dir, 'second', 'aws');
        expect(systemTool('aws')).toBe(path.join(dir, 'second', 'aws'));
        process.env.LAUNCHWAY_AWS_CLI = path.join(dir, 'second', 'chromium');
        expect(() => systemTool('aws')).toThrow(`aws: LAUNCHWAY_AWS_CLI=${path.join(dir, 'second', 'chromium')} is not an executable file`);
      } finally {
        if (saved === undefined) delete process.env.LAUNCHWAY_AWS_CLI;
        else process.env.LAUNCHWAY_AWS_CLI = saved;
      }
    });
  });
});

describe('test preflight: what it does', () => {
  it('does nothing when every program is there, root or not, with apt-get or not, never asking sudo', () => {
    for (const isRoot of [true, false]) {
      for (const hasAptGet of [true, false]) {
        const m = machine(['/opt/homebrew/bin/aws', '/usr/local/bin/chromium-browser'], {
          env: { PATH: '/opt/homebrew/bin:/usr/local/bin:/usr/bin' },
        });
        expect(runPreflight({ ...m, isRoot, hasAptGet, allowSudo: true })).toBe(0);
        expect(m.ran).toEqual([]);
        expect(m.logged).toEqual([]);
        expect(m.sudoAsked).toBe(0);
      }
    }
  });

  it('as root on Debian, installs exactly the missing packages with apt-get, then checks again', () => {
    const missingChromium = missingTools({ env: { PATH: DEBIAN_PATH }, executable: (f) => f === '/usr/bin/aws' });
    expect(planPreflight({ missing: missingChromium, isRoot: true, hasAptGet: true })).toEqual({
      action: 'install',
      packages: ['chromium'],
      via: 'running as root',
      commands: [
        ['apt-get', 'update'],
        ['apt-get', 'install', '-y', '--no-install-recommends', 'chromium'],
      ],
    });
    const m = machine([], { installs: ['/usr/bin/aws', '/usr/bin/chromium'] });
    expect(runPreflight({ ...m, isRoot: true, hasAptGet: true, allowSudo: true })).toBe(0);
    expect(m.ran).toEqual([
      ['apt-get', 'update'],
      ['apt-get', 'install', '-y', '--no-install-recommends', 'awscli', 'chromium'],
    ]);
    expect(m.logged).toEqual(['test-preflight: installing awscli chromium (running as root)']);
    expect(m.sudoAsked).toBe(0);
  });

  it('not as root with --sudo (.ci/run) and passwordless sudo, installs with sudo -n', () => {
    const m = machine(['/usr/bin/chromium'], { installs: ['/usr/bin/aws'] });
    expect(runPreflight({ ...m, isRoot: false, hasAptGet: true, allowSudo: true })).toBe(0);
    expect(m.sudoAsked).toBe(1);
    expect(m.ran).toEqual([
      ['sudo', '-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'update'],
      ['sudo', '-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '--no-install-recommends', 'awscli'],
    ]);
    expect(m.logged).toEqual(['test-preflight: installing awscli (with sudo)']);
  });

  it('as root, fails when apt-get fails or the program is still missing after it', () => {
    const failing = machine([]);
    const code = runPreflight({
      ...failing,
      isRoot: true,
      hasAptGet: true,
      run: () => {
        throw new Error('E: Unable to locate package chromium');
      },
    });
    expect(code).toBe(1);
    expect(failing.logged.at(-1)).toContain('failed: E: Unable to locate package chromium');

    const noop = machine(['/usr/bin/aws']);
    expect(runPreflight({ ...noop, isRoot: true, hasAptGet: true })).toBe(1);
    expect(noop.logged.at(-1)).toMatch(
      /^test-preflight: still missing after apt-get:\n {2}chromium: chromium or chromium-browser not found/,
    );
  });

  it('not as root, without --sudo (npm test) or without passwordless sudo, stops at once with the exact apt-get line', () => {
    for (const [allowSudo, sudoWorks] of [
      [false, true],
      [true, false],
    ]) {
      const m = machine(['/usr/bin/chromium']);
      expect(runPreflight({ ...m, isRoot: false, hasAptGet: true, allowSudo, sudoWorks: () => sudoWorks })).toBe(1);
      expect(m.ran).toEqual([]);
      expect(m.logged).toHaveLength(1);
      expect(m.logged[0]).toContain('aws: aws not found on PATH (Debian package awscli, or set LAUNCHWAY_AWS_CLI');
      expect(m.logged[0]).not.toContain('chromium:');
      expect(m.logged[0].split('\n').at(-1)).toBe('  sudo apt-get install -y awscli');
    }
    expect(installLine(missingTools({ env: {}, executable: () => false }))).toBe('sudo apt-get install -y awscli chromium');
  });

  it('without apt-get (macOS, other Linux), stops naming the programs and their variables, even as root', () => {
    const m = machine([], { env: { PATH: '/usr/local/bin:/usr/bin' } });
    expect(runPreflight({ ...m, isRoot: true, hasAptGet: false, allowSudo: true })).toBe(1);
    expect(m.ran).toEqual([]);
    expect(m.sudoAsked).toBe(0);
    const message = m.logged.join('\n');
    expect(message).toContain('aws: aws not found on PATH');
    expect(message).toContain('chromium: chromium or chromium-browser not found on PATH');
    expect(message.split('\n').at(-1)).toBe(
      'This is not a Debian-like system (no apt-get): install aws and chromium so that they are on PATH, ' +
        'or set LAUNCHWAY_AWS_CLI and LAUNCHWAY_CHROMIUM, then run the tests again.',
    );
    expect(message).not.toContain('apt-get install');
  });

  it('with a wrong variable, stops even as root: installing a package would not fix it', () => {
    const m = machine(['/usr/bin/aws'], { env: { PATH: DEBIAN_PATH, LAUNCHWAY_CHROMIUM: '/Applications/Chromium' } });
    expect(runPreflight({ ...m, isRoot: true, hasAptGet: true })).toBe(1);
    expect(m.ran).toEqual([]);
    expect(m.logged[0].split('\n')).toEqual([
      'The tests need programs that were not found:',
      '  chromium: LAUNCHWAY_CHROMIUM=/Applications/Chromium is not an executable file: ' + CHROMIUM.neededBy,
      'Point LAUNCHWAY_CHROMIUM at the program, or unset it to look on PATH.',
    ]);
  });
});
