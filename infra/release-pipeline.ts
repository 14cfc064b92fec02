import { createHash } from 'node:crypto';
import { Duration, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import * as z from 'zod';
import { BUCKET_LAYOUT } from '../functions/lib/bucket-layout.js';
import { parseCatalog, type Catalog, type CatalogSchema } from '../functions/lib/catalog.js';
import { deployPermissions } from '../functions/lib/deploy/iam.js';
import { METRICS_NAMESPACE } from '../functions/lib/metrics.js';
import { ApiDomains, validateDomainProps, type ReleasePipelineDomainProps } from './api-domains.js';
import { METRICS_SERVICE, ReleaseDashboard } from './dashboard.js';
import { GithubCiRole, type GithubOidcProps } from './github-ci-role.js';
import { STATE_MACHINE_HANDLERS } from './handlers.js';
import { HANDLER_NAMES, type HandlerName } from '../functions/steps.js';
import { interopGatewayStatements, validationKeyReadStatement } from './interop-grants.js';
import { LaunchwayFunction, type LaunchwayLogLevel, type SesSender } from './launchway-function.js';
import { suppressReviewedFindings } from './nag-suppressions.js';
import { RELEASE_ASL_PATH } from './paths.js';

/** What a catalog may look like before zod fills in defaults (the shape of a catalog file). */
export type CatalogInput = z.input<typeof CatalogSchema>;

/** Where things live in the artifacts bucket; the grants below are scoped to it. */
export { BUCKET_LAYOUT };

/** The approval API's stage, the first path segment of every approval link. */
export const APPROVAL_API_STAGE = 'v1';

/** Requests per second and burst allowed on the approval API stage. */
export interface ApprovalApiThrottle {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Requests allowed in a burst. */
  readonly burstLimit: number;
}

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

    const catalogObject = this.deployCatalog(newLogGroup('CatalogObjectLogs'));
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
    const functions = {} as Record<HandlerName, LaunchwayFunction>;
    for (const name of HANDLER_NAMES) {
      const fn = new LaunchwayFunction(this, `${pascal(name)}Function`, {
        handlerName: name,
        environment,
        logRetention,
        removalPolicy,
      });
      // Every handler records its step and reads the catalog or the release's artifacts. The approval API reads only
      // the catalog and signs short-lived links to smoke reports, so what it may read is exactly that: a presigned
      // URL can do no more than the role that signed it.
      this.table.grantReadWriteData(fn);
      if (name === 'approval-api') {
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['s3:GetObject'],
            resources: [this.bucket.arnForObjects(BUCKET_LAYOUT.catalogKey), this.bucket.arnForObjects(`${BUCKET_LAYOUT.reportsPrefix}*`)],
          }),
        );
      } else {
        this.bucket.grantRead(fn);
      }
      // A new catalog must be in the bucket before functions that will read it start.
      fn.node.addDependency(catalogObject.resource);
      functions[name] = fn;
    }
    this.functions = functions;
    grantDeployTargets(this, this.catalog, functions);

    for (const name of ['smoke-test-staging', 'validate-production'] as const) {
      functions[name].allowWritesUnder(this.bucket, BUCKET_LAYOUT.reportsPrefix);
    }
    functions['publish-release-notes'].allowWritesUnder(this.bucket, BUCKET_LAYOUT.releaseNotesPrefix);
    functions.approval.allowSigningKey(this.signingKey, 'kms:GenerateMac');
    functions.approval.allowSendEmailFrom(sender);
    functions['finalize'].allowSendEmailFrom(sender);
    functions['approval-api'].allowSigningKey(this.signingKey, 'kms:VerifyMac');
    // The confirmation page re-signs its form so one page can offer both Approve and Reject to the same approver.
    functions['approval-api'].allowSigningKey(this.signingKey, 'kms:GenerateMac');
    // The interop layer is API Gateway REST APIs created per service at run time, so no API id is known here;
    // the grant is limited to the API Gateway resources and methods the provisioner uses.
    for (const name of ['provision-interop', 'rollback'] as const) {
      for (const statement of interopGatewayStatements(this, props.domain?.interopDomainName)) {
        functions[name].addToRolePolicy(statement);
      }
      if (props.domain?.interopDomainName) functions[name].addEnvironment('INTEROP_DOMAIN_NAME', props.domain.interopDomainName);
    }
    functions['validate-production'].addToRolePolicy(validationKeyReadStatement(this));

    const substitutions: Record<string, string> = {};
    for (const { name, placeholder } of STATE_MACHINE_HANDLERS) substitutions[placeholder] = functions[name].functionArn;
    // A generated name: a fixed one would collide with the retained group when a deleted stack is recreated.
    this.stateMachineLogGroup = newLogGroup('ReleaseStateMachineLogs');
    this.stateMachine = new sfn.StateMachine(this, 'ReleaseStateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(RELEASE_ASL_PATH),
      definitionSubstitutions: substitutions,
      tracingEnabled: true,
      logs: {
        destination: this.stateMachineLogGroup,
        level: sfn.LogLevel.ALL,
        // Execution data holds task tokens and release payloads; state transitions and errors are enough.
        includeExecutionData: false,
      },
      removalPolicy,
    });
    // Nothing is inferred from an ASL file: each substituted function gets an explicit invoke grant.
    for (const { name } of STATE_MACHINE_HANDLERS) functions[name].grantInvoke(this.stateMachine);

    const approvalApi = this.createApprovalApi(functions['approval-api'], throttle, props, newLogGroup);
    this.approvalApi = approvalApi.api;
    this.approvalDecisionMethod = approvalApi.decisionMethod;
    if (props.domain) this.domains = new ApiDomains(this, 'Domains', { ...props.domain, approvalApi: this.approvalApi });
    // Built from the API id and the stage name rather than `approvalApi.url`: that token points at the Stage, which
    // depends on the methods and so on the approval-api function, and the function needs this URL itself.
    const { region, urlSuffix } = Stack.of(this);
    const approvalBaseUrl =
      this.domains?.approvalBaseUrl ??
      `https://${this.approvalApi.restApiId}.execute-api.${region}.${urlSuffix}/${APPROVAL_API_STAGE}`;
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

    this.alarms = this.createAlarms(props.alarmTopic);
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

    // Last, so every resource above exists: cdk-nag findings reviewed and accepted, each on its own resource.
    suppressReviewedFindings(this);
  }

  /** The URL approval links start with: the custom domain when there is one, else the stage's execute-api URL. */
  get approvalUrl(): string {
    return this.domains?.approvalBaseUrl ?? this.approvalApi.url;
  }

  /**
   * Puts the validated catalog at CATALOG_KEY on every deploy. An AwsCustomResource PutObject rather than
   * BucketDeployment: it synthesizes offline without Docker or a staged asset, needs only s3:PutObject on that one
   * key, and does not prune the rest of the prefix.
   */
  private deployCatalog(logGroup: logs.ILogGroup): { resource: cr.AwsCustomResource; body: string } {
    const body = JSON.stringify(this.catalog, null, 2);
    const putCatalog: cr.AwsSdkCall = {
      service: 'S3',
      action: 'putObject',
      parameters: {
        Bucket: this.bucket.bucketName,
        Key: BUCKET_LAYOUT.catalogKey,
        Body: body,
        ContentType: 'application/json',
      },
      physicalResourceId: cr.PhysicalResourceId.of(BUCKET_LAYOUT.catalogKey),
    };
    const resource = new cr.AwsCustomResource(this, 'CatalogObject', {
      onUpdate: putCatalog,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['s3:PutObject'],
          resources: [this.bucket.arnForObjects(BUCKET_LAYOUT.catalogKey)],
        }),
      ]),
      installLatestAwsSdk: false,
      logGroup,
    });
    return { resource, body };
  }

  private createApprovalApi(
    handler: LaunchwayFunction,
    throttle: ApprovalApiThrottle,
    props: ReleasePipelineProps,
    newLogGroup: (id: string) => logs.LogGroup,
  ): { api: apigw.RestApi; decisionMethod: apigw.Method } {
    const api = new apigw.RestApi(this, 'ApprovalApi', {
      // API Gateway metrics are keyed by API name: a name unique to this pipeline keeps its alarms and dashboard
      // from counting another stack's approval API in the same account.
      restApiName: `${Names.uniqueResourceName(this, { maxLength: 54 })}-approvals`,
      description: 'Launchway approval links: GET shows the release, POST records a decision',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      // With a custom domain the links have one address; the execute-api one would bypass nothing but confuse.
      disableExecuteApiEndpoint: Boolean(props.domain?.approvalDomainName),
      cloudWatchRole: props.apiGatewayCloudWatchRole ?? true,
      deployOptions: {
        stageName: APPROVAL_API_STAGE,
        tracingEnabled: true,
        // Execution logs of failures only; request and response bodies (signatures, comments) stay out of logs.
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
        accessLogDestination: new apigw.LogGroupLogDestination(newLogGroup('ApprovalApiAccessLogs')),
        // The resource path is the template (/approvals/{approvalId}); query strings with signatures are not logged.
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields({
          ip: true,
          caller: false,
          user: false,
          requestTime: true,
          httpMethod: true,
          resourcePath: true,
          status: true,
          protocol: true,
          responseLength: true,
        }),
      },
    });
    // The signed link is the credential: the handler verifies the HMAC and the expiry before a POST changes
    // anything, and GET never changes anything. Approvers open links from email, so these routes have no IAM or
    // Cognito authorizer.
    const integration = new apigw.LambdaIntegration(handler, { proxy: true, allowTestInvoke: false });
    const approval = api.root.addResource('approvals').addResource('{approvalId}');
    // API Gateway refuses a request without the path parameter before the function runs; the handler validates
    // the rest (signature, expiry, form) with zod.
    const requestValidator = api.addRequestValidator('ApprovalRequestValidator', { validateRequestParameters: true });
    for (const method of ['GET', 'POST']) {
      approval.addMethod(method, integration, {
        authorizationType: apigw.AuthorizationType.NONE,
        requestParameters: { 'method.request.path.approvalId': true },
        requestValidator,
      });
    }
    // `launchway approve|reject` on AWS: API Gateway verifies the caller's SigV4 signature (AWS_IAM) and hands the
    // handler `requestContext.identity.userArn`, which the catalog's approverIdentities map to one approver; the
    // same rules as a link then apply. Callers need execute-api:Invoke on it (grantDecide).
    const decisionMethod = api.root
      .addResource('releases')
      .addResource('{releaseId}')
      .addResource('decision')
      .addMethod('POST', integration, {
        authorizationType: apigw.AuthorizationType.IAM,
        requestParameters: { 'method.request.path.releaseId': true },
        requestValidator,
      });
    return { api, decisionMethod };
  }

  /**
   * Lets an identity (an approvers' role, an IAM Identity Center permission set's role, a user) call the
   * IAM-authorized decision route that `launchway approve|reject` uses. Being allowed to call it decides nothing
   * by itself: the caller's ARN must also be mapped to an approver in the catalog's `approverIdentities`.
   */
  grantDecide(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.approvalApi.arnForExecuteApi('POST', '/releases/*/decision', APPROVAL_API_STAGE)],
    });
  }

  private createAlarms(topic: sns.ITopic | undefined): cloudwatch.Alarm[] {
    const period = Duration.minutes(5);
    const anyOf = (alarmId: string, metric: cloudwatch.IMetric, description: string) =>
      new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
    const alarms = [
      anyOf(
        'ReleaseFailedAlarm',
        this.stateMachine.metricFailed({ period, statistic: 'Sum' }),
        'A release execution failed. Rejected and expired approvals end in a Fail state too; the release record ' +
          '(launchway status <id>) says which, and FAILED or ROLLED_BACK needs a look at the failed step.',
      ),
      anyOf(
        'ReleaseTimedOutAlarm',
        this.stateMachine.metricTimedOut({ period, statistic: 'Sum' }),
        'A release execution timed out; every Task has its own timeout, so this is a stuck workflow.',
      ),
      anyOf(
        'RollbackErrorsAlarm',
        this.functions.rollback.metricErrors({ period, statistic: 'Sum' }),
        'A production rollback failed; production may be running a broken version.',
      ),
      anyOf(
        'FinalizeErrorsAlarm',
        this.functions.finalize.metricErrors({ period, statistic: 'Sum' }),
        'Finalizing a release failed; its record, lock or outcome email may be missing.',
      ),
      anyOf(
        'ApprovalApiServerErrorsAlarm',
        this.approvalApi.metricServerError({ period, statistic: 'Sum' }),
        'The approval API answered 5xx; approvers may be unable to approve or reject.',
      ),
    ];
    if (topic) for (const alarm of alarms) alarm.addAlarmAction(new cloudwatchActions.SnsAction(topic));
    return alarms;
  }
}

function validRemovalPolicy(policy: RemovalPolicy, scope: Construct): RemovalPolicy {
  if (policy !== RemovalPolicy.RETAIN && policy !== RemovalPolicy.DESTROY) {
    throw new Error(
      `${scope.node.path}: removalPolicy expected RemovalPolicy.RETAIN or RemovalPolicy.DESTROY, got ${policy} (DynamoDB tables, S3 buckets and KMS keys have no snapshots)`,
    );
  }
  return policy;
}

/**
 * Each catalog target's least privilege (functions/lib/deploy/iam.ts) for the functions that start and poll
 * deployments; the rollback function gets the production targets' only, since it rolls back production alone.
 */
function grantDeployTargets(scope: Construct, catalog: Catalog, functions: Record<HandlerName, LaunchwayFunction>): void {
  const { partition, region, account } = Stack.of(scope);
  for (const service of Object.values(catalog.services)) {
    const targets = [
      { target: service.staging, holders: ['deploy', 'deploy-status'] as const },
      { target: service.production, holders: ['deploy', 'deploy-status', 'rollback'] as const },
    ];
    for (const { target, holders } of targets) {
      for (const permission of deployPermissions(target, { partition, region, account })) {
        for (const name of holders) {
          functions[name].addToRolePolicy(
            new iam.PolicyStatement({ actions: permission.actions, resources: permission.resources, conditions: permission.conditions }),
          );
        }
      }
    }
  }
}

function sesSender(mailFrom: string, sesIdentityArn: string | undefined, scope: Construct): SesSender {
  if (Token.isUnresolved(mailFrom)) {
    throw new Error(`${scope.node.path}: mailFrom must be a literal email address, not a token`);
  }
  const parsed = z.email().safeParse(mailFrom);
  if (!parsed.success) {
    throw new Error(`${scope.node.path}: mailFrom expected an email address, got "${mailFrom}"`);
  }
  const domain = mailFrom.slice(mailFrom.lastIndexOf('@') + 1);
  if (sesIdentityArn !== undefined) {
    if (!Token.isUnresolved(sesIdentityArn)) {
      const identity = /^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:identity\/(.+)$/.exec(sesIdentityArn)?.[1];
      if (!identity) {
        throw new Error(
          `${scope.node.path}: sesIdentityArn expected arn:aws:ses:<region>:<account>:identity/<address or domain>, got "${sesIdentityArn}"`,
        );
      }
      if (identity !== mailFrom && identity !== domain) {
        throw new Error(
          `${scope.node.path}: sesIdentityArn is the identity "${identity}", which cannot send as mailFrom ${mailFrom}; expected the identity ${mailFrom} or ${domain}`,
        );
      }
    }
    return { address: mailFrom, identityArns: [sesIdentityArn] };
  }
  const stack = Stack.of(scope);
  const identityArn = (identity: string) =>
    stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity });
  return { address: mailFrom, identityArns: [identityArn(mailFrom), identityArn(domain)] };
}

function validThrottle(throttle: ApprovalApiThrottle, scope: Construct): ApprovalApiThrottle {
  for (const [field, value] of Object.entries(throttle)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`${scope.node.path}: approvalApiThrottle.${field} expected a positive integer, got ${value}`);
    }
  }
  return throttle;
}

/** `deploy-status` -> `DeployStatus`, for construct ids. */
function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, _dash: string, c: string) => c.toUpperCase());
}
