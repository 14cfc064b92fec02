import type { ServiceConfig } from './catalog.js';
import type { AwsEnvironment } from './deploy/iam.js';
import type { DeployTarget } from './deploy/targets.js';
import { type SecretRef, secretRefsOf } from './secret-ref.js';

/**
 * The Secrets Manager secrets each function may read, as plain data the CDK construct turns into
 * `secretsmanager:GetSecretValue` statements: exactly the secrets the catalog names, nothing by wildcard.
 */

/**
 * The ARN a reference is granted on. An ARN is used as given; a name gets `-??????`, because Secrets Manager
 * appends six random characters to a secret's ARN and GetSecretValue by name authorizes on that full ARN.
 */
export function secretArn(ref: SecretRef, env: AwsEnvironment): string {
  if (ref.secret.startsWith('arn:')) return ref.secret;
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
