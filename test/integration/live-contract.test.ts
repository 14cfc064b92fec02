import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { documentClient, s3Client } from '../../functions/lib/clients.js';
import { diffAgainstLive, type LiveContractDeps } from '../../functions/lib/contract/live-contract.js';
import { NotFoundError, ValidationError } from '../../functions/lib/errors.js';
import type { ReleaseRecord } from '../../functions/lib/store/records.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators.js';
import { example } from '../helpers/pipeline.js';

/** diffAgainstLive on dynalite and s3rver: what production serves is the live release's uploaded contract. */
let emu: TestEmulators;
let deps: LiveContractDeps;
const v1 = readFileSync(example('1.0.0', 'openapi.yaml'), 'utf8');
const v11 = readFileSync(example('1.1.0', 'openapi.yaml'), 'utf8');

beforeAll(async () => {
  emu = await startTestEmulators();
  deps = { store: new ReleaseStore(documentClient(), emu.table), artifacts: new ArtifactStore(s3Client(), emu.bucket) };
});
afterAll(async () => emu?.stop());

/** A SUCCEEDED release of `service` live in production, whose request names `openapiKey` (uploaded or not). */
async function live(service: string, version: string, openapiKey: string | undefined): Promise<void> {
  const releaseId = `${service}-${version}`;
  const at = new Date().toISOString();
  const record: ReleaseRecord = {
    releaseId,
    service,
    version,
    commit: 'abcdef1',
    branch: 'main',
    triggeredBy: 'ci@example.com',
    status: 'SUCCEEDED',
    request: { service, version, artifacts: openapiKey ? { openapi: openapiKey } : {} },
    changes: [],
    createdAt: at,
    updatedAt: at,
  };
  expect(await deps.store.createRelease(record)).toBe(true);
  await deps.store.putCurrent({ service, environment: 'production', version, releaseId, artifactKey: 'unused', handle: {} });
}

describe('diffAgainstLive', () => {
  it('compares a first release with nothing: no live release, no changes', async () => {
    // Staging being live does not make a contract partners have: only production counts.
    await deps.store.putCurrent({
      service: 'first',
      environment: 'staging',
      version: '1.0.0',
      releaseId: 'x',
      artifactKey: 'k',
      handle: {},
    });
    expect(await diffAgainstLive(deps, 'first', v11)).toEqual({ against: null, changes: [], breaking: 0, deprecations: 0, nonBreaking: 0 });
  });

  it("takes the live release's uploaded contract as the before", async () => {
    await live('greeter', '1.0.0', await deps.artifacts.put('artifacts/greeter/1.0.0/openapi.yaml', v1));
    const added = await diffAgainstLive(deps, 'greeter', v11);
    expect(added.against).toEqual({ releaseId: 'greeter-1.0.0', version: '1.0.0' });
    expect(added.breaking).toBe(0);
    expect(added.nonBreaking).toBe(added.changes.length);
    expect(added.changes).toContainEqual(expect.objectContaining({ severity: 'non-breaking', method: 'GET', path: '/languages' }));

    // The same contract as live changes nothing; the reverse direction removes what 1.1.0 added.
    expect(await diffAgainstLive(deps, 'greeter', v1)).toMatchObject({ changes: [], breaking: 0, nonBreaking: 0, deprecations: 0 });
  });

  it('counts what the live contract loses as breaking', async () => {
    await live('shrinking', '1.1.0', await deps.artifacts.put('artifacts/shrinking/1.1.0/openapi.yaml', v11));
    const removed = await diffAgainstLive(deps, 'shrinking', v1);
    expect(removed.against).toEqual({ releaseId: 'shrinking-1.1.0', version: '1.1.0' });
    expect(removed.changes).toContainEqual(
      expect.objectContaining({ severity: 'breaking', method: 'GET', path: '/languages', rule: 'path-removed' }),
    );
    expect(removed.breaking).toBe(removed.changes.filter((c) => c.severity === 'breaking').length);
    expect(removed.breaking + removed.nonBreaking + removed.deprecations).toBe(removed.changes.length);
    expect(removed.changes[0].severity).toBe('breaking');
  });

  it('refuses to guess when the live contract is gone from the bucket or the record', async () => {
    await live('vanished', '1.0.0', 'artifacts/vanished/1.0.0/openapi.yaml');
    const gone = diffAgainstLive(deps, 'vanished', v11);
    await expect(gone).rejects.toBeInstanceOf(NotFoundError);
    await expect(gone).rejects.toThrow(
      /the contract of vanished 1\.0\.0 \(artifacts\/vanished\/1\.0\.0\/openapi\.yaml\), live in production/,
    );

    await live('unnamed', '1.0.0', undefined);
    await expect(diffAgainstLive(deps, 'unnamed', v11)).rejects.toThrow(
      new NotFoundError('the contract of unnamed 1.0.0 (release unnamed-1.0.0), live in production, is not on its record'),
    );
  });

  it("names artifacts.openapi when the release's own contract does not validate", async () => {
    const bad = diffAgainstLive(deps, 'greeter', 'openapi: 3.0.3\ninfo: {title: x, version: 1.0.0}\npaths: {}\n');
    await expect(bad).rejects.toBeInstanceOf(ValidationError);
    await expect(bad).rejects.toMatchObject({ fields: { 'artifacts.openapi': expect.any(String) } });
  });
});
