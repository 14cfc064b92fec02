import '../local/embedded-defaults.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { NotFoundError, ValidationError } from '../functions/lib/errors.js';
import { CliError, describeError, renderError } from './errors.js';
import { EXIT, exitCodeForStatus } from './exit-codes.js';
import { bold, describeRelease, dim, releaseRow, red } from './format.js';
import { HELP, PROGRAM_HELP } from './help.js';
import { packagePath } from './package-root.js';
import { durationOption, exactlyOne, positiveInt } from './options.js';
import { locateStack, type StackRef } from './stack-outputs.js';

/*
 * Only commander and small modules load up front. Each action imports what it needs when it runs: the embedded
 * runtime (emulators, every handler, newman) only for `dev` and `demo`, the SDK clients only for the commands that
 * call AWS, so `--help`, `--version` and the read commands start in a fraction of a second.
 */

/** With --json anywhere on the line, errors are printed as JSON on stdout, parse errors included. */
const json = process.argv.includes('--json');
// The AWS SDK warns on every run under Node 20 that its releases after January 2027 need Node 22: nine lines on
// stderr of each command, about the SDK's future rather than the command. package.json's engines state the Node
// the CLI needs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
/** On every command that talks to a deployed stack: where its outputs are read from (cli/stack-outputs.ts). */
const stackOption = () =>
  new Option('--stack <name>', 'on AWS: the CloudFormation stack whose outputs say where the pipeline is').env('LAUNCHWAY_STACK');
/** The stack named by --stack or LAUNCHWAY_STACK, and which of the two: its errors name the one the user gave. */
function stackOf(command: Command): StackRef | undefined {
  const name = command.opts().stack as string | undefined;
  if (name === undefined) return undefined;
  return { name, from: command.getOptionValueSource('stack') === 'env' ? 'LAUNCHWAY_STACK' : '--stack' };
}
const LINKS_HELP = 'print signed approval links even when stdout is not a terminal (they are bearer credentials)';

function packageVersion(): string {
  return (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
}

const program = new Command()
  .name('launchway')
  .description('Release services through staging, smoke tests, an email approval, production and the interop gateway.')
  .version(packageVersion(), '-v, --version', 'print the launchway version')
  // Program options only before the command: `release --version 1.2.3` is the release's version, not ours.
  .enablePositionalOptions()
  .exitOverride()
  .showHelpAfterError('(launchway <command> --help shows its options, examples and environment)')
  .addHelpText('after', PROGRAM_HELP);
// Commands copy these settings when created: with --json, commander's own error text stays off stderr.
if (json) program.configureOutput({ writeErr: () => {}, outputError: () => {} });

program
  .command('init')
  .description("set up releasing this folder's service: a catalog, a CDK app, a GitHub Actions workflow, a README section")
  .option('--service <name>', "the service's name in the catalog (default: package.json's name, else the folder's)")
  .option('--force', 'replace launchway.catalog.json, launchway-app.mjs and the workflow when they exist')
  .option('--json', 'print what was written as JSON')
  .addHelpText('after', HELP.init)
  .action(async (opts) => {
    const { describeInit, runInit } = await import('./init.js');
    const result = await runInit(opts);
    console.log(opts.json ? JSON.stringify(result, null, 2) : describeInit(result));
  });

program
  .command('dev')
  .description('boot the embedded stack (DynamoDB, S3, Step Functions, approval API, gateway) and stay up')
  .option('--catalog <file>', 'service catalog JSON (default: launchway.catalog.json in the working directory)')
  .option('--data-dir <dir>', 'where the stack keeps its data (kept across restarts)', '.launchway')
  .option('--fresh', 'start clean: forget the records, artifacts, outbox, gateway routes, signing secret and ports')
  .option('--print-links', LINKS_HELP)
  .addHelpText('after', HELP.dev)
  .action(async (opts) => {
    // Before the embedded runtime loads: a folder without a catalog fails at once.
    const { findDevCatalog } = await import('./dev-catalog.js');
    const catalog = findDevCatalog(opts.catalog);
    const { runDev } = await import('./dev.js');
    await runDev({ ...opts, catalog });
  });

program
  .command('demo')
  .description('boot the embedded stack and release the example service (1.0.0, then the upgrade to 1.1.0)')
  .option('--approve-as <email>', 'approve through the real link flow as this approver instead of waiting for a click')
  .option('--data-dir <dir>', 'where the stack keeps its data', '.launchway')
  .option('--json', 'print the final release record as the last line of stdout')
  .option('--print-links', LINKS_HELP)
  .addHelpText('after', HELP.demo)
  .action(async (opts) => {
    const { runDemo } = await import('./demo.js');
    process.exitCode = await runDemo(opts);
  });

program
  .command('release')
  .description('upload the artifact (a file, or a directory packed with its node_modules), collection and spec, then start a release')
  .requiredOption('--service <name>', 'service name from the catalog (required)')
  .requiredOption('--version <semver>', 'version being released, e.g. 1.4.0 (required)')
  .requiredOption('--commit <sha>', 'git commit sha (required)')
  .requiredOption('--triggered-by <email>', 'who or what triggered the release (required)')
  .option('--artifact <path>', 'the deployable (required): a file, or a directory packed with its node_modules into one .tar.gz')
  .option('--bundle <path>', 'the older name of --artifact; give one of the two')
  .requiredOption('--collection <file>', 'Postman collection for the smoke tests (required)')
  .requiredOption('--openapi <file>', 'OpenAPI contract for the interop layer (required)')
  .option(
    '--environment <file>',
    'a Postman environment (JSON) whose values the collection gets; ' +
      "Launchway's built-in variables (baseUrl, apiKey, …) and the catalog's tests.variables and secretVariables override them",
  )
  .option('--branch <name>', 'git branch', 'main')
  .option('--changes <file>', 'JSON list of changes ({ title, sha, author, url }) for the release notes')
  .option('--wait', 'follow the release until it ends; the exit code tells how it ended (0 only for SUCCEEDED)')
  .option('--timeout <duration>', 'with --wait: stop waiting after this long, e.g. 90m or 2h (exit 4)', durationOption('--timeout'))
  .option('--json', 'print JSON')
  .addOption(stackOption())
  .addHelpText('after', HELP.release)
  .action(async (opts, command: Command) => {
    if (opts.timeout !== undefined && !opts.wait) {
      throw new ValidationError('--timeout needs --wait', { '--timeout': 'only with --wait: it bounds the wait' });
    }
    exactlyOne({ '--artifact': opts.artifact, '--bundle': opts.bundle });
    await locateStack(stackOf(command), ['LAUNCHWAY_STATE_MACHINE_ARN', 'RELEASES_TABLE', 'ARTIFACTS_BUCKET']);
    const { artifactStore, releaseStore, startRelease, waitForRelease, WaitTimeoutError } = await import('./release-client.js');
    const started = await startRelease(
      { ...opts, changesFile: opts.changes },
      {
        // On stderr, with --json too: the job log shows the API changes before the release starts, stdout stays JSON.
        beforeUpload: async () => {
          const { previewApiChanges } = await import('./diff.js');
          const deps = { store: releaseStore(), artifacts: artifactStore() };
          await previewApiChanges(deps, opts.service, opts.openapi, (text) => process.stderr.write(`${text}\n`));
        },
      },
    );
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
    const { waitProgress } = await import('./progress.js');
    const show = waitProgress((line) => process.stderr.write(`${line}\n`), {
      heartbeatMs: process.stderr.isTTY ? 60_000 : 10 * 60_000,
    });
    const view = await waitForRelease(started.releaseId, {
      executionArn: started.executionArn,
      timeoutMs: opts.timeout,
      onProgress: (e) => {
        if (!opts.json) show(e);
      },
    }).catch((err: unknown) => {
      if (!(err instanceof WaitTimeoutError)) throw err;
      throw new CliError('TIMEOUT', err.message, EXIT.WAIT_TIMEOUT, { releaseId: err.releaseId, status: err.lastStatus });
    });
    if (opts.json) console.log(JSON.stringify(view));
    else console.log(describeRelease(view));
    process.exitCode = exitCodeForStatus(view.status);
  });

program
  .command('diff')
  .description('compare a contract with the one production serves for the service; exit 3 when it breaks partners')
  .requiredOption('--service <name>', 'service name from the catalog (required)')
  .requiredOption('--openapi <file>', 'the OpenAPI or Swagger contract to compare (required)')
  .option('--json', 'print the changes as JSON (against, changes, breaking, deprecations, nonBreaking)')
  .addOption(stackOption())
  .addHelpText('after', HELP.diff)
  .action(async (opts, command: Command) => {
    await locateStack(stackOf(command), ['RELEASES_TABLE', 'ARTIFACTS_BUCKET']);
    const { runDiff } = await import('./diff.js');
    process.exitCode = await runDiff(opts);
  });

program
  .command('status <releaseId>')
  .description('show one release with its steps (exit 0 whenever it was read, whatever its status)')
  .option('--json', 'print JSON')
  .addOption(stackOption())
  .addHelpText('after', HELP.status)
  .action(async (releaseId: string, opts, command: Command) => {
    await locateStack(stackOf(command), ['RELEASES_TABLE']);
    const { readStore } = await import('./read-store.js');
    const view = await readStore().getView(releaseId);
    if (!view) throw new NotFoundError(`release ${releaseId} does not exist`);
    console.log(opts.json ? JSON.stringify(view, null, 2) : describeRelease(view));
  });

program
  .command('report <releaseId>')
  .description("download a release's Newman reports (JSON, JUnit) and print its failed requests with their statuses")
  .addOption(new Option('--stage <stage>', 'staging or production (default: the last that ran)').choices(['staging', 'production']))
  .option('--out <dir>', 'where to write the reports (default .launchway/reports/<releaseId>/<stage>)')
  .option('--open', 'open the folder with open / xdg-open when there is one')
  .option('--json', 'print JSON')
  .addOption(stackOption())
  .addHelpText('after', HELP.report)
  .action(async (releaseId: string, opts, command: Command) => {
    await locateStack(stackOf(command), ['RELEASES_TABLE', 'ARTIFACTS_BUCKET']);
    const { readArtifacts } = await import('./read-artifacts.js');
    const { readStore } = await import('./read-store.js');
    const { describeReport, fetchReport, openWithDesktop } = await import('./report.js');
    const report = await fetchReport(
      { store: readStore(), artifacts: readArtifacts() },
      { releaseId, stage: opts.stage, outDir: opts.out },
    );
    console.log(opts.json ? JSON.stringify(report, null, 2) : describeReport(report));
    if (opts.open) process.stderr.write(`${await openWithDesktop(path.dirname(report.files[0]))}\n`);
  });

program
  .command('list')
  .description('list releases, newest first')
  .option('--service <name>', 'only this service')
  .addOption(new Option('--limit <n>', 'how many, 1 to 1000').default(20).argParser(positiveInt('--limit', 1000)))
  .option('--json', 'print JSON')
  .addOption(stackOption())
  .addHelpText('after', HELP.list)
  .action(async (opts, command: Command) => {
    await locateStack(stackOf(command), ['RELEASES_TABLE']);
    const { readStore } = await import('./read-store.js');
    const store = readStore();
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
      'the approver you act as (required): embedded, whose emailed link to follow; on AWS, who your IAM identity maps to',
    )
    .option('--comment <text>', 'a comment kept with the decision')
    .option('--json', 'print JSON')
    .addOption(stackOption())
    .addHelpText('after', HELP.decide(decision))
    .action(async (releaseId: string, opts, command: Command) => {
      await locateStack(stackOf(command), []);
      const { runApprovalCommand } = await import('./approve.js');
      await runApprovalCommand({ releaseId, decision, approver: opts.as, comment: opts.comment, json: opts.json });
    });
}

const operatorOption = () =>
  new Option('--as <email>', 'who runs the command (required), kept on the record').env('LAUNCHWAY_OPERATOR').makeOptionMandatory();
const reasonOption = () =>
  new Option('--reason <text>', 'why, kept on the record (required, at most 500 characters)').makeOptionMandatory();

program
  .command('cancel <releaseId>')
  .description('stop a release that has not ended: it ends CANCELLED, production rolled back if it was touched')
  .addOption(operatorOption())
  .addOption(reasonOption())
  .option('--wait', 'follow the release until it ends; the exit code tells how it ended (15 CANCELLED)')
  .option('--timeout <duration>', 'with --wait: stop waiting after this long, e.g. 5m (exit 4)', durationOption('--timeout'))
  .option('--json', 'print JSON')
  .addOption(stackOption())
  .addHelpText('after', HELP.cancel)
  .action(async (releaseId: string, opts, command: Command) => {
    if (opts.timeout !== undefined && !opts.wait) {
      throw new ValidationError('--timeout needs --wait', { '--timeout': 'only with --wait: it bounds the wait' });
    }
    await locateStack(stackOf(command), ['RELEASES_TABLE']);
    const { runCancel } = await import('./operate.js');
    process.exitCode = await runCancel({ releaseId, ...opts });
  });

program
  .command('redrive <releaseId>')
  .description('resume a release that failed before production: it takes the lock again and runs from staging')
  .addOption(operatorOption())
  .addOption(reasonOption())
  .option('--json', 'print JSON')
  .addOption(stackOption())
  .addHelpText('after', HELP.redrive)
  .action(async (releaseId: string, opts, command: Command) => {
    await locateStack(stackOf(command), ['RELEASES_TABLE']);
    const { runRedrive } = await import('./operate.js');
    process.exitCode = await runRedrive({ releaseId, ...opts });
  });

program
  .command('rollback <service>')
  .description('put production back on the release before the one it serves (refused while a release holds the lock)')
  .addOption(operatorOption())
  .addOption(reasonOption())
  .option('--json', 'print JSON')
  .addOption(stackOption())
  .addHelpText('after', HELP.rollback)
  .action(async (service: string, opts, command: Command) => {
    await locateStack(stackOf(command), ['LAUNCHWAY_OPERATE_FUNCTION']);
    const { runRollback } = await import('./operate.js');
    process.exitCode = await runRollback({ service, ...opts });
  });

program
  .command('unlock <service>')
  .description("remove a service's lock left by a release that no longer runs (refused while its holder runs)")
  .addOption(operatorOption())
  .addOption(reasonOption())
  .option('--json', 'print JSON')
  .addOption(stackOption())
  .addHelpText('after', HELP.unlock)
  .action(async (service: string, opts, command: Command) => {
    await locateStack(stackOf(command), ['RELEASES_TABLE']);
    const { runUnlock } = await import('./operate.js');
    process.exitCode = await runUnlock({ service, ...opts });
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  // --help and --version end through exitOverride too, with exit code 0.
  if ((err as { name?: string }).name === 'CommanderError' && (err as { exitCode?: number }).exitCode === 0) return;
  const { exitCode, body } = describeError(err);
  process.exitCode = exitCode;
  if (json) console.log(JSON.stringify(body));
  // commander has written its own usage message already.
  else if ((err as { name?: string }).name !== 'CommanderError') console.error(renderError(body, { red, bold }));
  if (process.env.LAUNCHWAY_DEBUG && body.error.code === 'INTERNAL') console.error(err);
});
