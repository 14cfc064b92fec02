import { describe, expect, it } from 'vitest';
import { diffContracts } from '../../functions/lib/contract/diff.js';
import type { RuleId, Severity } from '../../functions/lib/contract/rules.js';
import { ValidationError } from '../../functions/lib/errors.js';
import { type Flavour, type OpDesc, obj, ref, type SpecDesc, spec } from '../helpers/contract-specs.js';

type Schema = Record<string, any>;

/** One pair of small specs and the single change the diff must report for it. */
interface Case {
  name: string;
  flavour: Flavour;
  before: SpecDesc;
  after: SpecDesc;
  expect: { rule: RuleId; method?: string; path?: string; location?: string; change?: string };
}

const item = obj({ id: { type: 'integer' }, name: { type: 'string' } }, ['id', 'name']);
const withProps = (props: Record<string, Schema>, required = ['id', 'name']) =>
  obj({ id: { type: 'integer' }, name: { type: 'string' }, ...props }, required);
const get = (schema: Schema = item, more: OpDesc = {}): OpDesc => ({ responses: { 200: { schema } }, ...more });
const post = (schema: Schema, more: OpDesc = {}): OpDesc => ({
  body: { schema, required: true },
  responses: { 201: { schema: item } },
  ...more,
});
const query = (name: string, schema: Schema = { type: 'string' }, required = false) => ({ name, in: 'query' as const, schema, required });
const items = (op: OpDesc, more: Partial<SpecDesc> = {}): SpecDesc => ({ paths: { '/items': { get: op } }, ...more });
const creates = (op: OpDesc, more: Partial<SpecDesc> = {}): SpecDesc => ({ paths: { '/items': { post: op } }, ...more });
const apiKey = { key: { type: 'apiKey', in: 'header', name: 'X-Api-Key' } };
const bearer = { bearer: { type: 'http', scheme: 'bearer' } };
const listOf = (name: string) => obj({ items: { type: 'array', items: ref(name) } }, ['items']);

const breaking: Case[] = [
  // Removed path or operation
  {
    name: 'a removed path',
    flavour: '3.0',
    before: { paths: { '/items': { get: get() }, '/orders': { get: get() } } },
    after: { paths: { '/items': { get: get() } } },
    expect: { rule: 'path-removed', method: 'GET', path: '/orders', change: 'the operation was removed, and with it the whole path' },
  },
  {
    name: 'a removed path with a parameter',
    flavour: '2.0',
    before: { paths: { '/items': { get: get() }, '/orders/{id}': { get: get() } } },
    after: { paths: { '/items': { get: get() } } },
    expect: { rule: 'path-removed', method: 'GET', path: '/orders/{id}' },
  },
  {
    name: 'a removed operation',
    flavour: '3.1',
    before: { paths: { '/items/{id}': { get: get(), delete: { responses: { 204: {} } } } } },
    after: { paths: { '/items/{id}': { get: get() } } },
    expect: { rule: 'operation-removed', method: 'DELETE', path: '/items/{id}', change: 'the operation was removed' },
  },
  {
    name: 'a removed operation',
    flavour: '2.0',
    before: { paths: { '/items': { get: get(), post: post(item) } } },
    after: { paths: { '/items': { get: get() } } },
    expect: { rule: 'operation-removed', method: 'POST', path: '/items' },
  },
  // Removed response status or content type
  {
    name: 'a removed response status',
    flavour: '3.0',
    before: items({ responses: { 200: { schema: item }, 404: {} } }),
    after: items({ responses: { 200: { schema: item } } }),
    expect: { rule: 'response-status-removed', method: 'GET', path: '/items', location: 'response 404' },
  },
  {
    name: 'a removed response status',
    flavour: '2.0',
    before: items({ responses: { 200: { schema: item }, 409: { schema: { type: 'string' } } } }),
    after: items({ responses: { 200: { schema: item } } }),
    expect: { rule: 'response-status-removed', method: 'GET', path: '/items', location: 'response 409' },
  },
  {
    name: 'a removed response content type',
    flavour: '3.0',
    before: items({ responses: { 200: { schema: item, types: ['application/json', 'application/xml'] } } }),
    after: items(get()),
    expect: { rule: 'response-content-type-removed', method: 'GET', path: '/items', location: 'response 200 application/xml' },
  },
  {
    name: 'a removed response content type (produces)',
    flavour: '2.0',
    before: items({ responses: { 200: { schema: item, types: ['application/json', 'text/csv'] } } }),
    after: items(get()),
    expect: { rule: 'response-content-type-removed', method: 'GET', path: '/items', location: 'response 200 text/csv' },
  },
  // New required request parameter, header or body property
  {
    name: 'a new required query parameter',
    flavour: '3.0',
    before: items(get()),
    after: items(get(item, { params: [query('tenant', { type: 'string' }, true)] })),
    expect: { rule: 'request-parameter-required-added', method: 'GET', path: '/items', location: 'request query parameter tenant' },
  },
  {
    name: 'a new required header',
    flavour: '2.0',
    before: items(get()),
    after: items(get(item, { params: [{ name: 'X-Tenant', in: 'header', required: true }] })),
    expect: { rule: 'request-parameter-required-added', method: 'GET', path: '/items', location: 'request header parameter X-Tenant' },
  },
  {
    name: 'a new required header',
    flavour: '3.1',
    before: creates(post(item)),
    after: creates(post(item, { params: [{ name: 'Idempotency-Key', in: 'header', required: true }] })),
    expect: {
      rule: 'request-parameter-required-added',
      method: 'POST',
      path: '/items',
      change: 'required header parameter `Idempotency-Key` was added',
    },
  },
  {
    name: 'a new required body property',
    flavour: '3.0',
    before: creates(post(obj({ name: { type: 'string' } }, ['name']))),
    after: creates(post(obj({ name: { type: 'string' }, sku: { type: 'string' } }, ['name', 'sku']))),
    expect: { rule: 'request-property-required-added', method: 'POST', path: '/items', location: 'request application/json body.sku' },
  },
  {
    name: 'a new required body property',
    flavour: '2.0',
    before: creates(post(obj({ name: { type: 'string' } }, ['name']))),
    after: creates(post(obj({ name: { type: 'string' }, sku: { type: 'string' } }, ['name', 'sku']))),
    expect: { rule: 'request-property-required-added', method: 'POST', path: '/items', location: 'request application/json body.sku' },
  },
  {
    name: 'a new required nested body property',
    flavour: '3.1',
    before: creates(post(obj({ address: obj({ city: { type: 'string' } }) }))),
    after: creates(post(obj({ address: obj({ city: { type: 'string' }, zip: { type: 'string' } }, ['zip']) }))),
    expect: {
      rule: 'request-property-required-added',
      method: 'POST',
      path: '/items',
      location: 'request application/json body.address.zip',
    },
  },
  {
    name: 'an optional query parameter made required',
    flavour: '3.0',
    before: items(get(item, { params: [query('page')] })),
    after: items(get(item, { params: [query('page', { type: 'string' }, true)] })),
    expect: { rule: 'request-parameter-became-required', method: 'GET', path: '/items', change: 'query parameter `page` is now required' },
  },
  {
    name: 'a new required request body',
    flavour: '3.1',
    before: { paths: { '/items/{id}/archive': { post: { responses: { 204: {} } } } } },
    after: {
      paths: {
        '/items/{id}/archive': { post: { body: { schema: obj({ reason: { type: 'string' } }), required: true }, responses: { 204: {} } } },
      },
    },
    expect: { rule: 'request-body-required-added', method: 'POST', path: '/items/{id}/archive', location: 'request body' },
  },
  {
    name: 'a removed request content type',
    flavour: '3.0',
    before: creates({ body: { schema: item, types: ['application/json', 'application/xml'] }, responses: { 201: {} } }),
    after: creates({ body: { schema: item }, responses: { 201: {} } }),
    expect: { rule: 'request-content-type-removed', method: 'POST', path: '/items', location: 'request application/xml' },
  },
  // Narrowed type or enum in a request
  {
    name: 'a narrowed body property type',
    flavour: '3.0',
    before: creates(post(obj({ qty: { type: 'number' } }))),
    after: creates(post(obj({ qty: { type: 'integer' } }))),
    expect: { rule: 'request-type-narrowed', method: 'POST', path: '/items', change: 'property `qty` changed type from number to integer' },
  },
  {
    name: 'a narrowed query parameter type',
    flavour: '2.0',
    before: items(get(item, { params: [query('limit', { type: 'string' })] })),
    after: items(get(item, { params: [query('limit', { type: 'integer' })] })),
    expect: { rule: 'request-type-narrowed', method: 'GET', path: '/items', location: 'request query parameter limit' },
  },
  {
    name: 'a request property no longer nullable',
    flavour: '3.1',
    before: creates(post(obj({ note: { type: 'string', nullable: true } }))),
    after: creates(post(obj({ note: { type: 'string' } }))),
    expect: { rule: 'request-type-narrowed', method: 'POST', path: '/items', change: 'property `note` no longer accepts null' },
  },
  {
    name: 'a narrowed query parameter enum',
    flavour: '3.0',
    before: items(get(item, { params: [query('sort', { type: 'string', enum: ['asc', 'desc'] })] })),
    after: items(get(item, { params: [query('sort', { type: 'string', enum: ['asc'] })] })),
    expect: { rule: 'request-enum-narrowed', method: 'GET', path: '/items', change: 'query parameter `sort` no longer has value `desc`' },
  },
  {
    name: 'a narrowed body enum',
    flavour: '3.1',
    before: creates(post(obj({ colour: { type: 'string', enum: ['red', 'green'] } }))),
    after: creates(post(obj({ colour: { type: 'string', enum: ['red'] } }))),
    expect: { rule: 'request-enum-narrowed', method: 'POST', path: '/items', location: 'request application/json body.colour' },
  },
  {
    name: 'a narrowed form field enum',
    flavour: '2.0',
    before: creates({
      params: [{ name: 'status', in: 'formData', schema: { type: 'string', enum: ['open', 'closed'] } }],
      responses: { 201: {} },
    }),
    after: creates({ params: [{ name: 'status', in: 'formData', schema: { type: 'string', enum: ['open'] } }], responses: { 201: {} } }),
    expect: {
      rule: 'request-enum-narrowed',
      method: 'POST',
      path: '/items',
      location: 'request application/x-www-form-urlencoded body.status',
    },
  },
  {
    name: 'a lower maxLength in a request',
    flavour: '3.1',
    before: creates(post(obj({ name: { type: 'string', maxLength: 200 } }))),
    after: creates(post(obj({ name: { type: 'string', maxLength: 50 } }))),
    expect: {
      rule: 'request-constraint-narrowed',
      method: 'POST',
      path: '/items',
      change: 'property `name` maxLength changed from 200 to 50',
    },
  },
  // Removed or retyped response property; made nullable or optional
  {
    name: 'a removed response property',
    flavour: '3.0',
    before: items(get()),
    after: items(get(obj({ id: { type: 'integer' } }, ['id']))),
    expect: { rule: 'response-property-removed', method: 'GET', path: '/items', location: 'response 200 application/json body.name' },
  },
  {
    name: 'a removed optional response property',
    flavour: '2.0',
    before: items(get(withProps({ note: { type: 'string' } }))),
    after: items(get()),
    expect: { rule: 'response-property-removed', method: 'GET', path: '/items', change: 'property `note` was removed' },
  },
  {
    name: 'a retyped response property',
    flavour: '3.0',
    before: items(get()),
    after: items(get(obj({ id: { type: 'string' }, name: { type: 'string' } }, ['id', 'name']))),
    expect: { rule: 'response-type-changed', method: 'GET', path: '/items', change: 'property `id` changed type from integer to string' },
  },
  {
    name: 'a retyped response property',
    flavour: '3.1',
    before: items(get(withProps({ price: { type: 'number' } }))),
    after: items(get(withProps({ price: { type: 'string' } }))),
    expect: { rule: 'response-type-changed', method: 'GET', path: '/items', location: 'response 200 application/json body.price' },
  },
  {
    name: 'a response property made nullable (nullable: true)',
    flavour: '3.0',
    before: items(get()),
    after: items(get(withProps({ name: { type: 'string', nullable: true } }))),
    expect: { rule: 'response-nullable-added', method: 'GET', path: '/items', change: 'property `name` may now be null' },
  },
  {
    name: "a response property made nullable (type: ['string', 'null'])",
    flavour: '3.1',
    before: items(get()),
    after: items(get(withProps({ name: { type: 'string', nullable: true } }))),
    expect: { rule: 'response-nullable-added', method: 'GET', path: '/items', location: 'response 200 application/json body.name' },
  },
  {
    name: 'a response property made nullable (x-nullable)',
    flavour: '2.0',
    before: items(get()),
    after: items(get(withProps({ name: { type: 'string', nullable: true } }))),
    expect: { rule: 'response-nullable-added', method: 'GET', path: '/items', location: 'response 200 application/json body.name' },
  },
  {
    name: 'a response property made optional',
    flavour: '3.0',
    before: items(get()),
    after: items(get(withProps({}, ['id']))),
    expect: { rule: 'response-property-became-optional', method: 'GET', path: '/items', change: 'property `name` is no longer required' },
  },
  {
    name: 'a response property made optional',
    flavour: '2.0',
    before: items(get()),
    after: items(get(withProps({}, ['name']))),
    expect: { rule: 'response-property-became-optional', method: 'GET', path: '/items', location: 'response 200 application/json body.id' },
  },
  {
    name: 'a removed response header',
    flavour: '3.0',
    before: items({ responses: { 200: { schema: item, headers: { 'X-Total-Count': { type: 'integer' } } } } }),
    after: items(get()),
    expect: { rule: 'response-header-removed', method: 'GET', path: '/items', location: 'response 200 header x-total-count' },
  },
  {
    name: 'a new alternative a response may take',
    flavour: '3.0',
    before: items(get({ oneOf: [obj({ a: { type: 'string' } })] })),
    after: items(get({ oneOf: [obj({ a: { type: 'string' } }), obj({ b: { type: 'string' } })] })),
    expect: { rule: 'response-variant-added', method: 'GET', path: '/items', change: 'the body oneOf has 2 alternatives instead of 1' },
  },
  // Changed or added security requirement
  {
    name: 'an added global security requirement',
    flavour: '3.0',
    before: items(get(), { schemes: apiKey }),
    after: items(get(), { schemes: apiKey, security: [{ key: [] }] }),
    expect: { rule: 'security-added', method: 'GET', path: '/items', change: 'now requires API key in header X-Api-Key' },
  },
  {
    name: 'an added operation security requirement',
    flavour: '2.0',
    before: items(get(), { schemes: apiKey }),
    after: items(get(item, { security: [{ key: [] }] }), { schemes: apiKey }),
    expect: { rule: 'security-added', method: 'GET', path: '/items', location: 'security' },
  },
  {
    name: 'a changed security requirement',
    flavour: '3.1',
    before: items(get(), { schemes: { ...apiKey, ...bearer }, security: [{ key: [] }] }),
    after: items(get(), { schemes: { ...apiKey, ...bearer }, security: [{ bearer: [] }] }),
    expect: {
      rule: 'security-changed',
      method: 'GET',
      path: '/items',
      change: 'requires HTTP bearer instead of API key in header X-Api-Key',
    },
  },
  {
    name: 'a security scheme moved to another header under the same name',
    flavour: '2.0',
    before: items(get(), { schemes: apiKey, security: [{ key: [] }] }),
    after: items(get(), { schemes: { key: { type: 'apiKey', in: 'header', name: 'Authorization' } }, security: [{ key: [] }] }),
    expect: { rule: 'security-changed', method: 'GET', path: '/items', location: 'security' },
  },
  // Changed base path
  {
    name: 'a changed basePath',
    flavour: '2.0',
    before: items(get(), { basePath: '/v1' }),
    after: items(get(), { basePath: '/v2' }),
    expect: { rule: 'base-path-changed', location: 'base path', change: 'base path changed from /v1 to /v2' },
  },
  {
    name: 'a changed server path',
    flavour: '3.0',
    before: items(get(), { basePath: '/api' }),
    after: items(get()),
    expect: { rule: 'base-path-changed', change: 'base path changed from /api to /' },
  },
  {
    name: 'a changed server path',
    flavour: '3.1',
    before: items(get(), { basePath: '/v1' }),
    after: items(get(), { basePath: '/v1/partners' }),
    expect: { rule: 'base-path-changed', location: 'base path' },
  },
  // Through $ref: components/schemas and definitions are dereferenced before comparing
  {
    name: 'a retyped property two $refs deep',
    flavour: '3.0',
    before: items(get(ref('List')), {
      schemas: {
        List: listOf('Item'),
        Item: obj({ id: { type: 'integer' }, tags: { type: 'array', items: ref('Tag') } }),
        Tag: obj({ id: { type: 'integer' } }),
      },
    }),
    after: items(get(ref('List')), {
      schemas: {
        List: listOf('Item'),
        Item: obj({ id: { type: 'integer' }, tags: { type: 'array', items: ref('Tag') } }),
        Tag: obj({ id: { type: 'string' } }),
      },
    }),
    expect: {
      rule: 'response-type-changed',
      method: 'GET',
      path: '/items',
      location: 'response 200 application/json body.items[].tags[].id',
    },
  },
  {
    name: 'a property removed from an allOf base definition',
    flavour: '2.0',
    before: items(get(ref('Item')), {
      schemas: { Base: obj({ id: { type: 'integer' } }, ['id']), Item: { allOf: [ref('Base'), obj({ name: { type: 'string' } })] } },
    }),
    after: items(get(ref('Item')), {
      schemas: { Base: obj({}), Item: { allOf: [ref('Base'), obj({ name: { type: 'string' } })] } },
    }),
    expect: { rule: 'response-property-removed', method: 'GET', path: '/items', location: 'response 200 application/json body.id' },
  },
];

const nonBreaking: Case[] = [
  {
    name: 'an added path',
    flavour: '3.0',
    before: items(get()),
    after: { paths: { '/items': { get: get() }, '/items/{id}': { get: get() } } },
    expect: { rule: 'path-added', method: 'GET', path: '/items/{id}', change: 'the operation was added, on a new path' },
  },
  {
    name: 'an added operation',
    flavour: '2.0',
    before: items(get()),
    after: { paths: { '/items': { get: get(), post: post(item) } } },
    expect: { rule: 'operation-added', method: 'POST', path: '/items' },
  },
  {
    name: 'an added optional query parameter',
    flavour: '3.1',
    before: items(get()),
    after: items(get(item, { params: [query('cursor')] })),
    expect: { rule: 'request-parameter-added', method: 'GET', path: '/items', location: 'request query parameter cursor' },
  },
  {
    name: 'an added optional body property',
    flavour: '3.0',
    before: creates(post(obj({ name: { type: 'string' } }, ['name']))),
    after: creates(post(obj({ name: { type: 'string' }, note: { type: 'string' } }, ['name']))),
    expect: { rule: 'request-property-added', method: 'POST', path: '/items', change: 'property `note` was added as optional' },
  },
  {
    name: 'an optional request body added',
    flavour: '2.0',
    before: { paths: { '/items/{id}/archive': { post: { responses: { 204: {} } } } } },
    after: {
      paths: { '/items/{id}/archive': { post: { body: { schema: obj({ reason: { type: 'string' } }) }, responses: { 204: {} } } } },
    },
    expect: { rule: 'request-body-added', method: 'POST', path: '/items/{id}/archive' },
  },
  {
    name: 'an added response property',
    flavour: '2.0',
    before: items(get()),
    after: items(get(withProps({ createdAt: { type: 'string', format: 'date-time' } }))),
    expect: { rule: 'response-property-added', method: 'GET', path: '/items', location: 'response 200 application/json body.createdAt' },
  },
  {
    name: 'an added required response property',
    flavour: '3.1',
    before: items(get()),
    after: items(get(withProps({ etag: { type: 'string' } }, ['id', 'name', 'etag']))),
    expect: { rule: 'response-property-added', method: 'GET', path: '/items', change: 'property `etag` was added' },
  },
  {
    name: 'a request property made optional',
    flavour: '3.0',
    before: creates(post(obj({ name: { type: 'string' }, sku: { type: 'string' } }, ['name', 'sku']))),
    after: creates(post(obj({ name: { type: 'string' }, sku: { type: 'string' } }, ['name']))),
    expect: { rule: 'request-property-became-optional', method: 'POST', path: '/items', location: 'request application/json body.sku' },
  },
  {
    name: 'a query parameter made optional',
    flavour: '2.0',
    before: items(get(item, { params: [query('tenant', { type: 'string' }, true)] })),
    after: items(get(item, { params: [query('tenant')] })),
    expect: {
      rule: 'request-parameter-became-optional',
      method: 'GET',
      path: '/items',
      change: 'query parameter `tenant` is no longer required',
    },
  },
  {
    name: 'a widened request enum',
    flavour: '3.0',
    before: items(get(item, { params: [query('sort', { type: 'string', enum: ['asc'] })] })),
    after: items(get(item, { params: [query('sort', { type: 'string', enum: ['asc', 'desc'] })] })),
    expect: { rule: 'request-enum-widened', method: 'GET', path: '/items', change: 'query parameter `sort` has new value `desc`' },
  },
  {
    name: 'a widened request type',
    flavour: '3.1',
    before: creates(post(obj({ qty: { type: 'integer' } }))),
    after: creates(post(obj({ qty: { type: 'number' } }))),
    expect: { rule: 'request-type-widened', method: 'POST', path: '/items', location: 'request application/json body.qty' },
  },
  {
    name: 'a request property that now accepts null',
    flavour: '3.0',
    before: creates(post(obj({ note: { type: 'string' } }))),
    after: creates(post(obj({ note: { type: 'string', nullable: true } }))),
    expect: { rule: 'request-type-widened', method: 'POST', path: '/items', change: 'property `note` now also accepts null' },
  },
  {
    name: 'a raised maximum in a request',
    flavour: '2.0',
    before: items(get(item, { params: [query('limit', { type: 'integer', maximum: 100 })] })),
    after: items(get(item, { params: [query('limit', { type: 'integer', maximum: 500 })] })),
    expect: {
      rule: 'request-constraint-widened',
      method: 'GET',
      path: '/items',
      change: 'query parameter `limit` maximum changed from 100 to 500',
    },
  },
  {
    name: 'an added response status',
    flavour: '3.0',
    before: items(get()),
    after: items({ responses: { 200: { schema: item }, 404: {} } }),
    expect: { rule: 'response-status-added', method: 'GET', path: '/items', location: 'response 404' },
  },
  {
    name: 'an added response content type (produces)',
    flavour: '2.0',
    before: items(get()),
    after: items({ responses: { 200: { schema: item, types: ['application/json', 'application/xml'] } } }),
    expect: { rule: 'response-content-type-added', method: 'GET', path: '/items', location: 'response 200 application/xml' },
  },
  {
    // Our choice: partners must tolerate unknown enum values, or no enum could ever grow. The sentence says so.
    name: 'a new value in a response enum',
    flavour: '3.0',
    before: items(get(withProps({ state: { type: 'string', enum: ['open', 'closed'] } }))),
    after: items(get(withProps({ state: { type: 'string', enum: ['open', 'closed', 'archived'] } }))),
    expect: {
      rule: 'response-enum-widened',
      method: 'GET',
      path: '/items',
      change: 'property `state` has new value `archived` (partners must tolerate values they do not know)',
    },
  },
  {
    name: 'a response property made required',
    flavour: '3.0',
    before: items(get(withProps({}, ['id']))),
    after: items(get()),
    expect: {
      rule: 'response-property-became-required',
      method: 'GET',
      path: '/items',
      location: 'response 200 application/json body.name',
    },
  },
  {
    name: 'a response property no longer nullable',
    flavour: '3.1',
    before: items(get(withProps({ name: { type: 'string', nullable: true } }))),
    after: items(get()),
    expect: { rule: 'response-nullable-removed', method: 'GET', path: '/items', change: 'property `name` is no longer null' },
  },
  {
    name: 'a removed security requirement',
    flavour: '3.1',
    before: items(get(), { schemes: apiKey, security: [{ key: [] }] }),
    after: items(get(), { schemes: apiKey }),
    expect: { rule: 'security-removed', method: 'GET', path: '/items', location: 'security' },
  },
  {
    name: 'one more accepted way to authenticate',
    flavour: '3.0',
    before: items(get(), { schemes: { ...apiKey, ...bearer }, security: [{ key: [] }] }),
    after: items(get(), { schemes: { ...apiKey, ...bearer }, security: [{ key: [] }, { bearer: [] }] }),
    expect: { rule: 'security-alternative-added', method: 'GET', path: '/items', change: 'also accepts HTTP bearer' },
  },
];

const deprecations: Case[] = [
  {
    name: 'a deprecated operation',
    flavour: '3.0',
    before: items(get()),
    after: items(get(item, { deprecated: true })),
    expect: { rule: 'operation-deprecated', method: 'GET', path: '/items', change: 'the operation is now deprecated' },
  },
  {
    name: 'a deprecated operation',
    flavour: '2.0',
    before: items(get()),
    after: items(get(item, { deprecated: true })),
    expect: { rule: 'operation-deprecated', method: 'GET', path: '/items', location: 'operation' },
  },
  {
    name: 'a deprecated query parameter',
    flavour: '3.1',
    before: items(get(item, { params: [query('page')] })),
    after: items(get(item, { params: [{ ...query('page'), deprecated: true }] })),
    expect: { rule: 'parameter-deprecated', method: 'GET', path: '/items', location: 'request query parameter page' },
  },
  {
    name: 'a deprecated request property',
    flavour: '3.0',
    before: creates(post(obj({ name: { type: 'string' }, legacyCode: { type: 'string' } }))),
    after: creates(post(obj({ name: { type: 'string' }, legacyCode: { type: 'string', deprecated: true } }))),
    expect: { rule: 'property-deprecated', method: 'POST', path: '/items', change: 'property `legacyCode` is now deprecated' },
  },
];

const label = (c: Case) => `${c.flavour}: ${c.name}`;

async function expectOnly(c: Case, severity: Severity): Promise<void> {
  const changes = await diffContracts(spec(c.flavour, c.before), spec(c.flavour, c.after));
  const { rule, method, path, location, change } = c.expect;
  expect(changes).toEqual([
    { severity, rule, method, path, location: location ?? expect.any(String), change: change ?? expect.any(String) },
  ]);
}

describe('diffContracts classifies as breaking', () => {
  it('at least 25 cases, in every flavour', () => {
    expect(breaking.length).toBeGreaterThanOrEqual(25);
    expect(new Set(breaking.map((c) => c.flavour))).toEqual(new Set(['3.0', '3.1', '2.0']));
    expect(new Set(breaking.map(label)).size).toBe(breaking.length);
  });
  it.each(breaking.map((c) => [label(c), c] as const))('%s', (_, c) => expectOnly(c, 'breaking'));
});

describe('diffContracts classifies as non-breaking', () => {
  it('at least 15 cases, in every flavour', () => {
    expect(nonBreaking.length).toBeGreaterThanOrEqual(15);
    expect(new Set(nonBreaking.map((c) => c.flavour))).toEqual(new Set(['3.0', '3.1', '2.0']));
    expect(new Set(nonBreaking.map(label)).size).toBe(nonBreaking.length);
  });
  it.each(nonBreaking.map((c) => [label(c), c] as const))('%s', (_, c) => expectOnly(c, 'non-breaking'));
});

describe('diffContracts classifies as deprecation', () => {
  it.each(deprecations.map((c) => [label(c), c] as const))('%s', (_, c) => expectOnly(c, 'deprecation'));
});

describe('diffContracts reports nothing', () => {
  it('on a first release: there is no live contract to compare with', async () => {
    expect(await diffContracts(undefined, spec('3.0', items(get())))).toEqual([]);
  });

  it.each(['3.0', '3.1', '2.0'] as const)('for identical %s contracts', async (flavour) => {
    const desc = items(get(item, { params: [query('page')] }), { schemes: apiKey, security: [{ key: [] }], basePath: '/v1' });
    expect(await diffContracts(spec(flavour, desc), spec(flavour, desc))).toEqual([]);
  });

  it('when a contract moves from OpenAPI 3.0 to 3.1 (nullable: true becomes a type list)', async () => {
    const desc = items(get(withProps({ note: { type: 'string', nullable: true } })));
    expect(await diffContracts(spec('3.0', desc), spec('3.1', desc))).toEqual([]);
  });

  it('when a contract moves from Swagger 2.0 to OpenAPI 3.0 (body parameter, produces, basePath, securityDefinitions)', async () => {
    const desc: SpecDesc = {
      paths: { '/items': { get: get(item, { params: [query('page', { type: 'integer' })] }), post: post(item) } },
      basePath: '/v1',
      schemes: apiKey,
      security: [{ key: [] }],
    };
    expect(await diffContracts(spec('2.0', desc), spec('3.0', desc))).toEqual([]);
  });

  it('when the base path changes where partners do not call it (interop.basePath ignore, or split on its first segment)', async () => {
    const at = (basePath: string) => spec('3.0', items(get(), { basePath }));
    expect(await diffContracts(at('/v1'), at('/v2'), {}, { basePathMode: 'ignore' })).toEqual([]);
    expect(await diffContracts(at('/old/partners'), at('/new/partners'), {}, { basePathMode: 'split' })).toEqual([]);
    // What partners call changes: breaking, under split and prepend alike.
    for (const basePathMode of ['split', 'prepend'] as const) {
      expect(await diffContracts(at('/api/v1'), at('/api/v2'), {}, { basePathMode })).toEqual([
        expect.objectContaining({ rule: 'base-path-changed', severity: 'breaking', change: 'base path changed from /api/v1 to /api/v2' }),
      ]);
    }
    expect(await diffContracts(at('/v1'), at('/v2'), {}, { basePathMode: 'prepend' })).toHaveLength(1);
  });

  it('when only the name of a path parameter changes: partners fill in the same position', async () => {
    const before = { paths: { '/items/{id}': { get: get() } } };
    const after = { paths: { '/items/{itemId}': { get: get() } } };
    expect(await diffContracts(spec('3.0', before), spec('3.0', after))).toEqual([]);
  });
});

describe('diffContracts', () => {
  it('refuses a contract that does not validate, naming its field', async () => {
    const err = await diffContracts({ openapi: '3.0.3', paths: {} }, spec('3.0', items(get())), { before: 'liveContract' }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(Object.keys((err as ValidationError).fields)).toEqual(['liveContract']);
  });

  it('compares recursive schemas once per node pair and still finds a change deep inside', async () => {
    const tree = (idType: string): SpecDesc =>
      items(get(ref('Node')), { schemas: { Node: obj({ id: { type: idType }, children: { type: 'array', items: ref('Node') } }) } });
    const changes = await diffContracts(spec('3.0', tree('integer')), spec('3.0', tree('string')));
    expect(changes).toEqual([
      expect.objectContaining({ rule: 'response-type-changed', location: 'response 200 application/json body.id' }),
    ]);
  });

  it('leaves read-only properties out of requests and write-only ones out of responses', async () => {
    const schema = (extra: Record<string, Schema>) => obj({ name: { type: 'string' }, ...extra }, Object.keys(extra));
    const desc = (extra: Record<string, Schema>) =>
      creates({ body: { schema: schema(extra), required: true }, responses: { 201: { schema: schema(extra) } } });
    const changes = await diffContracts(
      spec('3.1', desc({})),
      spec('3.1', desc({ createdAt: { type: 'string', readOnly: true }, password: { type: 'string', writeOnly: true } })),
    );
    expect(changes.map((c) => `${c.rule} ${c.location}`)).toEqual([
      'request-property-required-added request application/json body.password',
      'response-property-added response 201 application/json body.createdAt',
    ]);
  });

  it('lists breaking changes first, then deprecations, then non-breaking ones, each by path and method', async () => {
    const before: SpecDesc = { paths: { '/b': { get: get(), delete: { responses: { 204: {} } } }, '/a': { get: get() } } };
    const after: SpecDesc = {
      paths: {
        '/a': { get: get(item, { deprecated: true, params: [query('q')] }) },
        '/b': { get: get(withProps({}, ['id'])) },
        '/c': { get: get() },
      },
      basePath: '/v2',
    };
    const changes = await diffContracts(spec('3.0', before), spec('3.0', after));
    expect(changes.map((c) => [c.severity, c.method, c.path, c.rule])).toEqual([
      ['breaking', undefined, undefined, 'base-path-changed'],
      ['breaking', 'GET', '/b', 'response-property-became-optional'],
      ['breaking', 'DELETE', '/b', 'operation-removed'],
      ['deprecation', 'GET', '/a', 'operation-deprecated'],
      ['non-breaking', 'GET', '/a', 'request-parameter-added'],
      ['non-breaking', 'GET', '/c', 'path-added'],
    ]);
  });
});
