import { cancelRelease } from '../functions/lib/operations/cancel.js';
import { redriveRelease } from '../functions/lib/operations/redrive.js';
import { unlockService } from '../functions/lib/operations/unlock.js';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { lambdaClient, sfnClient } from '../functions/lib/clients.js';
import { ConflictError, NotFoundError, ValidationError } from '../functions/lib/errors.js';
import type { OperateEvent, OperateResult } from '../functions/lib/operations/operate-event.js';
import type { RollbackServiceResult } from '../functions/lib/operations/rollback-service.js';
import { CliError } from './errors.js';
import { EXIT, exitCodeForStatus } from './exit-codes.js';
import { bold, describeRelease, dim } from './format.js';
import { releaseStore, waitForRelease, WaitTimeoutError } from './release-client.js';

/**
 * `launchway cancel`, `redrive`, `rollback` and `unlock`: the operating commands, each keeping who and why on the
 * record. The work is in functions/lib/operations; here are the output and the exit code. `rollback` runs in the
 * stack (the operate function), where the deploy providers and their grants are.
 */

/** Cancels a release; with `wait`, follows it to its end and returns the exit code of how it ended. */
export async function runCancel(opts: {
  releaseId: string;
  as: string;
  reason: string;
  wait?: boolean;
  timeout?: number;
  json?: boolean;
}): Promise<number> {
  const deps = { store: releaseStore(), sfn: sfnClient() };
  const result = await cancelRelease(deps, { releaseId: opts.releaseId, by: opts.as, reason: opts.reason });
  const { stopRequest } = result;
  if (!opts.json) {
    process.stderr.write(
      result.requested
        ? `Cancelling ${bold(opts.releaseId)} (${result.release.status}) as ${stopRequest.by}: ${stopRequest.reason}\n`
        : `${bold(opts.releaseId)} was already being stopped (${stopRequest.status.toLowerCase()} by ${stopRequest.by} ` +
            `at ${stopRequest.at}: ${stopRequest.reason}); asked again to stop.\n`,
    );
  }
  if (!opts.wait) {
    if (opts.json) console.log(JSON.stringify({ releaseId: opts.releaseId, requested: result.requested, stopRequest }));
    else process.stderr.write(`${dim('the release ends shortly; launchway status shows it (or use --wait)')}\n`);
    return EXIT.OK;
  }
  const view = await waitForRelease(opts.releaseId, {
    executionArn: result.release.executionArn,
    timeoutMs: opts.timeout,
  }).catch((err: unknown) => {
    if (!(err instanceof WaitTimeoutError)) throw err;
    throw new CliError('TIMEOUT', err.message, EXIT.WAIT_TIMEOUT, { releaseId: err.releaseId, status: err.lastStatus });
  });
  console.log(opts.json ? JSON.stringify(view) : describeRelease(view));
  return exitCodeForStatus(view.status);
}

/** Removes a service's lock that no running release holds; a free lock is nothing to do (exit 0). */
export async function runUnlock(opts: { service: string; as: string; reason: string; json?: boolean }): Promise<number> {
  const deps = { store: releaseStore(), sfn: sfnClient() };
  const result = await unlockService(deps, { service: opts.service, by: opts.as, reason: opts.reason });
  if (opts.json) console.log(JSON.stringify(result));
  else if (!result.unlocked) console.log(`the lock of ${bold(opts.service)} is free; nothing to do`);
  else {
    const audit = result.audited ? `kept on ${result.holder}'s record` : `${result.holder} has no record; not kept on a record`;
    console.log(`Removed the lock of ${bold(opts.service)} held by ${bold(result.holder)} (${audit})`);
  }
  return EXIT.OK;
}

/** Redrives a release that failed before production: it is reopened, takes the lock again and runs from staging. */
export async function runRedrive(opts: { releaseId: string; as: string; reason: string; json?: boolean }): Promise<number> {
  const deps = { store: releaseStore(), sfn: sfnClient() };
  const { redrive } = await redriveRelease(deps, { releaseId: opts.releaseId, by: opts.as, reason: opts.reason });
  if (opts.json) console.log(JSON.stringify({ releaseId: opts.releaseId, redrive }));
  else {
    console.log(`Redriving ${bold(opts.releaseId)} (redrive ${redrive.count}) as ${redrive.by}: ${redrive.reason}`);
    process.stderr.write(`${dim('it takes the lock again and runs from staging; approval is asked again. launchway status shows it')}\n`);
  }
  return EXIT.OK;
}

/** Puts production back on the release before the one it serves, through the stack's operate function. */
export async function runRollback(opts: { service: string; as: string; reason: string; json?: boolean }): Promise<number> {
  const out = await invokeOperate({ operation: 'rollback', service: opts.service, by: opts.as, reason: opts.reason });
  const result = refusalOrResult(out);
  if (opts.json) console.log(JSON.stringify(result));
  else {
    const gateway = result.gatewayDeployment ? `, gateway deployment ${result.gatewayDeployment}` : '';
    console.log(
      `Rolled ${bold(result.service)} back to ${bold(result.restored.version)} (${result.restored.releaseId}${gateway}); ` +
        `${result.undone.releaseId} is ROLLED_BACK, by ${result.rolledBackBy.by}: ${result.rolledBackBy.reason}`,
    );
  }
  return EXIT.OK;
}

async function invokeOperate(event: OperateEvent): Promise<OperateResult> {
  const functionName = process.env.LAUNCHWAY_OPERATE_FUNCTION!;
  const out = await lambdaClient().send(new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify(event) }));
  const payload = out.Payload ? (JSON.parse(Buffer.from(out.Payload).toString('utf8')) as unknown) : undefined;
  if (out.FunctionError) {
    const failure = payload as { errorType?: string; errorMessage?: string } | undefined;
    throw new CliError('INTERNAL', `${functionName} failed: ${failure?.errorType ?? 'Error'}: ${failure?.errorMessage ?? 'no message'}`);
  }
  return payload as OperateResult;
}

/** The operation's result, or its refusal thrown as the error it was in the function (exit 2 for a refusal). */
function refusalOrResult(out: OperateResult): RollbackServiceResult {
  if ('rollback' in out) return out.rollback;
  const { name, message, fields } = out.error;
  if (name === 'ValidationError') throw new ValidationError(message, fields);
  if (name === 'ConflictError') throw new ConflictError(message);
  if (name === 'NotFoundError') throw new NotFoundError(message);
  throw new CliError('ROLLBACK_FAILED', message, EXIT.ERROR);
}
