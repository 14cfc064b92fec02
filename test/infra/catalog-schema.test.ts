import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DeployTargetSchema } from '../../functions/lib/deploy/targets.js';
import { DEFAULT_CATALOG_PATH } from '../../infra/paths.js';
import { CATALOG_SCHEMA_PATH, catalogJsonSchemaText } from '../../scripts/catalog-schema.js';
import { FIXTURES, FIXTURE_CATALOG_PATH, readJson } from './synth.js';

/**
 * schemas/catalog.schema.json: generated from the zod catalog schema, committed for editors. It must match a fresh
 * generation, and it must accept and refuse what zod accepts and refuses.
 */

const committedText = readFileSync(CATALOG_SCHEMA_PATH, 'utf8');
const committed = JSON.parse(committedText) as {
  definitions: Record<string, { required?: string[]; properties?: Record<string, unknown>; oneOf?: { $ref: string }[] }>;
};
/** The committed JSON Schema turned back into a validator. */
const fromSchema = z.fromJSONSchema(committed as never);

describe('catalog JSON Schema', () => {
  it('is what `npm run schema` generates now (run it and commit the file when this fails)', () => {
    expect(committedText === catalogJsonSchemaText(), 'schemas/catalog.schema.json is stale: run `npm run schema` and commit it').toBe(
      true,
    );
  });

  it('describes the input shape: only fields without a default are required', () => {
    expect(committed.definitions.Service.required?.sort()).toEqual(['approvers', 'production', 'staging']);
    expect(Object.keys(committed.definitions.Service.properties ?? {})).toEqual(
      expect.arrayContaining(['requiredApprovals', 'approvalTimeoutSeconds', 'interop']),
    );
  });

  it('describes the contract gate fields of interop, none of them required', () => {
    const interop = committed.definitions.Interop;
    expect(Object.keys(interop.properties ?? {})).toEqual(expect.arrayContaining(['breakingChanges', 'apiOwners', 'allowBreakingOnMajor']));
    expect(interop.required ?? []).not.toEqual(expect.arrayContaining(['breakingChanges']));
    expect(interop.required ?? []).not.toEqual(expect.arrayContaining(['apiOwners']));
    expect(interop.required ?? []).not.toEqual(expect.arrayContaining(['allowBreakingOnMajor']));
    const withGate = structuredClone(readJson(DEFAULT_CATALOG_PATH)) as { services: Record<string, Record<string, unknown>> };
    withGate.services.greeter.interop = { breakingChanges: 'block', apiOwners: ['api@example.com'], allowBreakingOnMajor: false };
    expect(fromSchema.safeParse(withGate).success).toBe(true);
    withGate.services.greeter.interop = { breakingChanges: 'warn' };
    expect(fromSchema.safeParse(withGate).success).toBe(false);
  });

  it('offers every deploy target type the catalog accepts', () => {
    const types = DeployTargetSchema.options.map((o) => o.shape.type.value).sort();
    expect(types.length).toBeGreaterThanOrEqual(5);
    const refs = committed.definitions.DeployTarget.oneOf!.map((r) => r.$ref.replace('#/definitions/', ''));
    const schemaTypes = refs.map((name) => (committed.definitions[name].properties!.type as { const: string }).const).sort();
    expect(schemaTypes).toEqual(types);
  });

  it('accepts the example and fixture catalogs, which zod accepts too', () => {
    for (const file of [DEFAULT_CATALOG_PATH, FIXTURE_CATALOG_PATH, path.join(FIXTURES, 'aws-targets-catalog.json')]) {
      const result = fromSchema.safeParse(readJson(file));
      expect(result.success, `${file}: ${result.error?.message}`).toBe(true);
    }
  });

  it('refuses the bad fixture catalog and a misspelt field', () => {
    expect(fromSchema.safeParse(readJson(path.join(FIXTURES, 'bad-catalog.json'))).success).toBe(false);
    const typo = structuredClone(readJson(DEFAULT_CATALOG_PATH)) as { services: Record<string, Record<string, unknown>> };
    typo.services.greeter.requiredApproval = 2;
    expect(fromSchema.safeParse(typo).success).toBe(false);
    const unknownTarget = structuredClone(readJson(DEFAULT_CATALOG_PATH)) as { services: Record<string, Record<string, unknown>> };
    unknownTarget.services.greeter.production = { type: 'kubernetes' };
    expect(fromSchema.safeParse(unknownTarget).success).toBe(false);
  });

  it('is what examples/catalog.json points editors at', () => {
    const { $schema } = readJson(DEFAULT_CATALOG_PATH) as { $schema?: string };
    expect($schema).toBeDefined();
    expect(path.resolve(path.dirname(DEFAULT_CATALOG_PATH), $schema!)).toBe(CATALOG_SCHEMA_PATH);
  });
});
