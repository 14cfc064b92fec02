import { describe, expect, it } from 'vitest';
import { installLine, planPreflight, runPreflight, SYSTEM_TOOLS } from '../../scripts/test-preflight.mjs';

const AWS = SYSTEM_TOOLS.find((t) => t.pkg === 'awscli')!;
const CHROMIUM = SYSTEM_TOOLS.find((t) => t.pkg === 'chromium')!;

/** A machine where only the programs at `present` exist, recording the commands run and the lines logged. */
function machine(present: string[], { installs = [] as string[] } = {}) {
  const files = new Set(present);
  const ran: string[][] = [];
  const logged: string[] = [];
  return {
    ran,
    logged,
    executable: (file: string) => files.has(file),
    // apt-get install makes its packages' programs appear, as the real one would.
    run: (argv: string[]) => {
      ran.push(argv);
      if (argv[1] === 'install') for (const file of installs) files.add(file);
    },
    log: (line: string) => logged.push(line),
  };
}

describe('test preflight', () => {
  it('lists the programs the tests drive: the AWS CLI and Chromium, with their Debian packages', () => {
    expect(SYSTEM_TOOLS.map((t) => [t.pkg, t.path])).toEqual([
      ['awscli', '/usr/bin/aws'],
      ['chromium', '/usr/bin/chromium'],
    ]);
  });

  it('does nothing when every program is there, root or not', () => {
    for (const isRoot of [true, false]) {
      const m = machine([AWS.path, CHROMIUM.path]);
      expect(runPreflight({ ...m, isRoot, hasAptGet: true })).toBe(0);
      expect(m.ran).toEqual([]);
      expect(m.logged).toEqual([]);
    }
  });

  it('as root, installs exactly the missing packages with apt-get, then checks again', () => {
    expect(planPreflight({ missing: [CHROMIUM], isRoot: true, hasAptGet: true })).toEqual({
      action: 'install',
      commands: [
        ['apt-get', 'update'],
        ['apt-get', 'install', '-y', '--no-install-recommends', 'chromium'],
      ],
    });
    const m = machine([], { installs: [AWS.path, CHROMIUM.path] });
    expect(runPreflight({ ...m, isRoot: true, hasAptGet: true })).toBe(0);
    expect(m.ran).toEqual([
      ['apt-get', 'update'],
      ['apt-get', 'install', '-y', '--no-install-recommends', 'awscli', 'chromium'],
    ]);
    expect(m.logged).toEqual(['test-preflight: installing awscli chromium (running as root)']);
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

    const noop = machine([AWS.path]);
    expect(runPreflight({ ...noop, isRoot: true, hasAptGet: true })).toBe(1);
    expect(noop.logged.at(-1)).toBe('test-preflight: still missing after apt-get: /usr/bin/chromium');
  });

  it('not as root, stops at once with the exact apt-get line, running nothing', () => {
    const m = machine([CHROMIUM.path]);
    expect(runPreflight({ ...m, isRoot: false, hasAptGet: true })).toBe(1);
    expect(m.ran).toEqual([]);
    expect(m.logged).toHaveLength(1);
    expect(m.logged[0]).toContain('/usr/bin/aws (Debian package awscli)');
    expect(m.logged[0]).not.toContain('/usr/bin/chromium');
    expect(m.logged[0].split('\n').at(-1)).toBe('  sudo apt-get install -y awscli');
    expect(installLine([AWS, CHROMIUM])).toBe('sudo apt-get install -y awscli chromium');
  });

  it('without apt-get, stops naming the programs even as root', () => {
    const plan = planPreflight({ missing: [AWS, CHROMIUM], isRoot: true, hasAptGet: false });
    expect(plan.action).toBe('stop');
    expect(plan.action === 'stop' && plan.message).toMatch(/\/usr\/bin\/aws[\s\S]*\/usr\/bin\/chromium[\s\S]*no apt-get/);
  });
});
