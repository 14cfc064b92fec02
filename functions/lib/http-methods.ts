/**
 * The HTTP methods an OpenAPI path item may hold, in the order changes are listed. A module of its own so the CLI's
 * formatting (contract/rules.ts) does not load the OpenAPI parser with it.
 */
export const HTTP_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'TRACE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
