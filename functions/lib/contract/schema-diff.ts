import type { Schema } from './normalize.js';
import type { RuleId } from './rules.js';

/** Partners send requests and read responses: the same schema change lands differently in each. */
export type Direction = 'request' | 'response';

/** Receives one classified change at a location (the caller adds method and path). */
export type Emit = (rule: RuleId, location: string, change: string) => void;

/** Where the schema sits and how to name it in sentences. */
export interface SchemaSite {
  direction: Direction;
  /** Location prefix, e.g. `response 200 application/json ` or `request query parameter limit`. */
  prefix: string;
  /** Path of the schema root after the prefix: `body` for bodies, empty for parameters and headers. */
  root: string;
  /** How sentences name the root, e.g. "the body" or "parameter `limit`". */
  subject: string;
}

/** Recursive schemas are compared once per pair of nodes; beyond this depth nothing new is learnt. */
const MAX_DEPTH = 32;
const ANY = 'any';
const LOWER_BOUNDS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'] as const;
const UPPER_BOUNDS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'] as const;

/**
 * Compares two versions of one schema and emits every change, classified by direction. Accepts Swagger 2.0
 * (`x-nullable`), OpenAPI 3.0 (`nullable`) and 3.1 (type lists, `const`) schemas alike; `allOf` parts are merged
 * first, `oneOf`/`anyOf` alternatives are compared by position.
 */
export function diffSchemas(before: Schema | undefined, after: Schema | undefined, site: SchemaSite, emit: Emit): void {
  new SchemaWalk(site, emit).walk(before, after, site.root, 0);
}

class SchemaWalk {
  private readonly seen = new WeakMap<object, WeakSet<object>>();

  constructor(
    private readonly site: SchemaSite,
    private readonly out: Emit,
  ) {}

  walk(rawBefore: Schema | undefined, rawAfter: Schema | undefined, path: string, depth: number): void {
    if (depth > MAX_DEPTH || this.visited(rawBefore, rawAfter)) return;
    const b = flatten(rawBefore);
    const a = flatten(rawAfter);
    this.types(b, a, path);
    this.enums(b, a, path);
    this.bounds(b, a, path);
    if (covers(typesOf(b), 'object') && covers(typesOf(a), 'object')) this.properties(b, a, path, depth);
    if (b?.items && a?.items && typeof b.items === 'object' && typeof a.items === 'object') {
      this.walk(b.items as Schema, a.items as Schema, `${path}[]`, depth + 1);
    }
    for (const key of ['oneOf', 'anyOf'] as const) this.variants(b, a, key, path, depth);
  }

  private emit(rule: RuleId, path: string, sentence: string): void {
    this.out(rule, `${this.site.prefix}${path}`, `${this.subject(path)} ${sentence}`);
  }

  private subject(path: string): string {
    if (path === this.site.root) return this.site.subject;
    if (path.endsWith('[]')) return `items of ${this.subject(path.slice(0, -2))}`;
    return `property \`${path.slice(path.lastIndexOf('.') + 1)}\``;
  }

  private visited(b: Schema | undefined, a: Schema | undefined): boolean {
    if (!b || !a) return false;
    const pairs = this.seen.get(b) ?? new WeakSet<object>();
    if (pairs.has(a)) return true;
    this.seen.set(b, pairs.add(a));
    return false;
  }

  private types(b: Schema | undefined, a: Schema | undefined, path: string): void {
    const before = typesOf(b);
    const after = typesOf(a);
    const lost = missing(before, after);
    const gained = missing(after, before);
    const from = `from ${show(before)} to ${show(after)}`;
    if (this.site.direction === 'request') {
      if (lost.length === 1 && lost[0] === 'null') this.emit('request-type-narrowed', path, 'no longer accepts null');
      else if (lost.length > 0) this.emit('request-type-narrowed', path, `changed type ${from}`);
      else if (gained.length > 0) this.emit('request-type-widened', path, `now also accepts ${gained.join(' or ')}`);
      return;
    }
    const gainedValues = gained.filter((t) => t !== 'null');
    if (gainedValues.length > 0) this.emit('response-type-changed', path, `changed type ${from}`);
    if (gained.includes('null')) this.emit('response-nullable-added', path, 'may now be null');
    if (gained.length > 0) return;
    if (lost.length === 1 && lost[0] === 'null') this.emit('response-nullable-removed', path, 'is no longer null');
    else if (lost.length > 0) this.emit('response-type-narrowed', path, `narrowed type ${from}`);
  }

  private enums(b: Schema | undefined, a: Schema | undefined, path: string): void {
    const before = enumOf(b);
    const after = enumOf(a);
    if (!before && !after) return;
    const request = this.site.direction === 'request';
    if (!before) {
      this.emit(request ? 'request-enum-narrowed' : 'response-enum-narrowed', path, `is now limited to ${list(after!)}`);
      return;
    }
    if (!after) {
      const rule = request ? 'request-enum-widened' : 'response-enum-widened';
      this.emit(rule, path, `is no longer limited to ${list(before)}${request ? '' : TOLERATE}`);
      return;
    }
    const removed = before.filter((v) => !after.includes(v));
    const added = after.filter((v) => !before.includes(v));
    if (removed.length > 0) {
      this.emit(request ? 'request-enum-narrowed' : 'response-enum-narrowed', path, `no longer has value ${list(removed)}`);
    }
    if (added.length > 0) {
      this.emit(request ? 'request-enum-widened' : 'response-enum-widened', path, `has new value ${list(added)}${request ? '' : TOLERATE}`);
    }
  }

  /** Bounds, pattern and format. Only requests are checked: a response within tighter bounds still parses. */
  private bounds(b: Schema | undefined, a: Schema | undefined, path: string): void {
    if (!b || !a) return;
    if (this.site.direction === 'response') {
      if (b.format !== undefined && a.format !== b.format) {
        this.emit(
          'response-type-changed',
          path,
          a.format === undefined ? `is no longer format ${b.format}` : `changed format from ${b.format} to ${a.format}`,
        );
      }
      return;
    }
    const check = (key: string, tighter: (bv: number, av: number) => boolean) => {
      const bv = typeof b[key] === 'number' ? (b[key] as number) : undefined;
      const av = typeof a[key] === 'number' ? (a[key] as number) : undefined;
      if (bv === av) return;
      if (av !== undefined && (bv === undefined || tighter(bv, av))) {
        this.emit('request-constraint-narrowed', path, bv === undefined ? `now has ${key} ${av}` : `${key} changed from ${bv} to ${av}`);
      } else {
        this.emit(
          'request-constraint-widened',
          path,
          av === undefined ? `no longer has ${key} ${bv}` : `${key} changed from ${bv} to ${av}`,
        );
      }
    };
    for (const key of LOWER_BOUNDS) check(key, (bv, av) => av > bv);
    for (const key of UPPER_BOUNDS) check(key, (bv, av) => av < bv);
    for (const key of ['pattern', 'format'] as const) {
      if (a[key] === b[key]) continue;
      if (a[key] === undefined) this.emit('request-constraint-widened', path, `no longer has ${key} ${b[key]}`);
      else
        this.emit(
          'request-constraint-narrowed',
          path,
          b[key] === undefined ? `now has ${key} ${a[key]}` : `${key} changed from ${b[key]} to ${a[key]}`,
        );
    }
  }

  private properties(b: Schema | undefined, a: Schema | undefined, path: string, depth: number): void {
    const request = this.site.direction === 'request';
    // Read-only properties are never sent and write-only ones never returned: they are not part of that direction.
    const hidden = request ? 'readOnly' : 'writeOnly';
    const before = visibleProperties(b, hidden);
    const after = visibleProperties(a, hidden);
    const bRequired = requiredOf(b);
    const aRequired = requiredOf(a);
    for (const name of new Set([...before.keys(), ...after.keys()])) {
      const child = path === '' ? name : `${path}.${name}`;
      const bp = before.get(name);
      const ap = after.get(name);
      if (!bp && ap) {
        if (!request) this.emit('response-property-added', child, 'was added');
        else if (aRequired.has(name)) this.emit('request-property-required-added', child, 'was added as required');
        else this.emit('request-property-added', child, 'was added as optional');
        continue;
      }
      if (bp && !ap) {
        this.emit(request ? 'request-property-removed' : 'response-property-removed', child, 'was removed');
        continue;
      }
      if (!bp || !ap) continue;
      if (bRequired.has(name) && !aRequired.has(name)) {
        this.emit(request ? 'request-property-became-optional' : 'response-property-became-optional', child, 'is no longer required');
      } else if (!bRequired.has(name) && aRequired.has(name)) {
        this.emit(request ? 'request-property-became-required' : 'response-property-became-required', child, 'is now required');
      }
      if (bp.deprecated !== true && ap.deprecated === true) this.emit('property-deprecated', child, 'is now deprecated');
      this.walk(bp, ap, child, depth + 1);
    }
  }

  private variants(b: Schema | undefined, a: Schema | undefined, key: 'oneOf' | 'anyOf', path: string, depth: number): void {
    const before = Array.isArray(b?.[key]) ? (b[key] as Schema[]) : [];
    const after = Array.isArray(a?.[key]) ? (a[key] as Schema[]) : [];
    if (before.length === after.length) {
      for (let i = 0; i < before.length; i++) this.walk(before[i], after[i], `${path}<${key} ${i + 1}>`, depth + 1);
      return;
    }
    const request = this.site.direction === 'request';
    const sentence = `${key} has ${after.length} alternatives instead of ${before.length}`;
    if (after.length > before.length) this.emit(request ? 'request-variant-added' : 'response-variant-added', path, sentence);
    else this.emit(request ? 'request-variant-removed' : 'response-variant-removed', path, sentence);
  }
}

const TOLERATE = ' (partners must tolerate values they do not know)';

/** Merges `allOf` parts into one schema (properties, required, type), the way `$ref` composition is usually meant. */
function flatten(schema: Schema | undefined, depth = 0): Schema | undefined {
  if (!schema || !Array.isArray(schema.allOf) || depth > 8) return schema;
  const { allOf, ...own } = schema;
  const merged: Schema = { ...own, properties: { ...(own.properties as Schema) } };
  const required = new Set(requiredOf(own));
  for (const part of (allOf as Schema[]).map((p) => flatten(p, depth + 1) ?? {})) {
    merged.properties = { ...(part.properties as Schema), ...(merged.properties as Schema) };
    for (const name of requiredOf(part)) required.add(name);
    for (const [k, v] of Object.entries(part)) if (!(k in merged)) merged[k] = v;
  }
  merged.required = [...required];
  return merged;
}

function typesOf(s: Schema | undefined): Set<string> {
  if (!s) return new Set([ANY]);
  let types: string[];
  if (typeof s.type === 'string') types = [s.type];
  else if (Array.isArray(s.type)) types = s.type.map(String);
  else if (s.properties && typeof s.properties === 'object') types = ['object'];
  else if (s.items && typeof s.items === 'object') types = ['array'];
  else if (Array.isArray(s.enum) && s.enum.length > 0) types = s.enum.map(jsonType);
  else types = [ANY];
  if (s.nullable === true || s['x-nullable'] === true) types.push('null');
  return new Set(types);
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : typeof value;
}

function covers(types: Set<string>, type: string): boolean {
  return types.has(ANY) || types.has(type) || (type === 'integer' && types.has('number'));
}

/** Types in `from` that `to` does not accept. */
function missing(from: Set<string>, to: Set<string>): string[] {
  return [...from].filter((t) => !covers(to, t)).sort();
}

function show(types: Set<string>): string {
  return [...types].sort().join(' or ');
}

function enumOf(s: Schema | undefined): string[] | undefined {
  if (!s) return undefined;
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v));
  return 'const' in s ? [JSON.stringify(s.const)] : undefined;
}

function list(values: string[]): string {
  return values.map((v) => `\`${v.startsWith('"') ? JSON.parse(v) : v}\``).join(', ');
}

function requiredOf(s: Schema | undefined): Set<string> {
  return new Set(Array.isArray(s?.required) ? (s.required as unknown[]).map(String) : []);
}

function visibleProperties(s: Schema | undefined, hidden: 'readOnly' | 'writeOnly'): Map<string, Schema> {
  const props = s?.properties && typeof s.properties === 'object' ? (s.properties as Record<string, Schema>) : {};
  return new Map(Object.entries(props).filter(([, p]) => p && typeof p === 'object' && p[hidden] !== true));
}
