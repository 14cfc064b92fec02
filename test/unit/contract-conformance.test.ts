import { describe, expect, it } from 'vitest';
import { type CheckOutcome, ContractChecker, type Exchange } from '../../functions/lib/contract/conformance.js';
import { ConformanceLog, describeViolation } from '../../functions/lib/contract/conformance-log.js';
import { toJsonSchema } from '../../functions/lib/contract/json-schema.js';
import { ValidationError } from '../../functions/lib/errors.js';
import { type Flavour, obj, ref, type SpecDesc, spec } from '../helpers/contract-specs.js';

const BASE = 'http://127.0.0.1:4010/greeter/v1';

const greeting = obj({ message: { type: 'string' }, version: { type: 'string' } }, ['message', 'version']);
const error = obj({ error: obj({ code: { type: 'string' } }, ['code']) }, ['error']);
const greeter: SpecDesc = {
  paths: { '/greetings/{name}': { get: { responses: { 200: { schema: greeting }, 400: { schema: error } } } } },
};

function exchange(path: string, status: number, body: unknown, more: Partial<Exchange> = {}): Exchange {
  return {
    name: 'Greeting in English',
    method: 'GET',
    url: `${BASE}${path}`,
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...more,
  };
}

async function check(flavour: Flavour, desc: SpecDesc, ex: Exchange): Promise<CheckOutcome> {
  return (await ContractChecker.create(spec(flavour, desc))).check(ex, BASE);
}

/** The violations as `at: message` lines, so a case reads like the report. */
async function violations(flavour: Flavour, desc: SpecDesc, ex: Exchange): Promise<string[]> {
  const outcome = await check(flavour, desc, ex);
  if ('unchecked' in outcome) throw new Error(`expected the response to be checked, it was not: ${outcome.unchecked}`);
  return outcome.violations.map((v) => `${v.at}: ${v.message}`);
}

describe('contract conformance of one response', () => {
  for (const flavour of ['3.0', '3.1', '2.0'] as const) {
    it(`a response that keeps the contract has no violation (${flavour})`, async () => {
      const outcome = await check(flavour, greeter, exchange('/greetings/Ada', 200, { message: 'Hello, Ada!', version: '1.0.0' }));
      expect(outcome).toEqual({ operation: 'GET /greetings/{name}', violations: [] });
    });

    it(`a field of the wrong type is named by its JSON path, with what the schema expected (${flavour})`, async () => {
      const ex = exchange('/greetings/Ada', 200, { message: 'Hello, Ada!', version: 100 });
      const outcome = await check(flavour, greeter, ex);
      expect(outcome).toEqual({
        operation: 'GET /greetings/{name}',
        violations: [
          {
            name: 'Greeting in English',
            operation: 'GET /greetings/{name}',
            status: 200,
            at: '$.version',
            message: 'must be string, got number',
          },
        ],
      });
    });
  }

  it('a missing required property', async () => {
    expect(await violations('3.0', greeter, exchange('/greetings/Ada', 200, { message: 'Hello' }))).toEqual([
      '$.version: is required but missing',
    ]);
    expect(await violations('2.0', greeter, exchange('/greetings/A', 400, { error: {} }))).toEqual([
      '$.error.code: is required but missing',
    ]);
  });

  it('an undeclared status, and the declared ones', async () => {
    expect(await violations('3.0', greeter, exchange('/greetings/Ada', 500, { error: { code: 'INTERNAL' } }))).toEqual([
      'status: status 500 is not declared (declared: 200, 400)',
    ]);
  });

  it('a status covered by a range or by default is declared, and its schema applies', async () => {
    const desc: SpecDesc = {
      paths: { '/items': { get: { responses: { 200: { schema: greeting }, '4XX': { schema: error }, default: { schema: error } } } } },
    };
    expect(await violations('3.0', desc, exchange('/items', 404, { error: { code: 'NOT_FOUND' } }))).toEqual([]);
    expect(await violations('3.1', desc, exchange('/items', 503, { error: { code: 7 } }))).toEqual([
      '$.error.code: must be string, got number',
    ]);
  });

  it('a content type the response does not declare', async () => {
    const ex = exchange('/greetings/Ada', 200, 'Hello, Ada!', { headers: { 'content-type': 'text/plain' } });
    expect(await violations('3.0', greeter, ex)).toEqual(['content-type: expected application/json, got text/plain']);
    expect(await violations('2.0', greeter, { ...ex, headers: {} })).toEqual([
      'content-type: expected application/json, got no Content-Type',
    ]);
    const wildcard: SpecDesc = { paths: { '/items': { get: { responses: { 200: { schema: greeting, types: ['application/*'] } } } } } };
    expect(await violations('3.0', wildcard, exchange('/items', 200, { message: 'a', version: '1' }))).toEqual([]);
  });

  it('a body that is not JSON under a JSON media type', async () => {
    const [line] = await violations('3.0', greeter, exchange('/greetings/Ada', 200, '{"message": '));
    expect(line).toMatch(/^\$: expected a JSON body \(application\/json\): /);
  });

  it('OpenAPI 3.0 nullable admits null only where it is declared', async () => {
    const desc: SpecDesc = {
      paths: {
        '/items': { get: { responses: { 200: { schema: obj({ note: { type: 'string', nullable: true }, id: { type: 'string' } }) } } } },
      },
    };
    expect(await violations('3.0', desc, exchange('/items', 200, { note: null, id: 'a' }))).toEqual([]);
    expect(await violations('3.0', desc, exchange('/items', 200, { note: 3, id: null }))).toEqual([
      '$.note: must be string,null, got number',
      '$.id: must be string, got null',
    ]);
    // Swagger 2.0 has no nullable; the widespread x-nullable extension means the same.
    expect(await violations('2.0', desc, exchange('/items', 200, { note: null, id: 'a' }))).toEqual([]);
  });

  it('OpenAPI 3.0 nullable on an enum and on a composed schema', async () => {
    const desc: SpecDesc = {
      schemas: { Lang: { type: 'string', enum: ['en', 'fr'] } },
      paths: {
        '/items': {
          get: {
            responses: {
              200: {
                schema: obj({
                  lang: { type: 'string', enum: ['en', 'fr'], nullable: true },
                  alt: { allOf: [ref('Lang')], nullable: true },
                }),
              },
            },
          },
        },
      },
    };
    expect(await violations('3.0', desc, exchange('/items', 200, { lang: null, alt: null }))).toEqual([]);
    expect(await violations('3.0', desc, exchange('/items', 200, { lang: 'de', alt: 'es' }))).toEqual([
      '$.lang: must be one of "en", "fr", null, got "de"',
      '$.alt: must be one of "en", "fr", got "es"',
    ]);
  });

  it('OpenAPI 3.1 type arrays (JSON Schema 2020-12)', async () => {
    const desc: SpecDesc = {
      paths: {
        '/items': {
          get: {
            responses: {
              200: { schema: obj({ note: { type: ['string', 'null'] }, tags: { type: 'array', prefixItems: [{ type: 'integer' }] } }) },
            },
          },
        },
      },
    };
    expect(await violations('3.1', desc, exchange('/items', 200, { note: null, tags: [1, 'x'] }))).toEqual([]);
    expect(await violations('3.1', desc, exchange('/items', 200, { note: false, tags: ['x'] }))).toEqual([
      '$.note: must be string,null, got boolean',
      '$.tags[0]: must be integer, got string',
    ]);
  });

  it('Swagger 2.0: the schema on the response, produces as the media types, boolean exclusiveMinimum', async () => {
    const desc: SpecDesc = {
      basePath: '/api',
      paths: {
        '/items': {
          get: {
            responses: {
              200: { schema: obj({ n: { type: 'number', minimum: 0, exclusiveMinimum: true } }, ['n']), types: ['application/hal+json'] },
            },
          },
        },
      },
    };
    const ok = exchange('/items', 200, { n: 1 }, { headers: { 'content-type': 'application/hal+json' } });
    expect(await violations('2.0', desc, ok)).toEqual([]);
    expect(await violations('2.0', desc, { ...ok, body: '{"n": 0}' })).toEqual(['$.n: must be > 0']);
    expect(await violations('2.0', desc, { ...ok, headers: { 'content-type': 'application/json' } })).toEqual([
      'content-type: expected application/hal+json, got application/json',
    ]);
  });

  it('a response declared without content has no body to check', async () => {
    const desc: SpecDesc = { paths: { '/items/{id}': { delete: { responses: { 204: {}, 404: {} } } } } };
    expect(await violations('2.0', desc, exchange('/items/1', 404, 'gone', { method: 'DELETE', headers: {} }))).toEqual([]);
  });

  it('additional properties where the schema allows none, and recursive schemas', async () => {
    const desc: SpecDesc = {
      schemas: {
        Node: {
          ...obj({ name: { type: 'string' }, children: { type: 'array', items: ref('Node') } }, ['name']),
          additionalProperties: false,
        },
      },
      paths: { '/tree': { get: { responses: { 200: { schema: ref('Node') } } } } },
    };
    const tree = {
      name: 'root',
      children: [
        { name: 'a', children: [{ name: 7 }] },
        { name: 'b', extra: true },
      ],
    };
    expect(await violations('3.0', desc, exchange('/tree', 200, tree))).toEqual([
      '$.children[0].children[0].name: must be string, got number',
      '$.children[1].extra: is not declared and the schema allows no other properties',
    ]);
  });

  it('routes like the gateway: a literal segment beats a parameter, a greedy parameter takes the rest', async () => {
    const desc: SpecDesc = {
      paths: {
        '/items/{id}': { get: { responses: { 200: { schema: obj({ id: { type: 'string' } }, ['id']) } } } },
        '/items/latest': { get: { responses: { 200: { schema: obj({ latest: { type: 'boolean' } }, ['latest']) } } } },
        '/files/{path+}': { get: { responses: { 200: { schema: obj({ size: { type: 'integer' } }, ['size']) } } } },
      },
    };
    expect(await check('3.0', desc, exchange('/items/latest/', 200, { latest: true }))).toMatchObject({
      operation: 'GET /items/latest',
      violations: [],
    });
    expect(await check('3.0', desc, exchange('/items/7?x=1', 200, { id: '7' }))).toMatchObject({
      operation: 'GET /items/{id}',
      violations: [],
    });
    expect(await check('3.0', desc, exchange('/files/a/b/c.txt', 200, { size: 'big' }))).toMatchObject({
      operation: 'GET /files/{path+}',
      violations: [expect.objectContaining({ at: '$.size' })],
    });
  });

  it("without the catalog's mode, the request path may carry the contract's base path or not", async () => {
    const desc: SpecDesc = {
      basePath: '/v2',
      paths: { '/items': { get: { responses: { 200: { schema: obj({ id: { type: 'string' } }) } } } } },
    };
    for (const flavour of ['3.0', '2.0'] as const) {
      expect(await check(flavour, desc, exchange('/v2/items', 200, { id: 1 }))).toMatchObject({
        violations: [expect.objectContaining({ at: '$.id' })],
      });
      expect(await check(flavour, desc, exchange('/items', 200, { id: '1' }))).toMatchObject({ violations: [] });
    }
  });

  it('the base path leads the path when the URL has it, even where a template would match the path without it', async () => {
    // `/{kind}` matches `/api` alone: the old rule (base path only when nothing matches without it) read `/api` as
    // a kind and `/api/items` as nothing, so an /api-prefixed service was checked against the wrong operation.
    const desc: SpecDesc = {
      basePath: '/api',
      paths: {
        '/': { get: { responses: { 200: { schema: obj({ root: { type: 'boolean' } }, ['root']) } } } },
        '/{kind}': { get: { responses: { 200: { schema: obj({ kind: { type: 'string' } }, ['kind']) } } } },
      },
    };
    for (const flavour of ['3.0', '2.0'] as const) {
      expect(await check(flavour, desc, exchange('/api', 200, { root: true }))).toEqual({ operation: 'GET /', violations: [] });
      expect(await check(flavour, desc, exchange('/api/items', 200, { kind: 'items' }))).toEqual({
        operation: 'GET /{kind}',
        violations: [],
      });
    }
  });

  it('with the catalog base path mode, only the prefix partners and the service keep is stripped', async () => {
    const desc: SpecDesc = {
      basePath: '/api/v2',
      paths: { '/items': { get: { responses: { 200: { schema: obj({ id: { type: 'string' } }, ['id']) } } } } },
    };
    const checker = async (basePathMode: 'prepend' | 'ignore' | 'split') =>
      ContractChecker.create(spec('3.0', desc), 'artifacts.openapi', { basePathMode });
    const ok = { operation: 'GET /items', violations: [] };
    const none = { unchecked: 'no operation in the contract' };
    // The staging target (service URL) and the gateway stage URL are both followed by the same prefix.
    for (const base of [BASE, 'http://127.0.0.1:5123']) {
      const at = (path: string) => ({ ...exchange(path, 200, { id: '1' }), url: `${base}${path}` });
      const prepend = await checker('prepend');
      expect(prepend.check(at('/api/v2/items'), base)).toEqual(ok);
      expect(prepend.check(at('/items'), base)).toEqual(none);
      const ignore = await checker('ignore');
      expect(ignore.check(at('/items'), base)).toEqual(ok);
      expect(ignore.check(at('/api/v2/items'), base)).toEqual(none);
      const split = await checker('split');
      expect(split.check(at('/v2/items'), base)).toEqual(ok);
      expect(split.check(at('/api/v2/items'), base)).toEqual(none);
    }
  });

  it('requests the contract does not describe are not checked, and are not violations', async () => {
    expect(await check('3.0', greeter, exchange('/health', 200, { status: 'ok' }))).toEqual({ unchecked: 'no operation in the contract' });
    expect(await check('3.0', greeter, exchange('/greetings/Ada', 405, 'no', { method: 'POST' }))).toEqual({
      unchecked: 'no operation in the contract',
    });
    const elsewhere = exchange('', 200, {}, { url: 'http://127.0.0.1:9999/greetings/Ada' });
    expect(await check('3.0', greeter, elsewhere)).toEqual({ unchecked: 'outside the base URL' });
    const gateway = exchange('/greetings/Ada', 403, { message: 'Forbidden' }, { headers: { 'x-amzn-errortype': 'ForbiddenException' } });
    expect(await check('3.0', greeter, gateway)).toEqual({ unchecked: 'answered by the gateway' });
  });

  it('an invalid contract is refused, naming the field', async () => {
    await expect(
      ContractChecker.create({ openapi: '3.0.3', info: { title: 't', version: '1' }, paths: { '/x': { get: {} } } }),
    ).rejects.toThrow(ValidationError);
  });
});

describe('the log of a run', () => {
  it('counts checked, conforming and unchecked responses, and lists violations as failures read them', async () => {
    const checker = await ContractChecker.create(spec('3.0', greeter));
    const log = new ConformanceLog('fail');
    for (const ex of [
      exchange('/greetings/Ada', 200, { message: 'Hello, Ada!', version: '1.0.0' }),
      exchange('/greetings/Bob', 200, { message: 1, version: 2 }),
      exchange('/health', 200, {}),
    ])
      log.add(ex, checker.check(ex, BASE));
    const summary = log.summary();
    expect(summary).toMatchObject({ mode: 'fail', checked: 2, conforming: 1, violationCount: 2, uncheckedCount: 1 });
    expect(summary.unchecked).toEqual([
      { name: 'Greeting in English', method: 'GET', path: '/greeter/v1/health', reason: 'no operation in the contract' },
    ]);
    expect(describeViolation(summary.violations[1])).toBe('GET /greetings/{name} → 200: $.version must be string, got number');
  });
});

describe('toJsonSchema', () => {
  it('turns object cycles into local definitions', () => {
    const node: Record<string, unknown> = { type: 'object', properties: {} };
    (node.properties as Record<string, unknown>).next = node;
    expect(toJsonSchema(node, '3.0')).toEqual({
      $ref: '#/definitions/s0',
      definitions: { s0: { type: 'object', properties: { next: { $ref: '#/definitions/s0' } } } },
    });
  });

  it('keeps data as written: a default object with a nullable key is not a schema', () => {
    expect(toJsonSchema({ type: 'object', default: { nullable: true }, nullable: true }, '3.0')).toEqual({
      type: ['object', 'null'],
      default: { nullable: true },
    });
  });
});
