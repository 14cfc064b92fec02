import { ArtifactStore } from '../artifact-store.js';
import { findService } from '../catalog-source.js';
import type { ServiceConfig } from '../catalog.js';
import { documentClient, s3Client } from '../clients.js';
import { getConfig } from '../config.js';
import type { DeployProvider } from '../deploy/deploy-provider.js';
import { providerFor } from '../deploy/index.js';
import type { DeployTarget } from '../catalog.js';
import { NotFoundError } from '../errors.js';
import type { InteropProvisioner } from '../interop/interop-provisioner.js';
import { provisionerFromConfig } from '../interop/index.js';
import type { Notifier } from '../notify/notifier.js';
import { notifierFromConfig } from '../notify/index.js';
import type { ReleaseRecord } from '../store/records.js';
import { ReleaseStore } from '../store/release-store.js';

/** What the pipeline steps need. Built once per process from the configuration; tests pass their own. */
export interface PipelineDeps {
  store: ReleaseStore;
  artifacts: ArtifactStore;
  findService(name: string): Promise<ServiceConfig | undefined>;
  providerFor(target: DeployTarget): DeployProvider;
  provisioner(): InteropProvisioner;
  notifier(): Notifier;
  now(): Date;
}

let deps: PipelineDeps | undefined;

export function defaultDeps(): PipelineDeps {
  if (deps) return deps;
  const config = getConfig();
  let provisioner: InteropProvisioner | undefined;
  let notifier: Notifier | undefined;
  deps = {
    store: new ReleaseStore(documentClient(), config.RELEASES_TABLE),
    artifacts: new ArtifactStore(s3Client(), config.ARTIFACTS_BUCKET),
    findService,
    providerFor,
    provisioner: () => (provisioner ??= provisionerFromConfig()),
    notifier: () => (notifier ??= notifierFromConfig()),
    now: () => new Date(),
  };
  return deps;
}

/** Forgets the built dependencies (the embedded runtime calls this when it re-points the environment). */
export function resetDeps(): void {
  deps = undefined;
}

/** The catalog entry a release was prepared with. */
export function serviceOf(release: ReleaseRecord): ServiceConfig {
  if (!release.catalog) throw new NotFoundError(`release ${release.releaseId} has no catalog snapshot; was it prepared?`);
  return release.catalog;
}
