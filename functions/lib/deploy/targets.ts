import { z } from 'zod';

/**
 * Deploy targets as the catalog declares them: where a service runs in one environment and which provider puts
 * a release there. One schema per provider type, joined in a discriminated union on `type`.
 */

/** Runs the artifact as a Node process on a loopback port (embedded mode and local trials). */
export const LocalProcessTargetSchema = z.object({
  type: z.literal('local-process'),
  /** Path the target answers 200 on when it is ready. */
  healthPath: z.string().startsWith('/').default('/health'),
  /** How long a new version may take to become healthy before the deploy fails. */
  startTimeoutSeconds: z.number().int().min(1).max(600).default(30),
  /** Extra environment variables for the process. */
  env: z.record(z.string(), z.string()).default({}),
});

/** Where a service runs in one environment. */
export const DeployTargetSchema = z.discriminatedUnion('type', [LocalProcessTargetSchema]);
export type DeployTarget = z.infer<typeof DeployTargetSchema>;
