import type { ArtifactStore } from './artifact-store.js';
import type { DeployTarget } from './catalog.js';
import type { LiveDeployment } from './deploy/deploy-provider.js';
import { ArtifactIntegrityError, NotFoundError } from './errors.js';

/**
 * Hashes the artifact in S3 again and throws ArtifactIntegrity unless it is the one recorded at Prepare: an object
 * replaced or deleted after Prepare is never started. Without a recorded digest (a release prepared before digests
 * were kept) there is nothing to compare, and nothing is read.
 */
export async function verifyArtifact(artifacts: ArtifactStore, key: string, expectedSha256: string | undefined): Promise<void> {
  if (!expectedSha256) return;
  let actual: string;
  try {
    actual = await artifacts.sha256(key);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    throw new ArtifactIntegrityError(`artifact ${artifacts.uri(key)} no longer exists; expected sha256 ${expectedSha256}`, {
      cause: err,
    });
  }
  if (actual !== expectedSha256) {
    throw new ArtifactIntegrityError(
      `artifact ${artifacts.uri(key)} changed after it was recorded: expected sha256 ${expectedSha256}, found ${actual}`,
    );
  }
}

/**
 * The targets whose rollback starts the previous deployment from its artifact again: local-process (when it has to
 * restart it), cloudformation (its template) and http (the hook is sent the key). A Lambda version or an ECS task
 * definition is restored from the provider's own immutable copy, so its S3 object is not read.
 */
const RESTORES_FROM_ARTIFACT: ReadonlySet<DeployTarget['type']> = new Set(['local-process', 'cloudformation', 'http']);

/** Before a rollback restores `previous`: its artifact is checked when the target reads it again and a digest was kept. */
export async function verifyRestore(artifacts: ArtifactStore, target: DeployTarget, previous: LiveDeployment | undefined): Promise<void> {
  if (!previous || !RESTORES_FROM_ARTIFACT.has(target.type)) return;
  await verifyArtifact(artifacts, previous.artifactKey, previous.artifactSha256);
}
