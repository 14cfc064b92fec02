import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApprovalForbiddenError, ApprovalGoneError } from '../lib/approvals/errors.js';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors.js';

/** Error codes of the approval API, one per HTTP status it answers with. */
export type ApiErrorCode =
  | 'VALIDATION_ERROR'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'CONFLICT'
  | 'GONE'
  | 'PAYLOAD_TOO_LARGE'
  | 'INTERNAL';

/** The JSON error body every Launchway HTTP API uses. */
export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string; details?: Record<string, unknown>; requestId: string };
}

/** A request body larger than the API accepts. */
export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLarge';
  constructor(readonly limitBytes: number) {
    super(`the request body is larger than ${limitBytes} bytes`);
  }
}

/** A method the route does not serve. */
export class MethodNotAllowedError extends Error {
  override readonly name = 'MethodNotAllowed';
  constructor(
    readonly method: string,
    readonly allow: string[],
  ) {
    super(`${method} is not allowed here; use ${allow.join(' or ')}`);
  }
}

/** An error as the API shows it: status, code, message and details safe to show to the caller. */
export interface ApiError {
  status: number;
  code: ApiErrorCode;
  message: string;
  details?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/**
 * Maps domain errors to statuses by class. Anything unknown is a 500 with a generic message: its detail goes to the
 * log only, because it may describe internals.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ValidationError) {
    return { status: 400, code: 'VALIDATION_ERROR', message: err.message, details: { fields: err.fields } };
  }
  if (err instanceof ApprovalForbiddenError)
    return { status: 403, code: 'FORBIDDEN', message: err.message, details: { reason: err.reason } };
  if (err instanceof NotFoundError) return { status: 404, code: 'NOT_FOUND', message: err.message };
  if (err instanceof MethodNotAllowedError) {
    return { status: 405, code: 'METHOD_NOT_ALLOWED', message: err.message, headers: { Allow: err.allow.join(', ') } };
  }
  if (err instanceof ConflictError) return { status: 409, code: 'CONFLICT', message: err.message };
  if (err instanceof ApprovalGoneError) return { status: 410, code: 'GONE', message: err.message, details: { reason: err.reason } };
  if (err instanceof PayloadTooLargeError) {
    return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: err.message, details: { limitBytes: err.limitBytes } };
  }
  return { status: 500, code: 'INTERNAL', message: 'Internal error. Quote the request id when you report it.' };
}

/** Headers of every HTML page: no scripts, no framing, no referrer (page URLs carry signatures), no caching. */
export const HTML_SECURITY_HEADERS: Record<string, string> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

const JSON_HEADERS: Record<string, string> = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

export function htmlResponse(status: number, html: string, extra: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode: status, headers: { ...HTML_SECURITY_HEADERS, ...extra }, body: html };
}

export function jsonResponse(status: number, body: unknown, extra: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode: status, headers: { ...JSON_HEADERS, ...extra }, body: JSON.stringify(body) };
}

/** A header value, looked up case-insensitively (API Gateway keeps the client's casing). */
export function header(event: Pick<APIGatewayProxyEvent, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === wanted && v !== undefined) return v;
  return undefined;
}

/**
 * True when the client prefers JSON to HTML by its Accept header's quality values. Browsers send `text/html`
 * first or `*` wildcards, so they get HTML; a client asking for `application/json` gets JSON.
 */
export function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  let json = 0;
  let html = 0;
  for (const range of accept.split(',')) {
    const [type, ...params] = range
      .trim()
      .toLowerCase()
      .split(';')
      .map((s) => s.trim());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (type === 'application/json') json = Math.max(json, q);
    if (type === 'text/html' || type === 'text/*' || type === '*/*') html = Math.max(html, type === 'text/html' ? q : q * 0.999);
  }
  return json > 0 && json > html;
}

/** The request id the caller can quote: API Gateway's, else the Lambda invocation's. */
export function requestIdOf(event: Partial<Pick<APIGatewayProxyEvent, 'requestContext'>>, fallback: string): string {
  return event.requestContext?.requestId || fallback;
}
