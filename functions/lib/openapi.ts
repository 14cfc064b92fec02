import SwaggerParser from '@apidevtools/swagger-parser';
import { parseDocument } from 'yaml';
import { ValidationError } from './errors.js';
import { HTTP_METHODS, type HttpMethod } from './http-methods.js';

/** One operation the contract declares: an upper-case method and an OpenAPI path template such as `/greetings/{name}`. */
export interface ApiRoute {
  method: HttpMethod;
  path: string;
}

/** A validated contract and the routes the interop layer publishes from it. */
export interface ParsedOpenApi {
  /** The document as written (references not resolved), so it stays plain JSON. */
  document: Record<string, unknown>;
  /** Every declared operation, in document order; paths are relative to {@link basePath}. */
  routes: ApiRoute[];
  /** The path every route is served under (see {@link basePathOf}): `/api`, or `''` when there is none. */
  basePath: string;
  title: string;
  /** `info.version` of the contract (not necessarily the release version). */
  version: string;
}

/** How many schema problems one error message lists; Ajv reports every alternative of a `oneOf`, most are noise. */
const MAX_REPORTED_PROBLEMS = 3;

/**
 * Parses an OpenAPI contract written in YAML or JSON (YAML is a superset of JSON, so one parser reads both) and
 * validates it with swagger-parser: OpenAPI 3.0, 3.1 and Swagger 2.0 are accepted. A contract must declare at least
 * one operation, because the gateway publishes nothing else.
 *
 * @param field names the input in the error, e.g. `artifacts.openapi`.
 * @throws ValidationError with `fields[field]` saying exactly what is wrong.
 */
export async function parseOpenApi(text: string, field = 'artifacts.openapi'): Promise<ParsedOpenApi> {
  if (text.trim() === '') throw invalid(field, 'expected an OpenAPI document, got an empty file');
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const where = first.linePos?.[0];
    // prettyErrors appends the position and a code frame to the message; we state the position ourselves.
    const reason = first.message.split(' at line ')[0].split('\n')[0];
    throw invalid(
      field,
      where ? `YAML does not parse at line ${where.line}, column ${where.col}: ${reason}` : `YAML does not parse: ${reason}`,
    );
  }
  return validateOpenApiDocument(doc.toJS(), field);
}

/**
 * Validates an already-parsed contract (for instance the `spec` an InteropRequest carries) and lists its routes.
 * The input is never modified: swagger-parser dereferences in place, so it works on a deep copy.
 *
 * @throws ValidationError with `fields[field]` saying exactly what is wrong.
 */
export async function validateOpenApiDocument(input: unknown, field = 'artifacts.openapi'): Promise<ParsedOpenApi> {
  const { document, resolved } = await validateAndResolve(input, field);
  const routes = routesOf(resolved.paths as Record<string, unknown>);
  if (routes.length === 0) throw invalid(field, `expected at least one path with an operation (${HTTP_METHODS.join(', ').toLowerCase()})`);
  const basePath = basePathOf(document, field);
  const info = (resolved.info ?? {}) as { title?: unknown; version?: unknown };
  return { document, routes, basePath, title: String(info.title ?? ''), version: String(info.version ?? '') };
}

/** What the catalog's `interop.basePath` does with the contract's base path, as API Gateway's import `basepath`. */
export type BasePathMode = 'prepend' | 'ignore' | 'split';

/**
 * The contract's base path: the path of OpenAPI 3's `servers[0].url` (absolute or relative, `{variables}` replaced
 * by their `default`), or Swagger 2.0's `basePath`. `''` when there is none or it is `/`; otherwise it starts with
 * `/` and has no trailing slash. Segments are kept as written (percent-encoded), as they appear in a URL.
 *
 * @throws ValidationError naming `<field>.servers[0].url` (or `.basePath`) when it is not a usable path.
 */
export function basePathOf(document: Record<string, unknown>, field = 'artifacts.openapi'): string {
  let path: string;
  let at: string;
  if ('swagger' in document) {
    at = 'basePath';
    path = typeof document.basePath === 'string' ? document.basePath : '/';
  } else {
    at = 'servers[0].url';
    const servers = Array.isArray(document.servers) ? document.servers : [];
    const first = (servers[0] ?? {}) as { url?: unknown; variables?: Record<string, { default?: unknown }> };
    const url = typeof first.url === 'string' ? first.url : '/';
    const filled = url.replace(/\{([^}]*)\}/g, (_, name: string) => {
      const value = first.variables?.[name]?.default;
      if (value === undefined) throw invalid(field, `${at} uses {${name}}, which servers[0].variables does not declare with a default`);
      return String(value);
    });
    // Drop the scheme and authority (`https://host:8080`) or a scheme-relative `//host`; keep the path only.
    path = filled.replace(/^([a-z][a-z0-9+.-]*:)?\/\/[^/?#]*/i, '').replace(/[?#].*$/, '');
  }
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') return '';
  const withSlash = trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
  const segments = withSlash.slice(1).split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw invalid(field, `${at}: base path "${withSlash}" has an empty, "." or ".." segment`);
  }
  const odd = segments.find((s) => !BASE_PATH_SEGMENT.test(s));
  if (odd !== undefined) {
    throw invalid(field, `${at}: base path segment "${odd}" has a space, "{", "}", "?" or "#"; percent-encode it or leave it out`);
  }
  return withSlash;
}

/**
 * What one base path segment may hold, here and in the local gateway's state (local/gateway-state.ts), so a base path
 * Prepare accepts is one the gateway can serve: no whitespace, braces, `?` or `#`.
 */
export const BASE_PATH_SEGMENT = /^[^/{}?#\s]+$/;

/**
 * The part of the base path that stays in partners' URLs and in the path the service receives (the two are the same
 * in every mode): all of it under `prepend`, none under `ignore`, all but its first segment under `split` (API
 * Gateway takes that segment to be the stage).
 */
export function routePrefix(basePath: string, mode: BasePathMode): string {
  if (mode === 'ignore' || basePath === '') return '';
  if (mode === 'prepend') return basePath;
  const rest = basePath.split('/').slice(2);
  return rest.length === 0 ? '' : `/${rest.join('/')}`;
}

/**
 * Validates a contract like {@link validateOpenApiDocument} and returns a copy with every internal `$ref` replaced by
 * what it points to, for code that reads schemas (the contract diff). Recursive schemas stay recursive: the result
 * may contain object cycles, so it is not JSON and must not be stored.
 *
 * @throws ValidationError with `fields[field]` saying exactly what is wrong.
 */
export async function resolveOpenApiDocument(input: unknown, field = 'artifacts.openapi'): Promise<Record<string, unknown>> {
  return (await validateAndResolve(input, field)).resolved;
}

async function validateAndResolve(
  input: unknown,
  field: string,
): Promise<{ document: Record<string, unknown>; resolved: Record<string, unknown> }> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalid(field, `expected an OpenAPI document (a YAML or JSON object), got ${describe(input)}`);
  }
  const document = input as Record<string, unknown>;
  const kind = 'swagger' in document ? 'a Swagger 2.0 document' : 'an OpenAPI 3 document';
  if (!('openapi' in document) && !('swagger' in document)) {
    throw invalid(field, 'expected an OpenAPI 3 document: openapi is required (for example "3.0.3")');
  }
  const external = findExternalRef(document, '');
  if (external) {
    // Resolving it would read local files or fetch URLs named by the release input; contracts must be bundled.
    throw invalid(
      field,
      `${kind}: ${external.at} refers to "${external.ref}"; only references inside the document (#/...) are supported, bundle the spec first`,
    );
  }
  const paths = document.paths;
  if (paths === undefined || paths === null) throw invalid(field, `expected at least one path: ${kind} without paths publishes nothing`);
  if (typeof paths !== 'object' || Array.isArray(paths))
    throw invalid(field, `${kind}: paths must be an object of path items, got ${describe(paths)}`);
  if (Object.keys(paths).length === 0) throw invalid(field, 'expected at least one path: paths is empty');

  let resolved: Record<string, unknown>;
  try {
    resolved = (await SwaggerParser.validate(
      structuredClone(document) as never,
      {
        resolve: { external: false },
      } as SwaggerParser.Options,
    )) as unknown as Record<string, unknown>;
  } catch (err) {
    throw invalid(field, `expected ${kind}: ${describeParserError(err)}`, err);
  }

  return { document, resolved };
}

/** Lists the operations under `paths`, one route per method. */
function routesOf(paths: Record<string, unknown>): ApiRoute[] {
  const routes: ApiRoute[] = [];
  for (const [path, item] of Object.entries(paths)) {
    if (!item || typeof item !== 'object') continue;
    for (const method of HTTP_METHODS) {
      if ((item as Record<string, unknown>)[method.toLowerCase()]) routes.push({ method, path });
    }
  }
  return routes;
}

function invalid(field: string, reason: string, cause?: unknown): ValidationError {
  return new ValidationError(`${field} is not a valid OpenAPI contract: ${reason}`, { [field]: reason }, { cause });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Finds the first `$ref` that does not point inside the document. */
function findExternalRef(node: unknown, at: string): { at: string; ref: string } | undefined {
  if (!node || typeof node !== 'object') return undefined;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const found = findExternalRef(node[i], `${at}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, value] of Object.entries(node)) {
    const here = at ? `${at}.${key}` : key;
    if (key === '$ref' && typeof value === 'string' && !value.startsWith('#')) return { at: here, ref: value };
    const found = findExternalRef(value, here);
    if (found) return found;
  }
  return undefined;
}

interface AjvProblem {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[] };
}

/** Turns swagger-parser's error (Ajv details when the schema check fails) into one readable sentence. */
function describeParserError(err: unknown): string {
  const details = (err as { details?: AjvProblem[] }).details;
  if (!Array.isArray(details) || details.length === 0) {
    return err instanceof Error ? err.message.replace(/\s+/g, ' ').trim() : String(err);
  }
  // Combinators only say "must match a schema in oneOf"; the deepest problems are the ones a person can fix.
  const useful = details.filter((d) => !['oneOf', 'anyOf', 'if', 'not', '$ref'].includes(d.keyword));
  const ranked = (useful.length > 0 ? useful : details).sort((a, b) => b.instancePath.split('/').length - a.instancePath.split('/').length);
  const sentences: string[] = [];
  for (const d of ranked) {
    const sentence = problemSentence(d);
    if (!sentences.includes(sentence)) sentences.push(sentence);
    if (sentences.length === MAX_REPORTED_PROBLEMS) break;
  }
  return sentences.join('; ');
}

function problemSentence(d: AjvProblem): string {
  const at = pointerToPath(d.instancePath);
  const prefix = at ? `${at}.` : '';
  if (d.keyword === 'required' && d.params?.missingProperty) return `${prefix}${d.params.missingProperty} is required`;
  if (d.keyword === 'additionalProperties' && d.params?.additionalProperty) {
    return `${prefix}${d.params.additionalProperty} is not allowed here`;
  }
  return `${at || '(root)'} ${d.message ?? 'is invalid'}`;
}

/** `/paths/~1x/get` -> `paths./x.get`, the dotted form the rest of Launchway uses for field paths. */
function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}
