import * as z from 'zod';
import { ValidationError } from './errors.js';

/**
 * A Postman environment file as Postman exports it (`{ "name", "values": [{ "key", "value", "enabled", "type" }] }`),
 * uploaded with a release by `launchway release --environment`. Checked when the release is started and again in
 * Prepare, so a broken file is a ValidationError on `artifacts.environment` before anything is deployed.
 */

const ValueSchema = z.looseObject({
  key: z.string({ error: 'expected the variable name as a string' }).min(1, 'expected a non-empty variable name'),
  // Postman writes strings; older exports and hand-written files have numbers and booleans too.
  value: z.union([z.string(), z.number(), z.boolean(), z.null()], { error: 'expected a string, number or boolean' }).optional(),
  enabled: z.boolean({ error: 'expected true or false' }).optional(),
  type: z.string({ error: 'expected a string such as "default" or "secret"' }).optional(),
});

const EnvironmentSchema = z.looseObject({
  name: z.string({ error: 'expected the environment name as a string' }).optional(),
  values: z.array(ValueSchema, { error: 'expected an array of { key, value, enabled }' }),
});

/**
 * Parses the text of a Postman environment file.
 *
 * @param text the file content
 * @param source the request field (or file) that pointed at it, the key of the field error
 * @returns the enabled variables, name to value (later duplicates win, as in Postman)
 * @throws ValidationError with `fields[source] = 'expected a Postman environment: <reason>'`, or naming an enabled
 *   `type: "secret"` value (a value uploaded with a release is stored with it, unmasked)
 */
export function parsePostmanEnvironment(text: string, source = 'artifacts.environment'): Record<string, string> {
  const fail = (reason: string, cause?: unknown): never => {
    throw new ValidationError(
      `${source} is not a usable Postman environment: ${reason}`,
      { [source]: `expected a Postman environment: ${reason}` },
      cause === undefined ? undefined : { cause },
    );
  };
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    // Only where: V8's message quotes the text around the error, which may be a secret.
    return fail(`the file is not JSON${whereJsonFails((err as Error).message)}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return fail(`the file holds ${Array.isArray(json) ? 'an array' : json === null ? 'null' : `a ${typeof json}`}, not an object`);
  }
  if ('info' in json && 'item' in json) return fail('this is a Postman collection; export the environment instead');

  const parsed = EnvironmentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? issue.path.map(String).join('.') : '(root)';
    return fail(`${where}: ${issue.message}`, parsed.error);
  }
  const secrets = parsed.data.values.flatMap((v, i) =>
    v.enabled !== false && v.type === 'secret' && v.value !== undefined && v.value !== null && String(v.value) !== ''
      ? [`values[${i}] ${JSON.stringify(v.key)}`]
      : [],
  );
  if (secrets.length > 0) {
    const reason =
      `${secrets.join(', ')} ${secrets.length === 1 ? 'is a secret' : 'are secrets'}: name ${secrets.length === 1 ? 'it' : 'them'} ` +
      "in the catalog's tests.secretVariables instead (its value would be stored with the release)";
    throw new ValidationError(`${source}: ${reason}`, { [source]: reason });
  }
  const out: Record<string, string> = {};
  for (const v of parsed.data.values) {
    if (v.enabled === false) continue;
    out[v.key] = v.value === undefined || v.value === null ? '' : String(v.value);
  }
  return out;
}

/** ` (at position N)` from a JSON.parse message, ` (it ends early)`, or nothing: never the text it quotes. */
function whereJsonFails(message: string): string {
  const at = /at position (\d+)/.exec(message);
  if (at) return ` (at position ${at[1]})`;
  return /end of JSON input/.test(message) ? ' (it ends early)' : '';
}
