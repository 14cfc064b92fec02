import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previewApiChanges } from '../../cli/diff.js';
import { readArtifacts } from '../../cli/read-artifacts.js';
import { readStore } from '../../cli/read-store.js';
import type { LiveContractDeps } from '../../functions/lib/contract/live-contract.js';
import type { ReleaseRecord } from '../../functions/lib/store/records.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { example } from '../helpers/pipeline.js';

/**
 * What `launchway release` prints before it uploads anything, against the live contract on dynalite and s3rver: the
 * changes when it can compare, a line saying so when it cannot, and never an error (the pipeline decides).
 */
let emu: TestEmulators;
let deps: LiveContractDeps;

const live = (releaseId: string, openapi: string): ReleaseRecord => ({
  releaseId,
  service: 'greeter',
  version: '1.0.0',
  commit: 'c0ffee1',
  branch: 'main',
  triggeredBy: 'ci@example.com',
  status: 'SUCCEEDED',
  request: { artifacts: { openapi } },
  changes: [],
  createdAt: '2026-11-21T00:00:00.000Z',
  updatedAt: '2026-11-21T00:00:00.000Z',
});

async function makeLive(releaseId: string, openapiKey: string): Promise<void> {
  await deps.store.createRelease(live(releaseId, openapiKey));
  await deps.store.putCurrent({
    service: 'greeter',
    environment: 'production',
    version: '1.0.0',
    releaseId,
    artifactKey: 'releases/greeter/1.0.0/c0ffee1/service.mjs',
    handle: {},
  });
}

async function preview(file: string) {
  const written: string[] = [];
  const summary = await previewApiChanges(deps, 'greeter', file, (text) => written.push(text));
  return { summary, text: written.join('\n') };
}

beforeAll(async () => {
  emu = await startTestEmulators();
  // The CLI's own read clients, as `launchway diff` builds them from RELEASES_TABLE and ARTIFACTS_BUCKET.
  deps = { store: readStore(), artifacts: readArtifacts() };
}, 60_000);
afterAll(async () => emu?.stop());

describe('release prints the API changes before it starts', () => {
  it('a first release has nothing to compare', async () => {
    const { summary, text } = await preview(example('1.0.0', 'openapi.yaml'));
    expect(summary).toMatchObject({ against: null });
    expect(text).toBe('API changes for partners: first release of greeter: no live contract to compare');
  });

  it('against the live 1.0.0, 1.1.0 lists its additions as non-breaking', async () => {
    const key = 'releases/greeter/1.0.0/c0ffee1/openapi.yaml';
    await deps.artifacts.put(key, await readFile(example('1.0.0', 'openapi.yaml')), 'application/yaml');
    await makeLive('greeter-1.0.0-c0ffee1', key);
    const { summary, text } = await preview(example('1.1.0', 'openapi.yaml'));
    expect(summary).toMatchObject({ against: { releaseId: 'greeter-1.0.0-c0ffee1', version: '1.0.0' }, breaking: 0 });
    expect(text).toContain('against greeter 1.0.0, live in production (greeter-1.0.0-c0ffee1): 0 breaking');
    expect(text).toContain('+ GET /languages: the operation was added');
  });

  it('a live contract that cannot be read is said, and the release goes on', async () => {
    // Production names a release whose uploaded contract is gone from the bucket.
    await makeLive('greeter-1.0.0-c0ffee2', 'releases/greeter/1.0.0/c0ffee2/openapi.yaml');
    const { summary, text } = await preview(example('1.1.0', 'openapi.yaml'));
    expect(summary).toBeUndefined();
    expect(text).toMatch(/^API changes for partners: not compared, the live contract of greeter could not be read \(/);
    expect(text).toContain('releases/greeter/1.0.0/c0ffee2/openapi.yaml');
    expect(text).toContain('the release goes on');
  });
});
