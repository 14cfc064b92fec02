import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInit } from '../../cli/init.js';
import { REPO_ROOT } from '../../infra/paths.js';

/**
 * The CDK app `launchway init` writes, run by node as `cdk synth` runs it, against this checkout: `launchway`
 * resolves to infra/index.ts (through tsx) instead of the built package, which test/package/consumer.test.ts
 * covers. Bundling is off (context `aws:cdk:bundling-stacks`), as in test/infra/synth.ts.
 */

const TSX_LOADER = import.meta.resolve('tsx');
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'launchway-init-app-'));
  await runInit({ service: 'ledger' }, dir);
  const modules = path.join(dir, 'node_modules');
  mkdirSync(path.join(modules, 'launchway'), { recursive: true });
  writeFileSync(
    path.join(modules, 'launchway', 'package.json'),
    JSON.stringify({ name: 'launchway', type: 'module', exports: './index.ts' }),
  );
  writeFileSync(
    path.join(modules, 'launchway', 'index.ts'),
    `export * from ${JSON.stringify(path.join(REPO_ROOT, 'infra', 'index.ts'))};\n`,
  );
  for (const name of ['aws-cdk-lib', 'constructs']) symlinkSync(path.join(REPO_ROOT, 'node_modules', name), path.join(modules, name));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `node launchway-app.mjs` as the CDK CLI starts it: context in CDK_CONTEXT_JSON, the cloud assembly to CDK_OUTDIR. */
function synth(context: Record<string, unknown>, env: Record<string, string> = {}) {
  const outdir = path.join(dir, `cdk.out-${Object.keys(context).length}`);
  const run = spawnSync(process.execPath, ['--import', TSX_LOADER, 'launchway-app.mjs'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 150_000,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [], ...context }),
      ...env,
    },
  });
  return { ...run, outdir };
}

describe('the CDK app launchway init writes', () => {
  it('synthesizes the pipeline for launchway.catalog.json in the stack and with the OIDC role its context names', () => {
    const run = synth({ mailFrom: 'releases@example.com', stackName: 'LedgerReleases', githubRepository: 'acme/ledger' });
    expect(run.status, run.stderr).toBe(0);
    // The catalog's local-process stages synthesize, with the one warning (which the CDK CLI prints) that they only
    // run embedded.
    const metadata = JSON.parse(readFileSync(path.join(run.outdir, 'LedgerReleases.metadata.json'), 'utf8')) as Record<
      string,
      { type: string; data: unknown }[]
    >;
    const warnings = Object.values(metadata)
      .flat()
      .filter((entry) => entry.type === 'aws:cdk:warning')
      .map((entry) => String(entry.data));
    expect(warnings).toEqual([
      expect.stringMatching(
        /^services\.ledger\.staging\.type, services\.ledger\.production\.type are local-process: .*\[ack: launchway:local-process-target\]$/,
      ),
    ]);
    const template = JSON.parse(readFileSync(path.join(run.outdir, 'LedgerReleases.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    const resources = Object.values(template.Resources);
    expect(resources.filter((r) => r.Type === 'AWS::StepFunctions::StateMachine')).toHaveLength(1);
    // The role GitHub Actions assumes: trusted only through the repository's OIDC tokens.
    const trust = resources.filter((r) => r.Type === 'AWS::IAM::Role').map((r) => JSON.stringify(r.Properties?.AssumeRolePolicyDocument));
    expect(trust.some((t) => t.includes('token.actions.githubusercontent.com') && t.includes('repo:acme/ledger:ref:refs/heads/main'))).toBe(
      true,
    );
  }, 180_000);

  it('fails naming mailFrom when neither the context nor LAUNCHWAY_MAIL_FROM gives it', () => {
    const run = synth({});
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('Give the approval email sender: cdk deploy -c mailFrom=<address> (or LAUNCHWAY_MAIL_FROM)');
  }, 60_000);
});
