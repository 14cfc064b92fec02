// The embedded engine needs Promise.withResolvers, which Node 20 lacks: loaded before it.
import '../local/polyfills.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { getConfig } from '../functions/lib/config.js';
import { printsLinks } from '../functions/lib/notify/index.js';
import { startEmbedded } from '../local/runtime.js';
import { ensureExampleDeps } from '../scripts/example-deps.js';
import { decideFromOutbox } from './approve.js';
import { exitCodeForStatus, EXIT } from './exit-codes.js';
import { bold, describeRelease, dim, green, red, statusColor } from './format.js';
import { packagePath } from './package-root.js';
import { waitProgress } from './progress.js';
import { previewApiChanges } from './diff.js';
import { artifactStore, releaseStore, startRelease, waitForRelease } from './release-client.js';
import type { ReleaseView } from '../functions/lib/store/records.js';

const EXAMPLES = packagePath('examples');

/** The two releases the demo runs: the first puts 1.0.0 live, the second upgrades production to 1.1.0. */
const DEMO_RELEASES = [
  { version: '1.0.0', commit: '1a2b3c4d5e6f', changes: undefined },
  { version: '1.1.0', commit: '7f8e9d0c1b2a', changes: path.join(EXAMPLES, 'greeter/changes-1.1.0.json') },
];

/**
 * `npm start`: boots the embedded stack and releases the example service, printing each step and the approval
 * links. With --approve-as it approves through the real link flow (GET page, then POST); otherwise it waits for a
 * click. Returns the exit code of the last release (cli/exit-codes.ts): 0 only when every release SUCCEEDED.
 */
export async function runDemo(opts: { approveAs?: string; dataDir: string; json?: boolean; printLinks?: boolean }): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  // The demo approves from the outbox files, not from the terminal, so it works the same when links are not printed.
  if (opts.printLinks) process.env.OUTBOX_PRINT_LINKS = 'true';
  // A checkout's catalog lists examples/notes too, whose own dependencies install on first run; the installed
  // package ships only the greeter the demo releases.
  const notes = path.join(EXAMPLES, 'notes');
  if (existsSync(path.join(notes, 'package-lock.json'))) await ensureExampleDeps(notes, log);
  const stack = await startEmbedded({ catalog: path.join(EXAMPLES, 'catalog.json'), dataDir: opts.dataDir });
  const linksShown = printsLinks(getConfig().OUTBOX_PRINT_LINKS);
  let last: ReleaseView | undefined;
  const show = waitProgress(log, { heartbeatMs: 60_000 });
  try {
    log(
      `${green('✔')} embedded stack up: Step Functions ${stack.endpoints.sfn}, approvals ${stack.endpoints.approval}, gateway ${stack.endpoints.gateway}`,
    );
    for (const demo of DEMO_RELEASES) {
      const dir = path.join(EXAMPLES, 'greeter', demo.version);
      log(`\n${bold(`Releasing greeter ${demo.version}`)}`);
      const openapi = path.join(dir, 'openapi.yaml');
      const started = await startRelease(
        {
          service: 'greeter',
          version: demo.version,
          commit: demo.commit,
          triggeredBy: 'ci@example.com',
          bundle: path.join(dir, 'service.mjs'),
          collection: path.join(dir, 'collection.postman.json'),
          openapi,
          changesFile: demo.changes,
        },
        // As `launchway release` does: what the contract changes for partners, before the release starts.
        { beforeUpload: () => previewApiChanges({ store: releaseStore(), artifacts: artifactStore() }, 'greeter', openapi, log) },
      );
      let approving: Promise<void> | undefined;
      const approvalFailed = new AbortController();
      last = await waitForRelease(started.releaseId, {
        executionArn: started.executionArn,
        intervalMs: 250,
        signal: approvalFailed.signal,
        onProgress: (e) => {
          if (e.kind === 'status') {
            log(`status ${statusColor(e.status)}`);
            if (e.status === 'AWAITING_APPROVAL') {
              if (opts.approveAs) {
                approving ??= approve(stack.outboxDir, started.releaseId, opts.approveAs, log).catch((err: Error) =>
                  approvalFailed.abort(new Error(`could not approve as ${opts.approveAs}: ${err.message}`)),
                );
              } else
                log(
                  bold(
                    `Waiting for an approver: ${linksShown ? 'open an Approve link above' : `open the approval email in ${stack.outboxDir}`} ` +
                      `(or run: npx launchway approve ${started.releaseId} --as lead@example.com)`,
                  ),
                );
            }
          } else show(e);
        },
      });
      await approving;
      log(describeRelease(last));
      if (last.status !== 'SUCCEEDED') break;
      if (last.links?.interopUrl) log(dim(`  partners call ${last.links.interopUrl}/greetings/ada`));
    }
  } finally {
    await stack.stop();
  }
  const final = last;
  if (opts.json && final) console.log(JSON.stringify(final));
  if (final?.status === 'SUCCEEDED') {
    log(`\n${green('✔')} Demo complete: production runs greeter ${final.version}. Release notes: ${final.links?.releaseNotes ?? '(none)'}`);
    return 0;
  }
  log(`\n${red('✖')} Demo ended ${final?.status ?? 'without a release'}`);
  return final ? exitCodeForStatus(final.status) : EXIT.ERROR;
}

async function approve(outbox: string, releaseId: string, approver: string, log: (l: string) => void): Promise<void> {
  log(dim(`approving as ${approver}: GET the confirmation page, then POST the decision`));
  await decideFromOutbox(outbox, { releaseId, approver, decision: 'approve', comment: 'Approved from the Launchway demo' });
}
