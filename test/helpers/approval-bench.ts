import { startTestEmulators, type TestEmulators } from './emulators.js';
import { LocalStepFunctions, type LambdaHandler } from '../../local/sfn/local-step-functions.js';
import { startApprovalServer, type ApprovalServer } from '../../local/approval-server.js';
import { handler as requestApprovalHandler } from '../../functions/approval/handler.js';
import { documentClient, resetClients, s3Client } from '../../functions/lib/clients.js';
import { ArtifactStore } from '../../functions/lib/artifact-store.js';
import { resetCatalog } from '../../functions/lib/catalog-source.js';
import { resetConfig } from '../../functions/lib/config.js';
import { ReleaseStore } from '../../functions/lib/store/release-store.js';

/** A one-state machine: the release's RequestApproval task without the rest of the pipeline. */
export const APPROVAL_GATE = {
  StartAt: 'RequestApproval',
  States: {
    RequestApproval: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: 'request-approval', Payload: { 'releaseId.$': '$.releaseId', 'taskToken.$': '$$.Task.Token' } },
      TimeoutSeconds: 600,
      ResultPath: '$.approval',
      End: true,
    },
  },
};

/** A deploy target the catalog accepts; approval tests never deploy. */
export const NO_DEPLOY_TARGET = { type: 'local-process' };

export interface ApprovalBench {
  emu: TestEmulators;
  sfn: LocalStepFunctions;
  server: ApprovalServer;
  store: ReleaseStore;
  outboxDir: string;
  stop(): Promise<void>;
}

/**
 * What the approval tests share: dynalite and s3rver, a real Step Functions endpoint running `definition` with the
 * request-approval Lambda (or `handler`), the local approval server, the environment the handlers read, and the
 * catalog in S3.
 */
export async function startApprovalBench(opts: {
  secret: string;
  services: Record<string, unknown>;
  definition?: object;
  handler?: LambdaHandler;
  server?: Parameters<typeof startApprovalServer>[0];
}): Promise<ApprovalBench> {
  const emu = await startTestEmulators();
  const outboxDir = `${emu.dir}/outbox`;
  const sfn = new LocalStepFunctions({
    stateMachines: [{ name: 'approval-gate', definition: opts.definition ?? APPROVAL_GATE }],
    lambdas: { 'request-approval': opts.handler ?? (requestApprovalHandler as unknown as LambdaHandler) },
  });
  const { url: sfnUrl } = await sfn.listen();
  const server = await startApprovalServer(opts.server);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SFN: sfnUrl,
    APPROVAL_BASE_URL: server.url,
    APPROVAL_SIGNING_SECRET: opts.secret,
    NOTIFIER: 'outbox',
    OUTBOX_DIR: outboxDir,
  });
  resetConfig();
  resetClients();
  const store = new ReleaseStore(documentClient(), emu.table);
  await new ArtifactStore(s3Client(), emu.bucket).put(
    'config/catalog.json',
    JSON.stringify({ services: opts.services }),
    'application/json',
  );
  resetCatalog();
  return {
    emu,
    sfn,
    server,
    store,
    outboxDir,
    async stop() {
      await server.close();
      await sfn.close();
      await emu.stop();
    },
  };
}
