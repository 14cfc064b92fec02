import { createHash } from 'node:crypto';
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type * as z from 'zod';
import { BUCKET_LAYOUT } from '../functions/lib/bucket-layout.js';
import { parseCatalog, type Catalog, type CatalogSchema } from '../functions/lib/catalog.js';
import { METRICS_NAMESPACE } from '../functions/lib/metrics.js';
import type { HandlerName } from '../functions/steps.js';
import { createAlarms } from './alarms.js';
import { warnLocalProcessTargets } from './catalog-warnings.js';
import { createExecutionStatusRule } from './execution-status-rule.js';
import { ApiDomains, validateDomainProps, type ReleasePipelineDomainProps } from './api-domains.js';
import { APPROVAL_API_STAGE, createApprovalApi, validThrottle, type ApprovalApiThrottle } from './approval-api.js';
import { deployCatalog } from './catalog-object.js';
import { METRICS_SERVICE, ReleaseDashboard } from './dashboard.js';
import { GithubCiRole, type GithubOidcProps } from './github-ci-role.js';
import type { LaunchwayFunction, LaunchwayLogLevel } from './launchway-function.js';
import { suppressReviewedFindings } from './nag-suppressions.js';
import { createPipelineFunctions } from './pipeline-functions.js';
import { createPipelineOutputs, grantReadStackOutputs } from './pipeline-outputs.js';
import { sesSender, validRemovalPolicy } from './prop-checks.js';
import { createReleaseStateMachine } from './release-state-machine.js';

/** What a catalog may look like before zod fills in defaults (the shape of a catalog file). */
export type CatalogInput = z.input<typeof CatalogSchema>;

/** Where things live in the artifacts bucket; the grants are scoped to it. */
export { BUCKET_LAYOUT };
/** The approval API's stage and throttle, part of the construct's props. */
export { APPROVAL_API_STAGE, type ApprovalApiThrottle };

export interface ReleasePipelineProps {
  /**
   * The service catalog: targets, approvers, timeouts and interop settings per service. It is validated with
   * `parseCatalog` when the construct is created (synth fails listing every problem) and deployed to
   * `config/catalog.json` in the artifacts bucket.
   */
  readonly catalog: CatalogInput;

  /**
   * Sender of approval and outcome email (MAIL_FROM). SES must have verified this address or its domain; the
   * functions may send from this exact address only (`ses:FromAddress`).
   */
  readonly mailFrom: string;

  /**
   * The SES identity that authorizes `mailFrom`, when it is not this account's and region's identity of the
   * address or its domain (for example an identity shared through SES sending authorization). Its name must be
   * `mailFrom` or its domain.
   * @default - the identities of `mailFrom` and of its domain in this account and region
   */
  readonly sesIdentityArn?: string;

  /**
   * What happens to the table, the bucket, the signing key and the log groups when the stack is deleted. With
   * DESTROY the bucket is emptied first and the table loses its deletion protection (for trial stacks).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * How long function, state machine and API access logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Log level of the handlers (LOG_LEVEL).
   * @default 'INFO'
   */
  readonly logLevel?: LaunchwayLogLevel;

  /**
   * How long replaced or deleted objects (old artifacts, overwritten reports) are kept as noncurrent versions.
   * @default Duration.days(90)
   */
  readonly noncurrentVersionExpiration?: Duration;

  /**
   * Topic the alarms notify. Without it the alarms still exist, with no action.
   * @default - no alarm actions
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Throttling of the approval API stage; approvals are rare, so the limits are low.
   * @default { rateLimit: 5, burstLimit: 10 }
   */
  readonly approvalApiThrottle?: ApprovalApiThrottle;

  /**
   * Create the account-wide role API Gateway needs to write access logs. Set false when the account already has
   * one configured (it is one setting per account and region).
   * @default true
   */
  readonly apiGatewayCloudWatchRole?: boolean;

  /**
   * Custom domain names for the approval links and the interop APIs, with their certificate and, optionally, the
   * hosted zone that gets alias records.
   * @default - execute-api URLs
   */
  readonly domain?: ReleasePipelineDomainProps;

  /**
   * A role GitHub Actions of one repository and branch assume through OIDC to upload release files and start and
   * follow releases (no long-lived keys).
   * @default - no CI role
   */
  readonly githubOidc?: GithubOidcProps;

  /**
   * Name of the CloudWatch dashboard.
   * @default - generated by CloudFormation
   */
  readonly dashboardName?: string;

  /**
   * Create the stack outputs StateMachineArn, ReleasesTableName, ArtifactsBucketName, ApprovalApiUrl,
   * OperateFunctionName (what `launchway --stack` reads), DashboardUrl, and GithubCiRoleArn and the DNS targets when
   * they apply, under these fixed logical ids. A stack holds one set: set false on every other pipeline in the stack.
   * @default true
   */
  readonly outputs?: boolean;
}

/**
 * The Launchway release pipeline on AWS: the releases table, the artifacts bucket with the deployed catalog, one
 * Lambda function per handler, the release state machine from `statemachines/release.asl.json`, the approval API
 * and the HMAC key that signs approval links, with logging, tracing and alarms on.
 */
export class ReleasePipeline extends Construct {
  /** Release, step, approval, lock and current-version records (pk/sk, GSI `gsi1` for per-service history). */
  readonly table: dynamodb.Table;
  /** Artifacts, reports, release notes and the catalog. */
  readonly bucket: s3.Bucket;
  /** The validated catalog, with defaults filled in, as deployed to the bucket. */
  readonly catalog: Catalog;
  /** Every handler's function, by handler folder name. */
  readonly functions: Readonly<Record<HandlerName, LaunchwayFunction>>;
  /** The release workflow (Standard). */
  readonly stateMachine: sfn.StateMachine;
  /** Sends the workflow's FAILED, TIMED_OUT and ABORTED executions to the execution-status function. */
  readonly executionStatusRule: events.Rule;
  /** What the execution-status rule and function could not process: each message is a release left unended. */
  readonly executionStatusDeadLetters: sqs.Queue;
  /** The approval links' API: GET and POST on /approvals/{approvalId}. */
  readonly approvalApi: apigw.RestApi;
  /** `POST /releases/{releaseId}/decision` (AWS_IAM): decisions by IAM identity, `launchway approve|reject` on AWS. */
  readonly approvalDecisionMethod: apigw.Method;
  /** The KMS HMAC_256 key that signs (approval) and verifies (approval-api) approval links. */
  readonly signingKey: kms.Key;
  /** Puts the validated catalog at `config/catalog.json` on every deploy. */
  readonly catalogObject: cr.AwsCustomResource;
  /** Where the state machine logs (level ALL, without execution data). */
  readonly stateMachineLogGroup: logs.LogGroup;
  /**
   * Alarms on conditions that need a person: failed and timed-out releases, rollback or finalize errors, approval
   * API 5xx. They notify `alarmTopic` when one is given.
   */
  readonly alarms: readonly cloudwatch.Alarm[];
  /** Executions, release outcomes, step durations, the approval API, Lambda errors and the alarms. */
  readonly dashboard: cloudwatch.Dashboard;
  /** The custom domains of the approval and interop APIs, when `domain` is given. */
  readonly domains?: ApiDomains;
  /** The GitHub Actions OIDC role, when `githubOidc` is given. */
  readonly githubCiRole?: GithubCiRole;

  constructor(scope: Construct, id: string, props: ReleasePipelineProps) {
    super(scope, id);

    this.catalog = parseCatalog(props.catalog, `${this.node.path} catalog`);
    warnLocalProcessTargets(this.catalog, this);
    const sender = sesSender(props.mailFrom, props.sesIdentityArn, this);
    const throttle = validThrottle(props.approvalApiThrottle ?? { rateLimit: 5, burstLimit: 10 }, this);
    if (props.domain) validateDomainProps(props.domain, this.node.path);
    const removalPolicy = validRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN, this);
    const destroy = removalPolicy === RemovalPolicy.DESTROY;
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    const newLogGroup = (logId: string) => new logs.LogGroup(this, logId, { retention: logRetention, removalPolicy });

    this.table = new dynamodb.Table(this, 'Releases', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: !destroy,
      removalPolicy,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: 'gsi1',
      partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    this.bucket = new s3.Bucket(this, 'Artifacts', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      // SSE-S3 rather than a customer key: every reader already needs bucket grants, and a key would add a second
      // grant to keep in step for no extra separation of duties here.
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(90),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy,
      autoDeleteObjects: destroy,
    });

    const catalogObject = deployCatalog(this, this.bucket, this.catalog, newLogGroup('CatalogObjectLogs'));
    this.catalogObject = catalogObject.resource;

    this.signingKey = new kms.Key(this, 'ApprovalSigningKey', {
      description: 'Launchway: signs and verifies approval links (HMAC)',
      keySpec: kms.KeySpec.HMAC_256,
      keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
      removalPolicy,
      pendingWindow: destroy ? Duration.days(7) : undefined,
    });

    const environment: Record<string, string> = {
      RELEASES_TABLE: this.table.tableName,
      ARTIFACTS_BUCKET: this.bucket.bucketName,
      CATALOG_KEY: BUCKET_LAYOUT.catalogKey,
      // Handlers cache the catalog per cold start; a new hash replaces warm instances when the catalog changes.
      CATALOG_SHA256: createHash('sha256').update(catalogObject.body).digest('hex'),
      NOTIFIER: 'ses',
      MAIL_FROM: sender.address,
      INTEROP_PROVIDER: 'api-gateway',
      LOG_LEVEL: props.logLevel ?? 'INFO',
      POWERTOOLS_SERVICE_NAME: METRICS_SERVICE,
      // functions/lib/metrics.ts names the namespace too; the variable keeps any other Powertools Metrics in step.
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    };
    this.functions = createPipelineFunctions(this, {
      environment,
      logRetention,
      removalPolicy,
      table: this.table,
      bucket: this.bucket,
      catalogObject: catalogObject.resource,
      catalog: this.catalog,
      signingKey: this.signingKey,
      sender,
      interopDomainName: props.domain?.interopDomainName,
    });
    const functions = this.functions;

    // A generated name: a fixed one would collide with the retained group when a deleted stack is recreated.
    this.stateMachineLogGroup = newLogGroup('ReleaseStateMachineLogs');
    this.stateMachine = createReleaseStateMachine(this, functions, { logGroup: this.stateMachineLogGroup, removalPolicy });

    const approvalApi = createApprovalApi(this, functions['approval-api'], {
      throttle,
      accessLogs: newLogGroup('ApprovalApiAccessLogs'),
      customDomain: Boolean(props.domain?.approvalDomainName),
      cloudWatchRole: props.apiGatewayCloudWatchRole ?? true,
    });
    this.approvalApi = approvalApi.api;
    this.approvalDecisionMethod = approvalApi.decisionMethod;
    if (props.domain) this.domains = new ApiDomains(this, 'Domains', { ...props.domain, approvalApi: this.approvalApi });
    // Built from the API id and the stage name rather than `approvalApi.url`: that token points at the Stage, which
    // depends on the methods and so on the approval-api function, and the function needs this URL itself.
    const { region, urlSuffix } = Stack.of(this);
    const approvalBaseUrl =
      this.domains?.approvalBaseUrl ?? `https://${this.approvalApi.restApiId}.execute-api.${region}.${urlSuffix}/${APPROVAL_API_STAGE}`;
    for (const name of ['approval', 'approval-api'] as const) {
      functions[name].addEnvironment('APPROVAL_BASE_URL', approvalBaseUrl);
    }
    // Only the approval API completes the waiting RequestApproval task, and only on this state machine.
    functions['approval-api'].addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: [this.stateMachine.stateMachineArn],
      }),
    );

    // Prepare stops the older releases a `supersede` service's newer release ends. A policy of its own, not the
    // role's default one: the function must not depend on the state machine that invokes it (a cycle).
    new iam.Policy(this, 'PrepareStopsSupersededReleases', {
      roles: [functions.prepare.role!],
      statements: [
        new iam.PolicyStatement({
          actions: ['states:StopExecution'],
          resources: [
            Stack.of(this).formatArn({
              service: 'states',
              resource: 'execution',
              resourceName: `${this.stateMachine.stateMachineName}:*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      ],
    });

    const executionStatus = createExecutionStatusRule(this, this.stateMachine, functions['execution-status'], { removalPolicy });
    this.executionStatusRule = executionStatus.rule;
    this.executionStatusDeadLetters = executionStatus.deadLetters;

    this.alarms = createAlarms(this, {
      stateMachine: this.stateMachine,
      rollback: functions.rollback,
      finalize: functions.finalize,
      approvalApi: this.approvalApi,
      executionStatusDeadLetters: executionStatus.deadLetters,
      topic: props.alarmTopic,
    });
    this.dashboard = new ReleaseDashboard(this, 'Dashboard', {
      stateMachine: this.stateMachine,
      approvalApi: this.approvalApi,
      functions,
      alarms: this.alarms,
      dashboardName: props.dashboardName,
    }).dashboard;

    if (props.githubOidc) {
      this.githubCiRole = new GithubCiRole(this, 'GithubCi', {
        ...props.githubOidc,
        bucket: this.bucket,
        catalogKey: BUCKET_LAYOUT.catalogKey,
        stateMachine: this.stateMachine,
        table: this.table,
      });
    }

    if (props.outputs ?? true) createPipelineOutputs(this, props.domain);

    // Last, so every resource above exists: cdk-nag findings reviewed and accepted, each on its own resource.
    suppressReviewedFindings(this);
  }

  /**
   * Lets an operator's identity run the operating commands against this pipeline: `cancel`, `unlock` and `redrive`
   * (the releases table; DescribeExecution, StopExecution and RedriveExecution on this state machine's executions)
   * and `rollback` (invoking the operate function, which rolls back with its own grants), and `--stack` on this stack.
   */
  grantOperate(grantee: iam.IGrantable): void {
    grantReadStackOutputs(this, grantee);
    this.table.grantReadWriteData(grantee);
    this.stateMachine.grantExecution(
      grantee,
      'states:DescribeExecution',
      'states:GetExecutionHistory',
      'states:StopExecution',
      'states:RedriveExecution',
    );
    this.functions.operate.grantInvoke(grantee);
  }

  /** The URL approval links start with: the custom domain when there is one, else the stage's execute-api URL. */
  get approvalUrl(): string {
    return this.domains?.approvalBaseUrl ?? this.approvalApi.url;
  }

  /**
   * Lets an identity (an approvers' role, an IAM Identity Center permission set's role, a user) call the
   * IAM-authorized decision route that `launchway approve|reject` uses (and `--stack` on this stack). Being allowed
   * to call it decides nothing by itself: the caller's ARN must also be mapped to an approver in the catalog's
   * `approverIdentities`. Returns the grant of the route.
   */
  grantDecide(grantee: iam.IGrantable): iam.Grant {
    grantReadStackOutputs(this, grantee);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.approvalApi.arnForExecuteApi('POST', '/releases/*/decision', APPROVAL_API_STAGE)],
    });
  }
}
