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
import { parseOpenApi } from './openapi.js';
import { parsePostmanCollection } from './postman.js';

/** One failed check, as the notes, the approval page and the record show it. */
export interface SmokeFailure {
  /** The request (item) name in the collection. */
  name: string;
  /** The `pm.test` name, or `request` when the request itself failed, or `<event> script` for a script error. */
  test: string;
  message: string;
}

/** The outcome of one Newman run, as kept in step details and release notes. */
export interface SmokeResult {
  /**
   * Checks counted: assertions that ran (skipped ones excluded), plus one per failed request and script error, plus
   * one per contract violation when they fail the run (`contract.mode` `fail`).
   */
  total: number;
  passed: number;
  failed: number;
  /** Requests attempted. */
  requests: number;
  /** The first failures, in run order (at most `MAX_LISTED_FAILURES`). */
  failures: SmokeFailure[];
  durationMs: number;
  /** S3 keys of the reports Newman wrote. */
  reportKeys: { json: string; junit: string };
  /** What checking every response against the release's contract found; absent when the check is off. */
  contract?: ContractConformance;
}

export interface RunSmokeTestsOptions {
  artifacts: ArtifactStore;
  /** S3 key of the Postman collection. */
  collectionKey: string;
  /** S3 prefix the reports go under, e.g. `reports/<service>/<releaseId>/staging` (bucket-layout.ts). */
  reportPrefix: string;
  /** Scheme, host and any path prefix of the target, e.g. `http://127.0.0.1:4010/greeter/v1`. */
  baseUrl: string;
  /** Sent by the collection as `x-api-key`; redacted from the uploaded reports. */
  apiKey?: string;
  /** More environment variables for the collection, e.g. `{ expectedVersion: '1.1.0' }`. */
  variables?: Record<string, string>;
  /** Bound on the whole run. @default 120000 */
  timeoutMs?: number;
  /** Bound on each request. @default min(10000, timeoutMs) */
  requestTimeoutMs?: number;
  /**
   * Check every response against this contract (S3 key of the OpenAPI file): in `fail` mode each violation is a
   * failed check, in `warn` mode it is only reported in `contract`. Absent: no check.
   */
  contract?: { openapiKey: string; mode: ConformanceMode };
}

/** How many failures a result lists; the full list is in the reports. */
export const MAX_LISTED_FAILURES = 10;

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const SCRIPT_TIMEOUT_MS = 5_000;
// Newman enforces `timeout` itself; this margin only catches a run that never calls back at all.
const WATCHDOG_MARGIN_MS = 15_000;

/** The parts of a Newman run summary (`summary.run`) that `summarize` reads. */
export interface NewmanRunLike {
  executions: Array<{
    item?: { name?: string };
    requestError?: { message?: string } | null;
    assertions?: Array<{ assertion: string; skipped?: boolean; error?: { message?: string } | null }>;
    testScript?: Array<{ error?: { name?: string; message?: string } | null }>;
    prerequestScript?: Array<{ error?: { name?: string; message?: string } | null }>;
  }>;
  timings?: { started?: number; completed?: number };
}

/**
 * Counts a Newman run. Assertions are the unit; a request that never got a response (connection refused, timeout)
 * and a script that threw outside `pm.test` each count as one failed check, so a dead target can never pass.
 * Skipped assertions (`pm.test.skip`) are not counted.
 */
export function summarize(run: NewmanRunLike): Omit<SmokeResult, 'reportKeys'> {
  let total = 0;
  let failed = 0;
  const failures: SmokeFailure[] = [];
  const fail = (name: string, test: string, message: string | undefined) => {
    total += 1;
    failed += 1;
    if (failures.length < MAX_LISTED_FAILURES) failures.push({ name, test, message: message || 'failed' });
  };

  for (const execution of run.executions) {
    const name = execution.item?.name ?? '(unnamed request)';
    if (execution.requestError) fail(name, 'request', execution.requestError.message);
    for (const entry of execution.prerequestScript ?? []) {
      if (entry.error) fail(name, 'prerequest script', describeScriptError(entry.error));
    }
    for (const assertion of execution.assertions ?? []) {
      if (assertion.skipped) continue;
      if (assertion.error) fail(name, assertion.assertion, assertion.error.message);
      else total += 1;
    }
    for (const entry of execution.testScript ?? []) {
      if (entry.error) fail(name, 'test script', describeScriptError(entry.error));
    }
  }

  const { started, completed } = run.timings ?? {};
  return {
    total,
    passed: total - failed,
    failed,
    requests: run.executions.length,
    failures,
    durationMs: started && completed ? Math.max(0, completed - started) : 0,
  };
}

function describeScriptError(error: { name?: string; message?: string }): string {
  return [error.name, error.message].filter(Boolean).join(': ') || 'script error';
}

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
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const requestTimeoutMs = options.requestTimeoutMs ?? Math.min(DEFAULT_REQUEST_TIMEOUT_MS, timeoutMs);
  const prefix = options.reportPrefix.replace(/\/+$/, '');
  const reportKeys = { json: `${prefix}/newman.json`, junit: `${prefix}/junit.xml` };

  const collection = parsePostmanCollection(await artifacts.getText(collectionKey), 'artifacts.collection');
  const conformance = options.contract && (await contractCheck(artifacts, options.contract, baseUrl));
  // The explicit options win over `variables`, so a caller cannot point the run somewhere else by accident.
  const envVar = Object.entries({ ...options.variables, baseUrl, apiKey }).map(([key, value]) => ({ key, value }));

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
    const result: SmokeResult = {
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
    await artifacts.put(reportKeys.json, redact(json, apiKey, jsonEscape), 'application/json');
    await artifacts.put(reportKeys.junit, redact(junit, apiKey, xmlEscape), 'application/xml');
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
async function contractCheck(artifacts: ArtifactStore, contract: NonNullable<RunSmokeTestsOptions['contract']>, baseUrl: string) {
  const { document } = await parseOpenApi(await artifacts.getText(contract.openapiKey), 'artifacts.openapi');
  const checker = await ContractChecker.create(document);
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
      logger.error('contract check failed', { request: exchange.name, url: exchange.url, error: err as Error });
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

/** Removes the API key from report text: Newman records environment values and request headers verbatim. */
function redact(text: string, secret: string, encode: (s: string) => string): string {
  if (secret.length === 0) return text;
  return text.split(encode(secret)).join('[redacted]');
}

function jsonEscape(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Newman's JUnit report with the listed contract violations as one more suite, when they fail the run. */
function withContractSuite(junit: string, contract: ContractConformance | undefined): string {
  if (contract?.mode !== 'fail' || contract.violationCount === 0) return junit;
  const cases = contract.violations.map(
    (v) =>
      `    <testcase classname="${xmlEscape(v.name)}" name="contract">\n` +
      `      <failure type="ContractViolation" message="${xmlEscape(describeViolation(v))}"/>\n    </testcase>\n`,
  );
  const count = contract.violationCount;
  const suite = `  <testsuite name="contract" tests="${count}" failures="${count}">\n${cases.join('')}  </testsuite>\n`;
  const end = junit.lastIndexOf('</testsuites>');
  return end < 0 ? junit : `${junit.slice(0, end)}${suite}${junit.slice(end)}`;
}

/** A minimal JUnit report for a run Newman cut short: one suite, the listed failures as failed cases. */
function junitFromResult(name: string, result: SmokeResult): string {
  const cases = result.failures
    .map(
      (f) =>
        `    <testcase classname="${xmlEscape(f.name)}" name="${xmlEscape(f.test)}">\n` +
        `      <failure type="AssertionFailure" message="${xmlEscape(f.message)}"/>\n` +
        '    </testcase>',
    )
    .join('\n');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="${xmlEscape(name)}" tests="${result.total}" failures="${result.failed}" time="${(result.durationMs / 1000).toFixed(3)}">\n` +
    `  <testsuite name="${xmlEscape(name)}" tests="${result.total}" failures="${result.failed}">\n` +
    `${cases}\n` +
    '  </testsuite>\n' +
    '</testsuites>\n'
  );
}
