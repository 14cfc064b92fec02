/**
 * What `launchway init` writes, as TypeScript strings so they compile into dist/ with the CLI (no template files to
 * find at run time). Each is checked by test/integration/cli-init.test.ts: the catalog against parseCatalog and the
 * JSON Schema, the workflow against test/helpers/release-workflow-checks.ts, the checks the example workflow gets too.
 */

/** The stack the app creates unless `-c stackName=…`; the workflow's LAUNCHWAY_STACK names it. */
const DEFAULT_STACK_NAME = 'Launchway';
/** Where the workflow goes, and the heading that marks the README section (appended once). */
export const WORKFLOW_FILE = '.github/workflows/launchway-release.yml';
export const README_HEADING = '## Releasing with Launchway';

/**
 * One service released through local processes, so `launchway dev` boots it as is; on AWS its targets become
 * lambda-alias, ecs-service, cloudformation or http ones (docs/deploy-to-aws.md).
 */
export function catalogTemplate(service: string): string {
  const catalog = {
    $schema: './node_modules/launchway/schemas/catalog.schema.json',
    services: {
      [service]: {
        description:
          `${service}, released by Launchway. Replace the approvers. local-process targets only run embedded ` +
          '(launchway dev): set lambda-alias, ecs-service, http or cloudformation ones before releasing on AWS.',
        approvers: ['lead@example.com', 'qa@example.com'],
        requiredApprovals: 1,
        triggeredBy: ['ci@example.com'],
        approvalTimeoutSeconds: 24 * 3600,
        staging: { type: 'local-process', healthPath: '/health' },
        production: { type: 'local-process', healthPath: '/health' },
        interop: { enabled: true, apiKeyRequired: true, apiKeys: ['partner'], stage: 'v1' },
      },
    },
  };
  return `${JSON.stringify(catalog, null, 2)}\n`;
}

export const APP_TEMPLATE = `// The Launchway pipeline for launchway.catalog.json's services: cdk deploy -c mailFrom=releases@your.domain
import { App, Stack } from 'aws-cdk-lib';
import { ReleasePipeline, loadCatalogFile } from 'launchway';

const app = new App();
const mailFrom = app.node.tryGetContext('mailFrom') ?? process.env.LAUNCHWAY_MAIL_FROM;
if (!mailFrom) throw new Error('Give the approval email sender: cdk deploy -c mailFrom=<address> (or LAUNCHWAY_MAIL_FROM)');
const repository = app.node.tryGetContext('githubRepository'); // owner/repo whose main branch may release (OIDC role)
const stack = new Stack(app, app.node.tryGetContext('stackName') ?? '${DEFAULT_STACK_NAME}');
new ReleasePipeline(stack, 'Releases', {
  catalog: loadCatalogFile('launchway.catalog.json'),
  mailFrom,
  githubOidc: repository ? { repository } : undefined,
});
app.synth();
`;

export const CDK_JSON_TEMPLATE = `${JSON.stringify({ app: 'node launchway-app.mjs' }, null, 2)}\n`;

/** examples/github-actions/release.yml for one service, finding the stack's outputs through LAUNCHWAY_STACK. */
export function workflowTemplate(service: string): string {
  return `# Releases ${service} through Launchway on every push to main: staging, smoke tests, an email approval, production,
# the interop API, validation and release notes. The job follows the release and fails unless it ends SUCCEEDED.
#
# No AWS keys are stored anywhere: the job assumes the Launchway stack's GitHub OIDC role, which trusts only this
# repository's main branch (deploy with: npx cdk deploy -c mailFrom=<address> -c githubRepository=<owner>/<repo>).
# Once, set these repository variables (Settings > Secrets and variables > Actions > Variables):
#   AWS_REGION           the stack's region
#   LAUNCHWAY_ROLE_ARN   the stack's GitHub CI role (output GithubCiRoleArn where the stack has it)
# The CLI finds the state machine, table and bucket itself from the stack named in LAUNCHWAY_STACK below.
#
# Adjust the "Build" step and the three paths below. The CLI is this repository's devDependency launchway.
name: launchway-release

on:
  push:
    branches: [main]

permissions:
  id-token: write # the OIDC token aws-actions/configure-aws-credentials exchanges for the role's credentials
  contents: read

# One release job at a time per branch. Launchway queues releases of a service itself (QUEUED); this only keeps a
# second job from holding a runner while it waits.
concurrency:
  group: launchway-release-\${{ github.ref }}
  cancel-in-progress: false

jobs:
  release:
    runs-on: ubuntu-latest
    # --wait follows the release through the approval; GitHub-hosted jobs stop after 6 hours, the role's longest
    # session too, so --timeout ends the wait before (exit 4; the release goes on, \`launchway status <id>\` follows
    # it). The step's exit code tells how the release ended: 0 SUCCEEDED, 10 FAILED, 11 REJECTED, 12 EXPIRED,
    # 13 ROLLED_BACK, 14 ROLLBACK_FAILED, 15 CANCELLED/SUPERSEDED.
    timeout-minutes: 360
    env:
      SERVICE: ${service} # the service's name in launchway.catalog.json
      # The deployable for the catalog's target type: a file, or a directory packed with its node_modules, for
      # local-process; a zip for lambda-alias, a template for cloudformation, {"image": …} for ecs-service.
      ARTIFACT: dist
      COLLECTION: postman/collection.json # the Postman collection the smoke tests and the production validation run
      OPENAPI: openapi.yaml # the contract published on the interop API
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0 # the changes since the previous push, for the release notes

      - uses: actions/setup-node@v4
        with:
          node-version: 22
          cache: npm

      - run: npm ci

      - name: Build
        run: npm run build --if-present

      - name: Changes since the previous push (release notes)
        env:
          BEFORE: \${{ github.event.before }}
          REPO_URL: \${{ github.server_url }}/\${{ github.repository }}
        run: |
          # A new branch has no "before" commit (all zeros): then only this commit is listed.
          range="$BEFORE..HEAD"
          if ! git cat-file -e "$BEFORE^{commit}" 2>/dev/null; then range="HEAD~1..HEAD"; fi
          git log --no-merges --format='%H%x1f%s%x1f%ae' "$range" | node -e '
            const lines = require("fs").readFileSync(0, "utf8").split("\\n").filter(Boolean);
            const changes = lines.map((line) => {
              const [sha, title, author] = line.split("\\x1f");
              return { title, sha, author, url: \`\${process.env.REPO_URL}/commit/\${sha}\` };
            });
            require("fs").writeFileSync("changes.json", JSON.stringify(changes, null, 2));
            console.log(\`\${changes.length} change(s)\`);
          '

      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: \${{ vars.LAUNCHWAY_ROLE_ARN }}
          aws-region: \${{ vars.AWS_REGION }}
          role-session-name: launchway-\${{ github.run_id }}
          role-duration-seconds: 21600 # 6 h, the role's maximum: the approval may take that long

      - name: Release through Launchway
        env:
          LAUNCHWAY_STACK: ${DEFAULT_STACK_NAME} # the stack cdk deploy created (-c stackName=… if you changed it)
          # Whoever pushed: Launchway refuses their own approval (no self-approval).
          TRIGGERED_BY: \${{ github.event.head_commit.author.email }}
        run: |
          npx launchway release \\
            --service "$SERVICE" \\
            --version "$(node -p 'require("./package.json").version')" \\
            --commit "$GITHUB_SHA" \\
            --branch "$GITHUB_REF_NAME" \\
            --triggered-by "$TRIGGERED_BY" \\
            --artifact "$ARTIFACT" \\
            --collection "$COLLECTION" \\
            --openapi "$OPENAPI" \\
            --changes changes.json \\
            --wait --timeout 5h
`;
}

/** The schema as published with the package: the README's link must work on GitHub, where node_modules is not. */
const SCHEMA_URL = 'https://unpkg.com/launchway/schemas/catalog.schema.json';

/** The README section: install, try it embedded, deploy, release from CI. */
export function readmeSection(service: string): string {
  return `${README_HEADING}

\`${service}\` is released by [Launchway](https://www.npmjs.com/package/launchway): staging, smoke tests, an
email approval, production and the partner-facing interop API. \`launchway init\` wrote
\`launchway.catalog.json\` (who approves, where each stage runs), \`launchway-app.mjs\` (the CDK app that deploys
the pipeline) and \`${WORKFLOW_FILE}\`.

\`\`\`sh
npm install --save-dev launchway aws-cdk aws-cdk-lib constructs
npx launchway dev          # the whole pipeline on this machine, with launchway.catalog.json
npx cdk deploy -c mailFrom=releases@your.domain -c githubRepository=<owner>/<repo>   # the pipeline on AWS
\`\`\`

Its \`local-process\` targets only run embedded (\`launchway dev\`): before deploying, set the ones the service runs on
(\`lambda-alias\`, \`ecs-service\`, \`http\`, \`cloudformation\`) and put your approvers in the catalog. Its fields are
described by [its JSON Schema](${SCHEMA_URL}) (\`node_modules/launchway/schemas/catalog.schema.json\`, which
editors use through its \`$schema\`).

Every push to main then runs \`${WORKFLOW_FILE}\`: it releases with
\`npx launchway release … --wait\` and fails unless the release succeeds. Set its repository variables
\`AWS_REGION\` and \`LAUNCHWAY_ROLE_ARN\` once, as its header says. \`npx launchway --help\` lists the commands.
`;
}
