/**
 * Writes schemas/catalog.schema.json, the JSON Schema of the service catalog, generated from the zod schema in
 * functions/lib/catalog.ts (the one synth and the handlers validate with), so editors complete and check catalog
 * files. It describes the input shape: fields with defaults are optional.
 *
 *   npm run schema                            # regenerate after changing the catalog or target schemas
 *   npx tsx scripts/catalog-schema.ts --check # exit 1 when the committed file is stale
 *
 * A catalog points at it with `"$schema": "../schemas/catalog.schema.json"` (a path relative to the catalog).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as z from 'zod';
import { CatalogSchema, InteropSchema, ServiceSchema } from '../functions/lib/catalog.js';
import {
  CloudFormationTargetSchema,
  DeployTargetSchema,
  EcsServiceTargetSchema,
  HttpTargetSchema,
  LambdaAliasTargetSchema,
  LocalProcessTargetSchema,
  TrafficShiftingSchema,
} from '../functions/lib/deploy/targets.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the generated schema is committed. */
export const CATALOG_SCHEMA_PATH = path.join(REPO_ROOT, 'schemas', 'catalog.schema.json');

/**
 * Schemas that become named definitions (`#/definitions/<name>`), so staging and production share one definition
 * per target type and an editor's hover names the type. Registered in this process only; any metadata the source
 * attaches (descriptions) is kept.
 */
const DEFINITIONS: [z.ZodType, string][] = [
  [ServiceSchema, 'Service'],
  [InteropSchema, 'Interop'],
  [DeployTargetSchema, 'DeployTarget'],
  [LocalProcessTargetSchema, 'LocalProcessTarget'],
  [LambdaAliasTargetSchema, 'LambdaAliasTarget'],
  [TrafficShiftingSchema, 'TrafficShifting'],
  [CloudFormationTargetSchema, 'CloudFormationTarget'],
  [EcsServiceTargetSchema, 'EcsServiceTarget'],
  [HttpTargetSchema, 'HttpTarget'],
];

/** The catalog's JSON Schema (draft-07, which every common editor understands), as an object. */
export function catalogJsonSchema(): Record<string, unknown> {
  for (const [schema, id] of DEFINITIONS) z.globalRegistry.add(schema, { ...z.globalRegistry.get(schema), id });
  const generated = z.toJSONSchema(CatalogSchema, {
    io: 'input',
    target: 'draft-7',
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: 'https://launchway.dev/schemas/catalog.schema.json',
    title: 'Launchway service catalog',
    description:
      'Services Launchway releases: approvers, approval timeout, staging and production deploy targets, interop settings. Generated from functions/lib/catalog.ts by `npm run schema`; do not edit.',
    ...rest,
  };
}

/** The file's exact text: two-space JSON and a final newline. */
export function catalogJsonSchemaText(): string {
  return `${JSON.stringify(catalogJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const text = catalogJsonSchemaText();
  const relative = path.relative(process.cwd(), CATALOG_SCHEMA_PATH);
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(CATALOG_SCHEMA_PATH, 'utf8');
    } catch {
      // A missing file is stale too.
    }
    if (committed !== text) {
      console.error(`${relative} is stale: run \`npm run schema\` and commit it`);
      process.exitCode = 1;
    } else {
      console.error(`${relative} is up to date`);
    }
  } else {
    writeFileSync(CATALOG_SCHEMA_PATH, text);
    console.error(`wrote ${relative}`);
  }
}
