import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import * as z from 'zod';
import { s3Client } from '../clients.js';
import { getConfig } from '../config.js';
import type { Environment } from '../store/records.js';
import type { DeployProvider, DeployRequest, DeployStatus, RollbackRequest } from './deploy-provider.js';
import {
  parseHandle,
  pollUntil,
  ROLLBACK_BUDGET_MS,
  ROLLBACK_POLL_MS,
  systemClock,
  targetOf,
  withoutUndefined,
  type Clock,
} from './support.js';
import type { HttpTarget } from './targets.js';

/** How long the artifact's presigned URL is valid (or less, if the signing role's session ends sooner). */
export const ARTIFACT_URL_TTL_SECONDS = 3600;
/** Status polls that may fail in a row (5xx, no answer) before the deployment counts as failed. */
export const TRANSIENT_FAILURES_TOLERATED = 3;
/** The most of a hook's answer quoted in a failure message. */
const QUOTE_CHARS = 300;

/** What a deploy hook answers to the POST (200, 201 or 202). */
export const HookDeployResponseSchema = z.object({
  deploymentId: z.string().min(1).max(256),
  /** Absolute, or relative to the deploy URL; must be on the deploy hook's origin. */
  statusUrl: z.string().min(1).optional(),
  /** A hook that deploys synchronously may answer with the outcome at once. */
  state: z.enum(['IN_PROGRESS', 'SUCCEEDED', 'FAILED']).optional(),
  endpoint: z.url().optional(),
  message: z.string().optional(),
});

/** What a status URL answers (2xx). */
export const HookStatusResponseSchema = z.object({
  state: z.enum(['IN_PROGRESS', 'SUCCEEDED', 'FAILED']),
  endpoint: z.url().optional(),
  message: z.string().optional(),
});

/** An http deployment: where to poll, since when, and how many polls in a row went unanswered. */
export const HttpHandleSchema = z.object({
  deploymentId: z.string().min(1),
  statusUrl: z.string().min(1).optional(),
  version: z.string().min(1),
  startedAt: z.iso.datetime(),
  transientFailures: z.number().int().min(0).default(0),
  endpoint: z.string().optional(),
});
export type HttpHandle = z.infer<typeof HttpHandleSchema>;

export interface HttpHookProviderOptions {
  /** Presigns the artifact URL. @default the shared S3 client */
  s3?: S3Client;
  /** @default ARTIFACTS_BUCKET */
  bucket?: string;
  /** Credentials requests are signed with. @default the SDK's default chain (the Lambda role on AWS) */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  clock?: Clock;
  /** Time limit of one request to the hook. @default 10000 */
  requestTimeoutMs?: number;
  /** How long and how often a rollback polls. @default ROLLBACK_BUDGET_MS, ROLLBACK_POLL_MS */
  rollbackBudgetMs?: number;
  rollbackPollMs?: number;
}

/**
 * Deploys through a team's own deploy hook over HTTP(S). Every request is signed with AWS SigV4 (unless the target
 * says `auth: "none"`), so a hook behind API Gateway IAM auth or a Lambda function URL with AWS_IAM verifies the
 * pipeline's role without a shared secret. The hook receives a presigned GET URL for the artifact, so it needs no
 * access to the bucket. The POST carries an `Idempotency-Key` header (`<releaseId>-<environment>`; for a rollback
 * `rollback-<failed releaseId>-to-<previous releaseId>-<environment>`) that stays the same when the call is retried.
 */
export class HttpHookProvider implements DeployProvider {
  readonly type = 'http' as const;
  private readonly clock: Clock;
  private credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;

  constructor(private readonly options: HttpHookProviderOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.credentials = options.credentials;
  }

  private get s3(): S3Client {
    return this.options.s3 ?? s3Client();
  }

  /** POSTs the deployment to the hook and keeps the status URL it is followed at. */
  async start(req: DeployRequest): Promise<DeployStatus> {
    const target = targetOf(req.target, 'http');
    const deployment = {
      service: req.service,
      environment: req.environment,
      version: req.version,
      releaseId: req.releaseId,
      artifactKey: req.artifactKey,
    };
    return this.post(target, deployment, `${req.releaseId}-${req.environment}`);
  }

  /** GETs the status URL once. */
  async status(req: DeployRequest, rawHandle: Record<string, unknown>): Promise<DeployStatus> {
    const target = targetOf(req.target, 'http');
    return this.poll(target, parseHandle(HttpHandleSchema, rawHandle, 'handle'));
  }

  /**
   * POSTs the previous release's artifact to the hook with `rollback: true`, then polls its status within the
   * rollback budget. Without a previous release there is nothing to send; the hook's own state is left as it is.
   */
  async rollback(args: RollbackRequest): Promise<DeployStatus | undefined> {
    const target = targetOf(args.target, 'http');
    const previous = args.previous;
    if (!previous) return undefined;
    const deployment = {
      service: args.service,
      environment: args.environment,
      version: previous.version,
      releaseId: previous.releaseId,
      artifactKey: previous.artifactKey,
      rollback: true,
    };
    // The key names the release being rolled back too: going back to the same version after another failed release
    // is a new rollback, not a repeat.
    const key = `rollback-${args.failed?.releaseId ?? `at-${this.clock.now()}`}-to-${previous.releaseId}-${args.environment}`;
    let status = await this.post(target, deployment, key);
    const budgetMs = Math.min(this.options.rollbackBudgetMs ?? ROLLBACK_BUDGET_MS, target.timeoutSeconds * 1000);
    return pollUntil(
      this.clock,
      { budgetMs, intervalMs: this.options.rollbackPollMs ?? ROLLBACK_POLL_MS },
      async () => {
        if (status.state !== 'IN_PROGRESS') return status;
        status = await this.poll(target, parseHandle(HttpHandleSchema, status.handle, 'handle'));
        return status.state === 'IN_PROGRESS' ? undefined : status;
      },
      () => ({
        ...status,
        state: 'FAILED',
        message: `rollback to ${previous.version} through ${target.deployUrl} did not finish within ${Math.round(budgetMs / 1000)}s (${status.message ?? 'in progress'})`,
      }),
    );
  }

  /**
   * The hook protocol has no way to cancel a deployment, and posting anything else could deploy something: the
   * deployment is left to the hook. A retry of the same step reuses it (same Idempotency-Key), and the Rollback posts
   * the previous version. The pipeline checks its fence before every poll, so nothing more is asked of the hook.
   */
  async discard(req: DeployRequest, rawHandle: Record<string, unknown>): Promise<string> {
    targetOf(req.target, 'http');
    const id = HttpHandleSchema.partial().safeParse(rawHandle).data?.deploymentId;
    return id ? `deployment ${id} is left to the hook, which has no cancel` : 'the hook accepted no deployment';
  }

  /**
   * POSTs one deployment. `idempotencyKey` is the same when the pipeline retries the same call (a Lambda retry of
   * a start, a retried rollback), so a hook can answer a repeat with the deployment it already began.
   */
  private async post(
    target: HttpTarget,
    deployment: { service: string; environment: Environment; version: string; releaseId: string; artifactKey: string; rollback?: boolean },
    idempotencyKey: string,
  ): Promise<DeployStatus> {
    const startedAt = new Date(this.clock.now()).toISOString();
    const bucket = this.options.bucket ?? getConfig().ARTIFACTS_BUCKET;
    const url = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: bucket, Key: deployment.artifactKey }), {
      expiresIn: ARTIFACT_URL_TTL_SECONDS,
    });
    const { artifactKey, ...rest } = deployment;
    const body = JSON.stringify({ ...rest, artifact: { bucket, key: artifactKey, url } });
    const failed = (message: string): DeployStatus => ({
      state: 'FAILED',
      handle: { deploymentId: 'none', version: deployment.version, startedAt },
      message,
    });

    const answer = await this.send(target, 'POST', target.deployUrl, body, { 'idempotency-key': idempotencyKey });
    if ('error' in answer) return failed(`deploy hook ${target.deployUrl} did not answer: ${answer.error}`);
    if (![200, 201, 202].includes(answer.status)) {
      return failed(`deploy hook ${target.deployUrl} answered ${answer.status}: ${quote(answer.text)}`);
    }
    const parsed = parseJson(HookDeployResponseSchema, answer.text);
    if ('error' in parsed) {
      return failed(
        `deploy hook ${target.deployUrl} answered ${answer.status} with ${parsed.error}; expected {"deploymentId": "...", "statusUrl"?: "..."}`,
      );
    }
    const hook = parsed.value;
    const statusUrl = statusUrlFor(target, hook.deploymentId, hook.statusUrl);
    if ('error' in statusUrl) return failed(statusUrl.error);

    const handle = withoutUndefined<HttpHandle>({
      deploymentId: hook.deploymentId,
      statusUrl: statusUrl.url,
      version: deployment.version,
      startedAt,
      transientFailures: 0,
      endpoint: hook.endpoint ?? target.endpointUrl,
    });
    if (hook.state === 'SUCCEEDED' || hook.state === 'FAILED') {
      return { state: hook.state, endpoint: handle.endpoint, handle, message: hook.message ?? `deploy hook answered ${hook.state}` };
    }
    if (!handle.statusUrl) {
      return failed(
        `deploy hook ${target.deployUrl} gave no statusUrl and the target has no statusUrl template, so deployment ${hook.deploymentId} cannot be followed`,
      );
    }
    return { state: 'IN_PROGRESS', endpoint: handle.endpoint, handle, message: hook.message ?? `deployment ${hook.deploymentId} accepted` };
  }

  private async poll(target: HttpTarget, handle: HttpHandle): Promise<DeployStatus> {
    const out = { endpoint: handle.endpoint, handle };
    const elapsedMs = this.clock.now() - Date.parse(handle.startedAt);
    if (elapsedMs > target.timeoutSeconds * 1000) {
      return { ...out, state: 'FAILED', message: `deployment ${handle.deploymentId} did not finish within ${target.timeoutSeconds}s` };
    }
    if (!handle.statusUrl) return { ...out, state: 'FAILED', message: `deployment ${handle.deploymentId} has no status URL to poll` };

    const answer = await this.send(target, 'GET', handle.statusUrl);
    // A 5xx or no answer may be a blip of the hook; a few in a row are a failure.
    const transient =
      'error' in answer ? answer.error : answer.status >= 500 ? `answered ${answer.status}: ${quote(answer.text)}` : undefined;
    if (transient) {
      const failures = handle.transientFailures + 1;
      const next = { ...handle, transientFailures: failures };
      if (failures >= TRANSIENT_FAILURES_TOLERATED) {
        return {
          endpoint: handle.endpoint,
          handle: next,
          state: 'FAILED',
          message: `status URL ${handle.statusUrl} failed ${failures} times in a row; last: ${transient}`,
        };
      }
      return {
        endpoint: handle.endpoint,
        handle: next,
        state: 'IN_PROGRESS',
        message: `status URL ${transient} (${failures} of ${TRANSIENT_FAILURES_TOLERATED} tolerated)`,
      };
    }
    const { status, text } = answer as { status: number; text: string };
    if (status < 200 || status > 299) {
      return { ...out, state: 'FAILED', message: `status URL ${handle.statusUrl} answered ${status}: ${quote(text)}` };
    }
    const parsed = parseJson(HookStatusResponseSchema, text);
    if ('error' in parsed) {
      return {
        ...out,
        state: 'FAILED',
        message: `status URL ${handle.statusUrl} answered ${parsed.error}; expected {"state": "IN_PROGRESS" | "SUCCEEDED" | "FAILED"}`,
      };
    }
    const hook = parsed.value;
    const next = withoutUndefined<HttpHandle>({ ...handle, transientFailures: 0, endpoint: hook.endpoint ?? handle.endpoint });
    const message = hook.message ?? `deployment ${handle.deploymentId} ${hook.state}`;
    return { state: hook.state, endpoint: next.endpoint, handle: next, message };
  }

  /** One request to the hook, signed unless the target says otherwise. Never throws for network trouble. */
  private async send(
    target: HttpTarget,
    method: 'GET' | 'POST',
    url: string,
    body?: string,
    extraHeaders: Record<string, string> = {},
  ): Promise<{ status: number; text: string } | { error: string }> {
    const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const sent =
      target.auth === 'sigv4'
        ? await signRequest({
            method,
            url,
            headers,
            body,
            region: target.signingRegion ?? (await this.s3.config.region()),
            service: target.signingService,
            credentials: (this.credentials ??= defaultProvider()),
            signingDate: new Date(this.clock.now()),
          })
        : headers;
    try {
      const res = await fetch(url, {
        method,
        headers: sent,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 10_000),
      });
      return { status: res.status, text: await res.text() };
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      return { error: cause ? `${(err as Error).message} (${cause})` : (err as Error).message };
    }
  }
}

/**
 * Signs an HTTP request with AWS SigV4 and returns the headers to send (host excluded: fetch sets it, to the same
 * value that was signed). The payload hash goes in `x-amz-content-sha256`, which Lambda function URLs need for a
 * body and API Gateway accepts.
 */
export async function signRequest(args: {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  region: string;
  service: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  signingDate?: Date;
}): Promise<Record<string, string>> {
  const url = new URL(args.url);
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const seen = query[key];
    query[key] = seen === undefined ? value : ([] as string[]).concat(seen, value);
  }
  const request = new HttpRequest({
    method: args.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query,
    headers: { ...args.headers, host: url.host },
    body: args.body,
  });
  const signer = new SignatureV4({ credentials: args.credentials, region: args.region, service: args.service, sha256: Sha256 });
  const signed = await signer.sign(request, { signingDate: args.signingDate });
  const { host: _host, ...headers } = signed.headers;
  return headers;
}

/**
 * The URL to poll: the hook's `statusUrl` (resolved against the deploy URL), else the target's template. Either
 * must be on an origin the catalog names, so a hook cannot steer signed requests elsewhere.
 */
function statusUrlFor(target: HttpTarget, deploymentId: string, fromHook: string | undefined): { url?: string } | { error: string } {
  const allowed = new Set([new URL(target.deployUrl).origin]);
  if (target.statusUrl) allowed.add(new URL(target.statusUrl.replaceAll('{deploymentId}', 'x')).origin);
  let url: URL | undefined;
  try {
    if (fromHook) url = new URL(fromHook, target.deployUrl);
    else if (target.statusUrl) url = new URL(target.statusUrl.replaceAll('{deploymentId}', encodeURIComponent(deploymentId)));
  } catch {
    return { error: `deploy hook gave a statusUrl that is not a URL: ${quote(fromHook ?? '')}` };
  }
  if (!url) return {};
  if (!allowed.has(url.origin)) {
    return {
      error: `deploy hook gave statusUrl ${url.toString()}, which is not on ${[...allowed].join(' or ')}; Launchway sends signed requests only there`,
    };
  }
  return { url: url.toString() };
}

function parseJson<S extends z.ZodType>(schema: S, text: string): { value: z.infer<S> } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: `a body that is not JSON: ${quote(text)}` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return { error: `unexpected JSON (${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})` };
  }
  return { value: parsed.data };
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (!flat) return '(empty body)';
  return flat.length > QUOTE_CHARS ? `${flat.slice(0, QUOTE_CHARS)}…` : flat;
}
