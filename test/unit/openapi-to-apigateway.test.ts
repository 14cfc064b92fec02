import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/lib/errors.js';
import {
  API_KEY_SCHEME,
  IMPORTED_OPENAPI_VERSION,
  INTEGRATION_TIMEOUT_MS,
  toApiGatewayOpenApi,
  type ApiGatewayImportOptions,
} from '../../functions/lib/interop/openapi-to-apigateway.js';
import { parseOpenApi } from '../../functions/lib/openapi.js';

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
const fixture = async (name: string) => (await parseOpenApi(await readFile(here(`../fixtures/openapi/${name}`), 'utf8'))).document;
const example = async () => (await parseOpenApi(await readFile(here('../../examples/greeter/1.0.0/openapi.yaml'), 'utf8'))).document;

const TARGET = 'https://greeter.prod.example.com';
const options = (over: Partial<ApiGatewayImportOptions> = {}): ApiGatewayImportOptions => ({
  apiName: 'launchway-greeter',
  targetUrl: TARGET,
  apiKeyRequired: false,
  ...over,
});

/** The output is plain JSON; tests index into it freely. */
type Doc = Record<string, any>;

/** Every operation of the output, as `METHOD path` -> operation. */
function operations(doc: Doc): Record<string, Doc> {
  const out: Record<string, Doc> = {};
  for (const [path, item] of Object.entries(doc.paths as Record<string, Doc>)) {
    for (const [method, op] of Object.entries(item)) out[`${method.toUpperCase()} ${path}`] = op as Doc;
  }
  return out;
}

/** Every value found under `key` anywhere in the document. */
function valuesOf(node: unknown, key: string): unknown[] {
  if (!node || typeof node !== 'object') return [];
  if (Array.isArray(node)) return node.flatMap((n) => valuesOf(n, key));
  return Object.entries(node).flatMap(([k, v]) => [...(k === key ? [v] : []), ...valuesOf(v, key)]);
}

function rejection(spec: Record<string, unknown>, over: Partial<ApiGatewayImportOptions> = {}): ValidationError {
  try {
    toApiGatewayOpenApi(spec, options(over));
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

const doc30 = (paths: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  openapi: '3.0.3',
  info: { title: 'T', version: '1' },
  paths,
  ...extra,
});
const ok = { responses: { '200': { description: 'ok' } } };

describe('toApiGatewayOpenApi: integrations', () => {
  it('gives every operation an http_proxy integration to the target, mapping each path parameter', async () => {
    const { document, routes } = toApiGatewayOpenApi(await fixture('greeter-v1.yaml'), options());
    expect(document.openapi).toBe(IMPORTED_OPENAPI_VERSION);
    expect(routes).toEqual([
      { method: 'GET', path: '/health' },
      { method: 'GET', path: '/greetings/{name}' },
      { method: 'POST', path: '/greetings/{name}' },
    ]);
    const ops = operations(document);
    expect(Object.keys(ops)).toEqual(['GET /health', 'GET /greetings/{name}', 'POST /greetings/{name}']);
    expect(ops['GET /health']['x-amazon-apigateway-integration']).toEqual({
      type: 'http_proxy',
      httpMethod: 'GET',
      uri: `${TARGET}/health`,
      passthroughBehavior: 'when_no_match',
      connectionType: 'INTERNET',
      timeoutInMillis: INTEGRATION_TIMEOUT_MS,
    });
    expect(ops['POST /greetings/{name}']['x-amazon-apigateway-integration']).toEqual({
      type: 'http_proxy',
      httpMethod: 'POST',
      uri: `${TARGET}/greetings/{name}`,
      requestParameters: { 'integration.request.path.name': 'method.request.path.name' },
      passthroughBehavior: 'when_no_match',
      connectionType: 'INTERNET',
      timeoutInMillis: 29000,
    });
    // The path-level parameter is declared on each method, since API Gateway maps only declared method parameters.
    expect(ops['GET /greetings/{name}'].parameters).toEqual([{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }]);
    expect(ops['POST /greetings/{name}'].parameters).toEqual([{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }]);
  });

  it('keeps the target base path and drops its trailing slash', () => {
    const { document } = toApiGatewayOpenApi(
      doc30({ '/items/{id}': { get: ok } }),
      options({ targetUrl: 'https://alb.example.com/greeter/' }),
    );
    expect(operations(document)['GET /items/{id}']['x-amazon-apigateway-integration'].uri).toBe(
      'https://alb.example.com/greeter/items/{id}',
    );
  });

  it('maps a greedy {name+} as {name} and publishes the root path', () => {
    const { document, routes } = toApiGatewayOpenApi(doc30({ '/': { get: ok }, '/files/{path+}': { get: ok, put: ok } }), options());
    expect(routes).toHaveLength(3);
    const ops = operations(document);
    expect(ops['GET /']['x-amazon-apigateway-integration'].uri).toBe(`${TARGET}/`);
    expect(ops['PUT /files/{path+}']['x-amazon-apigateway-integration']).toMatchObject({
      httpMethod: 'PUT',
      uri: `${TARGET}/files/{path}`,
      requestParameters: { 'integration.request.path.path': 'method.request.path.path' },
    });
    expect(ops['PUT /files/{path+}'].parameters).toEqual([{ name: 'path', in: 'path', required: true, schema: { type: 'string' } }]);
  });

  it('replaces integrations and gateway extensions the contract brings with the catalog-decided proxy', () => {
    const spec = doc30(
      {
        '/x': {
          get: {
            ...ok,
            'x-amazon-apigateway-integration': {
              type: 'aws_proxy',
              httpMethod: 'POST',
              uri: 'arn:aws:apigateway:eu-west-1:lambda:path/evil',
            },
            'x-amazon-apigateway-auth': { type: 'NONE' },
          },
        },
      },
      { 'x-amazon-apigateway-policy': { Statement: [] } },
    );
    const { document } = toApiGatewayOpenApi(spec, options());
    const op = operations(document)['GET /x'];
    expect(op['x-amazon-apigateway-integration']).toMatchObject({ type: 'http_proxy', uri: `${TARGET}/x` });
    expect(op['x-amazon-apigateway-auth']).toBeUndefined();
    expect(document['x-amazon-apigateway-policy']).toBeUndefined();
  });

  it('counts one route per operation across path items, and ignores x- keys under paths', () => {
    const spec = doc30({
      '/a': { get: ok, post: ok, delete: ok, parameters: [] },
      '/a/{id}': { get: ok, patch: ok, head: ok, options: ok, put: ok, summary: 'not an operation' },
      'x-internal': { get: ok },
    });
    const { document, routes } = toApiGatewayOpenApi(spec, options());
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /a',
      'POST /a',
      'DELETE /a',
      'GET /a/{id}',
      'PUT /a/{id}',
      'OPTIONS /a/{id}',
      'HEAD /a/{id}',
      'PATCH /a/{id}',
    ]);
    expect(Object.keys(operations(document))).toHaveLength(routes.length);
    expect(document.paths).not.toHaveProperty('x-internal');
  });
});

describe('toApiGatewayOpenApi: what is kept and what is left out', () => {
  it('names the document after the API (PutRestApi renames the API after info.title) and keeps the contract version', async () => {
    const { document } = toApiGatewayOpenApi(await example(), options());
    expect(document.info).toEqual({
      title: 'launchway-greeter',
      version: '1.0.0',
      description: "Greeter: partner-facing contract published by Launchway. Routes proxy to the service's production target.",
    });
    expect(document['x-amazon-apigateway-binary-media-types']).toEqual(['*/*']);
  });

  it('leaves out schemas, request bodies and examples, resolving $ref responses to their descriptions', async () => {
    const { document } = toApiGatewayOpenApi(await example(), options());
    const op = operations(document)['GET /greetings/{name}'];
    expect(op).toEqual({
      operationId: 'getGreeting',
      summary: 'Greet someone by name',
      parameters: [{ name: 'name', in: 'path', required: true, description: '1 to 64 letters (any script).', schema: { type: 'string' } }],
      responses: {
        '200': { description: 'The greeting.' },
        '400': { description: 'The request is not valid, for example a name that is not 1 to 64 letters.' },
      },
      'x-amazon-apigateway-integration': expect.objectContaining({ uri: `${TARGET}/greetings/{name}` }),
    });
    expect(valuesOf(document, '$ref')).toEqual([]);
    expect(valuesOf(document, 'requestBody')).toEqual([]);
    expect(valuesOf(document, 'example')).toEqual([]);
    // The contract's own security (a root-level apiKey scheme) is not what decides: the catalog is.
    expect(document.components).toBeUndefined();
    expect(valuesOf(document, 'security')).toEqual([]);
  });

  it('keeps query and header parameters (name, required, primitive type), drops cookies, lets operations override', () => {
    const spec = doc30(
      {
        '/search': {
          parameters: [
            { name: 'q', in: 'query', required: true, schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', format: 'int32', minimum: 1 } },
          ],
          get: {
            parameters: [
              { name: 'limit', in: 'query', required: true, description: 'overridden', schema: { type: 'integer' } },
              { $ref: '#/components/parameters/Trace' },
              { name: 'session', in: 'cookie', schema: { type: 'string' } },
              { name: 'tags', in: 'query', schema: { type: 'array', items: { type: 'string' } } },
            ],
            ...ok,
          },
        },
      },
      { components: { parameters: { Trace: { name: 'X-Trace', in: 'header', schema: { type: 'string', pattern: '^[a-f0-9]+$' } } } } },
    );
    const { document } = toApiGatewayOpenApi(spec, options());
    expect(operations(document)['GET /search'].parameters).toEqual([
      { name: 'q', in: 'query', required: true, schema: { type: 'string' } },
      { name: 'limit', in: 'query', required: true, description: 'overridden', schema: { type: 'integer' } },
      { name: 'X-Trace', in: 'header', required: false, schema: { type: 'string' } },
      { name: 'tags', in: 'query', required: false, schema: { type: 'string' } },
    ]);
  });

  it('keeps numeric status codes only, and declares 200 when an operation has none', () => {
    const spec = doc30({
      '/a': { get: { responses: { '2XX': { description: 'range' }, default: { description: 'any' } } } },
      '/b': { get: { responses: { '201': { description: 'made' }, default: { description: 'x' } } } },
    });
    const ops = operations(toApiGatewayOpenApi(spec, options()).document);
    expect(ops['GET /a'].responses).toEqual({ '200': { description: 'The service response, proxied as it is.' } });
    expect(ops['GET /b'].responses).toEqual({ '201': { description: 'made' } });
  });

  it('does not modify its input', async () => {
    const spec = await example();
    const before = structuredClone(spec);
    toApiGatewayOpenApi(spec, options({ apiKeyRequired: true }));
    expect(spec).toEqual(before);
  });
});

describe('toApiGatewayOpenApi: API keys', () => {
  it('declares the api_key scheme, applies it to every operation and reads keys from the header', async () => {
    const { document, routes } = toApiGatewayOpenApi(await fixture('greeter-v1.yaml'), options({ apiKeyRequired: true }));
    expect(document.components).toEqual({ securitySchemes: { [API_KEY_SCHEME]: { type: 'apiKey', name: 'x-api-key', in: 'header' } } });
    expect(document['x-amazon-apigateway-api-key-source']).toBe('HEADER');
    const ops = Object.values(operations(document));
    expect(ops).toHaveLength(routes.length);
    for (const op of ops) expect(op.security).toEqual([{ api_key: [] }]);
    // Root-level security is ignored by API Gateway's import, so it is never relied on.
    expect(document.security).toBeUndefined();
  });

  it('declares no scheme and no key source when keys are not required', async () => {
    const { document } = toApiGatewayOpenApi(await fixture('greeter-v1.yaml'), options());
    expect(document).not.toHaveProperty('components');
    expect(document).not.toHaveProperty('x-amazon-apigateway-api-key-source');
    for (const op of Object.values(operations(document))) expect(op).not.toHaveProperty('security');
  });
});

describe('toApiGatewayOpenApi: OpenAPI 3.1 and Swagger 2.0 in, OpenAPI 3.0 out', () => {
  it('converts a 3.1 contract to 3.0, downgrading type arrays to their first non-null type', async () => {
    const v2 = await fixture('greeter-v2.json');
    const spec = {
      ...v2,
      paths: {
        ...(v2.paths as object),
        '/page': {
          get: {
            parameters: [
              { name: 'size', in: 'query', schema: { type: ['null', 'integer'] } },
              { name: 'cursor', in: 'query', schema: { type: ['string', 'null'] } },
            ],
            responses: { '200': { description: 'A page.', content: { 'application/json': { schema: { type: ['object', 'null'] } } } } },
          },
        },
      },
      webhooks: { ping: { post: ok } },
    };
    const { document, routes } = toApiGatewayOpenApi(spec, options());
    expect(document.openapi).toBe('3.0.1');
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /health', 'GET /greetings/{name}', 'GET /version', 'GET /page']);
    expect(operations(document)['GET /page'].parameters).toEqual([
      { name: 'size', in: 'query', required: false, schema: { type: 'integer' } },
      { name: 'cursor', in: 'query', required: false, schema: { type: 'string' } },
    ]);
    // Nothing 3.0 cannot express is left: no type arrays, no webhooks.
    expect(valuesOf(document, 'type').filter(Array.isArray)).toEqual([]);
    expect(document).not.toHaveProperty('webhooks');
  });

  it('converts a Swagger 2.0 contract to 3.0, its basePath becoming the basePath server variable', async () => {
    const { document, routes } = toApiGatewayOpenApi(await fixture('swagger-2.yaml'), options());
    expect(document.openapi).toBe('3.0.1');
    expect(document).not.toHaveProperty('swagger');
    expect(document).not.toHaveProperty('basePath');
    expect(document.servers).toEqual([{ url: '/{basePath}', variables: { basePath: { default: 'api' } } }]);
    expect(routes).toEqual([
      { method: 'GET', path: '/items' },
      { method: 'DELETE', path: '/items' },
    ]);
    const ops = operations(document);
    expect(ops['DELETE /items'].responses).toEqual({ '204': { description: 'Deleted.' } });
    expect(ops['DELETE /items']['x-amazon-apigateway-integration'].uri).toBe(`${TARGET}/api/items`);
  });

  it('reads Swagger 2.0 parameter types from the parameter itself and leaves body parameters to the proxy', () => {
    const spec = {
      swagger: '2.0',
      info: { title: 'L', version: '1' },
      paths: {
        '/items': {
          post: {
            parameters: [
              { name: 'dryRun', in: 'query', type: 'boolean' },
              { name: 'payload', in: 'body', schema: { type: 'object' } },
            ],
            ...ok,
          },
        },
      },
    };
    expect(operations(toApiGatewayOpenApi(spec, options()).document)['POST /items'].parameters).toEqual([
      { name: 'dryRun', in: 'query', required: false, schema: { type: 'boolean' } },
    ]);
  });

  it('rejects other versions, naming the field', () => {
    expect(rejection({ openapi: '3.2.0', info: { title: 'T', version: '1' }, paths: { '/a': { get: ok } } }).fields).toEqual({
      'spec.openapi': 'OpenAPI 3.2.0 is not supported; Launchway publishes OpenAPI 3.0 and 3.1 (converted to 3.0) and Swagger 2.0',
    });
  });
});

describe('toApiGatewayOpenApi rejects what API Gateway cannot import, naming the path', () => {
  it('a parameter that is not a whole segment', () => {
    const err = rejection(doc30({ '/files/{name}.json': { get: ok } }));
    expect(err.fields).toEqual({
      'spec.paths./files/{name}.json':
        '"/files/{name}.json": segment "{name}.json" mixes text and a parameter, which API Gateway does not support (a parameter must be a whole segment)',
    });
    expect(err.message).toBe(
      `the contract cannot be published on API Gateway: spec.paths./files/{name}.json: ${err.fields['spec.paths./files/{name}.json']}`,
    );
  });

  it('characters API Gateway does not allow in a path segment', () => {
    expect(rejection(doc30({ '/caf\u00e9': { get: ok } })).fields['spec.paths./caf\u00e9']).toMatch(
      /segment "café" has characters API Gateway does not allow/,
    );
    expect(rejection(doc30({ '/a~b': { get: ok } })).fields['spec.paths./a~b']).toMatch(/segment "a~b"/);
  });

  it('an empty segment, including a trailing slash', () => {
    expect(rejection(doc30({ '/items/': { get: ok } })).fields['spec.paths./items/']).toMatch(/has an empty segment/);
  });

  it('a greedy parameter before the last segment', () => {
    expect(rejection(doc30({ '/{all+}/x': { get: ok } })).fields['spec.paths./{all+}/x']).toBe(
      '"/{all+}/x": a greedy {all+} must be the last segment',
    );
  });

  it('two different parameter names at the same position', () => {
    const err = rejection(doc30({ '/users/{id}': { get: ok }, '/users/{userId}/orders': { get: ok } }));
    expect(err.fields).toEqual({
      'spec.paths./users/{userId}/orders':
        '"/users/{userId}/orders" has {userId} at segment 2 where "/users/{id}" has {id}; API Gateway allows one parameter name per position',
    });
  });

  it('a parameter and a greedy parameter at the same position', () => {
    expect(Object.keys(rejection(doc30({ '/f/{p}': { get: ok }, '/f/{p+}': { put: ok } })).fields)).toEqual(['spec.paths./f/{p+}']);
  });

  it('accepts the same parameter at the same position under different literals', () => {
    expect(
      toApiGatewayOpenApi(doc30({ '/users/{id}': { get: ok }, '/users/{id}/orders': { get: ok }, '/users/me': { get: ok } }), options())
        .routes,
    ).toHaveLength(3);
  });

  it('a TRACE operation, which API Gateway REST APIs cannot declare', () => {
    expect(rejection(doc30({ '/a': { get: ok, trace: ok } })).fields).toEqual({
      'spec.paths./a.trace': 'API Gateway REST APIs have no TRACE method (allowed: GET, PUT, POST, DELETE, OPTIONS, HEAD, PATCH)',
    });
  });

  it('a dangling or cyclic $ref', () => {
    expect(rejection(doc30({ '/a': { get: { parameters: [{ $ref: '#/components/parameters/Nope' }], ...ok } } })).fields).toEqual({
      'spec.paths./a.get.parameters[0]': '"#/components/parameters/Nope" does not point at anything in the document',
    });
    const cyclic = doc30(
      { '/a': { get: { parameters: [{ $ref: '#/components/parameters/A' }], ...ok } } },
      {
        components: { parameters: { A: { $ref: '#/components/parameters/B' }, B: { $ref: '#/components/parameters/A' } } },
      },
    );
    expect(rejection(cyclic).fields['spec.paths./a.get.parameters[0]']).toMatch(/is part of a \$ref cycle/);
  });

  it('a target API Gateway cannot call', () => {
    expect(rejection(doc30({ '/a': { get: ok } }), { targetUrl: 'http://127.0.0.1:4100' }).fields).toEqual({
      targetUrl: 'expected a production endpoint reachable from API Gateway (local-process targets are for embedded mode)',
    });
    expect(rejection(doc30({ '/a': { get: ok } }), { targetUrl: 'ftp://files.example.com' }).fields).toEqual({
      targetUrl: 'expected an http(s) URL, got ftp:',
    });
    expect(rejection(doc30({ '/a': { get: ok } }), { targetUrl: 'https://x.example.com/?v=1' }).fields).toEqual({
      targetUrl: 'expected a base URL without ?query or #fragment',
    });
    expect(rejection(doc30({ '/a': { get: ok } }), { targetUrl: 'not a url' }).fields).toEqual({
      targetUrl: 'expected an absolute http(s) URL',
    });
  });

  it('a contract without operations', () => {
    expect(rejection(doc30({ '/a': { parameters: [] } })).fields).toEqual({ 'spec.paths': 'expected at least one operation to publish' });
  });
});

describe('toApiGatewayOpenApi: the base path', () => {
  const underApi = (servers: unknown[] = [{ url: 'https://shop.example.com/api' }]) =>
    doc30({ '/': { get: ok }, '/items/{id}': { get: ok } }, { servers });
  const uris = (document: Doc) =>
    Object.fromEntries(Object.entries(operations(document)).map(([k, op]) => [k, (op['x-amazon-apigateway-integration'] as Doc).uri]));

  it('declares it as the basePath server variable API Gateway reads, and asks for prepend by default', () => {
    const out = toApiGatewayOpenApi(underApi(), options());
    expect(out.basePathMode).toBe('prepend');
    expect(out.document.servers).toEqual([{ url: '/{basePath}', variables: { basePath: { default: 'api' } } }]);
    expect(Object.keys(out.document.paths as Doc)).toEqual(['/', '/items/{id}']);
    expect(toApiGatewayOpenApi(doc30({ '/x': { get: ok } }), options()).document).not.toHaveProperty('servers');
  });

  it('sends the target the prefix partners called: the base path (prepend), none (ignore), all but its first segment (split)', () => {
    expect(uris(toApiGatewayOpenApi(underApi(), options()).document)).toEqual({
      'GET /': `${TARGET}/api`,
      'GET /items/{id}': `${TARGET}/api/items/{id}`,
    });
    const ignored = toApiGatewayOpenApi(underApi(), options({ basePathMode: 'ignore' }));
    expect(ignored.basePathMode).toBe('ignore');
    expect(uris(ignored.document)).toEqual({ 'GET /': `${TARGET}/`, 'GET /items/{id}': `${TARGET}/items/{id}` });
    const twoLevels = underApi([{ url: '/{root}/v2', variables: { root: { default: 'api' } } }]);
    const split = toApiGatewayOpenApi(twoLevels, options({ basePathMode: 'split', targetUrl: 'https://alb.example.com/shop/' }));
    expect(split.basePathMode).toBe('split');
    expect(split.document.servers).toEqual([{ url: '/{basePath}', variables: { basePath: { default: 'api/v2' } } }]);
    expect(uris(split.document)).toEqual({
      'GET /': 'https://alb.example.com/shop/v2',
      'GET /items/{id}': 'https://alb.example.com/shop/v2/items/{id}',
    });
  });

  it('refuses a base path segment API Gateway cannot serve, naming servers[0].url', () => {
    // "+" is a valid URL path character (basePathOf keeps it) that API Gateway refuses in a resource path.
    const err = rejection(underApi([{ url: '/api/v+2' }]));
    expect(err.fields).toEqual({
      'spec.servers[0].url': 'the base path "/api/v+2" has a segment "v+2" API Gateway does not allow in a path',
    });
    // Under ignore no segment reaches a resource path, so there is nothing to refuse.
    expect(toApiGatewayOpenApi(underApi([{ url: '/api/v+2' }]), options({ basePathMode: 'ignore' })).routes).toHaveLength(2);
  });
});

describe('toApiGatewayOpenApi: CORS', () => {
  const spec = () => doc30({ '/items': { get: ok, post: ok }, '/items/{id}': { get: ok, options: ok } });
  const cors = { allowOrigins: ['*'], allowHeaders: ['content-type', 'x-api-key'], maxAgeSeconds: 600 };

  it('adds a MOCK OPTIONS preflight, without key, to each path that does not declare OPTIONS itself', () => {
    const { document, routes } = toApiGatewayOpenApi(spec(), options({ cors, apiKeyRequired: true }));
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /items', 'POST /items', 'GET /items/{id}', 'OPTIONS /items/{id}']);
    const preflight = operations(document)['OPTIONS /items'];
    expect(preflight.security).toBeUndefined();
    expect(preflight['x-amazon-apigateway-integration']).toEqual({
      type: 'mock',
      requestTemplates: { 'application/json': '{"statusCode": 204}' },
      passthroughBehavior: 'when_no_match',
      responses: {
        default: {
          statusCode: '204',
          responseParameters: {
            'method.response.header.Access-Control-Allow-Methods': "'GET,POST,OPTIONS'",
            'method.response.header.Access-Control-Allow-Headers': "'content-type,x-api-key'",
            'method.response.header.Access-Control-Max-Age': "'600'",
            'method.response.header.Access-Control-Allow-Origin': "'*'",
          },
        },
      },
    });
    // Every header the integration maps is declared on the method response, or the import fails.
    const declared = Object.keys((preflight.responses as Record<string, { headers: Doc }>)['204'].headers);
    const mapped = Object.keys(
      ((preflight['x-amazon-apigateway-integration'] as Doc).responses as Record<string, Doc>).default.responseParameters as Doc,
    );
    expect(declared).toEqual(expect.arrayContaining(mapped.map((m) => m.replace('method.response.header.', ''))));
    // The contract's own OPTIONS is proxied like any operation.
    expect(operations(document)['OPTIONS /items/{id}']['x-amazon-apigateway-integration']).toMatchObject({ type: 'http_proxy' });
    expect(document['x-amazon-apigateway-gateway-responses']).toEqual({
      DEFAULT_4XX: { responseParameters: { 'gatewayresponse.header.Access-Control-Allow-Origin': "'*'" } },
      DEFAULT_5XX: { responseParameters: { 'gatewayresponse.header.Access-Control-Allow-Origin': "'*'" } },
    });
  });

  it('echoes a listed Origin with a mapping template, and declares path parameters on the preflight', () => {
    const listed = { ...cors, allowOrigins: ['https://app.example.com', 'https://admin.example.com'] };
    const { document } = toApiGatewayOpenApi(doc30({ '/items/{id}': { get: ok } }), options({ cors: listed }));
    const preflight = operations(document)['OPTIONS /items/{id}'];
    expect(preflight.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }]);
    const response = ((preflight['x-amazon-apigateway-integration'] as Doc).responses as Record<string, Doc>).default;
    expect(response.responseParameters).not.toHaveProperty('method.response.header.Access-Control-Allow-Origin');
    expect(response.responseParameters).toMatchObject({ 'method.response.header.Vary': "'Origin'" });
    const template = (response.responseTemplates as Record<string, string>)['application/json'];
    expect(template).toContain('"$!origin" == "https://app.example.com" || "$!origin" == "https://admin.example.com"');
    expect(template).toContain('#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)');
    // Several origins: a gateway response cannot choose one, so it carries none.
    expect(document).not.toHaveProperty('x-amazon-apigateway-gateway-responses');
    const one = toApiGatewayOpenApi(
      doc30({ '/x': { get: ok } }),
      options({ cors: { ...cors, allowOrigins: ['https://app.example.com'] } }),
    );
    expect(one.document['x-amazon-apigateway-gateway-responses']).toMatchObject({
      DEFAULT_4XX: { responseParameters: { 'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example.com'" } },
    });
  });

  it('adds nothing without interop.cors', () => {
    const { document } = toApiGatewayOpenApi(spec(), options());
    expect(Object.keys(operations(document))).not.toContain('OPTIONS /items');
    expect(document).not.toHaveProperty('x-amazon-apigateway-gateway-responses');
  });
});
