import * as z from 'zod';
import { ValidationError } from './errors.js';

/**
 * A Postman environment file as Postman exports it (`{ name, values: [{ key, value, enabled, type }] }`), uploaded
 * with a release (`launchway release --environment`, request field `artifacts.environment`).
 */
const EnvironmentSchema = z.looseObject({
  name: z.string().optional(),
  values: z.array(
    z.looseObject({
      key: z.string({ error: 'expected the variable name (key)' }).min(1, 'expected a non-empty variable name (key)'),
      value: z.unknown().optional(),
      enabled: z.boolean().optional(),
    }),
    { error: 'expected "values", an array of { key, value }' },
  ),
});

/** A parsed environment: its name and its enabled variables, name → value. */
export interface PostmanEnvironment {
  name?: string;
  values: Record<string, string>;
}

/**
 * Parses a Postman environment file. Disabled variables (`enabled: false`) are left out, as Postman leaves them out
 * of a run; values that are not strings are given as JSON text. A file that is not an environment is a
 * ValidationError on `source`.
 */
export function parsePostmanEnvironment(text: string, source: string): PostmanEnvironment {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const why = `expected a Postman environment (JSON): ${(err as Error).message}`;
    throw new ValidationError(`${source}: ${why}`, { [source]: why });
  }
  const parsed = EnvironmentSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    const why = `expected a Postman environment: ${where}${issue?.message ?? 'invalid'}`;
    throw new ValidationError(`${source}: ${why}`, { [source]: why });
  }
  const values: Record<string, string> = {};
  for (const v of parsed.data.values) {
    if (v.enabled === false) continue;
    values[v.key] = v.value === undefined || v.value === null ? '' : typeof v.value === 'string' ? v.value : JSON.stringify(v.value);
  }
  return { ...(parsed.data.name ? { name: parsed.data.name } : {}), values };
}
