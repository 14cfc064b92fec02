import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';
import { CliError } from './errors.js';

/**
 * How `launchway approve|reject` reaches the approval API:
 * - embedded: through the approver's emailed link, the same way a person does: open the link (GET, which changes
 *   nothing), read the confirmation page's form, and submit it (POST) with a decision and a comment;
 * - on AWS: a SigV4-signed POST to the IAM-authorized route, where API Gateway establishes who the caller is.
 */

export interface DecideOptions {
  /** The button to press. @default the decision the link was made for */
  decision?: 'approve' | 'reject';
  comment?: string;
  /** @default globalThis.fetch */
  fetchImpl?: typeof fetch;
}

/** A form read from the confirmation page. */
export interface ConfirmationForm {
  /** Absolute URL the form posts to. */
  action: string;
  method: string;
  hidden: Record<string, string>;
  /** Values of the `decision` submit buttons, in page order. */
  decisions: string[];
  /** The page's notice, when it has one (why a button is missing, for example). */
  notice?: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

function unescapeHtml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)));
    return ENTITIES[name] ?? whole;
  });
}

function attributes(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/g)) {
    attrs[m[1].toLowerCase()] = unescapeHtml(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

function textOf(html: string | undefined): string | undefined {
  if (html === undefined) return undefined;
  return unescapeHtml(html.replace(/<[^>]*>/g, ''))
    .replace(/\s+/g, ' ')
    .trim();
}

/** Reads the decision form of a confirmation page. Throws, quoting the page's notice, when there is none. */
export function parseConfirmationPage(html: string, pageUrl: string): ConfirmationForm {
  const notice = textOf(/<p[^>]*id="notice"[^>]*>([\s\S]*?)<\/p>/.exec(html)?.[1]);
  const formMatch = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!formMatch) {
    throw new Error(`the confirmation page at ${redact(pageUrl)} has no decision form${notice ? `: ${notice}` : ''}`);
  }
  const formAttrs = attributes(formMatch[1]);
  const hidden: Record<string, string> = {};
  const decisions: string[] = [];
  for (const m of formMatch[2].matchAll(/<(input|button)\b([^>]*)>/gi)) {
    const attrs = attributes(m[2]);
    if (m[1].toLowerCase() === 'input' && attrs.type === 'hidden' && attrs.name) hidden[attrs.name] = attrs.value ?? '';
    if (m[1].toLowerCase() === 'button' && attrs.name === 'decision' && attrs.value) decisions.push(attrs.value);
  }
  return {
    action: new URL(formAttrs.action ?? '', pageUrl).toString(),
    method: (formAttrs.method ?? 'get').toLowerCase(),
    hidden,
    decisions,
    ...(notice ? { notice } : {}),
  };
}

/** The link without its signature, for error messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.searchParams.has('sig')) u.searchParams.set('sig', '…');
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

/** The API's refusal as a CliError with the API's own code (FORBIDDEN, CONFLICT, GONE, …), for `--json`. */
function refused(message: string, status: number, code: string | undefined, reason: string | undefined): CliError {
  return new CliError(code ?? 'INTERNAL', message, undefined, { status, ...(reason ? { reason } : {}) });
}

/** The code and message of an error response: the JSON error's, or the HTML error page's. */
async function errorMessage(res: Response): Promise<{ code?: string; reason?: string; message: string }> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as {
      error?: { code?: string; message?: string; requestId?: string; details?: { reason?: string } };
    };
    if (body.error?.message) {
      const { code, message, requestId, details } = body.error;
      return {
        code,
        reason: details?.reason,
        message: `${code ?? 'ERROR'}: ${message}${requestId ? ` (request ${requestId})` : ''}`,
      };
    }
  } catch {
    /* an HTML page */
  }
  const message = textOf(/<p[^>]*id="error-message"[^>]*>([\s\S]*?)<\/p>/.exec(text)?.[1]);
  const code = textOf(/<code[^>]*id="error-code"[^>]*>([\s\S]*?)<\/code>/.exec(text)?.[1]);
  return { code, message: message ? `${code ?? 'ERROR'}: ${message}` : text.slice(0, 200) };
}

/**
 * Opens an approval link and submits its confirmation form: GET the page (200 HTML expected), then POST the form's
 * hidden fields with the chosen decision and the comment, asking for JSON. Returns the POST's status and JSON body;
 * throws with the API's error message on any non-2xx answer.
 */
export async function decideViaLink(url: string, options: DecideOptions = {}): Promise<{ status: number; body: unknown }> {
  const fetchImpl = options.fetchImpl ?? globalThis.fetch;
  const page = await fetchImpl(url, { headers: { Accept: 'text/html' }, redirect: 'error' });
  if (!page.ok) {
    const e = await errorMessage(page);
    throw refused(`opening the approval link failed with ${page.status}: ${e.message}`, page.status, e.code, e.reason);
  }
  const html = await page.text();
  const form = parseConfirmationPage(html, url);
  if (form.method !== 'post') throw new Error(`the confirmation form uses ${form.method.toUpperCase()}, expected POST`);

  const linkDecision = new URL(url).searchParams.get('decision') ?? undefined;
  const decision = options.decision ?? linkDecision;
  if (!decision) throw new Error('the link names no decision; pass options.decision');
  if (!form.decisions.includes(decision)) {
    throw new Error(
      `the confirmation page offers no ${decision} button (it offers ${form.decisions.join(', ') || 'none'})${form.notice ? `: ${form.notice}` : ''}`,
    );
  }

  const body = new URLSearchParams({ ...form.hidden, decision, ...(options.comment ? { comment: options.comment } : {}) });
  const res = await fetchImpl(form.action, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: body.toString(),
    redirect: 'error',
  });
  if (!res.ok) {
    const e = await errorMessage(res);
    throw refused(`submitting the ${decision} decision failed with ${res.status}: ${e.message}`, res.status, e.code, e.reason);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`the approval API answered ${res.status} without JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body: parsed };
}

/** SHA-256 (and HMAC-SHA256 with a key) on node:crypto, in the shape the SigV4 signer expects. */
class NodeSha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
  reset(): void {
    throw new Error('NodeSha256 cannot be reused');
  }
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** The region of an `https://<id>.execute-api.<region>.amazonaws.com/...` URL, if it is one. */
export function regionOfApiUrl(url: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(new URL(url).hostname)?.[1];
}

export interface IamDecisionOptions {
  /** The approval API's base URL including the stage, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/v1`. */
  apiUrl: string;
  releaseId: string;
  decision: 'approve' | 'reject';
  /** Who the caller says they are (`--as`); the API checks it against the IAM identity. */
  approver: string;
  comment?: string;
  /** @default the API URL's region, else AWS_REGION */
  region?: string;
  /** @default the SDK's default credential chain (environment, profile, SSO, instance role, …) */
  credentials?: AwsCredentialIdentity | (() => Promise<AwsCredentialIdentity>);
  /** @default globalThis.fetch */
  fetchImpl?: typeof fetch;
}

/**
 * Records a decision through the approval API's IAM-authorized route: a JSON POST to
 * `/releases/{releaseId}/decision`, signed with SigV4 (service `execute-api`). API Gateway verifies the signature and
 * hands the caller's ARN to the handler, which maps it to an approver through the catalog; `approver` is only a
 * claim it compares with that. Returns the JSON result; throws with the API's message on any non-2xx answer.
 */
export async function decideWithIam(options: IamDecisionOptions): Promise<{ status: number; body: unknown }> {
  const fetchImpl = options.fetchImpl ?? globalThis.fetch;
  const base = options.apiUrl.replace(/\/+$/, '');
  const url = new URL(`${base}/releases/${encodeURIComponent(options.releaseId)}/decision`);
  const region = options.region ?? regionOfApiUrl(url.toString()) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new Error(`cannot tell the AWS region of ${base}; set AWS_REGION`);
  const body = JSON.stringify({
    decision: options.decision,
    approver: options.approver,
    ...(options.comment ? { comment: options.comment } : {}),
  });
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    credentials: options.credentials ?? defaultProvider(),
    sha256: NodeSha256,
  });
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query,
    headers: {
      host: url.host,
      'content-type': 'application/json',
      accept: 'application/json',
    },
    body,
  });
  const res = await fetchImpl(url, { method: 'POST', headers: signed.headers, body, redirect: 'error' });
  const text = await res.text();
  if (!res.ok) {
    let message = text.slice(0, 300);
    let code: string | undefined;
    let reason: string | undefined;
    try {
      const parsed = JSON.parse(text) as {
        error?: { code?: string; message?: string; details?: { reason?: string } };
        message?: string;
      };
      // The handler's error format, or API Gateway's own `{"message"}` when it refused the signature.
      if (parsed.error?.message) {
        message = `${parsed.error.code ?? 'ERROR'}: ${parsed.error.message}`;
        code = parsed.error.code;
        reason = parsed.error.details?.reason;
      } else if (parsed.message) {
        message = `API Gateway: ${parsed.message}`;
        code = res.status === 403 ? 'FORBIDDEN' : undefined;
      }
    } catch {
      /* not JSON */
    }
    throw refused(`the ${options.decision} decision was refused with ${res.status}: ${message}`, res.status, code, reason);
  }
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new Error(`the approval API answered ${res.status} without JSON: ${text.slice(0, 200)}`);
  }
}
