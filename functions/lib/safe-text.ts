/**
 * Text from CI and from people (commit titles, authors, branches, comments, error causes) made safe to show on the
 * approval page, in emails, in the release notes and on a terminal. Control characters can rewrite a terminal or a
 * log (`ESC [ 2 J`, a bell, a carriage return that hides what came before), and bidirectional overrides can make a
 * title read differently from what it is ("Trojan Source"). Both are removed; newlines and tabs stay, so a
 * multi-line title keeps every line. Escaping for HTML or Markdown still applies afterwards, to the safe text.
 */

/**
 * Terminal escape sequences, removed whole so no `[31m` residue is left: CSI (`ESC [` or the C1 `U+009B`, then
 * parameters and a final byte), OSC (`ESC ]` up to BEL or `ESC \`) and two-character escapes.
 */
const ESCAPE_SEQUENCES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this removes.
  /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

/**
 * C0 controls but tab and newline, DEL, C1 controls, and the bidirectional marks, embeddings, overrides and isolates
 * (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this removes.
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Every way text may end a line: CRLF, CR, and the Unicode line and paragraph separators. */
const LINE_ENDS = /\r\n?|[\u2028\u2029]/g;

/** The text without control or bidirectional-override characters; line ends become `\n`, tabs stay. */
export function safeText(value: unknown): string {
  return String(value ?? '')
    .replace(LINE_ENDS, '\n')
    .replace(ESCAPE_SEQUENCES, '')
    .replace(UNSAFE, '');
}

/** The safe text's lines, each without trailing blanks; lines with nothing to show are left out. */
export function safeLines(value: unknown): string[] {
  return safeText(value)
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '');
}

/** The safe text on one line: its lines joined by a space (a subject, a table cell, a terminal column). */
export function safeLine(value: unknown): string {
  return safeLines(value)
    .map((line) => line.trim())
    .join(' ');
}

/** A JSON value with every string in it made safe (keys too), for documents tools and people read. */
export function safeJson<T>(value: T): T {
  if (typeof value === 'string') return safeText(value) as T;
  if (Array.isArray(value)) return value.map((v) => safeJson(v)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [safeText(k), safeJson(v)])) as T;
  }
  return value;
}
