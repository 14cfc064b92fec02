import { escapeHtml } from '../approvals/html.js';
import { safeLine } from '../safe-text.js';
import type { ReleaseApiChanges } from '../store/records.js';
import type { ApiChangesSummary } from './live-contract.js';
import { type ApiChange, compareApiChanges, type Severity } from './rules.js';

/**
 * The section "API changes for partners", rendered for each place a decision is made or a partner is told: Markdown
 * for the release notes and the partner document, HTML for the approval page and email, plain text for the email's
 * text body and the terminal. Every rendering lists breaking changes first, and makes spec text (paths, property
 * names) inert: control and bidirectional-override characters are removed and markup is escaped.
 */

const HEADINGS: Record<Severity, string> = {
  breaking: 'Breaking',
  deprecation: 'Deprecated',
  'non-breaking': 'Non-breaking',
};

const SEVERITIES = ['breaking', 'deprecation', 'non-breaking'] as const;

/** Options of {@link renderApiChanges}. */
export interface RenderApiChangesOptions {
  /** True when there was no live contract to compare with (the service's first release). */
  firstRelease?: boolean;
  /** The version production served when the diff ran, said under the heading. */
  against?: { version: string };
}

/**
 * Renders classified changes as the Markdown section "API changes for partners": breaking first, then deprecations,
 * then non-breaking changes, one bullet per change with method, path and what changed. Meant to be forwarded as is,
 * so it says explicitly when nothing changed or nothing could be compared.
 */
export function renderApiChanges(changes: readonly ApiChange[], options: RenderApiChangesOptions = {}): string {
  return `${['## API changes for partners', '', ...markdownBody(changes, options, '###')].join('\n')}\n`;
}

/**
 * The document a team forwards to partners (`release-notes/<service>/<releaseId>.api-changes.md`): a title naming
 * the service and version, the versions compared, then the changes, breaking first. Says nothing of internal
 * approvals or policy.
 */
export function renderApiChangesDocument(summary: ApiChangesSummary, release: { service: string; version: string }): string {
  const lines = [`# API changes for partners: ${escapeMarkdown(`${release.service} ${release.version}`)}`, ''];
  if (summary.against) {
    lines.push(
      `Versions compared: ${escapeMarkdown(summary.against.version)} (in production now) → ${escapeMarkdown(release.version)}.`,
      '',
    );
  }
  lines.push(...markdownBody(summary.changes, { firstRelease: summary.against === null }, '##'));
  return `${lines.join('\n')}\n`;
}

function markdownBody(changes: readonly ApiChange[], options: RenderApiChangesOptions, subheading: string): string[] {
  if (options.firstRelease) return ['First release of this contract: there is no live contract to compare with.'];
  const lines: string[] = [];
  if (options.against) lines.push(`Compared with ${escapeMarkdown(options.against.version)}, the version in production.`, '');
  if (changes.length === 0) return [...lines, 'No changes to the contract partners use.'];
  lines.push(`${countsText(countsOf(changes))}.`);
  for (const severity of SEVERITIES) {
    const group = changes.filter((c) => c.severity === severity).sort(compareApiChanges);
    if (group.length === 0) continue;
    lines.push('', `${subheading} ${HEADINGS[severity]}`, '');
    for (const c of group) {
      const route = c.path ? code(c.method ? `${c.method} ${c.path}` : c.path) : 'Whole API';
      lines.push(`- ${route}: ${escapeMarkdown(c.change)} (at ${code(c.location)}, rule ${code(c.rule)})`);
    }
  }
  return lines;
}

type Counts = Pick<ApiChangesSummary, 'breaking' | 'deprecations' | 'nonBreaking'>;

function countsOf(changes: readonly ApiChange[]): Counts {
  const count = (s: Severity) => changes.filter((c) => c.severity === s).length;
  return { breaking: count('breaking'), deprecations: count('deprecation'), nonBreaking: count('non-breaking') };
}

/** `2 breaking, 1 deprecated, 1 non-breaking`. */
export function countsText(counts: Counts): string {
  return `${counts.breaking} breaking, ${counts.deprecations} deprecated, ${counts.nonBreaking} non-breaking`;
}

/** True when the release's record has changes to show: a live contract was compared and something differs. */
export function hasApiChanges<T extends ApiChangesSummary>(api: T | undefined): api is T {
  return api !== undefined && api.against !== null && api.changes.length > 0;
}

/** The changes in reading order: breaking first, then deprecations, then non-breaking ones. */
function ordered(changes: readonly ApiChange[]): ApiChange[] {
  return [...changes].sort(compareApiChanges);
}

/** `GET /items/{id}`, or `Whole API` for a change to every route (the base path). Safe text. */
function routeOf(c: ApiChange): string {
  return c.path ? safeLine(c.method ? `${c.method} ${c.path}` : c.path) : 'Whole API';
}

/** One change on one line of safe plain text: `GET /items: what changed (at where)`. */
export function apiChangeText(c: ApiChange): string {
  return `${routeOf(c)}: ${safeLine(c.change)} (at ${safeLine(c.location)})`;
}

/** Who must approve when breaking changes need an API owner: one sentence, or undefined when nobody extra must. */
export function ownerApprovalText(api: Pick<ReleaseApiChanges, 'ownerApprovalRequired' | 'apiOwners'>): string | undefined {
  if (!api.ownerApprovalRequired) return undefined;
  const owners = api.apiOwners.length > 0 ? api.apiOwners.map(safeLine).join(', ') : '(none listed)';
  return `The breaking changes need an API owner's approval. API owners: ${owners}.`;
}

/** Options of {@link apiChangesTextLines}. */
export interface ApiChangesTextOptions {
  /** Which changes to list under the counts; all by default. */
  list?: 'all' | 'breaking';
  /** At most this many are listed; a last line says how many more there are. */
  limit?: number;
  /** Put before every line (an indent). */
  indent?: string;
}

/**
 * The changes as plain-text lines for an email's text body or a terminal: a heading line with the version compared
 * and the counts, the owner sentence when an owner must approve, then one line per change, breaking ones marked.
 * Empty when there is nothing to show (see {@link hasApiChanges}).
 */
export function apiChangesTextLines(api: ReleaseApiChanges | undefined, options: ApiChangesTextOptions = {}): string[] {
  if (!hasApiChanges(api)) return [];
  const indent = options.indent ?? '';
  const listed = ordered(api.changes).filter((c) => options.list !== 'breaking' || c.severity === 'breaking');
  const shown = listed.slice(0, options.limit ?? listed.length);
  const owners = ownerApprovalText(api);
  return [
    `${indent}API changes for partners, against ${safeLine(api.against?.version)} in production: ${countsText(api)}`,
    ...(owners ? [`${indent}  ${owners}`] : []),
    ...shown.map(
      (c) => `${indent}  ${c.severity === 'breaking' ? 'BREAKING ' : c.severity === 'deprecation' ? 'deprecated ' : ''}${apiChangeText(c)}`,
    ),
    ...(listed.length > shown.length ? [`${indent}  … and ${listed.length - shown.length} more`] : []),
  ];
}

/** Options of {@link apiChangesHtml}. */
export interface ApiChangesHtmlOptions {
  /** The heading element: `h2` on the page, `h3` in the email. */
  heading: 'h2' | 'h3';
  /** At most this many changes are listed (breaking ones first); a last item says how many more there are. */
  limit?: number;
}

const BREAKING_COLOR = '#cf222e';

/**
 * The changes as an HTML section for the approval page and email, inline-styled so both show it the same: the
 * version compared and the counts, a warning when breaking changes need an API owner's approval and who the owners
 * are, then the changes, breaking ones first and marked. Every value is escaped; empty when there is nothing to show.
 */
export function apiChangesHtml(api: ReleaseApiChanges | undefined, options: ApiChangesHtmlOptions): string {
  if (!hasApiChanges(api)) return '';
  const changes = ordered(api.changes);
  const shown = changes.slice(0, options.limit ?? changes.length);
  const owners = ownerApprovalText(api);
  const box =
    api.breaking > 0
      ? `border:2px solid ${BREAKING_COLOR};background:#ffebe9;margin:1rem 0;padding:.4rem .9rem;border-radius:6px`
      : 'border:1px solid #d0d7de;margin:1rem 0;padding:.4rem .9rem;border-radius:6px';
  const item = (c: ApiChange) => {
    const mark =
      c.severity === 'breaking'
        ? `<strong style="color:${BREAKING_COLOR}">BREAKING</strong> `
        : `<span style="color:#59636e">${c.severity === 'deprecation' ? 'Deprecated' : 'Non-breaking'}</span> `;
    return (
      `<li data-severity="${c.severity}">${mark}<code>${escapeHtml(routeOf(c))}</code>: ${codeSpansHtml(c.change)} ` +
      `<span style="color:#59636e;font-size:.9em">(at ${escapeHtml(safeLine(c.location))})</span></li>`
    );
  };
  return [
    `<section id="api-changes" style="${box}">`,
    `<${options.heading}>API changes for partners</${options.heading}>`,
    `<p id="api-changes-counts">${escapeHtml(countsText(api))}, against ${escapeHtml(api.against?.version)} in production.</p>`,
    owners ? `<p id="api-owner-approval"><strong>${escapeHtml(owners)}</strong></p>` : '',
    `<ul id="api-changes-list">${shown.map(item).join('')}${
      changes.length > shown.length ? `<li>… and ${changes.length - shown.length} more (see the release notes)</li>` : ''
    }</ul>`,
    '</section>',
  ].join('\n');
}

/** Change sentences quote names between backticks: shown as code, everything escaped; an unpaired backtick stays text. */
function codeSpansHtml(text: string): string {
  return splitCodeSpans(safeLine(text))
    .map(({ code: isCode, text: part }) => (isCode ? `<code>${escapeHtml(part)}</code>` : escapeHtml(part)))
    .join('');
}

/**
 * Text split on backticks into plain and code parts. A backtick without a partner is plain text, so it can neither
 * open a code span that swallows the rest of the line nor leave what follows it unescaped.
 */
function splitCodeSpans(text: string): Array<{ code: boolean; text: string }> {
  const parts = text.split('`');
  const out: Array<{ code: boolean; text: string }> = [];
  for (let i = 0; i < parts.length; i++) {
    const unpaired = i === parts.length - 1 && parts.length % 2 === 0;
    if (unpaired) out.push({ code: false, text: `\`${parts[i]}` });
    else out.push({ code: i % 2 === 1, text: parts[i] });
  }
  return out;
}

/**
 * Specs are release input: a stray `*`, `_` or `<` in a name must not turn into formatting or HTML. Text between
 * backticks is code and stays as written; everything else is escaped, after control and bidirectional-override
 * characters are removed and lines are joined (a list item stays one line).
 */
function escapeMarkdown(text: string): string {
  return splitCodeSpans(safeLine(text))
    .map(({ code: isCode, text: part }) => (isCode ? (part ? `\`${part}\`` : '') : part.replace(/[\\`*_<>[\]|#&~]/g, (ch) => `\\${ch}`)))
    .join('');
}

function code(text: string): string {
  return `\`${safeLine(text).replace(/`/g, "'")}\``;
}
