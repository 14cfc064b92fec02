/**
 * Decides an approval through its emailed link, the same way a person does: open the link (GET, which changes
 * nothing), read the confirmation page's form, and submit it (POST) with a decision and a comment.
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
  return unescapeHtml(html.replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ').trim();
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

/** The message of an error response: the JSON error's, or the HTML error page's. */
async function errorMessage(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; requestId?: string } };
    if (body.error?.message) return `${body.error.code ?? 'ERROR'}: ${body.error.message}${body.error.requestId ? ` (request ${body.error.requestId})` : ''}`;
  } catch {
    /* an HTML page */
  }
  const message = textOf(/<p[^>]*id="error-message"[^>]*>([\s\S]*?)<\/p>/.exec(text)?.[1]);
  const code = textOf(/<code[^>]*id="error-code"[^>]*>([\s\S]*?)<\/code>/.exec(text)?.[1]);
  return message ? `${code ?? 'ERROR'}: ${message}` : text.slice(0, 200);
}

/**
 * Opens an approval link and submits its confirmation form: GET the page (200 HTML expected), then POST the form's
 * hidden fields with the chosen decision and the comment, asking for JSON. Returns the POST's status and JSON body;
 * throws with the API's error message on any non-2xx answer.
 */
export async function decideViaLink(
  url: string,
  options: DecideOptions = {},
): Promise<{ status: number; body: unknown }> {
  const fetchImpl = options.fetchImpl ?? globalThis.fetch;
  const page = await fetchImpl(url, { headers: { Accept: 'text/html' }, redirect: 'error' });
  if (!page.ok) throw new Error(`opening the approval link failed with ${page.status}: ${await errorMessage(page)}`);
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
  if (!res.ok) throw new Error(`submitting the ${decision} decision failed with ${res.status}: ${await errorMessage(res)}`);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`the approval API answered ${res.status} without JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body: parsed };
}
