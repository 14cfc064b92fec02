import type { ServiceConfig } from './catalog.js';
import type { AwsEnvironment } from './deploy/iam.js';
import type { DeployTarget } from './deploy/targets.js';
import { type SecretRef, secretRefsOf } from './secret-ref.js';

/**
 * The Secrets Manager secrets each function may read, as plain data the CDK construct turns into
 * `secretsmanager:GetSecretValue` statements: exactly the secrets the catalog names, nothing by wildcard.
 */

/** A full secret ARN ends with the six random characters Secrets Manager appends to the secret's name. */
const FULL_ARN_SUFFIX = /-[A-Za-z0-9]{6}$/;

/**
 * The ARN a reference is granted on. Secrets Manager appends six random characters to a secret's ARN, and
 * GetSecretValue by name or by partial ARN authorizes on that full ARN; so a name or an ARN without the suffix gets
 * `-??????`, and a full ARN is used as given. A partial ARN whose name happens to end in `-` and six letters or digits
 * reads as a full one: the docs ask for ARNs in full.
 */
function secretArn(ref: SecretRef, env: AwsEnvironment): string {
  if (ref.secret.startsWith('arn:')) return FULL_ARN_SUFFIX.test(ref.secret) ? ref.secret : `${ref.secret}-??????`;
  return `arn:${env.partition}:secretsmanager:${env.region}:${env.account}:secret:${ref.secret}-??????`;
}

/** The ARNs of a list of references, without duplicates (two JSON keys of one secret are one grant). */
function arnsOf(refs: SecretRef[], env: AwsEnvironment): string[] {
  return [...new Set(refs.map((ref) => secretArn(ref, env)))];
}

/** The secrets a stage's test run reads: the service's `tests.secretVariables` and the stage's own. */
export function testSecretArns(
  service: Pick<ServiceConfig, 'tests' | 'staging' | 'production'>,
  stage: 'staging' | 'production',
  env: AwsEnvironment,
): string[] {
  return arnsOf([...secretRefsOf(service.tests?.secretVariables), ...secretRefsOf(service[stage].tests?.secretVariables)], env);
}

/** The secrets a target's versions start with (`secretEnv`); none for targets without the field. */
export function targetSecretArns(target: DeployTarget, env: AwsEnvironment): string[] {
  return arnsOf(secretRefsOf('secretEnv' in target ? target.secretEnv : undefined), env);
}
