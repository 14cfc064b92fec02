import * as z from 'zod';
import { SecretMapSchema } from './secret-ref.js';
import { strictObject } from './strict-object.js';

/**
 * What a service's Postman collection is given: catalog `tests` for the service, overridden per stage by
 * `staging.tests` and `production.tests` (a stage's variable of the same name wins).
 *
 * Values are passed to Newman as environment variables, which override the collection's own variables. They may
 * use `{{baseUrl}}` (the stage's URL: the staging target, or the production gateway), `{{releaseId}}`,
 * `{{version}}`, `{{stage}}` and `{{runId}}` (unique for each Newman run).
 */
const variableName = z.string().min(1, 'expected a variable name').max(256);

export const TestVariablesSchema = z.record(variableName, z.string().max(4096));

/** The per-stage override: `staging.tests`, `production.tests`. */
export const StageTestsSchema = strictObject({
  variables: TestVariablesSchema.optional(),
  /** Variable name → secret reference (functions/lib/secret-ref.ts); the value is masked in every report. */
  secretVariables: SecretMapSchema('variable').optional(),
});
export type StageTestsConfig = z.infer<typeof StageTestsSchema>;

/** How a service's releases are tested, besides the assertions of its Postman collection. */
export const ServiceTestsSchema = strictObject({
  /**
   * Every response the collection receives in SmokeTestStaging and ValidateProduction is checked against the
   * release's contract (functions/lib/contract/conformance.ts): `fail` counts each violation as a failed assertion,
   * `warn` only reports it in the step details, `off` checks nothing.
   */
  contractConformance: z.enum(['fail', 'warn', 'off']).default('fail'),
  variables: TestVariablesSchema.default({}),
  secretVariables: SecretMapSchema('variable').default({}),
});
export type ServiceTestsConfig = z.infer<typeof ServiceTestsSchema>;
