import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import * as z from 'zod';
import type { SesSender } from './launchway-function.js';

/** The removal policy, checked: RETAIN or DESTROY (the data stores have no snapshots). */
export function validRemovalPolicy(policy: RemovalPolicy, scope: Construct): RemovalPolicy {
  if (policy !== RemovalPolicy.RETAIN && policy !== RemovalPolicy.DESTROY) {
    throw new Error(
      `${scope.node.path}: removalPolicy expected RemovalPolicy.RETAIN or RemovalPolicy.DESTROY, got ${policy} (DynamoDB tables, S3 buckets and KMS keys have no snapshots)`,
    );
  }
  return policy;
}

/**
 * The SES sender from `mailFrom`, checked: a literal email address, and a given identity must be the address or its
 * domain. Without one, the identities of the address and of its domain in this account and region.
 */
export function sesSender(mailFrom: string, sesIdentityArn: string | undefined, scope: Construct): SesSender {
  if (Token.isUnresolved(mailFrom)) {
    throw new Error(`${scope.node.path}: mailFrom must be a literal email address, not a token`);
  }
  const parsed = z.email().safeParse(mailFrom);
  if (!parsed.success) {
    throw new Error(`${scope.node.path}: mailFrom expected an email address, got "${mailFrom}"`);
  }
  const domain = mailFrom.slice(mailFrom.lastIndexOf('@') + 1);
  if (sesIdentityArn !== undefined) {
    if (!Token.isUnresolved(sesIdentityArn)) {
      const identity = /^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:identity\/(.+)$/.exec(sesIdentityArn)?.[1];
      if (!identity) {
        throw new Error(
          `${scope.node.path}: sesIdentityArn expected arn:aws:ses:<region>:<account>:identity/<address or domain>, got "${sesIdentityArn}"`,
        );
      }
      if (identity !== mailFrom && identity !== domain) {
        throw new Error(
          `${scope.node.path}: sesIdentityArn is the identity "${identity}", which cannot send as mailFrom ${mailFrom}; expected the identity ${mailFrom} or ${domain}`,
        );
      }
    }
    return { address: mailFrom, identityArns: [sesIdentityArn] };
  }
  const stack = Stack.of(scope);
  const identityArn = (identity: string) => stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity });
  return { address: mailFrom, identityArns: [identityArn(mailFrom), identityArn(domain)] };
}
