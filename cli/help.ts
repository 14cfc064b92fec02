/**
 * The text `launchway <command> --help` shows after the options: examples, the environment each command reads, and
 * its exit codes. Plain text (no colour), so it reads the same in a terminal, a pipe and the README.
 */

const STACK_ENV = `
  LAUNCHWAY_STACK           on AWS, as --stack: the CloudFormation stack whose outputs set the variables above,
                            replacing other values (named on stderr); needs cloudformation:DescribeStacks on it
  .launchway/endpoints.env  read when LAUNCHWAY_STATE_MACHINE_ARN is unset and no stack is named (\`launchway dev\`)
  AWS_REGION, AWS_PROFILE   and the rest of the AWS SDK's credential chain (on AWS)
  AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SFN   the embedded stack's endpoints`;

const COMMON_ENV = `
  NO_COLOR, FORCE_COLOR     no colour / colour even when stdout or stderr is not a terminal
  LAUNCHWAY_DEBUG           print the stack trace of an unexpected error`;

const RELEASE_EXIT = `
  with --wait: 0 SUCCEEDED, 10 FAILED, 11 REJECTED, 12 EXPIRED, 13 ROLLED_BACK, 14 ROLLBACK_FAILED,
  15 CANCELLED or SUPERSEDED, 4 --timeout passed (the release goes on). Without --wait: 0 once started.
  Any command: 1 error, 2 usage or validation, 5 stack unreachable.`;

/** Titled sections, a blank line between them (commander writes the first after a blank line of its own). */
const sections = (...parts: [title: string, body: string][]) => parts.map(([title, body]) => `\n${title}:${body}`).join('\n');

export const PROGRAM_HELP = sections(
  [
    'Examples',
    `
  $ launchway demo --approve-as lead@example.com    a whole release on this machine, approved through its link
  $ launchway init                                  set up releasing this folder's service (catalog, CDK app, workflow)
  $ launchway dev                                   the embedded stack with ./launchway.catalog.json, for the other commands
  $ launchway diff --service greeter --openapi openapi.yaml   what a contract changes for partners (exit 3: breaking)
  $ launchway status greeter-1.0.0-1a2b3c4 --json
  $ launchway list --stack Launchway                on AWS: where the pipeline is, from the stack's outputs`,
  ],
  [
    'Exit codes',
    `
  0 success (for release --wait and demo: the release SUCCEEDED), 1 error, 2 usage or validation,
  3 diff found a breaking change, 4 --wait --timeout passed, 5 stack unreachable; a release that ended
  otherwise: 10 FAILED, 11 REJECTED, 12 EXPIRED, 13 ROLLED_BACK, 14 ROLLBACK_FAILED, 15 CANCELLED or SUPERSEDED.
  With --json, errors are {"error":{"code","message","details"}} on stdout.`,
  ],
  ['Environment', COMMON_ENV],
);

const TABLE_ENV = `
  RELEASES_TABLE            the release table (a stack output on AWS)${STACK_ENV}${COMMON_ENV}`;

export const HELP = {
  init: sections(
    [
      'Examples',
      `
  $ launchway init                              the service named after package.json's name (or the folder)
  $ launchway init --service payments --json    name it; print the files written as JSON
  $ launchway init --force                      replace the files an earlier init wrote`,
    ],
    [
      'What it writes',
      `
  In the working directory: launchway.catalog.json (one service, local-process stages, placeholder approvers),
  launchway-app.mjs (a CDK app with the ReleasePipeline construct), cdk.json (only when there is none),
  .github/workflows/launchway-release.yml (releases on push to main through the stack's OIDC role), and a
  "Releasing with Launchway" section in README.md (created if absent, never added twice). Existing files are
  refused, each named, before anything is written, unless --force; so is a path in the way (a file where a folder
  must be, a folder where a file must be, something unwritable). Nothing is installed or fetched. The local-process
  targets only run embedded (launchway dev): set AWS targets in the catalog before releasing on AWS.`,
    ],
    [
      'Exit codes',
      `
  0 written, 1 an unexpected I/O error while writing (the files this run created are removed again),
  2 a file exists (without --force), a path in the way, or a bad --service.`,
    ],
  ),
  dev: sections(
    [
      'Examples',
      `
  $ launchway dev                                            with launchway.catalog.json in this folder
  $ launchway dev --catalog services.json --fresh            another catalog; forget the last run's state
  $ LOG_LEVEL=INFO launchway dev --data-dir /tmp/launchway   every step's structured log lines`,
    ],
    [
      'Catalog',
      `
  --catalog, else launchway.catalog.json in the working directory (launchway init writes one); without either,
  dev stops with exit 2. launchway demo runs the bundled example service instead.`,
    ],
    [
      'State',
      `
  Records, artifacts, the outbox, gateway routes, the approval signing secret and the ports are kept in --data-dir
  across restarts. On boot, live local-process versions are restarted on their ports, and releases whose execution
  the restart lost end CANCELLED with their lock released. The catalog file is reloaded when it changes (an invalid
  edit is refused, the running catalog stays). Secrets the catalog names: <data-dir>/secrets.json, mode 0600.`,
    ],
    [
      'Environment',
      `
  LOG_LEVEL                 the handlers' log level (default WARN)
  OUTBOX_PRINT_LINKS        true: print signed approval links even when stdout is not a terminal${COMMON_ENV}`,
    ],
  ),
  demo: sections(
    [
      'Examples',
      `
  $ launchway demo                                  waits for you to open an approval link
  $ launchway demo --approve-as lead@example.com --json`,
    ],
    ['Environment', `\n  LOG_LEVEL                 the handlers' log level (default WARN)${COMMON_ENV}`],
    ['Exit codes', `\n  the last release's, as for release --wait: 0 SUCCEEDED, 10 FAILED, 11 REJECTED, …`],
  ),
  release: sections(
    [
      'Examples',
      `
  $ launchway release --service greeter --version 1.0.0 --commit 1a2b3c4 --triggered-by ci@example.com \\
      --artifact dist/service.mjs --collection collection.postman.json --openapi openapi.yaml --wait
  $ launchway release … --artifact build/ --environment postman/local.postman_environment.json
  $ launchway release … --wait --timeout 2h --json   the final record as JSON; stop waiting after 2 hours`,
    ],
    [
      'Artifact',
      `
  --artifact takes a file (uploaded as it is) or a directory: the directory is packed, node_modules, native .node
  addons, symbolic links and executable bits included (.git left out), into one gzipped tar of at most 512 MiB
  whose entries are relative to the directory, uploaded as <directory name>.tar.gz. The pack is deterministic, so
  the same build gives the same sha256. The request carries that sha256 (artifacts.bundleSha256); Prepare checks
  it against the object in S3 and every deploy checks it again (ArtifactIntegrity on a mismatch). --bundle is the
  older name of --artifact.
  --environment uploads a Postman environment file ({ "name", "values": [{ "key", "value", "enabled" }] }); its
  enabled values reach the collection, and Launchway's built-in variables (baseUrl, apiKey, …) and the catalog's
  tests.variables and secretVariables override them.`,
    ],
    [
      'API changes',
      `
  Before it uploads or starts anything, release compares --openapi with the contract production serves for the
  service, as launchway diff does, and prints the changes on stderr (with --json too). It never refuses: the
  catalog's interop.breakingChanges policy decides in the pipeline. If the live contract cannot be read, it says so
  and goes on.`,
    ],
    [
      'Environment',
      `
  LAUNCHWAY_STATE_MACHINE_ARN, RELEASES_TABLE, ARTIFACTS_BUCKET   the stack (its outputs on AWS)${STACK_ENV}${COMMON_ENV}`,
    ],
    ['Exit codes', RELEASE_EXIT],
  ),
  diff: sections(
    [
      'Examples',
      `
  $ launchway diff --service greeter --openapi openapi.yaml        breaking changes first; exit 3 if there are any
  $ launchway diff --service greeter --openapi openapi.yaml --json | jq '.changes[] | select(.severity == "breaking")'`,
    ],
    [
      'What it does',
      `
  Compares the contract with the one partners have now: the contract of the release production serves for the
  service (its uploaded --openapi), not the one on main. Every change is breaking, a deprecation or non-breaking,
  with method, path, where and the rule that classified it. A service with no live release has nothing to compare.
  Nothing is written. --json prints { against, changes, breaking, deprecations, nonBreaking }.`,
    ],
    ['Environment', `\n  ARTIFACTS_BUCKET          the artifact bucket (a stack output on AWS)${TABLE_ENV}`],
    [
      'Exit codes',
      `
  0 nothing breaking (or a first release), 3 at least one breaking change; 1 the live contract cannot be read,
  2 usage (a bad contract, naming the field; a service the catalog does not list), 5 stack unreachable.`,
    ],
  ),
  status: sections(
    [
      'Examples',
      `
  $ launchway status greeter-1.0.0-1a2b3c4
  $ launchway status greeter-1.0.0-1a2b3c4 --json | jq .approval`,
    ],
    ['Environment', TABLE_ENV],
    [
      'Exit codes',
      `
  0 when the release was read, whatever its status (read .status, or use release --wait);
  1 no such release, 2 usage, 5 stack unreachable.`,
    ],
  ),
  report: sections(
    [
      'Examples',
      `
  $ launchway report greeter-1.1.0-1a2b3c4                      the last stage that ran; failed requests with statuses
  $ launchway report greeter-1.1.0-1a2b3c4 --stage staging --open
  $ launchway report greeter-1.1.0-1a2b3c4 --out /tmp/reports --json`,
    ],
    [
      'What it does',
      `
  Downloads the Newman reports (newman.json, junit.xml) of the smoke tests (staging) or the production validation
  (production) to --out, by default .launchway/reports/<releaseId>/<stage>/, and prints each failed request with
  its method, path and HTTP status. --open opens the folder with open or xdg-open when there is one.`,
    ],
    ['Environment', `\n  ARTIFACTS_BUCKET          the artifact bucket (a stack output on AWS)${TABLE_ENV}`],
    [
      'Exit codes',
      `\n  0 reports written (whatever they say), 1 no such release or no report for that stage yet, 2 usage, 5 stack unreachable.`,
    ],
  ),
  list: sections(['Examples', `\n  $ launchway list --service greeter --limit 5\n  $ launchway list --json`], ['Environment', TABLE_ENV]),
  cancel: sections(
    [
      'Examples',
      `
  $ launchway cancel greeter-1.4.0-1a2b3c4 --as lead@example.com --reason "wrong build" --wait`,
    ],
    [
      'Who',
      `
  --as is required for now (or LAUNCHWAY_OPERATOR); on AWS it is to become the caller's IAM identity.
  The record keeps stopRequest { by, reason, at }; cancelling again keeps the first request.`,
    ],
    ['Environment', `\n  LAUNCHWAY_OPERATOR        who runs the command, when --as is not given${TABLE_ENV}`],
    [
      'Exit codes',
      `
  0 requested (without --wait); with --wait: 15 CANCELLED (or how the release ended, as for release --wait),
  4 --timeout passed; 2 a release that has already ended (nothing is written), a missing --reason or --as;
  1 no such release; 5 stack unreachable.`,
    ],
  ),
  redrive: sections(
    ['Examples', `\n  $ launchway redrive greeter-1.4.0-1a2b3c4 --as lead@example.com --reason "staging database was down"`],
    [
      'What it does',
      `
  For a FAILED release whose error.state is AcquireLock, DeployStaging, CheckStaging, SmokeTestStaging,
  RequestApproval or RemindApprovers: writes redrive { count, by, reason, at } on the record, then calls
  RedriveExecution. The execution reopens the release (RUNNING; the failure is kept in redrives), takes the lock
  again (queueing behind a release that holds it) and runs from staging: deploy, smoke tests, approval.
  On AWS the caller needs states:DescribeExecution and states:RedriveExecution on the release's execution.`,
    ],
    ['Environment', `\n  LAUNCHWAY_OPERATOR        who runs the command, when --as is not given${TABLE_ENV}`],
    [
      'Exit codes',
      `
  0 redriven; 2 refused (not FAILED, failed in Prepare or after production, execution gone or not redrivable),
  a missing --reason or --as; 1 no such release, or it changed while checked (run it again); 5 stack unreachable.`,
    ],
  ),
  rollback: sections(
    ['Examples', `\n  $ launchway rollback greeter --as lead@example.com --reason "1.4.0 breaks partner logins"`],
    [
      'What it does',
      `
  Takes the service lock (refused, naming the holder, while a release holds it: cancel it first), finds the
  release production serves (CURRENT#production, or a newer ROLLBACK_FAILED one), restores its DeployProduction
  step's previous deployment and its ProvisionInterop step's previous gateway deployment, points
  CURRENT#production at the restored release and marks the undone one ROLLED_BACK with rolledBackBy
  { by, reason, at, restoredVersion }. A service's first release has nothing to go back to: refused.
  It runs in the stack (the operate function); on AWS the caller needs lambda:InvokeFunction on it.`,
    ],
    [
      'Environment',
      `
  LAUNCHWAY_OPERATE_FUNCTION   the operate function (stack output OperateFunctionName)
  LAUNCHWAY_OPERATOR        who runs the command, when --as is not given
  AWS_ENDPOINT_URL_LAMBDA   the embedded stack's Lambda endpoint${STACK_ENV}${COMMON_ENV}`,
    ],
    [
      'Exit codes',
      `
  0 rolled back; 2 refused (the lock is held, nothing live to undo, a first release), a missing --reason or --as;
  1 the restore failed (the release keeps its status; production may be mid-way) or an unexpected error;
  5 stack unreachable.`,
    ],
  ),
  unlock: sections(
    ['Examples', `\n  $ launchway unlock greeter --as lead@example.com --reason "holder's execution was deleted"`],
    [
      'What it does',
      `
  Removes LOCK#<service> when its holder no longer runs (its execution ended or never existed). Refused while the
  holder runs: cancel that release instead. The holder's record keeps unlockedBy { by, reason, at }.
  A free lock is nothing to do (exit 0). --as is required for now (or LAUNCHWAY_OPERATOR).`,
    ],
    ['Environment', `\n  LAUNCHWAY_OPERATOR        who runs the command, when --as is not given${TABLE_ENV}`],
    [
      'Exit codes',
      `
  0 removed, or already free; 2 the holder still runs, a missing --reason or --as; 1 the lock changed hands
  meanwhile (run it again); 5 stack unreachable.`,
    ],
  ),
  decide: (decision: 'approve' | 'reject') =>
    sections(
      [
        'Examples',
        `
  $ launchway ${decision} greeter-1.0.0-1a2b3c4 --as lead@example.com --comment "${decision === 'approve' ? 'looks good' : 'smoke report shows a regression'}"`,
      ],
      [
        'Environment',
        `
  OUTBOX_DIR                embedded: the outbox whose emailed link is followed (from .launchway/endpoints.env)
  LAUNCHWAY_APPROVAL_API_URL   on AWS: the approval API URL (stack output); the request is SigV4-signed
  LAUNCHWAY_STACK           on AWS, as --stack: the stack whose ApprovalApiUrl output sets it (OUTBOX_DIR ignored)
  AWS_REGION, AWS_PROFILE   and the rest of the AWS SDK's credential chain (on AWS)${COMMON_ENV}`,
      ],
      [
        'Exit codes',
        `
  0 recorded, 1 refused (the API's code with --json: FORBIDDEN, CONFLICT, GONE, …), 2 usage, 5 stack unreachable.`,
      ],
    ),
};
