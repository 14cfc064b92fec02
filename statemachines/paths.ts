import { fileURLToPath } from 'node:url';

/**
 * The release state machine, the single ASL file shared by AWS and the embedded engine. Resolved from this module,
 * which sits next to it, so the CDK app (infra/) and the embedded runtime (local/) read the same file from any
 * working directory without either layer importing the other.
 */
export const RELEASE_ASL_PATH = fileURLToPath(new URL('./release.asl.json', import.meta.url));
