import { MAX_LOCK_WAIT_SECONDS } from '../catalog.js';
import type { ReleaseRecord } from '../store/records.js';
import type { ReleaseStore } from '../store/release-store.js';

/**
 * The per-service queue is first come, first served by execution start time. A release may take a free lock only
 * when no release of its service that started before it is still waiting for it. Releases are ordered by their
 * history key `<createdAt>#<releaseId>`: `createdAt` is the execution's start time, and the release id breaks ties.
 *
 * A waiter is a record that Prepare accepted (PENDING) or that AcquireLock queued (QUEUED). Its execution may have
 * died (stopped, timed out, crashed) without ending the record; the status-change handler ends such records, but
 * the queue does not rely on it. A waiter is taken for dead, and no longer blocks anyone, when either:
 * - its record has not been touched for WAITER_SILENCE_SECONDS: a live waiter writes its record on every round of
 *   the lock loop (every 15 s, at most about 3 minutes apart with the Task's timeouts and retries), or
 * - its own queue time is over (`queuedAt` + its `lockWaitSeconds`): it fails with LockTimeout at its next round.
 * A waiter with a stop request (superseded or cancelled) does not block either: its execution is being stopped.
 */
export const WAITER_SILENCE_SECONDS = 5 * 60;

/**
 * How far back the queue looks. A waiter enters the queue minutes after its start (Prepare, then its first round)
 * and waits at most MAX_LOCK_WAIT_SECONDS, so anything that started longer ago than this is no waiter.
 */
export const QUEUE_WINDOW_SECONDS = MAX_LOCK_WAIT_SECONDS + 3600;

const WAITING: readonly ReleaseRecord['status'][] = ['PENDING', 'QUEUED'];

/** The history key that orders the queue. */
export const queueKey = (r: Pick<ReleaseRecord, 'createdAt' | 'releaseId'>) => `${r.createdAt}#${r.releaseId}`;

/** True when `r` is a waiter whose execution is, as far as the record tells, alive (see WAITER_SILENCE_SECONDS). */
export function isLiveWaiter(r: ReleaseRecord, now: Date): boolean {
  // A waiter someone stopped on purpose (superseded, cancelled) is ending: the status-change handler finishes it.
  if (!WAITING.includes(r.status) || !r.catalog || r.stopRequest) return false;
  const at = now.getTime();
  if (at - Date.parse(r.updatedAt) > WAITER_SILENCE_SECONDS * 1000) return false;
  return !r.queuedAt || at - Date.parse(r.queuedAt) <= r.catalog.lockWaitSeconds * 1000;
}

/** The live waiter that started first before `me`, or undefined when `me` is at the head of the queue. */
export function firstAhead(
  me: Pick<ReleaseRecord, 'createdAt' | 'releaseId'>,
  others: ReleaseRecord[],
  now: Date,
): ReleaseRecord | undefined {
  const mine = queueKey(me);
  return others
    .filter((r) => r.releaseId !== me.releaseId && queueKey(r) < mine && isLiveWaiter(r, now))
    .sort((a, b) => (queueKey(a) < queueKey(b) ? -1 : 1))[0];
}

/** Reads the service's queue and returns the first live waiter that started before `me`. */
export async function waiterAhead(store: ReleaseStore, me: ReleaseRecord, now: Date): Promise<ReleaseRecord | undefined> {
  const from = new Date(now.getTime() - QUEUE_WINDOW_SECONDS * 1000).toISOString();
  const others = await store.order.startedBetween(me.service, from, queueKey(me), WAITING);
  return firstAhead(me, others, now);
}
