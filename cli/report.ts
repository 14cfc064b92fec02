import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactStore } from '../functions/lib/artifact-store.js';
import { NotFoundError, ValidationError } from '../functions/lib/errors.js';
import type { ReleaseStore } from '../functions/lib/store/release-store.js';
import type { ReleaseView, StepRecord } from '../functions/lib/store/records.js';
import { bold, dim, green, red } from './format.js';

/** `launchway report`: the Newman reports of one stage of a release, at hand. */

const REPORT_STAGES = ['staging', 'production'] as const;
export type ReportStage = (typeof REPORT_STAGES)[number];
/** The step whose Newman run each stage's reports come from. */
const STEP_OF: Record<ReportStage, 'SmokeTestStaging' | 'ValidateProduction'> = {
  staging: 'SmokeTestStaging',
  production: 'ValidateProduction',
};

/** One request that failed in a Newman run: how it was sent, what came back, and what failed about it. */
export interface FailedRequest {
  name: string;
  method: string;
  /** The path and query it was sent to. */
  path: string;
  /** The HTTP status it got; absent when no response came (the reason is in `failures`). */
  status?: number;
  statusText?: string;
  failures: string[];
}

export interface ReportResult {
  releaseId: string;
  stage: ReportStage;
  step: { name: string; status: string };
  requests: number;
  failedRequests: FailedRequest[];
  /** The files written, JSON report first. */
  files: string[];
}

interface NewmanExecution {
  item?: { name?: string };
  request?: { method?: string; url?: unknown };
  response?: { code?: number; status?: string };
  requestError?: { message?: string; code?: string } | null;
  assertions?: Array<{ assertion?: string; skipped?: boolean; error?: { message?: string } | null }>;
  testScript?: Array<{ error?: { message?: string } | null }>;
  prerequestScript?: Array<{ error?: { message?: string } | null }>;
}

/** The requests of a Newman JSON report (`run.executions`) that failed a check or got no response, in run order. */
export function failedRequests(report: unknown): { requests: number; failed: FailedRequest[] } {
  const executions = ((report as { run?: { executions?: unknown } })?.run?.executions ?? []) as NewmanExecution[];
  if (!Array.isArray(executions)) return { requests: 0, failed: [] };
  const failed: FailedRequest[] = [];
  for (const e of executions) {
    const failures: string[] = [];
    if (e.requestError) failures.push(`no response: ${e.requestError.message ?? e.requestError.code ?? 'request failed'}`);
    for (const s of e.prerequestScript ?? []) if (s.error) failures.push(`pre-request script: ${s.error.message ?? 'error'}`);
    for (const a of e.assertions ?? [])
      if (a.error && !a.skipped) failures.push(`${a.assertion ?? 'assertion'}: ${a.error.message ?? 'failed'}`);
    for (const s of e.testScript ?? []) if (s.error) failures.push(`test script: ${s.error.message ?? 'error'}`);
    if (failures.length === 0) continue;
    failed.push({
      name: e.item?.name ?? '(unnamed request)',
      method: e.request?.method ?? 'GET',
      path: urlPath(e.request?.url),
      ...(typeof e.response?.code === 'number' ? { status: e.response.code, statusText: e.response.status ?? '' } : {}),
      failures,
    });
  }
  return { requests: executions.length, failed };
}

/** The path and query of a request URL as Newman's report keeps it (a string or a Postman URL object). */
function urlPath(url: unknown): string {
  if (typeof url === 'string') {
    try {
      const parsed = new URL(url);
      return parsed.pathname + parsed.search;
    } catch {
      return url;
    }
  }
  const u = (url ?? {}) as { path?: unknown; query?: Array<{ key?: string; value?: string; disabled?: boolean }> };
  const segments = Array.isArray(u.path) ? u.path.map(String) : [];
  const query = (u.query ?? []).filter((q) => !q.disabled && q.key).map((q) => `${q.key}=${q.value ?? ''}`);
  return `/${segments.join('/')}${query.length > 0 ? `?${query.join('&')}` : ''}`;
}

/** The stage asked for, or the last one that has reports (production after staging). */
function pickStage(view: ReleaseView, asked: ReportStage | undefined): { stage: ReportStage; step: StepRecord } {
  const stepOf = (stage: ReportStage) => view.steps.find((s) => s.step === STEP_OF[stage]);
  const hasReports = (step: StepRecord | undefined) => Boolean((step?.details as { reportKeys?: unknown } | undefined)?.reportKeys);
  const stage = asked ?? (hasReports(stepOf('production')) ? 'production' : 'staging');
  const step = stepOf(stage);
  if (!step) {
    throw new NotFoundError(
      `release ${view.releaseId} has no ${stage} report: ${STEP_OF[stage]} has not run (the release is ${view.status})`,
    );
  }
  if (!hasReports(step)) {
    const why = step.status === 'RUNNING' ? 'is running' : `ended ${step.status} before Newman wrote a report`;
    throw new NotFoundError(`release ${view.releaseId} has no ${stage} report: ${STEP_OF[stage]} ${why}`);
  }
  return { stage, step };
}

/** Reads a release's reports of one stage, writes them under `outDir` and lists the failed requests. */
export async function fetchReport(
  deps: { store: ReleaseStore; artifacts: ArtifactStore },
  opts: { releaseId: string; stage?: ReportStage; outDir?: string },
): Promise<ReportResult> {
  if (!/^[A-Za-z0-9._-]+$/.test(opts.releaseId) || /^\.+$/.test(opts.releaseId)) {
    throw new ValidationError(`invalid release id ${JSON.stringify(opts.releaseId)}`, {
      releaseId: 'expected letters, digits, dots, dashes or underscores, e.g. greeter-1.0.0-1a2b3c4',
    });
  }
  const view = await deps.store.getView(opts.releaseId);
  if (!view) throw new NotFoundError(`release ${opts.releaseId} does not exist`);
  const { stage, step } = pickStage(view, opts.stage);
  const keys = (step.details as { reportKeys: Record<string, string> }).reportKeys;
  const outDir = path.resolve(opts.outDir ?? path.join('.launchway', 'reports', view.releaseId, stage));
  await mkdir(outDir, { recursive: true });
  const files: string[] = [];
  let json: unknown;
  for (const [kind, key] of Object.entries(keys).sort(([a], [b]) => (a === 'json' ? -1 : b === 'json' ? 1 : a.localeCompare(b)))) {
    const text = await deps.artifacts.getText(key);
    if (kind === 'json') json = JSON.parse(text);
    const file = path.join(outDir, path.basename(key));
    await writeFile(file, text);
    files.push(file);
  }
  const { requests, failed } = failedRequests(json);
  return { releaseId: view.releaseId, stage, step: { name: step.step, status: step.status }, requests, failedRequests: failed, files };
}

/** The report as the terminal shows it: one line per failed request with its status, then what failed about it. */
export function describeReport(r: ReportResult): string {
  const lines = [
    `${bold(r.releaseId)} ${r.stage} (${r.step.name} ${r.step.status}): ` +
      (r.failedRequests.length === 0
        ? green(`all ${r.requests} requests passed`)
        : red(`${r.failedRequests.length} of ${r.requests} requests failed`)),
  ];
  for (const f of r.failedRequests) {
    const got = f.status === undefined ? 'no response' : `${f.status}${f.statusText ? ` ${f.statusText}` : ''}`;
    lines.push(`  ${red('✖')} ${f.name}  ${f.method} ${f.path} → ${got}`);
    for (const failure of f.failures) lines.push(dim(`      ${failure}`));
  }
  lines.push(`reports written to ${path.relative(process.cwd(), path.dirname(r.files[0] ?? '.')) || '.'}:`);
  for (const file of r.files) lines.push(`  ${path.basename(file)}`);
  return lines.join('\n');
}

/**
 * Opens `target` with the desktop's opener (`open` on macOS, `xdg-open` elsewhere) and returns what happened; never
 * throws, since a machine without a desktop is not an error of the command.
 */
export function openWithDesktop(target: string): Promise<string> {
  const opener = process.platform === 'darwin' ? 'open' : 'xdg-open';
  return new Promise((resolve) => {
    try {
      const child = spawn(opener, [target], { detached: true, stdio: 'ignore' });
      child.once('error', (err) => resolve(`could not open it (${opener}: ${(err as NodeJS.ErrnoException).code ?? err.message})`));
      child.once('spawn', () => {
        child.unref();
        resolve(`opened with ${opener}`);
      });
    } catch (err) {
      resolve(`could not open it (${(err as Error).message})`);
    }
  });
}
