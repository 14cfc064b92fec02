import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideFromOutbox } from '../../cli/approve.js';
import { getReleaseView, startRelease } from '../../cli/release-client.js';
import { documentClient } from '../../functions/lib/clients.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';
import { decide, example, finish, nextCommit, releaseOf, service, startTestStack, step, type TestStack } from '../helpers/pipeline.js';

/**
 * The contract gate on the real ASL in the embedded engine: Prepare diffs each release's contract against the one
 * production serves, and the catalog's interop.breakingChanges decides what a breaking change needs.
 */
let stack: TestStack;
let store: ReleaseStore;
const LEAD = 'lead@example.com';
const OWNER = 'api-owner@example.com';
/** greeter 1.1.0's contract without GET /languages: a removed route. */
const WITHOUT_LANGUAGES = fileURLToPath(new URL('../fixtures/openapi/greeter-without-languages.yaml', import.meta.url));

beforeAll(async () => {
  const gate = (breakingChanges: 'approve' | 'block') => ({ ...service().interop, breakingChanges, apiOwners: [OWNER] });
  stack = await startTestStack({ gated: service({ interop: gate('approve') }), strict: service({ interop: gate('block') }) });
  store = new ReleaseStore(documentClient(), process.env.RELEASES_TABLE!);
}, 60_000);
afterAll(async () => stack?.stopAll());

/** A release of 1.1.0's service with the contract that drops GET /languages (1.0.0's collection: it never calls it). */
const withoutLanguages = (svc: string, version: string) =>
  startRelease({
    service: svc,
    version,
    commit: nextCommit(),
    triggeredBy: 'ci@example.com',
    bundle: example('1.1.0', 'service.mjs'),
    collection: example('1.0.0', 'collection.postman.json'),
    openapi: WITHOUT_LANGUAGES,
  });

/** Releases `version` of the examples through the usual approval, expecting it to succeed. */
async function released(svc: string, version: string, files: { bundleFrom?: string; openapiFrom?: string } = {}) {
  const started = await releaseOf({ service: svc, version, collectionFrom: '1.0.0', ...files });
  const [, view] = await Promise.all([decide(stack, started.releaseId, LEAD, 'approve'), finish(started)]);
  expect(view.status, `${svc} ${version}: ${view.error?.error} ${view.error?.cause}`).toBe('SUCCEEDED');
  return view;
}

describe('the contract gate', () => {
  it('block: a removed route ends FAILED in Prepare with BreakingApiChange, before DeployStaging', async () => {
    const first = await released('strict', '1.1.0');
    expect(first.apiChanges).toMatchObject({ against: null, changes: [], breaking: 0, policy: 'block', ownerApprovalRequired: false });

    const started = await withoutLanguages('strict', '1.1.1');
    const view = await finish(started);
    expect(view.status).toBe('FAILED');
    expect(view.error).toMatchObject({ error: 'BreakingApiChange', state: 'Prepare' });
    expect(view.error?.cause).toContain('GET /languages');
    expect(view.error?.cause).toContain('interop.breakingChanges is block');
    expect(view.apiChanges).toMatchObject({ policy: 'block', against: { releaseId: first.releaseId, version: '1.1.0' } });
    expect(view.apiChanges?.breaking).toBeGreaterThan(0);
    expect(view.apiChanges?.changes).toContainEqual(expect.objectContaining({ severity: 'breaking', method: 'GET', path: '/languages' }));
    // Prepare is the only step, and it failed with the same error: nothing was deployed or asked for.
    expect(view.steps.map((s) => `${s.step} ${s.status}`)).toEqual(['Prepare FAILED']);
    expect(step(view, 'Prepare').error).toMatchObject({ error: 'BreakingApiChange', cause: expect.stringContaining('GET /languages') });
    expect((await store.getCurrent('strict', 'production'))?.version).toBe('1.1.0');
  }, 240_000);

  it('approve: a non-breaking addition passes; a removed route waits for an API owner after the usual approval', async () => {
    await released('gated', '1.0.0');
    const added = await released('gated', '1.1.0');
    expect(added.apiChanges).toMatchObject({ breaking: 0, policy: 'approve', ownerApprovalRequired: false });
    expect(added.apiChanges?.nonBreaking).toBeGreaterThan(0);
    expect(added.apiChanges?.changes).toContainEqual(
      expect.objectContaining({ severity: 'non-breaking', method: 'GET', path: '/languages' }),
    );
    expect(added.approval?.apiOwners).toBeUndefined();

    const started = await withoutLanguages('gated', '1.1.1');
    const done = finish(started, 180_000);
    const byLead = await decide(stack, started.releaseId, LEAD, 'approve');
    expect(byLead.body).toMatchObject({ status: 'PENDING', approvals: 1, requiredApprovals: 1, awaitingApiOwner: true });
    const waiting = await getReleaseView(started.releaseId);
    expect(waiting?.status).toBe('AWAITING_APPROVAL');
    expect(waiting?.apiChanges).toMatchObject({ policy: 'approve', ownerApprovalRequired: true, apiOwners: [OWNER] });
    expect(waiting?.approval).toMatchObject({ status: 'PENDING', apiOwners: [OWNER], approvedBy: [LEAD] });

    // The API owner, who is not an approver, got the email with their own link; their approval moves it on.
    const byOwner = await decideFromOutbox(stack.outboxDir, { releaseId: started.releaseId, approver: OWNER, decision: 'approve' });
    expect(byOwner.body).toMatchObject({ status: 'APPROVED', awaitingApiOwner: false });
    const view = await done;
    expect(view.status).toBe('SUCCEEDED');
    expect(step(view, 'Approval').details).toMatchObject({ approvedBy: [LEAD, OWNER], apiOwners: [OWNER] });
  }, 360_000);

  it('approve with a major version bump: breaking changes are recorded, and the usual approval is enough', async () => {
    // gated runs 1.1.1 (previous test): 2.0.0 drops the `lang` parameter and response property again.
    const view = await released('gated', '2.0.0', { bundleFrom: '1.0.0', openapiFrom: '1.0.0' });
    expect(view.apiChanges).toMatchObject({ policy: 'approve', ownerApprovalRequired: false, against: { version: '1.1.1' } });
    expect(view.apiChanges?.breaking).toBeGreaterThan(0);
    expect(view.approval?.apiOwners).toBeUndefined();
    expect(view.approval?.approvedBy).toEqual([LEAD]);
  }, 240_000);
});
