import { describe, expect, it } from 'vitest';
import { MAX_APPROVAL_TIMEOUT_SECONDS, MAX_LOCK_WAIT_SECONDS, parseCatalog } from '../../functions/lib/catalog.js';
import { assertCurrent, releaseEndedMessage } from '../../functions/lib/approvals/policy.js';
import { firstAhead, isLiveWaiter } from '../../functions/lib/pipeline/queue-order.js';
import { SUPERSEDE_WINDOW_SECONDS, supersededBy } from '../../functions/lib/pipeline/supersede.js';
import { RELEASE_STATUSES, type ReleaseRecord } from '../../functions/lib/store/records.js';
import { service } from '../helpers/pipeline.js';

const NOW = new Date('2030-01-01T12:00:00.000Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();

const release = (id: string, createdAt: string, patch: Partial<ReleaseRecord> = {}): ReleaseRecord => ({
  releaseId: id,
  service: 'svc',
  version: '1.0.0',
  commit: 'abcdef1',
  branch: 'main',
  triggeredBy: 'ci@example.com',
  status: 'QUEUED',
  executionArn: `arn:aws:states:eu-west-1:123456789012:execution:release:${id}`,
  request: {},
  changes: [],
  catalog: service({ queue: 'supersede' }),
  createdAt,
  queuedAt: createdAt,
  updatedAt: ago(1),
  ...patch,
});

const me = release('me', ago(30), { status: 'PENDING' });
const ids = (rs: ReleaseRecord[]) => rs.map((r) => r.releaseId);

describe('supersededBy: which older releases a newer one ends', () => {
  it('ends the older releases still waiting for the lock or for the approval, and nothing else', () => {
    const others = RELEASE_STATUSES.map((status) => release(status.toLowerCase(), ago(60), { status }));
    expect(ids(supersededBy(me, others)).sort()).toEqual(['awaiting_approval', 'pending', 'queued']);
  });

  it('never a release past its approval: deploying, validating, rolling back', () => {
    expect(supersededBy(me, [release('a', ago(60), { status: 'RUNNING' }), release('b', ago(60), { status: 'ROLLING_BACK' })])).toEqual([]);
  });

  it('never a newer release, nor itself; a start-time tie goes by release id, as the queue orders', () => {
    expect(supersededBy(me, [release('later', ago(10)), me])).toEqual([]);
    const at = ago(30);
    expect(ids(supersededBy(release('m', at), [release('a', at), release('z', at)]))).toEqual(['a']);
  });

  it('never another service, a release already asked to stop, or one without an execution', () => {
    const stopRequest = { status: 'CANCELLED' as const, by: 'ops@example.com', reason: 'no', at: ago(5) };
    expect(
      supersededBy(me, [
        release('x', ago(60), { service: 'other' }),
        release('y', ago(60), { stopRequest }),
        release('z', ago(60), { executionArn: undefined }),
      ]),
    ).toEqual([]);
  });

  it('looks back over the longest lock wait and approval', () => {
    expect(SUPERSEDE_WINDOW_SECONDS).toBeGreaterThanOrEqual(MAX_LOCK_WAIT_SECONDS + MAX_APPROVAL_TIMEOUT_SECONDS);
  });
});

describe('the queue does not wait for a release being stopped', () => {
  it('a waiter with a stop request no longer blocks a later release', () => {
    const stopRequest = {
      status: 'SUPERSEDED' as const,
      by: 'launchway',
      reason: 'superseded by me (1.0.1)',
      at: ago(1),
      supersededBy: 'me',
    };
    expect(isLiveWaiter(release('old', ago(60), { stopRequest }), NOW)).toBe(false);
    expect(firstAhead(me, [release('old', ago(60), { stopRequest })], NOW)).toBeUndefined();
    expect(firstAhead(me, [release('old', ago(60))], NOW)?.releaseId).toBe('old');
  });
});

describe('catalog queue', () => {
  const catalog = (extra: Record<string, unknown>) => ({
    services: {
      svc: { approvers: ['a@example.com'], staging: { type: 'local-process' }, production: { type: 'local-process' }, ...extra },
    },
  });

  it('defaults to fifo and accepts supersede', () => {
    expect(parseCatalog(catalog({})).services.svc.queue).toBe('fifo');
    expect(parseCatalog(catalog({ queue: 'supersede' })).services.svc.queue).toBe('supersede');
  });

  it('refuses anything else, naming the field', () => {
    expect(() => parseCatalog(catalog({ queue: 'lifo' }))).toThrow(/services\.svc\.queue/);
  });
});

describe('the 410 of a superseded release names the newer one', () => {
  const stopRequest = {
    status: 'SUPERSEDED' as const,
    by: 'launchway',
    reason: 'superseded by svc-1.0.2-b (1.0.2)',
    at: ago(1),
    supersededBy: 'svc-1.0.2-b',
  };

  it('a SUPERSEDED release with supersededBy gets its own message; any other ended release the usual one', () => {
    expect(releaseEndedMessage({ status: 'SUPERSEDED', stopRequest })).toBe('this release was superseded by svc-1.0.2-b');
    expect(
      releaseEndedMessage({ status: 'CANCELLED', stopRequest: { ...stopRequest, status: 'CANCELLED', supersededBy: undefined } }),
    ).toBeUndefined();
    expect(releaseEndedMessage(undefined)).toBeUndefined();
  });

  it('a cancelled approval answers 410 release-ended with that message', () => {
    const ended = releaseEndedMessage({ status: 'SUPERSEDED', stopRequest });
    expect(() => assertCurrent({ status: 'CANCELLED', expiresAt: 0 }, 0, undefined, ended)).toThrow(
      expect.objectContaining({ reason: 'release-ended', message: 'this release was superseded by svc-1.0.2-b' }),
    );
    expect(() => assertCurrent({ status: 'CANCELLED', expiresAt: 0 }, 0)).toThrow('the release has already ended without a decision');
  });
});
