import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDLERS } from '../../infra/handlers.js';
import { HANDLER_NAMES, type HandlerName } from '../../functions/steps.js';
import { LaunchwayStack } from '../../infra/stack.js';
import { FIXTURE_CATALOG_PATH, appContext, readJson } from './synth.js';

/**
 * The one infra test that runs esbuild: a full synth of every handler, as `npm run synth` does, then checks on the
 * bundles themselves. A marker that only newman's reporter loader contains shows whether newman is inside a bundle.
 */
const NEWMAN_MARKER = 'newman-reporter-';

const outdir = mkdtempSync(path.join(tmpdir(), 'launchway-bundling-'));
const bundles = {} as Record<HandlerName, string>;

beforeAll(() => {
  const context = appContext();
  delete context['aws:cdk:bundling-stacks'];
  const app = new App({ outdir, context });
  const stack = new LaunchwayStack(app, 'LaunchwayBundling', {
    pipeline: { catalog: readJson(FIXTURE_CATALOG_PATH) as never, mailFrom: 'releases@example.com' },
  });
  app.synth();
  for (const name of HANDLER_NAMES) {
    const fn = stack.pipeline.functions[name].node.defaultChild as CfnFunction;
    const key = (stack.resolve(fn.code) as { s3Key: string }).s3Key;
    bundles[name] = path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
  }
}, 180_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('handler bundles', () => {
  it('produces an ESM bundle with a source map for every handler', () => {
    for (const name of HANDLER_NAMES) {
      expect(existsSync(bundles[name]), name).toBe(true);
      expect(existsSync(`${bundles[name]}.map`), name).toBe(true);
    }
  });

  it('puts newman in the smoke-test-staging and validate-production bundles and in no other', () => {
    for (const name of HANDLER_NAMES) {
      const text = readFileSync(bundles[name], 'utf8');
      expect(text.includes(NEWMAN_MARKER), name).toBe(Boolean((HANDLERS[name] as { bundlesNewman?: boolean }).bundlesNewman));
    }
  });

  it('bundles the AWS SDK instead of relying on the runtime copy', () => {
    const text = readFileSync(bundles.prepare, 'utf8');
    expect(text).not.toMatch(/from\s*["']@aws-sdk\//);
    expect(text).toContain('DynamoDB');
  });

  it('loads every bundle on Node with nothing but the bundle, and each exports a handler function', () => {
    // A separate process, so the bundles' module-level state (loggers, clients) stays out of the test runner.
    const script = `
      const results = {};
      for (const [name, url] of JSON.parse(process.argv[1])) {
        try { results[name] = typeof (await import(url)).handler; }
        catch (err) { results[name] = 'error: ' + (err && err.message); }
      }
      console.log(JSON.stringify(results));
    `;
    const entries = HANDLER_NAMES.map((name) => [name, pathToFileURL(bundles[name]).href]);
    const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(entries)], {
      cwd: outdir, // no node_modules to fall back on: everything must come from the bundle
      timeout: 60_000,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        RELEASES_TABLE: 'releases',
        ARTIFACTS_BUCKET: 'artifacts',
        NOTIFIER: 'ses',
        LOG_LEVEL: 'ERROR',
        POWERTOOLS_SERVICE_NAME: 'launchway',
        APPROVAL_SIGNING_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/test',
        APPROVAL_BASE_URL: 'https://approvals.example.com/v1',
      },
    });
    const results = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, string>;
    expect(results).toEqual(Object.fromEntries(HANDLER_NAMES.map((name) => [name, 'function'])));
  });
});
