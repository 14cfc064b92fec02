import type { z } from 'zod';
import { ValidationError } from '../errors.js';
import type { DeployTarget } from './targets.js';

/**
 * Helpers the AWS deploy providers share: typed handles, target narrowing, and the bounded polling a rollback does
 * inside its one Lambda invocation.
 */

/** Time as the providers see it; tests pass a clock they move themselves. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * How long a rollback may poll. The rollback function's Lambda timeout is 540 s; stopping well short of it leaves
 * time to record the result, so a slow restore ends as a clear FAILED rather than a Lambda timeout.
 */
export const ROLLBACK_BUDGET_MS = 480_000;
/** Pause between two polls inside a rollback. */
export const ROLLBACK_POLL_MS = 5_000;

/** Narrows a catalog target to the type a provider deploys, failing loudly on a mix-up. */
export function targetOf<T extends DeployTarget['type']>(target: DeployTarget, type: T): Extract<DeployTarget, { type: T }> {
  if (target.type !== type) throw new Error(`the ${type} provider cannot deploy a ${(target as { type: string }).type} target`);
  return target as Extract<DeployTarget, { type: T }>;
}

/**
 * Reads a handle this provider wrote earlier (stored as JSON on a step or current record). A handle of the wrong
 * shape means a record from another provider or a bug, so it is a ValidationError naming what was wrong.
 */
export function parseHandle<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ValidationError(`${what} is not a handle this provider wrote: ${problems}`, { [what]: problems });
  }
  return parsed.data;
}

/**
 * Calls `step` until it returns something other than undefined or the budget runs out; then `onTimeout` gives the
 * result. Used by rollbacks, which must finish inside one invocation.
 */
export async function pollUntil<T>(
  clock: Clock,
  options: { budgetMs: number; intervalMs: number },
  step: () => Promise<T | undefined>,
  onTimeout: () => T,
): Promise<T> {
  const deadline = clock.now() + options.budgetMs;
  for (;;) {
    const result = await step();
    if (result !== undefined) return result;
    if (clock.now() + options.intervalMs > deadline) return onTimeout();
    await clock.sleep(options.intervalMs);
  }
}

/** The error's name and message, for FAILED messages built from SDK errors. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** True for an SDK error of one of these names (the SDK sets `name` to the service's error code). */
export function isError(err: unknown, ...names: string[]): boolean {
  return err instanceof Error && names.includes(err.name);
}

/** Handles are stored as DynamoDB items; undefined members are left out rather than stored. */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
