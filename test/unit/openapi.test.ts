import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { basePathOf, parseOpenApi, routePrefix, validateOpenApiDocument } from '../../functions/lib/openapi.js';
import { ValidationError } from '../../functions/lib/errors.js';

const fixture = (name: string) => readFile(fileURLToPath(new URL(`../fixtures/openapi/${name}`, import.meta.url)), 'utf8');

/** Runs the parser and returns the ValidationError it must throw. */
async function rejection(text: string, field?: string): Promise<ValidationError> {
  const err = await parseOpenApi(text, field).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

describe('parseOpenApi accepts', () => {
  it('an OpenAPI 3.0 YAML contract with path-level parameters and component refs', async () => {
    const parsed = await parseOpenApi(await fixture('greeter-v1.yaml'));
    expect(parsed.title).toBe('Greeter');
    expect(parsed.version).toBe('1.0.0');
    expect(parsed.routes).toEqual([
      { method: 'GET', path: '/health' },
      { method: 'GET', path: '/greetings/{name}' },
      { method: 'POST', path: '/greetings/{name}' },
    ]);
    // The document is returned as written: references stay references, so it is still plain JSON.
    const greetings = (parsed.document.paths as Record<string, { get: { responses: Record<string, unknown> } }>)['/greetings/{name}'];
    expect(greetings.get.responses['200']).toEqual({ $ref: '#/components/responses/Greeting' });
  });

  it('an OpenAPI 3.1 JSON contract', async () => {
    const parsed = await parseOpenApi(await fixture('greeter-v2.json'));
    expect(parsed.version).toBe('2.0.0');
    expect(parsed.routes.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /health', 'GET /greetings/{name}', 'GET /version']);
  });

  it('a Swagger 2.0 contract', async () => {
    const parsed = await parseOpenApi(await fixture('swagger-2.yaml'));
    expect(parsed.routes).toEqual([
      { method: 'GET', path: '/items' },
      { method: 'DELETE', path: '/items' },
    ]);
  });

  it('an already-parsed document without modifying it', async () => {
    const parsed = await parseOpenApi(await fixture('greeter-v1.yaml'));
    const before = JSON.stringify(parsed.document);
    const again = await validateOpenApiDocument(parsed.document, 'spec');
    expect(again.routes).toHaveLength(3);
    expect(JSON.stringify(parsed.document)).toBe(before);
  });
});

describe('parseOpenApi rejects, naming the field and the reason', () => {
  it('YAML that does not parse, with its line', async () => {
    const err = await rejection(await fixture('bad-yaml.yaml'));
    // The unclosed flow sequence opened on line 3 is detected where the next key starts.
    expect(err.fields['artifacts.openapi']).toMatch(/^YAML does not parse at line 4, column \d+: Flow sequence/);
  });

  it('JSON that does not parse, with its line', async () => {
    const err = await rejection('{\n  "openapi": "3.0.3",,\n  "paths": {}\n}');
    expect(err.fields['artifacts.openapi']).toMatch(/^YAML does not parse at line 2, column \d+: Unexpected ,/);
  });

  it('an operation without responses', async () => {
    const err = await rejection(await fixture('missing-responses.yaml'), 'spec');
    expect(err.fields).toEqual({ spec: 'expected an OpenAPI 3 document: paths./x.get.responses is required' });
    expect(err.message).toContain('spec is not a valid OpenAPI contract');
  });

  it('a contract with no paths', async () => {
    const err = await rejection(await fixture('no-paths.yaml'));
    expect(err.fields['artifacts.openapi']).toBe('expected at least one path: paths is empty');
  });

  it('a contract whose paths declare no operation', async () => {
    const err = await rejection('openapi: 3.0.3\ninfo: {title: t, version: "1"}\npaths:\n  /x: {}\n');
    expect(err.fields['artifacts.openapi']).toMatch(/^expected at least one path with an operation/);
  });

  it('a missing paths object', async () => {
    const err = await rejection('openapi: 3.0.3\ninfo: {title: t, version: "1"}\n');
    expect(err.fields['artifacts.openapi']).toMatch(/^expected at least one path/);
  });

  it('a reference to a file outside the document, without reading it', async () => {
    const err = await rejection(await fixture('external-ref.yaml'));
    expect(err.fields['artifacts.openapi']).toContain('paths./x.get.responses.200.$ref refers to "/etc/passwd"');
  });

  it('a reference to a component that does not exist', async () => {
    const err = await rejection(await fixture('dangling-ref.yaml'));
    expect(err.fields['artifacts.openapi']).toContain('#/components/responses/Missing');
  });

  it('an unsupported OpenAPI version and a version written as a number', async () => {
    expect(
      (await rejection('openapi: 2.5.0\ninfo: {title: t, version: "1"}\npaths: {/x: {get: {responses: {"200": {description: ok}}}}}\n'))
        .fields['artifacts.openapi'],
    ).toContain('Unsupported OpenAPI version: 2.5.0');
    expect(
      (await rejection('openapi: 3.0\ninfo: {title: t, version: "1"}\npaths: {/x: {get: {responses: {"200": {description: ok}}}}}\n'))
        .fields['artifacts.openapi'],
    ).toContain('must be a string');
  });

  it('something that is not an OpenAPI document at all', async () => {
    expect((await rejection('')).fields['artifacts.openapi']).toBe('expected an OpenAPI document, got an empty file');
    expect((await rejection('- a\n- b\n')).fields['artifacts.openapi']).toBe(
      'expected an OpenAPI document (a YAML or JSON object), got a list',
    );
    expect((await rejection('{"title": "x"}')).fields['artifacts.openapi']).toBe(
      'expected an OpenAPI 3 document: openapi is required (for example "3.0.3")',
    );
  });

  it('a schema violation deep in the document, with its path', async () => {
    const err = await rejection(
      JSON.stringify({
        openapi: '3.0.3',
        info: { title: 't', version: '1' },
        paths: { '/x': { get: { responses: { '200': { description: 'ok' } }, parameters: [{ name: 'q', in: 'nowhere' }] } } },
      }),
    );
    expect(err.fields['artifacts.openapi']).toMatch(/^expected an OpenAPI 3 document: paths\.\/x\.get\.parameters\.0/);
  });
});

describe('the base path', () => {
  const v3 = (servers?: unknown) => ({ openapi: '3.0.3', info: { title: 't', version: '1' }, ...(servers ? { servers } : {}), paths: {} });

  it('is the path of servers[0].url, absolute or relative, with variables at their default', () => {
    expect(basePathOf(v3([{ url: 'http://example.com/api' }, { url: '/other' }]))).toBe('/api');
    expect(basePathOf(v3([{ url: '/api/' }]))).toBe('/api');
    expect(basePathOf(v3([{ url: 'api/v2' }]))).toBe('/api/v2');
    expect(basePathOf(v3([{ url: '//cdn.example.com/assets?x=1' }]))).toBe('/assets');
    expect(
      basePathOf(
        v3([
          {
            url: '{scheme}://{host}:8443/{root}/v1',
            variables: { scheme: { default: 'https' }, host: { default: 'h' }, root: { default: 'api' } },
          },
        ]),
      ),
    ).toBe('/api/v1');
  });

  it("is '' without servers, with '/' or with a bare origin", () => {
    expect(basePathOf(v3())).toBe('');
    expect(basePathOf(v3([{ url: '/' }]))).toBe('');
    expect(basePathOf(v3([{ url: 'https://api.example.com' }]))).toBe('');
  });

  it('is Swagger 2.0 basePath', () => {
    expect(basePathOf({ swagger: '2.0', basePath: '/api/v1/' })).toBe('/api/v1');
    expect(basePathOf({ swagger: '2.0' })).toBe('');
  });

  it('is refused, naming the field, when a variable has no default or a segment is empty or dotted', () => {
    expect(() => basePathOf(v3([{ url: '/{root}/x' }]), 'spec')).toThrow(ValidationError);
    expect(() => basePathOf(v3([{ url: '/{root}/x' }]), 'spec')).toThrow(
      /spec is not a valid OpenAPI contract: servers\[0\]\.url uses \{root\}/,
    );
    expect(() => basePathOf(v3([{ url: '/a//b' }]))).toThrow(/servers\[0\]\.url: base path "\/a\/\/b" has an empty/);
    expect(() => basePathOf({ swagger: '2.0', basePath: '/a/../b' })).toThrow(/basePath: base path/);
  });

  it('is refused, naming the field, when a segment has a space, a brace, "?" or "#" the gateway would refuse later', () => {
    const message = (segment: string) =>
      `base path segment "${segment}" has a space, "{", "}", "?" or "#"; percent-encode it or leave it out`;
    expect(() => basePathOf(v3([{ url: '/my api/v1' }]))).toThrow(`servers[0].url: ${message('my api')}`);
    expect(() => basePathOf(v3([{ url: '/{root}/v1', variables: { root: { default: 'a}b' } } }]))).toThrow(
      `servers[0].url: ${message('a}b')}`,
    );
    expect(() => basePathOf({ swagger: '2.0', basePath: '/api/v#1' })).toThrow(`basePath: ${message('v#1')}`);
    expect(() => basePathOf({ swagger: '2.0', basePath: '/api/v?1' })).toThrow(`basePath: ${message('v?1')}`);
    expect(basePathOf(v3([{ url: '/my%20api/v1' }]))).toBe('/my%20api/v1');
  });

  it('is on the parsed contract', async () => {
    const parsed = await parseOpenApi(
      'openapi: 3.1.0\ninfo: {title: t, version: "1"}\nservers: [{url: "https://x.example/api"}]\npaths: {/a: {get: {responses: {"200": {description: ok}}}}}\n',
    );
    expect(parsed.basePath).toBe('/api');
    expect(parsed.routes).toEqual([{ method: 'GET', path: '/a' }]);
  });

  it('leaves partners and the service the whole of it (prepend), none (ignore), or all but the first segment (split)', () => {
    expect(['prepend', 'ignore', 'split'].map((m) => routePrefix('/a/b/c', m as never))).toEqual(['/a/b/c', '', '/b/c']);
    expect(['prepend', 'ignore', 'split'].map((m) => routePrefix('/api', m as never))).toEqual(['/api', '', '']);
    expect(['prepend', 'ignore', 'split'].map((m) => routePrefix('', m as never))).toEqual(['', '', '']);
  });
});
