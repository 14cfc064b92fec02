import { type ApiChange, compareApiChanges, type Severity } from './rules.js';

const HEADINGS: Record<Severity, string> = {
  breaking: 'Breaking',
  deprecation: 'Deprecated',
  'non-breaking': 'Non-breaking',
};

/** Options of {@link renderApiChanges}. */
export interface RenderApiChangesOptions {
  /** True when there was no live contract to compare with (the service's first release). */
  firstRelease?: boolean;
}

/**
 * Renders classified changes as the Markdown section "API changes for partners": breaking first, then deprecations,
 * then non-breaking changes, one bullet per change with method, path and what changed. Meant to be forwarded as is,
 * so it says explicitly when nothing changed or nothing could be compared.
 */
export function renderApiChanges(changes: readonly ApiChange[], options: RenderApiChangesOptions = {}): string {
  const lines = ['## API changes for partners', ''];
  if (options.firstRelease) {
    lines.push('First release of this contract: there is no live contract to compare with.');
    return `${lines.join('\n')}\n`;
  }
  if (changes.length === 0) {
    lines.push('No changes to the contract partners use.');
    return `${lines.join('\n')}\n`;
  }
  const count = (s: Severity) => changes.filter((c) => c.severity === s).length;
  lines.push(`${count('breaking')} breaking, ${count('deprecation')} deprecated, ${count('non-breaking')} non-breaking.`);
  for (const severity of ['breaking', 'deprecation', 'non-breaking'] as const) {
    const group = changes.filter((c) => c.severity === severity).sort(compareApiChanges);
    if (group.length === 0) continue;
    lines.push('', `### ${HEADINGS[severity]}`, '');
    for (const c of group) {
      const route = c.path ? code(c.method ? `${c.method} ${c.path}` : c.path) : 'Whole API';
      lines.push(`- ${route}: ${escapeMarkdown(c.change)} (at ${code(c.location)}, rule ${code(c.rule)})`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Specs are release input: a stray `*`, `_` or `<` in a name must not turn into formatting or HTML. Text between
 * backticks is code and stays as written; everything else is escaped.
 */
function escapeMarkdown(text: string): string {
  return text
    .split('`')
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/[\\*_<>[\]|#]/g, (ch) => `\\${ch}`)))
    .join('`');
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}
