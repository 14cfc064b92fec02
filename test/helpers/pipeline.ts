import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Catalog } from '../../functions/lib/catalog.js';
import { findStep, TERMINAL_STATUSES, type ReleaseView } from '../../functions/lib/store/records.js';
import type { StepName } from '../../functions/steps.js';
import { FAST_WAITS, startEmbedded, type EmbeddedOptions, type EmbeddedStack } from '../../local/runtime.js';
import { decideFromOutbox } from '../../cli/approve.js';
import { getReleaseView, startRelease, waitForRelease, type StartedRelease } from '../../cli/release-client.js';

export const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
export const example = (version: string, file: 'service.mjs' | 'collection.postman.json' | 'openapi.yaml') =>
  path.join(EXAMPLES, 'greeter', version, file);

/** A service entry like the demo's, with overrides. */
export function service(overrides: Partial<Catalog['services'][string]> = {}): Catalog['services'][string] {
  return {
    description: '',
    approvers: ['lead@example.com', 'qa@example.com'],
    requiredApprovals: 1,
    approvalTimeoutSeconds: 600,
    lockWaitSeconds: 600,
    queue: 'fifo',
    allowDowngrade: false,
    notify: [],
    triggeredBy: ['ci@example.com'],
    tests: { contractConformance: 'fail', variables: {}, secretVariables: {} },
    staging: {
      type: 'local-process',
      healthPath: '/health',
      startTimeoutSeconds: 15,
      env: {},
      portEnv: 'PORT',
      hostEnv: 'HOST',
      secretEnv: {},
      drainSeconds: 0,
    },
    production: {
      type: 'local-process',
      healthPath: '/health',
      startTimeoutSeconds: 15,
      env: {},
      portEnv: 'PORT',
      hostEnv: 'HOST',
      secretEnv: {},
      drainSeconds: 0,
    },
    interop: {
      enabled: true,
      apiKeyRequired: true,
      apiKeys: ['partner-a'],
      stage: 'v1',
      breakingChanges: 'approve',
      allowBreakingOnMajor: true,
      basePath: 'prepend',
    },
    ...overrides,
  };
}

export interface TestStack extends EmbeddedStack {
  stopAll(): Promise<void>;
}

/** The whole embedded pipeline on free loopback ports with short Wait and Retry intervals (and any other option). */
export async function startTestStack(
  services: Catalog['services'],
  options: Omit<EmbeddedOptions, 'catalog' | 'dataDir'> = {},
): Promise<TestStack> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'launchway-scenario-'));
  const retryIntervals = Object.fromEntries(
    [
      'Prepare',
      'AcquireLock',
      'DeployStaging',
      'CheckStaging',
      'SmokeTestStaging',
      'RequestApproval',
      'DeployProduction',
      'CheckProduction',
      'ProvisionInterop',
      'ValidateProduction',
      'PublishReleaseNotes',
      'Rollback',
      'Finalize',
    ].map((s) => [s, 50]),
  );
  const stack = await startEmbedded({ catalog: { services }, dataDir, waits: FAST_WAITS, retryIntervals, ...options });
  return {
    ...stack,
    async stopAll() {
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ReleaseSpec {
  service: string;
  version: string;
  commit?: string;
  /** Which example directory each file comes from (defaults to `version`'s). */
  bundleFrom?: string;
  collectionFrom?: string;
  openapiFrom?: string;
  triggeredBy?: string;
}

let commitCounter = 0x1000000;
export const nextCommit = () => (commitCounter++).toString(16).padStart(7, '0');

export function releaseOf(spec: ReleaseSpec): Promise<StartedRelease> {
  return startRelease({
    service: spec.service,
    version: spec.version,
    commit: spec.commit ?? nextCommit(),
    triggeredBy: spec.triggeredBy ?? 'ci@example.com',
    bundle: example(spec.bundleFrom ?? spec.version, 'service.mjs'),
    collection: example(spec.collectionFrom ?? spec.version, 'collection.postman.json'),
    openapi: example(spec.openapiFrom ?? spec.version, 'openapi.yaml'),
  });
}

/** Waits, bounded, until the release's status is one of `statuses`. */
export async function waitForStatus(releaseId: string, statuses: string[], timeoutMs = 60_000): Promise<ReleaseView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await getReleaseView(releaseId);
    if (view && statuses.includes(view.status)) return view;
    if (view && TERMINAL_STATUSES.includes(view.status)) {
      throw new Error(
        `release ${releaseId} ended ${view.status} (${view.error?.error}: ${view.error?.cause}) while waiting for ${statuses.join('|')}`,
      );
    }
    if (Date.now() > deadline)
      throw new Error(`release ${releaseId} not ${statuses.join('|')} within ${timeoutMs} ms (is ${view?.status})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Decides through the emailed link, as a person would: GET the page, then POST. */
export async function decide(stack: EmbeddedStack, releaseId: string, approver: string, decision: 'approve' | 'reject', comment?: string) {
  await waitForStatus(releaseId, ['AWAITING_APPROVAL']);
  return decideFromOutbox(stack.outboxDir, { releaseId, approver, decision, comment });
}

export function finish(started: StartedRelease, timeoutMs = 90_000): Promise<ReleaseView> {
  return waitForRelease(started.releaseId, { executionArn: started.executionArn, intervalMs: 100, timeoutMs });
}

export function step<S extends StepName>(view: ReleaseView, name: S) {
  const found = findStep(view.steps, name);
  expect(found, `step ${name} on ${view.releaseId}`).toBeDefined();
  return found!;
}

/** GET a URL with an optional API key; returns status and parsed JSON (or text). */
export async function get(url: string, apiKey?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers: apiKey ? { 'x-api-key': apiKey } : {}, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body };
}
