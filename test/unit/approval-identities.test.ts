import { describe, expect, it } from 'vitest';
import { approverForIdentity, identityMatches, identityPatternProblem } from '../../functions/lib/approvals/identities.js';
import { parseCatalog } from '../../functions/lib/catalog.js';

const SSO = 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReleaseLead_*/lead@example.com';

describe('identity patterns', () => {
  it('accepts exact IAM and STS ARNs and a wildcard inside an earlier segment', () => {
    for (const ok of [
      'arn:aws:iam::111122223333:user/lead',
      'arn:aws:iam::111122223333:user/teams/release/lead',
      'arn:aws:sts::111122223333:assumed-role/ReleaseLeads/lead@example.com',
      'arn:aws:sts::111122223333:federated-user/lead',
      SSO,
      'arn:aws-cn:sts::111122223333:assumed-role/Leads/lead@example.com',
    ]) {
      expect(identityPatternProblem(ok), ok).toBeUndefined();
    }
  });

  it('refuses a wildcard in the person segment, a wildcard account, a non-IAM ARN and a bare resource', () => {
    expect(identityPatternProblem('arn:aws:sts::111122223333:assumed-role/ReleaseLeads/*')).toMatch(/last segment .* must be literal/);
    expect(identityPatternProblem('arn:aws:sts::111122223333:assumed-role/ReleaseLeads/lead*')).toMatch(/must be literal/);
    expect(identityPatternProblem('arn:aws:sts::*:assumed-role/ReleaseLeads/lead')).toMatch(/expected an IAM or STS ARN/);
    expect(identityPatternProblem('arn:aws:s3:::bucket/key')).toMatch(/expected an IAM or STS ARN/);
    expect(identityPatternProblem('lead@example.com')).toMatch(/expected an IAM or STS ARN/);
    expect(identityPatternProblem('arn:aws:iam::111122223333:lead')).toMatch(/resource path/);
    expect(identityPatternProblem('arn:aws:iam::111122223333:user/')).toMatch(/end with a user or session name/);
  });

  it('matches * within one segment only, case-sensitively, and never through a refused pattern', () => {
    expect(identityMatches(SSO, 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReleaseLead_9f8e7d/lead@example.com')).toBe(true);
    expect(identityMatches(SSO, 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReleaseLead_/lead@example.com')).toBe(true);
    expect(identityMatches(SSO, 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReleaseLead_a/b/lead@example.com')).toBe(false);
    expect(identityMatches(SSO, 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReleaseLead_a/Lead@example.com')).toBe(false);
    expect(identityMatches(SSO, 'arn:aws:sts::444455556666:assumed-role/AWSReservedSSO_ReleaseLead_a/lead@example.com')).toBe(false);
    // Dots in the pattern are literal, not regex wildcards.
    expect(identityMatches('arn:aws:iam::111122223333:user/a.b', 'arn:aws:iam::111122223333:user/aXb')).toBe(false);
    expect(identityMatches('arn:aws:sts::111122223333:assumed-role/R/*', 'arn:aws:sts::111122223333:assumed-role/R/anyone')).toBe(false);
  });

  it('maps a caller to exactly one approver; none or several are reported', () => {
    const identities = {
      'Lead@Example.com': [SSO],
      'qa@example.com': ['arn:aws:iam::111122223333:user/qa'],
      'ops@example.com': ['arn:aws:iam::111122223333:user/qa'],
    };
    expect(approverForIdentity(identities, 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReleaseLead_1/lead@example.com')).toEqual(
      {
        kind: 'approver',
        approver: 'lead@example.com',
      },
    );
    expect(approverForIdentity(identities, 'arn:aws:iam::111122223333:user/qa')).toEqual({
      kind: 'ambiguous',
      approvers: ['ops@example.com', 'qa@example.com'],
    });
    expect(approverForIdentity(identities, 'arn:aws:iam::111122223333:user/dev')).toEqual({ kind: 'unmapped' });
    expect(approverForIdentity(undefined, 'arn:aws:iam::111122223333:user/qa')).toEqual({ kind: 'unmapped' });
  });
});

describe('catalog: approverIdentities', () => {
  const target = { type: 'local-process' };
  const entry = (over: Record<string, unknown>) => ({
    services: { greeter: { approvers: ['lead@example.com', 'qa@example.com'], staging: target, production: target, ...over } },
  });

  it('keeps valid mappings', () => {
    const parsed = parseCatalog(entry({ approverIdentities: { 'lead@example.com': [SSO] } }));
    expect(parsed.services.greeter!.approverIdentities).toEqual({ 'lead@example.com': [SSO] });
  });

  it('refuses a mapping for someone who is not an approver, an empty list and a wildcard person, naming the field', () => {
    expect(() => parseCatalog(entry({ approverIdentities: { 'dev@example.com': ['arn:aws:iam::111122223333:user/dev'] } }))).toThrow(
      /services\.greeter\.approverIdentities\.dev@example\.com: expected one of the approvers/,
    );
    expect(() => parseCatalog(entry({ approverIdentities: { 'lead@example.com': [] } }))).toThrow(
      /approverIdentities\.lead@example\.com: expected at least one identity ARN/,
    );
    expect(() =>
      parseCatalog(entry({ approverIdentities: { 'lead@example.com': ['arn:aws:sts::111122223333:assumed-role/R/*'] } })),
    ).toThrow(/approverIdentities\.lead@example\.com\.0: the last segment/);
  });
});
