import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EmailMessage, Notifier } from './notifier.js';

/** Options of the local outbox. */
export interface OutboxNotifierOptions {
  /**
   * Receives the short terminal block printed for each message, one line per call, without a trailing newline.
   * @default writes each line and a newline to process.stdout
   */
  print?: (line: string) => void;
  /**
   * Print each message's links. Signed approval links are bearer credentials (whoever has one decides as that
   * approver), so a CI log must not capture them: by default they are printed only to an interactive terminal, or
   * always when `print` is given (its caller decides where the lines go). Otherwise the block says where they are.
   * @default print given, or process.stdout is a TTY
   */
  printLinks?: boolean;
  /** @default 'launchway@example.com' */
  from?: string;
  /** @default () => new Date() */
  now?: () => Date;
}

/** Header names of the Launchway tags the outbox reader relies on. */
export const OUTBOX_HEADERS = {
  kind: 'X-Launchway-Kind',
  releaseId: 'X-Launchway-Release',
  link: 'X-Launchway-Link',
} as const;

const CRLF = '\r\n';

/**
 * Whether the outbox prints signed links to the terminal: when asked explicitly (`launchway dev --print-links`, or
 * `OUTBOX_PRINT_LINKS`), else only when the stream is an interactive terminal, never into a log or a pipe.
 */
export function printsLinks(explicit: boolean | undefined, stream: { isTTY?: boolean } = process.stdout): boolean {
  return explicit ?? stream.isTTY === true;
}
// Keeps file names unique and ordered within one process even when two messages share a millisecond.
let sequence = 0;

/**
 * Embedded mode's email: each message becomes one RFC 5322 `.eml` file in a directory, and its subject, recipients
 * and links are printed to the terminal, so a person (or a test) can follow the approval links without a mail
 * server. File names start with the UTC time, so sorting them by name sorts them by time.
 */
export class OutboxNotifier implements Notifier {
  private readonly print: (line: string) => void;
  private readonly printLinks: boolean;
  private readonly from: string;
  private readonly now: () => Date;

  constructor(
    readonly dir: string,
    opts: OutboxNotifierOptions = {},
  ) {
    this.print = opts.print ?? ((line) => void process.stdout.write(`${line}\n`));
    this.printLinks = opts.print ? (opts.printLinks ?? true) : printsLinks(opts.printLinks);
    this.from = opts.from ?? 'launchway@example.com';
    this.now = opts.now ?? (() => new Date());
  }

  async send(message: EmailMessage): Promise<{ messageId: string }> {
    if (message.to.length === 0) throw new Error('an email needs at least one recipient');
    const date = this.now();
    const messageId = `<${date.getTime()}.${randomBytes(8).toString('hex')}@launchway.local>`;
    const eml = renderEml(message, { from: this.from, date, messageId });

    await mkdir(this.dir, { recursive: true });
    const stamp = date.toISOString().replace(/[-:.]/g, '');
    sequence = (sequence + 1) % 1_000_000;
    const base = `${stamp}-${String(sequence).padStart(6, '0')}-${randomBytes(3).toString('hex')}`;
    const file = path.join(this.dir, `${base}.eml`);
    // Write then rename, so a reader listing the directory never sees half a message.
    const partial = path.join(this.dir, `.${base}.partial`);
    await writeFile(partial, eml, { flag: 'wx' });
    await rename(partial, file);

    this.print(`[outbox] ${message.subject}`);
    this.print(`  to: ${message.to.join(', ')}`);
    const links = message.links ?? [];
    if (this.printLinks) for (const link of links) this.print(`  ${link.label}: ${link.url}`);
    else if (links.length > 0) {
      const approve = message.tags?.releaseId ? `launchway approve ${message.tags.releaseId} --as ${message.to[0]}` : 'launchway approve';
      this.print(`  links: ${links.map((l) => l.label).join(', ')}, in the file below (not printed: stdout is not a terminal)`);
      this.print(`  open the file in a mail client, or run: ${approve}`);
    }
    this.print(`  file: ${file}`);
    return { messageId };
  }
}

/** Renders a message as RFC 5322 / MIME text with CRLF line ends: multipart/alternative when it has HTML. */
export function renderEml(message: EmailMessage, envelope: { from: string; date: Date; messageId: string }): string {
  const tags = message.tags ?? {};
  const headers: [string, string][] = [
    ['From', envelope.from],
    ['To', message.to.join(', ')],
    ['Subject', encodeHeaderText(message.subject)],
    ['Date', envelope.date.toUTCString().replace(/GMT$/, '+0000')],
    ['Message-ID', envelope.messageId],
    ['MIME-Version', '1.0'],
  ];
  if (tags.kind) headers.push([OUTBOX_HEADERS.kind, encodeHeaderText(tags.kind)]);
  if (tags.releaseId) headers.push([OUTBOX_HEADERS.releaseId, encodeHeaderText(tags.releaseId)]);
  for (const [key, value] of Object.entries(tags)) {
    if (key === 'kind' || key === 'releaseId' || !/^[A-Za-z0-9-]+$/.test(key)) continue;
    headers.push([`X-Launchway-Tag-${key}`, encodeHeaderText(value)]);
  }
  for (const link of message.links ?? []) {
    if (/[\s<>]/.test(link.url)) throw new Error(`link ${JSON.stringify(link.label)} has a URL with spaces or angle brackets`);
    headers.push([OUTBOX_HEADERS.link, `${encodeHeaderText(link.label)} <${link.url}>`]);
  }

  const partHeaders = (contentType: string) => [
    `Content-Type: ${contentType}; charset=utf-8`,
    'Content-Transfer-Encoding: quoted-printable',
  ];
  const headerBlock = headers.map(([k, v]) => `${k}: ${v}`);

  if (message.html === undefined) {
    // A single text part: its Content-* headers join the message's header block.
    return [...headerBlock, ...partHeaders('text/plain'), '', encodeQuotedPrintable(message.text), ''].join(CRLF);
  }
  const boundary = `=_launchway_${randomBytes(12).toString('hex')}`;
  return [
    ...headerBlock,
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    ...partHeaders('text/plain'),
    '',
    encodeQuotedPrintable(message.text),
    `--${boundary}`,
    ...partHeaders('text/html'),
    '',
    encodeQuotedPrintable(message.html),
    `--${boundary}--`,
    '',
  ].join(CRLF);
}

/** RFC 2047 B-encoding for header text that is not plain printable ASCII; ASCII passes through. */
export function encodeHeaderText(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  // Encoded words hold at most 75 characters, so cut the UTF-8 bytes into chunks without splitting a character.
  const words: string[] = [];
  let chunk = '';
  for (const ch of text) {
    if (Buffer.byteLength(chunk + ch, 'utf8') > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join(`${CRLF} `);
}

/** Quoted-printable (RFC 2045 section 6.7) of UTF-8 text: lines of at most 76 characters, CRLF line ends. */
export function encodeQuotedPrintable(text: string): string {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const bytes = Buffer.from(line, 'utf8');
    const tokens: string[] = [];
    bytes.forEach((b, i) => {
      const last = i === bytes.length - 1;
      const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
      tokens.push(literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`);
    });
    let current = '';
    for (const token of tokens) {
      // 75 leaves room for the '=' of a soft line break.
      if (current.length + token.length > 75) {
        out.push(`${current}=`);
        current = '';
      }
      current += token;
    }
    out.push(current);
  }
  return out.join(CRLF);
}
