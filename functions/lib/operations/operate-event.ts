import * as z from 'zod';
import { ConflictError, NotFoundError, RollbackFailedError, ValidationError, type FieldErrors } from '../errors.js';
import { rollbackService, type RollbackServiceDeps, type RollbackServiceResult } from './rollback-service.js';

/**
 * What the CLI asks the operate function (`launchway-operate`) to do: the operating commands that must run where
 * the deploy providers run (on AWS, in the stack with its grants; embedded, in the `launchway dev` process that
 * owns the services' processes).
 */
export const OperateEventSchema = z.object({
  operation: z.literal('rollback'),
  service: z.string().min(1),
  by: z.string(),
  reason: z.string(),
});
export type OperateEvent = z.infer<typeof OperateEventSchema>;

/**
 * A refusal travels back as a value, with its kind and fields: Lambda would keep only the error's name and message
 * of a throw. The CLI turns it back into the same error (cli/operate.ts).
 */
export type OperateRefusal = { error: { name: string; message: string; fields?: FieldErrors } };
export type OperateResult = { rollback: RollbackServiceResult } | OperateRefusal;

const REFUSALS = [ValidationError, ConflictError, NotFoundError, RollbackFailedError];

/** Runs one operation; refusals are returned, anything unexpected is thrown. */
export async function runOperation(deps: RollbackServiceDeps, event: OperateEvent): Promise<OperateResult> {
  try {
    return { rollback: await rollbackService(deps, event) };
  } catch (err) {
    if (!REFUSALS.some((kind) => err instanceof kind)) throw err;
    const fields = err instanceof ValidationError ? { fields: err.fields } : {};
    return { error: { name: (err as Error).name, message: (err as Error).message, ...fields } };
  }
}
