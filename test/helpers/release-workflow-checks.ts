import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { ChangeSchema } from '../../functions/lib/release-request.js';
import { REPO_ROOT } from '../../infra/paths.js';

/**
 * A GitHub Actions workflow that releases through `launchway release --wait`, checked against what it drives: the
 * CLI's options (asked from the CLI itself), the OIDC role's session bound, and the change list the CLI validates.
 * Applied to examples/github-actions/release.yml and to the workflow `launchway init` writes.
 */

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Workflow {
  on: { push: { branches: string[] } };
  permissions: Record<string, string>;
  jobs: { release: { 'timeout-minutes': number; env: Record<string, string>; steps: Step[] } };
}

/** The options `launchway release` requires (commander's requiredOption in cli/main.ts, and --artifact or its older name --bundle). */
const REQUIRED = ['--service', '--version', '--commit', '--triggered-by', '--artifact', '--collection', '--openapi'];

/**
 * Registers the checks in the calling describe. `read` gives the workflow's text (called in beforeAll, so it may
 * read a file an earlier hook wrote); `stackEnv` is what the release step must set for the CLI to find the stack.
 */
export function releaseWorkflowChecks(read: () => string, stackEnv: Record<string, string>): void {
  let workflow: Workflow;
  let steps: Step[];
  let releaseStep: Step;
  let cliOptions: string[];
  let help: string;
  beforeAll(() => {
    workflow = parse(read()) as Workflow;
    steps = workflow.jobs.release.steps;
    releaseStep = steps.find((s) => s.run?.includes('npx launchway release'))!;
    // The CLI's own help, so the workflow is checked against the options as they are, not as remembered.
    help = execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'cli', 'main.ts'), 'release', '--help'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, LAUNCHWAY_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:x' },
    });
    cliOptions = [...help.matchAll(/^\s+(--[a-z-]+)(?: <[^>]+>)?\s/gm)].map((m) => m[1]);
  }, 40_000);

  it('runs on push to main with an OIDC token and read-only contents', () => {
    expect(workflow.on.push.branches).toEqual(['main']);
    expect(workflow.permissions).toEqual({ 'id-token': 'write', contents: 'read' });
  });

  it("assumes the Launchway role through OIDC for at most the role's 6-hour session, with no stored keys", () => {
    const configure = steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'))!;
    expect(configure.with).toMatchObject({ 'role-to-assume': '${{ vars.LAUNCHWAY_ROLE_ARN }}', 'aws-region': '${{ vars.AWS_REGION }}' });
    expect(Number(configure.with!['role-duration-seconds'])).toBeLessThanOrEqual(6 * 3600);
    expect(JSON.stringify(workflow)).not.toMatch(/aws-access-key-id|AWS_SECRET_ACCESS_KEY|secrets\./);
    expect(workflow.jobs.release['timeout-minutes']).toBeLessThanOrEqual(360);
  });

  it('names the stack, whose outputs the CLI reads through --stack, instead of copying the outputs', () => {
    expect(releaseStep.env).toMatchObject(stackEnv);
    for (const copied of ['LAUNCHWAY_STATE_MACHINE_ARN', 'RELEASES_TABLE', 'ARTIFACTS_BUCKET']) {
      expect(releaseStep.env, copied).not.toHaveProperty(copied);
    }
    // The variable reaches the option only if `release` declares it as --stack's environment variable.
    expect(help).toMatch(/--stack <name>[\s\S]*\(env: LAUNCHWAY_STACK\)/);
  });

  it('passes every required `launchway release` option, only options the CLI has, and --wait', () => {
    expect(cliOptions.length).toBeGreaterThan(8);
    const used = [...releaseStep.run!.matchAll(/(--[a-z-]+)/g)].map((m) => m[1]);
    for (const flag of [...used, ...REQUIRED]) expect(cliOptions, `${flag} is not a launchway release option`).toContain(flag);
    for (const flag of REQUIRED) expect(used, flag).toContain(flag);
    expect(used).toContain('--wait');
  });

  describe('the change list step', () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'launchway-workflow-'));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it('writes changes.json the CLI accepts, from `git log` lines', () => {
      const step = steps.find((s) => s.name?.startsWith('Changes since'))!;
      const script = /node -e '([\s\S]*?)'\s*$/.exec(step.run!)![1];
      const log = ['a1b2c3d\x1ffeat: greet in French\x1fana@example.com', 'e4f5a6b\x1ffix: trim names\x1fbo@example.com', ''].join('\n');
      execFileSync(process.execPath, ['-e', script], {
        cwd: scratch,
        input: log,
        encoding: 'utf8',
        timeout: 10_000,
        env: { PATH: process.env.PATH, REPO_URL: 'https://github.com/acme/greeter' },
      });
      const changes = z.array(ChangeSchema).parse(JSON.parse(readFileSync(path.join(scratch, 'changes.json'), 'utf8')));
      expect(changes).toEqual([
        {
          title: 'feat: greet in French',
          sha: 'a1b2c3d',
          author: 'ana@example.com',
          url: 'https://github.com/acme/greeter/commit/a1b2c3d',
        },
        { title: 'fix: trim names', sha: 'e4f5a6b', author: 'bo@example.com', url: 'https://github.com/acme/greeter/commit/e4f5a6b' },
      ]);
    });
  });
}
