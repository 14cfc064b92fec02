import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layer directions are a Biome rule (noRestrictedImports per folder in biome.json), so `npm run lint` enforces
 * them. The probes run the real configuration in a scratch copy of the layout, never in the working tree, where a
 * probe left behind by a killed run would break the build of whoever runs next.
 */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIOME = path.join(REPO_ROOT, 'node_modules', '.bin', 'biome');
const RULE = 'lint/style/noRestrictedImports';
// Spawning the linter under a loaded machine can take seconds; the bound only stops a hung process.
const SPAWN_TIMEOUT_MS = 60_000;

interface LintRun {
  code: number | string;
  output: string;
}

function biome(cwd: string, args: string[]): Promise<LintRun> {
  return new Promise((resolve) => {
    execFile(BIOME, [...args, '--colors=off'], { cwd, timeout: SPAWN_TIMEOUT_MS }, (err, stdout, stderr) => {
      const code = err ? ((err as NodeJS.ErrnoException).code ?? 'failed') : 0;
      resolve({ code, output: `${stdout}${stderr}${err && !stdout && !stderr ? err.message : ''}` });
    });
  });
}

/** Lints one file holding `import { probe } from '<specifier>'` at `file`, with every rule of biome.json. */
async function lintProbe(file: string, specifier: string): Promise<LintRun> {
  const dir = await mkdtemp(path.join(tmpdir(), 'launchway-layers-'));
  try {
    await copyFile(path.join(REPO_ROOT, 'biome.json'), path.join(dir, 'biome.json'));
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), `import { probe } from '${specifier}';\n\nexport const used = probe;\n`);
    return await biome(dir, ['lint', '--error-on-warnings', file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('layer directions', () => {
  it.each([
    ['functions/lib/probe.ts', '../../local/outbox.js'],
    ['functions/lib/deploy/probe.ts', '../../../local/process-supervisor.js'],
    ['functions/lib/probe.ts', '../../infra/paths.js'],
    ['functions/prepare/probe.ts', '../../cli/main.js'],
    ['local/probe.ts', '../infra/paths.js'],
    ['local/sfn/probe.ts', '../../cli/format.js'],
    ['infra/probe.ts', '../local/runtime.js'],
    ['infra/probe.ts', '../cli/main.js'],
  ])('%s may not import %s', async (file, specifier) => {
    const run = await lintProbe(file, specifier);
    expect(run.code, run.output).toBe(1);
    expect(run.output).toContain(RULE);
    expect(run.output).toContain('Layers point down');
    expect(run.output).toContain(specifier);
  });

  it.each([
    ['functions/lib/probe.ts', './config.js'],
    ['functions/lib/deploy/probe.ts', '../store/release-store.js'],
    ['local/probe.ts', '../functions/lib/config.js'],
    ['local/sfn/probe.ts', '../../statemachines/paths.js'],
    ['infra/probe.ts', '../functions/lib/config.js'],
    ['cli/probe.ts', '../local/runtime.js'],
    ['cli/probe.ts', '../functions/lib/config.js'],
  ])('%s may import %s', async (file, specifier) => {
    const run = await lintProbe(file, specifier);
    expect(run.code, run.output).toBe(0);
  });

  it('holds for the whole tree', async () => {
    const run = await biome(REPO_ROOT, ['lint', '--error-on-warnings', '--only=style/noRestrictedImports', 'functions', 'local', 'infra']);
    expect(run.code, run.output).toBe(0);
  });

  it('is part of npm run lint', async () => {
    const { scripts } = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    // `biome check` runs every configured rule, the layer rule included, plus the formatting check.
    expect(scripts.lint).toMatch(/^biome check\b/);
    expect(scripts.lint).not.toMatch(/--(only|skip)\b/);
  });
});
