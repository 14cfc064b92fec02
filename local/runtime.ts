import './embedded-defaults.js';
import './polyfills.js';
import type { Context } from 'aws-lambda';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCatalog, type Catalog } from '../functions/lib/catalog.js';
import { resetCaches } from '../functions/lib/caches.js';
import { providerFor } from '../functions/lib/deploy/index.js';
import { stopAll as stopLocalProcesses } from '../functions/lib/deploy/process-supervisor.js';
import { defaultDeps } from '../functions/lib/pipeline/deps.js';
import { startApprovalServer } from './approval-server.js';
import { loadReleaseDefinition } from './asl.js';
import { publishCatalog } from './catalog-reload.js';
import { lockDataDir } from './data-dir-lock.js';
import { choosePorts, clearState, SECRETS_FILE_NAME, savedPorts, savePorts, signingSecret, STATE_PATHS } from './durable-state.js';
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  createBucket,
  createReleasesTable,
  startDynalite,
  startS3rver,
  type RunningServer,
} from './emulators.js';
import { finalizeLostReleases, releaseStaleLocks, restartLiveVersions, type RecoveryLine } from './recovery.js';
import { localLambdas, localSubstitutions, LOCAL_ACCOUNT, type LambdaHandler } from './functions.js';
import { startLocalGateway } from './gateway.js';
import { startLambdaEndpoint } from './lambda-endpoint.js';
import { LocalStepFunctions } from './sfn/local-step-functions.js';
import { handler as executionStatus } from '../functions/execution-status/handler.js';
import { handler as operate } from '../functions/operate/handler.js';
import { ENDED_EXECUTION_STATUSES } from '../functions/lib/pipeline/execution-ended.js';
import type { StepFunctionId } from '../functions/steps.js';
import { BUCKET_LAYOUT } from '../functions/lib/bucket-layout.js';

export const STATE_MACHINE_NAME = 'launchway-release';
export const TABLE_NAME = 'launchway-releases';
export const BUCKET_NAME = 'launchway-artifacts';
export const CATALOG_KEY = BUCKET_LAYOUT.catalogKey;
/** The function `launchway rollback` invokes, served by the stack's Lambda endpoint. */
const OPERATE_FUNCTION_NAME = 'launchway-operate';

/** How long the Wait states of the definition really wait in embedded mode, by state name (ms). */
export const DEMO_WAITS = { WaitForLock: 1000, WaitStaging: 300, WaitProduction: 300 };
/** Test pacing: every Wait and every Retry interval short, so scenarios run in seconds. */
export const FAST_WAITS = { WaitForLock: 150, WaitStaging: 100, WaitProduction: 100 };

export interface EmbeddedOptions {
  /** Root of everything the stack writes: S3 data, the outbox, running targets. Default `.launchway`. */
  dataDir?: string;
  /** The catalog, parsed, or the path of a catalog JSON file. */
  catalog: Catalog | string;
  /** Wait-state durations in ms by state name. Default DEMO_WAITS. */
  waits?: Record<string, number>;
  /** Retry intervals in ms by state name (tests shorten them). */
  retryIntervals?: Record<string, number | number[]>;
  /** Fixed ports (0 or absent picks free ones). */
  ports?: Partial<Record<'sfn' | 'dynamodb' | 's3' | 'approval' | 'gateway' | 'lambda', number>>;
  /**
   * Start from empty data (default true, for tests). False (`launchway dev`): keep the records, artifacts, outbox,
   * gateway routes, signing secret and ports of the last run, restart the live versions and end the releases whose
   * executions the restart lost.
   */
  fresh?: boolean;
  /**
   * The state machine's `TimeoutSeconds` instead of the definition's (eight days), so a test can see an execution
   * time out.
   */
  executionTimeoutSeconds?: number;
  /**
   * `TimeoutSeconds` by Task state name instead of the definition's (replacing a `TimeoutSecondsPath`), so a test
   * can see one state time out while its Lambda is still running.
   */
  taskTimeouts?: Record<string, number>;
  /** Wraps step functions' handlers by id; tests use it to hold a step while they stop its execution. */
  wrapHandler?: (id: StepFunctionId, handler: LambdaHandler) => LambdaHandler;
}

export interface EmbeddedStack {
  stateMachineArn: string;
  endpoints: { sfn: string; dynamodb: string; s3: string; approval: string; gateway: string; lambda: string };
  /** The variables the CLI and SDK clients need; also written to `.launchway/endpoints.env` by `launchway dev`. */
  env: Record<string, string>;
  dataDir: string;
  outboxDir: string;
  sfn: LocalStepFunctions;
  /** The catalog the stack booted with. */
  catalog: Catalog;
  /** What the boot did to bring the last run's state back (empty on a fresh start), and saved ports it could not reuse. */
  recovery: { notices: string[]; finalized: RecoveryLine[]; restarted: RecoveryLine[] };
  stop(): Promise<void>;
}

/**
 * Boots the whole pipeline on 127.0.0.1: dynalite, s3rver, the local gateway, the approval API and a Step
 * Functions endpoint running statemachines/release.asl.json with the real handlers in process. Everything reaches
 * everything through the standard AWS_ENDPOINT_URL_* variables, as on AWS.
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedStack> {
  const dataDir = path.resolve(options.dataDir ?? '.launchway');
  const fresh = options.fresh ?? true;
  // Before anything is cleared or opened: a second stack on this folder is refused, not run over.
  const lock = await lockDataDir(dataDir);
  const outboxDir = path.join(dataDir, STATE_PATHS.outbox);
  let ports: Awaited<ReturnType<typeof choosePorts>>['ports'];
  let notices: string[];
  let catalog: Catalog;
  try {
    if (fresh) await clearState(dataDir);
    await mkdir(dataDir, { recursive: true });
    ({ ports, notices } = await choosePorts(options.ports ?? {}, fresh ? {} : await savedPorts(dataDir)));
    catalog =
      typeof options.catalog === 'string'
        ? parseCatalog(JSON.parse(await readFile(options.catalog, 'utf8')), options.catalog)
        : parseCatalog(options.catalog);
  } catch (err) {
    await lock.release();
    throw err;
  }

  const started: { close(): Promise<void> }[] = [];
  const stopStarted = async () => {
    await stopLocalProcesses();
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    await lock.release();
  };
  try {
    const dynamo: RunningServer = await startDynalite({ port: ports.dynamodb, path: path.join(dataDir, STATE_PATHS.dynamodb) });
    started.push(dynamo);
    const s3 = await startS3rver({ directory: path.join(dataDir, STATE_PATHS.s3), port: ports.s3 });
    started.push(s3);
    const gateway = await startLocalGateway({ port: ports.gateway, stateFile: path.join(dataDir, STATE_PATHS.gateway) });
    started.push(gateway);
    const approval = await startApprovalServer({ port: ports.approval });
    started.push(approval);

    const env: Record<string, string> = {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
      AWS_ENDPOINT_URL_S3: s3.url,
      RELEASES_TABLE: TABLE_NAME,
      ARTIFACTS_BUCKET: BUCKET_NAME,
      CATALOG_KEY,
      APPROVAL_BASE_URL: approval.url,
      NOTIFIER: 'outbox',
      OUTBOX_DIR: outboxDir,
      LOCAL_TARGETS_DIR: path.join(dataDir, STATE_PATHS.targets),
      LOCAL_GATEWAY_ADMIN_URL: gateway.adminUrl,
      LAUNCHWAY_GATEWAY_URL: gateway.url,
      // The secrets the catalog names, read by the handlers in this process; the user creates the file (mode 0600).
      SECRETS_FILE: path.join(dataDir, SECRETS_FILE_NAME),
    };
    Object.assign(process.env, env);
    // Signs approval links; kept in the data directory (0600), never in endpoints.env: the CLI follows emailed links.
    process.env.APPROVAL_SIGNING_SECRET = await signingSecret(dataDir);
    resetCaches();

    await createReleasesTable(dynamo.url, TABLE_NAME);
    await createBucket(s3.url, BUCKET_NAME);
    await publishCatalog({ endpoint: s3.url, bucket: BUCKET_NAME, key: CATALOG_KEY }, catalog);

    const stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${STATE_MACHINE_NAME}`;
    const definition = withTimeouts(await loadReleaseDefinition(localSubstitutions(LOCAL_REGION)), options);
    const sfn = new LocalStepFunctions({
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
      stateMachines: [{ name: STATE_MACHINE_NAME, definition }],
      lambdas: localLambdas(LOCAL_REGION, options.wrapHandler),
      waitTimeOverrides: options.waits ?? DEMO_WAITS,
      retryIntervalOverrides: options.retryIntervals,
      // The EventBridge rule of the construct: executions no Catch could end go to the same handler as on AWS.
      onStatusChange: [
        {
          statuses: [...ENDED_EXECUTION_STATUSES],
          stateMachineArns: [stateMachineArn],
          // The handler parses the event with its zod schema, as the Lambda does.
          handler: (event) => executionStatus(event as never, statusHandlerContext(event.id)),
        },
      ],
    });
    const sfnServer = await sfn.listen(ports.sfn ?? 0);
    started.push({ close: () => sfn.close() });
    env.AWS_ENDPOINT_URL_SFN = sfnServer.url;
    env.LAUNCHWAY_STATE_MACHINE_ARN = stateMachineArn;
    process.env.AWS_ENDPOINT_URL_SFN = sfnServer.url;
    process.env.LAUNCHWAY_STATE_MACHINE_ARN = stateMachineArn;
    resetCaches();

    // The operating commands that change production run here, where the services' processes are.
    const lambda = await startLambdaEndpoint({
      functions: { [OPERATE_FUNCTION_NAME]: operate as never },
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
      port: ports.lambda,
    });
    started.push(lambda);
    env.AWS_ENDPOINT_URL_LAMBDA = lambda.url;
    env.LAUNCHWAY_OPERATE_FUNCTION = OPERATE_FUNCTION_NAME;
    process.env.AWS_ENDPOINT_URL_LAMBDA = lambda.url;
    process.env.LAUNCHWAY_OPERATE_FUNCTION = OPERATE_FUNCTION_NAME;
    resetCaches();
    await savePorts(dataDir, {
      sfn: sfnServer.port,
      dynamodb: dynamo.port,
      s3: s3.port,
      approval: approval.port,
      gateway: gateway.port,
      lambda: Number(new URL(lambda.url).port),
    });
    const recovery = { notices, finalized: [] as RecoveryLine[], restarted: [] as RecoveryLine[] };
    if (!fresh) {
      const { store } = defaultDeps();
      // Ended first: a rollback puts the version before back, and only then is what is live restarted.
      recovery.finalized = await finalizeLostReleases({
        store,
        stateMachineArn,
        executionExists: (arn) => sfn.executions().some((e) => e.executionArn === arn),
        endExecution: (event) => executionStatus(event as never, statusHandlerContext(event.id)),
      });
      // A release killed between its terminal write and its lock release left the lock held by nobody alive.
      recovery.finalized.push(...(await releaseStaleLocks({ store, catalog })));
      recovery.restarted = await restartLiveVersions({ store, catalog, providerFor });
    }

    return {
      stateMachineArn,
      endpoints: { sfn: sfnServer.url, dynamodb: dynamo.url, s3: s3.url, approval: approval.url, gateway: gateway.url, lambda: lambda.url },
      env,
      dataDir,
      outboxDir,
      sfn,
      catalog,
      recovery,
      stop: async () => {
        await stopStarted();
        resetCaches();
      },
    };
  } catch (err) {
    await stopStarted();
    throw err;
  }
}

/** The definition with the execution and Task timeouts the options override; a Task state not in it is an error. */
function withTimeouts(definition: string, options: Pick<EmbeddedOptions, 'executionTimeoutSeconds' | 'taskTimeouts'>): string {
  if (options.executionTimeoutSeconds === undefined && !options.taskTimeouts) return definition;
  const parsed = JSON.parse(definition) as { TimeoutSeconds?: number; States: Record<string, Record<string, unknown>> };
  if (options.executionTimeoutSeconds !== undefined) parsed.TimeoutSeconds = options.executionTimeoutSeconds;
  for (const [name, seconds] of Object.entries(options.taskTimeouts ?? {})) {
    const state = parsed.States[name];
    if (state?.Type !== 'Task') throw new Error(`taskTimeouts.${name}: the release state machine has no Task state "${name}"`);
    if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`taskTimeouts.${name}: expected whole seconds >= 1, got ${seconds}`);
    delete state.TimeoutSecondsPath;
    state.TimeoutSeconds = seconds;
  }
  return JSON.stringify(parsed);
}

/** The Lambda-like context of one in-process invocation of the execution-status handler. */
function statusHandlerContext(requestId: string): Context {
  const name = 'launchway-execution-status';
  const deadline = Date.now() + 540_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** `export NAME='value'` lines for a shell: `source .launchway/endpoints.env`. */
export function toEnvFile(env: Record<string, string>): string {
  const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  return (
    Object.entries(env)
      .map(([k, v]) => `export ${k}=${quote(v)}`)
      .join('\n') + '\n'
  );
}
