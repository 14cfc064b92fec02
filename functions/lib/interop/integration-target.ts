import { ValidationError } from '../errors.js';

/** Where the integrations send partner calls. */
export interface Target {
  /** Origin plus base path, without a trailing slash. */
  base: string;
}

/**
 * Checks the production target API Gateway proxies to: an absolute http(s) URL without query or fragment, not a
 * loopback address.
 *
 * @throws ValidationError naming `targetUrl`.
 */
export function parseTarget(targetUrl: string): Target {
  let url: URL;
  try {
    url = new URL(targetUrl);
  } catch {
    throw new ValidationError(`targetUrl "${targetUrl}" is not a URL`, { targetUrl: 'expected an absolute http(s) URL' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ValidationError(`targetUrl "${targetUrl}" is not http(s)`, { targetUrl: `expected an http(s) URL, got ${url.protocol}` });
  }
  if (url.search || url.hash) {
    // Integration URIs append the operation path; a query or fragment on the base would end up in the middle.
    throw new ValidationError(`targetUrl "${targetUrl}" has a query or fragment`, {
      targetUrl: 'expected a base URL without ?query or #fragment',
    });
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1' || /^127\./.test(host) || host === '0.0.0.0') {
    // API Gateway calls the target from AWS; a loopback target only exists on the machine that deployed it.
    throw new ValidationError(`targetUrl "${targetUrl}" is a loopback address API Gateway cannot reach`, {
      targetUrl: 'expected a production endpoint reachable from API Gateway (local-process targets are for embedded mode)',
    });
  }
  return { base: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
}
