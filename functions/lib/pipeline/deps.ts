import { ArtifactStore } from '../artifact-store.js';
import { findService } from '../catalog-source.js';
import type { DeployTarget, ServiceConfig } from '../catalog.js';
import { documentClient, s3Client } from '../clients.js';
import { getConfig } from '../config.js';
import type { DeployProvider } from '../deploy/deploy-provider.js';
import type { InteropProvisioner } from '../interop/interop-provisioner.js';
import type { Notifier } from '../notify/notifier.js';
import { ReleaseStore } from '../store/release-store.js';
import type { StopExecution } from './supersede.js';

/** What the pipeline steps need. Built from the configuration; tests pass their own. */
export interface PipelineDeps {
  store: ReleaseStore;
  artifacts: ArtifactStore;
  findService(name: string): Promise<ServiceConfig | undefined>;
  providerFor(target: DeployTarget): DeployProvider;
  provisioner(): InteropProvisioner;
  notifier(): Notifier;
  now(): Date;
  /** How Prepare stops the releases a newer one supersedes; Step Functions' StopExecution when absent. */
  stopExecution?: StopExecution;
}

/**
 * The parts only some steps use. Each handler passes the ones it needs, so a Lambda bundle carries the deploy
 * providers' SDK clients, the API Gateway provisioner or the mailer only when its step calls them.
 */
export interface StepParts {
  providerFor?: (target: DeployTarget) => DeployProvider;
  provisioner?: () => InteropProvisioner;
  notifier?: () => Notifier;
}

let base: Pick<PipelineDeps, 'store' | 'artifacts'> | undefined;

const missing = (part: string) => () => {
  throw new Error(`this step was not given ${part}; pass it to defaultDeps() in its handler`);
};

/** Memoizes a factory so a part is built once per process. */
function once<T>(make: (() => T) | undefined): (() => T) | undefined {
  if (!make) return undefined;
  let value: T | undefined;
  return () => (value ??= make());
}

export function defaultDeps(parts: StepParts = {}): PipelineDeps {
  const config = getConfig();
  base ??= {
    store: new ReleaseStore(documentClient(), config.RELEASES_TABLE),
    artifacts: new ArtifactStore(s3Client(), config.ARTIFACTS_BUCKET),
  };
  return {
    ...base,
    findService,
    providerFor: parts.providerFor ?? missing('deploy providers'),
    provisioner: once(parts.provisioner) ?? missing('an interop provisioner'),
    notifier: once(parts.notifier) ?? missing('a notifier'),
    now: () => new Date(),
  };
}

/** Forgets the built dependencies (the embedded runtime calls this when it re-points the environment). */
export function resetDeps(): void {
  base = undefined;
}
