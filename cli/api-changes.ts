import type { ApiChangesSummary } from '../functions/lib/contract/live-contract.js';
import { type ApiChange, compareApiChanges, type Severity } from '../functions/lib/contract/rules.js';
import { safeLine } from '../functions/lib/safe-text.js';
import { bold, dim, green, red, yellow } from './format.js';

/** The colours the rendering uses; format.ts's by default, which colour only when stdout and stderr are terminals. */
export interface Paint {
  red: (s: string) => string;
  yellow: (s: string) => string;
  green: (s: string) => string;
  dim: (s: string) => string;
  bold: (s: string) => string;
}

const TERMINAL_PAINT: Paint = { red, yellow, green, dim, bold };

const GROUPS: { severity: Severity; title: string; mark: string; color: keyof Paint }[] = [
  { severity: 'breaking', title: 'Breaking', mark: '✖', color: 'red' },
  { severity: 'deprecation', title: 'Deprecated', mark: '!', color: 'yellow' },
  { severity: 'non-breaking', title: 'Non-breaking', mark: '+', color: 'green' },
];

/**
 * What a release changes for partners, for a terminal or a CI log: the terminal form of functions/lib/contract/render.ts
 * (which writes Markdown for the notes). A heading saying what was compared, the counts, then one line per change,
 * breaking first, each with method, path and what changed, then where and which rule, dimmed. Names and sentences come
 * from the spec, which is release input: no control character or escape sequence of theirs reaches the terminal.
 */
export function formatApiChanges(service: string, summary: ApiChangesSummary, paint: Paint = TERMINAL_PAINT): string {
  const name = safeLine(service);
  if (!summary.against) return `API changes for partners: first release of ${name}: no live contract to compare`;
  const against = `${name} ${safeLine(summary.against.version)}, live in production (${safeLine(summary.against.releaseId)})`;
  if (summary.changes.length === 0) return `API changes for partners: none against ${against}`;
  const counts = [
    paint[summary.breaking > 0 ? 'red' : 'dim'](`${summary.breaking} breaking`),
    `${summary.deprecations} deprecated`,
    `${summary.nonBreaking} non-breaking`,
  ].join(', ');
  const lines = [`${paint.bold('API changes for partners')} against ${against}: ${counts}`];
  for (const group of GROUPS) {
    const changes = summary.changes.filter((c) => c.severity === group.severity).sort(compareApiChanges);
    if (changes.length === 0) continue;
    lines.push(`  ${paint[group.color](group.title)}`);
    for (const c of changes) lines.push(`    ${paint[group.color](group.mark)} ${changeLine(c, paint)}`);
  }
  return lines.join('\n');
}

function changeLine(c: ApiChange, paint: Paint): string {
  const route = c.path ? safeLine(c.method ? `${c.method} ${c.path}` : c.path) : 'whole API';
  return `${paint.bold(route)}: ${safeLine(c.change)} ${paint.dim(`(at ${safeLine(c.location)}, rule ${c.rule})`)}`;
}

/**
 * What `launchway release` prints when it could not compare with the live contract: it says so and goes on, since
 * the pipeline compares again before staging and its policy decides.
 */
export function liveContractUnreadable(service: string, reason: string, paint: Paint = TERMINAL_PAINT): string {
  return paint.yellow(
    `API changes for partners: not compared, the live contract of ${safeLine(service)} could not be read ` +
      `(${safeLine(reason)}); the release goes on and the pipeline compares before staging`,
  );
}
