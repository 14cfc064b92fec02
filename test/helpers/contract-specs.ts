/**
 * Builds small valid contracts in each flavour (OpenAPI 3.0, 3.1, Swagger 2.0) from one compact description, so a
 * contract-diff case is two short descriptions. Schemas are written once, OpenAPI 3.0 style:
 * - `nullable: true` becomes `type: [t, 'null']` in 3.1 and `x-nullable: true` in Swagger 2.0;
 * - `ref('Name')` points at `schemas` (`#/components/schemas/Name` or `#/definitions/Name`).
 */
export type Flavour = '3.0' | '3.1' | '2.0';
type Schema = Record<string, any>;

export interface ParamDesc {
  name: string;
  in: 'query' | 'header' | 'path' | 'cookie' | 'formData';
  required?: boolean;
  deprecated?: boolean;
  schema?: Schema;
}

export interface ResponseDesc {
  schema?: Schema;
  /** @default ['application/json'] when there is a schema */
  types?: string[];
  headers?: Record<string, Schema>;
}

export interface OpDesc {
  params?: ParamDesc[];
  body?: { schema: Schema; required?: boolean; types?: string[] };
  /** @default { 200: { schema: { type: 'object' } } } */
  responses?: Record<string, ResponseDesc>;
  security?: Array<Record<string, string[]>>;
  deprecated?: boolean;
}

export interface SpecDesc {
  paths: Record<string, Partial<Record<'get' | 'put' | 'post' | 'delete' | 'patch', OpDesc>>>;
  /** Swagger `basePath`; in OpenAPI the path of `servers[0].url`. */
  basePath?: string;
  security?: Array<Record<string, string[]>>;
  /** Security schemes in OpenAPI 3 form; `http basic` maps to Swagger `basic`. */
  schemes?: Record<string, Schema>;
  schemas?: Record<string, Schema>;
}

const REF = '#/$defs/';

/** A reference to `schemas[name]`, rewritten per flavour by {@link spec}. */
export function ref(name: string): Schema {
  return { $ref: `${REF}${name}` };
}

/** An object schema with the given properties, the ones listed in `required` required. */
export function obj(properties: Record<string, Schema>, required: string[] = []): Schema {
  return required.length > 0 ? { type: 'object', required, properties } : { type: 'object', properties };
}

/** The document of the given flavour for `desc`. */
export function spec(flavour: Flavour, desc: SpecDesc): Record<string, unknown> {
  const conv = (s: Schema) => convertSchema(s, flavour);
  const info = { title: 'Contract', version: '1.0.0' };
  const paths: Record<string, unknown> = {};
  for (const [path, ops] of Object.entries(desc.paths)) {
    const item: Record<string, unknown> = {};
    for (const [method, op] of Object.entries(ops))
      item[method] = flavour === '2.0' ? swaggerOp(path, op!, conv) : openApiOp(path, op!, conv);
    paths[path] = item;
  }
  const schemas = Object.fromEntries(Object.entries(desc.schemas ?? {}).map(([n, s]) => [n, conv(s)]));
  if (flavour === '2.0') {
    const definitions = Object.keys(schemas).length > 0 ? { definitions: schemas } : {};
    const securityDefinitions = desc.schemes ? { securityDefinitions: swaggerSchemes(desc.schemes) } : {};
    const security = desc.security ? { security: desc.security } : {};
    return { swagger: '2.0', info, basePath: desc.basePath ?? '/', paths, ...definitions, ...securityDefinitions, ...security };
  }
  const components = {
    ...(Object.keys(schemas).length > 0 ? { schemas } : {}),
    ...(desc.schemes ? { securitySchemes: desc.schemes } : {}),
  };
  return {
    openapi: flavour === '3.0' ? '3.0.3' : '3.1.0',
    info,
    servers: [{ url: `https://api.example.com${desc.basePath ?? ''}` }],
    paths,
    ...(Object.keys(components).length > 0 ? { components } : {}),
    ...(desc.security ? { security: desc.security } : {}),
  };
}

function openApiOp(path: string, op: OpDesc, conv: (s: Schema) => Schema): Record<string, unknown> {
  const params = withPathParams(path, op.params ?? []).map((p) => ({
    name: p.name,
    in: p.in,
    ...(p.required || p.in === 'path' ? { required: true } : {}),
    ...(p.deprecated ? { deprecated: true } : {}),
    schema: conv(p.schema ?? { type: 'string' }),
  }));
  const out: Record<string, unknown> = { responses: {} };
  if (params.length > 0) out.parameters = params;
  if (op.body) {
    const content = Object.fromEntries((op.body.types ?? ['application/json']).map((t) => [t, { schema: conv(op.body!.schema) }]));
    out.requestBody = { ...(op.body.required ? { required: true } : {}), content };
  }
  for (const [status, r] of Object.entries(op.responses ?? { 200: { schema: { type: 'object' } } })) {
    const response: Record<string, unknown> = { description: `status ${status}` };
    if (r.schema) response.content = Object.fromEntries((r.types ?? ['application/json']).map((t) => [t, { schema: conv(r.schema!) }]));
    if (r.headers) response.headers = Object.fromEntries(Object.entries(r.headers).map(([n, s]) => [n, { schema: conv(s) }]));
    (out.responses as Record<string, unknown>)[status] = response;
  }
  if (op.security) out.security = op.security;
  if (op.deprecated) out.deprecated = true;
  return out;
}

function swaggerOp(path: string, op: OpDesc, conv: (s: Schema) => Schema): Record<string, unknown> {
  const params: unknown[] = withPathParams(path, op.params ?? []).map((p) => ({
    name: p.name,
    in: p.in,
    ...(p.required || p.in === 'path' ? { required: true } : {}),
    ...conv(p.schema ?? { type: 'string' }),
  }));
  if (op.body) params.push({ name: 'body', in: 'body', ...(op.body.required ? { required: true } : {}), schema: conv(op.body.schema) });
  const out: Record<string, unknown> = { responses: {} };
  if (params.length > 0) out.parameters = params;
  if (op.body?.types) out.consumes = op.body.types;
  else if (op.params?.some((p) => p.in === 'formData')) out.consumes = ['application/x-www-form-urlencoded'];
  const produces = new Set<string>();
  for (const [status, r] of Object.entries(op.responses ?? { 200: { schema: { type: 'object' } } })) {
    const response: Record<string, unknown> = { description: `status ${status}` };
    if (r.schema) response.schema = conv(r.schema);
    for (const t of r.schema ? (r.types ?? ['application/json']) : []) produces.add(t);
    if (r.headers) response.headers = Object.fromEntries(Object.entries(r.headers).map(([n, s]) => [n, conv(s)]));
    (out.responses as Record<string, unknown>)[status] = response;
  }
  if (produces.size > 0) out.produces = [...produces];
  if (op.security) out.security = op.security;
  if (op.deprecated) out.deprecated = true;
  return out;
}

function withPathParams(path: string, params: ParamDesc[]): ParamDesc[] {
  const declared = new Set(params.filter((p) => p.in === 'path').map((p) => p.name));
  const implicit = [...path.matchAll(/\{([^}]*)\}/g)].filter((m) => !declared.has(m[1])).map((m) => ({ name: m[1], in: 'path' as const }));
  return [...implicit, ...params];
}

function swaggerSchemes(schemes: Record<string, Schema>): Record<string, Schema> {
  return Object.fromEntries(
    Object.entries(schemes).map(([name, s]) => {
      if (s.type === 'http' && s.scheme === 'basic') return [name, { type: 'basic' }];
      if (s.type === 'oauth2') {
        const flow = s.flows.clientCredentials;
        return [name, { type: 'oauth2', flow: 'application', tokenUrl: flow.tokenUrl, scopes: flow.scopes }];
      }
      return [name, s];
    }),
  );
}

/** Rewrites `nullable` and `ref()` for the flavour, deeply. */
function convertSchema(schema: Schema, flavour: Flavour): Schema {
  if (Array.isArray(schema)) return schema.map((s) => convertSchema(s, flavour));
  if (!schema || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref') out.$ref = String(value).replace(REF, flavour === '2.0' ? '#/definitions/' : '#/components/schemas/');
    else if (key === 'nullable' && flavour !== '3.0') {
      if (flavour === '2.0') out['x-nullable'] = value;
      else if (value === true) out.type = [schema.type, 'null'];
    } else if (key === 'type' && flavour === '3.1' && schema.nullable === true) out.type ??= [value, 'null'];
    else if (key === 'properties' || key === 'definitions') {
      out[key] = Object.fromEntries(Object.entries(value as Schema).map(([n, s]) => [n, convertSchema(s, flavour)]));
    } else out[key] = typeof value === 'object' ? convertSchema(value, flavour) : value;
  }
  return out;
}
