/**
 * How each Lambda handler runs: timeout, memory, description, whether it bundles Newman. The handlers themselves,
 * their folders and their ASL placeholders come from the step table in functions/steps.ts, which the embedded
 * runtime uses too, so the substitutions, the invoke grants, the local registry and the tests cannot drift apart.
 */

import { STEP_FUNCTION_IDS, folderOf, placeholderOf, type HandlerName } from '../functions/steps.js';

/** How one handler runs on Lambda. */
export interface HandlerSpec {
  /** Lambda timeout in seconds. Kept below the TimeoutSeconds of every ASL Task that invokes the function. */
  readonly timeoutSeconds: number;
  /** Lambda memory in MB; CPU scales with it. */
  readonly memoryMiB: number;
  /** Only the functions that run the collection (SmokeTestStaging, ValidateProduction) bundle Newman. */
  readonly bundlesNewman?: boolean;
  /** What the function does, shown in the Lambda console. */
  readonly description: string;
}

/** Every handler of the step table, by folder: a missing or extra one fails type checking. */
export const HANDLERS = {
  prepare: {
    timeoutSeconds: 30,
    memoryMiB: 512,
    description: 'Validates a release request against the catalog and records the release',
  },
  'acquire-lock': {
    timeoutSeconds: 20,
    memoryMiB: 512,
    description: 'Takes the per-service release lock with a conditional write',
  },
  deploy: {
    timeoutSeconds: 90,
    memoryMiB: 512,
    description: 'Starts a deployment of the release artifact to staging or production',
  },
  'deploy-status': {
    timeoutSeconds: 45,
    memoryMiB: 512,
    description: 'Polls a deployment until the new version is healthy or has failed',
  },
  'smoke-test-staging': {
    // Newman runs the whole collection in this invocation; the ASL gives the Task 600 s.
    timeoutSeconds: 540,
    memoryMiB: 1024,
    bundlesNewman: true,
    description: 'Runs the service Postman collection with Newman against staging and stores the JUnit and JSON reports',
  },
  approval: {
    timeoutSeconds: 30,
    memoryMiB: 512,
    description: 'Records an approval with its task token and emails signed approval links',
  },
  'provision-interop': {
    timeoutSeconds: 90,
    memoryMiB: 512,
    description: 'Publishes the service OpenAPI contract on the partner-facing API Gateway',
  },
  'validate-production': {
    timeoutSeconds: 540,
    memoryMiB: 1024,
    bundlesNewman: true,
    description: 'Health-checks production, runs the Postman collection through the interop layer and stores the reports',
  },
  'publish-release-notes': {
    timeoutSeconds: 45,
    memoryMiB: 512,
    description: 'Writes the release notes to S3',
  },
  rollback: {
    timeoutSeconds: 540,
    memoryMiB: 512,
    description: 'Puts the previous production version and interop deployment back live',
  },
  finalize: {
    timeoutSeconds: 45,
    memoryMiB: 512,
    description: 'Records the outcome of a release, releases the lock and emails the result',
  },
  'approval-api': {
    // Behind API Gateway, whose integration timeout is 29 s.
    timeoutSeconds: 15,
    memoryMiB: 512,
    description: 'Serves approval links: GET renders a confirmation page, POST verifies and records a decision',
  },
  'execution-status': {
    // May roll production back, as the rollback function does.
    timeoutSeconds: 540,
    memoryMiB: 512,
    description: 'Ends a release whose execution failed, timed out or was stopped: rollback if needed, record, lock, email',
  },
  operate: {
    // Rolls production back, as the rollback function does; the CLI waits for it.
    timeoutSeconds: 540,
    memoryMiB: 512,
    description: 'Operating commands the CLI invokes: launchway rollback puts production back on the previous release',
  },
} as const satisfies Record<HandlerName, HandlerSpec>;

/** The handlers the state machine invokes, with their placeholder. */
export const STATE_MACHINE_HANDLERS = STEP_FUNCTION_IDS.map((id) => ({ name: folderOf(id), placeholder: placeholderOf(id) }));
