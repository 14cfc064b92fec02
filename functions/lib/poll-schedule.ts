/**
 * How long the state machine waits between two polls of something slow: a deployment (WaitStaging,
 * WaitProduction) or the service lock (WaitForLock). Every poll adds history events to the execution, which Step
 * Functions caps at 25,000, so waits grow while the thing stays unfinished and the catalog bounds how long that may be.
 * test/unit/history-bound.test.ts computes the worst case from these functions and the catalog schema's bounds.
 */

/** Step Functions ends an execution whose history reaches this many events; no Catch sees it. */
export const HISTORY_EVENT_LIMIT = 25_000;

/**
 * The most history events one run of the release state machine may add, start to end (a redrive starts another run
 * in the same history): test/unit/history-bound.test.ts proves the worst case stays below it, and `launchway
 * redrive` refuses an execution whose history has less than this left.
 */
export const RUN_HISTORY_BUDGET = 10_000;

/** Each wait of a deployment's status loop is this much longer than the one before it. */
const POLL_BACKOFF = 1.5;

/**
 * The longest wait between two polls. A minute late is nothing for a deploy or a queue measured in minutes; longer
 * would make a release noticeably slower than the thing it waits for.
 */
export const MAX_POLL_SECONDS = 60;

/**
 * The wait before poll number `polls + 1` of a deployment: `base` grown by POLL_BACKOFF per poll made, in whole
 * seconds, at most MAX_POLL_SECONDS. A provider that knows its next event is due sooner (a traffic step) gives
 * `dueInSeconds`, and the wait ends then instead; never under a second.
 */
export function nextPollSeconds(base: number, polls: number, dueInSeconds?: number): number {
  const grown = Math.min(MAX_POLL_SECONDS, Math.ceil(base * POLL_BACKOFF ** polls));
  return Math.max(1, dueInSeconds === undefined ? grown : Math.min(grown, Math.ceil(dueInSeconds)));
}

/** The first wait of a queued release for the lock. */
const LOCK_POLL_SECONDS = 15;

/**
 * The wait before a queued release asks for the lock again, after `queuedSeconds` in the queue: LOCK_POLL_SECONDS
 * at first, then half the time waited so far (each wait about POLL_BACKOFF times the previous), at most
 * MAX_POLL_SECONDS. Computed from `queuedAt`, so no round count has to be kept.
 */
export function lockPollSeconds(queuedSeconds: number): number {
  return Math.min(MAX_POLL_SECONDS, Math.max(LOCK_POLL_SECONDS, Math.ceil(Math.max(0, queuedSeconds) * (POLL_BACKOFF - 1))));
}

/**
 * The most polls a loop can make before something that gives up after `boundSeconds` gives up: it gives up at the
 * first poll after the bound, and each wait is `waitAfter(polls made, seconds elapsed)`. Time spent in the polls
 * themselves only delays them, so counting waits alone is the worst case.
 */
export function pollsWithin(boundSeconds: number, waitAfter: (polls: number, elapsedSeconds: number) => number): number {
  let elapsed = 0;
  let polls = 0;
  while (elapsed <= boundSeconds) {
    const wait = waitAfter(polls, elapsed);
    if (!(wait >= 1)) throw new Error(`a poll wait of ${wait} s after ${polls} polls would never end the loop`);
    elapsed += wait;
    polls += 1;
  }
  return polls;
}
