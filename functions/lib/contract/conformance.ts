import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { type BasePathMode, resolveOpenApiDocument, routePrefix } from '../openapi.js';
import { dialectOf, type SchemaDialect, toJsonSchema } from './json-schema.js';
import { type Contract, normalizeContract, type Operation, type Response, type Schema } from './normalize.js';

/** One response the collection received, as the checker needs it (independent of Newman's types). */
export interface Exchange {
  /** The request (item) name in the collection. */
  name: string;
  method: string;
  /** The URL called, after variables were filled in. */
  url: string;
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

/** One way a response broke the contract. */
export interface ContractViolation {
  /** The request (item) name in the collection. */
  name: string;
  /** The operation, e.g. `GET /greetings/{name}`. */
  operation: string;
  status: number;
  /** Where: `status`, `content-type`, or a JSON path into the body (`$` is the whole body, `$.items[0].id`). */
  at: string;
  /** What the contract expected, and what came instead. */
  message: string;
}

/** Why a response was not checked; never a violation (see {@link ContractChecker.check}). */
export type UncheckedReason = 'outside the base URL' | 'no operation in the contract' | 'answered by the gateway';

/** The outcome of checking one response. */
export type CheckOutcome = { operation: string; violations: ContractViolation[] } | { unchecked: UncheckedReason };

/** How the checker reads the contract's base path. */
export interface ContractCheckerOptions {
  /**
   * The catalog's `interop.basePath`. The stage's URL (the staging target, or the gateway stage) is followed by the
   * prefix partners and the service both keep ({@link routePrefix}), then by the contract's path. Absent: the
   * contract's whole base path when the URL has it (the default, `prepend`), else the path as it is.
   */
  basePathMode?: BasePathMode;
}

/** At most this many schema problems are reported per response; an array of bad items would repeat one problem. */
const MAX_PROBLEMS_PER_RESPONSE = 5;

// ajv-formats is CommonJS with a `default` property: Node's ESM loader and esbuild hand out different halves.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

/** Formats OpenAPI adds to JSON Schema's: integer ranges are checked, the rest only name an encoding. */
const OPENAPI_FORMATS: Record<string, { type: 'number' | 'string'; validate: (v: never) => boolean }> = {
  int32: { type: 'number', validate: (v: number) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31 },
  int64: { type: 'number', validate: (v: number) => Number.isInteger(v) },
  float: { type: 'number', validate: () => true },
  double: { type: 'number', validate: () => true },
  byte: { type: 'string', validate: (v: string) => /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0 },
  binary: { type: 'string', validate: () => true },
  password: { type: 'string', validate: () => true },
};

/**
 * Checks the responses a collection receives against a contract (Swagger 2.0, OpenAPI 3.0 or 3.1), the way the
 * partner-facing gateway routes them: the path after the base URL, less the part of the contract's base path the
 * catalog's `interop.basePath` keeps, is matched against the contract's path templates (a literal segment beats
 * `{param}`, which beats a final `{greedy+}`). For a matched operation: the status must be declared (exactly, as `4XX`,
 * or through `default`); when the response declares content, the Content-Type must be one of its media types; and a
 * JSON body must validate against that media type's schema.
 *
 * A request that matches no operation is not checked and is not a violation: collections call the health path,
 * other hosts and undeclared routes on purpose (to see a 404). Neither is a response the gateway wrote itself
 * (`x-amzn-errortype`: a missing key, an undeclared route): it is the gateway's, not the service's.
 */
export class ContractChecker {
  private readonly validators = new Map<string, ValidateFunction | Error>();
  private readonly ajv: Ajv;

  private constructor(
    private readonly contract: Contract,
    private readonly dialect: SchemaDialect,
    /** Segment lists that may lead a path before its template, tried in order. */
    private readonly prefixes: string[][],
  ) {
    const options: Options = { allErrors: true, strict: false, logger: false };
    this.ajv = dialect === '3.1' ? new Ajv2020(options) : new Ajv(options);
    addFormats(this.ajv);
    for (const [name, format] of Object.entries(OPENAPI_FORMATS)) this.ajv.addFormat(name, format as never);
  }

  /**
   * Reads a contract (already parsed, as written).
   * @throws ValidationError naming `field` when it does not validate.
   */
  static async create(document: unknown, field = 'artifacts.openapi', options: ContractCheckerOptions = {}): Promise<ContractChecker> {
    const resolved = await resolveOpenApiDocument(document, field);
    const contract = normalizeContract(resolved);
    const basePath = contract.basePath === '/' ? '' : contract.basePath;
    const prefixes = options.basePathMode ? [routePrefix(basePath, options.basePathMode)] : [...new Set([basePath, ''])];
    return new ContractChecker(contract, dialectOf(resolved), prefixes.map(splitPath));
  }

  /** Checks one response; `baseUrl` is what the collection's `{{baseUrl}}` was. */
  check(exchange: Exchange, baseUrl: string): CheckOutcome {
    if (exchange.headers['x-amzn-errortype']) return { unchecked: 'answered by the gateway' };
    const rest = pathUnder(exchange.url, baseUrl);
    if (rest === undefined) return { unchecked: 'outside the base URL' };
    const op = this.match(exchange.method.toUpperCase(), rest);
    if (!op) return { unchecked: 'no operation in the contract' };
    const operation = `${op.method} ${op.path}`;
    const violation = (at: string, message: string): ContractViolation => ({
      name: exchange.name,
      operation,
      status: exchange.status,
      at,
      message,
    });

    const declared = statusKey(op, exchange.status);
    if (!declared) {
      const statuses = [...op.responses.keys()].join(', ');
      return { operation, violations: [violation('status', `status ${exchange.status} is not declared (declared: ${statuses})`)] };
    }
    const response = op.responses.get(declared) as Response;
    // A response declared without content promises nothing about a body (common in Swagger 2.0), so none is checked.
    if (response.content.size === 0 || op.method === 'HEAD') return { operation, violations: [] };
    const expected = [...response.content.keys()].join(', ');
    const contentType = exchange.headers['content-type'];
    if (!contentType) {
      const what = exchange.body === '' ? 'no body' : 'no Content-Type';
      return { operation, violations: [violation('content-type', `expected ${expected}, got ${what}`)] };
    }
    const mediaType = contentType.split(';')[0].trim().toLowerCase();
    const media = mediaKey(response, mediaType);
    if (media === undefined) return { operation, violations: [violation('content-type', `expected ${expected}, got ${mediaType}`)] };
    const schema = response.content.get(media);
    // Only JSON bodies are validated: other media types have no standard mapping to a JSON Schema instance.
    if (!schema || !isJson(mediaType)) return { operation, violations: [] };

    let body: unknown;
    try {
      body = JSON.parse(exchange.body);
    } catch (err) {
      return { operation, violations: [violation('$', `expected a JSON body (${mediaType}): ${(err as Error).message}`)] };
    }
    const validate = this.validator(`${op.method} ${op.path} ${declared} ${media}`, schema);
    if (validate instanceof Error)
      return { operation, violations: [violation('$', `the contract's schema cannot be checked: ${validate.message}`)] };
    if (validate(body)) return { operation, violations: [] };
    const problems = usefulErrors(validate.errors ?? []).slice(0, MAX_PROBLEMS_PER_RESPONSE);
    return { operation, violations: problems.map((e) => violation(...describeProblem(e, body))) };
  }

  private match(method: string, path: string): Operation | undefined {
    const segments = splitPath(path);
    for (const prefix of this.prefixes) {
      if (!prefix.every((s, i) => segments[i] === s)) continue;
      const found = this.find(method, segments.slice(prefix.length));
      if (found !== null) return found;
    }
    return undefined;
  }

  /**
   * The operation of the most specific template matching the path: undefined when the path matches but not the
   * method, null when no path matches.
   */
  private find(method: string, segments: string[]): Operation | undefined | null {
    let best: { path: string; rank: number[] } | undefined;
    for (const op of this.contract.operations.values()) {
      const rank = matchTemplate(op.path, segments);
      if (rank && (!best || compareRanks(rank, best.rank) < 0)) best = { path: op.path, rank };
    }
    if (!best) return null;
    return [...this.contract.operations.values()].find((op) => op.path === best.path && op.method === method);
  }

  private validator(key: string, schema: Schema): ValidateFunction | Error {
    let validate = this.validators.get(key);
    if (!validate) {
      try {
        validate = this.ajv.compile(toJsonSchema(schema, this.dialect));
      } catch (err) {
        validate = err as Error;
      }
      this.validators.set(key, validate);
    }
    return validate;
  }
}

/** The decoded path segments of `url` after the path of `baseUrl`, or undefined when `url` is not under it. */
function pathUnder(url: string, baseUrl: string): string | undefined {
  let target: URL;
  let base: URL;
  try {
    target = new URL(url);
    base = new URL(baseUrl);
  } catch {
    return undefined;
  }
  if (target.origin !== base.origin) return undefined;
  const prefix = base.pathname.replace(/\/+$/, '');
  if (target.pathname !== prefix && !target.pathname.startsWith(`${prefix}/`)) return undefined;
  return target.pathname.slice(prefix.length) || '/';
}

function splitPath(path: string): string[] {
  // One trailing slash is not a different resource, as on the gateway.
  const parts = path.replace(/^\/+/, '').replace(/\/$/, '').split('/');
  return parts.length === 1 && parts[0] === '' ? [] : parts.map(decode);
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Specificity of each segment (0 literal, 1 parameter, 2 greedy) when the template matches, otherwise undefined. */
function matchTemplate(template: string, segments: string[]): number[] | undefined {
  const parts = splitPath(template);
  const rank: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (/^\{[^}]+\+\}$/.test(part) && i === parts.length - 1) return i < segments.length ? [...rank, 2] : undefined;
    if (i >= segments.length) return undefined;
    if (!part.includes('{')) {
      if (part !== segments[i]) return undefined;
      rank.push(0);
      continue;
    }
    // `{id}`, or a segment mixing text and parameters such as `{name}.{ext}`.
    const pattern = part
      .split(/\{[^}]*\}/)
      .map(escapeRegExp)
      .join('[^/]+');
    if (!new RegExp(`^${pattern}$`).test(segments[i])) return undefined;
    rank.push(1);
  }
  return parts.length === segments.length ? rank : undefined;
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return b.length - a.length;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The declared response for a status: the exact code, its range (`4XX`), then `default`. */
function statusKey(op: Operation, status: number): string | undefined {
  const keys = [...op.responses.keys()];
  return (
    keys.find((k) => k === String(status)) ??
    keys.find((k) => k.toUpperCase() === `${String(status)[0]}XX`) ??
    keys.find((k) => k === 'default')
  );
}

/** The declared media type a response's type matches: exactly (parameters ignored), then `type/*`, then `*\/*`. */
function mediaKey(response: Response, mediaType: string): string | undefined {
  const keys = [...response.content.keys()];
  const bare = (k: string) => k.split(';')[0].trim();
  return (
    keys.find((k) => bare(k) === mediaType) ??
    keys.find((k) => bare(k) === `${mediaType.split('/')[0]}/*`) ??
    keys.find((k) => bare(k) === '*/*')
  );
}

function isJson(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/** Drops what only explains another error: the null branch of a nullable, and "must match a schema in anyOf". */
function usefulErrors(errors: ErrorObject[]): ErrorObject[] {
  const direct = errors.filter((e) => !['anyOf', 'oneOf'].includes(e.keyword) && !(e.keyword === 'type' && e.params.type === 'null'));
  return direct.length > 0 ? direct : errors;
}

/** `[at, message]` for one Ajv error, with the JSON path of the value and the type that came instead. */
function describeProblem(error: ErrorObject, body: unknown): [string, string] {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required') return [jsonPath(body, [...segments, String(params.missingProperty)]), 'is required but missing'];
  if (error.keyword === 'additionalProperties') {
    return [jsonPath(body, [...segments, String(params.additionalProperty)]), 'is not declared and the schema allows no other properties'];
  }
  const at = jsonPath(body, segments);
  const value = segments.reduce<unknown>((v, s) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[s] : undefined), body);
  if (error.keyword === 'enum') {
    const allowed = (params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
    return [
      at,
      `must be one of ${allowed.length > 120 ? `${allowed.slice(0, 117)}...` : allowed}, got ${JSON.stringify(value)?.slice(0, 40)}`,
    ];
  }
  if (error.keyword === 'type')
    return [at, `${error.message}, got ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`];
  return [at, error.message ?? `fails ${error.keyword}`];
}

/** `$.items[0].id`: array positions in brackets, names that are not identifiers quoted. */
function jsonPath(body: unknown, segments: string[]): string {
  let path = '$';
  let node = body;
  for (const s of segments) {
    if (Array.isArray(node)) path += `[${s}]`;
    else path += /^[A-Za-z_$][\w$]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[s] : undefined;
  }
  return path;
}
