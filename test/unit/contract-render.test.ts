import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { diffContracts } from '../../functions/lib/contract/diff.js';
import {
  apiChangesHtml,
  apiChangesTextLines,
  hasApiChanges,
  renderApiChanges,
  renderApiChangesDocument,
} from '../../functions/lib/contract/render.js';
import type { ApiChange } from '../../functions/lib/contract/rules.js';
import { parseOpenApi } from '../../functions/lib/openapi.js';
import type { ReleaseApiChanges } from '../../functions/lib/store/records.js';

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

/** The changes greeter 1.1.0 makes against 1.0.0, as the real diff of the examples' contracts finds them. */
async function greeter110(): Promise<ApiChange[]> {
  const spec = async (version: string) =>
    (await parseOpenApi(await readFile(new URL(`../../examples/greeter/${version}/openapi.yaml`, import.meta.url), 'utf8'))).document;
  return diffContracts(await spec('1.0.0'), await spec('1.1.0'));
}

function summary(list: ApiChange[], over: Partial<ReleaseApiChanges> = {}): ReleaseApiChanges {
  const count = (s: ApiChange['severity']) => list.filter((c) => c.severity === s).length;
  return {
    against: { releaseId: 'greeter-1.0.0-aaaa111', version: '1.0.0' },
    changes: list,
    breaking: count('breaking'),
    deprecations: count('deprecation'),
    nonBreaking: count('non-breaking'),
    policy: 'approve',
    ownerApprovalRequired: false,
    apiOwners: [],
    ...over,
  };
}

/**
 * A breaking change whose path and sentence carry markup, bidi overrides, a terminal escape sequence (removed whole)
 * and a stray backtick.
 */
const hostile: ApiChange = {
  severity: 'breaking',
  method: 'GET',
  path: '/items/<script>alert(1)</script>\u202e',
  location: 'response 200 application/json body.<img src=x onerror=alert(2)>',
  change: 'property `<b>id</b>` was removed \u2066<script>alert(3)</script>\u2069\u001b[2J and ` a stray *backtick* <i>',
  rule: 'response-property-removed',
};

/** C0 (but tab and newline), DEL, C1 and the bidi controls: no rendering keeps one. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this looks for.
const UNSAFE_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** Live markup: no HTML rendering contains it. */
const LIVE_TAGS = /<script|<img|<b>|<i>/;

describe('the release record: API changes against the live contract', () => {
  it("greeter 1.1.0's real diff (only additions) reads well in the partners' document, the text and the HTML", async () => {
    const api = summary(await greeter110());
    expect(api).toMatchObject({ breaking: 0, deprecations: 0, nonBreaking: 3 });
    expect(renderApiChangesDocument(api, { service: 'greeter', version: '1.1.0' })).toBe(
      [
        '# API changes for partners: greeter 1.1.0',
        '',
        'Versions compared: 1.0.0 (in production now) → 1.1.0.',
        '',
        '0 breaking, 0 deprecated, 3 non-breaking.',
        '',
        '## Non-breaking',
        '',
        '- `GET /greetings/{name}`: optional query parameter `lang` was added (at `request query parameter lang`, rule `request-parameter-added`)',
        '- `GET /greetings/{name}`: property `lang` was added (at `response 200 application/json body.lang`, rule `response-property-added`)',
        '- `GET /languages`: the operation was added, on a new path (at `path`, rule `path-added`)',
        '',
      ].join('\n'),
    );
    expect(apiChangesTextLines(api)).toEqual([
      'API changes for partners, against 1.0.0 in production: 0 breaking, 0 deprecated, 3 non-breaking',
      '  GET /greetings/{name}: optional query parameter `lang` was added (at request query parameter lang)',
      '  GET /greetings/{name}: property `lang` was added (at response 200 application/json body.lang)',
      '  GET /languages: the operation was added, on a new path (at path)',
    ]);
    const html = apiChangesHtml(api, { heading: 'h3' });
    expect(html).toContain('<p id="api-changes-counts">0 breaking, 0 deprecated, 3 non-breaking, against 1.0.0 in production.</p>');
    expect(html).toContain(
      '<li data-severity="non-breaking"><span style="color:#59636e">Non-breaking</span> <code>GET /languages</code>: the operation was added, on a new path',
    );
    expect(html).not.toContain('BREAKING');
    expect(html).not.toContain('api-owner-approval');
  });

  it('lists breaking changes first and marked, and names the API owners when their approval is needed', async () => {
    const removed: ApiChange = {
      severity: 'breaking',
      method: 'GET',
      path: '/greetings/{name}',
      location: 'response 200 application/json body.message',
      change: 'property `message` was removed',
      rule: 'response-property-removed',
    };
    const api = summary([...(await greeter110()), removed], {
      ownerApprovalRequired: true,
      apiOwners: ['api-owner@example.com', 'arch@example.com'],
    });
    const text = apiChangesTextLines(api, { limit: 2 });
    expect(text).toEqual([
      'API changes for partners, against 1.0.0 in production: 1 breaking, 0 deprecated, 3 non-breaking',
      "  The breaking changes need an API owner's approval. API owners: api-owner@example.com, arch@example.com.",
      '  BREAKING GET /greetings/{name}: property `message` was removed (at response 200 application/json body.message)',
      '  GET /greetings/{name}: optional query parameter `lang` was added (at request query parameter lang)',
      '  … and 2 more',
    ]);
    expect(apiChangesTextLines(api, { list: 'breaking', indent: '    ' })).toHaveLength(3);
    const html = apiChangesHtml(api, { heading: 'h2', limit: 2 });
    expect(html).toContain('border:2px solid #cf222e');
    expect(html).toContain(
      '<p id="api-owner-approval"><strong>The breaking changes need an API owner&#39;s approval. API owners: api-owner@example.com, arch@example.com.</strong></p>',
    );
    const items = html.match(/<li[^>]*>.*?<\/li>/g)!;
    expect(items[0]).toBe(
      '<li data-severity="breaking"><strong style="color:#cf222e">BREAKING</strong> <code>GET /greetings/{name}</code>: ' +
        'property <code>message</code> was removed <span style="color:#59636e;font-size:.9em">(at response 200 application/json body.message)</span></li>',
    );
    expect(items.slice(1).map((i) => i.match(/data-severity="([^"]+)"/)?.[1])).toEqual(['non-breaking', undefined]);
    expect(items[2]).toBe('<li>… and 2 more (see the release notes)</li>');
  });

  it('shows nothing on the page, in the email or in the text when nothing changed or nothing could be compared', () => {
    for (const api of [undefined, summary([]), summary([hostile], { against: null })]) {
      expect(hasApiChanges(api)).toBe(false);
      expect(apiChangesHtml(api, { heading: 'h2' })).toBe('');
      expect(apiChangesTextLines(api)).toEqual([]);
    }
    expect(renderApiChangesDocument(summary([], { against: null }), { service: 'greeter', version: '1.0.0' })).toBe(
      '# API changes for partners: greeter 1.0.0\n\nFirst release of this contract: there is no live contract to compare with.\n',
    );
  });

  it('makes a path or change text with markup, bidi overrides and escape sequences inert in every rendering', () => {
    const api = summary([hostile], { ownerApprovalRequired: true, apiOwners: ['own\u202eer@example.com'] });
    const html = apiChangesHtml(api, { heading: 'h2' });
    expect(html).not.toMatch(UNSAFE_CHARS);
    expect(html).not.toMatch(LIVE_TAGS);
    expect(html).toContain('<code>GET /items/&lt;script&gt;alert(1)&lt;/script&gt;</code>');
    // The paired backticks are code, the stray one stays text and cannot swallow the rest.
    expect(html).toContain(
      'property <code>&lt;b&gt;id&lt;/b&gt;</code> was removed &lt;script&gt;alert(3)&lt;/script&gt; and ` a stray *backtick* &lt;i&gt;',
    );
    expect(html).toContain('(at response 200 application/json body.&lt;img src=x onerror=alert(2)&gt;)');
    expect(html).toContain('API owners: owner@example.com.');

    const text = apiChangesTextLines(api).join('\n');
    expect(text).not.toMatch(UNSAFE_CHARS);
    expect(text).toContain('BREAKING GET /items/<script>alert(1)</script>: property `<b>id</b>` was removed');

    const markdown = renderApiChangesDocument(api, { service: 'greeter', version: '2.0.0' });
    expect(markdown).not.toMatch(UNSAFE_CHARS);
    // Raw HTML outside code spans is backslash-escaped; inside code spans Markdown shows it as written.
    expect(markdown).toContain(
      '- `GET /items/<script>alert(1)</script>`: property `<b>id</b>` was removed \\<script\\>alert(3)\\</script\\> and \\` a stray \\*backtick\\* \\<i\\>',
    );
    expect(markdown.split('\n').filter((l) => l.startsWith('- '))).toHaveLength(1);
  });

  it('says which version the release notes compared with', () => {
    expect(renderApiChanges([], { against: { version: '1.0.0' } })).toBe(
      '## API changes for partners\n\nCompared with 1.0.0, the version in production.\n\nNo changes to the contract partners use.\n',
    );
  });
});
