import * as z from 'zod';

/**
 * Where a lambda-alias deployment is. The state machine polls every few seconds and each poll is a fresh Lambda
 * invocation, so everything the next step needs lives here:
 * - UPDATING: UpdateFunctionCode was called; waiting for LastUpdateStatus Successful, then PublishVersion.
 * - ACTIVATING: the version is published but not Active yet.
 * - SHIFTING: the alias still points at `previousVersion` and routes `weight`% to `version`; next step at `nextStepAt`.
 * - BAKING: the alias is fully on `version`; alarms are watched until `bakeUntil`.
 * - DONE: live. This is the handle kept as the live deployment, and `version` is what a rollback returns to.
 */
export const LambdaAliasHandleSchema = z.object({
  functionName: z.string().min(1),
  alias: z.string().min(1),
  phase: z.enum(['UPDATING', 'ACTIVATING', 'SHIFTING', 'BAKING', 'DONE']),
  /** SHA-256 of the code UpdateFunctionCode installed: PublishVersion publishes that code or nothing. */
  codeSha256: z.string().min(1),
  /** The version the alias pointed at before this deployment (absent on a first deploy). */
  previousVersion: z.string().regex(/^\d+$/).optional(),
  /** Whether the alias existed at start; a first deploy creates it. */
  aliasExisted: z.boolean(),
  version: z.string().regex(/^\d+$/).optional(),
  /** Percent of traffic on `version` while SHIFTING. */
  weight: z.number().min(0).max(100).optional(),
  nextStepAt: z.iso.datetime().optional(),
  bakeUntil: z.iso.datetime().optional(),
  startedAt: z.iso.datetime(),
  aliasArn: z.string().optional(),
  endpoint: z.string().optional(),
});
export type LambdaAliasHandle = z.infer<typeof LambdaAliasHandleSchema>;

/** The version a handle past PUBLISHING must carry. */
export function requireVersion(handle: LambdaAliasHandle): string {
  if (!handle.version) throw new Error(`handle in phase ${handle.phase} has no version`);
  return handle.version;
}
