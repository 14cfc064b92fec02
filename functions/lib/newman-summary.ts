import type { ContractConformance } from './contract/conformance-log.js';

/** One failed check, as the notes, the approval page and the record show it. */
export interface SmokeFailure {
  /** The request (item) name in the collection. */
  name: string;
  /** The `pm.test` name, or `request` when the request itself failed, or `<event> script` for a script error. */
  test: string;
  message: string;
  /** The HTTP method the request was sent with, when Newman got as far as sending it. */
  method?: string;
  /** The URL path it was sent to, as sent (the gateway's stage prefix included), without the query string. */
  path?: string;
  /** The HTTP status of the response; absent when no response came (`test: 'request'`). */
  status?: number;
}

/**
 * What a failed check was sent and got, ` (POST /api/notes → 404)`, or '' when nothing is known: a failure line
 * names the request, the method, the URL path and the HTTP status (or "no response").
 */
export function exchangeText(f: Pick<SmokeFailure, 'method' | 'path' | 'status'> & { test?: string }): string {
  const got = f.status !== undefined ? String(f.status) : f.test === 'request' ? 'no response' : undefined;
  const sent = [f.method, f.path].filter(Boolean).join(' ');
  return sent || got ? ` (${[sent, got].filter(Boolean).join(' → ')})` : '';
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

/** How many failures a result lists; the full list is in the reports. */
export const MAX_LISTED_FAILURES = 10;

/** The parts of a Newman run summary (`summary.run`) that `summarize` reads. */
export interface NewmanRunLike {
  executions: Array<{
    item?: { name?: string };
    /** A postman-collection Request: `url` is a Url object whose toString() is the resolved URL, or a string. */
    request?: { method?: string; url?: unknown } | null;
    response?: { code?: number } | null;
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
 * Skipped assertions (`pm.test.skip`) are not counted. Each failure names the method, path and status of its
 * request, so a summary says "POST /api/notes → 404" rather than only "expected false to be truthy".
 */
export function summarize(run: NewmanRunLike): Omit<SmokeResult, 'reportKeys'> {
  let total = 0;
  let failed = 0;
  const failures: SmokeFailure[] = [];

  for (const execution of run.executions) {
    const name = execution.item?.name ?? '(unnamed request)';
    const exchange = exchangeOf(execution);
    const fail = (test: string, message: string | undefined) => {
      total += 1;
      failed += 1;
      if (failures.length < MAX_LISTED_FAILURES) failures.push({ name, test, message: message || 'failed', ...exchange });
    };
    if (execution.requestError) fail('request', execution.requestError.message);
    for (const entry of execution.prerequestScript ?? []) {
      if (entry.error) fail('prerequest script', describeScriptError(entry.error));
    }
    for (const assertion of execution.assertions ?? []) {
      if (assertion.skipped) continue;
      if (assertion.error) fail(assertion.assertion, assertion.error.message);
      else total += 1;
    }
    for (const entry of execution.testScript ?? []) {
      if (entry.error) fail('test script', describeScriptError(entry.error));
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

/** Method, path and status of an execution, each only when Newman recorded it. */
function exchangeOf(execution: NewmanRunLike['executions'][number]): Pick<SmokeFailure, 'method' | 'path' | 'status'> {
  const out: Pick<SmokeFailure, 'method' | 'path' | 'status'> = {};
  const method = execution.request?.method;
  if (method) out.method = method.toUpperCase();
  const path = pathOf(execution.request?.url);
  if (path) out.path = path;
  const status = execution.response?.code;
  if (typeof status === 'number' && !execution.requestError) out.status = status;
  return out;
}

/** The path of a request URL; the query string is left out (it may carry tokens, and the path is what routes). */
function pathOf(url: unknown): string | undefined {
  if (url === undefined || url === null) return undefined;
  const text = String(url);
  try {
    return new URL(text).pathname;
  } catch {
    // Unresolved variables or a relative URL: keep what precedes the query.
    const bare = text.split(/[?#]/)[0]?.replace(/^[a-z]+:\/\/[^/]*/i, '');
    return bare ? bare : undefined;
  }
}

function describeScriptError(error: { name?: string; message?: string }): string {
  return [error.name, error.message].filter(Boolean).join(': ') || 'script error';
}
