import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { MAX_DEPLOY_SECONDS, ServiceSchema } from '../../functions/lib/catalog.js';
import { BASE_POLL_SECONDS } from '../../functions/lib/deploy/polling.js';
import {
  CloudFormationTargetSchema,
  DeployTargetSchema,
  EcsServiceTargetSchema,
  HttpTargetSchema,
  LambdaAliasTargetSchema,
  LocalProcessTargetSchema,
} from '../../functions/lib/deploy/targets.js';
import {
  HISTORY_EVENT_LIMIT,
  MAX_POLL_SECONDS,
  RUN_HISTORY_BUDGET,
  lockPollSeconds,
  nextPollSeconds,
  pollsWithin,
} from '../../functions/lib/poll-schedule.js';
import { RELEASE_ASL_PATH } from '../../statemachines/paths.js';

/**
 * Step Functions ends an execution that reaches 25,000 history events. This computes the most events one release
 * execution can have, from the ASL and the catalog schema's bounds, and keeps it below LIMIT with room to spare.
 */
const HISTORY_LIMIT = HISTORY_EVENT_LIMIT;
const LIMIT = RUN_HISTORY_BUDGET;

/**
 * Where a redrive starts a new run: HoldForRedrive returns only when `launchway redrive` asked for it, and the
 * command refuses unless the history has RUN_HISTORY_BUDGET left. So this edge is not a loop of one run; the runs
 * are counted by the command, and each one by this test.
 */
const REDRIVE_EDGE = { from: 'Reopened', to: 'AcquireLock' } as const;

type State = {
  Type: string;
  Resource?: string;
  Next?: string;
  Default?: string;
  Choices?: { Next: string }[];
  Catch?: { Next: string }[];
  Retry?: { MaxAttempts?: number }[];
};
const asl = JSON.parse(readFileSync(RELEASE_ASL_PATH, 'utf8')) as { StartAt: string; States: Record<string, State> };

/**
 * History events of one visit to a state, its retries at their MaxAttempts (default 3) included: entered and exited,
 * and per attempt of a Task TaskScheduled, TaskStarted and TaskSucceeded/Failed/TimedOut, plus TaskSubmitted for a
 * `.waitForTaskToken` Task. Every other state type records entered and exited.
 */
function eventsPerVisit(state: State): number {
  if (state.Type !== 'Task') return 2;
  const attempts = 1 + (state.Retry ?? []).reduce((sum, r) => sum + (r.MaxAttempts ?? 3), 0);
  return 2 + attempts * (state.Resource?.endsWith('.waitForTaskToken') ? 4 : 3);
}

const nextStates = (s: State): string[] =>
  [s.Next, s.Default, ...(s.Choices ?? []).map((c) => c.Next), ...(s.Catch ?? []).map((c) => c.Next)].filter(
    (n): n is string => n !== undefined && !(s === asl.States[REDRIVE_EDGE.from] && n === REDRIVE_EDGE.to),
  );

/** The ASL's loops: its strongly connected components of more than one state (Tarjan). */
function loops(states: Record<string, State>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (name: string) => {
    index.set(name, index.size);
    low.set(name, index.get(name)!);
    stack.push(name);
    for (const next of nextStates(states[name])) {
      if (!index.has(next)) {
        visit(next);
        low.set(name, Math.min(low.get(name)!, low.get(next)!));
      } else if (stack.includes(next)) low.set(name, Math.min(low.get(name)!, index.get(next)!));
    }
    if (low.get(name) !== index.get(name)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      component.push(member);
    } while (member !== name);
    if (component.length > 1) found.push(component.sort());
  };
  for (const name of Object.keys(states)) if (!index.has(name)) visit(name);
  return found;
}

type Worst = { total: number; path: string[]; breakdown: string[] };

/**
 * The most events of one execution: the longest path from StartAt to an end, where each loop counts as one node of
 * `rounds + 1` visits to each of its states (`rounds`: the most times its Wait state runs), plus ExecutionStarted and
 * the execution's end. Every loop must be named in `rounds`, keyed by its Wait state.
 */
function worstCase(rounds: Record<string, number>): Worst {
  const states = asl.States;
  const nodeOf = new Map<string, string>(Object.keys(states).map((n) => [n, n]));
  const weight = new Map<string, number>(Object.entries(states).map(([n, s]) => [n, eventsPerVisit(s)]));
  const breakdown: string[] = [];
  for (const component of loops(states)) {
    const wait = component.find((n) => states[n].Type === 'Wait');
    if (!wait || rounds[wait] === undefined) throw new Error(`loop ${component.join(' → ')} has no bound in this test`);
    const perRound = component.reduce((sum, n) => sum + eventsPerVisit(states[n]), 0);
    const events = (rounds[wait] + 1) * perRound;
    for (const n of component) nodeOf.set(n, wait);
    for (const n of component) weight.delete(n);
    weight.set(wait, events);
    breakdown.push(`${wait} loop (${component.join(', ')}): (${rounds[wait]} rounds + 1) × ${perRound} events = ${events}`);
  }
  const best = new Map<string, { total: number; path: string[] }>();
  const longest = (node: string): { total: number; path: string[] } => {
    const known = best.get(node);
    if (known) return known;
    const members = [...nodeOf].filter(([, v]) => v === node).map(([k]) => k);
    const exits = new Set(members.flatMap((m) => nextStates(states[m])).map((n) => nodeOf.get(n)!));
    exits.delete(node);
    let tail = { total: 0, path: [] as string[] };
    for (const next of exits) {
      const candidate = longest(next);
      if (candidate.total > tail.total) tail = candidate;
    }
    const result = { total: weight.get(node)! + tail.total, path: [node, ...tail.path] };
    best.set(node, result);
    return result;
  };
  const worst = longest(nodeOf.get(asl.StartAt)!);
  return { total: worst.total + 2, path: worst.path, breakdown };
}

/** A number field's bound as the zod schema declares it, through `.default()` and `.optional()`. */
function bound(field: z.ZodType, which: 'min' | 'max'): number {
  let inner = field as unknown as { unwrap?: () => unknown; minValue?: number | null; maxValue?: number | null };
  while (inner.unwrap && inner.minValue === undefined) inner = inner.unwrap() as typeof inner;
  const value = which === 'min' ? inner.minValue : inner.maxValue;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`field has no ${which} bound`);
  return value;
}

/** What bounds each target type's status loop in the catalog schema: its longest run, first wait and extra polls. */
function deployLoops(): Record<string, { seconds: number; base: number; duePolls: number }> {
  const shifting = LambdaAliasTargetSchema.shape.trafficShifting.unwrap();
  const linearShift = shifting.options.find((o) => o.shape.type.value === 'linear')?.shape;
  if (!linearShift || !('percent' in linearShift)) throw new Error('the lambda-alias schema has no linear shift with a percent');
  const linear = bound(linearShift.percent, 'min');
  return {
    'local-process': {
      seconds: bound(LocalProcessTargetSchema.shape.startTimeoutSeconds, 'max'),
      base: BASE_POLL_SECONDS['local-process'],
      duePolls: 0,
    },
    // The code update, its last poll's wait, then the shift and bake (at most MAX_DEPLOY_SECONDS in all), whose
    // steps each bring one poll forward: ceil(100 / percent) - 1 weight steps and the end of the bake.
    'lambda-alias': {
      seconds: bound(LambdaAliasTargetSchema.shape.updateTimeoutSeconds, 'max') + MAX_POLL_SECONDS + MAX_DEPLOY_SECONDS,
      base: BASE_POLL_SECONDS['lambda-alias'],
      duePolls: Math.ceil(100 / linear),
    },
    cloudformation: {
      seconds: bound(CloudFormationTargetSchema.shape.timeoutSeconds, 'max'),
      base: BASE_POLL_SECONDS.cloudformation,
      duePolls: 0,
    },
    'ecs-service': {
      seconds: bound(EcsServiceTargetSchema.shape.timeoutSeconds, 'max'),
      base: BASE_POLL_SECONDS['ecs-service'],
      duePolls: 0,
    },
    http: {
      seconds: bound(HttpTargetSchema.shape.timeoutSeconds, 'max'),
      base: bound(HttpTargetSchema.shape.pollSeconds, 'min'),
      duePolls: 0,
    },
  };
}

/** The most rounds of each loop at the schema's bounds, with these waits. */
function rounds(
  deployWait: (base: number, polls: number) => number = nextPollSeconds,
  lockWaitSeconds = bound(ServiceSchema.shape.lockWaitSeconds, 'max'),
) {
  const deploy = Math.max(
    ...Object.values(deployLoops()).map((l) => pollsWithin(l.seconds, (polls) => deployWait(l.base, polls)) + l.duePolls),
  );
  const lock = pollsWithin(lockWaitSeconds, (_, elapsed) => lockPollSeconds(elapsed));
  return { WaitForLock: lock, WaitStaging: deploy, WaitProduction: deploy };
}

const report = (w: Worst) => [`worst case ${w.total} events:`, ...w.breakdown, `path: ${w.path.join(' → ')}`].join('\n');

describe('history events of one release execution', () => {
  it('has exactly three loops, the queue and the two deploy polls, each around a Wait state', () => {
    const found = loops(asl.States).map((c) => c.find((n) => asl.States[n].Type === 'Wait'));
    expect(found.sort()).toEqual(['WaitForLock', 'WaitProduction', 'WaitStaging']);
  });

  it('bounds every deploy target type the catalog accepts', () => {
    expect(Object.keys(deployLoops()).sort()).toEqual(DeployTargetSchema.options.map((o) => o.shape.type.value).sort());
  });

  it(`stays below ${LIMIT} events (Step Functions allows ${HISTORY_LIMIT}) at the catalog's longest bounds`, () => {
    const worst = worstCase(rounds());
    const perType = Object.entries(deployLoops()).map(
      ([type, l]) =>
        `${type}: ${pollsWithin(l.seconds, (n) => nextPollSeconds(l.base, n))} + ${l.duePolls} polls in ${l.seconds} s from ${l.base} s`,
    );
    expect(worst.total, [report(worst), 'deploy polls by target type:', ...perType].join('\n')).toBeLessThan(LIMIT);
    // The loops dominate; the rest of the path (every step once, with its retries) is small.
    expect(worst.path).toEqual(expect.arrayContaining(['WaitForLock', 'WaitStaging', 'WaitProduction', 'RemindApprovers']));
  });

  it('flags a longer queue or faster polls that would cross the limit', () => {
    const day = worstCase(rounds(nextPollSeconds, 24 * 3600));
    expect(day.total, report(day)).toBeGreaterThan(LIMIT);
    // The fixed 5 s deploy poll this replaced, at today's bounds.
    const fixed = worstCase(rounds(() => 5));
    expect(fixed.total, report(fixed)).toBeGreaterThan(LIMIT);
  });

  it('refuses a loop this test has no bound for', () => {
    expect(() => worstCase({ WaitForLock: 1, WaitStaging: 1 })).toThrow(/WaitProduction/);
  });
});

describe('poll waits', () => {
  it('grow by half from the base each poll, in whole seconds, up to a minute', () => {
    expect(Array.from({ length: 12 }, (_, n) => nextPollSeconds(1, n))).toEqual([1, 2, 3, 4, 6, 8, 12, 18, 26, 39, 58, 60]);
    expect(Array.from({ length: 6 }, (_, n) => nextPollSeconds(15, n))).toEqual([15, 23, 34, 51, 60, 60]);
  });

  it('end when the provider says its next step is due, never under a second', () => {
    expect(nextPollSeconds(5, 10, 12.2)).toBe(13);
    expect(nextPollSeconds(5, 0, 300)).toBe(5);
    expect(nextPollSeconds(5, 3, -2)).toBe(1);
  });

  it('for the lock start at 15 s and grow with the time queued, up to a minute', () => {
    expect([0, 30, 40, 70, 119, 120, 7200].map(lockPollSeconds)).toEqual([15, 15, 20, 35, 60, 60, 60]);
  });

  it('are counted up to the first poll past the bound', () => {
    expect(pollsWithin(10, () => 5)).toBe(3);
    expect(pollsWithin(9, () => 5)).toBe(2);
    expect(() => pollsWithin(10, () => 0)).toThrow(/never end/);
  });
});
