import * as z from 'zod';
import { MAX_POLL_SECONDS } from '../poll-schedule.js';
import { ENV_NAME, SecretMapSchema } from '../secret-ref.js';
import { strictObject } from '../strict-object.js';
import { StageTestsSchema } from '../tests-config.js';

/**
 * Deploy targets as the catalog declares them: where a service runs in one environment and which provider puts
 * a release there. One schema per provider type, joined in a discriminated union on `type`.
 */

/**
 * Path the deployed service answers 200 on. Every target has one because ValidateProduction checks it on the
 * deployment's endpoint before it runs the collection.
 */
const healthPath = z.string().startsWith('/', 'expected a path starting with "/"').default('/health');

/** A string field that must be present: its error says what belongs there rather than "expected string". */
const required = (what: string) => z.string({ error: (iss) => (iss.input === undefined ? `required: ${what}` : `expected ${what}`) });

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const roleArn = required('an IAM role ARN').regex(ROLE_ARN, 'expected an IAM role ARN (arn:aws:iam::123456789012:role/name)');
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const region = z.string().regex(REGION, 'expected an AWS region such as eu-west-1');

/**
 * The longest one deploy may stay in progress: a target's timeout, or a Lambda alias's traffic shifting and bake.
 * The state machine polls a deploy in progress with growing waits (functions/lib/poll-schedule.ts), so a longer bound
 * costs few history events; test/unit/history-bound.test.ts checks the whole execution against Step Functions'
 * 25,000 events. Raise it only with that test.
 */
export const MAX_DEPLOY_SECONDS = 1800;

/** Seconds within a deploy's bound: an integer from `min` to MAX_DEPLOY_SECONDS. */
const deploySeconds = (min: number) => z.number().int().min(min).max(MAX_DEPLOY_SECONDS);

/** A URL the deployment answers on, given by the catalog when the provider cannot discover one. */
const endpointUrl = z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' });

/** An environment variable name a target field names. */
const envName = z.string().regex(ENV_NAME, 'expected an environment variable name (letters, digits, "_", not starting with a digit)');
/** A path inside the unpacked artifact: relative, never climbing out of it. */
const insideArtifact = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), {
    message: 'expected a path relative to the unpacked artifact, without ".."',
  });
/** `staging.tests` / `production.tests`: this stage's test variables over the service's `tests`. */
const tests = StageTestsSchema.optional();

/** The variable a local process reads the release's version from. */
export const VERSION_ENV = 'SERVICE_VERSION';

/** What Launchway puts in a local process's variable `name`, or undefined when the catalog may set it. */
function setByLaunchway(t: { portEnv: string; hostEnv: string }, name: string): string | undefined {
  if (name === t.portEnv) return 'the port, portEnv';
  if (name === t.hostEnv) return 'the listen address, hostEnv';
  if (name === VERSION_ENV) return "the release's version";
  return undefined;
}

/**
 * Runs the artifact on a loopback port (embedded mode and local trials): a single file, or a directory packed by
 * `launchway release --artifact` (with its node_modules) and unpacked for each version.
 */
export const LocalProcessTargetSchema = strictObject({
  type: z.literal('local-process'),
  /**
   * What to run, as an argument array (no shell), in `workingDirectory`. Absent: `node <entry>`, where the entry is
   * the single-file artifact itself, or the `main` of the unpacked directory's package.json.
   */
  command: z.array(z.string().min(1)).min(1, 'expected the program and its arguments, e.g. ["node", "server.js"]').optional(),
  /** Where the command runs, relative to the unpacked artifact. @default its root */
  workingDirectory: insideArtifact.optional(),
  /** The variable the service reads its port from. */
  portEnv: envName.default('PORT'),
  /** The variable the service reads its listen address from (always 127.0.0.1). */
  hostEnv: envName.default('HOST'),
  /**
   * Environment variables whose values are secrets, by name → secret reference (functions/lib/secret-ref.ts). They
   * are resolved when the version starts and never written to the record, the logs or any report.
   */
  secretEnv: SecretMapSchema('env').default({}),
  /**
   * How long a replaced version keeps running after the gateway moved to the new one, so requests already in
   * flight finish: 0 to 300 s.
   */
  drainSeconds: z.number().int().min(0).max(300).default(5),
  tests,
  /** Path the target answers 200 on when it is ready. */
  healthPath: z.string().startsWith('/').default('/health'),
  /**
   * How long a new version may take to become healthy before the deploy fails: 1 s to 10 minutes. A Node process on
   * this machine that is not healthy after 10 minutes will not become so; the bound is below MAX_DEPLOY_SECONDS.
   */
  startTimeoutSeconds: z.number().int().min(1).max(600).default(30),
  /** Extra environment variables for the process (not secrets: they are shown with the catalog). */
  env: z.record(z.string(), z.string()).default({}),
})
  .refine((t) => t.portEnv !== t.hostEnv, { message: 'portEnv and hostEnv must name different variables', path: ['hostEnv'] })
  .superRefine((t, ctx) => {
    const issue = (message: string, path: string[]) => ctx.addIssue({ code: 'custom', message, path });
    for (const field of ['portEnv', 'hostEnv'] as const) {
      if (t[field] === VERSION_ENV) issue(`${VERSION_ENV} is set by Launchway to the release's version; name another variable`, [field]);
    }
    for (const [field, names] of [
      ['env', Object.keys(t.env)],
      ['secretEnv', Object.keys(t.secretEnv)],
    ] as const) {
      for (const name of names) {
        const owner = setByLaunchway(t, name);
        if (owner) issue(`${name} is set by Launchway (${owner}); it would be overwritten`, [field, name]);
        else if (field === 'secretEnv' && name in t.env)
          issue(`${name} is in env too; a variable is either plain or secret`, [field, name]);
      }
    }
  });

const LAMBDA_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9_-]{1,64}$/;
const alarmNames = z.array(z.string().min(1).max(255)).max(100, 'expected at most 100 alarms (one DescribeAlarms call)').default([]);
/**
 * Bake time at 100% while the alarms are watched, after the last shift (or after an all-at-once switch): 0 to
 * MAX_DEPLOY_SECONDS, because the deploy is in progress (and polled) while it bakes.
 */
const bakeSeconds = deploySeconds(0).default(0);
/**
 * How long a traffic weight is held before the next step: 1 s to MAX_DEPLOY_SECONDS, since the deploy is polled
 * meanwhile; the whole shift and bake must fit in MAX_DEPLOY_SECONDS too (see shiftingSeconds).
 */
const intervalSeconds = (fallback: number) => deploySeconds(1).default(fallback);

/** The three ways traffic can move, before their common bound on the total time. */
const shiftingTypes = z.discriminatedUnion(
  'type',
  [
    strictObject({
      /** The alias points at the new version in one step. */
      type: z.literal('all-at-once'),
      bakeSeconds,
      /** CloudWatch alarm names watched during the bake; one in ALARM puts the previous version back. */
      alarms: alarmNames,
    }),
    strictObject({
      /** `percent` of traffic goes to the new version for `intervalSeconds`, then all of it. */
      type: z.literal('canary'),
      percent: z.number().int().min(1).max(99).default(10),
      /** How long the canary weight is held (the canary bake) before the switch to 100%. */
      intervalSeconds: intervalSeconds(300),
      bakeSeconds,
      /** CloudWatch alarm names watched while traffic shifts and bakes; one in ALARM puts the previous version back. */
      alarms: alarmNames,
    }),
    strictObject({
      /** The new version's weight grows by `percent` every `intervalSeconds` until it takes all traffic. */
      type: z.literal('linear'),
      percent: z.number().int().min(1).max(50).default(10),
      intervalSeconds: intervalSeconds(60),
      bakeSeconds,
      alarms: alarmNames,
    }),
  ],
  { error: () => 'expected type "all-at-once", "canary" or "linear"' },
);
export type TrafficShifting = z.infer<typeof shiftingTypes>;

/**
 * The longest a deploy stays in progress for its traffic shifting and bake: each weight after the first waits one
 * interval (a canary has one such wait, a linear shift ceil(100 / percent) - 1), then the bake.
 */
export function shiftingSeconds(shifting: TrafficShifting): number {
  if (shifting.type === 'canary') return shifting.intervalSeconds + shifting.bakeSeconds;
  if (shifting.type === 'linear') return (Math.ceil(100 / shifting.percent) - 1) * shifting.intervalSeconds + shifting.bakeSeconds;
  return shifting.bakeSeconds;
}

/** How traffic moves from the version live now to the new one, within MAX_DEPLOY_SECONDS in all. */
export const TrafficShiftingSchema = shiftingTypes.superRefine((shifting, ctx) => {
  const seconds = shiftingSeconds(shifting);
  if (seconds > MAX_DEPLOY_SECONDS) {
    ctx.addIssue({
      code: 'custom',
      message: `traffic shifting and bake take ${seconds} s in all; expected at most ${MAX_DEPLOY_SECONDS} s`,
    });
  }
});

/**
 * The longest a Lambda code update and version activation may take. They normally take seconds; a function in a VPC
 * may need a few minutes for its network interfaces.
 */
export const MAX_UPDATE_SECONDS = 600;

/**
 * A Lambda function behind an alias. A deploy updates the function's code from the artifact (a zip in the
 * artifacts bucket), publishes a version and moves the alias to it, at once or through weighted alias routing.
 */
export const LambdaAliasTargetSchema = strictObject({
  type: z.literal('lambda-alias'),
  /** The function's name or full ARN. */
  functionName: required('a Lambda function name or ARN').refine((v) => LAMBDA_NAME.test(v) || LAMBDA_ARN.test(v), {
    message: 'expected a Lambda function name (letters, digits, "-" or "_", up to 64) or a function ARN',
  }),
  /** The alias that receives the new version (created on the first deploy when missing). */
  alias: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,128}$/, 'expected an alias name (letters, digits, "-" or "_", up to 128)')
    .refine((v) => !/^\d+$/.test(v), { message: 'an alias name cannot be all digits (that is a version number)' })
    .default('live'),
  healthPath,
  /**
   * How long the code update and the new version's activation may take before the deploy fails: 60 s to
   * MAX_UPDATE_SECONDS. The traffic shifting and bake that follow keep their own schedule.
   */
  updateTimeoutSeconds: z.number().int().min(60).max(MAX_UPDATE_SECONDS).default(MAX_UPDATE_SECONDS),
  trafficShifting: TrafficShiftingSchema.default({ type: 'all-at-once', bakeSeconds: 0, alarms: [] }),
  /** Use the alias's function URL as the endpoint (GetFunctionUrlConfig with the alias as qualifier). */
  functionUrl: z.boolean().default(false),
  /** A fixed URL in front of the alias (an API Gateway stage, a custom domain); used as the endpoint. */
  endpointUrl: endpointUrl.optional(),
  tests,
}).refine((t) => !(t.functionUrl && t.endpointUrl), {
  message: 'set either functionUrl or endpointUrl, not both',
  path: ['endpointUrl'],
});

/**
 * A CloudFormation stack whose template is the artifact (JSON or YAML). A deploy creates a change set (CREATE for
 * a new stack, UPDATE otherwise) and executes it.
 */
export const CloudFormationTargetSchema = strictObject({
  type: z.literal('cloudformation'),
  stackName: required('a stack name').regex(
    /^[a-zA-Z][-a-zA-Z0-9]{0,127}$/,
    'expected a stack name: a letter, then letters, digits or "-", up to 128',
  ),
  /** Template parameters, by name. */
  parameters: z.record(z.string(), z.string()).default({}),
  capabilities: z.array(z.enum(['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'])).default(['CAPABILITY_IAM']),
  /**
   * The service role CloudFormation deploys the stack with. Required: without it CloudFormation would act with the
   * pipeline's own role, which would then need rights to every resource any template might hold. The pipeline
   * gets iam:PassRole on this role only.
   */
  roleArn,
  /** The stack's region. @default the pipeline's region */
  region: region.optional(),
  /** Name of the stack output that holds the service's URL (the deployment's endpoint). */
  endpointOutput: z.string().min(1).optional(),
  /**
   * How long the change set and the stack operation may take before the deploy fails: 60 s to MAX_DEPLOY_SECONDS,
   * since the state machine polls it meanwhile. The stack operation itself is not cancelled.
   */
  timeoutSeconds: deploySeconds(60).default(MAX_DEPLOY_SECONDS),
  healthPath,
  tests,
});

/**
 * An ECS service. The artifact is a small JSON image manifest, `{"image": "<repository>:<tag>"}` (or
 * `<repository>@sha256:<digest>`). A deploy registers a revision of the service's task definition with that image
 * in `containerName` and updates the service to it (the ECS rolling deployment controller).
 */
export const EcsServiceTargetSchema = strictObject({
  type: z.literal('ecs-service'),
  /** Cluster name or ARN. */
  cluster: required('a cluster name or ARN').regex(
    /^([a-zA-Z0-9_-]{1,255}|arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[a-zA-Z0-9_-]{1,255})$/,
    'expected a cluster name or cluster ARN',
  ),
  service: required('a service name').regex(/^[a-zA-Z0-9_-]{1,255}$/, 'expected a service name (letters, digits, "-" or "_")'),
  /** The container of the task definition whose image the artifact replaces. */
  containerName: required('the name of a container in the task definition').min(
    1,
    'expected the name of a container in the task definition',
  ),
  /**
   * The IAM roles the task definition uses (task role and execution role). A new revision passes them to ECS, so
   * the pipeline gets iam:PassRole on exactly these; a deploy whose task definition uses another role fails
   * before it registers anything.
   */
  taskRoleArns: z.array(roleArn).default([]),
  /**
   * How long a rollout may stay IN_PROGRESS before the deploy fails (ECS can retry failing tasks for long): 60 s
   * (a rollout takes at least that) to MAX_DEPLOY_SECONDS, since the state machine polls it meanwhile.
   */
  timeoutSeconds: deploySeconds(60).default(1800),
  /** The service's URL (a load balancer or a custom domain); ECS itself has none to report. */
  endpointUrl: endpointUrl.optional(),
  healthPath,
  tests,
});

const isLoopback = (host: string) => host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
/** https anywhere, plain http only on loopback (a local hook in development and tests). */
const hookUrl = required('the deploy hook URL')
  .pipe(z.url({ message: 'expected a URL' }))
  .refine(
    (v) => {
      const u = new URL(v);
      return u.protocol === 'https:' || (u.protocol === 'http:' && isLoopback(u.hostname));
    },
    { message: 'expected an https URL (http only on 127.0.0.1 or localhost)' },
  );

/**
 * A deploy hook over HTTP: Launchway POSTs `{service, environment, version, releaseId, artifact: {bucket, key,
 * url}}` (url: a presigned GET, valid one hour) and the hook answers `{deploymentId, statusUrl?}`; Launchway then
 * GETs the status URL until it says `{state: "SUCCEEDED" | "FAILED", endpoint?, message?}`. Requests are signed with
 * SigV4, so a hook behind API Gateway IAM auth or a Lambda function URL with AWS_IAM verifies the caller without a
 * shared secret.
 */
export const HttpTargetSchema = strictObject({
  type: z.literal('http'),
  deployUrl: hookUrl,
  /**
   * Where to poll, with `{deploymentId}` in it, when the hook's answer has no `statusUrl`. It must be on the deploy
   * hook's origin, as must a `statusUrl` the hook returns: Launchway sends signed requests nowhere else.
   */
  statusUrl: z
    .string()
    .refine((v) => v.includes('{deploymentId}'), { message: 'expected a URL template containing {deploymentId}' })
    .refine((v) => hookUrl.safeParse(v.replaceAll('{deploymentId}', 'x')).success, {
      message: 'expected an https URL (http only on 127.0.0.1 or localhost)',
    })
    .optional(),
  /** `sigv4` signs every request with the pipeline's role; `none` sends them unsigned. */
  auth: z.enum(['sigv4', 'none']).default('sigv4'),
  /** Region in the SigV4 scope. @default the pipeline's region */
  signingRegion: region.optional(),
  /** Service in the SigV4 scope: `execute-api` for API Gateway, `lambda` for a function URL. */
  signingService: z
    .string()
    .regex(/^[a-z0-9-]{2,64}$/, 'expected a service name such as execute-api or lambda')
    .default('execute-api'),
  /**
   * How long a deployment may take, from the POST, before it counts as failed: 1 s to MAX_DEPLOY_SECONDS, since the
   * state machine polls it meanwhile.
   */
  timeoutSeconds: deploySeconds(1).default(900),
  /**
   * The first wait before polling the status URL, 1 to MAX_POLL_SECONDS: later waits grow by half each time, up to
   * MAX_POLL_SECONDS (functions/lib/poll-schedule.ts).
   */
  pollSeconds: z.number().int().min(1).max(MAX_POLL_SECONDS).default(5),
  /** The service's URL when the hook's status does not report one. */
  endpointUrl: endpointUrl.optional(),
  healthPath,
  tests,
});

/** Where a service runs in one environment. */
export const DeployTargetSchema = z.discriminatedUnion(
  'type',
  [LocalProcessTargetSchema, LambdaAliasTargetSchema, CloudFormationTargetSchema, EcsServiceTargetSchema, HttpTargetSchema],
  { error: () => 'expected type "local-process", "lambda-alias", "cloudformation", "ecs-service" or "http"' },
);
export type DeployTarget = z.infer<typeof DeployTargetSchema>;

/**
 * The target types that can run a packed directory (a bundle key ending `.tar.gz`): a local process unpacks it, an
 * http hook gets a presigned URL to it. The others need one file: a Lambda zip, a template, an image manifest.
 */
export const PACKED_DIRECTORY_TARGETS: ReadonlySet<DeployTarget['type']> = new Set(['local-process', 'http']);
export type LocalProcessTarget = Extract<DeployTarget, { type: 'local-process' }>;
export type LambdaAliasTarget = Extract<DeployTarget, { type: 'lambda-alias' }>;
export type CloudFormationTarget = Extract<DeployTarget, { type: 'cloudformation' }>;
export type EcsServiceTarget = Extract<DeployTarget, { type: 'ecs-service' }>;
export type HttpTarget = Extract<DeployTarget, { type: 'http' }>;
