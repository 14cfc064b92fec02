import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
// Newman is imported here and nowhere else: it is large (about 6 MB bundled), so only the two Lambdas that run the
// collection (smoke-test-staging, validate-production), which bundle this module, pay for it.
import newman, { type NewmanRunOptions, type NewmanRunSummary } from 'newman';
import type { ArtifactStore } from './artifact-store.js';
import { ContractChecker, type Exchange } from './contract/conformance.js';
import { ConformanceLog, type ConformanceMode, type ContractConformance, describeViolation } from './contract/conformance-log.js';
import { logger } from './logger.js';
import { junitFromResult, maskDeep, maskJsonReport, withApiKeyHeader, withContractSuite } from './newman-reports.js';
import { MAX_LISTED_FAILURES, type NewmanRunLike, type SmokeResult, summarize } from './newman-summary.js';
import { type BasePathMode, parseOpenApi } from './openapi.js';
import { parsePostmanCollection } from './postman.js';
import { maskText } from './secrets.js';

export { MAX_LISTED_FAILURES, type NewmanRunLike, type SmokeFailure, type SmokeResult, summarize } from './newman-summary.js';

export interface RunSmokeTestsOptions {
  artifacts: ArtifactStore;
  /** S3 key of the Postman collection. */
  collectionKey: string;
  /** S3 prefix the reports go under, e.g. `reports/<service>/<releaseId>/staging` (bucket-layout.ts). */
  reportPrefix: string;
  /** Scheme, host and any path prefix of the target, e.g. `http://127.0.0.1:4010/greeter/v1`. */
  baseUrl: string;
  /**
   * The gateway's API key: sent as `x-api-key` on every request of the collection (whatever the collection's own
   * headers say) and given as the `apiKey` variable to collections that send it themselves. Masked everywhere kept.
   */
  apiKey?: string;
  /**
   * The Newman environment (functions/lib/test-variables.ts builds it), e.g. `{ expectedVersion: '1.1.0' }`. It
   * wins over `baseUrl` and `apiKey` as variables: a catalog may set `baseUrl` to `{{baseUrl}}/api` on purpose.
   * Environment variables override the collection's own variables.
   */
  variables?: Record<string, string>;
  /**
   * Secret values used by the run (resolved `secretVariables`): masked out of the reports, the result and the logs,
   * in every form a report may hold them (as is, JSON- and XML-escaped, percent-encoded).
   */
  secrets?: string[];
  /** Bound on the whole run. @default 120000 */
  timeoutMs?: number;
  /** Bound on each request. @default min(10000, timeoutMs) */
  requestTimeoutMs?: number;
  /**
   * Check every response against this contract (S3 key of the OpenAPI file): in `fail` mode each violation is a
   * failed check, in `warn` mode it is only reported in `contract`. Absent: no check.
   */
  contract?: { openapiKey: string; mode: ConformanceMode; basePathMode?: BasePathMode };
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const SCRIPT_TIMEOUT_MS = 5_000;
// Newman enforces `timeout` itself; this margin only catches a run that never calls back at all.
const WATCHDOG_MARGIN_MS = 15_000;

/**
 * Runs a Postman collection from S3 with Newman, in process, against `baseUrl`, and uploads the JSON and JUnit
 * reports to `<reportPrefix>/newman.json` and `<reportPrefix>/junit.xml`.
 *
 * Failing tests are a result, not an error: they come back in `failed` and `failures`. A run Newman stops part
 * way (the overall timeout) comes back with what ran plus one failure saying why. It throws only when the run
 * cannot happen: the collection is missing (NotFoundError) or invalid (ValidationError), or Newman fails to start.
 */
export async function runSmokeTests(options: RunSmokeTestsOptions): Promise<SmokeResult> {
  const { artifacts, collectionKey, apiKey = '' } = options;
  const secrets = [...(options.secrets ?? []), ...(apiKey ? [apiKey] : [])];
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const requestTimeoutMs = options.requestTimeoutMs ?? Math.min(DEFAULT_REQUEST_TIMEOUT_MS, timeoutMs);
  const prefix = options.reportPrefix.replace(/\/+$/, '');
  const reportKeys = { json: `${prefix}/newman.json`, junit: `${prefix}/junit.xml` };

  const parsed = parsePostmanCollection(await artifacts.getText(collectionKey), 'artifacts.collection');
  const collection = apiKey ? withApiKeyHeader(parsed, apiKey) : parsed;
  const conformance = options.contract && (await contractCheck(artifacts, options.contract, baseUrl, secrets));
  const envVar = Object.entries({ baseUrl, apiKey, ...options.variables }).map(([key, value]) => ({ key, value }));

  const dir = await mkdtemp(path.join(tmpdir(), 'launchway-newman-'));
  const files = { json: path.join(dir, 'newman.json'), junit: path.join(dir, 'junit.xml') };
  try {
    const startedAt = Date.now();
    const outcome = await runNewman(
      {
        collection: collection as NewmanRunOptions['collection'],
        envVar,
        reporters: ['json', 'junit'],
        reporter: { json: { export: files.json }, junit: { export: files.junit } },
        timeout: timeoutMs,
        timeoutRequest: requestTimeoutMs,
        timeoutScript: SCRIPT_TIMEOUT_MS,
        // Certificates are checked; file uploads in a collection may only read the empty temp dir.
        insecure: false,
        workingDir: dir,
        insecureFileRead: false,
        bail: false,
        color: 'off',
      },
      timeoutMs + WATCHDOG_MARGIN_MS,
      conformance?.onRequest,
    );
    const counted = summarize(outcome.summary.run as unknown as NewmanRunLike);
    let result: SmokeResult = {
      ...counted,
      durationMs: counted.durationMs || Date.now() - startedAt,
      reportKeys,
    };
    if (conformance) addConformance(result, conformance.log.summary());

    let json: string;
    let junit: string;
    if (outcome.error) {
      // Newman skips its reporters when the run stops early, so the reports are written from what did run.
      const reason = `Newman stopped before the end: ${outcome.error.message} (run limit ${timeoutMs} ms)`;
      result.total += 1;
      result.failed += 1;
      // Listed first: it explains the failures after it, and must not fall off the end of a full list.
      result.failures = [{ name: '(run)', test: 'run', message: reason }, ...result.failures].slice(0, MAX_LISTED_FAILURES);
      json = JSON.stringify({ error: { name: outcome.error.name, message: reason }, run: outcome.summary.run }, null, 2);
      junit = junitFromResult(collection.info.name, result);
    } else {
      json = await readFile(files.json, 'utf8');
      junit = await readFile(files.junit, 'utf8');
      if (result.contract) json = JSON.stringify({ ...JSON.parse(json), contract: result.contract }, null, 2);
      junit = withContractSuite(junit, result.contract);
    }
    // A failing assertion quotes the value it saw, a secret included; the record and the notes keep the result.
    result = maskDeep(result, secrets);
    await artifacts.put(reportKeys.json, maskJsonReport(json, secrets), 'application/json');
    await artifacts.put(reportKeys.junit, maskText(junit, secrets), 'application/xml');
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Newman 6 options the v5 type definitions do not list.
type RunOptions = NewmanRunOptions & { workingDir?: string; insecureFileRead?: boolean };
type Summary = NewmanRunSummary;

/**
 * Runs Newman and settles once. An error with a summary that has executions, or the run limit passing, means the
 * run started and was cut short, which the caller reports; any other error before anything ran means Newman could
 * not run, which throws.
 */
function runNewman(
  runOptions: RunOptions,
  watchdogMs: number,
  onRequest?: (args: NewmanRequestArgs) => void,
): Promise<{ summary: Summary; error?: Error }> {
  return new Promise((resolve, reject) => {
    const watchdog = setTimeout(() => reject(new Error(`Newman did not finish within ${watchdogMs} ms`)), watchdogMs);
    watchdog.unref();
    try {
      const run = newman.run(runOptions, (err, summary) => {
        clearTimeout(watchdog);
        if (!err) return resolve({ summary });
        // The run limit can pass before the first request completes (a slow target, a loaded machine): that is a run
        // cut short too, not one that could not start.
        const timedOut = /timed out/i.test(err.message);
        if (summary?.run && (summary.run.executions?.length || timedOut)) return resolve({ summary, error: err });
        reject(new Error(`Newman could not run the collection: ${err.message}`, { cause: err }));
      });
      // A request that got no response (err) is already a failure of the run; there is nothing to check.
      if (onRequest) run.on('request', (err: unknown, args: NewmanRequestArgs) => err || !args?.response || onRequest(args));
    } catch (err) {
      clearTimeout(watchdog);
      reject(new Error(`Newman could not start: ${(err as Error).message}`, { cause: err }));
    }
  });
}

/** What Newman's `request` event carries (postman-collection objects), as far as the contract check reads it. */
interface NewmanRequestArgs {
  item?: { name?: string };
  request: { method: string; url: { toString(): string } };
  response?: { code: number; headers: { all(): Array<{ key: string; value: string }> }; text(): string | undefined };
}

/** Reads the contract before the run (a contract that does not validate throws, naming `artifacts.openapi`). */
async function contractCheck(
  artifacts: ArtifactStore,
  contract: NonNullable<RunSmokeTestsOptions['contract']>,
  baseUrl: string,
  secrets: string[],
) {
  const { document } = await parseOpenApi(await artifacts.getText(contract.openapiKey), 'artifacts.openapi');
  const checker = await ContractChecker.create(document, 'artifacts.openapi', { basePathMode: contract.basePathMode });
  const log = new ConformanceLog(contract.mode);
  const onRequest = ({ item, request, response }: NewmanRequestArgs) => {
    if (!response) return;
    const headers: Record<string, string> = {};
    for (const h of response.headers.all()) headers[h.key.toLowerCase()] = h.value;
    const exchange: Exchange = {
      name: item?.name ?? '(unnamed request)',
      method: request.method,
      url: request.url.toString(),
      status: response.code,
      headers,
      body: response.text() ?? '',
    };
    try {
      log.add(exchange, checker.check(exchange, baseUrl));
    } catch (err) {
      // A fault of the checker must not stop the run or pass for the service's; it shows in the logs.
      logger.error('contract check failed', {
        request: maskText(exchange.name, secrets),
        url: maskText(exchange.url, secrets),
        error: maskText(String(err), secrets),
      });
    }
  };
  return { log, onRequest };
}

/** Puts the contract check on the result; in `fail` mode each violation counts as a failed check. */
function addConformance(result: SmokeResult, contract: ContractConformance): void {
  result.contract = contract;
  if (contract.mode !== 'fail' || contract.violationCount === 0) return;
  result.total += contract.violationCount;
  result.failed += contract.violationCount;
  const listed = contract.violations.map((v) => ({ name: v.name, test: 'contract', message: describeViolation(v) }));
  result.failures = [...result.failures, ...listed].slice(0, MAX_LISTED_FAILURES);
}

function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`baseUrl must be an absolute http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`baseUrl must be an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  // Collections write `{{baseUrl}}/path`; a trailing slash would double it.
  return raw.replace(/\/+$/, '');
}
