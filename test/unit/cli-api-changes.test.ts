import { describe, expect, it } from 'vitest';
import { formatApiChanges, liveContractUnreadable, type Paint } from '../../cli/api-changes.js';
import type { ApiChangesSummary } from '../../functions/lib/contract/live-contract.js';
import type { ApiChange } from '../../functions/lib/contract/rules.js';

/** What `launchway diff` and `launchway release` print about a contract's changes, in a terminal or a CI log. */
const plain: Paint = { red: (s) => s, yellow: (s) => s, green: (s) => s, dim: (s) => s, bold: (s) => s };
/** Marks each colour, so a test sees what is painted how without escape sequences. */
const tagged: Paint = {
  red: (s) => `<red>${s}</red>`,
  yellow: (s) => `<yellow>${s}</yellow>`,
  green: (s) => `<green>${s}</green>`,
  dim: (s) => `<dim>${s}</dim>`,
  bold: (s) => `<b>${s}</b>`,
};

const added: ApiChange = {
  severity: 'non-breaking',
  method: 'GET',
  path: '/languages',
  location: 'path',
  change: 'the operation was added, on a new path',
  rule: 'path-added',
};
const retyped: ApiChange = {
  severity: 'breaking',
  method: 'GET',
  path: '/greetings/{name}',
  location: 'response 200 application/json body.version',
  change: 'property `version` changed type from string to integer',
  rule: 'response-type-changed',
};
const basePath: ApiChange = {
  severity: 'breaking',
  location: 'base path',
  change: 'base path changed from /v1 to /v2',
  rule: 'base-path-changed',
};
const deprecated: ApiChange = {
  severity: 'deprecation',
  method: 'DELETE',
  path: '/greetings/{name}',
  location: 'operation',
  change: 'the operation is now deprecated',
  rule: 'operation-deprecated',
};

function summary(changes: ApiChange[]): ApiChangesSummary {
  const count = (s: ApiChange['severity']) => changes.filter((c) => c.severity === s).length;
  return {
    against: { releaseId: 'greeter-1.0.0-c0ffee1', version: '1.0.0' },
    changes,
    breaking: count('breaking'),
    deprecations: count('deprecation'),
    nonBreaking: count('non-breaking'),
  };
}

describe('formatApiChanges (terminal)', () => {
  it('says what it compared with, counts, then breaking first, deprecations, non-breaking, one line each', () => {
    // Given in the wrong order: the rendering groups and sorts itself.
    expect(formatApiChanges('greeter', summary([added, deprecated, retyped, basePath]), plain).split('\n')).toEqual([
      'API changes for partners against greeter 1.0.0, live in production (greeter-1.0.0-c0ffee1): ' +
        '2 breaking, 1 deprecated, 1 non-breaking',
      '  Breaking',
      '    ✖ whole API: base path changed from /v1 to /v2 (at base path, rule base-path-changed)',
      '    ✖ GET /greetings/{name}: property `version` changed type from string to integer ' +
        '(at response 200 application/json body.version, rule response-type-changed)',
      '  Deprecated',
      '    ! DELETE /greetings/{name}: the operation is now deprecated (at operation, rule operation-deprecated)',
      '  Non-breaking',
      '    + GET /languages: the operation was added, on a new path (at path, rule path-added)',
    ]);
  });

  it('paints breaking red, deprecations yellow, additions green, and the details dim', () => {
    const text = formatApiChanges('greeter', summary([retyped, added]), tagged);
    expect(text).toContain('<red>1 breaking</red>');
    expect(text).toContain('  <red>Breaking</red>\n    <red>✖</red> <b>GET /greetings/{name}</b>: property');
    expect(text).toContain('<dim>(at path, rule path-added)</dim>');
    expect(text).toContain('  <green>Non-breaking</green>\n    <green>+</green> <b>GET /languages</b>');
    expect(formatApiChanges('greeter', summary([deprecated]), tagged)).toContain('<yellow>!</yellow>');
    // Nothing breaking: the count is not alarming.
    expect(formatApiChanges('greeter', summary([added]), tagged)).toContain('<dim>0 breaking</dim>');
  });

  it('says when there was nothing to compare, and when nothing changed', () => {
    expect(formatApiChanges('greeter', { ...summary([added]), against: null }, tagged)).toBe(
      'API changes for partners: first release of greeter: no live contract to compare',
    );
    expect(formatApiChanges('greeter', summary([]), tagged)).toBe(
      'API changes for partners: none against greeter 1.0.0, live in production (greeter-1.0.0-c0ffee1)',
    );
  });

  it('lets no escape sequence or line break from the spec reach the terminal', () => {
    const hostile: ApiChange = {
      ...retyped,
      path: '/x\u001b[2J',
      change: 'property `a\u001b]0;pwned\u0007` was removed\nsecond line',
      location: 'response 200 application/json body.a\u202e',
    };
    const text = formatApiChanges('greeter', summary([hostile]), plain);
    for (const ch of ['\u001b', '\u0007', '\u202e']) expect(text).not.toContain(ch);
    expect(text.split('\n')).toHaveLength(3);
    expect(text).toContain('GET /x: property `a` was removed second line');
  });

  it('says the live contract could not be read, and that the release goes on', () => {
    expect(liveContractUnreadable('greeter', 'releases/greeter/1.0.0/c0ffee1/openapi.yaml does not exist', tagged)).toBe(
      '<yellow>API changes for partners: not compared, the live contract of greeter could not be read ' +
        '(releases/greeter/1.0.0/c0ffee1/openapi.yaml does not exist); the release goes on and the pipeline compares ' +
        'before staging</yellow>',
    );
  });
});
