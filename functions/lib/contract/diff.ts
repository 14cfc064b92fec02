import { type BasePathMode, resolveOpenApiDocument, routePrefix } from '../openapi.js';
import { type Contract, normalizeContract, type Operation, type Schema } from './normalize.js';
import { type ApiChange, compareApiChanges, type RuleId, severityOf } from './rules.js';
import { type Direction, diffSchemas, type Emit } from './schema-diff.js';

/** Which input each contract came from, so a ValidationError names the right field. */
export interface ContractFields {
  /** @default 'before' */
  before?: string;
  /** @default 'after' */
  after?: string;
}

/** What the diff needs from the catalog. */
export interface DiffOptions {
  /**
   * The service's `interop.basePath`: a changed base path breaks partners only where the part they call changes
   * (all of it under `prepend`, all but the first segment under `split`, nothing under `ignore`). Absent: any change.
   */
  basePathMode?: BasePathMode;
}

/**
 * Compares the contract partners have now (`before`, the live release's spec) with the release's contract (`after`)
 * and classifies every change for partners. Both are parsed documents (Swagger 2.0, OpenAPI 3.0 or 3.1), validated
 * and dereferenced like every contract Launchway reads; only references inside a document are accepted.
 *
 * @param before `undefined` on the service's first release: there is nothing to compare, so nothing changes.
 * @returns breaking changes first, then deprecations, then non-breaking ones; within each by path and method.
 * @throws ValidationError naming the field of a contract that does not validate.
 */
export async function diffContracts(
  before: unknown,
  after: unknown,
  fields: ContractFields = {},
  options: DiffOptions = {},
): Promise<ApiChange[]> {
  const next = normalizeContract(await resolveOpenApiDocument(after, fields.after ?? 'after'));
  if (before === undefined) return [];
  return diffNormalized(normalizeContract(await resolveOpenApiDocument(before, fields.before ?? 'before')), next, options);
}

/** {@link diffContracts} over contracts already in the internal shape. */
function diffNormalized(before: Contract, after: Contract, options: DiffOptions): ApiChange[] {
  const changes: ApiChange[] = [];
  const push = (rule: RuleId, location: string, change: string, op?: Pick<Operation, 'method' | 'path'>) =>
    changes.push({ severity: severityOf(rule), ...(op ? { method: op.method, path: op.path } : {}), location, change, rule });

  const called = (c: Contract) =>
    options.basePathMode ? routePrefix(c.basePath === '/' ? '' : c.basePath, options.basePathMode) : c.basePath;
  if (called(before) !== called(after)) {
    push('base-path-changed', 'base path', `base path changed from ${before.basePath} to ${after.basePath}`);
  }
  const beforePaths = new Set([...before.operations.values()].map((op) => pathKey(op.path)));
  const afterPaths = new Set([...after.operations.values()].map((op) => pathKey(op.path)));
  for (const [key, op] of before.operations) {
    if (after.operations.has(key)) continue;
    if (afterPaths.has(pathKey(op.path))) push('operation-removed', 'operation', 'the operation was removed', op);
    else push('path-removed', 'path', 'the operation was removed, and with it the whole path', op);
  }
  for (const [key, op] of after.operations) {
    const old = before.operations.get(key);
    if (!old) {
      if (beforePaths.has(pathKey(op.path))) push('operation-added', 'operation', 'the operation was added', op);
      else push('path-added', 'path', 'the operation was added, on a new path', op);
      continue;
    }
    diffOperation(old, op, (rule, location, change) => push(rule, location, change, op));
  }
  return changes.sort(compareApiChanges);
}

function diffOperation(b: Operation, a: Operation, emit: Emit): void {
  if (!b.deprecated && a.deprecated) emit('operation-deprecated', 'operation', 'the operation is now deprecated');
  diffSecurity(b.security, a.security, emit);
  diffParameters(b, a, emit);
  diffRequestBody(b, a, emit);
  diffResponses(b, a, emit);
}

function diffSecurity(before: string[], after: string[], emit: Emit): void {
  const open = (alts: string[]) => alts.length === 0 || alts.includes('anonymous');
  const describe = (alts: string[]) => (alts.length === 0 ? 'no credentials' : alts.join(' or '));
  const removed = before.filter((s) => !after.includes(s));
  const added = after.filter((s) => !before.includes(s));
  if (removed.length === 0 && added.length === 0) return;
  if (open(before) && !open(after)) emit('security-added', 'security', `now requires ${describe(after)}`);
  else if (!open(before) && open(after)) emit('security-removed', 'security', `no longer requires ${describe(before)}`);
  else if (removed.filter((s) => s !== 'anonymous').length > 0) {
    emit('security-changed', 'security', `requires ${describe(after)} instead of ${describe(before)}`);
  } else emit('security-alternative-added', 'security', `also accepts ${describe(added)}`);
}

function diffParameters(b: Operation, a: Operation, emit: Emit): void {
  for (const key of new Set([...b.parameters.keys(), ...a.parameters.keys()])) {
    const bp = b.parameters.get(key);
    const ap = a.parameters.get(key);
    const param = (ap ?? bp)!;
    const location = `request ${param.in} parameter ${param.name}`;
    const subject = `${param.in} parameter \`${param.name}\``;
    if (!bp) {
      if (ap!.required) emit('request-parameter-required-added', location, `required ${subject} was added`);
      else emit('request-parameter-added', location, `optional ${subject} was added`);
      continue;
    }
    if (!ap) {
      emit('request-parameter-removed', location, `${subject} was removed`);
      continue;
    }
    if (!bp.required && ap.required) emit('request-parameter-became-required', location, `${subject} is now required`);
    if (bp.required && !ap.required) emit('request-parameter-became-optional', location, `${subject} is no longer required`);
    if (!bp.deprecated && ap.deprecated) emit('parameter-deprecated', location, `${subject} is now deprecated`);
    diffSchemas(bp.schema, ap.schema, { direction: 'request', prefix: location, root: '', subject }, emit);
  }
}

function diffRequestBody(b: Operation, a: Operation, emit: Emit): void {
  if (!b.body && !a.body) return;
  if (!b.body) {
    if (a.body!.required) emit('request-body-required-added', 'request body', 'a required request body was added');
    else emit('request-body-added', 'request body', 'an optional request body was added');
    return;
  }
  if (!a.body) {
    emit('request-body-removed', 'request body', 'the request body was removed');
    return;
  }
  if (!b.body.required && a.body.required) emit('request-body-became-required', 'request body', 'the request body is now required');
  if (b.body.required && !a.body.required) emit('request-body-became-optional', 'request body', 'the request body is no longer required');
  diffContent('request', 'request', b.body.content, a.body.content, emit);
}

function diffResponses(b: Operation, a: Operation, emit: Emit): void {
  for (const [status, br] of b.responses) {
    const ar = a.responses.get(status);
    const location = `response ${status}`;
    if (!ar) {
      emit('response-status-removed', location, `response ${status} was removed`);
      continue;
    }
    diffContent('response', location, br.content, ar.content, emit);
    for (const [name, schema] of br.headers) {
      const site = { direction: 'response' as const, prefix: `${location} header ${name}`, root: '', subject: `header \`${name}\`` };
      if (!ar.headers.has(name)) emit('response-header-removed', site.prefix, `header \`${name}\` was removed`);
      else diffSchemas(schema, ar.headers.get(name), site, emit);
    }
    for (const name of ar.headers.keys()) {
      if (!br.headers.has(name)) emit('response-header-added', `${location} header ${name}`, `header \`${name}\` was added`);
    }
  }
  for (const status of a.responses.keys()) {
    if (!b.responses.has(status)) emit('response-status-added', `response ${status}`, `response ${status} was added`);
  }
}

function diffContent(
  direction: Direction,
  where: string,
  before: Map<string, Schema | undefined>,
  after: Map<string, Schema | undefined>,
  emit: Emit,
) {
  for (const [type, schema] of before) {
    const location = `${where} ${type}`;
    if (!after.has(type)) {
      emit(
        direction === 'request' ? 'request-content-type-removed' : 'response-content-type-removed',
        location,
        `media type ${type} was removed`,
      );
      continue;
    }
    const next = after.get(type);
    if (direction === 'response' && schema && !next) emit('response-body-removed', location, 'the body schema was removed');
    else if (direction === 'response' && !schema && next) emit('response-body-added', location, 'a body schema was added');
    else diffSchemas(schema, next, { direction, prefix: `${location} `, root: 'body', subject: 'the body' }, emit);
  }
  for (const type of after.keys()) {
    if (before.has(type)) continue;
    emit(
      direction === 'request' ? 'request-content-type-added' : 'response-content-type-added',
      `${where} ${type}`,
      `media type ${type} was added`,
    );
  }
}

function pathKey(path: string): string {
  return path.replace(/\{[^}]*\}/g, '{}');
}
