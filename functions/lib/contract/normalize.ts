import { HTTP_METHODS, type HttpMethod } from '../http-methods.js';
import { basePathOf } from '../openapi.js';

/** A JSON Schema object as a resolved contract holds it (any flavour: Swagger 2.0, OpenAPI 3.0 or 3.1). */
export type Schema = Record<string, unknown>;

/** What a contract promises partners, in one shape for Swagger 2.0 and OpenAPI 3.0/3.1. */
export interface Contract {
  /** The path every route is served under (`basePathOf` in openapi.ts), `/` when there is none. */
  basePath: string;
  /** Keyed by {@link operationKey}, so `/items/{id}` and `/items/{itemId}` are the same route. */
  operations: Map<string, Operation>;
}

export interface Operation {
  method: HttpMethod;
  path: string;
  deprecated: boolean;
  /** Keyed `query limit`, `header x-tenant` (lower case), `cookie c`, or `path #0` (by position in the template). */
  parameters: Map<string, Parameter>;
  body?: RequestBody;
  /** Keyed by status code as written (`200`, `4XX`, `default`). */
  responses: Map<string, Response>;
  /** Accepted ways to authenticate, each a canonical string; `anonymous` when calling without credentials is allowed. */
  security: string[];
}

export interface Parameter {
  in: string;
  name: string;
  required: boolean;
  deprecated: boolean;
  schema?: Schema;
}

export interface RequestBody {
  required: boolean;
  /** Media type (lower case) → schema. */
  content: Map<string, Schema | undefined>;
}

export interface Response {
  content: Map<string, Schema | undefined>;
  /** Header name (lower case) → schema. */
  headers: Map<string, Schema | undefined>;
}

type Obj = Record<string, unknown>;

/** Identifies a route independently of path parameter names. */
function operationKey(method: string, path: string): string {
  return `${method} ${path.replace(/\{[^}]*\}/g, '{}')}`;
}

/**
 * Reads a contract whose `$ref`s are already resolved (see `resolveOpenApiDocument`) into the internal shape:
 * Swagger `body`/`formData` parameters become the request body, `produces`/`consumes` become media types,
 * `securityDefinitions` and `components.securitySchemes` become readable requirement strings.
 */
export function normalizeContract(doc: Obj): Contract {
  const swagger = 'swagger' in doc;
  const schemes = obj(swagger ? doc.securityDefinitions : obj(doc.components).securitySchemes);
  const operations = new Map<string, Operation>();
  for (const [path, rawItem] of Object.entries(obj(doc.paths))) {
    const item = obj(rawItem);
    for (const method of HTTP_METHODS) {
      const op = item[method.toLowerCase()];
      if (!op || typeof op !== 'object') continue;
      const read = swagger ? swaggerOperation(doc, item, obj(op), path) : openApiOperation(item, obj(op), path);
      operations.set(operationKey(method, path), {
        method,
        path,
        deprecated: obj(op).deprecated === true,
        ...read,
        security: securityOf(obj(op).security ?? doc.security, schemes),
      });
    }
  }
  return { basePath: basePathOf(doc) || '/', operations };
}

type OperationParts = Pick<Operation, 'parameters' | 'body' | 'responses'>;

function openApiOperation(item: Obj, op: Obj, path: string): OperationParts {
  const parameters = new Map<string, Parameter>();
  for (const raw of mergedParameters(item, op)) {
    const p = obj(raw);
    const place = String(p.in);
    const name = String(p.name);
    if (place === 'header' && ['accept', 'content-type', 'authorization'].includes(name.toLowerCase())) continue;
    const schema = p.schema ? obj(p.schema) : firstSchema(p.content);
    parameters.set(parameterKey(place, name, path), {
      in: place,
      name,
      required: p.required === true,
      deprecated: p.deprecated === true,
      schema,
    });
  }
  const rb = op.requestBody ? obj(op.requestBody) : undefined;
  const body = rb ? { required: rb.required === true, content: contentOf(rb.content) } : undefined;
  const responses = new Map<string, Response>();
  for (const [status, raw] of Object.entries(obj(op.responses))) {
    const r = obj(raw);
    const headers = new Map<string, Schema | undefined>();
    for (const [name, h] of Object.entries(obj(r.headers))) headers.set(name.toLowerCase(), obj(h).schema ? obj(obj(h).schema) : undefined);
    responses.set(status, { content: contentOf(r.content), headers });
  }
  return { parameters, body, responses };
}

/** Swagger-only parameter fields that are not part of the value's schema. */
const SWAGGER_PARAMETER_META = new Set(['name', 'in', 'required', 'description', 'deprecated', 'allowEmptyValue', 'collectionFormat']);

function swaggerOperation(doc: Obj, item: Obj, op: Obj, path: string): OperationParts {
  const consumes = list(op.consumes ?? doc.consumes, ['application/json']);
  const produces = list(op.produces ?? doc.produces, ['application/json']);
  const parameters = new Map<string, Parameter>();
  let body: RequestBody | undefined;
  const form: { properties: Obj; required: string[]; file: boolean } = { properties: {}, required: [], file: false };
  for (const raw of mergedParameters(item, op)) {
    const p = obj(raw);
    const name = String(p.name);
    const schema = Object.fromEntries(Object.entries(p).filter(([k]) => !SWAGGER_PARAMETER_META.has(k)));
    if (p.in === 'body') {
      const content = new Map(consumes.map((type) => [type, obj(p.schema)] as const));
      body = { required: p.required === true, content };
    } else if (p.in === 'formData') {
      form.properties[name] = schema;
      if (p.required === true) form.required.push(name);
      form.file ||= p.type === 'file';
    } else {
      const place = String(p.in);
      parameters.set(parameterKey(place, name, path), {
        in: place,
        name,
        required: p.required === true,
        deprecated: p.deprecated === true,
        schema,
      });
    }
  }
  if (Object.keys(form.properties).length > 0) {
    const formTypes = consumes.filter((t) => t === 'multipart/form-data' || t === 'application/x-www-form-urlencoded');
    const types = formTypes.length > 0 ? formTypes : [form.file ? 'multipart/form-data' : 'application/x-www-form-urlencoded'];
    const schema: Schema = { type: 'object', properties: form.properties, required: form.required };
    body = { required: form.required.length > 0, content: new Map(types.map((t) => [t, schema] as const)) };
  }
  const responses = new Map<string, Response>();
  for (const [status, raw] of Object.entries(obj(op.responses))) {
    const r = obj(raw);
    // Swagger declares media types per operation; a response without a schema has no body to type.
    const content = new Map<string, Schema | undefined>(r.schema ? produces.map((t) => [t, obj(r.schema)] as const) : []);
    const headers = new Map<string, Schema | undefined>(Object.entries(obj(r.headers)).map(([n, h]) => [n.toLowerCase(), obj(h)] as const));
    responses.set(status, { content, headers });
  }
  return { parameters, body, responses };
}

/** Path-level parameters apply to every operation unless the operation redefines the same name and location. */
function mergedParameters(item: Obj, op: Obj): unknown[] {
  const own = Array.isArray(op.parameters) ? op.parameters : [];
  const ownKeys = new Set(own.map((p) => `${obj(p).in} ${obj(p).name}`));
  const shared = (Array.isArray(item.parameters) ? item.parameters : []).filter((p) => !ownKeys.has(`${obj(p).in} ${obj(p).name}`));
  return [...shared, ...own];
}

function parameterKey(place: string, name: string, path: string): string {
  if (place === 'header') return `header ${name.toLowerCase()}`;
  if (place !== 'path') return `${place} ${name}`;
  // A renamed path parameter is the same parameter to partners: they only fill in a position of the URL.
  const position = [...path.matchAll(/\{([^}]*)\}/g)].findIndex((m) => m[1] === name);
  return position >= 0 ? `path #${position}` : `path ${name}`;
}

function contentOf(content: unknown): Map<string, Schema | undefined> {
  return new Map(
    Object.entries(obj(content)).map(
      ([type, media]) => [type.toLowerCase(), obj(media).schema ? obj(obj(media).schema) : undefined] as const,
    ),
  );
}

function firstSchema(content: unknown): Schema | undefined {
  return [...contentOf(content).values()][0];
}

/** Requirements as readable strings, independent of the names schemes have in the document. */
function securityOf(requirements: unknown, schemes: Obj): string[] {
  if (!Array.isArray(requirements)) return [];
  const alternatives = requirements.map((req) => {
    const parts = Object.entries(obj(req)).map(([name, scopes]) =>
      describeScheme(obj(schemes[name]), name, Array.isArray(scopes) ? scopes : []),
    );
    return parts.length === 0 ? 'anonymous' : parts.sort().join(' + ');
  });
  return [...new Set(alternatives)].sort();
}

function describeScheme(scheme: Obj, name: string, scopes: unknown[]): string {
  const scoped = scopes.length > 0 ? ` with scopes ${[...scopes].map(String).sort().join(', ')}` : '';
  switch (scheme.type) {
    case 'apiKey':
      return `API key in ${scheme.in} ${scheme.name}`;
    case 'basic':
      return 'HTTP basic';
    case 'http':
      return `HTTP ${String(scheme.scheme ?? '').toLowerCase()}`;
    case 'oauth2':
      return `OAuth 2${scoped}`;
    case 'openIdConnect':
      return `OpenID Connect ${scheme.openIdConnectUrl}${scoped}`;
    default:
      return `${name}${scoped}`;
  }
}

/** Path part of the first server URL, with variables at their defaults; `/` when there is none. */
function list(value: unknown, fallback: string[]): string[] {
  return Array.isArray(value) && value.length > 0 ? value.map((v) => String(v).toLowerCase()) : fallback;
}

function obj(value: unknown): Obj {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : {};
}
