import { describe, expect, it } from 'vitest';
import { ServiceSchema } from '../../functions/lib/catalog.js';
import type { ApiChangesSummary } from '../../functions/lib/contract/live-contract.js';
import type { ApiChange } from '../../functions/lib/contract/rules.js';
import {
  applyPolicy,
  blocksRelease,
  breakingApiChangeError,
  isMajorBump,
  MAX_LISTED_CHANGES,
} from '../../functions/lib/pipeline/contract-gate.js';

const service = (interop: Record<string, unknown> = {}) =>
  ServiceSchema.parse({
    approvers: ['Lead@example.com', 'qa@example.com'],
    staging: { type: 'local-process' },
    production: { type: 'local-process' },
    interop,
  });

const removed: ApiChange = {
  severity: 'breaking',
  method: 'GET',
  path: '/languages',
  location: 'operation',
  change: 'the operation is removed',
  rule: 'path-removed',
};
const added: ApiChange = { ...removed, severity: 'non-breaking', path: '/farewells', change: 'a new operation', rule: 'path-added' };

const diff = (changes: ApiChange[], liveVersion: string | null = '1.1.0'): ApiChangesSummary => ({
  against: liveVersion ? { releaseId: `greeter-${liveVersion}`, version: liveVersion } : null,
  changes,
  breaking: changes.filter((c) => c.severity === 'breaking').length,
  deprecations: changes.filter((c) => c.severity === 'deprecation').length,
  nonBreaking: changes.filter((c) => c.severity === 'non-breaking').length,
});

describe('the contract gate policy', () => {
  it.each([
    // policy, breaking?, version, allowBreakingOnMajor, owner approval required
    ['approve', true, '1.2.0', true, true],
    ['approve', true, '2.0.0', true, false],
    ['approve', true, '2.0.0', false, true],
    ['approve', false, '1.2.0', true, false],
    ['block', true, '1.2.0', true, false],
    ['allow', true, '1.2.0', true, false],
  ] as const)('%s, breaking %s, version %s, allowBreakingOnMajor %s: owner approval %s', (policy, breaking, version, onMajor, required) => {
    const out = applyPolicy(
      diff(breaking ? [removed, added] : [added]),
      version,
      service({ breakingChanges: policy, allowBreakingOnMajor: onMajor }),
    );
    expect(out.policy).toBe(policy);
    expect(out.ownerApprovalRequired).toBe(required);
    expect(out.apiOwners).toEqual(['lead@example.com', 'qa@example.com']);
    expect(blocksRelease(out)).toBe(policy === 'block' && breaking);
  });

  it('takes the catalog API owners, and needs none on a first release', () => {
    expect(applyPolicy(diff([removed]), '1.2.0', service({ apiOwners: ['API@example.com'] })).apiOwners).toEqual(['api@example.com']);
    expect(applyPolicy(diff([], null), '1.0.0', service()).ownerApprovalRequired).toBe(false);
  });

  it('counts only a raised semver major as a bump', () => {
    expect(isMajorBump('1.1.0', '2.0.0')).toBe(true);
    expect(isMajorBump('1.1.0', '3.0.0-rc.1')).toBe(true);
    expect(isMajorBump('1.1.0', '1.9.9')).toBe(false);
    expect(isMajorBump('0.1.0', '0.2.0')).toBe(false);
    expect(isMajorBump(undefined, '2.0.0')).toBe(false);
    expect(isMajorBump('latest', '2.0.0')).toBe(false);
  });

  it('names each breaking change in the BreakingApiChange message, and only so many', () => {
    const blocked = applyPolicy(diff([removed, added]), '1.2.0', service({ breakingChanges: 'block' }));
    const err = breakingApiChangeError({ service: 'greeter', version: '1.2.0' }, blocked);
    expect(err.name).toBe('BreakingApiChange');
    expect(err.message).toBe(
      'greeter 1.2.0 has 1 breaking API change(s) against 1.1.0 (release greeter-1.1.0), live in production, and ' +
        'interop.breakingChanges is block:\n- GET /languages (operation): the operation is removed',
    );
    const many = Array.from({ length: MAX_LISTED_CHANGES + 3 }, (_, i) => ({ ...removed, path: `/p${i}` }));
    const long = breakingApiChangeError({ service: 'greeter', version: '1.2.0' }, applyPolicy(diff(many), '1.2.0', service()));
    expect(long.message.split('\n')).toHaveLength(MAX_LISTED_CHANGES + 2);
    expect(long.message).toMatch(/- and 3 more \(all on the release's apiChanges\)$/);
  });
});
