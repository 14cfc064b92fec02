/**
 * The Lambda handlers the pipeline deploys, one folder each under functions/, with how each runs on Lambda. The
 * placeholder names come from functions/registry.ts, which the embedded runtime uses too, so the substitutions,
 * the invoke grants, the local registry and the tests cannot drift apart.
 */

import { placeholderFor } from '../functions/registry.js';

/** How one handler runs on Lambda. */
export interface HandlerSpec {
  /**
   * The key in `statemachines/release.asl.json` DefinitionSubstitutions whose value is this function's ARN, or
   * undefined for a handler the state machine does not invoke.
   */
  readonly placeholder?: string;
  /** Lambda timeout in seconds. Kept below the TimeoutSeconds of every ASL Task that invokes the function. */
  readonly timeoutSeconds: number;
  /** Lambda memory in MB; CPU scales with it. */
  readonly memoryMiB: number;
  /** Only the smoke-test function runs Newman; every other bundle must stay free of it. */
  readonly bundlesNewman?: boolean;
  /** What the function does, shown in the Lambda console. */
  readonly description: string;
}

export const HANDLERS = {
  prepare: {
    placeholder: placeholderFor('Prepare'),
    timeoutSeconds: 30,
    memoryMiB: 512,
    description: 'Validates a release request against the catalog and records the release',
  },
  lock: {
    placeholder: placeholderFor('Lock'),
    timeoutSeconds: 20,
    memoryMiB: 512,
    description: 'Takes the per-service release lock with a conditional write',
  },
  deploy: {
    placeholder: placeholderFor('Deploy'),
    timeoutSeconds: 90,
    memoryMiB: 512,
    description: 'Starts a deployment of the release artifact to staging or production',
  },
  'deploy-status': {
    placeholder: placeholderFor('DeployStatus'),
    timeoutSeconds: 45,
    memoryMiB: 512,
    description: 'Polls a deployment until the new version is healthy or has failed',
  },
  'smoke-test': {
    placeholder: placeholderFor('SmokeTest'),
    // Newman runs the whole collection in this invocation; the ASL gives the Task 600 s.
    timeoutSeconds: 540,
    memoryMiB: 1024,
    bundlesNewman: true,
    description: 'Runs the service Postman collection with Newman and stores the JUnit and JSON reports',
  },
  'request-approval': {
    placeholder: placeholderFor('RequestApproval'),
    timeoutSeconds: 30,
    memoryMiB: 512,
    description: 'Records an approval with its task token and emails signed approval links',
  },
  'provision-interop': {
    placeholder: placeholderFor('ProvisionInterop'),
    timeoutSeconds: 90,
    memoryMiB: 512,
    description: 'Publishes the service OpenAPI contract on the partner-facing API Gateway',
  },
  'release-notes': {
    placeholder: placeholderFor('ReleaseNotes'),
    timeoutSeconds: 45,
    memoryMiB: 512,
    description: 'Writes the release notes to S3',
  },
  rollback: {
    placeholder: placeholderFor('Rollback'),
    timeoutSeconds: 540,
    memoryMiB: 512,
    description: 'Puts the previous production version and interop deployment back live',
  },
  finalize: {
    placeholder: placeholderFor('Finalize'),
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
} as const satisfies Record<string, HandlerSpec>;

/** A handler folder name under functions/. */
export type HandlerName = keyof typeof HANDLERS;

/** Every handler name, in a stable order. */
export const HANDLER_NAMES = Object.keys(HANDLERS) as HandlerName[];

/** The handlers the state machine invokes, with their placeholder. */
export const STATE_MACHINE_HANDLERS = HANDLER_NAMES.flatMap((name) => {
  const spec: HandlerSpec = HANDLERS[name];
  return spec.placeholder ? [{ name, placeholder: spec.placeholder }] : [];
});
