import { safeLines, safeText } from '../safe-text.js';

/**
 * HTML escaping for every piece of text that reaches a page or an email: commit titles, authors, versions and
 * comments come from CI and from people, and may contain markup, control characters or bidirectional overrides.
 */
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an HTML element body or a quoted attribute value, after removing unsafe characters (safe-text.ts). */
export function escapeHtml(value: unknown): string {
  return safeText(value).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** Escapes multi-line text for an element body, every line kept and shown on its own (`<br>` between lines). */
export function escapeHtmlLines(value: unknown): string {
  return safeLines(value)
    .map((line) => escapeHtml(line))
    .join('<br>');
}

/** A URL safe to put in an `href`: only http(s), escaped; anything else becomes undefined. */
export function safeHref(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? escapeHtml(parsed.toString()) : undefined;
  } catch {
    return undefined;
  }
}
