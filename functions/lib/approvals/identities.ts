import * as z from 'zod';
import { normalizeEmail } from './links.js';

/**
 * Which IAM identities act as which approver, for decisions made through the IAM-authorized route of the approval
 * API (`launchway approve|reject` on AWS). API Gateway has already checked the caller's SigV4 signature; the
 * handler takes the caller's ARN from `requestContext.identity.userArn` and maps it here through the catalog's
 * `approverIdentities`:
 *
 * ```json
 * "approverIdentities": {
 *   "lead@example.com": [
 *     "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReleaseLead_*\/lead@example.com",
 *     "arn:aws:iam::111122223333:user/lead"
 *   ]
 * }
 * ```
 *
 * The rule: a pattern is an IAM or STS ARN, compared case-sensitively. `*` matches any run of characters other than
 * `/` and `:`, so it stays inside one segment (useful for the random suffix of an IAM Identity Center role name). The
 * account and the last path segment must be literal: the last segment names the person (the IAM user name or the
 * role session name), and a wildcard there would let everyone who can use the role act as this approver. Map a role
 * session only when the session name cannot be chosen by the caller (IAM Identity Center sets it to the user name;
 * otherwise the role's trust policy must pin `sts:RoleSessionName`).
 */

/** The caller ARNs API Gateway reports: IAM users, assumed-role sessions, federated users, the account root. */
const ARN_SHAPE = /^arn:aws[a-z-]*:(iam|sts)::(\d{12}):([A-Za-z0-9+=,.@_*/-]+)$/;

/** Why a pattern is not acceptable, or undefined when it is. */
export function identityPatternProblem(pattern: string): string | undefined {
  const m = ARN_SHAPE.exec(pattern);
  if (!m) return 'expected an IAM or STS ARN such as arn:aws:sts::111122223333:assumed-role/Role/session';
  const segments = m[3].split('/');
  const last = segments[segments.length - 1];
  if (!last) return 'expected the ARN to end with a user or session name';
  if (last.includes('*')) return 'the last segment (user or session name) must be literal; * is allowed only in earlier segments';
  if (segments.length === 1 && m[3] !== 'root') return 'expected a resource path such as user/<name> or assumed-role/<role>/<session>';
  return undefined;
}

/** One identity pattern, validated (used by the catalog schema). */
export const IdentityPatternSchema = z.string().superRefine((value, ctx) => {
  const problem = identityPatternProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** `approverIdentities` in a catalog entry: approver email → identity patterns. */
export const ApproverIdentitiesSchema = z.record(
  z.email({ message: 'expected an approver email' }),
  z.array(IdentityPatternSchema).min(1, 'expected at least one identity ARN'),
);
export type ApproverIdentities = z.infer<typeof ApproverIdentitiesSchema>;

function patternRegex(pattern: string): RegExp {
  const escaped = pattern.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '*' ? '[^/:]*' : `\\${c}`));
  return new RegExp(`^${escaped}$`);
}

/** True when the caller ARN matches the pattern under the rule above. */
export function identityMatches(pattern: string, callerArn: string): boolean {
  if (identityPatternProblem(pattern)) return false;
  return patternRegex(pattern).test(callerArn);
}

/** Who a caller ARN is, by the catalog: one approver, none, or (a catalog mistake) several. */
export type IdentityMatch = { kind: 'approver'; approver: string } | { kind: 'unmapped' } | { kind: 'ambiguous'; approvers: string[] };

/** Maps a caller ARN to the approver whose patterns match it. */
export function approverForIdentity(identities: ApproverIdentities | undefined, callerArn: string): IdentityMatch {
  const matches = Object.entries(identities ?? {})
    .filter(([, patterns]) => patterns.some((p) => identityMatches(p, callerArn)))
    .map(([email]) => normalizeEmail(email));
  const unique = [...new Set(matches)];
  if (unique.length === 0) return { kind: 'unmapped' };
  if (unique.length > 1) return { kind: 'ambiguous', approvers: unique.sort() };
  return { kind: 'approver', approver: unique[0] };
}
