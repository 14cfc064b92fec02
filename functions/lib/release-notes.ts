import { groupChanges, type ChangeInput, type ParsedChange } from './conventional-commits.js';
// Type-only: the notes never load Newman, they only read the results the test steps recorded.
import type { SmokeResult } from './newman-runner.js';
import { exchangeText } from './newman-summary.js';
import { STEPS } from '../steps.js';
import { safeJson, safeLines, safeText } from './safe-text.js';
import type { ReleaseApiChanges, StepRecord } from './store/records.js';
import { ownerApprovalText, renderApiChanges } from './contract/render.js';

/**
 * Release notes, rendered once as Markdown for people and once as JSON for tools, from the same data.
 * Pure: everything comes from the input, including the time the notes were generated.
 */

export interface ReleaseNotesInput {
  release: {
    releaseId?: string;
    service: string;
    version: string;
    commit: string;
    branch: string;
    triggeredBy: string;
    createdAt: string;
    changes: ChangeInput[];
  };
  /** The steps' timings; each step's details go to the JSON as recorded. */
  steps: Array<Pick<StepRecord, 'step' | 'status' | 'startedAt' | 'endedAt' | 'durationMs'> & { details?: Record<string, unknown> }>;
  /** Newman against staging; undefined when the step did not run. */
  staging?: SmokeResult;
  /** Newman against production (through the interop layer when it is enabled). */
  production?: SmokeResult;
  approvals: Array<{ approver: string; decision: string; comment?: string; decidedAt: string }>;
  interop?: { baseUrl: string; routeCount: number; deploymentId: string };
  /** The version production ran before this release, if any. */
  previousVersion?: string;
  /** When the notes were generated (ISO 8601); left out of the notes when absent. */
  generatedAt?: string;
  /** What the release changes for partners against the live contract (the record's, from Prepare); absent: no section. */
  apiChanges?: ReleaseApiChanges;
}

export interface ReleaseNotesJson {
  schemaVersion: 1;
  releaseId: string | null;
  service: string;
  version: string;
  previousVersion: string | null;
  commit: string;
  branch: string;
  triggeredBy: string;
  createdAt: string;
  generatedAt: string | null;
  changes: {
    breaking: NotesChange[];
    groups: Array<{ type: string; heading: string; changes: NotesChange[] }>;
  };
  tests: { staging: SmokeResult | null; production: SmokeResult | null };
  approvals: Array<{ approver: string; decision: string; comment: string | null; decidedAt: string }>;
  steps: Array<{
    step: string;
    status: string;
    startedAt: string;
    endedAt: string | null;
    durationMs: number | null;
    details: Record<string, unknown> | null;
  }>;
  /** From the first step's start to the last step's end. */
  totalDurationMs: number | null;
  interop: { baseUrl: string; routeCount: number; deploymentId: string } | null;
  /** Every API change partners see against the live contract, breaking first, with the policy that applied. */
  apiChanges: ReleaseApiChanges | null;
}

export interface NotesChange {
  title: string;
  type: string;
  scope: string | null;
  subject: string;
  breaking: boolean;
  sha: string | null;
  author: string | null;
  url: string | null;
}

/** How many failures per environment the Markdown lists; the JSON and the reports keep them all. */
const LISTED_FAILURES = 5;

/** Renders the notes. Never throws on odd text: commit titles are escaped, not trusted. */
export function renderReleaseNotes(input: ReleaseNotesInput): { markdown: string; json: ReleaseNotesJson } {
  const { release } = input;
  // Parsed from the safe text, so the subject is the first line the notes show and the rest follow it.
  const grouped = groupChanges(release.changes.map((c) => ({ ...c, title: safeText(c.title) })));
  const steps = orderSteps(input.steps);
  const totalDurationMs = wallClock(steps);

  const json: ReleaseNotesJson = {
    schemaVersion: 1,
    releaseId: release.releaseId ?? null,
    service: release.service,
    version: release.version,
    previousVersion: input.previousVersion ?? null,
    commit: release.commit,
    branch: release.branch,
    triggeredBy: release.triggeredBy,
    createdAt: release.createdAt,
    generatedAt: input.generatedAt ?? null,
    changes: {
      breaking: grouped.breaking.map(toNotesChange),
      groups: grouped.groups.map((g) => ({ type: g.type, heading: g.heading, changes: g.changes.map(toNotesChange) })),
    },
    tests: { staging: input.staging ?? null, production: input.production ?? null },
    approvals: input.approvals.map((a) => ({ ...a, comment: a.comment ?? null })),
    steps: steps.map((s) => ({
      step: s.step,
      status: s.status,
      startedAt: s.startedAt,
      endedAt: s.endedAt ?? null,
      durationMs: durationOf(s),
      details: s.details ?? null,
    })),
    totalDurationMs,
    interop: input.interop ?? null,
    apiChanges: input.apiChanges ?? null,
  };

  const md: string[] = [];
  md.push(`# ${inline(release.service)} ${inline(release.version)}`, '');
  md.push(`- **Commit:** ${code(release.commit)} on branch ${code(release.branch)}`);
  md.push(`- **Triggered by:** ${inline(release.triggeredBy)} at ${inline(release.createdAt)}`);
  md.push(
    `- **Production:** ${
      input.previousVersion
        ? `${inline(input.previousVersion)} → ${inline(release.version)}`
        : `${inline(release.version)} (first production release)`
    }`,
  );
  if (release.releaseId) md.push(`- **Release id:** ${code(release.releaseId)}`);
  md.push('');

  md.push(...changesSection(grouped.breaking, grouped.groups));
  md.push(...apiChangesSection(input.apiChanges));
  md.push(...testsSection(input.staging, input.production));
  md.push(...approvalsSection(input.approvals));
  md.push(...timingsSection(steps, totalDurationMs));
  md.push(...interopSection(input.interop));
  if (input.generatedAt) md.push('---', '', `_Generated by Launchway at ${inline(input.generatedAt)}._`, '');

  // Tools show these strings too: none keeps a control or bidirectional-override character.
  return { markdown: `${md.join('\n').trimEnd()}\n`, json: safeJson(json) };
}

function changesSection(breaking: ParsedChange[], groups: ReturnType<typeof groupChanges>['groups']): string[] {
  const out = ['## Changes', ''];
  if (groups.length === 0) return [...out, 'No changes were listed for this release.', ''];
  if (breaking.length > 0) {
    out.push('> [!WARNING]', '> **Breaking changes**', '>');
    for (const c of breaking) out.push(...changeLines(c).map((line, i) => (i === 0 ? `> - ${line}` : `>   ${line}`)));
    out.push('');
  }
  for (const group of groups) {
    out.push(`### ${group.heading}`, '');
    for (const c of group.changes) {
      const prefix = c.commit.breaking ? '**BREAKING** ' : '';
      out.push(...changeLines(c).map((line, i) => (i === 0 ? `- ${prefix}${line}` : `  ${line}`)));
    }
    out.push('');
  }
  return out;
}

/**
 * A change as the lines of one list item: the subject (a conventional title shows it under its type heading) with
 * its sha, link and author, then every further line of the title, each kept on its own line by a hard line break.
 */
function changeLines(c: ParsedChange): string[] {
  const scope = c.commit.scope ? `**${inline(c.commit.scope)}:** ` : '';
  let line = `${scope}${blockSafe(inline(c.commit.subject))}`;
  const refs: string[] = [];
  if (c.sha) {
    const label = isHex(c.sha) ? code(c.sha.slice(0, 7)) : inline(c.sha);
    refs.push(safeUrl(c.url) ? `[${label}](${linkTarget(c.url!)})` : label);
  } else if (safeUrl(c.url)) {
    refs.push(`[link](${linkTarget(c.url!)})`);
  }
  if (c.author) refs.push(`by ${inline(c.author)}`);
  if (refs.length) line += ` (${refs.join(', ')})`;
  const more = safeLines(c.title)
    .slice(1)
    .map((l) => blockSafe(inline(l.trim())));
  // A backslash at the end of a line is a hard line break (CommonMark), so each title line renders on its own.
  return [line, ...more].map((l, i, all) => (i < all.length - 1 ? `${l}\\` : l));
}

/** Escapes what would start a block of its own at the beginning of a line: a heading, a list item, a setext rule. */
function blockSafe(line: string): string {
  return line.replace(/^([#+=-])/, '\\$1').replace(/^(\d+)([.)])/, '$1\\$2');
}

/** What partners see change, breaking first (contract/render.ts), and who had to approve the breaking changes. */
function apiChangesSection(api: ReleaseApiChanges | undefined): string[] {
  if (!api) return [];
  const against = api.against ? { against: { version: api.against.version } } : {};
  const out = renderApiChanges(api.changes, { firstRelease: api.against === null, ...against })
    .trimEnd()
    .split('\n');
  const owners = api.breaking > 0 ? ownerApprovalText(api) : undefined;
  return [...out, '', ...(owners ? [inline(owners), ''] : [])];
}

function testsSection(staging: SmokeResult | undefined, production: SmokeResult | undefined): string[] {
  const out = ['## Tests', ''];
  out.push('| Environment | Result | Checks | Passed | Failed | Requests | Duration | Reports |');
  out.push('|---|---|---:|---:|---:|---:|---:|---|');
  for (const [label, r] of [
    ['Staging smoke tests', staging],
    ['Production validation', production],
  ] as const) {
    if (!r) {
      out.push(`| ${label} | not run | | | | | | |`);
      continue;
    }
    const verdict = r.failed > 0 ? '❌ failed' : r.total === 0 ? '⚠️ no checks' : '✅ passed';
    out.push(
      `| ${label} | ${verdict} | ${r.total} | ${r.passed} | ${r.failed} | ${r.requests} | ${formatDuration(r.durationMs)} | ` +
        `${cellCode(r.reportKeys.json)}, ${cellCode(r.reportKeys.junit)} |`,
    );
  }
  out.push('');
  for (const [label, r] of [
    ['Staging', staging],
    ['Production', production],
  ] as const) {
    if (!r || r.failures.length === 0) continue;
    out.push(`${label} failures:`, '');
    for (const f of r.failures.slice(0, LISTED_FAILURES)) {
      out.push(`- ${inline(f.name + exchangeText(f))} › ${inline(f.test)}: ${inline(f.message)}`);
    }
    if (r.failed > LISTED_FAILURES) out.push(`- … ${r.failed - LISTED_FAILURES} more in the reports`);
    out.push('');
  }
  return out;
}

function approvalsSection(approvals: ReleaseNotesInput['approvals']): string[] {
  const out = ['## Approvals', ''];
  if (approvals.length === 0) return [...out, 'No approval decisions were recorded.', ''];
  out.push('| Approver | Decision | When | Comment |', '|---|---|---|---|');
  for (const a of approvals) {
    out.push(
      `| ${inline(a.approver)} | ${inline(decisionLabel(a.decision))} | ${inline(a.decidedAt)} | ${a.comment ? inline(a.comment) : ''} |`,
    );
  }
  return [...out, ''];
}

function timingsSection(steps: ReleaseNotesInput['steps'], totalMs: number | null): string[] {
  const out = ['## Timings', ''];
  if (steps.length === 0) return [...out, 'No steps were recorded.', ''];
  out.push('| Step | Status | Started | Duration |', '|---|---|---|---:|');
  for (const s of steps) {
    const ms = durationOf(s);
    out.push(`| ${inline(s.step)} | ${inline(s.status)} | ${inline(s.startedAt)} | ${ms === null ? '' : formatDuration(ms)} |`);
  }
  if (totalMs !== null) out.push(`| **Total (wall clock)** | | | **${formatDuration(totalMs)}** |`);
  return [...out, ''];
}

function interopSection(interop: ReleaseNotesInput['interop']): string[] {
  if (!interop) return [];
  const url = safeUrl(interop.baseUrl) ? `<${linkTarget(interop.baseUrl)}>` : inline(interop.baseUrl);
  return [
    '## Partner API',
    '',
    `Published at ${url}: ${interop.routeCount} ${interop.routeCount === 1 ? 'route' : 'routes'}, deployment ${code(interop.deploymentId)}.`,
    '',
  ];
}

function toNotesChange(c: ParsedChange): NotesChange {
  return {
    title: c.title,
    type: c.commit.type,
    scope: c.commit.scope ?? null,
    subject: c.commit.subject,
    breaking: c.commit.breaking,
    sha: c.sha ?? null,
    author: c.author ?? null,
    url: c.url ?? null,
  };
}

/** Steps in pipeline order (the store keeps them so already; notes must not depend on it). */
function orderSteps<T extends { step: string; startedAt: string }>(steps: readonly T[]): T[] {
  const rank = (name: string) => {
    const i = (STEPS as readonly string[]).indexOf(name);
    return i === -1 ? STEPS.length : i;
  };
  return [...steps].sort((a, b) => rank(a.step) - rank(b.step) || a.startedAt.localeCompare(b.startedAt));
}

function durationOf(s: { durationMs?: number; startedAt: string; endedAt?: string }): number | null {
  if (typeof s.durationMs === 'number') return s.durationMs;
  if (!s.endedAt) return null;
  const ms = Date.parse(s.endedAt) - Date.parse(s.startedAt);
  return Number.isFinite(ms) ? Math.max(0, ms) : null;
}

function wallClock(steps: ReadonlyArray<{ startedAt: string; endedAt?: string }>): number | null {
  const starts = steps.map((s) => Date.parse(s.startedAt)).filter(Number.isFinite);
  const ends = steps.map((s) => (s.endedAt ? Date.parse(s.endedAt) : NaN)).filter(Number.isFinite);
  if (starts.length === 0 || ends.length === 0) return null;
  return Math.max(0, Math.max(...ends) - Math.min(...starts));
}

/** `850 ms`, `12.3 s`, `3 min 05 s`, `1 h 02 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 3600) {
    return `${Math.floor(totalSeconds / 60)} min ${String(totalSeconds % 60).padStart(2, '0')} s`;
  }
  const totalMinutes = Math.round(totalSeconds / 60);
  return `${Math.floor(totalMinutes / 60)} h ${String(totalMinutes % 60).padStart(2, '0')} min`;
}

function decisionLabel(decision: string): string {
  const d = decision.toLowerCase();
  if (d === 'approve' || d === 'approved') return '✅ approved';
  if (d === 'reject' || d === 'rejected') return '❌ rejected';
  return decision;
}

/**
 * Escapes text from commits and requests for inline Markdown: control and bidirectional-override characters are
 * removed (safe-text.ts), HTML is neutralised (`<`, `>`, `&`), characters
 * that start emphasis, links, code, table cells or strikethrough are backslash-escaped, and line breaks become spaces
 * so a title cannot start a heading or a list of its own.
 */
export function escapeMarkdown(text: string): string {
  return safeText(text)
    .replace(/\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~])/g, '\\$1');
}

const inline = escapeMarkdown;

/** A code span that cannot be broken out of: backticks inside use a longer fence. */
function code(text: string): string {
  const flat = safeText(text).replace(/\n/g, ' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** A code span inside a table cell: GFM splits cells on `|` even inside code, unless it is escaped. */
function cellCode(text: string): string {
  return code(text).replace(/\|/g, '\\|');
}

function isHex(s: string): boolean {
  return /^[0-9a-f]{7,64}$/i.test(s);
}

/** Only http(s) links are rendered; `javascript:` and the like stay plain text. */
function safeUrl(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** A link destination that cannot end early: characters that close or break it are percent-encoded. */
function linkTarget(url: string): string {
  return safeText(url).replace(/[\s()<>]/g, (c) => encodeURIComponent(c));
}
