import * as z from 'zod';
import { strictObject } from './strict-object.js';

/**
 * How the catalog names a secret: never its value. On AWS `secret` is a Secrets Manager secret's name or ARN; in
 * embedded mode it is a key of `.launchway/secrets.json` (a JSON object from secret name to value, mode 0600).
 * With `key`, the secret's value is a JSON object and the field `key` of it is meant.
 *
 * Written either as a string, `"payments/db"`, or as `{ "secret": "payments/db", "key": "password" }`.
 */
const SECRET_ID = /^[A-Za-z0-9/_+=.@:-]{1,2048}$/;
/** A Secrets Manager secret's ARN, full (`…:secret:name-AbCdEf`) or partial (`…:secret:name`). */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+/;
const secretId = z
  .string()
  .regex(SECRET_ID, 'expected a secret name or ARN (letters, digits and /_+=.@:-, up to 2048 characters)')
  .refine((id) => !id.startsWith('arn:') || SECRET_ARN.test(id), {
    message: 'expected a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>) or a secret name',
  });

export const SecretRefSchema = z
  .union([
    secretId,
    strictObject({
      secret: secretId,
      /** A field of the secret's JSON value. */
      key: z.string().min(1).max(256).optional(),
    }),
  ])
  .transform((ref) => (typeof ref === 'string' ? { secret: ref } : ref));
export type SecretRef = z.output<typeof SecretRefSchema>;

/** Environment variable names a secret may be given as (POSIX-style: letters, digits, underscore). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** `NAME → secret reference`, for a target's `secretEnv` and the tests' `secretVariables`. */
export const SecretMapSchema = (what: 'env' | 'variable') =>
  z.record(
    what === 'env'
      ? z.string().regex(ENV_NAME, 'expected an environment variable name (letters, digits, "_", not starting with a digit)')
      : z.string().min(1).max(256),
    SecretRefSchema,
  );

/** The secret references a catalog entry holds, `{ secret, key? }`, for grants and checks. */
export function secretRefsOf(map: Record<string, SecretRef> | undefined): SecretRef[] {
  return Object.values(map ?? {});
}
