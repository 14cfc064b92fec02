import { ValidationError } from '../functions/lib/errors.js';

/**
 * Option values and environment variables checked before a command does anything, each error naming the option or
 * variable and what was expected. The parsers throw ValidationError rather than commander's InvalidArgumentError:
 * commander lets other errors through unchanged, so every bad value ends the same way (exit 2, the fields listed,
 * the JSON error format with --json).
 */

/** `--limit`-style values: a whole number from 1 to `max`. */
export function positiveInt(option: string, max: number): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= 1 && n <= max)) {
      throw new ValidationError(`invalid value for ${option}`, {
        [option]: `expected a whole number from 1 to ${max}, got ${JSON.stringify(value)}`,
      });
    }
    return n;
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;

/** Milliseconds of a duration such as `90s`, `30m`, `2h`, `1h30m` or `500ms`; undefined when it is not one. */
export function parseDuration(value: string): number | undefined {
  if (!DURATION.test(value)) return undefined;
  let ms = 0;
  for (const [, n, unit] of value.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(n) * UNIT_MS[unit];
  return ms;
}

/** A duration option from `minMs` to `maxMs`, as milliseconds. */
export function durationOption(option: string, { minMs = 1000, maxMs = 30 * 86_400_000 } = {}): (value: string) => number {
  return (value) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms < minMs || ms > maxMs) {
      throw new ValidationError(`invalid value for ${option}`, {
        [option]: `expected a duration from ${minMs / 1000}s to ${maxMs / 86_400_000}d such as 90s, 30m, 2h or 1h30m, got ${JSON.stringify(value)}`,
      });
    }
    return ms;
  };
}

/**
 * Fails, naming each variable, when the environment lacks what a command needs to find the stack. Run after
 * `.launchway/endpoints.env` was read, which sets them all for the embedded stack; `--stack` sets them on AWS.
 */
export function requireEnv(names: readonly string[], env: NodeJS.ProcessEnv = process.env): void {
  const missing = names.filter((n) => !env[n]);
  if (missing.length === 0) return;
  const hint =
    'not set. Embedded: run `launchway dev` in this folder (its endpoints are read from .launchway/endpoints.env); ' +
    'on AWS: name the stack with --stack <name> or LAUNCHWAY_STACK, which reads its outputs, or set the variable';
  throw new ValidationError(
    `the environment does not say where the stack is: ${missing.join(', ')}`,
    Object.fromEntries(missing.map((n) => [n, hint])),
  );
}

/**
 * The value of the one option of a group given (`--artifact` or its older name `--bundle`), refusing none and more
 * than one, each option named.
 */
export function exactlyOne(options: Record<string, string | undefined>): string {
  const names = Object.keys(options);
  const given = names.filter((n) => options[n] !== undefined);
  if (given.length === 1) return options[given[0]]!;
  const list = names.join(' or ');
  const problem = given.length === 0 ? `required: give ${list}` : `give only one of ${list}, not both`;
  throw new ValidationError(
    given.length === 0 ? `missing option ${list}` : `conflicting options ${given.join(' and ')}`,
    Object.fromEntries((given.length === 0 ? names : given).map((n) => [n, problem])),
  );
}

/**
 * Refuses two options whose files would be uploaded under the same name: each file of a release is stored under
 * its own name in the release's folder, so the second would overwrite the first.
 *
 * @param names option (`--collection`) to the name its file is uploaded under; absent options are undefined
 * @throws ValidationError keyed by the later option, naming both and the shared name
 */
export function distinctUploadNames(names: Record<string, string | undefined>): void {
  const seen = new Map<string, string>();
  const fields: Record<string, string> = {};
  for (const [option, name] of Object.entries(names)) {
    if (name === undefined) continue;
    const first = seen.get(name);
    if (first) fields[option] = `${option} and ${first} are both named ${name}, so one would overwrite the other; rename one`;
    else seen.set(name, option);
  }
  const problems = Object.values(fields);
  if (problems.length > 0) throw new ValidationError(`conflicting file names: ${problems.join('; ')}`, fields);
}
