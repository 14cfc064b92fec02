import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/lib/clients.js';
import type { SmokeDetails, ValidationDetails } from '../../functions/lib/store/step-details.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { startRelease } from '../../cli/release-client.js';
import { decide, example, finish, nextCommit, service, startTestStack, step, type TestStack } from '../helpers/pipeline.js';

/**
 * The service keeps its contract (issue 9 item 4), on the real ASL in the embedded engine: a build whose answers
 * break the 1.1.0 contract (each language's `name` is an object, the contract says string) while every assertion of
 * the 1.1.0 collection passes. Under the default `fail` it never leaves staging; under `warn` it ships, with the
 * violations on the record.
 */
const BREAKS_CONTRACT = fileURLToPath(new URL('../fixtures/services/greeter-breaks-contract.mjs', import.meta.url));

let stack: TestStack;
let store: ReleaseStore;

beforeAll(async () => {
  stack = await startTestStack({
    strict: service(),
    lenient: service({ tests: { contractConformance: 'warn', variables: {}, secretVariables: {} } }),
  });
  store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
}, 60_000);
afterAll(async () => stack?.stopAll());

const release = (svc: string) =>
  startRelease({
    service: svc,
    version: '1.1.0',
    commit: nextCommit(),
    triggeredBy: 'ci@example.com',
    bundle: BREAKS_CONTRACT,
    collection: example('1.1.0', 'collection.postman.json'),
    openapi: example('1.1.0', 'openapi.yaml'),
  });

describe('contract conformance of a release', () => {
  it('a response that breaks the schema fails SmokeTestStaging, naming the request and the path, though all assertions pass', async () => {
    const view = await finish(await release('strict'));

    expect(view.status).toBe('FAILED');
    expect(view.error?.error).toBe('SmokeTestsFailed');
    expect(view.error?.cause).toContain('3 of them contract violations');
    expect(view.error?.cause).toContain(
      'Languages are listed › contract: GET /languages → 200: $.languages[0].name must be string, got object',
    );
    const smoke = step(view, 'SmokeTestStaging');
    expect(smoke.status).toBe('FAILED');
    const details = smoke.details as SmokeDetails;
    // The collection's own checks all passed: the only failures are the three names.
    expect(details.failures.filter((f) => f.test !== 'contract')).toEqual([]);
    expect(details.failures.map((f) => f.message)).toEqual(
      [0, 1, 2].map((i) => `GET /languages → 200: $.languages[${i}].name must be string, got object`),
    );
    expect(details.contract).toMatchObject({ mode: 'fail', violationCount: 3, uncheckedCount: 0 });
    expect(details.contract!.checked).toBe(details.requests);
    expect(details.contract!.violations[0]).toEqual({
      name: 'Languages are listed',
      operation: 'GET /languages',
      status: 200,
      at: '$.languages[0].name',
      message: 'must be string, got object',
    });
    expect(view.steps.map((s) => s.step)).not.toContain('DeployProduction');
    expect(await store.getCurrent('strict', 'production')).toBeUndefined();
  });

  it('under "warn" the release ships, and both test steps record the violations as a warning', async () => {
    const started = await release('lenient');
    const [, view] = await Promise.all([decide(stack, started.releaseId, 'lead@example.com', 'approve'), finish(started)]);

    expect(view.status).toBe('SUCCEEDED');
    const smoke = step(view, 'SmokeTestStaging');
    expect(smoke.status).toBe('SUCCEEDED');
    const staging = smoke.details as SmokeDetails;
    expect(staging).toMatchObject({ failed: 0, contract: { mode: 'warn', violationCount: 3 } });
    expect(staging.failures).toEqual([]);
    expect(staging.warning).toContain('3 contract violation(s) in 1 of 7 responses');
    expect(staging.warning).toContain('Languages are listed › GET /languages → 200: $.languages[0].name must be string, got object');

    // Through the gateway, the way partners call it: the same answers, the same violations.
    const production = step(view, 'ValidateProduction').details as ValidationDetails;
    expect(production).toMatchObject({ viaInterop: true, failed: 0, contract: { mode: 'warn', violationCount: 3, checked: 7 } });
    expect(production.warning).toContain('$.languages[2].name must be string, got object');
  });
});
