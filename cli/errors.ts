import { ConflictError, NotFoundError, ValidationError } from '../functions/lib/errors.js';
import { EXIT } from './exit-codes.js';

/**
 * How the CLI reports an error: an exit code from cli/exit-codes.ts, and, with `--json`, the HTTP API's error format
 * on stdout (`{"error":{"code","message","details"}}`, the same codes as docs/approvals.md) where a script that
 * parses stdout finds it; without `--json`, a message on stderr.
 */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** An error that already knows its code, exit code and details (an API's answer, a wait that ran out). */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT.ERROR,
    readonly details?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** Network failures on the way to DynamoDB, S3, Step Functions or the approval API. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** The network error behind `err` (the SDK throws it as is; fetch wraps it in `cause`), if there is one. */
export function networkCause(err: unknown, depth = 0): (Error & { code: string; address?: string; port?: number }) | undefined {
  if (!(err instanceof Error) || depth > 5) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return err as Error & { code: string };
  const nested = [err.cause, ...(err instanceof AggregateError ? err.errors : [])];
  for (const inner of nested) {
    const found = networkCause(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** A commander parse error, recognised by shape: its class stays in the commander module, loaded only to parse. */
function isCommanderError(err: unknown): err is Error & { code: string } {
  return err instanceof Error && err.name === 'CommanderError' && typeof (err as { code?: unknown }).code === 'string';
}

/** The option or argument a commander message names (`error: required option '--service <name>' not specified`). */
function usageField(message: string): string | undefined {
  return /'(--?[\w-]+)/.exec(message)?.[1] ?? /argument '([\w-]+)'/.exec(message)?.[1];
}

/** The exit code and JSON body for any error the CLI ends with. */
export function describeError(err: unknown): { exitCode: number; body: ErrorBody } {
  const make = (exitCode: number, code: string, message: string, details?: Record<string, unknown>) => ({
    exitCode,
    body: { error: { code, message, ...(details ? { details } : {}) } },
  });
  if (err instanceof CliError) return make(err.exitCode, err.code, err.message, err.details);
  if (err instanceof ValidationError) return make(EXIT.USAGE, 'VALIDATION_ERROR', err.message, { fields: err.fields });
  if (isCommanderError(err)) {
    const message = err.message.replace(/^error: /, '');
    const field = usageField(message);
    return make(EXIT.USAGE, 'VALIDATION_ERROR', message, field ? { fields: { [field]: message } } : undefined);
  }
  if (err instanceof NotFoundError) return make(EXIT.ERROR, 'NOT_FOUND', err.message);
  if (err instanceof ConflictError) return make(EXIT.ERROR, 'CONFLICT', err.message);
  const network = networkCause(err);
  if (network) {
    const where = network.address ? `${network.address}${network.port ? `:${network.port}` : ''}` : undefined;
    const details = { cause: network.code, ...(where ? { address: where } : {}) };
    const local = stoppedLocalStack(network);
    if (local) return make(EXIT.UNREACHABLE, 'STACK_UNREACHABLE', local, details);
    return make(
      EXIT.UNREACHABLE,
      'STACK_UNREACHABLE',
      `the stack could not be reached (${network.code}${where ? ` ${where}` : ''}): is \`launchway dev\` running, or are ` +
        'the AWS_ENDPOINT_URL_* variables, the region and the network right?',
      details,
    );
  }
  return make(EXIT.ERROR, 'INTERNAL', err instanceof Error ? err.message : String(err));
}

/**
 * The message for a refused connection to a loopback address: the embedded stack is not running there (`launchway
 * dev` stopped, or endpoints.env is from an earlier run). Undefined for any other network failure.
 */
function stoppedLocalStack(network: { code: string; address?: string; port?: number }): string | undefined {
  if (network.code !== 'ECONNREFUSED' || !network.address || !network.port) return undefined;
  const loopback = network.address.startsWith('127.') || network.address === '::1';
  if (!loopback) return undefined;
  const host = network.address.includes(':') ? `[${network.address}]` : network.address;
  return (
    `no Launchway stack answers at http://${host}:${network.port}: start it with \`npx launchway dev\` ` +
    '(and `source .launchway/endpoints.env`)'
  );
}

/** The human form of an error, for stderr: the message, then each field on its own line. */
export function renderError(body: ErrorBody, paint: { red: (s: string) => string; bold: (s: string) => string }): string {
  const fields = (body.error.details?.fields ?? {}) as Record<string, string>;
  const entries = Object.entries(fields);
  // A validation message repeats its fields after the colon; they are listed one per line instead.
  const title = entries.length > 0 && body.error.code === 'VALIDATION_ERROR' ? body.error.message.split(':')[0] : body.error.message;
  const lines = [paint.red(`✖ ${title}`)];
  if (body.error.code === 'VALIDATION_ERROR') for (const [field, message] of entries) lines.push(`  ${paint.bold(field)}: ${message}`);
  return lines.join('\n');
}
