import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { APPROVAL_EMAIL_KIND, APPROVAL_REMINDER_KIND } from '../functions/lib/approvals/approval-email.js';
import { OUTBOX_HEADERS } from '../functions/lib/notify/outbox-notifier.js';

/** One message of the local outbox, parsed from its `.eml` file. */
export interface OutboxMessage {
  /** Absolute path of the `.eml` file. */
  file: string;
  to: string[];
  subject: string;
  /** `X-Launchway-Kind`, e.g. `approval-request`. */
  kind?: string;
  /** `X-Launchway-Release`. */
  releaseId?: string;
  date?: string;
  text: string;
  html?: string;
  links: { label: string; url: string }[];
  /** Every header, lower-cased names, unfolded and decoded. */
  headers: Record<string, string[]>;
}

interface MimeEntity {
  headers: Record<string, string[]>;
  body: string;
}

/** Splits header block and body at the first empty line, unfolding continued header lines. */
function parseEntity(raw: string): MimeEntity {
  const normalized = raw.replace(/\r\n/g, '\n');
  const cut = normalized.indexOf('\n\n');
  const head = cut === -1 ? normalized : normalized.slice(0, cut);
  const body = cut === -1 ? '' : normalized.slice(cut + 2);
  const headers: Record<string, string[]> = {};
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    (headers[name] ??= []).push(decodeHeaderText(line.slice(colon + 1).trim()));
  }
  return { headers, body };
}

/** RFC 2047 encoded words (`=?UTF-8?B?…?=` and `?Q?`), adjacent words joined without the space between them. */
export function decodeHeaderText(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, _charset: string, enc: string, data: string) => {
      if (enc.toUpperCase() === 'B') return Buffer.from(data, 'base64').toString('utf8');
      return decodeQuotedPrintable(data.replace(/_/g, ' '));
    });
}

/** Quoted-printable to UTF-8 text: soft line breaks removed, `=XX` bytes decoded. */
export function decodeQuotedPrintable(text: string): string {
  const joined = text.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const ch = joined[i];
    const hex = joined.slice(i + 1, i + 3);
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(ch, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeBody(entity: MimeEntity): string {
  const encoding = (entity.headers['content-transfer-encoding']?.[0] ?? '7bit').toLowerCase();
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(entity.body);
  if (encoding === 'base64') return Buffer.from(entity.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return entity.body;
}

function mediaType(entity: MimeEntity): { type: string; boundary?: string } {
  const value = entity.headers['content-type']?.[0] ?? 'text/plain';
  const type = value.split(';')[0].trim().toLowerCase();
  const boundary = /boundary="?([^";]+)"?/i.exec(value)?.[1];
  return { type, boundary };
}

/** Text and HTML bodies of a message, from a single part or from multipart/alternative. */
function bodiesOf(entity: MimeEntity): { text?: string; html?: string } {
  const { type, boundary } = mediaType(entity);
  if (type.startsWith('multipart/') && boundary) {
    const out: { text?: string; html?: string } = {};
    const sections = entity.body.split(`--${boundary}`);
    // The part before the first boundary is the preamble and the one after the closing `--` is the epilogue.
    for (const section of sections.slice(1)) {
      if (section.startsWith('--')) break;
      const part = bodiesOf(parseEntity(section.replace(/^\n/, '').replace(/\n$/, '')));
      out.text ??= part.text;
      out.html ??= part.html;
    }
    return out;
  }
  if (type === 'text/html') return { html: decodeBody(entity) };
  if (type === 'text/plain') return { text: decodeBody(entity) };
  return {};
}

/** `Label <url>` from an X-Launchway-Link header. */
function parseLinkHeader(value: string): { label: string; url: string } | undefined {
  const m = /^(.*?)\s*<([^>\s]+)>$/.exec(value);
  return m ? { label: m[1], url: m[2] } : undefined;
}

/** `Label: https://…` lines of a text body, for messages written without link headers. */
function linksInText(text: string): { label: string; url: string }[] {
  const links: { label: string; url: string }[] = [];
  for (const m of text.matchAll(/^[ \t]*([^:\n]{1,40}):[ \t]+(https?:\/\/\S+)[ \t]*$/gm)) links.push({ label: m[1].trim(), url: m[2] });
  return links;
}

/** Parses one `.eml` file's text. */
export function parseEml(raw: string, file = ''): OutboxMessage {
  const entity = parseEntity(raw);
  const h = entity.headers;
  const { text = '', html } = bodiesOf(entity);
  const headerLinks = (h[OUTBOX_HEADERS.link.toLowerCase()] ?? []).map(parseLinkHeader).filter((l) => l !== undefined);
  return {
    file,
    to: (h.to?.[0] ?? '')
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean),
    subject: h.subject?.[0] ?? '',
    kind: h[OUTBOX_HEADERS.kind.toLowerCase()]?.[0],
    releaseId: h[OUTBOX_HEADERS.releaseId.toLowerCase()]?.[0],
    date: h.date?.[0],
    text,
    ...(html !== undefined ? { html } : {}),
    links: headerLinks.length > 0 ? headerLinks : linksInText(text),
    headers: h,
  };
}

/** Every message in the outbox directory, oldest first (file names start with the time). Empty when it is missing. */
export async function listMessages(dir: string): Promise<OutboxMessage[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files = names.filter((n) => n.endsWith('.eml')).sort();
  return Promise.all(
    files.map(async (name) => {
      const file = path.resolve(dir, name);
      return parseEml(await readFile(file, 'utf8'), file);
    }),
  );
}

/** Emails that carry an approver's signed links: the request and the reminder before expiry. */
const LINK_EMAIL_KINDS = new Set([APPROVAL_EMAIL_KIND, APPROVAL_REMINDER_KIND]);

/**
 * The link of the newest approval email (request or reminder) for a release, sent to one approver, for one
 * decision. Throws an error that lists the approval emails the outbox holds when none matches.
 */
export async function findApprovalLink(
  dir: string,
  query: { releaseId: string; approver: string; decision: 'approve' | 'reject' },
): Promise<string> {
  const approver = query.approver.trim().toLowerCase();
  const messages = await listMessages(dir);
  const approvals = messages.filter((m) => m.kind !== undefined && LINK_EMAIL_KINDS.has(m.kind));
  const matching = approvals.filter((m) => m.releaseId === query.releaseId && m.to.some((t) => t.toLowerCase() === approver));
  for (const message of matching.reverse()) {
    const link = message.links.find((l) => {
      try {
        return new URL(l.url).searchParams.get('decision') === query.decision;
      } catch {
        return false;
      }
    });
    if (link) return link.url;
    // The newest email for this approver is the valid one; an older email's link was superseded.
    throw new Error(
      `the newest approval email for release ${query.releaseId} to ${approver} (${message.file}) has no ${query.decision} link; ` +
        `it has: ${message.links.map((l) => l.label).join(', ') || 'no links'}`,
    );
  }
  const seen =
    approvals.length === 0
      ? `no approval emails at all (${messages.length} message(s) in total)`
      : approvals.map((m) => `  ${path.basename(m.file)}: release ${m.releaseId ?? '?'} to ${m.to.join(', ')}`).join('\n');
  throw new Error(`no approval email for release ${query.releaseId} to ${approver} in ${dir}; the outbox has:\n${seen}`);
}

/**
 * {@link findApprovalLink}, waiting (bounded) for the email to be written: a release shows AWAITING_APPROVAL as soon
 * as its approval is open, and the email may land in the outbox a moment later, as mail does.
 */
export async function waitForApprovalLink(
  dir: string,
  query: { releaseId: string; approver: string; decision: 'approve' | 'reject' },
  timeoutMs = 30_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await findApprovalLink(dir, query);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
