import '../local/embedded-defaults.js';
import '../local/polyfills.js';
import { Command, Option } from 'commander';
import { ValidationError } from '../functions/lib/errors.js';
import { runApprovalCommand } from './approve.js';
import { runDemo } from './demo.js';
import { runDev } from './dev.js';
import { bold, describeRelease, dim, releaseRow, red, statusColor, stepLine } from './format.js';
import { EXIT_CODE_ROLLBACK_FAILED, exitCodeOf, getReleaseView, releaseStore, startRelease, waitForRelease } from './release-client.js';
import { loadEndpointsEnv } from './endpoints.js';

const program = new Command()
  .name('launchway')
  .description('Release services through staging, smoke tests, an email approval, production and the interop gateway.')
  .showHelpAfterError();

program
  .command('dev')
  .description('boot the embedded stack (DynamoDB, S3, Step Functions, approval API, gateway) and stay up')
  .option('--catalog <file>', 'service catalog JSON', 'examples/catalog.json')
  .option('--data-dir <dir>', 'where the stack keeps its data', '.launchway')
  .option('--print-links', 'print signed approval links even when stdout is not a terminal (they are bearer credentials)')
  .action((opts) => runDev(opts));

program
  .command('demo')
  .description('boot the embedded stack and release the example service (1.0.0, then the upgrade to 1.1.0)')
  .option('--approve-as <email>', 'approve through the real link flow as this approver instead of waiting for a click')
  .option('--data-dir <dir>', 'where the stack keeps its data', '.launchway')
  .option('--json', 'print the final release record as the last line of stdout')
  .option('--print-links', 'print signed approval links even when stdout is not a terminal (they are bearer credentials)')
  .action(async (opts) => {
    process.exitCode = await runDemo(opts);
  });

program
  .command('release')
  .description('upload the artifact, collection and spec, then start a release')
  .requiredOption('--service <name>', 'service name from the catalog')
  .requiredOption('--version <semver>', 'version being released, e.g. 1.4.0')
  .requiredOption('--commit <sha>', 'git commit sha')
  .requiredOption('--triggered-by <email>', 'who or what triggered the release')
  .requiredOption('--bundle <file>', 'the deployable artifact')
  .requiredOption('--collection <file>', 'Postman collection for the smoke tests')
  .requiredOption('--openapi <file>', 'OpenAPI contract for the interop layer')
  .option('--branch <name>', 'git branch', 'main')
  .option('--changes <file>', 'JSON list of changes ({ title, sha, author, url }) for the release notes')
  .option('--wait', `follow the release and exit 0 only if it SUCCEEDED (${EXIT_CODE_ROLLBACK_FAILED} for ROLLBACK_FAILED, else 1)`)
  .option('--json', 'print JSON')
  .action(async (opts) => {
    loadEndpointsEnv();
    const started = await startRelease({ ...opts, changesFile: opts.changes });
    if (!opts.json) {
      process.stderr.write(
        started.started
          ? `Started ${bold(started.releaseId)}\n  ${dim(started.executionArn)}\n`
          : `${bold(started.releaseId)} was already started for this service, version and commit; following it.\n`,
      );
    }
    if (!opts.wait) {
      if (opts.json) console.log(JSON.stringify(started));
      return;
    }
    const view = await waitForRelease(started.releaseId, {
      executionArn: started.executionArn,
      onProgress: (e) => {
        if (opts.json) return;
        if (e.kind === 'status') process.stderr.write(`status ${statusColor(e.status)}\n`);
        else process.stderr.write(`${stepLine(e.step)}\n`);
      },
    });
    if (opts.json) console.log(JSON.stringify(view));
    else console.log(describeRelease(view));
    process.exitCode = exitCodeOf(view.status);
  });

program
  .command('status <releaseId>')
  .description('show one release with its steps')
  .option('--json', 'print JSON')
  .action(async (releaseId: string, opts) => {
    loadEndpointsEnv();
    const view = await getReleaseView(releaseId);
    if (!view) {
      console.error(red(`release ${releaseId} does not exist`));
      process.exitCode = 1;
      return;
    }
    console.log(opts.json ? JSON.stringify(view, null, 2) : describeRelease(view));
  });

program
  .command('list')
  .description('list releases, newest first')
  .option('--service <name>', 'only this service')
  .addOption(new Option('--limit <n>', 'how many').default(20).argParser((v) => Number.parseInt(v, 10)))
  .option('--json', 'print JSON')
  .action(async (opts) => {
    loadEndpointsEnv();
    const store = releaseStore();
    const rows = opts.service ? await store.listByService(opts.service, opts.limit) : await store.listAll(opts.limit);
    if (opts.json) console.log(JSON.stringify(rows, null, 2));
    else if (rows.length === 0) console.log(dim('no releases yet'));
    else console.log(rows.map(releaseRow).join('\n'));
  });

for (const decision of ['approve', 'reject'] as const) {
  program
    .command(`${decision} <releaseId>`)
    .description(
      `${decision} a release waiting for approval: embedded, through your signed link from the outbox; on AWS ` +
        '(LAUNCHWAY_APPROVAL_API_URL), as your IAM identity with a SigV4-signed request',
    )
    .requiredOption(
      '--as <email>',
      'the approver you act as: embedded, whose emailed link to follow; on AWS, who your IAM identity maps to (else 403)',
    )
    .option('--comment <text>', 'a comment kept with the decision')
    .option('--json', 'print JSON')
    .action(async (releaseId: string, opts) => {
      loadEndpointsEnv();
      await runApprovalCommand({ releaseId, decision, approver: opts.as, comment: opts.comment, json: opts.json });
    });
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ValidationError) {
    console.error(red(`✖ ${err.message.split(':')[0]}`));
    for (const [field, message] of Object.entries(err.fields)) console.error(`  ${bold(field)}: ${message}`);
    process.exitCode = 2;
    return;
  }
  console.error(red(`✖ ${(err as Error).message}`));
  if (process.env.LAUNCHWAY_DEBUG) console.error(err);
  process.exitCode = 1;
});
