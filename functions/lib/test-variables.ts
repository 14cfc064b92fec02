import { randomBytes } from 'node:crypto';
import type { SecretRef } from './secret-ref.js';
import type { ServiceTestsConfig, StageTestsConfig } from './tests-config.js';

/**
 * The Newman environment of one run of a service's collection (docs/testing.md has the contract for users). From
 * lowest to highest precedence:
 * 1. the release's Postman environment file (`artifacts.environment`);
 * 2. Launchway's built-ins: `baseUrl`, `apiKey`, `expectedVersion`, `service`, `releaseId`, `version`, `stage`, `runId`;
 * 3. catalog `tests.variables`, overridden per name by the stage's `staging.tests.variables` /
 *    `production.tests.variables`, with the built-in templates expanded;
 * 4. `tests.secretVariables` (service, then stage), resolved from the secret store.
 * The file sits below the built-ins because a file exported from Postman usually carries the team's own
 * `baseUrl` (localhost): it must not point a release's tests somewhere else. The catalog may still override a
 * built-in on purpose, e.g. `"baseUrl": "{{baseUrl}}/api"`.
 */

/** The stage a run tests. */
export type TestStage = 'staging' | 'production';

/** What Launchway gives every run. */
export interface BuiltInVariables {
  /** The stage's URL: the staging target, or production through the gateway (the target when interop is off). */
  baseUrl: string;
  /** The gateway's API key in production validation when the gateway requires one; empty otherwise. */
  apiKey: string;
  /** The release's version (kept for collections written before `version`). */
  expectedVersion: string;
  service: string;
  releaseId: string;
  version: string;
  stage: TestStage;
  /** Unique for each Newman run. */
  runId: string;
}

/** The built-ins a catalog value may use as `{{name}}`; any other `{{...}}` is left for Postman to resolve. */
const TEMPLATE_VARIABLES = ['baseUrl', 'releaseId', 'version', 'stage', 'runId'] as const;

/** A fresh run id: 16 lowercase hex characters, so it fits in user names and e-mail addresses as they are. */
export function newRunId(): string {
  return randomBytes(8).toString('hex');
}

/** The catalog fields a stage's tests read. */
export interface TestsCatalog {
  tests?: Partial<Pick<ServiceTestsConfig, 'variables' | 'secretVariables'>>;
  staging: { tests?: StageTestsConfig };
  production: { tests?: StageTestsConfig };
}

/** A stage's variables and secret variables: the service's, with the stage's own winning per name. */
export function stageTests(
  catalog: TestsCatalog,
  stage: TestStage,
): { variables: Record<string, string>; secretVariables: Record<string, SecretRef> } {
  const own = catalog[stage].tests;
  return {
    variables: { ...catalog.tests?.variables, ...own?.variables },
    secretVariables: { ...catalog.tests?.secretVariables, ...own?.secretVariables },
  };
}

/** `{{baseUrl}}`, `{{releaseId}}`, `{{version}}`, `{{stage}}` and `{{runId}}` in `value` replaced by the run's values. */
export function expandTemplate(value: string, builtIns: BuiltInVariables): string {
  return value.replace(/\{\{(\w+)\}\}/g, (whole, name: string) =>
    (TEMPLATE_VARIABLES as readonly string[]).includes(name) ? builtIns[name as (typeof TEMPLATE_VARIABLES)[number]] : whole,
  );
}

/** The environment Newman gets, in the precedence above. */
export function newmanVariables(input: {
  builtIns: BuiltInVariables;
  /** The release's Postman environment file's enabled values. */
  file?: Record<string, string>;
  /** The stage's catalog variables (stageTests), not yet expanded. */
  variables?: Record<string, string>;
  /** The stage's resolved secret variables. */
  secrets?: Record<string, string>;
}): Record<string, string> {
  const expanded = Object.fromEntries(
    Object.entries(input.variables ?? {}).map(([name, value]) => [name, expandTemplate(value, input.builtIns)]),
  );
  return { ...input.file, ...input.builtIns, ...expanded, ...input.secrets };
}
