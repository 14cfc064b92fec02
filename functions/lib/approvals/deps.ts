import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { findService as findServiceInCatalog } from '../catalog-source.js';
import type { ServiceConfig } from '../catalog.js';
import { documentClient, s3Client, sfnClient } from '../clients.js';
import { getConfig, requireConfig, type Config } from '../config.js';
import { notifierFromConfig } from '../notify/index.js';
import type { Notifier } from '../notify/notifier.js';
import { ApprovalStore } from '../store/approval-store.js';
import { ReleaseStore } from '../store/release-store.js';
import { REPORT_LINK_SECONDS } from './confirmation-view.js';
import { sfnTaskSender, type DeliveryDeps } from './delivery.js';
import { signerFromConfig, type LinkSigner } from './signer.js';

/** What the approval gate needs: the approval step and the approval API alike. Tests and the embedded runtime pass their own. */
export interface ApprovalDeps {
  store: ReleaseStore;
  approvals: ApprovalStore;
  signer: LinkSigner;
  notifier: Notifier;
  sfn: SFNClient;
  /** Public base URL of the approval API, e.g. `https://approvals.example.com` (no trailing slash needed). */
  baseUrl: string;
  /** The live catalog entry of a service (re-read at decision time, so removing an approver takes effect). */
  findService(name: string): Promise<ServiceConfig | undefined>;
  now(): Date;
  /**
   * A short-lived download URL (a presigned S3 GET) for a smoke report key under `reports/`. Absent: the page shows
   * the keys without links.
   */
  reportUrl?(key: string): Promise<string>;
}

/** The parts telling Step Functions a conclusion needs. */
export function deliveryDeps(deps: ApprovalDeps): DeliveryDeps {
  return { store: deps.approvals, tasks: sfnTaskSender(deps.sfn), now: deps.now };
}

let cached: { config: Config; deps: ApprovalDeps } | undefined;

/**
 * The approval gate's dependencies from the configuration (`RELEASES_TABLE`, `APPROVAL_BASE_URL`, the signer and
 * notifier settings) and the shared SDK clients. Rebuilt when the configuration is reset.
 */
export function approvalDepsFromConfig(): ApprovalDeps {
  const config = getConfig();
  if (cached?.config === config) return cached.deps;
  const doc = documentClient();
  // Built on first send: the approval API never emails, so it must not fail over mail settings it does not use.
  let notifier: Notifier | undefined;
  const deps: ApprovalDeps = {
    store: new ReleaseStore(doc, config.RELEASES_TABLE),
    approvals: new ApprovalStore(doc, config.RELEASES_TABLE),
    signer: signerFromConfig(config),
    notifier: { send: (message) => (notifier ??= notifierFromConfig(config)).send(message) },
    sfn: sfnClient(),
    baseUrl: requireConfig('APPROVAL_BASE_URL'),
    findService: findServiceInCatalog,
    now: () => new Date(),
    // Signed with the function's own credentials: on AWS it may read reports/* only, so the URL can do no more.
    reportUrl: (key) =>
      getSignedUrl(s3Client(), new GetObjectCommand({ Bucket: config.ARTIFACTS_BUCKET, Key: key }), { expiresIn: REPORT_LINK_SECONDS }),
  };
  cached = { config, deps };
  return deps;
}
