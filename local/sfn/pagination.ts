import { SfnServiceError } from './errors.js';

const DEFAULT_PAGE_SIZE = 100;

/**
 * One page of `items`, AWS style: `maxResults` 0 or absent means the default page size (100), and `nextToken` is
 * opaque. A token is bound to the listing it came from (`listing` names the operation and its filters), so a token
 * reused with other filters is `InvalidToken`, as on AWS.
 */
export function paginate<T>(
  items: T[],
  request: { maxResults?: number; nextToken?: string },
  listing: string,
): { items: T[]; nextToken?: string } {
  const size = request.maxResults || DEFAULT_PAGE_SIZE;
  const offset = request.nextToken === undefined ? 0 : decode(request.nextToken, listing);
  const end = offset + size;
  return { items: items.slice(offset, end), nextToken: end < items.length ? encode(end, listing) : undefined };
}

function encode(offset: number, listing: string): string {
  return Buffer.from(JSON.stringify({ listing, offset })).toString('base64url');
}

function decode(token: string, listing: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { listing?: unknown; offset?: unknown };
    if (parsed.listing === listing && Number.isInteger(parsed.offset) && (parsed.offset as number) >= 0) return parsed.offset as number;
  } catch {
    // fall through: not one of our tokens
  }
  throw new SfnServiceError('InvalidToken', `Invalid Token: '${token}' does not continue this listing`);
}
