import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../../functions/lib/catalog.js';
import { QUEUE_WINDOW_SECONDS, WAITER_SILENCE_SECONDS, firstAhead, isLiveWaiter } from '../../functions/lib/pipeline/queue-order.js';
import { CLAIM_GRACE_SECONDS, claimBlocks, versionProblem } from '../../functions/lib/pipeline/release-order.js';
import type { ReleaseRecord } from '../../functions/lib/store/records.js';
import { service } from '../helpers/pipeline.js';

const NOW = new Date('2030-01-01T12:00:00.000Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();

const waiter = (id: string, createdAt: string, patch: Partial<ReleaseRecord> = {}): ReleaseRecord => ({
  releaseId: id,
  service: 'svc',
  version: '1.0.0',
  commit: 'abcdef1',
  branch: 'main',
  triggeredBy: 'ci@example.com',
  status: 'QUEUED',
  request: {},
  changes: [],
  catalog: service({ lockWaitSeconds: 600 }),
  createdAt,
  queuedAt: createdAt,
  updatedAt: ago(1),
  ...patch,
});

describe('versionProblem: a release must move production forward', () => {
  it('accepts a greater version, or anything when nothing is live', () => {
    expect(versionProblem('1.0.3', { version: '1.0.2' }, false)).toBeUndefined();
    expect(versionProblem('1.10.0', { version: '1.9.9' }, false)).toBeUndefined();
    expect(versionProblem('2.0.0', { version: '2.0.0-rc.1' }, false)).toBeUndefined();
    expect(versionProblem('0.0.1', undefined, false)).toBeUndefined();
  });

  it('refuses a lower or equal version, naming the live one and the catalog switch', () => {
    expect(versionProblem('1.0.2', { version: '1.0.3' }, false)).toBe(
      '1.0.2 is not greater than 1.0.3, live in production; set allowDowngrade in the catalog to allow it',
    );
    expect(versionProblem('1.0.3', { version: '1.0.3' }, false)).toMatch(/^1\.0\.3 is not greater than 1\.0\.3/);
    expect(versionProblem('1.9.0', { version: '1.10.0' }, undefined)).toMatch(/not greater than 1\.10\.0/);
    expect(versionProblem('2.0.0-rc.1', { version: '2.0.0' }, false)).toBeDefined();
    // Build metadata does not order versions: the same version with another build is not greater.
    expect(versionProblem('1.0.3+b2', { version: '1.0.3+b1' }, false)).toBeDefined();
  });

  it('lets anything through when the catalog allows a downgrade', () => {
    expect(versionProblem('1.0.0', { version: '1.0.3' }, true)).toBeUndefined();
    expect(versionProblem('1.0.3', { version: '1.0.3' }, true)).toBeUndefined();
  });

  it('allowDowngrade defaults to false in the catalog and must be a boolean', () => {
    const entry = { approvers: ['a@example.com'], staging: { type: 'local-process' }, production: { type: 'local-process' } };
    expect(parseCatalog({ services: { svc: entry } }).services.svc.allowDowngrade).toBe(false);
    expect(parseCatalog({ services: { svc: { ...entry, allowDowngrade: true } } }).services.svc.allowDowngrade).toBe(true);
    expect(() => parseCatalog({ services: { svc: { ...entry, allowDowngrade: 'yes' } } })).toThrow(/services\.svc\.allowDowngrade/);
  });
});

describe('claimBlocks: one build is started once', () => {
  const claim = { releaseId: 'first', claimedAt: ago(5) };
  it('blocks while the claimant runs, waits or succeeded', () => {
    for (const status of ['PENDING', 'QUEUED', 'RUNNING', 'AWAITING_APPROVAL', 'ROLLING_BACK', 'SUCCEEDED'] as const) {
      expect(claimBlocks(claim, waiter('first', ago(5), { status }), NOW), status).toBe(true);
    }
  });
  it('lets the build start again after the claimant ended any other way', () => {
    for (const status of ['FAILED', 'REJECTED', 'EXPIRED', 'ROLLED_BACK'] as const) {
      expect(claimBlocks(claim, waiter('first', ago(5), { status }), NOW), status).toBe(false);
    }
  });
  it('a claim without a record blocks for the grace period only (its Prepare may be midway)', () => {
    expect(claimBlocks({ releaseId: 'x', claimedAt: ago(CLAIM_GRACE_SECONDS - 1) }, undefined, NOW)).toBe(true);
    expect(claimBlocks({ releaseId: 'x', claimedAt: ago(CLAIM_GRACE_SECONDS + 1) }, undefined, NOW)).toBe(false);
  });
});

describe('the queue: first come, first served by start time', () => {
  const me = waiter('me', ago(30));

  it('a release waits for a live waiter that started before it, the earliest first', () => {
    const others = [waiter('b', ago(50)), waiter('a', ago(60)), waiter('later', ago(10))];
    expect(firstAhead(me, others, NOW)?.releaseId).toBe('a');
    expect(firstAhead(me, [waiter('later', ago(10))], NOW)).toBeUndefined();
  });

  it('ties on the start time are broken by release id', () => {
    const at = ago(30);
    expect(firstAhead(waiter('m', at), [waiter('a', at)], NOW)?.releaseId).toBe('a');
    expect(firstAhead(waiter('m', at), [waiter('z', at)], NOW)).toBeUndefined();
  });

  it('only PENDING and QUEUED prepared records are waiters', () => {
    for (const status of ['RUNNING', 'AWAITING_APPROVAL', 'SUCCEEDED', 'FAILED'] as const) {
      expect(isLiveWaiter(waiter('a', ago(60), { status }), NOW), status).toBe(false);
    }
    expect(isLiveWaiter(waiter('a', ago(60), { status: 'PENDING', queuedAt: undefined }), NOW)).toBe(true);
    expect(isLiveWaiter(waiter('a', ago(60), { catalog: undefined }), NOW)).toBe(false);
  });

  it('a waiter whose execution stopped touching its record, or whose queue time is over, no longer blocks', () => {
    expect(isLiveWaiter(waiter('a', ago(600), { updatedAt: ago(WAITER_SILENCE_SECONDS - 1) }), NOW)).toBe(true);
    expect(isLiveWaiter(waiter('a', ago(600), { updatedAt: ago(WAITER_SILENCE_SECONDS + 1) }), NOW)).toBe(false);
    expect(isLiveWaiter(waiter('a', ago(700), { queuedAt: ago(599) }), NOW)).toBe(true);
    expect(isLiveWaiter(waiter('a', ago(700), { queuedAt: ago(601) }), NOW)).toBe(false);
    expect(firstAhead(me, [waiter('dead', ago(900), { updatedAt: ago(WAITER_SILENCE_SECONDS + 1) })], NOW)).toBeUndefined();
  });

  it('the window the queue reads covers the longest lock wait with an hour for Prepare', () => {
    expect(QUEUE_WINDOW_SECONDS).toBeGreaterThanOrEqual(2 * 3600 + 3600);
  });
});
