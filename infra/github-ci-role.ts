import { Arn, ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { BUCKET_LAYOUT } from '../functions/lib/bucket-layout.js';

/** The issuer of GitHub Actions OIDC tokens. */
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';

/** Who may start releases from GitHub Actions without long-lived keys. */
export interface GithubOidcProps {
  /** The repository whose workflows may assume the role, as `owner/repo`. */
  readonly repository: string;

  /**
   * The only branch whose workflow runs may assume the role: the token's `sub` must be exactly
   * `repo:<owner/repo>:ref:refs/heads/<branch>`, so pull requests, other branches and tags cannot release.
   * @default 'main'
   */
  readonly branch?: string;

  /**
   * ARN of the account's existing OIDC provider for `token.actions.githubusercontent.com`. An account holds one
   * provider per issuer URL, so a second stack (or one created by hand) must reuse it.
   * @default - a provider is created with this stack
   */
  readonly providerArn?: string;

  /**
   * How long the role's credentials may last. `release --wait` holds them while the release waits for an approval,
   * and a GitHub-hosted job runs at most 6 hours.
   * @default Duration.hours(6)
   */
  readonly maxSessionDuration?: Duration;
}

/** What the CI role acts on; the ReleasePipeline passes its own parts. */
export interface GithubCiRoleProps extends GithubOidcProps {
  /** The artifacts bucket: uploads go under `releases/`, the deployed catalog is read at `catalogKey`. */
  readonly bucket: s3.IBucket;
  /** S3 key of the deployed catalog, which the CLI validates a request against before it uploads anything. */
  readonly catalogKey: string;
  /** The release state machine the role may start and follow. */
  readonly stateMachine: sfn.IStateMachine;
  /** The releases table whose release records `--wait` follows. */
  readonly table: dynamodb.ITable;
}

const REPOSITORY = /^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/;
// A git ref name without the characters git forbids, and without IAM wildcards, which would widen the `sub` match.
const BRANCH = /^(?!\/|.*\/$|.*\.\.|.*\/\/)[A-Za-z0-9._/-]{1,255}$/;

/**
 * An IAM role GitHub Actions assumes through OIDC to run `launchway release … --wait` on one branch of one
 * repository. It can upload release files under `releases/`, read the deployed catalog, start and describe
 * executions of this state machine, read release records (keys `RELEASE#…`) of the table, and describe its own stack
 * (`--stack` / LAUNCHWAY_STACK reads the outputs). Nothing else.
 */
export class GithubCiRole extends Construct {
  /** The role CI assumes (`role-to-assume` of aws-actions/configure-aws-credentials). */
  readonly role: iam.Role;
  /** The OIDC provider the role trusts (created here or imported from `providerArn`). */
  readonly provider: iam.IOidcProvider;
  /** The exact `sub` claim the trust policy requires. */
  readonly subject: string;

  constructor(scope: Construct, id: string, props: GithubCiRoleProps) {
    super(scope, id);
    const where = `${scope.node.path}: githubOidc`;
    if (Token.isUnresolved(props.repository) || !REPOSITORY.test(props.repository)) {
      throw new Error(`${where}.repository expected "owner/repo" (a literal GitHub repository), got "${props.repository}"`);
    }
    const branch = props.branch ?? 'main';
    if (Token.isUnresolved(branch) || !BRANCH.test(branch)) {
      throw new Error(`${where}.branch expected a literal branch name without wildcards, such as "main", got "${branch}"`);
    }
    const duration = props.maxSessionDuration ?? Duration.hours(6);
    if (duration.toSeconds() < 3600 || duration.toSeconds() > 43200) {
      throw new Error(`${where}.maxSessionDuration expected 1 to 12 hours (what IAM allows), got ${duration.toHumanString()}`);
    }
    this.subject = `repo:${props.repository}:ref:refs/heads/${branch}`;

    if (props.providerArn !== undefined) {
      if (!Token.isUnresolved(props.providerArn)) {
        const arn = Arn.split(props.providerArn, ArnFormat.SLASH_RESOURCE_NAME);
        if (arn.service !== 'iam' || arn.resource !== 'oidc-provider' || arn.resourceName !== GITHUB_OIDC_HOST) {
          throw new Error(
            `${where}.providerArn expected the ARN of the ${GITHUB_OIDC_HOST} OIDC provider ` +
              `(arn:aws:iam::<account>:oidc-provider/${GITHUB_OIDC_HOST}), got "${props.providerArn}"`,
          );
        }
      }
      this.provider = iam.OidcProviderNative.fromOidcProviderArn(this, 'GithubOidcProvider', props.providerArn);
    } else {
      // The native resource: no custom-resource Lambda. IAM trusts GitHub's issuer through its own CA library, so
      // no thumbprint is pinned.
      this.provider = new iam.OidcProviderNative(this, 'GithubOidcProvider', {
        url: `https://${GITHUB_OIDC_HOST}`,
        clientIds: ['sts.amazonaws.com'],
      });
    }

    this.role = new iam.Role(this, 'Role', {
      description: `Launchway: GitHub Actions of ${props.repository} on ${branch} start releases`,
      maxSessionDuration: duration,
      assumedBy: new iam.WebIdentityPrincipal(this.provider.oidcProviderArn, {
        StringEquals: {
          [`${GITHUB_OIDC_HOST}:aud`]: 'sts.amazonaws.com',
          [`${GITHUB_OIDC_HOST}:sub`]: this.subject,
        },
      }),
    });

    // Statements written out rather than grant helpers: the helpers add actions (tagging, legal holds, multipart
    // aborts, batch reads) the CLI never calls.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'UploadReleaseFiles',
        actions: ['s3:PutObject'],
        resources: [props.bucket.arnForObjects(`${BUCKET_LAYOUT.releaseUploadsPrefix}*`)],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadDeployedCatalog',
        actions: ['s3:GetObject'],
        resources: [props.bucket.arnForObjects(props.catalogKey)],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'StartReleases',
        actions: ['states:StartExecution'],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );
    // `release` asks whether the execution already exists (a CI retry); `--wait` checks it has not died.
    props.stateMachine.grantExecution(this.role, 'states:DescribeExecution');
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'FollowReleaseRecords',
        actions: ['dynamodb:GetItem', 'dynamodb:Query'],
        resources: [props.table.tableArn],
        // Release, step and approval-summary items share the RELEASE# partition; locks and current versions do not.
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['RELEASE#*'] } },
      }),
    );
    // `launchway release --stack` reads where the pipeline is from the stack's outputs; only this stack, by its id.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadStackOutputs',
        actions: ['cloudformation:DescribeStacks'],
        resources: [Stack.of(this).stackId],
      }),
    );
  }
}
