import type { Schema } from './normalize.js';

/** Which OpenAPI version a schema was written for: it decides how the schema maps to JSON Schema. */
export type SchemaDialect = '2.0' | '3.0' | '3.1';

/** The dialect of a contract: `swagger: 2.0`, `openapi: 3.0.x` or `openapi: 3.1.x`. */
export function dialectOf(doc: Record<string, unknown>): SchemaDialect {
  if ('swagger' in doc) return '2.0';
  return String(doc.openapi ?? '').startsWith('3.0') ? '3.0' : '3.1';
}

// Keywords whose value is a subschema (or a list of them), and those whose value maps names to subschemas; every other
// value is data (`enum`, `default`, `example`...) and is kept as written.
const SUBSCHEMA = new Set([
  'items',
  'additionalItems',
  'prefixItems',
  'additionalProperties',
  'unevaluatedItems',
  'unevaluatedProperties',
  'propertyNames',
  'contains',
  'not',
  'if',
  'then',
  'else',
  'allOf',
  'anyOf',
  'oneOf',
]);
const SCHEMA_MAP = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas']);

/**
 * Turns a response schema of a dereferenced contract into a JSON Schema Ajv compiles: draft-07 for Swagger 2.0 and
 * OpenAPI 3.0, 2020-12 (as written) for OpenAPI 3.1.
 *
 * - OpenAPI 3.0 `nullable: true` and Swagger's `x-nullable: true` admit null (a `type` list, or `anyOf` with null
 *   when the schema combines others, since `allOf` members would still reject null);
 * - draft-04 style boolean `exclusiveMinimum`/`exclusiveMaximum` become the numeric draft-07 form;
 * - Swagger's `type: file` (a binary body) constrains nothing;
 * - recursive schemas, which dereferencing turns into object cycles, become `$ref`s into local definitions.
 */
export function toJsonSchema(schema: Schema, dialect: SchemaDialect): Schema {
  const defsKey = dialect === '3.1' ? '$defs' : 'definitions';
  const onPath = new Set<object>();
  const names = new Map<object, string>();
  const defs: Record<string, unknown> = {};

  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (!node || typeof node !== 'object') return node;
    const seen = names.get(node);
    if (seen && seen in defs) return { $ref: `#/${defsKey}/${seen}` };
    if (onPath.has(node)) {
      // A cycle: the ancestor becomes a definition once it is complete, and this occurrence refers to it.
      const name = seen ?? `s${names.size}`;
      names.set(node, name);
      return { $ref: `#/${defsKey}/${name}` };
    }
    onPath.add(node);
    const copy: Schema = {};
    for (const [key, value] of Object.entries(node)) {
      if (SUBSCHEMA.has(key)) copy[key] = visit(value);
      else if (SCHEMA_MAP.has(key) && value && typeof value === 'object') {
        copy[key] = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, visit(s)]));
      } else copy[key] = value;
    }
    onPath.delete(node);
    const converted = dialect === '3.1' ? copy : fromOpenApi30(copy, dialect);
    const name = names.get(node);
    if (!name) return converted;
    defs[name] = converted;
    return { $ref: `#/${defsKey}/${name}` };
  };

  const root = visit(schema) as Schema;
  return Object.keys(defs).length > 0 ? { ...root, [defsKey]: { ...(root[defsKey] as Schema | undefined), ...defs } } : root;
}

/** The rewrites of one (already converted below) OpenAPI 3.0 or Swagger 2.0 schema object. */
function fromOpenApi30(schema: Schema, dialect: SchemaDialect): Schema {
  const out: Schema = { ...schema };
  for (const [bound, limit] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[bound] !== 'boolean') continue;
    if (out[bound] === true && typeof out[limit] === 'number') {
      out[bound] = out[limit];
      delete out[limit];
    } else {
      delete out[bound];
    }
  }
  if (dialect === '2.0' && out.type === 'file') delete out.type;
  const nullable = out.nullable === true || out['x-nullable'] === true;
  delete out.nullable;
  delete out['x-nullable'];
  if (!nullable) return out;
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  const combines = ['allOf', 'anyOf', 'oneOf', 'not', '$ref'].some((k) => k in out);
  if (typeof out.type === 'string' && !combines) return { ...out, type: [out.type, 'null'] };
  return { anyOf: [{ type: 'null' }, out] };
}
