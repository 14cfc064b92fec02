import { ValidationError } from '../errors.js';
import type { HttpMethod } from '../http-methods.js';
import { type ApiRoute, basePathOf, type BasePathMode, routePrefix } from '../openapi.js';
import { type CorsConfig, corsGatewayResponses, preflightOperation } from './api-gateway-cors.js';
import { parseTarget, type Target } from './integration-target.js';

/**
 * Turns a service's OpenAPI contract into the document Launchway imports into its API Gateway REST API with
 * PutRestApi: the same routes, each an `http_proxy` integration to the production target, plus the API key
 * requirement the catalog asks for. Pure: no I/O, the input is never modified.
 *
 * The output is built from scratch rather than by decorating the input, for two reasons:
 * - The catalog decides how the gateway behaves, not the release input. Integrations, authorizers, security schemes
 *   or any other `x-amazon-apigateway-*` extension in the service's own contract are not carried over, so a contract
 *   cannot point the partner API at another backend or switch its key check off.
 * - API Gateway imports with `failOnWarnings` reject a lot of valid OpenAPI (model names that are not alphanumeric,
 *   `discriminator`, `int32`/`int64` formats, primitive response schemas, `$ref` responses, cookie parameters, 3.1
 *   type arrays...). The gateway is a proxy that checks routes and keys, like the embedded gateway, and validates no
 *   bodies, so schemas, request bodies and examples add nothing there but import failures: they are left out and the
 *   service keeps validating its own input.
 *
 * What is kept: every operation (method + path template) with its operationId, summary and description; path,
 * query and header parameters with name, `required` and a primitive type (the attributes API Gateway reads);
 * response status codes with their descriptions.
 *
 * The contract's base path goes in `servers` as the `basePath` variable API Gateway's import reads, and PutRestApi's
 * `basepath` parameter (the catalog's `interop.basePath`) decides what partners see of it; each integration URI
 * sends the target the same prefix partners called ({@link routePrefix}), as the local gateway does. With
 * `interop.cors`, every path gets a MOCK `OPTIONS` preflight (unless the contract declares OPTIONS there) and the
 * gateway's own error responses carry Allow-Origin (api-gateway-cors.ts). An `http_proxy` integration returns the
 * target's response as it is, so on AWS the Allow-Origin of a proxied response is the service's own.
 */

/** Name of the security scheme that requires `x-api-key` on every operation when the catalog asks for keys. */
export const API_KEY_SCHEME = 'api_key';
/** API Gateway's maximum integration timeout for REST APIs; the embedded gateway uses the same bound. */
export const INTEGRATION_TIMEOUT_MS = 29_000;
/** OpenAPI version of the imported document: API Gateway imports 3.0 (and Swagger 2.0), not 3.1. */
export const IMPORTED_OPENAPI_VERSION = '3.0.1';

/** Methods API Gateway REST APIs can declare. TRACE is valid OpenAPI but API Gateway has no such method. */
const GATEWAY_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH'] as const satisfies readonly HttpMethod[];
/** The lower-case operation keys of a path item, in the order the specification lists them. */
const HTTP_METHOD_KEYS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** API Gateway's rule for a literal path part: letters, digits, hyphens, periods, commas and colons. */
const LITERAL_SEGMENT = /^[A-Za-z0-9._,:-]+$/;
/** A whole-segment parameter, `{name}`, or a greedy final one, `{name+}`. */
const PARAM_SEGMENT = /^\{([A-Za-z0-9_-]+)(\+)?\}$/;
const PRIMITIVE_TYPES = new Set(['string', 'number', 'integer', 'boolean']);
/** Deepest chain of `$ref` to `$ref` followed before giving up; a longer one is a cycle in practice. */
const MAX_REF_HOPS = 32;

export interface ApiGatewayImportOptions {
  /** The REST API's name. PutRestApi renames the API after `info.title`, so the document carries this name. */
  apiName: string;
  /** Base URL of the production target; every operation proxies to it with its own path appended. */
  targetUrl: string;
  /** Require `x-api-key` on every operation (the catalog's `interop.apiKeyRequired`). */
  apiKeyRequired: boolean;
  /** The catalog's `interop.basePath`. @default 'prepend' */
  basePathMode?: BasePathMode;
  /** The catalog's `interop.cors`; absent: no preflight, no CORS headers. */
  cors?: CorsConfig;
}

export interface ApiGatewayImport {
  /** The OpenAPI 3.0 document to send as the PutRestApi body. */
  document: Record<string, unknown>;
  /** Every published operation, in document order: what `routeCount` counts (preflights are not counted). */
  routes: ApiRoute[];
  /** PutRestApi's `basepath` parameter. */
  basePathMode: BasePathMode;
}

type Json = Record<string, unknown>;

/**
 * Builds the API Gateway import document for a contract already validated by `validateOpenApiDocument`
 * (OpenAPI 3.0, 3.1 or Swagger 2.0; internal `$ref` only).
 *
 * @throws ValidationError naming the path or field API Gateway could not import, under `fields['spec.<where>']`.
 */
export function toApiGatewayOpenApi(spec: Record<string, unknown>, options: ApiGatewayImportOptions): ApiGatewayImport {
  const version = specVersion(spec);
  const target = parseTarget(options.targetUrl);
  const resolve = resolverFor(spec);
  const basePathMode = options.basePathMode ?? 'prepend';
  const basePath = basePathOf(spec, 'spec');
  const prefix = routePrefix(basePath, basePathMode);
  for (const part of prefix.split('/').slice(1)) {
    if (!LITERAL_SEGMENT.test(part)) {
      throw invalid(basePathField(spec), `the base path "${basePath}" has a segment "${part}" API Gateway does not allow in a path`);
    }
  }
  const paths = spec.paths;
  if (!isObject(paths)) throw invalid('paths', 'expected an object of path items');

  const outPaths: Json = {};
  const routes: ApiRoute[] = [];
  const tree = new SegmentTree();
  for (const [template, rawItem] of Object.entries(paths)) {
    // `x-` keys under paths are specification extensions, not paths.
    if (template.startsWith('x-')) continue;
    const segments = parseTemplate(template);
    tree.add(template, segments);
    const item = resolve(rawItem, `paths.${template}`);
    const pathParams = asArray(item.parameters);
    const outItem: Json = {};
    for (const method of HTTP_METHOD_KEYS) {
      const rawOp = item[method];
      if (rawOp === undefined) continue;
      const upper = method.toUpperCase() as HttpMethod;
      if (!(GATEWAY_METHODS as readonly string[]).includes(upper)) {
        throw invalid(
          `paths.${template}.${method}`,
          `API Gateway REST APIs have no ${upper} method (allowed: ${GATEWAY_METHODS.join(', ')})`,
        );
      }
      const op = resolve(rawOp, `paths.${template}.${method}`);
      outItem[method] = operation(op, {
        method: upper,
        template,
        segments,
        params: [...pathParams, ...asArray(op.parameters)],
        target,
        prefix,
        version,
        resolve,
        apiKeyRequired: options.apiKeyRequired,
      });
      routes.push({ method: upper, path: template });
    }
    const methods = Object.keys(outItem).map((m) => m.toUpperCase());
    if (options.cors && methods.length > 0 && !outItem.options) {
      const pathParams = segments.flatMap((s) =>
        s.kind === 'param' ? [{ name: s.name, in: 'path', required: true, schema: { type: 'string' } }] : [],
      );
      outItem.options = preflightOperation(options.cors, methods, pathParams);
    }
    if (Object.keys(outItem).length > 0) outPaths[template] = outItem;
  }
  if (routes.length === 0) throw invalid('paths', 'expected at least one operation to publish');

  const info = isObject(spec.info) ? spec.info : {};
  const title = typeof info.title === 'string' && info.title.trim() !== '' ? info.title.trim() : options.apiName;
  const document: Json = {
    openapi: IMPORTED_OPENAPI_VERSION,
    info: {
      title: options.apiName,
      version: String(info.version ?? '0'),
      description: `${title}: partner-facing contract published by Launchway. Routes proxy to the service's production target.`,
    },
    ...(basePath ? { servers: [{ url: '/{basePath}', variables: { basePath: { default: basePath.slice(1) } } }] } : {}),
    paths: outPaths,
    // The gateway only proxies: treat every payload as binary so API Gateway passes bytes through untouched in
    // both directions instead of re-encoding them as text, as the embedded gateway does.
    'x-amazon-apigateway-binary-media-types': ['*/*'],
  };
  if (options.apiKeyRequired) {
    document.components = { securitySchemes: { [API_KEY_SCHEME]: { type: 'apiKey', name: 'x-api-key', in: 'header' } } };
    document['x-amazon-apigateway-api-key-source'] = 'HEADER';
  }
  const gatewayResponses = options.cors && corsGatewayResponses(options.cors);
  if (gatewayResponses) document['x-amazon-apigateway-gateway-responses'] = gatewayResponses;
  return { document, routes, basePathMode };
}

type SpecVersion = '2.0' | '3.0' | '3.1';

function specVersion(spec: Json): SpecVersion {
  if (typeof spec.swagger === 'string') {
    if (spec.swagger === '2.0') return '2.0';
    throw invalid('swagger', `Swagger ${spec.swagger} is not supported; expected 2.0 or OpenAPI 3.0/3.1`);
  }
  const v = spec.openapi;
  if (typeof v === 'string' && /^3\.0\.\d+$/.test(v)) return '3.0';
  if (typeof v === 'string' && /^3\.1\.\d+$/.test(v)) return '3.1';
  throw invalid(
    'openapi',
    `OpenAPI ${String(v)} is not supported; Launchway publishes OpenAPI 3.0 and 3.1 (converted to 3.0) and Swagger 2.0`,
  );
}

type Segment = { kind: 'literal'; value: string } | { kind: 'param'; name: string; greedy: boolean };

/** Parses a path template into the resource path parts API Gateway accepts, or says which part it would reject. */
function parseTemplate(template: string): Segment[] {
  const where = `paths.${template}`;
  if (!template.startsWith('/')) throw invalid(where, `"${template}" must start with "/"`);
  if (template === '/') return [];
  const parts = template.slice(1).split('/');
  return parts.map((part, i): Segment => {
    if (part === '') throw invalid(where, `"${template}" has an empty segment (API Gateway resources cannot end in "/" or contain "//")`);
    const param = PARAM_SEGMENT.exec(part);
    if (param) {
      const greedy = param[2] === '+';
      if (greedy && i !== parts.length - 1) throw invalid(where, `"${template}": a greedy {${param[1]}+} must be the last segment`);
      return { kind: 'param', name: param[1], greedy };
    }
    if (part.includes('{') || part.includes('}')) {
      throw invalid(
        where,
        `"${template}": segment "${part}" mixes text and a parameter, which API Gateway does not support (a parameter must be a whole segment)`,
      );
    }
    if (!LITERAL_SEGMENT.test(part)) {
      throw invalid(
        where,
        `"${template}": segment "${part}" has characters API Gateway does not allow in a path (letters, digits, - . , : only)`,
      );
    }
    return { kind: 'literal', value: part };
  });
}

/**
 * The resource tree API Gateway builds from the paths. Two templates that put differently named parameters (or a
 * parameter and a greedy one) at the same position would be sibling variable resources, which API Gateway refuses.
 */
class SegmentTree {
  private readonly root: TreeNode = { literals: new Map() };

  add(template: string, segments: Segment[]): void {
    let node = this.root;
    segments.forEach((seg, i) => {
      if (seg.kind === 'literal') {
        let next = node.literals.get(seg.value);
        if (!next) node.literals.set(seg.value, (next = { literals: new Map() }));
        node = next;
        return;
      }
      const label = `{${seg.name}${seg.greedy ? '+' : ''}}`;
      if (!node.variable) node.variable = { label, template, node: { literals: new Map() } };
      else if (node.variable.label !== label) {
        throw invalid(
          `paths.${template}`,
          `"${template}" has ${label} at segment ${i + 1} where "${node.variable.template}" has ${node.variable.label}; API Gateway allows one parameter name per position`,
        );
      }
      node = node.variable.node;
    });
  }
}
interface TreeNode {
  literals: Map<string, TreeNode>;
  variable?: { label: string; template: string; node: TreeNode };
}

interface OperationContext {
  method: HttpMethod;
  template: string;
  segments: Segment[];
  params: unknown[];
  target: Target;
  /** What partners keep of the base path, sent on to the target too. */
  prefix: string;
  version: SpecVersion;
  resolve: Resolver;
  apiKeyRequired: boolean;
}

function operation(op: Json, ctx: OperationContext): Json {
  const where = `paths.${ctx.template}.${ctx.method.toLowerCase()}`;
  const out: Json = {};
  if (typeof op.operationId === 'string') out.operationId = op.operationId;
  if (typeof op.summary === 'string') out.summary = op.summary;
  if (typeof op.description === 'string') out.description = op.description;

  // Operation-level parameters override path-level ones with the same name and location.
  const declared = new Map<string, Json>();
  ctx.params.forEach((raw, i) => {
    const p = ctx.resolve(raw, `${where}.parameters[${i}]`);
    if (typeof p.name === 'string' && typeof p.in === 'string') declared.set(`${p.in}:${p.name}`, p);
  });

  const pathParams = ctx.segments.flatMap((s) => (s.kind === 'param' ? [s.name] : []));
  const parameters: Json[] = pathParams.map((name) => {
    const p = declared.get(`path:${name}`);
    // Path parameters come from the template itself: API Gateway needs each one declared on the method before the
    // integration may map it, and a path parameter is always a required string segment.
    return { name, in: 'path', required: true, ...describedBy(p), schema: { type: 'string' } };
  });
  for (const p of declared.values()) {
    // Cookie parameters do not exist in API Gateway; Swagger 2.0 body and formData are the payload, which the proxy
    // passes through untouched. None of them affects routing.
    if (p.in !== 'query' && p.in !== 'header') continue;
    parameters.push({
      name: p.name,
      in: p.in,
      required: p.required === true,
      ...describedBy(p),
      schema: { type: primitiveType(p, ctx.version) },
    });
  }
  if (parameters.length > 0) out.parameters = parameters;

  out.responses = responses(op, `${where}.responses`, ctx.resolve);
  if (ctx.apiKeyRequired) out.security = [{ [API_KEY_SCHEME]: [] }];

  // A greedy {name+} is a plain {name} in the integration URI and in the mapping expressions.
  const path = ctx.segments.map((s) => (s.kind === 'literal' ? `/${s.value}` : `/{${s.name}}`)).join('');
  out['x-amazon-apigateway-integration'] = {
    type: 'http_proxy',
    httpMethod: ctx.method,
    // The root under a prefix is the prefix itself (`/api`), as the local gateway sends it.
    uri: `${ctx.target.base}${ctx.prefix}${path || (ctx.prefix ? '' : '/')}`,
    ...(pathParams.length > 0
      ? { requestParameters: Object.fromEntries(pathParams.map((n) => [`integration.request.path.${n}`, `method.request.path.${n}`])) }
      : {}),
    passthroughBehavior: 'when_no_match',
    connectionType: 'INTERNET',
    timeoutInMillis: INTEGRATION_TIMEOUT_MS,
  };
  return out;
}

function describedBy(p: Json | undefined): Json {
  return typeof p?.description === 'string' ? { description: p.description } : {};
}

/**
 * The primitive type of a query or header parameter. OpenAPI 3.1 may write `type: ['integer', 'null']`, which 3.0
 * cannot express: the first non-null type is kept (nullability means nothing for a query string). Arrays, objects and
 * untyped parameters become strings, which is what API Gateway hands the proxy anyway.
 */
function primitiveType(p: Json, version: SpecVersion): string {
  const schema = version === '2.0' ? p : isObject(p.schema) ? p.schema : {};
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const first = types.find((t): t is string => typeof t === 'string' && t !== 'null');
  return first && PRIMITIVE_TYPES.has(first) ? first : 'string';
}

/**
 * Status codes and descriptions only. An http_proxy integration returns the target's response as it is, so method
 * responses are documentation; ranges (`2XX`) and `default` are not status codes API Gateway can declare.
 */
function responses(op: Json, where: string, resolve: Resolver): Json {
  const out: Json = {};
  const declared = isObject(op.responses) ? op.responses : {};
  for (const [code, raw] of Object.entries(declared)) {
    if (!/^[1-5]\d\d$/.test(code)) continue;
    const r = resolve(raw, `${where}.${code}`);
    out[code] = { description: typeof r.description === 'string' ? r.description : '' };
  }
  if (Object.keys(out).length === 0) out['200'] = { description: 'The service response, proxied as it is.' };
  return out;
}

type Resolver = (node: unknown, where: string) => Json;

/** Follows internal `#/...` references in `spec`, so parameters, responses and path items may be `$ref`s. */
function resolverFor(spec: Json): Resolver {
  return (node, where) => {
    let current = node;
    for (let hops = 0; isObject(current) && typeof current.$ref === 'string'; hops++) {
      const ref = current.$ref;
      if (hops === MAX_REF_HOPS) throw invalid(where, `"${ref}" is part of a $ref cycle`);
      if (!ref.startsWith('#/')) throw invalid(where, `"${ref}" is not a reference inside the document; bundle the spec first`);
      current = ref
        .slice(2)
        .split('/')
        .map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'))
        .reduce<unknown>((at, key) => (isObject(at) ? at[key] : undefined), spec);
      if (current === undefined) throw invalid(where, `"${ref}" does not point at anything in the document`);
    }
    if (!isObject(current)) throw invalid(where, 'expected an object');
    return current;
  };
}

function basePathField(spec: Json): string {
  return 'swagger' in spec ? 'basePath' : 'servers[0].url';
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function invalid(where: string, reason: string): ValidationError {
  const field = `spec.${where}`;
  return new ValidationError(`the contract cannot be published on API Gateway: ${field}: ${reason}`, { [field]: reason });
}
