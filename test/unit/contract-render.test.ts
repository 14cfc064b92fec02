import { describe, expect, it } from 'vitest';
import { renderApiChanges } from '../../functions/lib/contract/render.js';
import type { ApiChange } from '../../functions/lib/contract/rules.js';

const changes: ApiChange[] = [
  { severity: 'breaking', location: 'base path', change: 'base path changed from /v1 to /v2', rule: 'base-path-changed' },
  {
    severity: 'breaking',
    method: 'GET',
    path: '/items/{id}',
    location: 'response 200 application/json body.items[].id',
    change: 'property `id` changed type from integer to string',
    rule: 'response-type-changed',
  },
  {
    severity: 'deprecation',
    method: 'GET',
    path: '/items',
    location: 'operation',
    change: 'the operation is now deprecated',
    rule: 'operation-deprecated',
  },
  {
    severity: 'non-breaking',
    method: 'POST',
    path: '/orders',
    location: 'path',
    change: 'the operation was added, on a new path',
    rule: 'path-added',
  },
];

describe('renderApiChanges', () => {
  it('lists breaking changes first, then deprecations, then non-breaking ones, with method, path and what changed', () => {
    // Given out of order: the renderer groups by severity itself.
    expect(renderApiChanges([changes[3], changes[2], changes[1], changes[0]])).toBe(
      [
        '## API changes for partners',
        '',
        '2 breaking, 1 deprecated, 1 non-breaking.',
        '',
        '### Breaking',
        '',
        '- Whole API: base path changed from /v1 to /v2 (at `base path`, rule `base-path-changed`)',
        '- `GET /items/{id}`: property `id` changed type from integer to string (at `response 200 application/json body.items[].id`, rule `response-type-changed`)',
        '',
        '### Deprecated',
        '',
        '- `GET /items`: the operation is now deprecated (at `operation`, rule `operation-deprecated`)',
        '',
        '### Non-breaking',
        '',
        '- `POST /orders`: the operation was added, on a new path (at `path`, rule `path-added`)',
        '',
      ].join('\n'),
    );
  });

  it('says so when nothing changed, and when there was no live contract to compare with', () => {
    expect(renderApiChanges([])).toBe('## API changes for partners\n\nNo changes to the contract partners use.\n');
    expect(renderApiChanges([], { firstRelease: true })).toBe(
      '## API changes for partners\n\nFirst release of this contract: there is no live contract to compare with.\n',
    );
  });

  it('escapes Markdown outside code spans, so names from the spec cannot format or inject HTML', () => {
    const text = renderApiChanges([
      {
        severity: 'breaking',
        method: 'GET',
        path: '/a',
        location: 'response 200 header x-`evil`',
        change: 'response <img src=x> *was* removed; property `snake_case` too',
        rule: 'response-status-removed',
      },
    ]);
    expect(text).toContain(
      "- `GET /a`: response \\<img src=x\\> \\*was\\* removed; property `snake_case` too (at `response 200 header x-'evil'`, rule `response-status-removed`)",
    );
  });
});
