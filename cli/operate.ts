import { cancelRelease } from '../functions/lib/operations/cancel.js';
import { unlockService } from '../functions/lib/operations/unlock.js';
import { sfnClient } from '../functions/lib/clients.js';
import { CliError } from './errors.js';
import { EXIT, exitCodeForStatus } from './exit-codes.js';
import { bold, describeRelease, dim } from './format.js';
import { releaseStore, waitForRelease, WaitTimeoutError } from './release-client.js';

/**
 * `launchway cancel` and `launchway unlock`: the operating commands, each keeping who and why on the record. The
 * work is in functions/lib/operations; here are the output and the exit code.
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
