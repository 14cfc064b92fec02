/**
 * Conventional-commit parsing and grouping for release notes (https://www.conventionalcommits.org).
 * Titles that do not follow the convention are kept, under "Other changes": release notes must not lose a change
 * because someone wrote a free-form title.
 */

/** A change as CI sends it (the shape of `Change` in release-request.ts). */
export interface ChangeInput {
  title: string;
  sha?: string;
  author?: string;
  url?: string;
}

/** The header of a commit title, split into its parts. */
export interface ConventionalCommit {
  /** Lower-cased type (`feat`, `fix`…); `other` when the title is not a conventional commit. */
  type: string;
  scope?: string;
  /** `!` after the type or scope, or a `BREAKING CHANGE:` footer in the title text. */
  breaking: boolean;
  /** The description after the colon, or the whole title when it is not conventional. */
  subject: string;
  /** Whether the title followed the convention at all. */
  conventional: boolean;
}

/** A change with its parsed header. */
export interface ParsedChange extends ChangeInput {
  commit: ConventionalCommit;
}

/** One section of the notes. */
export interface ChangeGroup {
  /** The type the group collects (`feat`…), or `other`. */
  type: string;
  heading: string;
  changes: ParsedChange[];
}

export interface GroupedChanges {
  /** Breaking changes, whatever their type; they also appear in their own group. */
  breaking: ParsedChange[];
  /** Non-empty groups in the order of `CHANGE_TYPES`, then `Other changes`. */
  groups: ChangeGroup[];
}

/** Known types and their headings, in the order the notes list them. */
export const CHANGE_TYPES: ReadonlyArray<{ type: string; heading: string }> = [
  { type: 'feat', heading: 'Features' },
  { type: 'fix', heading: 'Bug fixes' },
  { type: 'perf', heading: 'Performance' },
  { type: 'revert', heading: 'Reverts' },
  { type: 'refactor', heading: 'Refactoring' },
  { type: 'docs', heading: 'Documentation' },
  { type: 'test', heading: 'Tests' },
  { type: 'build', heading: 'Build' },
  { type: 'ci', heading: 'Continuous integration' },
  { type: 'style', heading: 'Style' },
  { type: 'chore', heading: 'Chores' },
];
export const OTHER_HEADING = 'Other changes';

// Common spellings that mean a known type.
const ALIASES: Record<string, string> = { feature: 'feat', features: 'feat', bugfix: 'fix', fixes: 'fix', doc: 'docs' };

// `type(scope)!: subject`. The type is a word; the scope anything but parentheses; the space after the colon is
// required by the spec, but tolerated when missing because people forget it.
const HEADER = /^\s*([A-Za-z][A-Za-z0-9-]*)(?:\(([^()\r\n]*)\))?(!)?:\s*(\S[\s\S]*)$/;
const BREAKING_FOOTER = /(?:^|\n)BREAKING[ -]CHANGE:/;

/** Parses one commit title (`feat(api)!: drop v1 routes`). Never throws; a free-form title is type `other`. */
export function parseConventionalCommit(title: string): ConventionalCommit {
  // The first line with text: a title that starts with a blank line still has a subject.
  const firstLine = (title.split(/\r?\n/).find((line) => line.trim() !== '') ?? '').trim();
  const footerBreaking = BREAKING_FOOTER.test(title);
  const match = HEADER.exec(firstLine);
  if (!match) {
    return { type: 'other', breaking: footerBreaking, subject: firstLine, conventional: false };
  }
  const [, rawType, rawScope, bang, subject] = match;
  const lower = rawType!.toLowerCase();
  const scope = rawScope?.trim();
  return {
    type: ALIASES[lower] ?? lower,
    ...(scope ? { scope } : {}),
    breaking: Boolean(bang) || footerBreaking,
    subject: subject!.trim(),
    conventional: true,
  };
}

/** The heading for a type: a known one, or `Other changes`. */
export function headingFor(type: string): string {
  return CHANGE_TYPES.find((t) => t.type === type)?.heading ?? OTHER_HEADING;
}

/**
 * Groups changes by type, keeping their input order within a group. Unknown types and free-form titles go to
 * `Other changes`. Breaking changes are also listed on their own so the notes can call them out first.
 */
export function groupChanges(changes: readonly ChangeInput[]): GroupedChanges {
  const parsed: ParsedChange[] = changes.map((c) => ({ ...c, commit: parseConventionalCommit(c.title) }));
  const byType = new Map<string, ParsedChange[]>();
  for (const change of parsed) {
    const known = CHANGE_TYPES.some((t) => t.type === change.commit.type);
    const key = known ? change.commit.type : 'other';
    const list = byType.get(key) ?? [];
    list.push(change);
    byType.set(key, list);
  }
  const groups: ChangeGroup[] = [];
  for (const { type, heading } of CHANGE_TYPES) {
    const list = byType.get(type);
    if (list) groups.push({ type, heading, changes: list });
  }
  const other = byType.get('other');
  if (other) groups.push({ type: 'other', heading: OTHER_HEADING, changes: other });
  return { breaking: parsed.filter((c) => c.commit.breaking), groups };
}
