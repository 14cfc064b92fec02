import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { HANDLERS, type HandlerSpec } from './handlers.js';
import type { HandlerName } from '../functions/steps.js';
import { LOCK_FILE_PATH, REPO_ROOT, handlerEntry, prebundledHandler } from './paths.js';

/**
 * The bundles are ESM (`index.mjs`). esbuild turns the `require` calls inside CommonJS dependencies (newman, parts
 * of the SDK) into a shim that needs a real `require` in scope, which ESM lacks; this banner provides one.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __launchwayCreateRequire } from 'node:module'; const require = __launchwayCreateRequire(import.meta.url);";

/**
 * esbuild options shared by every handler. The AWS SDK v3 is bundled rather than taken from the runtime, so
 * Lambda runs the SDK versions the tests ran against (the runtime's copy changes under us between deploys).
 * `terser` is an optional dependency of newman's HTML tooling that is never loaded at run time and does not bundle.
 */
export function bundlingFor(spec: HandlerSpec): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    target: 'node22',
    banner: ESM_REQUIRE_BANNER,
    minify: true,
    // Domain errors set `name` literally, but stack traces and logs stay readable with original class names.
    keepNames: true,
    sourceMap: true,
    sourcesContent: false,
    externalModules: spec.bundlesNewman ? ['terser'] : [],
    // esbuild's Node default picks `main` first, which for the AWS SDK is its CommonJS build: esbuild cannot
    // tree-shake CommonJS, so every command and every client module came along. The ES builds (`module`) shake.
    mainFields: ['module', 'main'],
    // Bundle with the local esbuild package; there is no Docker to fall back on.
    forceDockerBundling: false,
    // Size reports for eleven bundles drown `cdk synth`; warnings and errors still print.
    logLevel: LogLevel.WARNING,
  };
}

/** Log levels the handlers' config schema accepts for LOG_LEVEL. */
export type LaunchwayLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface LaunchwayFunctionProps {
  /** Which handler under functions/ this function runs. */
  readonly handlerName: HandlerName;
  /** Environment shared by every handler (table, bucket, catalog key, mail settings). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when the stack deletes the function.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A Launchway handler on Lambda with fixed defaults: Node.js 22 on arm64, X-Ray tracing, an ESM bundle from the
 * local esbuild, and its own log group with a retention. The `allow…` methods set an environment variable and the
 * IAM grant it needs together, so neither is forgotten.
 */
export class LaunchwayFunction extends NodejsFunction {
  /** The handler folder name under functions/. */
  readonly handlerName: HandlerName;
  /** The function's own log group (LoggingConfig), the only one its role may write to. */
  readonly ownLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: LaunchwayFunctionProps) {
    const spec: HandlerSpec = HANDLERS[props.handlerName];
    // An explicit log group instead of the LogRetention custom resource: retention and removal in the template.
    const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // A role without the AWS managed basic execution policy, which may write to every log group in the account:
    // this function writes to its own log group only (granted below).
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Launchway ${props.handlerName} function`,
    });
    // The installed package ships each handler bundled (no esbuild or lock file needed at the user's synth); a
    // checkout bundles from source with the same options (bundlingFor).
    const prebundled = prebundledHandler(props.handlerName);
    super(scope, id, {
      ...(prebundled
        ? { code: lambda.Code.fromAsset(prebundled), handler: 'index.handler' }
        : { entry: handlerEntry(props.handlerName), handler: 'handler', projectRoot: REPO_ROOT, depsLockFilePath: LOCK_FILE_PATH }),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: spec.memoryMiB,
      timeout: Duration.seconds(spec.timeoutSeconds),
      tracing: lambda.Tracing.ACTIVE,
      description: `Launchway: ${spec.description}`,
      environment: { ...props.environment },
      bundling: bundlingFor(spec),
      role,
      logGroup,
    });
    this.handlerName = props.handlerName;
    this.ownLogGroup = logGroup;
    logGroup.grantWrite(role);
  }

  /**
   * Lets the function use the approval-link HMAC key for one operation (GenerateMac to sign, VerifyMac to check)
   * and tells it which key through APPROVAL_SIGNING_KEY_ID.
   */
  allowSigningKey(key: kms.IKey, action: 'kms:GenerateMac' | 'kms:VerifyMac'): iam.Grant {
    this.addEnvironment('APPROVAL_SIGNING_KEY_ID', key.keyArn);
    return key.grant(this, action);
  }

  /** Lets the function write objects under one key prefix of the bucket (reads are granted separately). */
  allowWritesUnder(bucket: s3.IBucket, prefix: string): iam.Grant {
    if (!prefix.endsWith('/')) throw new Error(`allowWritesUnder: prefix "${prefix}" must end with "/"`);
    return bucket.grantPut(this, `${prefix}*`);
  }

  /**
   * Lets the function send email through SES from exactly `mailFrom`, whether SES verified the address itself or
   * its domain (`ses:FromAddress` pins the sender either way).
   */
  allowSendEmailFrom(sender: SesSender): void {
    this.addToRolePolicy(
      new iam.PolicyStatement({
        // SESv2 SendEmail (simple, raw or templated content) is authorized by ses:SendEmail alone.
        actions: ['ses:SendEmail'],
        resources: sender.identityArns,
        conditions: { StringEquals: { 'ses:FromAddress': sender.address } },
      }),
    );
  }
}

/** An SES sender: the From address and the identity ARNs that may cover it. */
export interface SesSender {
  readonly address: string;
  readonly identityArns: string[];
}
