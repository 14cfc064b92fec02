import type { GatewayCors } from './gateway-state.js';

/**
 * CORS on the local gateway, as Launchway configures it on API Gateway (functions/lib/interop/openapi-to-apigateway.ts):
 * a preflight `OPTIONS` on a declared path that does not declare OPTIONS itself is answered by the gateway (a MOCK
 * integration there), without an API key; every other response, proxied or the gateway's own error, carries
 * `Access-Control-Allow-Origin`.
 */

/** The preflight's status, the same as the MOCK integration's method response on AWS. */
export const PREFLIGHT_STATUS = 204;

/**
 * `Access-Control-Allow-Origin` for a request: its `Origin` when the catalog lists it (with `Vary: Origin`, as the
 * answer depends on it), `*` when the catalog allows any origin, nothing otherwise (the browser then refuses).
 */
export function allowOriginHeaders(cors: GatewayCors | undefined, origin: string | undefined): Record<string, string> {
  if (!cors) return {};
  if (origin && cors.allowOrigins.includes(origin)) return { 'access-control-allow-origin': origin, vary: 'Origin' };
  if (cors.allowOrigins.includes('*')) return { 'access-control-allow-origin': '*' };
  return {};
}

/** The whole preflight answer for a path that declares `methods`. */
export function preflightHeaders(cors: GatewayCors, origin: string | undefined, methods: string[]): Record<string, string> {
  return {
    ...allowOriginHeaders(cors, origin),
    'access-control-allow-methods': [...new Set([...methods, 'OPTIONS'])].join(','),
    'access-control-allow-headers': cors.allowHeaders.join(','),
    'access-control-max-age': String(cors.maxAgeSeconds),
  };
}
