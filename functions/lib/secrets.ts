import { readFile, stat } from 'node:fs/promises';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { secretsManagerClient } from './clients.js';
import { getConfig } from './config.js';
import { SecretUnavailableError } from './errors.js';
import type { SecretRef } from './secret-ref.js';

/**
 * Resolves the secrets the catalog names (functions/lib/secret-ref.ts) at the moment they are needed. Values are
 * returned to the caller only: nothing here logs, caches on disk or returns a value inside an error message.
 */
export interface SecretSource {
  /** The secret's whole value as a string. */
  read(secret: string): Promise<string>;
}

/** Embedded mode: a JSON object from secret name to value, in a file only its owner can read. */
export class FileSecretSource implements SecretSource {
  constructor(private readonly file: string) {}

  async read(secret: string): Promise<string> {
    let text: string;
    try {
      const info = await stat(this.file);
      if ((info.mode & 0o077) !== 0) {
        throw new SecretUnavailableError(
          `${this.file} is readable by others (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 ${this.file}`,
        );
      }
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if (err instanceof SecretUnavailableError) throw err;
      throw new SecretUnavailableError(
        `secret "${secret}": the secrets file ${this.file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
    let all: unknown;
    try {
      all = JSON.parse(text);
    } catch {
      throw new SecretUnavailableError(`${this.file} is not a JSON object of secret name to value`);
    }
    const value = (all as Record<string, unknown> | null)?.[secret];
    if (all === null || typeof all !== 'object' || Array.isArray(all))
      throw new SecretUnavailableError(`${this.file} is not a JSON object of secret name to value`);
    if (value === undefined) throw new SecretUnavailableError(`secret "${secret}" is not in ${this.file}`);
    return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

/** On AWS: Secrets Manager, by name or ARN (the function's role is granted exactly the secrets the catalog names). */
export class SecretsManagerSource implements SecretSource {
  async read(secret: string): Promise<string> {
    try {
      const out = await secretsManagerClient().send(new GetSecretValueCommand({ SecretId: secret }));
      if (out.SecretString !== undefined) return out.SecretString;
      if (out.SecretBinary) return Buffer.from(out.SecretBinary).toString('utf8');
      throw new SecretUnavailableError(`secret "${secret}" has no value`);
    } catch (err) {
      if (err instanceof SecretUnavailableError) throw err;
      throw new SecretUnavailableError(`secret "${secret}" cannot be read from Secrets Manager: ${(err as Error).name}`, { cause: err });
    }
  }
}

/** The source the configuration selects. */
function defaultSecretSource(): SecretSource {
  const config = getConfig();
  const kind = config.SECRETS_SOURCE ?? (config.SECRETS_FILE ? 'file' : 'secrets-manager');
  if (kind === 'file') {
    if (!config.SECRETS_FILE) throw new SecretUnavailableError('SECRETS_SOURCE is file but SECRETS_FILE is not set');
    return new FileSecretSource(config.SECRETS_FILE);
  }
  return new SecretsManagerSource();
}

/** Shorter values are not masked (they would mask parts of ordinary text), so they are refused instead. */
export const MIN_SECRET_LENGTH = 4;

/**
 * The value one reference names: the whole secret, or the field `key` of its JSON value. A value shorter than
 * {@link MIN_SECRET_LENGTH} is refused, since no report or log could mask it.
 */
export async function resolveSecret(ref: SecretRef, source: SecretSource = defaultSecretSource()): Promise<string> {
  const value = await readValue(ref, source);
  if (value.length < MIN_SECRET_LENGTH) {
    const name = `"${ref.secret}"${ref.key === undefined ? '' : ` key "${ref.key}"`}`;
    throw new SecretUnavailableError(`secret ${name} is shorter than ${MIN_SECRET_LENGTH} characters, too short to mask safely`);
  }
  return value;
}

async function readValue(ref: SecretRef, source: SecretSource): Promise<string> {
  const whole = await source.read(ref.secret);
  if (ref.key === undefined) return whole;
  let parsed: unknown;
  try {
    parsed = JSON.parse(whole);
  } catch {
    throw new SecretUnavailableError(`secret "${ref.secret}" is not a JSON object, so it has no key "${ref.key}"`);
  }
  const value = (parsed as Record<string, unknown> | null)?.[ref.key];
  if (value === undefined || value === null) throw new SecretUnavailableError(`secret "${ref.secret}" has no key "${ref.key}"`);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `NAME → value` for a map of `NAME → reference`; the first unavailable secret fails the whole map, naming it. */
export async function resolveSecrets(map: Record<string, SecretRef> | undefined, source?: SecretSource): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (!map || Object.keys(map).length === 0) return out;
  const from = source ?? defaultSecretSource();
  for (const [name, ref] of Object.entries(map)) {
    try {
      out[name] = await resolveSecret(ref, from);
    } catch (err) {
      if (err instanceof SecretUnavailableError) throw new SecretUnavailableError(`${name}: ${err.message}`, { cause: err });
      throw err;
    }
  }
  return out;
}

/** Replaces every occurrence of each secret value (4 characters or longer) in `text` with `***`. */
export function maskSecrets(text: string, values: Iterable<string>): string {
  let out = text;
  for (const value of [...values].filter((v) => v.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length))
    out = out.split(value).join('***');
  return out;
}

/**
 * Every form a secret value takes in text Launchway keeps: as is, JSON-escaped (a JSON report or a JSON logger's
 * line, also with non-ASCII as `\uXXXX`), XML-escaped (JUnit) and percent-encoded (a value sent in a URL).
 */
export function secretForms(values: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const v of values) {
    if (!v) continue;
    const json = JSON.stringify(v).slice(1, -1);
    const ascii = json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    for (const form of [v, json, ascii, ascii.replace(/\\u[0-9a-f]{4}/g, (u) => u.toUpperCase().replace('\\U', '\\u')), xmlEscape(v)]) {
      out.add(form);
    }
    out.add(encodeURIComponent(v));
  }
  return [...out];
}

/** Text (a report, a log, a message) with the secrets masked in every form {@link secretForms} lists. */
export function maskText(text: string, values: string[]): string {
  return values.length === 0 ? text : maskSecrets(text, secretForms(values));
}

/** Escapes text for an XML attribute or element. */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}
